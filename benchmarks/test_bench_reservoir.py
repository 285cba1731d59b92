"""pytest-benchmark groups of Reservoir and WeightedReservoir (updates, merges): one per case of
negsamp/bench/cases_reservoir.py, where the workloads are defined (benchmarks/conftest.py)."""
from negsamp.bench import cases_reservoir

CASES = cases_reservoir.cases


def test_reservoir(timed):
    timed()
