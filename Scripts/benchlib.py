"""What the benchmark scripts share: running a command and reading its time and peak RSS."""
import os
import subprocess
import time


def run(cmd):
    """Runs cmd; returns (seconds, peak RSS in bytes of this child). Exits on failure.

    Dirty pages from earlier commands are written back first (sync), so one command's
    output is never paid for by the next one's timing.
    """
    os.sync()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err}")
    return elapsed, usage.ru_maxrss * 1024
