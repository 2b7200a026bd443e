#!/usr/bin/env bash
# Runtime speed, side by side in one run: the same random BlackMamba-1.5B-shaped model (fewer
# layers; per-layer figures scale) in PyTorch eager fp32 with a recurrent decode step, and in
# molt (f32 source and, when given, converted .molt files), next to the memory-bandwidth bound
# that molt bench measures in the same run. Needs PyTorch for the first part.
#   Scripts/bench_runtime.sh [LAYERS] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
layers=${1:-4}
threads=${2:-2}
dir=bench-data/bm${layers}-f32
swift build -c release --product molt >/dev/null
if [ ! -f "$dir/model.safetensors" ]; then
    python3 Scripts/bench_pytorch.py --layers "$layers" --threads "$threads" --save "$dir" --dtype f32 --gen 2 >/dev/null
fi
# Warm the page cache: a model read from disk on its first use would time the disk.
cat "$dir/model.safetensors" bench-data/bm${layers}-q8.molt bench-data/bm${layers}-q4.molt >/dev/null 2>&1 || true
echo "== PyTorch $(python3 -c 'import torch; print(torch.__version__)'), $threads threads"
python3 Scripts/bench_pytorch.py --layers "$layers" --threads "$threads" --prompt 128 --gen 64
export OPENBLAS_NUM_THREADS=$threads
echo "== molt bench, f32 weights"
.build/release/molt bench "$dir" --prompt 128 --gen 64 --json
for experts in q8 q4; do
    molt_file=bench-data/bm${layers}-$experts.molt
    if [ ! -f "$molt_file" ]; then
        # Random weights are no test of quantization quality: verification is not the point here.
        .build/release/molt convert "$dir" -o "$molt_file" --experts "$experts" --no-verify 2>/dev/null
    fi
    echo "== molt bench, $experts experts"
    .build/release/molt bench "$molt_file" --prompt 128 --gen 64 --json
done
