"""pytest-benchmark groups built from the cases of ``negsamp.bench``.

The workloads (sizes, data, the baseline each is compared with, the peers)
are defined once, in ``negsamp/bench/cases_*.py``, and timed both by
``python -m negsamp.bench`` and here.  A test module sets ``CASES`` to the
``cases`` function of one of those modules and defines a test taking the
``timed`` fixture: it becomes one pytest-benchmark group per case (the
default sizes of ``python -m negsamp.bench``; NEGSAMP_BENCH_FULL=1 for its
``--full`` sizes), one test per callable of the case ("negsamp",
"baseline" and each peer the case can offer).  A case's inputs are built
once for all its callables and freed before the next case.

Run: pytest benchmarks --benchmark-enable
"""
from __future__ import annotations

import os

import pytest


def _names(case):
    return ("negsamp", "baseline") + case.peers


def pytest_generate_tests(metafunc):
    if "bench_case" not in metafunc.fixturenames:
        return
    cases = metafunc.module.CASES(full=os.environ.get("NEGSAMP_BENCH_FULL") == "1")
    # Two parametrisations, so that pytest runs all the callables of a case
    # after one another, with its inputs built once (module scope).
    metafunc.parametrize("bench_case", cases, indirect=True, scope="module",
                         ids=[f"{c.operation} {c.sizes}" for c in cases])
    metafunc.parametrize("impl", list(dict.fromkeys(n for c in cases for n in _names(c))))


def pytest_collection_modifyitems(config, items):
    """Drops the (case, callable) pairs of a callable the case does not have."""
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "bench_case" in params and params["impl"] not in _names(params["bench_case"]):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="module")
def bench_case(request):
    case = request.param
    return case, case.make()  # the same case object for all its callables: built once


@pytest.fixture
def timed(request, bench_case, impl):
    """Calls ``benchmark`` on the case's callable ``impl`` (skipped when the
    case has none of that name: a peer that is not installed)."""
    case, fns = bench_case
    if impl not in fns:
        pytest.skip(f"{impl!r} is not installed")
    pytest.importorskip("pytest_benchmark")
    benchmark = request.getfixturevalue("benchmark")
    benchmark.group = f"{case.operation} {case.sizes}"
    benchmark.extra_info["compared_with"] = case.baseline_name
    return lambda: benchmark(fns[impl])
