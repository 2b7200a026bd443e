#!/usr/bin/env python3
"""Generate every test fixture Molt's checkpoint readers are tested against.

Writes (and first deletes) two directories under --out (default: <repo>/Fixtures):

  checkpoints/<name>/          tiny BlackMamba models in every source format, each with
                               config.json, the weight file(s) and expected.json
  checkpoints/special/         small non-model files (tied storages, views, dtypes,
                               big-endian, deflate, zero CRC, untyped storages), each
                               <name>.bin plus <name>.expected.json
  bad/                         hostile or corrupt inputs plus bad/manifest.json

Every torch file is loaded back with torch.load(weights_only=False) and every
safetensors file with this script's own reader (and the safetensors package when it is
installed) before its expected.json is written: the SHA-256 digests in expected.json must
match the values read back.  Malicious pickles in bad/ are never executed; they
are checked with an inert unpickler that records which callables they name (see
--prove-exploits for an opt-in check that runs them with the dangerous callables
replaced by recorders).

Output is deterministic: fixed seeds, torch's own content-derived serialization ids,
fixed zip timestamps and deterministic stand-ins for the legacy format's pointer keys.
"""

import argparse
import collections
import contextlib
import hashlib
import io
import json
import math
import os
import pickle
import pickletools
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import safetensors_io  # noqa: E402
from random_weights import random_state_dict  # noqa: E402
from safetensors_io import tensor_bytes  # noqa: E402

REPO = Path(__file__).resolve().parent.parent

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=UserWarning)

# ----------------------------------------------------------------------------------------
# dtypes and digests

DTYPE_NAMES = {
    torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.float64: "f64",
    torch.int64: "i64", torch.int32: "i32", torch.int16: "i16", torch.int8: "i8",
    torch.uint8: "u8", torch.bool: "bool",
}
def digest(t):
    return hashlib.sha256(tensor_bytes(t)).hexdigest()


def tensor_entry(name, t, detail=False):
    e = {"name": name, "dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape),
         "contiguous": bool(t.is_contiguous()), "sha256": digest(t)}
    if detail:
        e["storage_offset"] = int(t.storage_offset())
        e["stride"] = list(t.stride())
    return e


# ----------------------------------------------------------------------------------------
# the two tiny BlackMamba models

CONFIG_A = {
    "num_layers": 4,
    "mamba_moe_layers": ["r", "8", "r", "8"],
    "hidden_size": 32,
    "state_size": 8,
    "conv_dimension": 4,
    "expansion_factor": 2,
    "ffn_hidden_size": 64,
    "vocab_size": 256,
    "add_bias_linear": False,
    "swiglu": True,
    "max_sequence_length": 128,
    "rotary_percent": 1.0,           # unknown to readers: must be ignored
    "use_fused_kernels": False,      # unknown to readers: must be ignored
}
VOCAB_ROWS_A = 256

CONFIG_B = {
    "num_layers": 5,
    "mamba_moe_layers": ["r", "r", "3", "r", "3"],
    "hidden_size": 48,
    "state_size": 4,
    "conv_dimension": 3,
    "expansion_factor": 2,
    "ffn_hidden_size": 40,
    "vocab_size": 200,
    "add_bias_linear": True,
    "swiglu": False,
    "max_sequence_length": 64,
}
VOCAB_ROWS_B = 208                   # padded above vocab_size, as published models are


def model_summary(cfg, vocab_rows):
    H = cfg["hidden_size"]
    return {
        "num_layers": cfg["num_layers"],
        "experts": [0 if k == "r" else int(k) for k in cfg["mamba_moe_layers"]],
        "hidden_size": H,
        "d_inner": cfg["expansion_factor"] * H,
        "state_size": cfg["state_size"],
        "conv_dimension": cfg["conv_dimension"],
        "dt_rank": math.ceil(H / 16),
        "ffn_hidden_size": cfg["ffn_hidden_size"],
        "vocab_size": cfg["vocab_size"],
        "vocab_rows": vocab_rows,
        "add_bias_linear": cfg["add_bias_linear"],
        "swiglu": cfg["swiglu"],
    }


def with_module_metadata(sd):
    """Attach the `_metadata` attribute nn.Module.state_dict() gives (pickled as BUILD)."""
    meta = collections.OrderedDict()
    meta[""] = {"version": 1}
    for key in sd:
        parts = key.split(".")[:-1]
        for i in range(1, len(parts) + 1):
            meta.setdefault(".".join(parts[:i]), {"version": 1})
    sd._metadata = meta
    return sd


def build_state_dict(cfg, vocab_rows, seed):
    """random_weights' state dict, checked nonzero, with the module metadata torch.save keeps."""
    sd = random_state_dict(cfg, vocab_rows, seed)
    for k, v in sd.items():
        assert v.abs().sum() > 0, k
    return with_module_metadata(sd)


def cast_state_dict(sd, dtype):
    out = collections.OrderedDict((k, v.to(dtype)) for k, v in sd.items())
    out._metadata = sd._metadata
    return out


def megatron_wrapper(sd, cfg, vocab_rows, dtype):
    """The dict Megatron's save_checkpoint writes: Namespace, numpy and torch RNG state."""
    args = argparse.Namespace(
        num_layers=cfg["num_layers"],
        hidden_size=cfg["hidden_size"],
        ffn_hidden_size=cfg["ffn_hidden_size"],
        mamba_moe_layers=list(cfg["mamba_moe_layers"]),
        seq_length=cfg["max_sequence_length"],
        padded_vocab_size=vocab_rows,
        make_vocab_size_divisible_by=16,
        tokenizer_type="HFTokenizer",
        lr=3.0e-4,
        min_lr=3.0e-5,
        adam_betas=[0.9, 0.95],
        data_path=["1.0", "/data/pile/pile_text_document"],
        moe={"router": "sinkhorn", "top_k": 1, "capacity_factor": [1.0, 2.0]},
        params_dtype=dtype,
        fp16=dtype == torch.float16,
        bf16=dtype == torch.bfloat16,
        tensor_model_parallel_size=1,
        consumed_train_samples=512000,
    )
    random.seed(1234)
    np.random.seed(1234)
    torch.manual_seed(1234)
    rng = [{"random_rng_state": random.getstate(),
            "np_rng_state": np.random.get_state(),
            "torch_rng_state": torch.get_rng_state()}]
    return {"args": args, "checkpoint_version": 3.0, "iteration": 1000, "model": sd,
            "rng_state": rng}


# ----------------------------------------------------------------------------------------
# writers

@contextlib.contextmanager
def deterministic_legacy_keys():
    """Make the legacy format's storage keys (str(storage._cdata), a pointer) reproducible.

    The stand-ins look like real heap/mmap pointers (14 and 15 decimal digits) and are
    deliberately not in first-use order, so string-sorted key order (the order the data
    is written in) differs from the order the pickle names them, as in real files."""
    real = torch._C.StorageBase._cdata
    mapping = {}

    def fake(self):
        c = real.__get__(self)
        if c not in mapping:
            i = len(mapping)
            base = 94_180_000_000_000 if i % 2 == 0 else 140_230_000_000_000
            mapping[c] = base + ((i * 7919) % 1009) * 4096
        return mapping[c]

    torch.UntypedStorage._cdata = property(fake)
    try:
        yield
    finally:
        del torch.UntypedStorage._cdata


def save_torch(obj, path, legacy=False, protocol=2):
    path = Path(path)
    if legacy:
        with deterministic_legacy_keys():
            torch.save(obj, path, _use_new_zipfile_serialization=False, pickle_protocol=protocol)
    else:
        torch.save(obj, path, pickle_protocol=protocol)


def torch_save_bytes(obj, **kw):
    """torch.save into memory: the zip prefix is then `archive`."""
    buf = io.BytesIO()
    if kw.pop("legacy", False):
        with deterministic_legacy_keys():
            torch.save(obj, buf, _use_new_zipfile_serialization=False, **kw)
    else:
        torch.save(obj, buf, **kw)
    return buf.getvalue()


def zip_entries(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def build_zip(entries, compression=zipfile.ZIP_STORED):
    """A plain zip written by Python's zipfile (no alignment, no data descriptors)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries:
            zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = compression
            zi.external_attr = 0o644 << 16
            z.writestr(zi, data)
    return buf.getvalue()


def replace_entry(entries, suffix, data):
    hits = [i for i, (n, _) in enumerate(entries) if n.endswith(suffix)]
    assert len(hits) == 1, (suffix, [n for n, _ in entries])
    out = list(entries)
    out[hits[0]] = (out[hits[0]][0], data)
    return out


def data_pkl(zip_bytes):
    return [d for n, d in zip_entries(zip_bytes) if n.endswith("/data.pkl")][0]


def write_json(path, obj):
    Path(path).write_text(json.dumps(obj, indent=2) + "\n")


# ----------------------------------------------------------------------------------------
# readers used for verification

def st_load(path):
    out = safetensors_io.read(path)
    try:                                       # independent check when available
        import safetensors.torch as stt
        ref = stt.load_file(str(path))
        assert set(ref) == set(out), path
        for k in out:
            assert digest(ref[k]) == digest(out[k]), (path, k)
    except ImportError:
        pass
    return out


class _Stub:
    """Inert stand-in for any global a pickle names."""
    calls = None

    def __new__(cls, *args, **kw):
        return object.__new__(cls)

    def __init__(self, *args, **kw):
        self.args = args
        self.items = {}
        self.list = []
        self.state = None
        if self.calls is not None and hasattr(type(self), "qual"):
            self.calls.append((type(self).qual, args))

    def __setitem__(self, k, v):
        self.items[k] = v

    def __setstate__(self, s):
        self.state = s

    def append(self, v):
        self.list.append(v)

    def extend(self, vs):
        self.list.extend(vs)

    def __call__(self, *args):
        return _Stub(*args)


class ScanUnpickler(pickle.Unpickler):
    """Loads a pickle without running anything: every global becomes an inert stub class
    that records its calls; persistent ids are returned as tuples."""

    def __init__(self, f):
        super().__init__(f)
        self.globals_seen = []
        self.calls = []
        self.pids = []

    def find_class(self, module, name):
        self.globals_seen.append(f"{module}.{name}")
        return type(name, (_Stub,), {"qual": f"{module}.{name}", "calls": self.calls})

    def persistent_load(self, pid):
        self.pids.append(pid)
        return ("persistent", pid)


def scan_pickle(blob):
    u = ScanUnpickler(io.BytesIO(blob))
    u.load()
    return u


def rebuild_records(scan):
    """(function, storage pid, offset, size, stride, extra) for each tensor rebuild call."""
    out = []
    for qual, args in scan.calls:
        if qual.startswith("torch._utils._rebuild_tensor"):
            pid = args[0][1]
            out.append((qual, pid, args[1], tuple(args[2]), tuple(args[3]), args[6:]))
    return out


def legacy_pickles(blob):
    """Split a legacy file into its five pickles and the raw tail."""
    f = io.BytesIO(blob)
    parts = []
    for _ in range(5):
        start = f.tell()
        for op, arg, pos in pickletools.genops(f):
            if op.name == "STOP":
                break
        parts.append(blob[start:f.tell()])
    return parts, blob[f.tell():]


def verify_torch_file(path, entries, wrapper, shards=None):
    """torch.load the file(s) and compare names, dtypes, shapes, layouts and digests."""
    files = shards or [path]
    got = collections.OrderedDict()
    for p in files:
        obj = torch.load(p, weights_only=False, map_location="cpu")
        sd = obj["model"] if wrapper else obj
        got.update(sd)
    assert list(got) == [e["name"] for e in entries], (path, list(got)[:5])
    for e in entries:
        t = got[e["name"]]
        assert DTYPE_NAMES[t.dtype] == e["dtype"] and list(t.shape) == e["shape"], e["name"]
        assert bool(t.is_contiguous()) == e["contiguous"], e["name"]
        assert digest(t) == e["sha256"], (path, e["name"])
        if "stride" in e:
            assert list(t.stride()) == e["stride"] and t.storage_offset() == e["storage_offset"]
    return got


def file_globals(path):
    """The globals named by a torch file's object pickle (for the notes and the report)."""
    blob = Path(path).read_bytes()
    if blob[:4] == b"PK\x03\x04":
        pk = data_pkl(blob)
    else:
        pk = legacy_pickles(blob)[0][3]
    return sorted(set(scan_pickle(pk).globals_seen))


# ----------------------------------------------------------------------------------------
# model fixtures

def shard_split(names, sd, parts=2):
    total = sum(sd[n].numel() * sd[n].element_size() for n in names)
    out, cur, acc = [], [], 0
    for n in names:
        cur.append(n)
        acc += sd[n].numel() * sd[n].element_size()
        if len(out) < parts - 1 and acc >= total * (len(out) + 1) / parts:
            out.append(cur)
            cur = []
    out.append(cur)
    assert len(out) == parts and all(out)
    return out, total


def make_model_fixtures(root, log):
    sd_a = build_state_dict(CONFIG_A, VOCAB_ROWS_A, seed=1001)
    sd_b = build_state_dict(CONFIG_B, VOCAB_ROWS_B, seed=2002)
    specs = [
        # name, config, format, dtype, wrapper, extra
        ("a-zip-megatron", "a", "torch-zip", torch.float32, True, {}),
        ("a-zip-bare", "a", "torch-zip", torch.float32, False, {}),
        ("a-legacy", "a", "torch-legacy", torch.float32, True, {}),
        ("a-bf16", "a", "torch-zip", torch.bfloat16, False, {}),
        ("a-f16", "a", "torch-zip", torch.float16, True, {}),
        ("a-protocol4", "a", "torch-zip", torch.float32, True, {"protocol": 4}),
        ("a-safetensors", "a", "safetensors", torch.float32, False, {}),
        ("a-safetensors-sharded", "a", "safetensors-sharded", torch.float32, False, {}),
        ("a-zip-sharded", "a", "torch-zip-sharded", torch.float32, False, {}),
        ("b-zip-megatron", "b", "torch-zip", torch.float32, True, {}),
        ("b-safetensors", "b", "safetensors", torch.bfloat16, False, {}),
        ("b-legacy-bf16", "b", "torch-legacy", torch.bfloat16, False, {}),
    ]
    for name, which, fmt, dtype, wrapper, extra in specs:
        cfg, rows, base = (CONFIG_A, VOCAB_ROWS_A, sd_a) if which == "a" else (CONFIG_B, VOCAB_ROWS_B, sd_b)
        d = root / name
        d.mkdir(parents=True)
        write_json(d / "config.json", cfg)
        sd = cast_state_dict(base, dtype)
        entries = [tensor_entry(k, v) for k, v in sd.items()]
        names = list(sd)
        exp = {"format": fmt, "weights": None, "wrapper": wrapper, "config": True}
        notes = []
        if fmt in ("torch-zip", "torch-legacy"):
            obj = megatron_wrapper(sd, cfg, rows, dtype) if wrapper else sd
            p = d / "pytorch_model.bin"
            save_torch(obj, p, legacy=fmt == "torch-legacy", protocol=extra.get("protocol", 2))
            verify_torch_file(p, entries, wrapper)
            exp["weights"] = [p.name]
            if extra.get("protocol"):
                notes.append(f"pickle protocol {extra['protocol']} (FRAME, SHORT_BINUNICODE, "
                             "MEMOIZE, STACK_GLOBAL, BINBYTES)")
            if wrapper:
                notes.append("Megatron wrapper: args (argparse.Namespace), checkpoint_version, "
                             "iteration, model, rng_state (python/numpy/torch RNG state; "
                             "torch_rng_state is a uint8 tensor outside model)")
            if fmt == "torch-legacy":
                notes.append("legacy storage keys are deterministic stand-ins for pointers; "
                             "the data order (string-sorted keys) differs from pickle order")
            notes.append("globals: " + ", ".join(file_globals(p)))
        elif fmt == "safetensors":
            p = d / "model.safetensors"
            p.write_bytes(safetensors_io.encode(sd.items(), {"format": "pt"}))
            assert [digest(v) for v in st_load(p).values()] == [e["sha256"] for e in entries]
            exp["weights"] = [p.name]
        elif fmt == "safetensors-sharded":
            groups, total = shard_split(names, sd)
            files, wmap = [], {}
            for i, g in enumerate(groups):
                fn = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
                (d / fn).write_bytes(safetensors_io.encode([(n, sd[n]) for n in g], {"format": "pt"}))
                files.append(fn)
                wmap.update({n: fn for n in g})
            write_json(d / "model.safetensors.index.json",
                       {"metadata": {"total_size": total}, "weight_map": dict(sorted(wmap.items()))})
            got = collections.OrderedDict()
            for fn in files:
                got.update(st_load(d / fn))
            assert [digest(v) for v in got.values()] == [e["sha256"] for e in entries]
            exp["weights"] = files
            exp["index"] = "model.safetensors.index.json"
        elif fmt == "torch-zip-sharded":
            groups, total = shard_split(names, sd)
            files, wmap = [], {}
            for i, g in enumerate(groups):
                fn = f"pytorch_model-{i + 1:05d}-of-{len(groups):05d}.bin"
                part = collections.OrderedDict((n, sd[n]) for n in g)
                save_torch(part, d / fn)
                files.append(fn)
                wmap.update({n: fn for n in g})
            write_json(d / "pytorch_model.bin.index.json",
                       {"metadata": {"total_size": total}, "weight_map": dict(sorted(wmap.items()))})
            verify_torch_file(None, entries, False, shards=[d / f for f in files])
            exp["weights"] = files
            exp["index"] = "pytorch_model.bin.index.json"
        exp["model"] = model_summary(cfg, rows)
        if notes:
            exp["notes"] = "; ".join(notes)
        exp["tensors"] = entries
        write_json(d / "expected.json", exp)
        log(f"  {name}: {len(entries)} tensors, {sum((d / w).stat().st_size for w in exp['weights'])} bytes")


# ----------------------------------------------------------------------------------------
# special (non-model) files

def special_expected(fmt, weights, entries, notes=None, **extra):
    e = {"format": fmt, "weights": weights, "wrapper": False, "config": False}
    e.update(extra)
    if notes:
        e["notes"] = notes
    e["tensors"] = entries
    return e


def zip_storage_records(path_or_bytes):
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:      # names only: CRCs may be zero
        return sorted(n.split("/data/", 1)[1] for n in z.namelist() if "/data/" in n)


def make_special(root, log):
    d = root / "special"
    d.mkdir(parents=True)
    g = torch.Generator().manual_seed(3003)

    def rn(*shape):
        return torch.randn(shape, generator=g)

    def finish(name, sd, fmt="torch-zip", notes=None, check=None, **extra):
        p = d / f"{name}.bin"
        entries = [tensor_entry(k, v, detail=True) for k, v in sd.items()]
        got = verify_torch_file(p, entries, False)
        if check:
            check(p, got)
        if fmt == "torch-zip" and "storages" not in extra:
            try:
                extra["storages"] = len(zip_storage_records(p))
            except zipfile.BadZipFile:
                pass
        write_json(d / f"{name}.expected.json", special_expected(fmt, [p.name], entries, notes, **extra))
        log(f"  special/{p.name}: {p.stat().st_size} bytes")

    # tied: three tensors, one storage record
    x = rn(6, 10)
    tied = collections.OrderedDict([("a", x), ("b", x), ("c", x[1:])])
    save_torch(tied, d / "tied.bin")

    def check_tied(p, got):
        assert zip_storage_records(p) == ["0"]
        recs = rebuild_records(scan_pickle(data_pkl(p.read_bytes())))
        assert [r[1][2] for r in recs] == ["0", "0"] and recs[1][2] == 10   # b is memoized
        assert got["a"].untyped_storage().data_ptr() == got["c"].untyped_storage().data_ptr()
    finish("tied", tied, check=check_tied,
           notes="a and b are the same tensor object (the pickle memoizes it: b is a BINGET of a); "
                 "c = x[1:] is a view (offset 10) of the same storage: one data/0 record")

    # views and dtypes
    v1 = rn(40)
    m = rn(5, 7)
    views = collections.OrderedDict()
    views["offset"] = v1[3:]
    views["matrix"] = m
    views["transpose"] = m.t()
    views["strided"] = m[:, ::2]
    views["window"] = m[1:4, 2:5]
    views["expanded"] = rn(6).expand(4, 6)
    views["scalar"] = torch.tensor(2.5)
    views["empty"] = torch.zeros(0, 4)
    views["param"] = torch.nn.Parameter(rn(3, 2))
    views["f64"] = rn(7).double() * 1e3
    views["f16"] = rn(9).half()
    views["bf16"] = rn(9).bfloat16()
    views["i64"] = torch.tensor([-(2 ** 62), -1, 0, 1, 2 ** 40 + 7, 2 ** 63 - 1], dtype=torch.int64)
    views["i32"] = torch.tensor([-(2 ** 31), -5, 0, 77, 2 ** 31 - 1], dtype=torch.int32)
    views["i16"] = torch.arange(-300, 366, 37, dtype=torch.int16).reshape(2, 9)[:, :8]
    views["i8"] = torch.tensor([-128, -3, 0, 9, 127], dtype=torch.int8)
    views["u8"] = torch.arange(0, 256, 17, dtype=torch.uint8)
    views["bool"] = torch.tensor([[True, False, True], [False, False, True]])
    save_torch(views, d / "views.bin")

    def check_views(p, got):
        sc = scan_pickle(data_pkl(p.read_bytes()))
        rr = rebuild_records(sc)
        byname = dict(zip(views.keys(), rr))
        assert byname["offset"][2] == 3
        assert byname["transpose"][4] == (1, 7) and byname["strided"][4] == (7, 2)
        assert byname["window"][2] == 9 and byname["expanded"][4] == (0, 1)
        assert byname["scalar"][3] == () and byname["empty"][3] == (0, 4)
        assert "torch._utils._rebuild_parameter" in sc.globals_seen
    finish("views", views, check=check_views,
           notes="views keep their own storage offset and strides (see storage_offset/stride); "
                 "matrix, transpose, strided and window share one storage; expanded has "
                 "stride 0 over a 6-element storage; empty has a 0-byte record; param is an "
                 "nn.Parameter (torch._utils._rebuild_parameter); the i16 tensor is a "
                 "non-contiguous slice")

    # big-endian: torch zip rewritten with byteorder=big and swapped storages
    be = collections.OrderedDict([("f32", rn(3, 4)),
                                  ("i64", torch.tensor([1, -2, 2 ** 33 + 5, -(2 ** 50)], dtype=torch.int64)),
                                  ("f16", rn(6).half())])
    src = torch_save_bytes(be)
    recs = rebuild_records(scan_pickle(data_pkl(src)))
    sizes = {r[1][2]: {"torch.FloatStorage": 4, "torch.LongStorage": 8, "torch.HalfStorage": 2}[r[1][1].qual]
             for r in recs}
    ents = []
    for n, data in zip_entries(src):
        if n.endswith("/byteorder"):
            data = b"big"
        elif "/data/" in n and not n.endswith("serialization_id"):
            k = n.rsplit("/", 1)[1]
            data = np.frombuffer(data, dtype=f"<u{sizes[k]}").byteswap().tobytes()
        ents.append((n, data))
    (d / "bigendian.bin").write_bytes(build_zip(ents))
    finish("bigendian", be,
           notes="byteorder record is 'big' and every storage record is byte-swapped per "
                 "element; digests are of the true values; rewritten with Python zipfile "
                 "(STORED, no 64-byte alignment, real CRCs, no data descriptors)")

    # deflate
    dfl = collections.OrderedDict([("w", rn(8, 12)), ("b", rn(12)), ("idx", torch.arange(20, dtype=torch.int64))])
    (d / "deflate.bin").write_bytes(build_zip(zip_entries(torch_save_bytes(dfl)), zipfile.ZIP_DEFLATED))
    with zipfile.ZipFile(d / "deflate.bin") as z:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist())
    finish("deflate", dfl, notes="every entry is ZIP_DEFLATED (method 8), written by Python zipfile")

    # zero CRC: torch's own writer with CRC computation switched off
    zc = collections.OrderedDict([("w", rn(4, 6)), ("b", rn(6))])
    torch.serialization.set_crc32_options(False)
    try:
        save_torch(zc, d / "zerocrc.bin")
    finally:
        torch.serialization.set_crc32_options(True)
    blob = bytearray((d / "zerocrc.bin").read_bytes())
    patched = zero_crcs(blob)
    (d / "zerocrc.bin").write_bytes(bytes(blob))
    finish("zerocrc", zc,
           notes="written by torch.save with torch.serialization.set_crc32_options(False): "
                 "CRC-32 is 0 in the central directory, local headers and data descriptors"
                 + (f" ({patched} fields patched afterwards)" if patched else ""))

    # untyped storages + _rebuild_tensor_v3
    native = io.BytesIO()
    torch.save({"x": torch.ones(2)}, native)
    native_globals = sorted(set(scan_pickle(data_pkl(native.getvalue())).globals_seen))
    ut = collections.OrderedDict([("w", rn(4, 5)), ("idx", torch.tensor([3, -1, 4, 1, -5], dtype=torch.int64)),
                                  ("h", rn(8).bfloat16())])
    ut["wt"] = ut["w"].t()
    real_new = torch.storage._new_dtypes
    torch.storage._new_dtypes = lambda: real_new() | {torch.float32, torch.int64, torch.bfloat16}
    try:
        save_torch(ut, d / "untyped.bin")
    finally:
        torch.storage._new_dtypes = real_new
    sc = scan_pickle(data_pkl((d / "untyped.bin").read_bytes()))
    rr = rebuild_records(sc)
    assert all(r[0] == "torch._utils._rebuild_tensor_v3" and r[1][1].qual == "torch.storage.UntypedStorage"
               for r in rr)
    assert rr[0][1][4] == 4 * 20 and rr[1][1][4] == 8 * 5      # numel in bytes
    finish("untyped", ut,
           notes="torch 2.15 writes typed storage classes (" + ", ".join(g for g in native_globals if "Storage" in g)
                 + ") with _rebuild_tensor_v2 for the classic dtypes, and 'torch.storage UntypedStorage' "
                 "(size in bytes) with _rebuild_tensor_v3(..., dtype) only for the newer dtypes "
                 "(uint16/32/64, float8 types, ...). This file was written by torch.save with that "
                 "newer path forced on for f32/i64/bf16 (torch.storage._new_dtypes patched), so every "
                 "tensor here is 'torch.storage UntypedStorage' + _rebuild_tensor_v3 with a "
                 "'torch float32'-style dtype global; torch.load reads it back")


def zero_crcs(blob):
    """Set every CRC-32 field (local headers, data descriptors, central directory) to 0."""
    patched = 0
    i = 0
    while True:
        i = blob.find(b"PK", i)
        if i < 0:
            break
        sig = bytes(blob[i:i + 4])
        off = {b"PK\x03\x04": 14, b"PK\x07\x08": 4, b"PK\x01\x02": 16}.get(sig)
        if off is not None and blob[i + off:i + off + 4] != b"\0\0\0\0":
            blob[i + off:i + off + 4] = b"\0\0\0\0"
            patched += 1
        i += 2
    return patched


# ----------------------------------------------------------------------------------------
# the bad-input corpus

def u(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def su(s):                      # SHORT_BINUNICODE (protocol 4)
    b = s.encode()
    assert len(b) < 256
    return b"\x8c" + bytes([len(b)]) + b


def gl(mod, name):
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def put(i):
    return b"q" + bytes([i])


def get(i):
    return b"h" + bytes([i])


P2 = b"\x80\x02"
POP, MARK, TUPLE, TUPLE1, REDUCE, STOP = b"0", b"(", b"t", b"\x85", b"R", b"."


def cmd(case):
    return f"touch /tmp/molt-pwned-{case}"


def pk_posix_system(case):
    return P2 + gl("posix", "system") + u(cmd(case)) + TUPLE1 + REDUCE + STOP


def pk_stack_global(case):
    body = (su("os") + b"\x94" + su("system") + b"\x94" + b"\x93" + b"\x94" + su(cmd(case)) + b"\x94"
            + TUPLE1 + b"\x94" + REDUCE + b"\x94" + STOP)
    return b"\x80\x04" + b"\x95" + struct.pack("<Q", len(body)) + body


def pk_builtins_getattr(case):
    def call(fn_memo, *args):
        return get(fn_memo) + MARK + b"".join(args) + TUPLE + REDUCE
    return (P2 + gl("builtins", "getattr") + put(0) + POP
            + call(0, gl("torch._utils", "_rebuild_tensor_v2"), u("__globals__")) + put(1) + POP  # module dict
            + call(0, get(1), u("get")) + put(2) + POP
            + call(2, u("sys")) + put(3) + POP                                                     # sys
            + call(0, get(3), u("modules")) + put(4) + POP
            + call(0, get(4), u("get")) + put(5) + POP
            + call(5, u("os")) + put(6) + POP                                                      # os
            + call(0, get(6), u("system")) + put(7) + POP
            + call(7, u(cmd(case))) + STOP)


def pk_builtins_import(case):
    return (P2 + gl("builtins", "__import__") + MARK + u("os") + TUPLE + REDUCE + put(0) + POP
            + gl("builtins", "getattr") + MARK + get(0) + u("system") + TUPLE + REDUCE
            + MARK + u(cmd(case)) + TUPLE + REDUCE + STOP)


def bad_corpus(root, log):
    d = root
    d.mkdir(parents=True)
    g = torch.Generator().manual_seed(4004)
    base_sd = collections.OrderedDict([("weight", torch.randn((2, 3), generator=g)),
                                       ("bias", torch.randn((3,), generator=g))])
    base = torch_save_bytes(base_sd)                 # torch's own zip, prefix "archive"
    base_entries = zip_entries(base)
    base_pkl = data_pkl(base)
    manifest = []
    checks = {}

    def add(name, blob, expect, why, check=None):
        (d / name).write_bytes(blob)
        manifest.append({"file": name, "expect": expect, "why": why})
        if check:
            checks[name] = check

    def zip_with_pickle(pk):
        return build_zip(replace_entry(base_entries, "/data.pkl", pk))

    def names_call(qual, arg_sub=None):
        def check(blob):
            pk = data_pkl(blob) if blob[:4] == b"PK\x03\x04" else blob
            sc = scan_pickle(pk)
            hit = [a for q, a in sc.calls if q == qual]
            assert hit, (qual, sc.calls)
            if arg_sub:
                assert any(arg_sub in repr(a) for a in hit), (qual, hit)
        return check

    def has_opcode(opname):
        def check(blob):
            pk = data_pkl(blob)
            assert opname in [op.name for op, _, _ in pickletools.genops(pk)]
            scan_pickle(pk)
        return check

    add("os_system.bin", zip_with_pickle(pk_posix_system("os_system")), "posix.system",
        "GLOBAL 'posix system' + REDUCE: what pickling os.system gives on Linux",
        names_call("posix.system", cmd("os_system")))
    add("os_system_stack_global.bin", zip_with_pickle(pk_stack_global("os_system_stack_global")), "os.system",
        "protocol 4 (FRAME) STACK_GLOBAL of 'os' 'system' + REDUCE",
        names_call("os.system", cmd("os_system_stack_global")))
    add("builtins_eval.bin", zip_with_pickle(
        P2 + gl("builtins", "eval") + u(f"__import__('os').system('{cmd('builtins_eval')}')") + TUPLE1 + REDUCE + STOP),
        "builtins.eval", "builtins eval of a string that runs os.system",
        names_call("builtins.eval", cmd("builtins_eval")))
    add("builtins_exec.bin", zip_with_pickle(
        P2 + gl("builtins", "exec") + u(f"import os\nos.system('{cmd('builtins_exec')}')") + TUPLE1 + REDUCE + STOP),
        "builtins.exec", "builtins exec of a statement that runs os.system",
        names_call("builtins.exec", cmd("builtins_exec")))
    add("builtins_getattr.bin", zip_with_pickle(pk_builtins_getattr("builtins_getattr")), "builtins.getattr",
        "getattr chain from an allowed global (_rebuild_tensor_v2.__globals__ -> sys.modules['os'].system); "
        "getattr is the only refused global in it", names_call("builtins.getattr", "__globals__"))
    add("builtins_import.bin", zip_with_pickle(pk_builtins_import("builtins_import")), "builtins.__import__",
        "__import__('os') is named and called before getattr(os, 'system')",
        names_call("builtins.__import__", "'os'"))
    add("subprocess.bin", zip_with_pickle(
        P2 + gl("subprocess", "Popen") + MARK + MARK + u("touch") + u("/tmp/molt-pwned-subprocess") + b"l"
        + TUPLE + REDUCE + STOP),
        "subprocess.Popen", "subprocess.Popen(['touch', ...])",
        names_call("subprocess.Popen", "molt-pwned-subprocess"))
    add("runpy.bin", zip_with_pickle(
        P2 + gl("runpy", "_run_code") + MARK + u(f"import os\nos.system('{cmd('runpy')}')") + b"}" + TUPLE
        + REDUCE + STOP),
        "runpy._run_code", "runpy._run_code(source, {}) executes source",
        names_call("runpy._run_code", cmd("runpy")))
    inner = zip_with_pickle(pk_posix_system("load_from_bytes"))
    add("load_from_bytes.bin", zip_with_pickle(
        b"\x80\x03" + gl("torch.storage", "_load_from_bytes") + MARK + b"B" + struct.pack("<I", len(inner))
        + inner + TUPLE + REDUCE + STOP),
        "torch.storage._load_from_bytes",
        "torch.storage._load_from_bytes(b) is torch.load(b, weights_only=False) of a nested "
        "malicious checkpoint (protocol 3 BINBYTES)", names_call("torch.storage._load_from_bytes"))
    add("inst.bin", zip_with_pickle(b"(S'" + cmd("inst").encode() + b"'\niposix\nsystem\n."),
        "INST", "protocol 0 INST opcode (MARK args, 'iposix\\nsystem\\n'): a call by opcode",
        names_call("posix.system", cmd("inst")))
    add("obj.bin", zip_with_pickle(b"(" + gl("collections", "OrderedDict") + b"o."),
        "OBJ", "protocol 1 OBJ opcode; the class is a harmless allowed one so the opcode "
               "itself is the only reason to refuse", has_opcode("OBJ"))

    class Evil:
        def __reduce__(self):
            return (os.system, (cmd("nested_in_dict"),))
    nested = collections.OrderedDict(base_sd)
    nested["extra_state"] = [0, [1.5, {"hooks": [None, Evil()]}]]
    nb = torch_save_bytes(nested)
    assert b"cposix\nsystem\n" in data_pkl(nb)
    add("nested_in_dict.bin", nb, "posix.system",
        "torch.save of a state dict with a posix.system REDUCE deep inside a list/dict value",
        names_call("posix.system", cmd("nested_in_dict")))

    def expect_error(exc_types):
        def check(blob):
            try:
                scan_pickle(data_pkl(blob))
            except exc_types:
                return
            raise AssertionError("pickle loaded")
        return check

    add("memo_index.bin", zip_with_pickle(P2 + b"}" + put(0) + MARK + u("weight") + b"j" + b"\xff\xff\xff\xff"
                                          + b"u" + STOP),
        "memo", "LONG_BINGET 0xFFFFFFFF: memo index never stored",
        expect_error((KeyError, pickle.UnpicklingError)))
    depth = 200_000
    add("mark_bomb.bin", zip_with_pickle(P2 + b"]" + b"(]" * depth + b"e" * depth + STOP),
        "deep", f"{depth} nested MARK + EMPTY_LIST then {depth} APPENDS: lists nested {depth} deep")
    lb = P2 + b"]" + put(0) + POP
    for lvl in range(1, 31):
        lb += b"]" + MARK + get(lvl - 1) * 10 + b"e" + put(lvl) + (POP if lvl < 30 else b"")
    lb += STOP
    add("list_bomb.bin", zip_with_pickle(lb), "no tensors",
        "memo billion laughs: 30 levels of lists holding 10 references to the level below "
        "(10^30 leaves if copied); shared references must stay shared")
    add("self_ref.bin", zip_with_pickle(P2 + b"]" + put(0) + get(0) + b"a" + STOP), "no tensors",
        "a list that contains itself")
    add("trailing.bin", zip_with_pickle(base_pkl + b"\x00garbage after the STOP opcode\n"), "after STOP",
        "valid state-dict pickle followed by extra bytes")
    add("truncated_pickle.bin", zip_with_pickle(base_pkl[:len(base_pkl) // 2]), "truncated",
        "data.pkl cut in the middle (no STOP)", expect_error((EOFError, pickle.UnpicklingError)))

    legacy = torch_save_bytes(base_sd, legacy=True)
    parts, tail = legacy_pickles(legacy)
    assert pickle.loads(parts[0]) == 0x1950A86A20F9469CFC6C
    add("legacy_fake_magic.bin", pk_posix_system("legacy_fake_magic") + b"".join(parts[1:]) + tail,
        "posix.system", "legacy-format file whose first pickle (the magic number's place) calls posix.system",
        names_call("posix.system", cmd("legacy_fake_magic")))

    ts = io.BytesIO()
    torch.manual_seed(0)
    torch.jit.save(torch.jit.script(torch.nn.Linear(3, 2)), ts)
    names = [n for n, _ in zip_entries(ts.getvalue())]
    assert any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names)
    add("torchscript.bin", ts.getvalue(), "TorchScript", "torch.jit.save of a scripted nn.Linear (has code/ and constants.pkl)")

    rec = [(n, data[:len(data) - 8] if n.endswith("/data/0") else data) for n, data in base_entries]
    add("record_size.bin", build_zip(rec), "record",
        "data/0 holds 16 bytes but the pickle needs 2x3 f32 = 24 bytes")
    data0 = [data for n, data in base_entries if n.endswith("/data/0")][0]
    add("outside_prefix.bin", build_zip(base_entries + [("other/data/0", data0)]), "prefix",
        "an extra entry 'other/data/0' outside the archive/ folder")
    add("two_data_pkl.bin", build_zip(base_entries + [("second/data.pkl", base_pkl)]), "data.pkl",
        "two folders with a data.pkl (archive/ and second/)")

    eocd = base.rfind(b"PK\x05\x06")
    cd_off = struct.unpack_from("<I", base, eocd + 16)[0]
    cd_ofs = [cd_off]
    if cd_off == 0xFFFFFFFF:
        z64 = base.rfind(b"PK\x06\x06")
        cd_ofs = [struct.unpack_from("<Q", base, z64 + 48)[0]]
    assert base[cd_ofs[0]:cd_ofs[0] + 4] == b"PK\x01\x02"
    cdc = bytearray(base)
    cdc[cd_ofs[0]:cd_ofs[0] + 4] = b"\xde\xad\xbe\xef"
    add("cd_corrupt.bin", bytes(cdc), "central directory",
        "the first central directory entry's signature PK\\1\\2 overwritten")
    assert len(base) - eocd == 22
    nocd = base[:eocd]
    assert b"PK\x05\x06" not in nocd
    add("eocd_missing.bin", nocd, "end of central directory",
        "the final 22-byte end-of-central-directory record removed (zip64 records left)")

    # safetensors
    def st_raw(header_bytes, data, pad=True):
        if pad:
            header_bytes += b" " * (-len(header_bytes) % 8)
        return struct.pack("<Q", len(header_bytes)) + header_bytes + data

    def st_json(h, data):
        return st_raw(json.dumps(h, separators=(",", ":")).encode(), data)

    f4 = struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)
    f4b = struct.pack("<4f", 5.0, 6.0, 7.0, 8.0)
    hdr = json.dumps({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    add("st_header_past_eof.safetensors", struct.pack("<Q", 4096) + hdr + f4, "header length",
        "header length 4096 but the file is far shorter")
    add("st_header_huge.safetensors", struct.pack("<Q", 200_000_000) + hdr + f4, "header length",
        "header length 200,000,000 (over the 100,000,000 limit)")
    add("st_overlap.safetensors", st_json({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                           "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}},
                                          f4 + f4b[:8]),
        "overlap", "b's data [8,24) overlaps a's [0,16)")
    add("st_gap.safetensors", st_json({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                       "b": {"dtype": "F32", "shape": [4], "data_offsets": [24, 40]}},
                                      f4 + b"\0" * 8 + f4b),
        "gap", "8 unclaimed bytes between a and b")
    add("st_end_mismatch.safetensors", st_json({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                                "b": {"dtype": "F32", "shape": [4], "data_offsets": [16, 32]}},
                                               f4 + f4b + b"\0" * 8),
        "end", "8 trailing bytes after the last tensor's end")
    add("st_overflow.safetensors", st_json({"a": {"dtype": "F32", "shape": [2 ** 62, 2 ** 62],
                                                  "data_offsets": [0, 16]}}, f4),
        "overflow", "shape [2^62, 2^62]: element count overflows 64 bits")
    add("st_size_mismatch.safetensors", st_json({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}},
                                                f4[:12]),
        "size", "shape says 4 f32 (16 bytes) but data_offsets span 12")
    add("st_bad_dtype.safetensors", st_json({"a": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}},
                                            b"\x38\x40\x44\x48"),
        "unsupported dtype", "dtype F8_E4M3 (valid safetensors, not supported by Molt)")
    add("st_bad_json.safetensors", st_raw(b'{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]', f4),
        "JSON", "header is not valid JSON (unclosed object)")
    add("st_not_utf8.safetensors",
        st_raw(b'{"a\xff\xfe": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}', f4),
        "UTF-8", "header contains the bytes FF FE (invalid UTF-8) in a key")
    add("st_duplicate.safetensors",
        st_raw(b'{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, '
               b'"a": {"dtype": "F32", "shape": [4], "data_offsets": [16, 32]}}', f4 + f4b),
        "twice", "the key \"a\" appears twice in the header")

    # verification: each case fails for the intended reason only
    for entry in manifest:
        name = entry["file"]
        blob = (d / name).read_bytes()
        if name.endswith(".safetensors"):
            try:
                safetensors_io.parse(blob)
            except safetensors_io.SafetensorsError as e:
                assert entry["expect"].lower() in str(e).lower(), (name, str(e))
            else:
                raise AssertionError(f"{name} parsed")
            continue
        if name in ("cd_corrupt.bin", "eocd_missing.bin"):
            try:
                zipfile.ZipFile(io.BytesIO(blob))
            except zipfile.BadZipFile:
                pass
            else:
                raise AssertionError(name)
            continue
        if blob[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(blob)) as z:
                assert z.testzip() is None, name
        if name in checks:
            checks[name](blob)
    scan_pickle(data_pkl((d / "list_bomb.bin").read_bytes()))
    scan_pickle(data_pkl((d / "self_ref.bin").read_bytes()))
    assert scan_pickle(data_pkl((d / "trailing.bin").read_bytes())) is not None
    mb = scan_pickle(data_pkl((d / "mark_bomb.bin").read_bytes()))
    del mb
    try:
        torch.load(d / "record_size.bin", weights_only=True)
        rs_note = "torch.load does not notice"
    except Exception as e:          # noqa: BLE001 - just informative
        rs_note = f"torch.load raises {type(e).__name__}"
    log(f"  record_size.bin: {rs_note}")

    write_json(d / "manifest.json", manifest)
    (d / "README.md").write_text(BAD_README_HEAD + "".join(
        f"- `{m['file']}` — expect \"{m['expect']}\": {m['why']}\n" for m in manifest))
    log(f"  bad/: {len(manifest)} cases")
    return manifest


CHECKPOINTS_README = """# Checkpoint fixtures

Generated by `Scripts/make_fixtures.py`; do not edit by hand. Each `<name>/` directory is a
tiny BlackMamba model (config "a" or "b") in one source format; `special/` holds small
non-model files. `expected.json` (or `special/<name>.expected.json`) fields:

- `format`: torch-zip | torch-legacy | safetensors | safetensors-sharded | torch-zip-sharded
- `weights`: weight file names, shards in order; `index`: the shard index file, if any
- `wrapper`: the top-level object is a Megatron dict and the tensors are those under `model`
- `config`: the directory has a config.json; `model`: values derived from it (dt_rank,
  d_inner, vocab_rows = embedding rows, experts per layer with 0 for a Mamba layer)
- `tensors`: in state-dict order: name, dtype (f32 f16 bf16 f64 i64 i32 i16 i8 u8 bool),
  shape, contiguous (layout as saved), sha256 of the values as contiguous little-endian
  bytes (bool as one byte; empty tensor: digest of no bytes). Special files also give
  storage_offset and stride (in elements) and `storages` (number of data/ records).
- `notes`: free text, including the pickle globals each torch file names.
"""


BAD_README_HEAD = """# Bad-input corpus

Generated by `Scripts/make_fixtures.py`; do not edit by hand. `manifest.json` is
authoritative: for each file, reading it must fail with an error whose message contains
`expect` (case-insensitive). Zip cases are complete torch archives (a 2-tensor state
dict, prefix `archive/`) with one thing wrong. Any command a malicious pickle would run
is `touch /tmp/molt-pwned-<case>`: that file must never appear.

"""


# ----------------------------------------------------------------------------------------
# opt-in proof that the malicious pickles are real (run with the dangerous calls replaced)

PROVE_CHILD = r"""
import os, posix, subprocess, sys, warnings, pickle
warnings.filterwarnings("ignore")
import torch
calls = []
def record(*a, **k):
    calls.append(a)
    return 0
os.system = posix.system = record
subprocess.Popen = record
path = sys.argv[1]
try:
    torch.load(path, weights_only=False)
except BaseException as e:
    pass
print(repr(calls))
"""


def prove_exploits(bad_dir, log):
    for case in ["os_system", "os_system_stack_global", "builtins_eval", "builtins_exec",
                 "builtins_getattr", "builtins_import", "subprocess", "runpy", "load_from_bytes",
                 "inst", "nested_in_dict", "legacy_fake_magic"]:
        out = subprocess.run([sys.executable, "-c", PROVE_CHILD, str(bad_dir / f"{case}.bin")],
                             capture_output=True, text=True, timeout=120)
        ok = f"molt-pwned-{case}" in out.stdout
        log(f"  {case}: {'would run' if ok else 'NOT PROVEN'}: {out.stdout.strip()[:100]}")
        assert ok, out.stderr[-2000:]
        assert not Path(f"/tmp/molt-pwned-{case}").exists()


# ----------------------------------------------------------------------------------------

def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        # TorchScript's generated code lists module constants in set order: pin the hash
        # seed so torchscript.bin is reproducible too.
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, PYTHONHASHSEED="0"))
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "Fixtures",
                    help="fixture root; its checkpoints/ and bad/ are deleted and regenerated "
                         "(default: %(default)s)")
    ap.add_argument("--prove-exploits", action="store_true",
                    help="also run each malicious pickle through torch.load in a child process "
                         "with os.system/posix.system/subprocess.Popen replaced by recorders, "
                         "to show that each one really would run its command")
    ap.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    args = ap.parse_args()

    def log(msg):
        if not args.quiet:
            print(msg)

    torch.set_num_threads(1)
    ck, bad = args.out / "checkpoints", args.out / "bad"
    for p in (ck, bad):
        if p.exists():
            shutil.rmtree(p)
    ck.mkdir(parents=True)
    log("model fixtures:")
    make_model_fixtures(ck, log)
    log("special files:")
    make_special(ck, log)
    (ck / "README.md").write_text(CHECKPOINTS_README)
    log("bad inputs:")
    bad_corpus(bad, log)
    if args.prove_exploits:
        log("exploit proof:")
        prove_exploits(bad, log)
    total = sum(f.stat().st_size for p in (ck, bad) for f in p.rglob("*") if f.is_file())
    log(f"total {total} bytes under {ck} and {bad}")


if __name__ == "__main__":
    main()
