"""Hypothesis settings: CI runs (CI=true) use a fixed derandomised search so
that a green run can be repeated exactly; local runs keep exploring new
examples."""
import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True, scope="session")
def _threads_even_for_small_inputs():
    """Every parallel loop of the suite's (small) inputs runs on the thread
    pool, not only those above the work thresholds users hit, so that the
    1-vs-N-thread tests exercise the threaded paths.  Child processes the
    tests start (thresholds, fork, Ctrl-C) keep the real thresholds."""
    from negsamp import _negsamp_runtime

    _negsamp_runtime._set_min_chunks_for_tests(1)
    yield
    _negsamp_runtime._set_min_chunks_for_tests(0)
