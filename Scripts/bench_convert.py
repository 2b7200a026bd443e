#!/usr/bin/env python3
"""Benchmarks `molt convert` on a large checkpoint, side by side with `cp` of the source.

Recipes: everything kept bf16 (lossless, against cp), q8 experts and q4 experts (source MB/s),
each without verification, plus q4 with verification (its overhead), all interleaved round by
round so that each ratio compares runs made side by side. Reports peak RSS from the kernel's
accounting (ru_maxrss) and the time to open the .molt (`molt inspect --json`, against
`molt --version` for the process start alone).
Make the checkpoint first: python3 Scripts/make_synthetic.py DIR
"""
import argparse
import json
import os
import platform
import statistics
import tempfile
import time

from benchlib import run


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="checkpoint directory holding pytorch_model.bin")
    ap.add_argument("--molt", default=".build/release/molt", help="the molt binary (release build)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds of each measurement")
    ap.add_argument("--skip-verify", action="store_true", help="do not measure the verified q4 conversion")
    args = ap.parse_args()

    weights = os.path.join(args.checkpoint, "pytorch_model.bin")
    size = os.path.getsize(weights)
    out_dir = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(args.checkpoint)))
    out = os.path.join(out_dir, "out.molt")
    copy = os.path.join(out_dir, "copy.bin")
    keep = ["--experts", "bf16", "--mamba", "bf16", "--embedding", "bf16", "--others", "bf16"]
    recipes = {"bf16": keep, "q8": ["--experts", "q8"], "q4": ["--experts", "q4"]}
    unverified = set(recipes)
    if not args.skip_verify:
        # Random weights have no structure for the thresholds to hold on: only the time counts.
        recipes["q4_verified"] = ["--experts", "q4", "--max-kl", "100", "--min-top1", "0", "--min-routing", "0"]
    run(["cat", weights])
    times = {name: [] for name in ["cp", *recipes]}
    rss = {}
    for _ in range(args.rounds):
        for name in ["cp", *recipes]:
            for p in (out, copy):
                if os.path.exists(p):
                    os.remove(p)
            if name == "cp":
                t, _ = run(["cp", weights, copy])
            else:
                flags = ["--no-verify"] if name in unverified else []
                t, r = run([args.molt, "convert", args.checkpoint, "-o", out, *flags, *recipes[name]])
                rss[name] = max(rss.get(name, 0), r)
            times[name].append(t)
    start_times = [run([args.molt, "--version"])[0] for _ in range(9)]
    open_times = [run([args.molt, "inspect", out, "--json"])[0] for _ in range(9)]
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "source_bytes": size,
        "cp_mb_s": size / statistics.median(times["cp"]) / 1e6,
    }
    for name in recipes:
        t = statistics.median(times[name])
        result[f"convert_{name}_s"] = t
        result[f"convert_{name}_source_mb_s"] = size / t / 1e6
        result[f"convert_{name}_peak_rss_mb"] = rss[name] / 2**20
    result["convert_bf16_vs_cp"] = statistics.median(times["cp"]) / statistics.median(times["bf16"])
    # cp's own speed swings with the page cache's state; each round's ratio shows how much.
    result["convert_bf16_vs_cp_per_round"] = [c / b for c, b in zip(times["cp"], times["bf16"])]
    result["seconds_per_round"] = times
    result["open_molt_inspect_s_median"] = statistics.median(open_times)
    result["process_start_version_s_median"] = statistics.median(start_times)
    if not args.skip_verify:
        result["verification_overhead"] = statistics.median(
            [v / q - 1 for v, q in zip(times["q4_verified"], times["q4"])])
    for p in (out, copy):
        if os.path.exists(p):
            os.remove(p)
    os.rmdir(out_dir)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
