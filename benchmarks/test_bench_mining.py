"""pytest-benchmark groups of hard_negatives and topk: one per case of
negsamp/bench/cases_mining.py, where the workloads are defined (benchmarks/conftest.py)."""
from negsamp.bench import cases_mining

CASES = cases_mining.cases


def test_mining(timed):
    timed()
