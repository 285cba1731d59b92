"""pytest-benchmark groups of AliasTable (draws and build): one per case of
negsamp/bench/cases_alias.py, where the workloads are defined (benchmarks/conftest.py)."""
from negsamp.bench import cases_alias

CASES = cases_alias.cases


def test_alias(timed):
    timed()
