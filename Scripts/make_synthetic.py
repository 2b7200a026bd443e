#!/usr/bin/env python3
"""Writes a random BlackMamba checkpoint with the published 1.5B shapes, for benchmarks.

The output (about 3 GB in bf16) is never committed. Needs PyTorch.
"""
import argparse
import json
import math
import os

import torch


def shapes(cfg, vocab_rows):
    h, n, k = cfg["hidden_size"], cfg["state_size"], cfg["conv_dimension"]
    di, f = cfg["expansion_factor"] * h, cfg["ffn_hidden_size"]
    r = math.ceil(h / 16)
    out = [("embedding.word_embeddings.weight", [vocab_rows, h])]
    for i, kind in enumerate(cfg["mamba_moe_layers"]):
        p = f"decoder.layers.{i}."
        out.append((p + "norm.weight", [h]))
        if kind == "r":
            m = p + "mixer."
            out += [(m + "in_proj.weight", [2 * di, h]), (m + "conv1d.weight", [di, 1, k]),
                    (m + "conv1d.bias", [di]), (m + "x_proj.weight", [r + 2 * n, di]),
                    (m + "dt_proj.weight", [di, r]), (m + "dt_proj.bias", [di]),
                    (m + "A_log", [di, n]), (m + "D", [di]), (m + "out_proj.weight", [h, di])]
        else:
            e = int(kind)
            out += [(p + "mixer.router.weight", [e, h]), (p + "mixer.router.bias", [e])]
            for j in range(e):
                x = f"{p}mixer.local_experts.{j}."
                out += [(x + "linear_fc1.weight", [2 * f if cfg["swiglu"] else f, h]),
                        (x + "linear_fc2.weight", [h, f])]
    out += [("decoder.final_layernorm.weight", [h]), ("decoder.final_layernorm.bias", [h])]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", help="directory to write config.json and pytorch_model.bin into")
    ap.add_argument("--layers", type=int, default=30, help="layer count (alternating r, 8)")
    ap.add_argument("--dtype", choices=["bf16", "f32", "f16"], default="bf16")
    ap.add_argument("--format", choices=["zip", "safetensors"], default="zip")
    args = ap.parse_args()
    cfg = {"num_layers": args.layers, "hidden_size": 1152, "state_size": 16, "conv_dimension": 4,
           "vocab_size": 50277, "expansion_factor": 2, "ffn_hidden_size": 3072,
           "mamba_moe_layers": ["r" if i % 2 == 0 else "8" for i in range(args.layers)],
           "add_bias_linear": False, "swiglu": True, "max_sequence_length": 2048}
    dtype = {"bf16": torch.bfloat16, "f32": torch.float32, "f16": torch.float16}[args.dtype]
    torch.manual_seed(0)
    state = {}
    for name, shape in shapes(cfg, 50304):
        t = torch.randn(shape) * 0.02
        if name.endswith("A_log"):
            t = torch.log(torch.arange(1, shape[1] + 1, dtype=torch.float32)).repeat(shape[0], 1)
        elif name.endswith("norm.weight") or name.endswith("layernorm.weight") or name.endswith(".D"):
            t = torch.ones(shape)
        state[name] = t.to(dtype)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    if args.format == "zip":
        wrapper = {"model": state, "args": argparse.Namespace(hidden_size=1152),
                   "iteration": 1, "checkpoint_version": 3.0}
        torch.save(wrapper, os.path.join(args.out, "pytorch_model.bin"))
    else:
        from safetensors.torch import save_file
        save_file(state, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})


if __name__ == "__main__":
    main()
