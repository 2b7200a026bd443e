#!/usr/bin/env python3
"""Benchmarks `molt convert` on a large checkpoint, side by side with `cp` of the source.

Recipes: everything kept bf16 (lossless, against cp), q8 experts and q4 experts (source MB/s),
each without verification, plus q4 with verification (its overhead). Reports peak RSS from
the kernel's accounting (ru_maxrss) and the time to open the .molt (`molt inspect --json`,
process start included). Make the checkpoint first: python3 Scripts/make_synthetic.py DIR
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
                t, r = run([args.molt, "convert", args.checkpoint, "-o", out, "--no-verify", *recipes[name]])
                rss[name] = max(rss.get(name, 0), r)
            times[name].append(t)
    open_times = [run([args.molt, "inspect", out, "--json"])[0] for _ in range(5)]
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
    result["open_q4_molt_inspect_s_median"] = statistics.median(open_times)
    if not args.skip_verify:
        os.remove(out)
        t, r = run([args.molt, "convert", args.checkpoint, "-o", out, "--experts", "q4", "--max-kl", "100",
                    "--min-top1", "0", "--min-routing", "0"])
        result["convert_q4_verified_s"] = t
        result["verification_overhead"] = t / statistics.median(times["q4"]) - 1
        result["convert_q4_verified_peak_rss_mb"] = r / 2**20
    for p in (out, copy):
        if os.path.exists(p):
            os.remove(p)
    os.rmdir(out_dir)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
