#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test, then a smoke run
# of every fuzz target (RELIABILITY.md; FUZZ_SECONDS each, 0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
swift build --build-tests
swift test --skip-build
if [ "${FUZZ_SECONDS:-15}" -gt 0 ]; then
    bash Scripts/fuzz.sh all "${FUZZ_SECONDS:-15}"
fi
