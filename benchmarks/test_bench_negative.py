"""pytest-benchmark groups of NegativeSampler.sample: one per case of
negsamp/bench/cases_negative.py, where the workloads are defined (benchmarks/conftest.py)."""
from negsamp.bench import cases_negative

CASES = cases_negative.cases


def test_negative(timed):
    timed()
