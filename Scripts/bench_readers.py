#!/usr/bin/env python3
"""Benchmarks `molt inspect` and `molt export` against `cp` on a large checkpoint.

Runs the commands side by side, alternating, so machine noise hits both alike; reports the
median of each. Peak RSS comes from the kernel's accounting of the child (ru_maxrss).
Make the checkpoint first: python3 Scripts/make_synthetic.py bench-data/bm15-bf16
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
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of cp and export")
    ap.add_argument("--out", default=None, help="directory for outputs (default: a temporary one beside the input)")
    args = ap.parse_args()

    weights = os.path.join(args.checkpoint, "pytorch_model.bin")
    size = os.path.getsize(weights)
    out_dir = args.out or tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(args.checkpoint)))
    copy_path, export_path = os.path.join(out_dir, "copy.bin"), os.path.join(out_dir, "export.safetensors")

    # Warm the page cache so neither side pays for the first read from disk.
    run(["cat", weights])
    inspect = [run([args.molt, "inspect", args.checkpoint, "--json"]) for _ in range(5)]
    cp_times, export_times, export_rss = [], [], []
    for round_index in range(args.rounds):
        for p in (copy_path, export_path):
            if os.path.exists(p):
                os.remove(p)
        # Alternate which goes first, so neither always inherits the other's cache state.
        order = ["cp", "export"] if round_index % 2 == 0 else ["export", "cp"]
        for name in order:
            if name == "cp":
                cp_times.append(run(["cp", weights, copy_path])[0])
            else:
                t, rss = run([args.molt, "export", args.checkpoint, "-o", export_path, "--force"])
                export_times.append(t)
                export_rss.append(rss)
    for p in (copy_path, export_path):
        if os.path.exists(p):
            os.remove(p)

    cp_rate = size / statistics.median(cp_times)
    export_rate = size / statistics.median(export_times)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.release()}",
        "file_bytes": size,
        "inspect_seconds_median": statistics.median(t for t, _ in inspect),
        "inspect_peak_rss_mb": max(r for _, r in inspect) / 2**20,
        "cp_mb_s": cp_rate / 1e6,
        "export_keep_mb_s": export_rate / 1e6,
        "export_vs_cp": export_rate / cp_rate,
        "export_peak_rss_mb": max(export_rss) / 2**20,
        "rounds": args.rounds,
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
