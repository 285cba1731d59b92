"""pytest-benchmark groups of whole integration calls: one per case of
negsamp/bench/cases_integrations.py, where the workloads are defined (benchmarks/conftest.py)."""
from negsamp.bench import cases_integrations

CASES = cases_integrations.cases


def test_integrations(timed):
    timed()
