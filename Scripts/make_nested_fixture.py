#!/usr/bin/env python3
"""Writes Fixtures/checkpoints/a-zip-megatron-nested: model A as Megatron-LM saves a GPT
model, its modules nested rather than flat:

    {"model": {"language_model": {"embedding": {"word_embeddings": {"weight": T}},
                                  "encoder": {"layers.0.mixer.A_log": T, ...,
                                              "final_layernorm.weight": T}}},
     "args": Namespace(...), "checkpoint_version": 3.0, "iteration": ..., "rng_state": [...]}

(`encoder` is Megatron's name for the layer stack; its keys stay dotted, as Megatron writes
them.) expected.json lists the names Molt reads it under, which are model A's BlackMamba
names, each with the SHA-256 of its bytes as torch.load returns them.

Needs PyTorch; the output is committed, so tests do not. Reuses make_fixtures.py's model A
so the tensors equal a-zip-megatron's.

Usage: python3 Scripts/make_nested_fixture.py [--out Fixtures/checkpoints]
"""
import argparse
import collections
import shutil
from pathlib import Path

import torch

import make_fixtures as mf

NAME = "a-zip-megatron-nested"


def nest(sd):
    """Megatron-LM's nesting of a flat BlackMamba state dict."""
    embedding, encoder = collections.OrderedDict(), collections.OrderedDict()
    for name, t in sd.items():
        if name.startswith("embedding."):
            parts = name.split(".")[1:]            # word_embeddings, weight
            node = embedding
            for p in parts[:-1]:
                node = node.setdefault(p, collections.OrderedDict())
            node[parts[-1]] = t
        else:
            assert name.startswith("decoder."), name
            encoder[name[len("decoder."):]] = t
    return {"language_model": collections.OrderedDict([("embedding", embedding), ("encoder", encoder)])}


def flat_from_nested(model):
    """What Molt must read: the nested dict flattened and mapped back to BlackMamba names."""
    out = collections.OrderedDict()

    def walk(d, prefix):
        for k, v in d.items():
            name = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict):
                walk(v, name)
            else:
                out[name] = v

    walk(model, "")
    mapped = collections.OrderedDict()
    for k, v in out.items():
        k = k[len("language_model."):]
        if k.startswith("encoder."):
            k = "decoder." + k[len("encoder."):]
        mapped[k] = v
    return mapped


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "Fixtures" / "checkpoints"))
    args = ap.parse_args()
    d = Path(args.out) / NAME
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    cfg, rows = mf.CONFIG_A, mf.VOCAB_ROWS_A
    sd = mf.build_state_dict(cfg, rows, seed=1001)
    wrapper = mf.megatron_wrapper(nest(sd), cfg, rows, torch.float32)
    p = d / "pytorch_model.bin"
    mf.save_torch(wrapper, p)
    mf.write_json(d / "config.json", cfg)

    loaded = flat_from_nested(torch.load(p, weights_only=False, map_location="cpu")["model"])
    assert list(loaded) == list(sd), "nesting must keep model A's names and order"
    entries = []
    for name, t in loaded.items():
        assert torch.equal(t, sd[name]), name
        entries.append(mf.tensor_entry(name, t))
    mf.write_json(d / "expected.json", {
        "format": "torch-zip", "weights": [p.name], "wrapper": True, "config": True,
        "model": mf.model_summary(cfg, rows),
        "notes": "Megatron-LM nesting: model.language_model.embedding.word_embeddings.weight and "
                 "model.language_model.encoder.<dotted layer names>; read as the BlackMamba names "
                 "(language_model. dropped, encoder. -> decoder.); globals: " + ", ".join(mf.file_globals(p)),
        "tensors": entries,
    })
    print(f"{NAME}: {len(entries)} tensors, {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
