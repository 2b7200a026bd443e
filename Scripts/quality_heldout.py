#!/usr/bin/env python3
"""Calibrated quantization judged on held-out text (issue 11): for each recipe and method,
`molt convert` on the trained fixture (calibrated on the first --calibration-tokens tokens of
--calibration, by default Fixtures/trained/calibration.txt, or, for the -self methods, on text
the source generates itself), then the source and the converted model are run side by side by the
independent PyTorch reference (Scripts/blackmamba_reference.py, f32; the converted weights
dequantized by `molt export`) on held-out text that no calibration saw: the first --tokens
tokens of Fixtures/trained/heldout.txt, in windows of --window tokens, each from a zero state.

Per row: mean KL(source || converted) over the positions, top-1 agreement, routing agreement
per MoE layer, held-out perplexity of the converted file over all of heldout.txt by `molt
perplexity` (Molt's own kernels), bits per weight of the file's tensors, conversion time.
Every row goes through this same code.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_io  # noqa: E402
from blackmamba_reference import BlackMamba  # noqa: E402

MOLT = os.environ.get("MOLT", ".build/release/molt")
FIXTURE = "Fixtures/trained"
TOKENIZER = f"{FIXTURE}/tokenizer.json"
ALL2D = ["--experts", "q4", "--mamba", "q4", "--embedding", "q4"]
RECIPES = {
    "experts q4 (rest f32)": ["--experts", "q4", "--mamba", "f32", "--embedding", "f32"],
    "every 2-D weight q4": ALL2D,
    "default recipe: q4 experts + q8 mamba and embedding": [],
}
METHODS = {
    "nearest": ["--method", "nearest"],
    "search": ["--method", "search"],
    "weighted": ["--method", "weighted"],
    "weighted-self": ["--method", "weighted", "--self"],
    "gptq": ["--method", "gptq"],
    "gptq-self": ["--method", "gptq", "--self"],
}


def molt(*args):
    return subprocess.run([MOLT, *args], capture_output=True, text=True, check=True)


def heldout_ids(path, count):
    with open(path) as f:
        text = f.read()
    out = subprocess.run([MOLT, "tokenize", "--tokenizer", TOKENIZER, "--json", "-"], input=text,
                         capture_output=True, text=True, check=True)
    ids = json.loads(out.stdout)["ids"]
    return ids[:count]


def run(model, windows):
    logits, routes = [], []
    with torch.no_grad():
        for w in windows:
            l, e = model(w, return_experts=True)
            logits.append(l.float())
            routes.append(e)
    return logits, routes


def compare(src, conv, windows, vocab):
    kl_windows, top1, n, nll = [], 0, 0, 0.0
    for a, b, w in zip(src[0], conv[0], windows):
        pa = torch.log_softmax(a[:, :vocab].double(), -1)
        pb = torch.log_softmax(b[:, :vocab].double(), -1)
        kl_windows.append(float((pa.exp() * (pa - pb)).sum()))
        top1 += int((a[:, :vocab].argmax(-1) == b[:, :vocab].argmax(-1)).sum())
        n += a.shape[0]
        nxt = torch.as_tensor(w[1:])
        nll -= float(pb[:-1].gather(1, nxt[:, None]).sum())
    routing = {}
    for ra, rb in zip(src[1], conv[1]):
        for layer in ra:
            same = sum(x == y for x, y in zip(ra[layer], rb[layer]))
            s, t = routing.get(layer, (0, 0))
            routing[layer] = (s + same, t + len(ra[layer]))
    half = len(kl_windows) // 2
    # Each half's mean KL (windows are equally long): the spread between them shows what a
    # difference between two rows must exceed to mean something.
    halves = [sum(kl_windows[:half]) / max(1, n * half // len(windows)),
              sum(kl_windows[half:]) / max(1, n * (len(windows) - half) // len(windows))]
    return {"kl_mean": sum(kl_windows) / n, "kl_halves": halves, "top1": top1 / n,
            "routing": {str(k): v[0] / v[1] for k, v in sorted(routing.items())},
            "window_ppl": math.exp(nll / (n - len(windows)))}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tokens", type=int, default=4096, help="held-out tokens compared (default 4096)")
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--recipes", default=";".join(RECIPES), help="semicolon-separated recipe names")
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated method names")
    ap.add_argument("--text", default=f"{FIXTURE}/heldout.txt",
                    help="text to judge on (default heldout.txt; tune on Scripts/quality_devtext.py's text, never on it)")
    ap.add_argument("--calibration", default=f"{FIXTURE}/calibration.txt",
                    help="calibration text of the calibrated rows (default the fixture's calibration.txt)")
    ap.add_argument("--calibration-tokens", type=int, default=8192,
                    help="calibration tokens taken from that text (molt convert's --calibration-tokens)")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(2)
    config = json.load(open(f"{FIXTURE}/config.json"))
    vocab = config["vocab_size"]
    ids = heldout_ids(args.text, args.tokens)
    windows = [ids[i:i + args.window] for i in range(0, len(ids) - args.window + 1, args.window)]
    source_sd = {k: v.float() for k, v in safetensors_io.read(f"{FIXTURE}/model.safetensors").items()}
    src = run(BlackMamba(config, source_sd), windows)
    base = compare(src, src, windows, vocab)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for recipe in args.recipes.split(";"):
            for method in args.methods.split(","):
                out, st = os.path.join(tmp, "m.molt"), os.path.join(tmp, "m.safetensors")
                flags = [f for f in METHODS[method] if f != "--self"]
                calibration = [] if "--self" in METHODS[method] else ["--calibration", args.calibration,
                                                                           "--calibration-tokens", str(args.calibration_tokens)]
                start = time.time()
                subprocess.run([MOLT, "convert", FIXTURE, "-o", out, "--force", "--tokenizer", TOKENIZER, *calibration,
                                "--max-kl", "100", "--min-top1", "0", "--min-routing", "0", *RECIPES[recipe], *flags],
                               capture_output=True, text=True, check=True)
                seconds = time.time() - start
                molt("export", out, "-o", st, "--dtype", "f32", "--force")
                conv = run(BlackMamba(config, safetensors_io.read(st)), windows)
                r = compare(src, conv, windows, vocab)
                info = json.loads(molt("inspect", out, "--json").stdout)
                stored = sum(t["bytes"] for t in info["tensors"])
                params = sum(math.prod(t["shape"]) for t in info["tensors"])
                ppl = json.loads(molt("perplexity", out, "--text", args.text, "--json").stdout)["perplexity"]
                rows.append({"recipe": recipe, "method": method, **r, "perplexity": ppl,
                             "bits_per_weight": 8 * stored / params, "convert_seconds": seconds})
                print(json.dumps(rows[-1]), file=sys.stderr)
    source_ppl = json.loads(molt("perplexity", FIXTURE, "--text", args.text, "--json",
                                 "--tokenizer", TOKENIZER).stdout)["perplexity"]
    if args.markdown:
        print(f"held-out: {len(windows)} windows of {args.window} tokens ({len(windows) * args.window} tokens); "
              f"source perplexity on all of {os.path.basename(args.text)} {source_ppl:.3f}\n")
        print("| recipe | method | mean KL | first / second half | KL / nearest | top-1 | routing per MoE layer | held-out ppl | bits/weight | convert s |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        floor = {r["recipe"]: r["kl_mean"] for r in rows if r["method"] == "nearest"}
        for r in rows:
            ratio = r["kl_mean"] / floor[r["recipe"]] if r["recipe"] in floor else float("nan")
            routing = " / ".join(f"{v:.3f}" for v in r["routing"].values())
            halves = " / ".join(f"{v:.2e}" for v in r["kl_halves"])
            print(f"| {r['recipe']} | {r['method']} | {r['kl_mean']:.2e} | {halves} | {ratio:.2f} | {r['top1']:.4f} | {routing} | "
                  f"{r['perplexity']:.3f} | {r['bits_per_weight']:.2f} | {r['convert_seconds']:.1f} |")
    else:
        print(json.dumps({"source_perplexity": source_ppl, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
