#!/usr/bin/env python3
"""Decode with a .molt file's weights on 4 KiB pages against 2 MiB pages (Formats/runtime.md,
"Weights on 2 MiB pages"), same binary, alternating.

Makes two copies of the file in --scratch (its own file system's page cache decides the page
size): one `molt` reads again onto 2 MiB pages on first use, and one run with --small-pages,
whose page cache stays as the copy left it (4 KiB). Each round times `molt run -n 300` (greedy)
on both, per kernel path, then takes one `molt bench` reading of the bandwidth probe; every run
reports the share of its weights on 2 MiB pages, so a copy the kernel evicted and re-read is
seen. Prints each run as a JSON line, then medians as a Markdown table.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess


def decode(molt, model, tokenizer, path, small):
    """`molt run` tok/s of generation; `molt bench` is not used for decode: its spread is wider."""
    cmd = [molt, "run", model, "--tokenizer", tokenizer, "-n", "300", "--temperature", "0", "-p", "The quick brown fox"]
    if small:
        cmd.append("--small-pages")
    out = subprocess.run(cmd, env={**os.environ, "MOLT_KERNELS": path}, capture_output=True, text=True, check=True)
    return float(re.search(r"generation: 300 tokens, ([0-9.]+) tokens/s", out.stderr).group(1))


def bench(molt, model, small):
    cmd = [molt, "bench", model, "--prompt", "8", "--gen", "8", "-r", "1", "--json"] + (["--small-pages"] if small else [])
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="the .molt file (the 1.5B shapes for the figures in BENCHMARKS.md)")
    ap.add_argument("--scratch", required=True, help="a directory for the two copies (twice the file's size)")
    ap.add_argument("--molt", default=".build/release/molt", help="the molt binary (release build)")
    ap.add_argument("--tokenizer", default="Fixtures/trained/tokenizer.json")
    ap.add_argument("--paths", default="avx512vnni,avx2", help="MOLT_KERNELS values, comma-separated")
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()

    copies = {pages: os.path.join(args.scratch, f"{pages}-{os.path.basename(args.model)}") for pages in ("small", "huge")}
    for path in copies.values():
        shutil.copyfile(args.model, path)
    os.sync()
    results = []
    for rnd in range(1, args.rounds + 1):
        for path in args.paths.split(","):
            for pages, copy in copies.items():
                rate = decode(args.molt, copy, args.tokenizer, path, pages == "small")
                results.append(dict(round=rnd, path=path, pages=pages, decode=rate))
                print(json.dumps(results[-1]), flush=True)
        for pages, copy in copies.items():
            b = bench(args.molt, copy, pages == "small")
            results.append(dict(round=rnd, pages=pages, weights_huge=b["weights_huge_page_share"],
                                probe=b["read_bandwidth_gb_per_second"], bytes=b["active_bytes_per_token"]))
            print(json.dumps(results[-1]), flush=True)
    for path in copies.values():
        os.remove(path)

    probes = [r["probe"] for r in results if "probe" in r]
    active = next(r["bytes"] for r in results if "bytes" in r)
    bound = statistics.median(probes) * 1e9 / active
    print(f"\nbound: median probe {statistics.median(probes):.1f} GB/s over {active / 1e6:.1f} MB a token = {bound:.1f} tok/s")
    print("| path | 4 KiB pages tok/s | 2 MiB pages tok/s | ratio | share of bound, 4 KiB / 2 MiB |")
    print("|---|---|---|---|---|")
    for path in args.paths.split(","):
        med = {p: statistics.median(r["decode"] for r in results if r.get("path") == path and r["pages"] == p)
               for p in copies}
        print(f"| {path} | {med['small']:.1f} | {med['huge']:.1f} | {med['huge'] / med['small']:.2f}x | "
              f"{med['small'] / bound:.0%} / {med['huge'] / bound:.0%} |")


if __name__ == "__main__":
    main()
