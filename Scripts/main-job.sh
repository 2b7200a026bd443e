#!/usr/bin/env bash
# The main job on the bundled trained fixture: set up, build, inspect, convert with q4 experts
# (verified against the source before it is written), check the file again, run text, and
# serve it over HTTP for one streamed completion.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
swift build -c release
molt=.build/release/molt
fixture=Fixtures/trained
out=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$out"' EXIT

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
echo
echo "== molt serve model.molt --port 0; one streamed completion with curl; SIGTERM"
$molt serve "$out/model.molt" --port 0 2>"$out/serve.log" &
server=$!
url=""
for _ in $(seq 600); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$out/serve.log" | head -1 || true)
    [ -n "$url" ] && curl -sf "$url/health" >/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$out/serve.log" >&2; exit 1; }
    sleep 0.1
done
curl -sfN "$url/v1/completions" -H 'content-type: application/json' \
    -d '{"prompt": "def fibonacci(n):", "max_tokens": 24, "temperature": 0, "stream": true}' | cut -c1-160
kill -TERM "$server"
wait "$server"
server=""
echo "server drained and exited"
