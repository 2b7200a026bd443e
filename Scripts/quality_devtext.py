#!/usr/bin/env python3
"""Development text for tuning the quantizer on the trained fixture (issue 11) without touching
the held-out text its results are judged on: the fixture's held-out files (never trained on)
that neither heldout.txt nor calibration.txt took a piece of, cut as heldout.txt's pieces are
(up to 16 KB of whole lines each, the same seeded order). Rebuilds heldout.txt and
calibration.txt first and refuses to write anything unless both come out byte-identical to the
committed ones, so the three texts are known to share no file.

    python3 Scripts/quality_devtext.py -o /tmp/dev.txt
    python3 Scripts/quality_heldout.py --text /tmp/dev.txt ...

With --large-calibration, also writes every held-out file that none of the three texts took,
whole, in the same order: Fixtures/trained/calibration-large.txt, the calibration text with
enough tokens for GPTQ's per-expert Hessians (BENCHMARKS.md, issue 11), disjoint from both the
held-out and the development text.
"""
import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(__file__))
from train_fixture import build_pieces, read_texts, stdlib_files  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "Fixtures", "trained")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--bytes", type=int, default=200_000, help="size of the development text (default 200,000)")
    ap.add_argument("--large-calibration", help="also write the held-out files no text took, whole, here")
    args = ap.parse_args()
    base, rels = stdlib_files()
    texts, _ = read_texts(base, rels)
    held = [ft for i, ft in enumerate(texts) if i % 20 == 7]
    random.Random(0).shuffle(held)
    # The same cuts and defaults as Scripts/train_fixture.py.
    heldout, after_heldout, heldout_names = build_pieces(held, 0, 200_000, 16_384)
    calibration, _, calibration_names = build_pieces(held, after_heldout, 20_000, 4_096)
    for name, text in (("heldout.txt", heldout), ("calibration.txt", calibration)):
        with open(os.path.join(FIXTURE, name), encoding="utf-8", newline="") as f:
            if f.read() != text:
                sys.exit(f"{name} does not rebuild from this Python's standard library: the files may overlap; nothing written")
    # Files both texts passed over (their budget's last bytes were too few for a whole line).
    taken = set(heldout_names) | set(calibration_names)
    dev, _, names = build_pieces([ft for ft in held if ft[0] not in taken], 0, args.bytes, 16_384)
    with open(args.output, "w", encoding="utf-8", newline="") as f:
        f.write(dev)
    print(f"{args.output}: {len(dev.encode('utf-8')):,} bytes from {len(names)} held-out files", file=sys.stderr)
    if args.large_calibration:
        taken |= set(names)
        rest = [ft for ft in held if ft[0] not in taken]
        large, _, large_names = build_pieces(rest, 0, sum(len(t.encode("utf-8")) for _, t in rest), 1 << 40)
        with open(args.large_calibration, "w", encoding="utf-8", newline="") as f:
            f.write(large)
        print(f"{args.large_calibration}: {len(large.encode('utf-8')):,} bytes from {len(large_names)} held-out files",
              file=sys.stderr)


if __name__ == "__main__":
    main()
