"""negative_edges: exact uniform non-edges, global and per source."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import negsamp
from negsamp import _graph
from negsamp.baselines import negative_edges_numpy

from _helpers import assert_threads_match_serial, assert_untouched
from _stats import chisquare_pvalue


def _edge_set(edge_index, undirected):
    s = set()
    for u, v in np.asarray(edge_index).T.tolist():
        s.add((u, v))
        if undirected:
            s.add((v, u))
    return s


def _non_edges(edge_index, n, undirected, exclude_self_loops):
    """Brute-force candidate non-edge pairs, canonical when undirected."""
    edges = _edge_set(edge_index, undirected)
    out = []
    for u, v in itertools.product(range(n), repeat=2):
        if undirected and u > v:
            continue
        if exclude_self_loops and u == v:
            continue
        if (u, v) not in edges:
            out.append((u, v))
    return out


def _random_graph(seed, n, e):
    return np.random.default_rng(seed).integers(0, n, (2, e))


SMALL = np.array([[0, 1, 2, 3, 3, 4], [1, 2, 0, 3, 0, 4]])  # has self loops 3-3, 4-4


@pytest.mark.parametrize("undirected", [False, True])
@pytest.mark.parametrize("exclude_self_loops", [True, False])
@pytest.mark.parametrize("replace", [False, True])
def test_global_valid(undirected, exclude_self_loops, replace):
    ei = _random_graph(0, 40, 300)
    out = negsamp.negative_edges(ei, 40, 500, undirected=undirected,
                                 exclude_self_loops=exclude_self_loops,
                                 replace=replace, rng=1)
    assert out.shape == (2, 500) and out.dtype == np.int64
    edges = _edge_set(ei, undirected)
    pairs = list(map(tuple, out.T.tolist()))
    assert not any(p in edges for p in pairs)
    if exclude_self_loops:
        assert (out[0] != out[1]).all()
    if undirected:
        assert (out[0] <= out[1]).all()
    if not replace:
        assert len(set(pairs)) == 500
    assert ((out >= 0) & (out < 40)).all()


@pytest.mark.parametrize("undirected", [False, True])
@pytest.mark.parametrize("exclude_self_loops", [True, False])
@pytest.mark.parametrize("replace", [True, False])
def test_global_uniform(undirected, exclude_self_loops, replace):
    n = 6
    cands = _non_edges(SMALL, n, undirected, exclude_self_loops)
    index = {p: i for i, p in enumerate(cands)}
    counts = np.zeros(len(cands))
    first = np.zeros(len(cands))
    # Enough calls that the first-position counts have >= 5 expected per
    # candidate (a fit over one pooled bin would test nothing).
    size = 4 if not replace else 40
    reps = 3000 if not replace else 600
    gen = np.random.default_rng(7)
    for _ in range(reps):
        out = negsamp.negative_edges(SMALL, n, size, undirected=undirected,
                                     exclude_self_loops=exclude_self_loops,
                                     replace=replace, rng=gen)
        ids = [index[p] for p in map(tuple, out.T.tolist())]
        np.add.at(counts, ids, 1)
        first[ids[0]] += 1
    uniform = np.ones(len(cands))
    assert chisquare_pvalue(counts, uniform) > 1e-4
    assert chisquare_pvalue(first, uniform) > 1e-4
    # Each candidate at most once per draw without replacement: inclusion
    # frequency is size / len(cands) exactly; the chi-square above checks it.


def test_global_distinct_paths_uniform():
    # n_free = 50 - 5 = 45: size 10 takes the sparse rejection path (45 > 20),
    # size 30 the dense exact-choice path.  Both give uniform inclusion and a
    # uniform first pair.
    n = 10
    ei = np.array([[0, 1, 2, 3, 4], [1, 2, 3, 4, 5]])
    cands = _non_edges(ei, n, True, True)
    assert len(cands) == 40
    index = {p: i for i, p in enumerate(cands)}
    gen = np.random.default_rng(3)
    for size in (10, 30):
        counts = np.zeros(len(cands))
        last = np.zeros(len(cands))
        for _ in range(1500):
            out = negsamp.negative_edges(ei, n, size, undirected=True, rng=gen)
            ids = [index[p] for p in map(tuple, out.T.tolist())]
            assert len(set(ids)) == size
            np.add.at(counts, ids, 1)
            last[ids[-1]] += 1
        assert chisquare_pvalue(counts, np.ones(len(cands))) > 1e-4
        assert chisquare_pvalue(last, np.ones(len(cands))) > 1e-4


def test_global_uniform_test_detects_a_wrong_law():
    # Sanity of the threshold: the edges themselves added as candidates make
    # the law non-uniform over the non-edges, and the chi-square sees it.
    n = 6
    cands = _non_edges(SMALL, n, False, True)
    counts = np.bincount(np.random.default_rng(0).integers(0, len(cands) + 3, 20000)
                         .clip(0, len(cands) - 1), minlength=len(cands))
    assert chisquare_pvalue(counts, np.ones(len(cands))) < 1e-4


def test_undirected_symmetric_exclusion():
    ei = np.array([[0, 2], [1, 1]])  # 0-1 and 2-1
    out = negsamp.negative_edges(ei, 3, 1000, undirected=True, replace=True, rng=0)
    assert set(map(tuple, out.T.tolist())) == {(0, 2)}
    out = negsamp.negative_edges(ei, 3, 1000, replace=True, rng=0)
    assert set(map(tuple, out.T.tolist())) == {(1, 0), (0, 2), (2, 0), (1, 2)}


def test_self_loops_allowed_when_asked():
    ei = np.array([[0, 1], [1, 0]])
    out = negsamp.negative_edges(ei, 2, 2, exclude_self_loops=False, rng=0)
    assert set(map(tuple, out.T.tolist())) == {(0, 0), (1, 1)}
    ei = np.array([[0, 1, 1], [1, 0, 1]])
    out = negsamp.negative_edges(ei, 2, 5, exclude_self_loops=False, replace=True, rng=0)
    assert set(map(tuple, out.T.tolist())) == {(0, 0)}


def test_too_dense_raises_with_numbers():
    complete = np.array([(u, v) for u in range(4) for v in range(4) if u != v]).T
    with pytest.raises(ValueError, match=r"0 non-edge pairs among 12"):
        negsamp.negative_edges(complete, 4, 1, rng=0)
    with pytest.raises(ValueError, match=r"0 non-edge pairs"):
        negsamp.negative_edges(complete, 4, 1, replace=True, rng=0)
    with pytest.raises(ValueError, match=r"3 non-edge pairs among 6 .* num_samples=4"):
        negsamp.negative_edges(SMALL[:, :3], 4, 4, undirected=True, rng=0)
    assert negsamp.negative_edges(SMALL[:, :3], 4, 3, undirected=True, rng=0).shape == (2, 3)
    assert negsamp.negative_edges(complete, 4, 0, rng=0).shape == (2, 0)


def test_exact_count_all_non_edges():
    ei = _random_graph(2, 15, 150)
    cands = _non_edges(ei, 15, False, True)
    out = negsamp.negative_edges(ei, 15, len(cands), rng=0)
    assert sorted(map(tuple, out.T.tolist())) == sorted(cands)


@pytest.mark.parametrize("undirected", [False, True])
@pytest.mark.parametrize("replace", [True, False])
def test_per_source_valid(undirected, replace):
    ei = _random_graph(3, 50, 400)
    out = negsamp.negative_edges(ei, 50, 12, method="per_source", undirected=undirected,
                                 replace=replace, rng=4)
    assert out.shape == (400, 12) and out.dtype == np.int64
    edges = _edge_set(ei, undirected)
    for i, u in enumerate(ei[0].tolist()):
        row = out[i].tolist()
        assert all((u, v) not in edges and v != u for v in row)
        if not replace:
            assert len(set(row)) == 12


def _per_source(keyed, ei, n, k, **kw):
    """negative_edges(method="per_source"), or its keyed variant: each edge
    repeated 100 times with consecutive keys, k / 100 draws each, regrouped
    to the same (E, k) shape (the same law, over many row streams)."""
    if not keyed:
        return negsamp.negative_edges(ei, n, k, method="per_source", **kw)
    reps = np.repeat(ei, 100, axis=1)
    out = negsamp.negative_edges(reps, n, k // 100, method="per_source",
                                 keys=np.arange(reps.shape[1]), **kw)
    return out.reshape(ei.shape[1], k)


@pytest.mark.parametrize("keyed", [False, True])
def test_per_source_uniform_and_self_loops(keyed):
    ei = np.array([[0, 0, 0, 2], [1, 2, 0, 0]])
    n = 7
    out = _per_source(keyed, ei, n, 6000, replace=True, rng=8)
    law0 = np.array([0, 0, 0, 1, 1, 1, 1], float)  # 0->0 is an edge too
    assert chisquare_pvalue(np.bincount(out[0], minlength=n), law0) > 1e-4
    law2 = np.array([0, 1, 0, 1, 1, 1, 1], float)
    assert chisquare_pvalue(np.bincount(out[3], minlength=n), law2) > 1e-4
    out = _per_source(keyed, ei, n, 6000, replace=True, exclude_self_loops=False,
                      undirected=True, rng=8)
    # Undirected: 2 sees 0 (edge 0-2); self loop 2-2 allowed.
    law2u = np.array([0, 1, 1, 1, 1, 1, 1], float)
    assert chisquare_pvalue(np.bincount(out[3], minlength=n), law2u) > 1e-4


def test_per_source_too_dense():
    ei = np.array([[0, 0, 0], [1, 2, 3]])
    with pytest.raises(ValueError, match=r"source node 0 .* 1 non-neighbours"):
        negsamp.negative_edges(ei, 5, 2, method="per_source", rng=0)
    out = negsamp.negative_edges(ei, 5, 3, method="per_source", replace=True, rng=0)
    assert (out == 4).all()
    with pytest.raises(ValueError, match=r"source node 0 .* 0 non-neighbours"):
        negsamp.negative_edges(ei, 4, 1, method="per_source", replace=True, rng=0)


@pytest.mark.parametrize("method, replace", [("global", False), ("global", True),
                                             ("per_source", True), ("per_source", False)])
def test_threads_identical(method, replace):
    ei = _random_graph(5, 3000, 40_000)
    num = 50_000 if method == "global" else 5
    a = negsamp.negative_edges(ei, 3000, num, method=method, replace=replace, rng=3,
                               n_threads=1)
    b = negsamp.negative_edges(ei, 3000, num, method=method, replace=replace, rng=3,
                               n_threads=2)
    np.testing.assert_array_equal(a, b)


def test_rng_reproducible_and_advances():
    ei = _random_graph(6, 100, 500)
    a = negsamp.negative_edges(ei, 100, 50, rng=9)
    b = negsamp.negative_edges(ei, 100, 50, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)
    gen = np.random.default_rng(1)
    assert not np.array_equal(negsamp.negative_edges(ei, 100, 50, rng=gen),
                              negsamp.negative_edges(ei, 100, 50, rng=gen))


# Golden values: tests/data/golden_negative_edges.json, computed by the
# pure-Python reference (tests/test_goldens.py).


def test_caller_arrays_untouched():
    ei = _random_graph(7, 30, 100)
    ei32 = np.asfortranarray(ei.astype(np.int32))
    with assert_untouched(ei, ei32):
        negsamp.negative_edges(ei, 30, 40, undirected=True, rng=0)
        negsamp.negative_edges(ei32, 30, 4, method="per_source", undirected=True, rng=0)


@pytest.mark.parametrize(
    "kwargs, exc, text",
    [
        (dict(edge_index=np.zeros((3, 4), int)), ValueError, "edge_index"),
        (dict(edge_index=np.zeros(4, int)), ValueError, "edge_index"),
        (dict(edge_index=np.zeros((2, 4))), TypeError, "edge_index"),
        (dict(edge_index=np.array([[0, 1], [2, 10]])), ValueError, r"edge 1 \(1, 10\)"),
        (dict(edge_index=np.array([[0, -1], [2, 3]])), ValueError, "edge_index"),
        (dict(edge_index="ab"), TypeError, "edge_index"),
        (dict(n_nodes=0), ValueError, "n_nodes"),
        (dict(n_nodes=3.0), TypeError, "n_nodes"),
        (dict(n_nodes=2**40), ValueError, "n_nodes"),
        (dict(num_samples=-1), ValueError, "num_samples"),
        (dict(num_samples=1.5), TypeError, "num_samples"),
        (dict(method="local"), ValueError, "method"),
        (dict(undirected=1), TypeError, "undirected"),
        (dict(replace="no"), TypeError, "replace"),
        (dict(exclude_self_loops=None), TypeError, "exclude_self_loops"),
        (dict(n_threads=0), ValueError, "n_threads"),
        (dict(rng=1.5), TypeError, "rng"),
    ],
)
def test_bad_inputs(kwargs, exc, text):
    args = dict(edge_index=np.array([[0, 1], [2, 3]]), n_nodes=5, num_samples=2)
    args.update(kwargs)
    with pytest.raises(exc, match=text):
        negsamp.negative_edges(args.pop("edge_index"), args.pop("n_nodes"),
                               args.pop("num_samples"), **args)


def test_empty_graph():
    out = negsamp.negative_edges(np.zeros((2, 0), dtype=np.int64), 3, 6, rng=0)
    assert sorted(map(tuple, out.T.tolist())) == [(u, v) for u in range(3)
                                                  for v in range(3) if u != v]
    assert negsamp.negative_edges(np.zeros((2, 0), int), 3, 2,
                                  method="per_source").shape == (0, 2)


def test_python_threads():
    ei = _random_graph(8, 500, 5000)
    assert_threads_match_serial(lambda s: negsamp.negative_edges(ei, 500, 3000, rng=s), 4)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 40, 3037000499])
@pytest.mark.parametrize("undirected", [False, True])
@pytest.mark.parametrize("no_self_loops", [False, True])
def test_pair_codes_round_trip(n, undirected, no_self_loops):
    size = _graph.pair_space(n, undirected, no_self_loops)
    if n <= 40:
        pairs = [(u, v) for u in range(n) for v in range(n)
                 if not (no_self_loops and u == v) and not (undirected and u > v)]
        assert size == len(pairs)
        if size == 0:
            return
        codes = np.arange(size, dtype=np.int64)
        dec = _graph.decode(n, undirected, no_self_loops, codes, 1)
        assert list(map(tuple, dec.T.tolist())) == pairs
    else:
        codes = np.array([0, 1, size // 3, size // 2, size - 2, size - 1], dtype=np.int64)
        dec = _graph.decode(n, undirected, no_self_loops, codes, 2)
    enc = _graph.encode(n, undirected, no_self_loops, dec[0].copy(), dec[1].copy(), 1)
    np.testing.assert_array_equal(enc, codes)
    if undirected:
        enc = _graph.encode(n, undirected, no_self_loops, dec[1].copy(), dec[0].copy(), 1)
        np.testing.assert_array_equal(enc, codes)


def test_baseline_is_valid():
    ei = _random_graph(9, 30, 200)
    edges = _edge_set(ei, False)
    out = negative_edges_numpy(ei, 30, 300, rng=0)
    pairs = list(map(tuple, out.T.tolist()))
    assert len(set(pairs)) == 300 and not any(p in edges for p in pairs)
    assert all(u != v for u, v in pairs)
    out = negative_edges_numpy(ei, 30, 8, method="per_source", rng=0)
    for i, u in enumerate(ei[0].tolist()):
        row = out[i].tolist()
        assert len(set(row)) == 8 and all((u, v) not in edges and v != u for v in row)


def _graph_cases(max_edges, max_num):
    """Strategies of the property tests: n <= 8 nodes, edges (taken mod n),
    the sample size and every option."""
    return dict(
        n=st.integers(1, 8),
        edges=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=max_edges),
        num=st.integers(0, max_num),
        undirected=st.booleans(),
        exclude_self_loops=st.booleans(),
        replace=st.booleans(),
        seed=st.integers(0, 2**32 - 1),
    )


def _edge_index(edges, n):
    return np.array([[u % n for u, _ in edges], [v % n for _, v in edges]],
                    dtype=np.int64).reshape(2, -1)


@settings(max_examples=80, deadline=None)
@given(**_graph_cases(max_edges=40, max_num=70))
def test_property_global(n, edges, num, undirected, exclude_self_loops, replace, seed):
    ei = _edge_index(edges, n)
    cands = set(_non_edges(ei, n, undirected, exclude_self_loops))
    too_dense = num > 0 and (not cands or (not replace and num > len(cands)))
    if too_dense:
        with pytest.raises(ValueError, match="too dense"):
            negsamp.negative_edges(ei, n, num, undirected=undirected,
                                   exclude_self_loops=exclude_self_loops,
                                   replace=replace, rng=seed)
        return
    out = negsamp.negative_edges(ei, n, num, undirected=undirected,
                                 exclude_self_loops=exclude_self_loops,
                                 replace=replace, rng=seed)
    pairs = list(map(tuple, out.T.tolist()))
    assert out.shape == (2, num)
    assert all(p in cands for p in pairs)
    if not replace:
        assert len(set(pairs)) == num
        if num == len(cands):
            assert set(pairs) == cands
    elif num > 0 and len(cands) <= 8:
        many = negsamp.negative_edges(ei, n, 400, undirected=undirected,
                                      exclude_self_loops=exclude_self_loops,
                                      replace=True, rng=seed)
        assert set(map(tuple, many.T.tolist())) == cands


@settings(max_examples=80, deadline=None)
@given(**_graph_cases(max_edges=30, max_num=9))
def test_property_per_source(n, edges, num, undirected, exclude_self_loops, replace, seed):
    ei = _edge_index(edges, n)
    eset = _edge_set(ei, undirected)

    def allowed(u):
        return {v for v in range(n) if (u, v) not in eset
                and not (exclude_self_loops and u == v)}

    need = 1 if replace else num
    short = num > 0 and any(len(allowed(u)) < need for u in ei[0].tolist())
    kwargs = dict(method="per_source", undirected=undirected,
                  exclude_self_loops=exclude_self_loops, replace=replace, rng=seed)
    if short:
        with pytest.raises(ValueError, match="too dense"):
            negsamp.negative_edges(ei, n, num, **kwargs)
        return
    out = negsamp.negative_edges(ei, n, num, **kwargs)
    assert out.shape == (ei.shape[1], num)
    for i, u in enumerate(ei[0].tolist()):
        row = out[i].tolist()
        assert set(row) <= allowed(u)
        if not replace:
            assert len(set(row)) == num
    if replace and num > 0 and ei.shape[1]:
        # Every allowed destination is reachable (miss probability < 1e-9).
        many = negsamp.negative_edges(ei, n, 150, **kwargs)
        for i, u in enumerate(ei[0].tolist()):
            assert set(many[i].tolist()) == allowed(u)
