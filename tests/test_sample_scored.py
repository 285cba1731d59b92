"""Tests of NegativeSampler.sample_scored: candidate pools drawn from the
row's law, scored by dot products, the top k or a Gumbel top-k kept."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from negsamp import _law
from negsamp.negative import NegativeSampler

from _helpers import assert_threads_match_serial, assert_untouched
from _stats import chisquare_pvalue


def top_reference(sampler, rows, k, pool, queries, items, rng, replace):
    """The pool that sample() draws with the same rng state, its distinct ids
    scored in float64 (exact for the small integer vectors used), rounded to
    the vectors' dtype, sorted by (score desc, id asc); d < k distinct ids
    are repeated in that order.  Also the log q of each id kept."""
    cand, lq = sampler.sample(rows, pool, rng=rng, replace=replace, return_log_q=True)
    ids = np.empty((len(rows), k), dtype=np.int64)
    scores = np.empty((len(rows), k), dtype=items.dtype)
    log_q = np.empty((len(rows), k))
    for i in range(len(rows)):
        u, first = np.unique(cand[i], return_index=True)
        s = (items[u].astype(np.float64) @ queries[i].astype(np.float64)).astype(items.dtype)
        order = np.lexsort((u, -s.astype(np.float64)))
        slots = order[np.arange(k) % u.shape[0]]
        ids[i], scores[i], log_q[i] = u[slots], s[slots], lq[i, first[slots]]
    return ids, scores, log_q


def small_sampler(n, gen, weighted, n_rows=6, max_pos=None):
    max_pos = n - 1 if max_pos is None else max_pos
    pos = [gen.choice(n, int(gen.integers(0, max_pos + 1)), replace=False) for _ in range(n_rows)]
    w = gen.integers(0, 5, n).astype(np.float64) if weighted else None
    if weighted:
        w[gen.integers(0, n)] = 3.0
        for p in pos:  # each row keeps an item of positive weight
            free = np.setdiff1d(np.arange(n), p)
            w[free[0]] = max(w[free[0]], 1.0)
    return NegativeSampler(n, weights=w, positives=pos)


# ------------------------------------------------------------ top k = NumPy
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 40), d=st.integers(1, 11),
       pool=st.integers(1, 30), k_frac=st.floats(0, 1), weighted=st.booleans(),
       replace=st.booleans(), f32=st.booleans())
def test_top_equals_numpy_reference(seed, n, d, pool, k_frac, weighted, replace, f32):
    gen = np.random.default_rng(seed)
    # without replacement every row needs `pool` eligible items
    max_pos = n - 1 if replace else max(n - pool, 0)
    if not replace and pool > n:
        pool = n
    s = small_sampler(n, gen, weighted, max_pos=max_pos)
    if not replace:
        eligible = min(int((s.row_probabilities(r) > 0).sum()) for r in range(6))
        pool = min(pool, eligible)
    k = int(round(k_frac * pool))
    rows = gen.integers(0, 6, 300)
    dtype = np.float32 if f32 else np.float64
    # small integers: every dot product is exact, and ties are frequent
    items = gen.integers(-2, 3, (n, d)).astype(dtype)
    queries = gen.integers(-2, 3, (rows.shape[0], d)).astype(dtype)
    ids, scores, log_q = s.sample_scored(rows, k, pool=pool, query_vectors=queries,
                                         item_vectors=items, replace=replace, rng=seed,
                                         return_log_q=True)
    want = top_reference(s, rows, k, pool, queries, items, seed, replace)
    assert ids.dtype == np.int64 and scores.dtype == dtype and log_q.dtype == np.float64
    np.testing.assert_array_equal(ids, want[0])
    np.testing.assert_array_equal(scores, want[1])
    np.testing.assert_array_equal(log_q, want[2])
    for i, r in enumerate(rows):  # never a positive
        assert not np.isin(ids[i], s.positives.row(r)).any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("replace", [True, False])
def test_top_random_vectors(dtype, replace):
    gen = np.random.default_rng(3)
    n, d = 3000, 37
    pos = [gen.choice(n, int(gen.integers(0, 80)), replace=False) for _ in range(200)]
    s = NegativeSampler(weights=1.0 / np.arange(1, n + 1), positives=pos)
    rows = gen.integers(0, 200, 700)
    items = gen.standard_normal((n, d)).astype(dtype)
    queries = gen.standard_normal((rows.shape[0], d)).astype(dtype)
    ids, scores = s.sample_scored(rows, 6, pool=40, query_vectors=queries,
                                  item_vectors=items, replace=replace, rng=11)
    want_ids, want_scores, _ = top_reference(s, rows, 6, 40, queries, items, 11, replace)
    np.testing.assert_array_equal(ids, want_ids)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(scores, want_scores, rtol=rtol, atol=rtol)
    assert (np.diff(scores.astype(np.float64), axis=1) <= 0).all()  # best first


def test_ties_go_to_the_lower_id_and_short_pools_repeat():
    # Row 0: items 0..5 eligible, all scored alike: the lowest ids win.
    s = NegativeSampler(8, positives=[[6, 7], np.arange(2, 8)])
    items = np.ones((8, 3))
    rows = np.zeros(50, dtype=np.int64)
    ids, scores = s.sample_scored(rows, 3, pool=6, query_vectors=np.ones((50, 3)),
                                  item_vectors=items, replace=False, rng=0)
    assert (ids == [0, 1, 2]).all() and (scores == 3.0).all()
    # Row 1: only items 0 and 1 are eligible: a pool of 8 has at most 2
    # distinct ids, repeated in order (best first) in the k = 5 slots.
    items = np.arange(8, dtype=np.float64)[:, None]
    ids, scores = s.sample_scored(np.ones(200, dtype=np.int64), 5, pool=8,
                                  query_vectors=np.ones((200, 1)), item_vectors=items, rng=1)
    two = (ids == [1, 0, 1, 0, 1]).all(axis=1)
    only = [(ids == c).all(axis=1) for c in (0, 1)]
    assert (two | only[0] | only[1]).all()
    assert two.mean() > 0.95  # a pool of 8 misses one of the two with p = 2 / 2**8
    np.testing.assert_array_equal(scores, ids.astype(np.float64))


def test_one_eligible_item_is_returned_k_times():
    s = NegativeSampler(5, positives=[[0, 1, 2, 4]])
    ids, _ = s.sample_scored([0, 0], 3, pool=4, query_vectors=np.ones((2, 2)),
                             item_vectors=np.ones((5, 2)), rng=0, select="softmax")
    assert (ids == 3).all()


# ----------------------------------------------------- softmax: exact law
def softmax_law(q, scores, temperature, pool, k, replace):
    """Exact law of the ordered output of sample_scored(select="softmax"):
    over every pool sequence (q its single-draw law; without replacement
    successive draws), Plackett-Luce draws of k among the distinct ids with
    weights exp(score / temperature) (``multiplicity``: weights times the
    number of copies, the law a wrong sampler would have)."""
    eligible = [i for i in range(len(q)) if q[i] > 0]
    law, wrong = {}, {}
    if replace:
        seqs = ((seq, np.prod([q[i] for i in seq]))
                for seq in itertools.product(eligible, repeat=pool))
    else:
        def prob(seq):
            p, left = 1.0, 1.0
            for i in seq:
                p *= q[i] / left
                left -= q[i]
            return p
        seqs = ((seq, prob(seq)) for seq in itertools.permutations(eligible, pool))
    for seq, p_seq in seqs:
        for table, mult in ((law, False), (wrong, True)):
            distinct = sorted(set(seq))
            w = {c: np.exp(scores[c] / temperature) * (seq.count(c) if mult else 1)
                 for c in distinct}
            for order in itertools.permutations(distinct, min(k, len(distinct))):
                p, left = p_seq, sum(w.values())
                for c in order:
                    p *= w[c] / left
                    left -= w[c]
                out = tuple(order[j % len(order)] for j in range(k))
                table[out] = table.get(out, 0.0) + p
    return law, wrong


@pytest.mark.parametrize("replace, k", [(True, 2), (False, 2), (True, 3)])
def test_softmax_law_against_enumeration(replace, k):
    n, pool, temperature = 6, 3, 0.7
    weights = np.array([3.0, 1.0, 2.0, 0.0, 4.0, 1.5])
    s = NegativeSampler(weights=weights, positives=[[1]])
    q = s.row_probabilities(0)
    items = np.array([[0.9], [5.0], [0.1], [1.0], [-0.6], [0.4]])
    scores = items[:, 0]
    law, wrong = softmax_law(q, scores, temperature, pool, k, replace)
    outcomes = sorted(law)
    probs = np.array([law[o] for o in outcomes])
    assert abs(probs.sum() - 1) < 1e-12
    n_draws = 60_000
    ids, got_scores = s.sample_scored(
        np.zeros(n_draws, dtype=np.int64), k, pool=pool, select="softmax",
        temperature=temperature, query_vectors=np.ones((n_draws, 1)), item_vectors=items,
        replace=replace, rng=2024)
    np.testing.assert_array_equal(got_scores, scores[ids])
    index = {o: j for j, o in enumerate(outcomes)}
    counts = np.bincount([index[tuple(r)] for r in ids.tolist()], minlength=len(outcomes))
    assert chisquare_pvalue(counts, probs) > 1e-4
    if replace:  # the test tells duplicates counted once from counted by copies
        wrong_probs = np.array([wrong.get(o, 0.0) for o in outcomes])
        assert chisquare_pvalue(counts, wrong_probs) < 1e-6


def test_softmax_temperature_moves_the_law():
    """A huge temperature: a uniform pick among the pool's distinct ids; a
    tiny one: the top k."""
    gen = np.random.default_rng(5)
    n, d = 400, 8
    s = NegativeSampler(n, positives=[gen.choice(n, 30, replace=False)])
    items = gen.standard_normal((n, d))
    rows = np.zeros(3000, dtype=np.int64)
    queries = np.tile(gen.standard_normal(d), (3000, 1))
    args = dict(pool=20, query_vectors=queries, item_vectors=items, replace=False, rng=8)
    top, _ = s.sample_scored(rows, 4, **args)
    cold, _ = s.sample_scored(rows, 4, select="softmax", temperature=1e-9, **args)
    np.testing.assert_array_equal(cold, top)
    hot, _ = s.sample_scored(rows, 1, select="softmax", temperature=1e9, **args)
    pool = s.sample(rows, 20, rng=8, replace=False)
    position = (pool == hot).argmax(axis=1)  # uniform over the 20 slots
    assert chisquare_pvalue(np.bincount(position, minlength=20), np.full(20, 0.05)) > 1e-4


# ------------------------------------------------- structure and threads
@pytest.mark.parametrize("select", ["top", "softmax"])
@pytest.mark.parametrize("replace", [True, False])
def test_first_ids_do_not_depend_on_k(select, replace):
    """The noise is a function of the row and the id: k = 3 gives the first
    three of k = 20 (duplicates found by a heap scan for k <= 16, by a hash
    set above)."""
    gen = np.random.default_rng(6)
    n = 45
    s = NegativeSampler(n, positives=[gen.choice(n, 10, replace=False) for _ in range(5)])
    rows = gen.integers(0, 5, 600)
    items = gen.standard_normal((n, 4)).astype(np.float32)
    queries = gen.standard_normal((600, 4)).astype(np.float32)
    args = dict(pool=30, query_vectors=queries, item_vectors=items, select=select,
                replace=replace, return_log_q=True)
    small = s.sample_scored(rows, 3, rng=9, **args)
    large = s.sample_scored(rows, 20, rng=9, **args)
    for a, b in zip(small, large):
        np.testing.assert_array_equal(a, b[:, :3])
    # pools of 30 draws among 35 items: duplicates, never returned twice
    # unless the pool had fewer than 20 distinct ids
    for i in range(600):
        distinct = np.unique(large[0][i]).shape[0]
        assert distinct == 20 or (large[0][i, distinct:] == large[0][i, :20 - distinct]).all()


@pytest.mark.parametrize("select", ["top", "softmax"])
@pytest.mark.parametrize("replace", [True, False])
def test_threads_identical(select, replace):
    gen = np.random.default_rng(7)
    n, d = 5000, 16
    pos = [gen.choice(n, int(gen.integers(0, 60)), replace=False) for _ in range(300)]
    s = NegativeSampler(weights=gen.random(n) + 0.1, positives=pos)
    rows = gen.integers(0, 300, 1500)  # 12 blocks of 128 rows
    items = gen.standard_normal((n, d)).astype(np.float32)
    queries = gen.standard_normal((1500, d)).astype(np.float32)
    outs = [s.sample_scored(rows, 5, pool=24, query_vectors=queries, item_vectors=items,
                            select=select, replace=replace, rng=12, n_threads=t,
                            return_log_q=True) for t in (1, 2, 3)]
    for other in outs[1:]:
        for a, b in zip(outs[0], other):
            np.testing.assert_array_equal(a, b)
    gen_rng = np.random.default_rng(1)
    first = s.sample_scored(rows, 5, pool=24, query_vectors=queries, item_vectors=items,
                            select=select, rng=gen_rng)[0]
    second = s.sample_scored(rows, 5, pool=24, query_vectors=queries, item_vectors=items,
                             select=select, rng=gen_rng)[0]
    assert not np.array_equal(first, second)  # a passed Generator advances


def test_python_threads_share_one_sampler():
    gen = np.random.default_rng(8)
    n = 2000
    s = NegativeSampler(n, positives=[gen.choice(n, 20, replace=False) for _ in range(100)])
    rows = gen.integers(0, 100, 800)
    items = gen.standard_normal((n, 8))
    queries = gen.standard_normal((800, 8))

    def call(i):
        return s.sample_scored(rows, 4, pool=16, query_vectors=queries, item_vectors=items,
                               select="softmax" if i % 2 else "top", rng=i, n_threads=2)
    assert_threads_match_serial(call, 4, repeat=2)


def test_vector_layouts_and_dtypes():
    """Column slices are read in place, other layouts copied, float64
    queries converted to float32 items: the same result every way; torch
    tensors are accepted."""
    gen = np.random.default_rng(9)
    n, d = 500, 6
    s = NegativeSampler(n, positives=[gen.choice(n, 5, replace=False) for _ in range(4)])
    rows = gen.integers(0, 4, 300)
    wide = gen.standard_normal((n, d + 3)).astype(np.float32)
    items = np.ascontiguousarray(wide[:, :d])
    queries = gen.standard_normal((300, d)).astype(np.float32)
    want = s.sample_scored(rows, 3, pool=10, query_vectors=queries, item_vectors=items, rng=1)
    for q, v in [(queries, wide[:, :d]), (queries, np.asfortranarray(items)),
                 (queries.astype(np.float64), items), (queries[::-1][::-1], items[::1])]:
        got = s.sample_scored(rows, 3, pool=10, query_vectors=q, item_vectors=v, rng=1)
        for a, b in zip(want, got):
            np.testing.assert_array_equal(a, b)
        assert got[1].dtype == np.float32
    torch = pytest.importorskip("torch")
    got = s.sample_scored(torch.from_numpy(rows), 3, pool=10,
                          query_vectors=torch.from_numpy(queries),
                          item_vectors=torch.from_numpy(items), rng=1)
    np.testing.assert_array_equal(got[0], want[0])


def test_no_positives_any_row_ids_and_empty_calls():
    s = NegativeSampler(50)
    items = np.eye(50)
    ids, scores = s.sample_scored([3, 10**9], 2, pool=50, query_vectors=items[[7, 9]],
                                  item_vectors=items, replace=False, rng=0)
    assert ids[:, 0].tolist() == [7, 9] and (scores[:, 0] == 1).all()
    ids, scores, lq = s.sample_scored([], 2, pool=4, query_vectors=np.zeros((0, 50)),
                                      item_vectors=items, return_log_q=True)
    assert ids.shape == scores.shape == lq.shape == (0, 2)
    ids, scores = s.sample_scored([1, 2], 0, pool=4, query_vectors=np.zeros((2, 50)),
                                  item_vectors=items)
    assert ids.shape == (2, 0) and scores.dtype == np.float64


# ------------------------------------------------------------ bad inputs
def _bad_cases():
    q, v = np.zeros((3, 4)), np.zeros((20, 4))
    nan_q = q.copy()
    nan_q[2, 1] = np.nan
    return [
        (dict(pool=0), ValueError, "pool must be >= 1, got 0"),
        (dict(pool=1), ValueError, "pool must be >= k=2, got pool=1"),
        (dict(pool=2.0), TypeError, "pool must be an int"),
        (dict(select="max"), ValueError, "select must be 'top' or 'softmax', got 'max'"),
        (dict(temperature=0.0), ValueError, "temperature must be finite and > 0, got 0.0"),
        (dict(temperature=-1), ValueError, "temperature must be finite and > 0"),
        (dict(temperature=float("inf")), ValueError, "temperature must be finite"),
        (dict(temperature=1e-320), ValueError, "temperature must be finite and > 0"),
        (dict(temperature="1"), TypeError, "temperature must be a real number"),
        (dict(temperature=True), TypeError, "temperature must be a real number"),
        (dict(query_vectors=q.astype(np.int64)), TypeError,
         "query_vectors must have dtype float32 or float64, got dtype int64"),
        (dict(item_vectors=v.astype(np.complex64)), TypeError,
         "item_vectors must have dtype float32 or float64, got dtype complex64"),
        (dict(item_vectors=v > 0), TypeError, "item_vectors must have dtype float32"),
        (dict(query_vectors="abc"), TypeError, "query_vectors must be"),
        (dict(item_vectors=v[:19]), ValueError,
         r"item_vectors must have one row per item: expected 20 rows, got shape \(19, 4\)"),
        (dict(item_vectors=v.ravel()), ValueError, "item_vectors must be 2-D"),
        (dict(item_vectors=np.zeros((20, 0)), query_vectors=np.zeros((3, 0))), ValueError,
         "item_vectors must have at least one column"),
        (dict(query_vectors=q[:2]), ValueError,
         r"query_vectors must have shape \(len\(rows\), d\) = \(3, 4\), got \(2, 4\)"),
        (dict(query_vectors=np.zeros((3, 5))), ValueError, "query_vectors must have shape"),
        (dict(query_vectors=nan_q), ValueError,
         "query_vectors must be finite, got nan at row 2, column 1"),
        (dict(replace=1), TypeError, "replace must be True or False"),
        (dict(return_log_q=None), TypeError, "return_log_q must be True or False"),
        (dict(n_threads=0), ValueError, "n_threads"),
        (dict(rows=[0, 1, 5]), ValueError, r"rows must be in \[0, 2\), got 5"),
        (dict(rows=7), TypeError, "rows must be a 1-D array"),
        (dict(k=-1), ValueError, "k must be >= 0, got -1"),
        (dict(pool=19, replace=False), ValueError,
         "row 1 has fewer than pool=19 eligible items, as replace=False needs "
         r"\(eligible counts: 18\)"),
        (dict(rng="seed"), TypeError, "rng must be"),
    ]


@pytest.mark.parametrize("change, err, match", _bad_cases())
def test_bad_inputs_are_named_and_inputs_untouched(change, err, match):
    s = NegativeSampler(20, positives=[[0], [1, 2]])
    args = dict(rows=np.array([0, 1, 1]), k=2, pool=4, query_vectors=np.zeros((3, 4)),
                item_vectors=np.zeros((20, 4)))
    args.update(change)
    rest = {key: value for key, value in args.items() if key not in ("rows", "k")}
    with assert_untouched(args):
        with pytest.raises(err, match=match):
            s.sample_scored(args["rows"], args["k"], **rest)


def test_nonfinite_item_vectors_are_named_when_drawn():
    s = NegativeSampler(10, positives=[[0]])
    items = np.ones((10, 3), dtype=np.float32)
    items[7, 2] = np.inf
    items[0, 0] = np.nan  # a positive: never drawn, never read
    args = dict(pool=9, query_vectors=np.full((4, 3), 2, dtype=np.float32), item_vectors=items,
                replace=False)
    with assert_untouched(items):
        with pytest.raises(ValueError, match="item_vectors must be finite, got inf at row 7, "
                                             "column 2"):
            s.sample_scored([0, 0, 0, 0], 2, **args)
    items[7, 2] = 3e38  # finite, but 2 * 3e38 overflows float32
    with pytest.raises(ValueError, match="overflow the float32 range"):
        s.sample_scored([0, 0, 0, 0], 2, **args)
    items[7, 2] = 1.0
    s.sample_scored([0, 0, 0, 0], 2, **args)


# ----------------------------------------------- kernels: the same bits
KERNELS = [name for name in _law.SCORED_KERNELS if _law.scored_kernel_available(name)]


def test_scalar_kernel_is_always_available_and_best_is_available():
    assert "scalar" in KERNELS
    assert _law.scored_best_kernel() in KERNELS
    with pytest.raises(ValueError, match="unknown kernel"):
        _law.scored_kernel_available("sse9")
    gen = np.random.default_rng(0)
    pool = gen.integers(0, 5, (2, 3))
    vecs = gen.standard_normal((5, 4))
    with pytest.raises(ValueError, match="unknown kernel"):
        _law.scored_select(pool, None, vecs[:2], vecs, 1, 0.0, False, 0, 0, 1, kernel="sse9")


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [1, 7, 8, 9, 16, 64, 67])
def test_kernels_return_the_scalar_bits(kernel, dtype, d):
    """Random (not exactly summable) vectors of every length class
    (d < 8, d % 8 == 0, d % 8 != 0), magnitudes spread over decades so that
    the order of the sums matters: every kernel, top k and Gumbel top-k,
    heap scan (k <= 16) and hash set (k > 16), pools with and without
    duplicates (k <= 8 of the top: the AVX-512 kernel's branch-free
    selection; k <= 16: a sorted array; larger: a heap), the same ids and
    the same score bits as the scalar kernel."""
    gen = np.random.default_rng(d)
    n, rows, m = 500, 300, 41  # three blocks of rows, odd pools
    items = (gen.standard_normal((n, d)) * 10.0 ** gen.integers(-6, 7, (n, d))).astype(dtype)
    queries = (gen.standard_normal((rows, d)) * 10.0 ** gen.integers(-6, 7, (rows, d))).astype(dtype)
    for distinct, k, inv_t in [(False, 4, 0.0), (False, 1, 0.0), (False, 8, 0.0),
                               (False, 9, 0.0), (False, 20, 0.0), (True, 5, 0.0),
                               (False, 3, 1e-3), (False, 25, 1e-2)]:
        if distinct:
            pool = np.stack([gen.choice(n, m, replace=False) for _ in range(rows)])
        else:
            pool = gen.integers(0, 60, (rows, m))  # many duplicates
        lq = gen.standard_normal((rows, m))
        want = _law.scored_select(pool, lq, queries, items, k, inv_t, distinct, 5, 6, 1,
                                  kernel="scalar")
        got = _law.scored_select(pool, lq, queries, items, k, inv_t, distinct, 5, 6, 2,
                                 kernel=kernel)
        for w, g in zip(want, got):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g.view(np.uint8), w.view(np.uint8))


def test_kernel_sums_are_the_documented_order():
    """The score is the documented sum (eight lanes in order, combined
    pairwise, then the tail), not numpy's: a case where the orders differ."""
    d = 19
    q = np.zeros((1, d))
    v = np.zeros((1, d))
    q[0, :] = 1.0
    v[0, 0], v[0, 8], v[0, 4], v[0, 16] = 1e16, -1e16, 1.0, 1.0
    v[0, 1] = 1.0
    # lanes: s0 = 1e16 + -1e16 = 0, s1 = 1, s4 = 1; tail = 1 (j = 16):
    # ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7)) + tail = 3
    pool = np.zeros((1, 1), dtype=np.int64)
    for kernel in KERNELS:
        _, s, _ = _law.scored_select(pool, None, q, v, 1, 0.0, True, 0, 0, 1, kernel=kernel)
        assert s[0, 0] == 3.0


@pytest.mark.parametrize("select", ["top", "softmax"])
@pytest.mark.parametrize("replace", [True, False])
def test_sorted_array_and_heap_agree_with_ties(select, replace):
    """k <= 16 keeps a sorted array, k > 16 a heap: with many equal scores
    (vectors of 0 and 1) and duplicates, k = 16 gives the first 16 of
    k = 17, ties to the lower id in both."""
    gen = np.random.default_rng(12)
    n = 60
    s = NegativeSampler(n, positives=[gen.choice(n, 5, replace=False) for _ in range(4)])
    rows = gen.integers(0, 4, 300)
    items = gen.integers(0, 2, (n, 3)).astype(np.float64)
    queries = gen.integers(0, 2, (300, 3)).astype(np.float64)
    args = dict(pool=40, query_vectors=queries, item_vectors=items, select=select,
                replace=replace, return_log_q=True)
    a = s.sample_scored(rows, 16, rng=4, **args)
    b = s.sample_scored(rows, 17, rng=4, **args)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y[:, :16])
    if select == "top":
        want, _, _ = top_reference(s, rows, 16, 40, queries, items, 4, replace)
        np.testing.assert_array_equal(a[0], want)
