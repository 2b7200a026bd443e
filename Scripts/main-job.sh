#!/usr/bin/env bash
# The main job on the bundled fixture: set up, build, inspect, convert (verified), check the
# converted file again, and generate from it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
swift build -c release
molt=.build/release/molt
fixture=Fixtures/checkpoints/b-zip-megatron
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== molt inspect $fixture"
$molt inspect "$fixture"
echo
echo "== molt export $fixture -o model.safetensors"
$molt export "$fixture" -o "$out/model.safetensors"
echo
echo "== molt convert $fixture -o model.molt --experts q8"
$molt convert "$fixture" -o "$out/model.molt" --experts q8
echo
echo "== molt verify model.molt --against $fixture"
$molt verify "$out/model.molt" --against "$fixture" | tail -2
echo
echo "== molt generate model.molt --tokens 5,17,42 -n 12"
$molt generate "$out/model.molt" --tokens 5,17,42 -n 12
