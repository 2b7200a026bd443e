#!/usr/bin/env python3
"""Quantization quality on the trained fixture: for each recipe, molt convert's parity report
(mean KL, top-1, routing agreement, on random ids, built-in text and calibration text) and
the held-out perplexity of the converted model. Thresholds are loosened so every recipe is
measured; the numbers are what the default thresholds are chosen from.
"""
import argparse
import json
import os
import subprocess
import tempfile

MOLT = ".build/release/molt"
FIXTURE = "Fixtures/trained"
RECIPES = {
    "bf16 (lossless)": ["--experts", "bf16", "--mamba", "bf16", "--embedding", "bf16", "--others", "bf16"],
    "q8 experts, nearest": ["--experts", "q8", "--mamba", "bf16", "--method", "nearest"],
    "q8 experts, search": ["--experts", "q8", "--mamba", "bf16", "--method", "search"],
    "q4 experts, nearest": ["--experts", "q4", "--mamba", "bf16", "--method", "nearest"],
    "q4 experts, search": ["--experts", "q4", "--mamba", "bf16", "--method", "search"],
    "q4 experts + q8 mamba (default)": [],
    "q4 experts + q8 mamba, nearest": ["--method", "nearest"],
    "q4 experts + q4 mamba": ["--mamba", "q4"],
    "q4 experts + q8 mamba + q8 embedding": ["--embedding", "q8"],
}


def perplexity(model):
    out = subprocess.run([MOLT, "perplexity", model, "--text", f"{FIXTURE}/heldout.txt", "--json",
                          "--tokenizer", f"{FIXTURE}/tokenizer.json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["perplexity"]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args()
    rows = []
    base = perplexity(FIXTURE)
    with tempfile.TemporaryDirectory() as tmp:
        for name, recipe in RECIPES.items():
            out, report = os.path.join(tmp, "m.molt"), os.path.join(tmp, "r.json")
            subprocess.run([MOLT, "convert", FIXTURE, "-o", out, "--force", "--report", report,
                            "--tokenizer", f"{FIXTURE}/tokenizer.json", "--calibration", f"{FIXTURE}/calibration.txt",
                            "--max-kl", "100", "--min-top1", "0", "--min-routing", "0", *recipe],
                           capture_output=True, text=True, check=True)
            r = json.load(open(report))
            rows.append({"recipe": name, "bytes": os.path.getsize(out), "perplexity": perplexity(out),
                         "kl_mean": r["prefill"]["kl_mean"], "kl_max": r["prefill"]["kl_max"],
                         "top1": r["prefill"]["top1"], "decode_kl_mean": r["decode"]["kl_mean"],
                         "decode_top1": r["decode"]["top1"], "routing": r["routing_agreement"],
                         "routing_min": min(x["agreement"] for x in r["routing"])})
    if args.markdown:
        print(f"source (bf16 checkpoint) held-out perplexity: {base:.3f}\n")
        print("| recipe | file | held-out ppl | mean KL | max KL | top-1 | decode KL | decode top-1 | routing (mean / worst layer) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['recipe']} | {r['bytes'] / 1e6:.2f} MB | {r['perplexity']:.3f} | {r['kl_mean']:.2e} | {r['kl_max']:.3f} | "
                  f"{r['top1']:.3f} | {r['decode_kl_mean']:.2e} | {r['decode_top1']:.3f} | {r['routing']:.3f} / {r['routing_min']:.3f} |")
    else:
        print(json.dumps({"source_perplexity": base, "recipes": rows}, indent=1))


if __name__ == "__main__":
    main()
