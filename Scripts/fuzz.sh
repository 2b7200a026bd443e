#!/usr/bin/env bash
# Runs libFuzzer on one parser for SECONDS: Scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]
# TARGET is one of the targets below (Sources/MoltFuzzTargets) or `all`, which runs each in
# turn and prints one line per target (what Scripts/test.sh does as a smoke run). Seeds come
# from Fixtures/ (Scripts/fuzz_seeds.py) plus the corpus earlier runs grew in
# .build-fuzz/corpus/TARGET; crashing inputs land in .build-fuzz/findings/TARGET/. Keep each,
# with its exact error, in Fixtures/fuzz/regressions/TARGET/ so `swift test` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(pickle zip torch-zip torch-legacy safetensors shard-index config tokenizer molt tensor calibration)
if [ $# -lt 2 ]; then
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
    echo "targets: ${targets[*]}"
    exit 1
fi
target=$1
seconds=$2
shift 2
build=.build-fuzz
# lld: gold fails on the sanitizer's debug info. SwiftPM names the executable's main itself,
# so Fuzz/ has its own main that hands over to libFuzzer's driver.
flags=(--package-path Fuzz --build-path "$build" -c release
    -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address -Xswiftc -use-ld=lld)
swift build "${flags[@]}" >&2
binary="$(swift build "${flags[@]}" --show-bin-path)/MoltFuzz"

run() {
    local target=$1 corpus="$build/corpus/$1" findings="$build/findings/$1"
    shift
    mkdir -p "$corpus" "$findings"
    python3 Scripts/fuzz_seeds.py "$target" "$corpus"
    # rss_limit: the readers' bounds keep memory far below this; going past it is a finding.
    # detect_leaks=0: a pickle that makes a list contain itself leaves a reference cycle that
    # is freed only at exit (RELIABILITY.md, not fixed); every seed corpus has one.
    ASAN_OPTIONS=detect_leaks=0 MOLT_FUZZ_TARGET="$target" "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -detect_leaks=0 \
        -artifact_prefix="$findings/" -print_final_stats=1 "$@" "$corpus"
}

if [ "$target" != all ]; then
    run "$target" "$@"
    exit
fi
for t in "${targets[@]}"; do
    log="$build/smoke-$t.log"
    if ! run "$t" "$@" > "$log" 2>&1; then
        tail -40 "$log" >&2
        echo "fuzz: $t FAILED (log: $log)" >&2
        exit 1
    fi
    echo "fuzz: $t: $(grep -o 'number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') executions in ${seconds}s, no crash"
done
