"""pytest-benchmark groups of hard-negative mining and topk: negsamp, its NumPy
baseline and its peers side by side, one group per case of
negsamp/bench/cases_mining.py (the workloads are defined there; see
benchmarks/conftest.py).  The sizes are the default ones of
``python -m negsamp.bench``; its ``--full`` sizes: NEGSAMP_BENCH_FULL=1.

Run: pytest benchmarks/test_bench_mining.py --benchmark-enable
"""
import os

import pytest

pytest.importorskip("pytest_benchmark")

from negsamp.bench import cases_mining  # noqa: E402

CASES = cases_mining.cases(full=os.environ.get("NEGSAMP_BENCH_FULL") == "1")


def test_mining(timed):
    timed()
