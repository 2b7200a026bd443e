#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs a smoke run of every fuzz target
# (RELIABILITY.md; FUZZ_SECONDS each, 0 skips it), then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
swift build --build-tests
# The fuzz smoke run comes first so that the test runner's summary is the last line.
if [ "${FUZZ_SECONDS:-15}" -gt 0 ]; then
    bash Scripts/fuzz.sh all "${FUZZ_SECONDS:-15}"
fi
swift test --skip-build
