"""The Python scripts' one random-weight builder: a BlackMamba state dict of the shapes
Formats/model.md lists, at Mamba/Megatron-like scales (A_log = log(1..N) plus noise, dt in
[1e-3, 0.1] through the inverse softplus), drawn from a seeded generator in nn.Module
state-dict order, so the same seed gives the same bytes on every machine.
"""
from __future__ import annotations

import collections
import math

import torch


def random_state_dict(cfg, vocab_rows, seed, dtype=torch.float32):
    H = int(cfg["hidden_size"])
    Di = int(cfg["expansion_factor"]) * H
    N = int(cfg["state_size"])
    K = int(cfg["conv_dimension"])
    R = math.ceil(H / 16)
    F = int(cfg["ffn_hidden_size"])
    V = vocab_rows
    bias = bool(cfg.get("add_bias_linear", False))
    g = torch.Generator().manual_seed(seed)

    def normal(shape, std, mean=0.0):
        return torch.randn(shape, generator=g) * std + mean

    def uniform(shape, lo, hi):
        return torch.rand(shape, generator=g) * (hi - lo) + lo

    sd = collections.OrderedDict()
    sd["embedding.word_embeddings.weight"] = normal((V, H), 0.1)
    for i, kind in enumerate(cfg["mamba_moe_layers"]):
        m = f"decoder.layers.{i}.mixer."
        if str(kind) == "r":
            # parameters owned by the mixer itself come before its sub-modules
            a = torch.log(torch.arange(1, N + 1, dtype=torch.float32)).repeat(Di, 1)
            sd[m + "A_log"] = a + normal((Di, N), 0.05)
            sd[m + "D"] = normal((Di,), 0.1, 1.0)
            sd[m + "in_proj.weight"] = normal((2 * Di, H), H ** -0.5)
            if bias:
                sd[m + "in_proj.bias"] = normal((2 * Di,), 0.02)
            sd[m + "conv1d.weight"] = normal((Di, 1, K), K ** -0.5 * 0.5)
            sd[m + "conv1d.bias"] = normal((Di,), 0.05)
            sd[m + "x_proj.weight"] = normal((R + 2 * N, Di), Di ** -0.5)
            sd[m + "dt_proj.weight"] = uniform((Di, R), -R ** -0.5, R ** -0.5)
            dt = torch.exp(uniform((Di,), math.log(0.001), math.log(0.1)))
            sd[m + "dt_proj.bias"] = dt + torch.log(-torch.expm1(-dt))  # softplus^-1(dt)
            sd[m + "out_proj.weight"] = normal((H, Di), Di ** -0.5)
            if bias:
                sd[m + "out_proj.bias"] = normal((H,), 0.02)
        else:
            E = int(kind)
            sd[m + "router.weight"] = normal((E, H), H ** -0.5)
            sd[m + "router.bias"] = normal((E,), 0.1)
            fc1_rows = 2 * F if cfg.get("swiglu", False) else F
            for e in range(E):
                x = f"{m}local_experts.{e}."
                sd[x + "linear_fc1.weight"] = normal((fc1_rows, H), H ** -0.5)
                if bias:
                    sd[x + "linear_fc1.bias"] = normal((fc1_rows,), 0.02)
                sd[x + "linear_fc2.weight"] = normal((H, F), F ** -0.5)
                if bias:
                    sd[x + "linear_fc2.bias"] = normal((H,), 0.02)
        sd[f"decoder.layers.{i}.norm.weight"] = normal((H,), 0.05, 1.0)
    sd["decoder.final_layernorm.weight"] = normal((H,), 0.05, 1.0)
    sd["decoder.final_layernorm.bias"] = normal((H,), 0.02)
    if bias:
        sd["output_layer.bias"] = normal((V,), 0.02)
    if dtype != torch.float32:
        sd = collections.OrderedDict((k, v.to(dtype)) for k, v in sd.items())
    return sd
