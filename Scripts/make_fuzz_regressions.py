#!/usr/bin/env python3
"""Writes the inputs of issue 13's findings (from a mutation fuzzer driving `molt` from outside)
into Fixtures/fuzz/regressions/TARGET/, next to what libFuzzer finds. Each NAME needs a
NAME.expected holding its exact error, written by hand after checking it.

- torch-zip/offset-overflow-protocol4.bin, torch-legacy/offset-overflow.bin: a tensor whose
  storage offset is 2^63 - 1 (trapped with "arithmetic overflow" in Tensor.init)
- tensor/offset-overflow: the same view in the tensor target's own layout
- zip/bomb.bin: 100 KB of deflate claiming 80 MiB (the 11 GiB bomb's shape, small)
- zip/terminal-injection.bin: an entry named ESC[2J ESC]0;owned BEL, newline

Needs PyTorch. Usage: python3 Scripts/make_fuzz_regressions.py
"""
import io
import os
import pickletools
import struct
import zipfile
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parent.parent / "Fixtures" / "fuzz" / "regressions"
INT_MAX = (1 << 63) - 1


def with_huge_offset(pickle_bytes):
    """The pickle with the int after the first BINPERSID (the storage offset) set to 2^63-1."""
    ops = list(pickletools.genops(pickle_bytes))
    for i, (op, _, pos) in enumerate(ops):
        if op.name == "BINPERSID":
            _, _, start = ops[i + 1]
            end = ops[i + 2][2]
            assert ops[i + 1][0].name in ("BININT1", "BININT", "BININT2"), ops[i + 1][0].name
            return pickle_bytes[:start] + b"\x8a\x08" + struct.pack("<q", INT_MAX) + pickle_bytes[end:]
    raise SystemExit("no BINPERSID")


def rezip(data, edit):
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for info in src.infolist():
            body = src.read(info.filename)
            z.writestr(info.filename, edit(info.filename, body))
    return out.getvalue()


def write(target, name, data):
    (OUT / target).mkdir(parents=True, exist_ok=True)
    (OUT / target / name).write_bytes(data)


def main():
    sd = {"w": torch.arange(4, dtype=torch.float32)}
    buf = io.BytesIO()
    torch.save(sd, buf, pickle_protocol=4)
    write("torch-zip", "offset-overflow-protocol4.bin",
          rezip(buf.getvalue(), lambda n, b: with_huge_offset(b) if n.endswith("data.pkl") else b))

    buf = io.BytesIO()
    torch.save(sd, buf, _use_new_zipfile_serialization=False)
    legacy = buf.getvalue()
    # The fourth pickle is the object; its storage offset follows the first BINPERSID.
    ends, pos = [], 0
    for _ in range(4):
        for op, _, p in pickletools.genops(legacy[pos:]):
            if op.name == "STOP":
                ends.append(pos + p + 1)
                break
        pos = ends[-1]
    start = ends[2]
    write("torch-legacy", "offset-overflow.bin",
          legacy[:start] + with_huge_offset(legacy[start:ends[3]]) + legacy[ends[3]:])

    write("tensor", "offset-overflow", bytes([0, 1]) + struct.pack("<qqq", 1, 1, INT_MAX) + bytes(8))

    noise = os.urandom(100_000)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data/0", noise)
    data = bytearray(out.getvalue())
    # Mark the entry deflated and claim 80 MiB uncompressed (local header and directory).
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<H", data, local + 8, 8)
    struct.pack_into("<H", data, central + 10, 8)
    struct.pack_into("<I", data, local + 22, 80 << 20)
    struct.pack_into("<I", data, central + 24, 80 << 20)
    write("zip", "bomb.bin", bytes(data))

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/\x1b[2J\x1b]0;owned\x07\nrest", b"x")
    data = bytearray(out.getvalue())
    struct.pack_into("<H", data, data.index(b"PK\x03\x04") + 8, 12)
    struct.pack_into("<H", data, data.index(b"PK\x01\x02") + 10, 12)
    write("zip", "terminal-injection.bin", bytes(data))


if __name__ == "__main__":
    main()
