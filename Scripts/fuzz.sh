#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS: Scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]
# Targets: pickle zip torch-zip torch-legacy safetensors shard-index config tokenizer molt tensor
# (Sources/MoltFuzzTargets). Seeds come from Fixtures/ (Scripts/fuzz_seeds.py) plus the corpus
# earlier runs grew in .build-fuzz/corpus/TARGET; crashing inputs land in
# .build-fuzz/findings/TARGET/. Keep each, with its exact error, in
# Fixtures/fuzz/regressions/TARGET/ so `swift test` replays it without a fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
    exit 1
fi
target=$1
seconds=$2
shift 2
build=.build-fuzz
flags=(--package-path Fuzz --build-path "$build" -c release
    -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address -Xswiftc -use-ld=lld)
swift build "${flags[@]}" >&2
binary="$(swift build "${flags[@]}" --show-bin-path)/MoltFuzz"
corpus="$build/corpus/$target"
findings="$build/findings/$target"
mkdir -p "$corpus" "$findings"
python3 Scripts/fuzz_seeds.py "$target" "$corpus"
# rss_limit: the readers' bounds keep memory far below this; going past it is a finding.
MOLT_FUZZ_TARGET="$target" "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$findings/" -print_final_stats=1 "$@" "$corpus"
