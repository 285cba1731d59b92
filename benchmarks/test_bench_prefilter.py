"""pytest-benchmark groups of the int8 prefilter of hard_negatives: one per case of
negsamp/bench/cases_prefilter.py, where the workloads are defined (benchmarks/conftest.py)."""
from negsamp.bench import cases_prefilter

CASES = cases_prefilter.cases


def test_prefilter(timed):
    timed()
