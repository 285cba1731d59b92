"""pytest-benchmark groups of NegativeSampler.sample: negsamp, its NumPy
baseline and its peers side by side, one group per case of
negsamp/bench/cases_negative.py (the workloads are defined there; see
benchmarks/conftest.py).  The sizes are the default ones of
``python -m negsamp.bench``; its ``--full`` sizes: NEGSAMP_BENCH_FULL=1.

Run: pytest benchmarks/test_bench_negative.py --benchmark-enable
"""
import os

import pytest

pytest.importorskip("pytest_benchmark")

from negsamp.bench import cases_negative  # noqa: E402

CASES = cases_negative.cases(full=os.environ.get("NEGSAMP_BENCH_FULL") == "1")


def test_negative(timed):
    timed()
