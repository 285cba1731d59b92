"""pytest-benchmark groups of sampled_candidates and accidental_hits: one per case of
negsamp/bench/cases_candidates.py, where the workloads are defined (benchmarks/conftest.py)."""
from negsamp.bench import cases_candidates

CASES = cases_candidates.cases


def test_candidates(timed):
    timed()
