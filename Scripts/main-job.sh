#!/usr/bin/env bash
# The main job on the bundled fixture: set up, build, then read and export a checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
swift build -c release
molt=.build/release/molt
fixture=Fixtures/checkpoints/a-zip-megatron
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== molt inspect $fixture"
$molt inspect "$fixture"
echo
echo "== molt export $fixture -o model.safetensors"
$molt export "$fixture" -o "$out/model.safetensors"
$molt inspect "$out/model.safetensors" --config "$fixture/config.json" | head -3
