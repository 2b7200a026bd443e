#!/usr/bin/env python3
"""Benchmarks `molt serve` from a second process: aggregate decode throughput and latency for
1, 2, 4, 8 and 16 concurrent streams, and a single stream's speed against `molt run`'s.

    python3 Scripts/bench_serve.py bench-data/bm15-q4.molt --tokenizer Fixtures/trained/tokenizer.json

Each stream is a streamed greedy completion of a distinct prompt of --prompt random token ids
for --gen tokens, over loopback HTTP, all sent at once. Per streams count it reports:
  decode tok/s  tokens received while every stream was decoding (after the last stream's first
                token, up to the first stream's last), per second: the steady state, without
                the newcomers' prefills that precede it
  p50/p99 TTFT  request sent -> first token event received, over every stream of every round
  p50/p99 ITL   gap between two token events of one stream, over every gap of every round
  CPU ms/token  the server process's CPU time (user + system, /proc/PID/stat) over the run, per
                token generated: what a token costs whatever else the machine runs, so the
                batching gain shows even when other processes take most of the cores
Overhead: --rounds alternating runs of `molt run -n GEN --temperature 0` (its own "generation"
tokens/s on stderr) and a one-stream request to a freshly started server with the same prompt
text ((tokens - 1) / (last - first token event)). Each side's decode CPU time per token is
also reported, with the prefill and load taken out: for `molt run` (CPU of -n GEN minus CPU
of -n 1, from the child's rusage) / (GEN - 1); for the server (CPU over a GEN-token request
minus CPU over a 1-token one) / (GEN - 1). Stdlib only.
"""
import os
import argparse
import http.client
import json
import random
import re
import statistics
import subprocess
import sys
import threading
import time


def start_server(molt, model, tokenizer, extra):
    cmd = [molt, "serve", model, "--port", "0", "--max-batch", "16", "--max-queue", "64"] + extra
    if tokenizer:
        cmd += ["--tokenizer", tokenizer]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    port = None
    deadline = time.time() + 600
    while port is None:
        line = proc.stderr.readline()
        if not line:
            sys.exit("molt serve exited before listening")
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("molt serve did not become healthy")


def stop_server(proc):
    proc.terminate()
    proc.wait(timeout=120)


def stream(port, body, out):
    """One streamed completion; appends (sent, [token event times], token count) to out."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    sent = time.perf_counter()
    c.request("POST", "/v1/completions", json.dumps(dict(body, stream=True)), {"content-type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError(f"status {r.status}: {r.read()[:200]}")
    times, tokens = [], 0
    for raw in r:
        line = raw.decode().strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        ids = json.loads(line[6:])["choices"][0].get("tokens", [])
        if ids:
            now = time.perf_counter()
            times += [now] * len(ids)
            tokens += len(ids)
    out.append((sent, times, tokens))


def concurrent(port, prompts, gen):
    results, threads = [], []
    for p in prompts:
        body = {"prompt": p, "max_tokens": gen, "temperature": 0}
        threads.append(threading.Thread(target=stream, args=(port, body, results)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if len(results) != len(prompts):
        raise RuntimeError("a stream failed")
    return results


def cpu_seconds(pid):
    """User plus system CPU time of a running process."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_cpu(cmd):
    """Runs cmd to its end; returns (stderr, CPU seconds it used)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:2]} exited {proc.returncode}: {err[-300:]}")
    return err, usage.ru_utime + usage.ru_stime


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--tokenizer", help="tokenizer.json when the model embeds none")
    ap.add_argument("--molt", default=".build/release/molt")
    ap.add_argument("--streams", default="1,2,4,8,16", help="stream counts of the table (empty skips it)")
    ap.add_argument("--prompt", type=int, default=8, help="prompt length in tokens")
    ap.add_argument("--gen", type=int, default=160, help="tokens generated per stream")
    ap.add_argument("--repeats", type=int, default=1, help="runs per streams count")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of the overhead check (0 skips it)")
    ap.add_argument("--vocab", type=int, default=4000, help="prompt ids are drawn below this")
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"CPU: {cpu}; model {args.model}; prompt {args.prompt} ids, {args.gen} tokens per stream")
    rng = random.Random(0)
    report = {"cpu": cpu, "table": [], "overhead": []}

    counts = [int(s) for s in args.streams.split(",") if s]
    proc, port = start_server(args.molt, args.model, args.tokenizer, []) if counts else (None, None)
    try:
        if counts:
            concurrent(port, [[rng.randrange(args.vocab) for _ in range(args.prompt)]], 8)  # warm
        print("| streams | decode tok/s | x one stream | TTFT p50 | TTFT p99 | ITL p50 | ITL p99 | CPU ms/token | x one stream (CPU) |")
        print("|---|---|---|---|---|---|---|---|---|")
        base = base_cpu = None
        for n in counts:
            rates, ttft, itl, cpu, generated = [], [], [], 0.0, 0
            for _ in range(args.repeats):
                prompts = [[rng.randrange(args.vocab) for _ in range(args.prompt)] for _ in range(n)]
                before = cpu_seconds(proc.pid)
                results = concurrent(port, prompts, args.gen)
                cpu += cpu_seconds(proc.pid) - before
                generated += sum(k for _, _, k in results)
                start = max(t[0] for _, t, _ in results)
                end = min(t[-1] for _, t, _ in results)
                if end <= start:
                    sys.exit(f"{n} streams never all decoded at once: raise --gen")
                inside = sum(1 for _, t, _ in results for x in t if start < x <= end)
                rates.append(inside / (end - start))
                for sent, times, _ in results:
                    ttft.append(times[0] - sent)
                    itl += [b - a for a, b in zip(times, times[1:])]
            rate = statistics.median(rates)
            base = base or rate
            cpu_per_token = cpu / generated
            base_cpu = base_cpu or cpu_per_token
            row = {"streams": n, "decode_tok_s": rate, "ttft_p50": percentile(ttft, 0.5), "ttft_p99": percentile(ttft, 0.99),
                   "itl_p50": percentile(itl, 0.5), "itl_p99": percentile(itl, 0.99), "cpu_s_per_token": cpu_per_token}
            report["table"].append(row)
            print(f"| {n} | {rate:.1f} | {rate / base:.2f}x | {row['ttft_p50'] * 1e3:.0f} ms | {row['ttft_p99'] * 1e3:.0f} ms "
                  f"| {row['itl_p50'] * 1e3:.1f} ms | {row['itl_p99'] * 1e3:.1f} ms | {cpu_per_token * 1e3:.1f} "
                  f"| {base_cpu / cpu_per_token:.2f}x |", flush=True)
    finally:
        if proc:
            stop_server(proc)

    text = "def fibonacci(n):\n    if n < 2:\n        return n\n"
    print("\noverhead: molt run vs one server stream, same prompt, greedy, alternating")
    for r in range(args.rounds):
        cmd = [args.molt, "run", args.model, "-p", text, "--temperature", "0"]
        if args.tokenizer:
            cmd += ["--tokenizer", args.tokenizer]
        _, run_one = run_cpu(cmd + ["-n", "1"])
        err, run_all = run_cpu(cmd + ["-n", str(args.gen)])
        run_rate = float(re.search(r"generation: \d+ tokens, ([\d.]+) tokens/s", err).group(1))
        run_cpu_token = (run_all - run_one) / (args.gen - 1)
        proc, port = start_server(args.molt, args.model, args.tokenizer, [])
        try:
            concurrent(port, [text], 4)  # the server's warm-up, as `molt run` has its own prefill
            before = cpu_seconds(proc.pid)
            concurrent(port, [text], 1)
            middle = cpu_seconds(proc.pid)
            (_, times, k), = concurrent(port, [text], args.gen)
            serve_cpu_token = (cpu_seconds(proc.pid) - middle - (middle - before)) / (args.gen - 1)
        finally:
            stop_server(proc)
        serve_rate = (k - 1) / (times[-1] - times[0])
        report["overhead"].append({"run": run_rate, "serve": serve_rate, "run_cpu_s_per_token": run_cpu_token,
                                   "serve_cpu_s_per_token": serve_cpu_token})
        print(f"round {r + 1}: molt run {run_rate:.1f} tok/s, serve {serve_rate:.1f} tok/s ({serve_rate / run_rate - 1:+.1%}); "
              f"decode CPU per token: run {run_cpu_token * 1e3:.1f} ms, serve {serve_cpu_token * 1e3:.1f} ms "
              f"({serve_cpu_token / run_cpu_token - 1:+.1%})", flush=True)
    if report["overhead"]:
        ratios = [o["serve"] / o["run"] for o in report["overhead"]]
        cpu_ratios = [o["serve_cpu_s_per_token"] / o["run_cpu_s_per_token"] for o in report["overhead"]]
        print(f"median serve/run: {statistics.median(ratios):.3f} tok/s, {statistics.median(cpu_ratios):.3f} CPU per token")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
