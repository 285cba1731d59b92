"""``python -m negsamp.bench --busy``: default threads against one thread,
on an idle machine and on one whose cores are kept busy by other processes.

A training machine is rarely idle: compilers, data loaders and the training
run itself keep every core busy.  A thread runtime that spins (as OpenMP's
does by default) or waits for a thread the operating system has not
scheduled makes small calls many times slower there.  This report runs each
case with ``n_threads=None`` (the default) and ``n_threads=1``, interleaved,
under each load, and prints their ratio (the goal: at most 1.3x on a busy
machine; large calls faster than one thread on an idle one).

Loads, each one helper process per core that stops by itself (a deadline,
and when this process dies):
  - ``compile``: ``cc -O2`` compiling a generated C file over and over;
  - ``torch``: a small MLP training loop with ``torch.set_num_threads(cores)``
    (only when torch is installed).
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional

import numpy as np

__all__ = ["BusyCase", "busy_cases", "run_busy", "format_busy", "load"]

_COMPILE_SOURCE = r"""
#include <math.h>
double f(const double *x, int n) {
    double s = 0.0;
    for (int i = 0; i < n; i++) s += sin(x[i]) * cos(x[i] * 0.5) + sqrt(fabs(x[i]));
    return s;
}
%s
"""

_COMPILE_LOOP = r"""
import os, subprocess, sys, time
cc, src, deadline, parent = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
while time.time() < deadline and os.getppid() == parent:
    subprocess.run([cc, "-O2", "-c", src, "-o", os.devnull], check=False)
"""

_TORCH_LOOP = r"""
import os, sys, time
import torch
deadline, parent, threads = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(256, 1024), torch.nn.ReLU(),
                            torch.nn.Linear(1024, 256))
opt = torch.optim.SGD(model.parameters(), lr=1e-3)
x = torch.randn(1024, 256)
while time.time() < deadline and os.getppid() == parent:
    loss = model(x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
"""


def _compiler() -> Optional[str]:
    import sysconfig

    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    for name in (cc, "cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return path
    return None


def available_loads() -> List[str]:
    loads = []
    if _compiler():
        loads.append("compile")
    try:
        import importlib.util

        if importlib.util.find_spec("torch") is not None:
            loads.append("torch")
    except (ImportError, ValueError):
        pass
    return loads


@contextmanager
def load(kind: str, seconds: float = 600.0) -> Iterator[None]:
    """Keeps every core busy with helper processes while the block runs."""
    from negsamp._threads import cores

    n = cores()
    deadline = time.time() + seconds
    parent = os.getpid()
    procs: List[subprocess.Popen[bytes]] = []
    tmp = tempfile.mkdtemp(prefix="negsamp-busy-")
    try:
        if kind == "compile":
            cc = _compiler()
            if cc is None:
                raise RuntimeError("the compile load needs a C compiler")
            src = os.path.join(tmp, "load.c")
            body = "\n".join(f"double g{i}(const double *x, int n) {{ return f(x, n) * {i}; }}"
                             for i in range(200))
            with open(src, "w") as fh:
                fh.write(_COMPILE_SOURCE % body)
            for _ in range(n):
                procs.append(subprocess.Popen(
                    [sys.executable, "-c", _COMPILE_LOOP, cc, src, str(deadline), str(parent)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        elif kind == "torch":
            procs.append(subprocess.Popen(
                [sys.executable, "-c", _TORCH_LOOP, str(deadline), str(parent), str(n)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        elif kind != "idle":
            raise ValueError(f"load must be 'idle', 'compile' or 'torch', got {kind!r}")
        if procs:
            time.sleep(2.0)  # let the load start (torch import, first compiles)
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class BusyCase:
    name: str
    sizes: str
    make: Callable[[], Callable[[Optional[int]], Any]]


@dataclass
class BusyResult:
    name: str
    sizes: str
    # load -> {"one": seconds, "default": seconds} (medians)
    seconds: Dict[str, Dict[str, float]] = field(default_factory=dict)

    def ratio(self, load_name: str) -> Optional[float]:
        s = self.seconds.get(load_name)
        return None if not s else s["default"] / s["one"]


def busy_cases() -> List[BusyCase]:
    """The small per-batch calls of the issue and one large call of each
    sampler."""
    import negsamp

    def negative(rows: int, k: int, n_items: int = 10**6, weighted: bool = False
                 ) -> Callable[[], Callable[[Optional[int]], Any]]:
        def make() -> Callable[[Optional[int]], Any]:
            rng = np.random.default_rng(0)
            n_users = max(rows, 10_000)
            lengths = np.full(n_users, 50)
            indptr = np.concatenate([[0], np.cumsum(lengths)])
            indices = np.sort(rng.integers(0, n_items, (n_users, 50)), axis=1).ravel()
            w = (1.0 / np.arange(1, n_items + 1)) ** 0.75 if weighted else None
            sampler = negsamp.NegativeSampler(n_items, weights=w, positives=(indptr, indices))
            batches = [rng.integers(0, n_users, rows) for _ in range(16)]
            it = iter(range(10**12))
            return lambda t: sampler.sample(batches[next(it) % 16], k, rng=1, n_threads=t)
        return make

    def alias(m: int, n: int = 10**5) -> Callable[[], Callable[[Optional[int]], Any]]:
        def make() -> Callable[[Optional[int]], Any]:
            table = negsamp.AliasTable((1.0 / np.arange(1, n + 1)) ** 0.75)
            return lambda t: table.sample(m, rng=1, n_threads=t)
        return make

    def topk(b: int, n: int) -> Callable[[], Callable[[Optional[int]], Any]]:
        def make() -> Callable[[Optional[int]], Any]:
            s = np.random.default_rng(0).standard_normal((b, n)).astype(np.float32)
            return lambda t: negsamp.topk(s, 10, n_threads=t)
        return make

    def kg(m: int, k: int) -> Callable[[], Callable[[Optional[int]], Any]]:
        def make() -> Callable[[Optional[int]], Any]:
            rng = np.random.default_rng(0)
            n_e, n_r = 15_000, 500
            known = np.unique(np.stack([rng.integers(0, n_e, 300_000), rng.integers(0, n_r, 300_000),
                                        rng.integers(0, n_e, 300_000)], axis=1), axis=0)
            batches = [known[rng.integers(0, len(known), m)] for _ in range(8)]
            it = iter(range(10**12))
            return lambda t: negsamp.corrupt_triples(batches[next(it) % 8], n_e, k, known=known,
                                                     rng=1, n_threads=t)
        return make

    def edges(num: int) -> Callable[[], Callable[[Optional[int]], Any]]:
        def make() -> Callable[[Optional[int]], Any]:
            rng = np.random.default_rng(0)
            n = 10**5
            e = rng.integers(0, n, (2, 10**6))
            return lambda t: negsamp.negative_edges(e, n, num, rng=1, n_threads=t)
        return make

    def mining(n: int) -> Callable[[], Callable[[Optional[int]], Any]]:
        def make() -> Callable[[Optional[int]], Any]:
            rng = np.random.default_rng(0)
            q = rng.standard_normal((256, 64)).astype(np.float32)
            c = rng.standard_normal((n, 64)).astype(np.float32)
            return lambda t: negsamp.hard_negatives(q, c, 16, n_threads=t)
        return make

    return [
        BusyCase("NegativeSampler.sample", "1 row, k=20", negative(1, 20)),
        BusyCase("NegativeSampler.sample", "256 rows, k=20", negative(256, 20)),
        BusyCase("NegativeSampler.sample", "2048 rows, k=20", negative(2048, 20)),
        BusyCase("NegativeSampler.sample", "1e5 rows, k=20, counts^0.75",
                 negative(100_000, 20, weighted=True)),
        BusyCase("AliasTable.sample", "1 draw", alias(1)),
        BusyCase("AliasTable.sample", "32768 draws", alias(32768)),
        BusyCase("AliasTable.sample", "1e7 draws", alias(10**7)),
        BusyCase("topk", "64 x 500", topk(64, 500)),
        BusyCase("topk", "1024 x 1e5", topk(1024, 10**5)),
        BusyCase("corrupt_triples", "256 triples, k=8", kg(256, 8)),
        BusyCase("corrupt_triples", "1e5 triples, k=32", kg(100_000, 32)),
        BusyCase("negative_edges", "1e6 samples (1e5 nodes, 1e6 edges)", edges(10**6)),
        BusyCase("hard_negatives", "256 x 2e5, d=64", mining(200_000)),
    ]


def _measure(fn: Callable[[Optional[int]], Any], budget: float) -> Dict[str, float]:
    """Median seconds of fn(1) and fn(None), interleaved until `budget`
    seconds have passed (at least 5 pairs, at most 400)."""
    fn(1)
    fn(None)
    one: List[float] = []
    default: List[float] = []
    t_end = time.perf_counter() + budget
    while len(one) < 400 and (len(one) < 5 or time.perf_counter() < t_end):
        for t, acc in ((1, one), (None, default)) if len(one) % 2 else ((None, default), (1, one)):
            t0 = time.perf_counter()
            fn(t)
            acc.append(time.perf_counter() - t0)
    return {"one": statistics.median(one), "default": statistics.median(default)}


def run_busy(loads: List[str], budget: float = 1.0, only: Optional[str] = None,
             progress: bool = True) -> List[BusyResult]:
    cases = [c for c in busy_cases() if only is None or only in c.name]
    results = [BusyResult(c.name, c.sizes) for c in cases]
    fns = [c.make() for c in cases]
    for load_name in loads:
        if progress:
            print(f"load: {load_name}", file=sys.stderr, flush=True)
        with load(load_name):
            for case, fn, res in zip(cases, fns, results):
                res.seconds[load_name] = _measure(fn, budget)
                if progress:
                    s = res.seconds[load_name]
                    print(f"  {case.name} ({case.sizes}): 1 thread {s['one'] * 1e3:.3f} ms, "
                          f"default {s['default'] * 1e3:.3f} ms, ratio "
                          f"{s['default'] / s['one']:.2f}", file=sys.stderr, flush=True)
    return results


def format_busy(results: List[BusyResult], loads: List[str], markdown: bool = False) -> str:
    from negsamp._threads import default_n_threads

    header = ["operation", "sizes"]
    for ld in loads:
        header += [f"{ld}: 1 thread ms", f"{ld}: default ({default_n_threads()}) ms",
                   f"{ld}: default / 1"]
    rows = []
    for r in results:
        row = [r.name, r.sizes]
        for ld in loads:
            s = r.seconds.get(ld)
            if s is None:
                row += ["-", "-", "-"]
            else:
                row += [f"{s['one'] * 1e3:.3f}", f"{s['default'] * 1e3:.3f}",
                        f"{s['default'] / s['one']:.2f}x"]
        rows.append(row)
    from negsamp.bench import render_table

    return render_table(header, rows, markdown)


def to_json(results: List[BusyResult]) -> List[Dict[str, Any]]:
    return [{"operation": r.name, "sizes": r.sizes, "median_seconds": r.seconds,
             "ratio_default_over_one": {ld: r.ratio(ld) for ld in r.seconds}}
            for r in results]
