"""negative_edges on bipartite graphs, the up_to mode, and count_non_edges."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import negsamp
from _stats import chisquare_pvalue


def brute_candidates(n_nodes, edges, undirected=False, exclude_self_loops=True):
    """Every candidate non-edge pair, by enumeration (the reference)."""
    if isinstance(n_nodes, tuple):
        pairs = itertools.product(range(n_nodes[0]), range(n_nodes[1]))
        edge_set = {tuple(e) for e in edges}
        return sorted(p for p in pairs if p not in edge_set)
    edge_set = set()
    for u, v in edges:
        edge_set.add((u, v))
        if undirected:
            edge_set.add((v, u))
    out = []
    for u in range(n_nodes):
        for v in range(n_nodes):
            if undirected and v < u:
                continue
            if exclude_self_loops and u == v:
                continue
            if (u, v) not in edge_set:
                out.append((u, v))
    return out


graphs = st.one_of(
    st.integers(1, 6).map(lambda n: (n, n)),
    st.tuples(st.integers(1, 5), st.integers(1, 5)),
).flatmap(lambda size: st.tuples(
    st.just(size),
    st.lists(st.tuples(st.integers(0, size[0] - 1), st.integers(0, size[1] - 1)),
             max_size=20),
))


@settings(max_examples=150, deadline=None)
@given(graphs, st.booleans(), st.booleans(), st.booleans())
def test_count_non_edges_matches_enumeration(graph, bipartite, undirected, loops):
    (n_src, n_dst), edges = graph
    if n_src != n_dst:
        bipartite = True
    n_nodes = (n_src, n_dst) if bipartite else n_src
    if bipartite:
        undirected = False
    edge_index = np.array(edges, dtype=np.int64).reshape(-1, 2).T
    expected = len(brute_candidates(n_nodes, edges, undirected, loops))
    got = negsamp.count_non_edges(edge_index, n_nodes, undirected=undirected,
                                  exclude_self_loops=loops)
    assert got == expected


@settings(max_examples=100, deadline=None)
@given(graphs, st.booleans(), st.integers(0, 40), st.integers(0, 2**32))
def test_up_to_returns_every_candidate_at_most_once(graph, bipartite, num, seed):
    (n_src, n_dst), edges = graph
    n_nodes = (n_src, n_dst) if (bipartite or n_src != n_dst) else n_src
    edge_index = np.array(edges, dtype=np.int64).reshape(-1, 2).T
    cands = brute_candidates(n_nodes, edges)
    out = negsamp.negative_edges(edge_index, n_nodes, num, up_to=True, rng=seed)
    assert out.shape == (2, min(num, len(cands)))
    pairs = [tuple(p) for p in out.T.tolist()]
    assert len(set(pairs)) == len(pairs)
    assert set(pairs) <= set(cands)
    if num >= len(cands):
        assert set(pairs) == set(cands)


def test_bipartite_global_is_uniform_over_non_edges():
    n_nodes = (3, 4)
    edges = [(0, 0), (0, 1), (1, 2), (2, 3)]
    edge_index = np.array(edges).T
    cands = brute_candidates(n_nodes, edges)
    index = {p: i for i, p in enumerate(cands)}
    out = negsamp.negative_edges(edge_index, n_nodes, 40_000, replace=True, rng=5)
    assert out[0].max() < 3 and out[1].max() < 4
    counts = np.bincount([index[tuple(p)] for p in out.T.tolist()], minlength=len(cands))
    assert chisquare_pvalue(counts, np.ones(len(cands))) > 1e-4
    # Without replacement: the first pair of each call is uniform too.
    first = np.zeros(len(cands), dtype=np.int64)
    rng = np.random.default_rng(6)
    for _ in range(4000):
        pair = negsamp.negative_edges(edge_index, n_nodes, 3, rng=rng)[:, 0]
        first[index[tuple(pair.tolist())]] += 1
    assert chisquare_pvalue(first, np.ones(len(cands))) > 1e-4


def test_bipartite_global_fails_a_wrong_sampler():
    """The fit test above has the power to see a sampler that forgets the
    bipartite shape (codes as if the graph had max(n_src, n_dst) nodes)."""
    n_nodes = (3, 4)
    edges = [(0, 0), (0, 1), (1, 2), (2, 3)]
    cands = brute_candidates(n_nodes, edges)
    rng = np.random.default_rng(5)
    wrong = rng.integers(0, len(cands) + 2, size=40_000) % len(cands)  # skewed
    counts = np.bincount(wrong, minlength=len(cands))
    assert chisquare_pvalue(counts, np.ones(len(cands))) < 1e-4


def test_bipartite_per_source_rows_are_uniform_over_non_neighbours():
    n_nodes = (2, 6)
    edge_index = np.array([[0, 0, 1], [1, 4, 5]])
    out = negsamp.negative_edges(edge_index, n_nodes, 3000, method="per_source",
                                 replace=True, rng=2)
    assert out.shape == (3, 3000)
    for row, u in zip(out, edge_index[0]):
        allowed = sorted(set(range(6)) - set(edge_index[1][edge_index[0] == u]))
        assert set(np.unique(row)) == set(allowed)
        counts = np.bincount(row, minlength=6)[allowed]
        assert chisquare_pvalue(counts, np.ones(len(allowed))) > 1e-4


def test_bipartite_same_seed_same_output_whatever_the_threads():
    rng = np.random.default_rng(0)
    edge_index = np.stack([rng.integers(0, 500, 3000), rng.integers(0, 70, 3000)])
    outs = [negsamp.negative_edges(edge_index, (500, 70), 5000, rng=9, n_threads=t)
            for t in (1, 2)]
    np.testing.assert_array_equal(outs[0], outs[1])


def test_up_to_on_a_complete_graph_returns_nothing():
    edge_index = np.array([[0, 0, 1, 1], [0, 1, 0, 1]])
    assert negsamp.count_non_edges(edge_index, (2, 2)) == 0
    for replace in (False, True):
        out = negsamp.negative_edges(edge_index, (2, 2), 5, up_to=True, replace=replace)
        assert out.shape == (2, 0) and out.dtype == np.int64
    with pytest.raises(ValueError, match=r"graph too dense: 0 non-edge pairs among 4 "
                                         r"candidate pairs of 2 x 2 bipartite nodes"):
        negsamp.negative_edges(edge_index, (2, 2), 5)


def test_up_to_with_replacement_keeps_the_count():
    edge_index = np.array([[0], [1]])
    out = negsamp.negative_edges(edge_index, 3, 50, replace=True, up_to=True, rng=1)
    assert out.shape == (2, 50)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_nodes=(3, 4, 5)), r"n_nodes must be an int or a pair \(n_src, n_dst\), "
                              r"got a tuple of length 3"),
    (dict(n_nodes=(3, 0)), r"n_nodes\[1\] \(destinations\) must be >= 1, got 0"),
    (dict(n_nodes=(3.0, 4)), r"n_nodes\[0\] \(sources\) must be an int, got 3.0"),
    (dict(n_nodes=(2**40, 2**40)), r"n_nodes=\(1099511627776, 1099511627776\) is too "
                                   r"large: n_src \* n_dst must fit in int64"),
    (dict(n_nodes=(3, 4), undirected=True), r"undirected=True needs one node set"),
    (dict(n_nodes=(3, 2)), r"edge_index must hold destination ids in \[0, 2\), got 3 "
                           r"in edge 3 \(2, 3\)"),
    (dict(n_nodes=(2, 4)), r"edge_index must hold source ids in \[0, 2\), got 2 "
                           r"in edge 3 \(2, 3\)"),
    (dict(n_nodes=4, method="per_source", up_to=True), r'up_to=True needs method="global"'),
    (dict(n_nodes=4, up_to=1), r"up_to must be True or False, got 1"),
])
def test_bad_bipartite_and_up_to_arguments(kwargs, match):
    edge_index = np.array([[0, 0, 1, 2], [0, 1, 2, 3]])
    before = edge_index.copy()
    kwargs = dict(kwargs)
    n_nodes = kwargs.pop("n_nodes")
    with pytest.raises((ValueError, TypeError), match=match):
        negsamp.negative_edges(edge_index, n_nodes, 2, **kwargs)
    np.testing.assert_array_equal(edge_index, before)


def test_count_non_edges_bad_input():
    with pytest.raises(ValueError, match=r"edge_index must have shape \(2, E\), got shape \(3,\)"):
        negsamp.count_non_edges(np.array([0, 1, 2]), 3)
    with pytest.raises(TypeError, match=r"exclude_self_loops must be True or False, got None"):
        negsamp.count_non_edges(np.array([[0], [1]]), 3, exclude_self_loops=None)
