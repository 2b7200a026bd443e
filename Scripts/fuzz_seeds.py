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


def calibration_files():
    """Small .moltcal files (Formats/calibration.md) of each kind: sums only, Gram matrices, kept
    f16 rows with padding, and a version 1 file."""
    import json
    import zlib

    def make(version, tensors):
        data, entries = b"", []
        for name, columns, tokens, second in tensors:
            entry = {"name": name, "columns": columns, "tokens": tokens,
                     "sum_sq": {"offset": len(data) // 8, "count": columns}, "gram": None, "rows": None}
            data += struct.pack(f"<{columns}d", *[float(tokens + j) for j in range(columns)])
            if second == "gram":
                entry["gram"] = {"offset": len(data) // 8, "count": columns * columns}
                data += struct.pack(f"<{columns * columns}d", *[float((i * 7) % 5) for i in range(columns * columns)])
            elif second == "rows":
                entry["rows"] = {"offset": len(data) // 8, "count": tokens * columns}
                data += struct.pack(f"<{tokens * columns}e", *[(i % 9) / 4 - 1 for i in range(tokens * columns)])
                data += bytes(-len(data) % 8)
            if version == 1:
                del entry["rows"]
            entries.append(entry)
        sha = "a" * 64
        header = {
            "format": "molt-calibration", "version": version,
            "source": {"sha256": sha, "files": [{"name": "model.safetensors", "sha256": sha, "size": 1}]},
            "text": {"kind": "file", "sha256": "b" * 64, "bytes": 3}, "tokens": 6, "sequences": 1,
            "expert_floor": 64, "reservoir_stride": 1, "gram": all(t[3] for t in tensors),
            "data_crc32": zlib.crc32(data), "tensors": entries,
            "experts": [{"layer": 1, "expert": 0, "routed_tokens": 3, "filled": True}],
        }
        text = json.dumps(header).encode()
        out = b"MOLTCAL\n" + struct.pack("<II", version, len(text)) + text
        return out + bytes(-len(out) % 8) + data

    return [
        make(2, [("decoder.layers.0.mixer.in_proj.weight", 32, 6, None), ("decoder.layers.1.mixer.local_experts.0.linear_fc1.weight", 4, 3, None)]),
        make(2, [("decoder.layers.0.mixer.in_proj.weight", 4, 6, "gram"), ("decoder.layers.1.mixer.local_experts.0.linear_fc1.weight", 3, 3, "rows")]),
        make(1, [("decoder.layers.0.mixer.in_proj.weight", 3, 6, "gram")]),
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
    if target == "calibration":
        return calibration_files()
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
