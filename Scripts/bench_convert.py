#!/usr/bin/env python3
"""Benchmarks `molt convert` on a large checkpoint, side by side with its floors.

Each round runs, one after another: `cp` of the source, `openssl dgst -sha256` of it (SHA-NI,
the fastest hash of the bytes a machine has), `cp` then `sync`, `cp` and openssl at once, and
`molt convert` with every tensor kept bf16 and --no-verify (lossless: it copies the bytes and
hashes the source). The floor of a lossless conversion is the larger of cp and openssl; the
ratio to it is reported per round, since each round's commands ran side by side. Unless
--lossless-only: q8 and q4 experts (source MB/s) and q4 with verification (its overhead) too.
--baseline BIN adds a second molt binary's lossless conversion to each round, for before/after
ratios. Reports peak RSS from the kernel's accounting (ru_maxrss) and the time to open the .molt
(`molt inspect --json`, against `molt --version` for the process start alone).
Make the checkpoint first: python3 Scripts/make_synthetic.py DIR
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time

from benchlib import run


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="checkpoint directory holding pytorch_model.bin")
    ap.add_argument("--molt", default=".build/release/molt", help="the molt binary (release build)")
    ap.add_argument("--baseline", help="another molt binary whose lossless conversion runs in each round too")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds of each measurement")
    ap.add_argument("--out-dir", help="where outputs go (default: beside the checkpoint); removed after")
    ap.add_argument("--lossless-only", action="store_true", help="only the lossless conversion and its floors")
    ap.add_argument("--skip-verify", action="store_true", help="do not measure the verified q4 conversion")
    args = ap.parse_args()

    weights = os.path.join(args.checkpoint, "pytorch_model.bin")
    size = os.path.getsize(weights)
    parent = args.out_dir or os.path.dirname(os.path.abspath(args.checkpoint))
    os.makedirs(parent, exist_ok=True)
    out_dir = tempfile.mkdtemp(dir=parent)
    out = os.path.join(out_dir, "out.molt")
    copy = os.path.join(out_dir, "copy.bin")
    keep = ["--experts", "bf16", "--mamba", "bf16", "--embedding", "bf16", "--others", "bf16"]
    recipes = {"bf16": keep}
    if args.baseline:
        recipes["bf16_baseline"] = keep
    if not args.lossless_only:
        recipes.update({"q8": ["--experts", "q8"], "q4": ["--experts", "q4"]})
        if not args.skip_verify:
            # Random weights have no structure for the thresholds to hold on: only the time counts.
            recipes["q4_verified"] = ["--experts", "q4", "--max-kl", "100", "--min-top1", "0", "--min-routing", "0"]
    floors = {
        "cp": ["cp", weights, copy],
        "openssl_sha256": ["openssl", "dgst", "-sha256", weights],
        "cp_sync": ["sh", "-c", f"cp '{weights}' '{copy}' && sync"],
        # Both at once, each on a core: what a tool that must copy and hash can at best do
        # where the cores are not free (on a quiet machine, close to the larger of the two).
        "cp_with_openssl": ["sh", "-c", f"openssl dgst -sha256 '{weights}' >/dev/null & cp '{weights}' '{copy}'; wait"],
    }
    run(["cat", weights])
    times = {name: [] for name in [*floors, *recipes]}
    rss = {}
    for _ in range(args.rounds):
        for name in [*floors, *recipes]:
            for p in (out, copy):
                if os.path.exists(p):
                    os.remove(p)
            if name in floors:
                t, _ = run(floors[name])
            else:
                binary = args.baseline if name == "bf16_baseline" else args.molt
                flags = [] if name == "q4_verified" else ["--no-verify"]
                t, r = run([binary, "convert", args.checkpoint, "-o", out, *flags, *recipes[name]])
                rss[name] = max(rss.get(name, 0), r)
            times[name].append(t)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{cpu_model()}, {platform.machine()}, {os.cpu_count()} cores",
        "source_bytes": size,
        "cp_mb_s": size / statistics.median(times["cp"]) / 1e6,
        "openssl_sha256_mb_s": size / statistics.median(times["openssl_sha256"]) / 1e6,
    }
    for name in [*floors, *recipes]:
        result[f"{name}_s"] = spread(times[name])
    for name in recipes:
        result[f"convert_{name}_source_mb_s"] = size / statistics.median(times[name]) / 1e6
        result[f"convert_{name}_peak_rss_mb"] = rss[name] / 2**20
    # Each round's floor is the slower of its cp and openssl runs, made minutes apart at most.
    round_floor = [max(c, s) for c, s in zip(times["cp"], times["openssl_sha256"])]
    for name in [n for n in recipes if n.startswith("bf16")]:
        result[f"convert_{name}_over_floor"] = spread([b / f for b, f in zip(times[name], round_floor)])
        result[f"convert_{name}_over_cp_sync"] = spread([b / f for b, f in zip(times[name], times["cp_sync"])])
        result[f"convert_{name}_over_cp_with_openssl"] = spread([b / f for b, f in zip(times[name], times["cp_with_openssl"])])
    if args.baseline:
        result["convert_bf16_over_baseline"] = spread([a / b for a, b in zip(times["bf16"], times["bf16_baseline"])])
    result["seconds_per_round"] = times
    if not args.lossless_only:
        # The last round's last conversion is still there.
        result["open_molt_inspect_s_median"] = statistics.median([run([args.molt, "inspect", out, "--json"])[0] for _ in range(9)])
        result["process_start_version_s_median"] = statistics.median([run([args.molt, "--version"])[0] for _ in range(9)])
        if not args.skip_verify:
            result["verification_overhead"] = statistics.median(
                [v / q - 1 for v, q in zip(times["q4_verified"], times["q4"])])
    shutil.rmtree(out_dir)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
