#!/usr/bin/env python3
"""Make the golden outputs in Fixtures/golden/ from the fixture checkpoints.

    python3 Scripts/make_golden.py [--wait SECONDS] [--only SET ...]

For each golden set (see SETS) it loads the checkpoint with Scripts/blackmamba_reference.py
(an independent PyTorch implementation of Formats/model.md), and for a few seeded token
sequences writes:
  <set>-seq<k>-f64.npy   prefill logits computed in float64, '<f8', [L, vocab_rows]
  <set>-seq<k>-f32.npy   prefill logits computed in float32, '<f4', [L, vocab_rows]
and <set>.json with the tokens, 12 greedy new tokens (float64; float32 ones recorded as a
check), the chosen expert per MoE layer per token, and the checks made:
  - float64 step-by-step decode logits equal float64 prefill logits (rel L2 < 1e-10);
  - no greedy position is ambiguous (top-2 logit margin >= 1e-4, f32 and f64 agree);
  - no routing decision is ambiguous (top-2 router probability margin >= 1e-5, and the
    float32 prefill picks the same experts as float64).
A sequence failing the ambiguity checks is replaced by one drawn from the next seed.
Weights stored as bf16 are converted exactly to float64/float32 before computing.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from blackmamba_reference import BlackMamba, load_checkpoint  # noqa: E402

CKPT = os.path.join(ROOT, "Fixtures", "checkpoints")
OUT = os.path.join(ROOT, "Fixtures", "golden")

# set name -> (checkpoint dir, weights file, include the (max id, 0) sequence)
SETS = {
    "a": ("a-zip-bare", "pytorch_model.bin", False),
    "b": ("b-zip-megatron", "pytorch_model.bin", True),
    "a-bf16": ("a-bf16", "pytorch_model.bin", False),
    "b-bf16": ("b-safetensors", "model.safetensors", True),
}
LENGTHS = [1, 7, 24]
N_NEW = 12
MARGIN_LOGIT = 1e-4
MARGIN_ROUTER = 1e-5
STEP_TOL = 1e-10


def rel_l2(a, b):
    return float(torch.linalg.norm(a - b) / torch.linalg.norm(b))


def top2_margin(v):
    t = torch.topk(v, 2).values
    return float(t[0] - t[1])


def router_margins(model, ids):
    """Smallest top-2 gap of the sigmoid router probabilities over tokens, per MoE layer,
    recomputed from the float64 model's hidden states."""
    ids = torch.as_tensor(ids, dtype=torch.long)
    x = model.w("embedding.word_embeddings.weight")[ids]
    res = {}
    with torch.no_grad():
        for i, (kind, E) in enumerate(model.kinds):
            h = model._rmsnorm(x, model.w(f"decoder.layers.{i}.norm.weight"))
            if kind == "r":
                o, _, _ = model._mamba_prefill(i, h)
            else:
                p, _ = model._route(i, h)
                if E >= 2:
                    t = torch.topk(p, 2, dim=-1).values
                    res[i] = float((t[:, 0] - t[:, 1]).min())
                o, _ = model._moe_prefill(i, h)
            x = x + o
    return res


def make_sequence(model64, model32, vocab_size, tokens):
    logits64, experts64 = model64(tokens, return_experts=True)
    logits32, experts32 = model32(tokens, return_experts=True)
    st = model64.init_state()
    steps = []
    for t in tokens:
        lg, st = model64.step(t, st)
        steps.append(lg)
    step_rel = rel_l2(torch.stack(steps, 0), logits64)
    assert step_rel < STEP_TOL, f"step-by-step decode differs from prefill: rel L2 {step_rel}"

    new64, gl64 = model64.generate(tokens, N_NEW, return_logits=True)
    new32, gl32 = model32.generate(tokens, N_NEW, return_logits=True)
    margins = [top2_margin(gl64[j]) for j in range(N_NEW)]
    ambiguous = [j for j in range(N_NEW) if margins[j] < MARGIN_LOGIT or new64[j] != new32[j]]
    # the prefill positions' own argmax is not a golden output, but note its margin as well
    rm = router_margins(model64, tokens)
    route_ok = experts32 == experts64 and all(v >= MARGIN_ROUTER for v in rm.values())
    f32_rel = rel_l2(logits32.double(), logits64)
    info = {
        "tokens": list(map(int, tokens)),
        "greedy": {"new_tokens": new64, "n": N_NEW, "new_tokens_f32": new32,
                   "min_top2_margin": min(margins), "ambiguous_positions": ambiguous},
        "experts": {str(k): v for k, v in sorted(experts64.items())},
        "checks": {"step_vs_prefill_f64_rel_l2": step_rel,
                   "prefill_f32_vs_f64_rel_l2": f32_rel,
                   "min_router_top2_margin": (min(rm.values()) if rm else None),
                   "f32_experts_equal": experts32 == experts64},
    }
    ok = not ambiguous and route_ok
    return ok, info, logits64, logits32


def dumps(obj, ind=0):
    """JSON with one key per line but lists of scalars kept on one line."""
    pad = " " * ind
    if isinstance(obj, dict):
        items = [f'{pad} {json.dumps(str(k))}: {dumps(v, ind + 1).lstrip()}' for k, v in obj.items()]
        return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}" if items else pad + "{}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        return pad + "[\n" + ",\n".join(dumps(v, ind + 1) for v in obj) + "\n" + pad + "]"
    return pad + json.dumps(obj, separators=(", ", ": "))


def wait_for(paths, wait_s, poll=30):
    """Wait until every weights file and the config.json beside it exist and the weights
    file's size has been stable over one poll (so a file still being written is not read)."""
    t0 = time.time()
    sizes = {}
    while True:
        missing = []
        for p in paths:
            cfg = os.path.join(os.path.dirname(p), "config.json")
            sz = os.path.getsize(p) if os.path.exists(p) and os.path.exists(cfg) else None
            settled = sz is not None and (wait_s <= 0 or sizes.get(p) == sz
                                          or time.time() - os.path.getmtime(p) > 60)
            if not settled:
                missing.append(p)
            sizes[p] = sz
        if not missing or time.time() - t0 > wait_s:
            return missing
        print(f"waiting for {len(missing)} checkpoint file(s): {missing[0]} ...", flush=True)
        time.sleep(poll)


def make_set(name):
    d, wfile, with_extremes = SETS[name]
    mdir = os.path.join(CKPT, d)
    config, sd, src = load_checkpoint(mdir)
    assert src == wfile, f"{name}: expected {wfile}, loaded {src}"
    dtypes = sorted({str(v.dtype).replace("torch.", "") for v in sd.values()})
    # bf16/f16/f32 -> f64 and -> f32 conversions are exact
    model64 = BlackMamba(config, {k: v.to(torch.float64) for k, v in sd.items()}).to(torch.float64)
    model32 = BlackMamba(config, {k: v.to(torch.float32) for k, v in sd.items()}).to(torch.float32)
    vocab_size = int(config["vocab_size"])
    assert vocab_size <= model64.V, "vocab_size larger than embedding rows"

    seqs = []
    plan = [("random", L) for L in LENGTHS]
    if with_extremes:
        plan.append(("extremes", 9))
    for kind, L in plan:
        seed = 1000 * (len(seqs) + 1) + sum(map(ord, name))
        for attempt in range(50):
            g = torch.Generator().manual_seed(seed + attempt)
            tokens = torch.randint(0, vocab_size, (L,), generator=g).tolist()
            if kind == "extremes":
                tokens[0] = vocab_size - 1
                tokens[3] = 0
                tokens[5] = vocab_size - 1
                tokens[-1] = 0
            ok, info, l64, l32 = make_sequence(model64, model32, vocab_size, tokens)
            if ok:
                break
            print(f"  {name}: sequence seed {seed + attempt} ambiguous ({info['greedy']['ambiguous_positions']}, "
                  f"router {info['checks']}), trying next seed", flush=True)
        else:
            raise RuntimeError(f"{name}: no unambiguous sequence of length {L} found")
        k = len(seqs)
        f64 = f"{name}-seq{k}-f64.npy"
        f32 = f"{name}-seq{k}-f32.npy"
        np.save(os.path.join(OUT, f64), l64.numpy().astype("<f8"))
        np.save(os.path.join(OUT, f32), l32.numpy().astype("<f4"))
        info = {"tokens": info["tokens"], "logits_f64": f64, "logits_f32": f32,
                "seed": seed + attempt, **{kk: v for kk, v in info.items() if kk != "tokens"}}
        seqs.append(info)
        print(f"  {name} seq{k}: L={L} step rel {info['checks']['step_vs_prefill_f64_rel_l2']:.1e}, "
              f"f32 rel {info['checks']['prefill_f32_vs_f64_rel_l2']:.1e}, "
              f"greedy margin {info['greedy']['min_top2_margin']:.2e}, "
              f"router margin {info['checks']['min_router_top2_margin']}", flush=True)

    doc = {
        "checkpoint": f"Fixtures/checkpoints/{d}",
        "weights_file": wfile,
        "weights_dtype": dtypes[0] if len(dtypes) == 1 else dtypes,
        "vocab_size": vocab_size,
        "vocab_rows": model64.V,
        "layers": [k if k == "r" else str(e) for k, e in model64.kinds],
        "greedy_rule": "argmax over all vocab_rows logits (padding rows >= vocab_size included), ties -> lowest index; "
                       "prompt prefilled, then recurrent decode steps",
        "sequences": seqs,
        "tolerances": {"swift_f32_prefill_vs_f64_rel_l2": 1e-5,
                       "greedy_top2_margin_min": MARGIN_LOGIT, "router_top2_margin_min": MARGIN_ROUTER},
        "torch_version": torch.__version__,
        "generated_by": "Scripts/make_golden.py",
    }
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        f.write(dumps(doc) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wait", type=float, default=0, help="seconds to wait for missing checkpoints")
    ap.add_argument("--only", nargs="*", choices=sorted(SETS))
    ap.add_argument("--checkpoints", help="checkpoint root (default Fixtures/checkpoints)")
    ap.add_argument("--out", help="output dir (default Fixtures/golden)")
    a = ap.parse_args()
    global CKPT, OUT
    CKPT = a.checkpoints or CKPT
    OUT = a.out or OUT
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    names = a.only or list(SETS)
    files = [os.path.join(CKPT, SETS[n][0], SETS[n][1]) for n in names]
    missing = wait_for(files, a.wait)
    failed = []
    for n, f in zip(names, files):
        if f in missing:
            print(f"{n}: MISSING {f}, skipped", flush=True)
            failed.append(n)
            continue
        print(f"{n}: {os.path.relpath(f, ROOT)}", flush=True)
        make_set(n)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
