"""pytest-benchmark groups of corrupt_triples and negative_edges: one per case of
negsamp/bench/cases_graphs.py, where the workloads are defined (benchmarks/conftest.py)."""
from negsamp.bench import cases_graphs

CASES = cases_graphs.cases


def test_graphs(timed):
    timed()
