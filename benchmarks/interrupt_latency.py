"""Ctrl-C latency of negsamp's long calls: `python benchmarks/interrupt_latency.py`.

Each case runs in a child process: set up, start the long call, receive
SIGINT 0.3 s later; the latency is the time from the signal to the child's
"interrupted" line (KeyboardInterrupt caught).  The goal (issue 10) is
0.5 s.  Sizes are the issue's: AliasTable.sample of 1e9 draws,
NegativeSampler.sample of 2e7 rows, corrupt_triples and negative_edges of
1e8 outputs, hard_negatives over 2e6 candidates, a weighted reservoir update
of 1e9 items (uniform reservoir updates skip ahead and take microseconds
whatever the chunk length).  Needs about 10 GB of memory.
"""
import os
import signal
import subprocess
import sys
import time

CASES = {
    "AliasTable.sample(1e9)": (
        "t = negsamp.AliasTable((1.0 / np.arange(1, 10**5 + 1)) ** 0.75)",
        "t.sample(10**9, rng=1, dtype=np.int32)"),
    "NegativeSampler.sample(2e7 rows, k=8)": (
        "s = negsamp.NegativeSampler(10**6, positives=[np.arange(i, i + 50) "
        "for i in range(0, 10**6, 100)])\nrows = np.arange(10**4).repeat(2000)",
        "s.sample(rows, 8, rng=1)"),
    "corrupt_triples(1e6 triples, k=100): 1e8 outputs": (
        "tr = np.stack([np.arange(10**6) % 5000, np.arange(10**6) % 7, "
        "(np.arange(10**6) * 3) % 5000], axis=1)",
        "negsamp.corrupt_triples(tr, 5000, 100, rng=1)"),
    "negative_edges(1e8 samples)": (
        "e = np.random.default_rng(0).integers(0, 10**5, (2, 10**5))",
        "negsamp.negative_edges(e, 10**5, 10**8, replace=True, rng=1)"),
    "hard_negatives(1024 x 2e6, d=128)": (
        "rng = np.random.default_rng(0)\n"
        "q = rng.standard_normal((1024, 128), dtype=np.float32)\n"
        "c = rng.standard_normal((2 * 10**6, 128), dtype=np.float32)",
        "negsamp.hard_negatives(q, c, 32)"),
    "WeightedReservoir.update(1e9 items)": (
        "r = negsamp.WeightedReservoir(10**5, rng=0)\nn = 10**9\n"
        "w = np.ones(n)\nitems = np.broadcast_to(np.int64(-1), (n,))",
        "r.update(items, w)"),
}

CHILD = """
import numpy as np
import negsamp
{setup}
try:
    print("ready", flush=True)
    {call}
except KeyboardInterrupt:
    print("interrupted", flush=True)
else:
    print("finished", flush=True)
"""


def latency(setup, call, delay=0.3):
    proc = subprocess.Popen([sys.executable, "-c", CHILD.format(setup=setup, call=call)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        line = proc.stdout.readline().strip()
        return line, time.monotonic() - t0
    finally:
        proc.kill()
        proc.wait()


def main():
    import platform

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"# {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| call | outcome | latency (s), 3 runs |")
    print("|---|---|---|")
    for name, (setup, call) in CASES.items():
        runs = [latency(setup, call) for _ in range(3)]
        outcome = ",".join(sorted({r[0] for r in runs}))
        print(f"| {name} | {outcome} | {' / '.join(f'{r[1]:.3f}' for r in runs)} |", flush=True)


if __name__ == "__main__":
    main()
