#!/usr/bin/env bash
# The main job on the bundled trained fixture: set up, build, inspect, convert with q4 experts
# (verified against the source before it is written), check the file again, and run text.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
swift build -c release
molt=.build/release/molt
fixture=Fixtures/trained
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== molt inspect $fixture"
$molt inspect "$fixture" | sed -n '1,6p;/^total/,$p'
echo
echo "== molt convert $fixture -o model.molt --tokenizer $fixture/tokenizer.json --calibration $fixture/calibration.txt"
$molt convert "$fixture" -o "$out/model.molt" --tokenizer "$fixture/tokenizer.json" --calibration "$fixture/calibration.txt"
echo
echo "== molt verify model.molt --against $fixture"
$molt verify "$out/model.molt" --against "$fixture" | sed -n '/^perplexity/,$p'
echo
echo "== molt generate model.molt --tokens 5,17,42 -n 12"
$molt generate "$out/model.molt" --tokens 5,17,42 -n 12
echo
echo "== molt run model.molt -p 'def fibonacci(n):' -n 64 --seed 1"
$molt run "$out/model.molt" -p 'def fibonacci(n):' -n 64 --seed 1
