"""negative_edges(out=): NumPy's convention, the same pairs as the allocated
call, every path of the global method (dense, sparse, with replacement,
bipartite)."""
import numpy as np
import pytest

import negsamp
from _helpers import assert_untouched


def graph(n=60, e=400, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, (2, e))


@pytest.mark.parametrize("n_nodes, num, replace", [
    (60, 50, False),       # sparse: distinct codes
    (60, 3000, False),     # dense: ranks by choice
    (60, 500, True),       # with replacement
    ((60, 70), 200, False),  # bipartite
])
def test_out_equals_the_allocated_call(n_nodes, num, replace):
    ei = graph()
    want = negsamp.negative_edges(ei, n_nodes, num, replace=replace, rng=3)
    buf = np.full((2, num), -7, dtype=np.int64)
    got = negsamp.negative_edges(ei, n_nodes, num, replace=replace, rng=3, out=buf)
    assert got is buf
    np.testing.assert_array_equal(buf, want)


@pytest.mark.parametrize("replace", [True, False])
def test_per_source_out_equals_the_allocated_call(replace):
    ei = graph()
    want = negsamp.negative_edges(ei, 60, 7, method="per_source", replace=replace, rng=2)
    buf = np.full((400, 7), -7, dtype=np.int64)
    got = negsamp.negative_edges(ei, 60, 7, method="per_source", replace=replace, rng=2,
                                 out=buf)
    assert got is buf
    np.testing.assert_array_equal(buf, want)


def test_out_is_refused_where_it_cannot_apply_and_checked():
    ei = graph()
    with pytest.raises(ValueError, match=r"out must have shape \(400, 5\)"):
        negsamp.negative_edges(ei, 60, 5, method="per_source", out=np.empty((2, 5), np.int64))
    with pytest.raises(ValueError, match="out= needs up_to=False"):
        negsamp.negative_edges(ei, 60, 5, up_to=True, out=np.empty((2, 5), np.int64))
    with pytest.raises(ValueError, match=r"out must have shape \(2, 5\), got \(5, 2\)"):
        negsamp.negative_edges(ei, 60, 5, out=np.empty((5, 2), np.int64))
    with pytest.raises(TypeError, match="out must have dtype int64"):
        negsamp.negative_edges(ei, 60, 5, out=np.empty((2, 5), np.float64))
    small = np.ascontiguousarray(ei[:, :5], dtype=np.int64)
    with pytest.raises(ValueError, match="out shares memory with an input"):
        negsamp.negative_edges(small, 60, 5, out=small)


def test_out_is_untouched_when_the_graph_is_too_dense():
    ei = np.array([[0, 1], [1, 0]])
    buf = np.full((2, 3), 9, dtype=np.int64)
    with assert_untouched(buf):
        with pytest.raises(ValueError, match="graph too dense"):
            negsamp.negative_edges(ei, 2, 3, out=buf)
