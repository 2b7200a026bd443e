#!/usr/bin/env python3
"""What checking a .molt file's checksums costs the commands that run it.

Runs each command with and without --no-check, alternating, on a .molt file (the default
recipe on the 1.5B shapes: molt convert bench-data/bm15-bf16 -o FILE --method search
--no-verify), page cache warm, and prints the medians: wall time of `molt generate` with a
short and a long run, of `molt inspect` (header only against every checksum on all cores),
and with --cold the same after the file's pages are dropped from the page cache
(posix_fadvise DONTNEED on this file only, so other users of the machine are not touched).
"""
import argparse
import os
import statistics

from benchlib import run


def drop(path):
    """Drops the file's pages from the page cache (they must not be mapped elsewhere)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("molt_file", help="the .molt file")
    ap.add_argument("--molt", default=".build/release/molt", help="the molt binary (release build)")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    ap.add_argument("--cold", action="store_true", help="also time each command with the file's pages dropped first")
    args = ap.parse_args()

    size = os.path.getsize(args.molt_file)
    prompt = ",".join(str(11 + 37 * i) for i in range(16))
    commands = {
        "inspect": [args.molt, "inspect", args.molt_file, "--json"],
        "generate 16+1": [args.molt, "generate", args.molt_file, "--tokens", prompt, "-n", "1"],
        "generate 16+64": [args.molt, "generate", args.molt_file, "--tokens", prompt, "-n", "64"],
    }
    run(["cat", args.molt_file])
    print(f"file: {args.molt_file}, {size / 1e9:.2f} GB; {args.rounds} rounds, medians")
    for cold in [False, True] if args.cold else [False]:
        for name, cmd in commands.items():
            times = {"checked": [], "--no-check": []}
            for round_index in range(args.rounds):
                order = ["checked", "--no-check"] if round_index % 2 == 0 else ["--no-check", "checked"]
                for kind in order:
                    if cold:
                        drop(args.molt_file)
                    times[kind].append(run(cmd + ([] if kind == "checked" else ["--no-check"]))[0])
            checked, unchecked = statistics.median(times["checked"]), statistics.median(times["--no-check"])
            print(f"{'cold' if cold else 'warm'} {name:16s} checked {checked:7.3f} s  --no-check {unchecked:7.3f} s  "
                  f"cost {checked - unchecked:+.3f} s ({(checked / unchecked - 1) * 100:+.0f}%)  "
                  f"[checked {', '.join(f'{t:.3f}' for t in times['checked'])}; "
                  f"unchecked {', '.join(f'{t:.3f}' for t in times['--no-check'])}]")


if __name__ == "__main__":
    main()
