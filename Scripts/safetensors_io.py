"""The Python scripts' one safetensors reader and writer (Formats/safetensors.md).

The reader makes the checks Molt's reader must make (header bounds, UTF-8, duplicate keys,
dtype, sizes, no gaps or overlaps, nothing after the last tensor), so the fixtures it reads
back are known to be valid. The writer pads the header with spaces so data starts 8-aligned.
"""
from __future__ import annotations

import collections
import json
import struct
from pathlib import Path

import torch

ST_DTYPES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
ST_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
            "U8": 1, "BOOL": 1, "U16": 2, "U32": 4, "U64": 8}
ST_TORCH = {v: k for k, v in ST_DTYPES.items()}


class SafetensorsError(Exception):
    pass


def tensor_bytes(t):
    """The tensor's values as contiguous little-endian bytes (bool as one byte 0/1)."""
    t = t.detach().cpu()
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    t = t.contiguous().reshape(-1)
    if t.numel() == 0:
        return b""
    return t.view(torch.uint8).numpy().tobytes()


def encode(items, metadata=None):
    """A safetensors file of (name, tensor) `items`, their data in the order given."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks, off = [], 0
    for name, t in items:
        b = tensor_bytes(t)
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(chunks)


def write(path, items, metadata=None):
    Path(path).write_bytes(encode(items, metadata))


def parse(data):
    """Validates a whole file; returns [(name, dtype, shape, bytes)] in data-offset order."""
    if len(data) < 8:
        raise SafetensorsError("file too short for the header length")
    n = struct.unpack_from("<Q", data)[0]
    if n > 100_000_000:
        raise SafetensorsError(f"header length {n} exceeds the 100,000,000 byte limit")
    if 8 + n > len(data):
        raise SafetensorsError(f"header length {n} runs past the end of the {len(data)} byte file")
    raw = data[8:8 + n]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SafetensorsError(f"header is not valid UTF-8 ({e})")

    def pairs(kv):
        d = {}
        for k, v in kv:
            if k in d:
                raise SafetensorsError(f"key {k!r} appears twice in the header")
            d[k] = v
        return d

    try:
        header = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as e:
        raise SafetensorsError(f"header is not valid JSON ({e})")
    entries = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        if dt not in ST_SIZES:
            raise SafetensorsError(f"tensor {name!r}: unsupported dtype {dt}")
        numel = 1
        for s in info["shape"]:
            numel *= s
            if numel >= 2 ** 64:
                raise SafetensorsError(f"tensor {name!r}: shape {info['shape']} overflows")
        nbytes = numel * ST_SIZES[dt]
        if nbytes >= 2 ** 64:
            raise SafetensorsError(f"tensor {name!r}: byte size overflows")
        b, e = info["data_offsets"]
        if e < b or e - b != nbytes:
            raise SafetensorsError(f"tensor {name!r}: data size {e - b} != {nbytes} from shape and dtype")
        entries.append((b, e, name, dt, info["shape"]))
    entries.sort()
    data_len = len(data) - 8 - n
    pos = 0
    for b, e, name, _, _ in entries:
        if b < pos:
            raise SafetensorsError(f"tensor {name!r}: data overlaps the previous tensor")
        if b > pos:
            raise SafetensorsError(f"tensor {name!r}: gap of {b - pos} bytes before its data")
        pos = e
    if pos != data_len:
        raise SafetensorsError(f"last tensor ends at {pos}, but the data section has {data_len} bytes")
    base = 8 + n
    return [(name, dt, shape, data[base + b:base + e]) for b, e, name, dt, shape in entries]


def read(path):
    """name -> tensor, in data-offset order, after `parse`'s checks."""
    out = collections.OrderedDict()
    for name, dt, shape, raw in parse(Path(path).read_bytes()):
        tdt = ST_TORCH[dt]
        t = torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
        t = t.to(torch.bool) if tdt == torch.bool else t.view(tdt)
        out[name] = t.reshape(shape)
    return out
