#!/usr/bin/env python3
"""Copies seed inputs for one fuzz target from Fixtures/ into a corpus directory.

Usage: fuzz_seeds.py TARGET CORPUS_DIR. Seeds are the committed fixtures of that input kind
(valid and bad), the pickles inside the torch zip fixtures, and the fuzz regressions kept so
far; nothing is generated with PyTorch.
"""
import hashlib
import pathlib
import struct
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Fixtures"
MAX_SEED = 1 << 20


def files(pattern):
    return [p for p in sorted(FIXTURES.rglob(pattern)) if p.is_file() and p.stat().st_size <= MAX_SEED]


def is_zip(data):
    return data[:4] == b"PK\x03\x04"


def torch_files():
    return [(p, p.read_bytes()) for p in files("*.bin") + files("*.pt")]


def pickles():
    out = []
    for _, data in torch_files():
        if is_zip(data):
            try:
                with zipfile.ZipFile(__import__("io").BytesIO(data)) as z:
                    out += [z.read(n) for n in z.namelist() if n.endswith("data.pkl")]
            except Exception:
                pass
        elif data[:1] == b"\x80":
            out.append(data)
    return out


def tensors():
    """The fuzz target's own layout: dtype, rank, shape, strides, offset, storage bytes."""
    def make(dtype, shape, strides, offset, storage):
        rank = len(shape)
        return bytes([dtype, rank]) + struct.pack(f"<{rank}q{rank}qq", *shape, *strides, offset) + storage
    return [
        make(0, [2, 3], [3, 1], 0, bytes(24)),
        make(0, [3, 2], [1, 3], 0, bytes(24)),
        make(1, [4, 6], [0, 1], 2, bytes(16)),
        make(2, [1], [1], 5, bytes(12)),
        make(9, [2, 2, 2], [4, 2, 1], 0, bytes(8)),
    ]


def seeds(target):
    if target == "pickle":
        return pickles()
    if target in ("zip", "torch-zip"):
        return [d for _, d in torch_files() if is_zip(d)]
    if target == "torch-legacy":
        return [d for _, d in torch_files() if d[:1] == b"\x80"]
    if target == "safetensors":
        return [p.read_bytes() for p in files("*.safetensors")]
    if target == "shard-index":
        return [p.read_bytes() for p in files("*.index.json")]
    if target == "config":
        return [p.read_bytes() for p in files("config.json")]
    if target == "tokenizer":
        return [p.read_bytes() for p in files("tokenizer.json")]
    if target == "molt":
        return [p.read_bytes() for p in files("*.molt")]
    if target == "tensor":
        return tensors()
    sys.exit(f"unknown target {target}")


def main():
    target, corpus = sys.argv[1], pathlib.Path(sys.argv[2])
    corpus.mkdir(parents=True, exist_ok=True)
    kept = seeds(target)
    regressions = FIXTURES / "fuzz" / "regressions" / target
    if regressions.is_dir():
        kept += [p.read_bytes() for p in sorted(regressions.iterdir()) if p.suffix != ".expected"]
    for data in kept:
        (corpus / hashlib.sha1(data).hexdigest()).write_bytes(data)
    print(f"{target}: {len(kept)} seeds", file=sys.stderr)


if __name__ == "__main__":
    main()
