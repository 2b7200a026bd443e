#!/usr/bin/env python3
"""Writes a random BlackMamba checkpoint with the published 1.5B shapes, for benchmarks.

The output (about 3 GB in bf16) is never committed. Needs PyTorch.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from random_weights import random_state_dict  # noqa: E402
import safetensors_io  # noqa: E402


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
    state = random_state_dict(cfg, 50304, seed=0, dtype=dtype)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    if args.format == "zip":
        wrapper = {"model": state, "args": argparse.Namespace(hidden_size=1152),
                   "iteration": 1, "checkpoint_version": 3.0}
        torch.save(wrapper, os.path.join(args.out, "pytorch_model.bin"))
    else:
        safetensors_io.write(os.path.join(args.out, "model.safetensors"), sorted(state.items()), {"format": "pt"})


if __name__ == "__main__":
    main()
