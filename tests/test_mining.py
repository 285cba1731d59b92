"""Tests of negsamp.hard_negatives and negsamp.topk.

Exact tests use embeddings whose dot products are exact in float32 (small
dyadic values), so every tiling of the products gives the same scores and
negsamp must equal a NumPy stable-argsort reference id for id; they also have
many ties, which exercises the rule "lower id first on equal scores".
"""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

import negsamp
from negsamp import mining
from negsamp._exclusion import as_exclusion_lists
from negsamp.baselines import hard_negatives_numpy, topk_numpy
from _helpers import assert_untouched, run_in_threads
from _stats import chisquare_pvalue, without_replacement_inclusion


# --------------------------------------------------------------------------
# references and data

def ref_select(scores, k, *, largest=True, eligible=None, skip=0):
    """Slow reference: per row, stable argsort (lower id first on ties),
    drop ineligible, skip, take k, pad with -1 / NaN."""
    scores = np.asarray(scores)
    n_rows, n_items = scores.shape
    ids = np.full((n_rows, k), -1, dtype=np.int64)
    out = np.full((n_rows, k), np.nan, dtype=scores.dtype)
    for r in range(n_rows):
        order = np.argsort(-scores[r] if largest else scores[r], kind="stable")
        if eligible is not None:
            order = order[eligible[r][order]]
        order = order[skip : skip + k]
        ids[r, : order.shape[0]] = order
        out[r, : order.shape[0]] = scores[r, order]
    return ids, out


def dyadic(rng, shape, scale=16, span=4):
    """Multiples of 1/scale in [-span, span]: products and sums of a few are
    exact in float32."""
    return (rng.integers(-span * scale, span * scale + 1, size=shape) / scale).astype(np.float32)


def unit_dyadic(rng, n, d, dtype=np.float32):
    """Rows 2^e * v with v having four entries +-1/2 (unit norm): cosine
    normalisation divides by exactly 2^e, so cosine scores are exact."""
    x = np.zeros((n, d))
    for i in range(n):
        cols = rng.choice(d, 4, replace=False)
        x[i, cols] = rng.choice([-0.5, 0.5], 4)
    x *= 2.0 ** rng.integers(-3, 4, size=(n, 1))
    return x.astype(dtype)


def random_exclusion(rng, n_rows, n_items, max_len=6):
    return [rng.choice(n_items, rng.integers(0, max_len + 1), replace=False)
            for _ in range(n_rows)]


def mask_of(exclude, n_rows, n_items):
    m = np.ones((n_rows, n_items), dtype=bool)
    for r, ids in enumerate(exclude):
        m[r, ids] = False
    return m


def assert_same(got, want):
    gi, gs = got
    wi, ws = want
    np.testing.assert_array_equal(gi, wi)
    np.testing.assert_array_equal(gs, ws)  # NaN == NaN here


# --------------------------------------------------------------------------
# exactness

@pytest.mark.parametrize("metric", ["dot", "cosine"])
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("with_exclude", [False, True])
@pytest.mark.parametrize("skip", [0, 3])
def test_exact_against_argsort(metric, largest, with_exclude, skip):
    rng = np.random.default_rng([1, skip, with_exclude, largest])
    B, N, d, k = 37, 501, 8, 7
    if metric == "dot":
        Q, C = dyadic(rng, (B, d)), dyadic(rng, (N, d))
        S = Q @ C.T
    else:
        Q, C = unit_dyadic(rng, B, d), unit_dyadic(rng, N, d)
        S = (Q / np.linalg.norm(Q, axis=1)[:, None]) @ (C / np.linalg.norm(C, axis=1)[:, None]).T
    exclude = random_exclusion(rng, B, N) if with_exclude else None
    eligible = None if exclude is None else mask_of(exclude, B, N)
    want = ref_select(S, k, largest=largest, eligible=eligible, skip=skip)
    for block_size in (None, 1, 64, 100, N):
        got = negsamp.hard_negatives(Q, C, k, exclude=exclude, metric=metric,
                                     largest=largest, skip_top=skip, block_size=block_size)
        assert got[0].dtype == np.int64 and got[1].dtype == np.float32
        assert_same(got, want)


def test_ties_lower_id_first():
    rng = np.random.default_rng(2)
    Q = rng.integers(-1, 2, size=(20, 3)).astype(np.float32)
    C = rng.integers(-1, 2, size=(400, 3)).astype(np.float32)
    S = Q @ C.T
    for largest in (True, False):
        ids, scores = negsamp.hard_negatives(Q, C, 25, largest=largest, block_size=33)
        assert_same((ids, scores), ref_select(S, 25, largest=largest))
        # explicit form of the rule
        for r in range(20):
            for a, b, sa, sb in zip(ids[r], ids[r, 1:], scores[r], scores[r, 1:]):
                assert (sa > sb if largest else sa < sb) or (sa == sb and a < b)


def test_float64_path_and_int_inputs():
    rng = np.random.default_rng(3)
    Q64 = dyadic(rng, (10, 5)).astype(np.float64)
    C64 = dyadic(rng, (300, 5)).astype(np.float64)
    ids, scores = negsamp.hard_negatives(Q64, C64, 6, block_size=50)
    assert scores.dtype == np.float64
    assert_same((ids, scores), ref_select(Q64 @ C64.T, 6))
    # one float64 and one float32 array: computed in float32
    _, s32 = negsamp.hard_negatives(Q64, C64.astype(np.float32), 6)
    assert s32.dtype == np.float32
    # integer embeddings are read as float32
    Qi = rng.integers(-3, 4, size=(10, 5))
    Ci = rng.integers(-3, 4, size=(300, 5))
    ids, scores = negsamp.hard_negatives(Qi, Ci, 6)
    assert_same((ids, scores), ref_select((Qi @ Ci.T).astype(np.float32), 6))


def test_gaussian_cosine_close_to_float64():
    rng = np.random.default_rng(4)
    Q = rng.standard_normal((30, 24)).astype(np.float32)
    C = rng.standard_normal((2000, 24)).astype(np.float32)
    ids, scores = negsamp.hard_negatives(Q, C, 10, metric="cosine")
    Qn = Q.astype(np.float64) / np.linalg.norm(Q.astype(np.float64), axis=1)[:, None]
    Cn = C.astype(np.float64) / np.linalg.norm(C.astype(np.float64), axis=1)[:, None]
    S = Qn @ Cn.T
    want_scores = -np.sort(-S, axis=1)[:, :10]
    np.testing.assert_allclose(scores, want_scores, atol=2e-6)
    np.testing.assert_allclose(np.take_along_axis(S, ids, 1), scores, atol=2e-6)
    assert np.all(np.abs(scores) <= 1 + 1e-6)


def test_baseline_agrees():
    rng = np.random.default_rng(5)
    Q = rng.standard_normal((40, 16))
    C = rng.standard_normal((3000, 16))
    exclude = random_exclusion(rng, 40, 3000, 20)
    for largest in (True, False):
        kw = dict(exclude=exclude, largest=largest, max_score=3.0, min_score=-3.0,
                  skip_top=2)
        a = negsamp.hard_negatives(Q, C, 8, **kw)
        b = hard_negatives_numpy(Q, C, 8, **kw)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_allclose(a[1], b[1], rtol=1e-12)
    # margins and rows that run short (padding)
    pos = rng.uniform(-3, 3, 40)
    short = [np.arange(2995) if r % 5 == 0 else exclude[r] for r in range(40)]
    kw = dict(exclude=short, positive_scores=pos, relative_margin=0.2, absolute_margin=0.1)
    a = negsamp.hard_negatives(Q, C, 8, **kw)
    b = hard_negatives_numpy(Q, C, 8, **kw)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12)
    assert np.all(a[0][::5, 5:] == -1)
    S = rng.standard_normal((40, 700))
    short = [r[r < 700] if i % 4 else np.arange(695) for i, r in enumerate(exclude)]
    for largest in (True, False):
        for ex in (None, short):
            assert_same(negsamp.topk(S, 9, exclude=ex, largest=largest),
                        topk_numpy(S, 9, exclude=ex, largest=largest))


# --------------------------------------------------------------------------
# exclusion, windows, margins, padding, skip_top

def test_excluded_never_returned_and_formats():
    rng = np.random.default_rng(6)
    B, N = 25, 200
    Q, C = dyadic(rng, (B, 6)), dyadic(rng, (N, 6))
    exclude = random_exclusion(rng, B, N, 40)
    ids, _ = negsamp.hard_negatives(Q, C, 30, exclude=exclude, block_size=17)
    for r in range(B):
        assert not set(ids[r]) & set(exclude[r].tolist())
    # same result from a scipy CSR matrix and an (indptr, indices) tuple
    m = sparse.csr_matrix(~mask_of(exclude, B, N))
    assert_same(negsamp.hard_negatives(Q, C, 30, exclude=m),
                negsamp.hard_negatives(Q, C, 30, exclude=exclude))
    assert_same(negsamp.hard_negatives(Q, C, 30, exclude=(m.indptr, m.indices)),
                negsamp.hard_negatives(Q, C, 30, exclude=exclude))


def test_score_window():
    rng = np.random.default_rng(7)
    B, N = 30, 400
    Q, C = dyadic(rng, (B, 6)), dyadic(rng, (N, 6))
    S = Q @ C.T
    for largest in (True, False):
        ids, scores = negsamp.hard_negatives(Q, C, 12, max_score=2.0, min_score=-1.5,
                                             largest=largest, block_size=50)
        eligible = (S <= 2.0) & (S >= -1.5)
        assert_same((ids, scores), ref_select(S, 12, largest=largest, eligible=eligible))
        ok = ~np.isnan(scores)
        assert np.all(scores[ok] <= 2.0) and np.all(scores[ok] >= -1.5)


def test_margins_with_negative_positive_scores():
    rng = np.random.default_rng(8)
    B, N = 40, 300
    Q, C = dyadic(rng, (B, 6)), dyadic(rng, (N, 6))
    S = (Q @ C.T).astype(np.float64)
    pos = rng.uniform(-4, 4, size=B)
    pos[:10] = -np.abs(pos[:10]) - 0.5  # definitely negative
    ids, scores = negsamp.hard_negatives(Q, C, 10, positive_scores=pos, relative_margin=0.5)
    upper = pos - np.abs(pos) * 0.5
    assert np.all(upper < pos)  # below the positive also when pos < 0
    assert_same((ids, scores), ref_select(S.astype(np.float32), 10, eligible=S <= upper[:, None]))
    ok = ~np.isnan(scores)
    assert np.all((scores <= upper[:, None])[ok])
    # the buggy rule pos * (1 - m) would allow scores above pos when pos < 0
    buggy = pos * (1 - 0.5)
    assert np.all(buggy[:10] > pos[:10])
    # explicit case: pos = -2, m = 0.5 keeps s <= -3 (not s <= -1)
    ids1, sc1 = negsamp.hard_negatives(Q[:1], C, 5, positive_scores=[-2.0], relative_margin=0.5)
    assert np.all(sc1[~np.isnan(sc1)] <= -3.0)
    assert_same((ids1, sc1), ref_select(S[:1].astype(np.float32), 5, eligible=S[:1] <= -3.0))
    # absolute margin and max_score combine by taking the tightest bound
    ids, scores = negsamp.hard_negatives(Q, C, 10, positive_scores=pos, absolute_margin=0.75,
                                         max_score=1.0, relative_margin=0.1)
    upper = np.minimum(np.minimum(pos - 0.75, 1.0), pos - np.abs(pos) * 0.1)
    assert_same((ids, scores), ref_select(S.astype(np.float32), 10, eligible=S <= upper[:, None]))


def test_positives_give_scores_and_are_excluded():
    rng = np.random.default_rng(9)
    B, N = 20, 250
    Q, C = dyadic(rng, (B, 6)), dyadic(rng, (N, 6))
    S = (Q @ C.T).astype(np.float64)
    positives = [rng.choice(N, rng.integers(1, 4), replace=False) for _ in range(B)]
    positives[3] = np.array([], dtype=np.int64)  # no positive: no margin bound
    exclude = random_exclusion(rng, B, N)
    ids, scores = negsamp.hard_negatives(Q, C, 8, positives=positives, exclude=exclude,
                                         absolute_margin=0.5)
    eligible = mask_of(exclude, B, N) & mask_of(positives, B, N)
    for r in range(B):
        if positives[r].size:
            eligible[r] &= S[r] <= S[r, positives[r]].min() - 0.5
    assert_same((ids, scores), ref_select(S.astype(np.float32), 8, eligible=eligible))
    # positives alone (no margin) are just excluded
    ids, _ = negsamp.hard_negatives(Q, C, 8, positives=positives)
    for r in range(B):
        assert not set(ids[r]) & set(positives[r].tolist())


def test_padding_rows():
    rng = np.random.default_rng(10)
    B, N, k = 6, 20, 8
    Q, C = dyadic(rng, (B, 4)), dyadic(rng, (N, 4))
    exclude = [np.arange(N - n_left) for n_left in (0, 1, 5, 8, 9, 20)]
    for skip in (0, 2):
        ids, scores = negsamp.hard_negatives(Q, C, k, exclude=exclude, skip_top=skip)
        for r, n_left in enumerate((0, 1, 5, 8, 9, 20)):
            n_out = max(0, min(k, n_left - skip))
            assert np.all(ids[r, :n_out] >= 0) and np.all(ids[r, n_out:] == -1)
            assert np.all(~np.isnan(scores[r, :n_out])) and np.all(np.isnan(scores[r, n_out:]))
            assert len(set(ids[r, :n_out].tolist())) == n_out
        assert_same((ids, scores), ref_select(Q @ C.T, k, eligible=mask_of(exclude, B, N),
                                              skip=skip))
    # an empty window pads everything
    ids, scores = negsamp.hard_negatives(Q, C, 3, max_score=-1e9)
    assert np.all(ids == -1) and np.all(np.isnan(scores))


def test_empty_queries():
    C = np.ones((5, 3), np.float32)
    ids, scores = negsamp.hard_negatives(np.zeros((0, 3), np.float32), C, 2)
    assert ids.shape == (0, 2) and scores.shape == (0, 2)


# --------------------------------------------------------------------------
# temperature (Gumbel top-k)

def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


@pytest.mark.parametrize("keyed", [False, True])
def test_temperature_first_pick_is_softmax(keyed):
    rng = np.random.default_rng(11)
    N, d, reps, t = 12, 4, 40000, 0.7
    q = rng.standard_normal((1, d))
    C = rng.standard_normal((N, d))
    Q = np.repeat(q, reps, axis=0)  # one independent stream per row
    excluded = [2, 7]
    exclude = (np.arange(reps + 1) * 2, np.tile(excluded, reps))
    s = (q @ C.T)[0]
    eligible = np.setdiff1d(np.arange(N), excluded)
    law = np.zeros(N)
    law[eligible] = softmax(s[eligible] / t)
    for largest, sign in ((True, 1), (False, -1)):
        ids, scores = negsamp.hard_negatives(Q, C, 3, exclude=exclude, temperature=t,
                                             rng=123, largest=largest,
                                             keys=np.arange(reps) if keyed else None)
        counts = np.bincount(ids[:, 0], minlength=N)
        lw = np.zeros(N)
        lw[eligible] = softmax(sign * s[eligible] / t)
        assert counts[excluded].sum() == 0
        assert chisquare_pvalue(counts, lw) > 1e-4
        # a slightly wrong temperature is detected at this sample size
        wrong = np.zeros(N)
        wrong[eligible] = softmax(sign * s[eligible] / (t * 1.15))
        assert chisquare_pvalue(counts, wrong) < 1e-6
        # distinct, eligible, and raw scores returned
        assert np.all(ids[:, 0] != ids[:, 1]) and np.all(ids[:, 1] != ids[:, 2])
        np.testing.assert_allclose(scores, s[ids], rtol=1e-12, atol=1e-12)
    del law


def test_temperature_inclusion_without_replacement():
    rng = np.random.default_rng(12)
    N, reps, t = 6, 30000, 0.5
    s = rng.uniform(-1, 1, N)
    # one-dimensional embeddings: score = s_j exactly
    Q = np.ones((reps, 1))
    C = s[:, None]
    ids, _ = negsamp.hard_negatives(Q, C, 2, temperature=t, rng=7)
    incl = without_replacement_inclusion(np.exp(s / t), 2)  # sums to 2
    counts = np.bincount(ids.ravel(), minlength=N)
    # chi-square of per-item inclusion counts, each a binomial(reps, incl_i)
    stat = np.sum((counts - reps * incl) ** 2 / (reps * incl * (1 - incl)))
    from scipy import stats
    assert stats.chi2.sf(stat, N - 1) > 1e-4


def test_temperature_reproducible_thread_and_block_independent():
    rng = np.random.default_rng(13)
    Q = dyadic(rng, (200, 8)) / 4  # exact scores: tiling cannot change them
    C = dyadic(rng, (1500, 8)) / 4
    exclude = random_exclusion(rng, 200, 1500, 10)
    base = negsamp.hard_negatives(Q, C, 5, exclude=exclude, temperature=0.3, rng=42,
                                  n_threads=1, block_size=1500)
    for n_threads, block_size in ((2, 1500), (1, 7), (2, 333), (3, None)):
        got = negsamp.hard_negatives(Q, C, 5, exclude=exclude, temperature=0.3, rng=42,
                                     n_threads=n_threads, block_size=block_size)
        assert_same(got, base)
    other = negsamp.hard_negatives(Q, C, 5, exclude=exclude, temperature=0.3, rng=43)
    assert not np.array_equal(other[0], base[0])
    gen = np.random.default_rng(0)
    a = negsamp.hard_negatives(Q, C, 5, temperature=0.3, rng=gen)
    b = negsamp.hard_negatives(Q, C, 5, temperature=0.3, rng=gen)
    assert not np.array_equal(a[0], b[0])  # a Generator advances


def test_temperature_equals_explicit_gumbel_keys():
    # Rebuild the Gumbel keys in Python from the documented streams: row q
    # uses stream (k0, k1, q) of the call's key and candidate j its j-th
    # draw; the result must be the stable top-k of score / t + G.
    from negsamp import _common
    from negsamp._rng import draw_key

    rng = np.random.default_rng(21)
    B, N, k, t = 40, 900, 6, 0.05
    Q = dyadic(rng, (B, 6)) / 4
    C = dyadic(rng, (N, 6)) / 4
    exclude = random_exclusion(rng, B, N, 50)
    S = (Q @ C.T).astype(np.float64)
    k0, k1 = draw_key(99)
    for largest, sign in ((True, 1.0), (False, -1.0)):
        ids, scores = negsamp.hard_negatives(Q, C, k, exclude=exclude, temperature=t, rng=99,
                                             largest=largest, block_size=128, max_score=1.5)
        keys = np.empty((B, N))
        for q in range(B):
            raw = _common._rng_stream_py(k0, k1, q, N, "raw")
            u = ((raw >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
            keys[q] = sign * S[q] / t - np.log(-np.log(u))
        eligible = mask_of(exclude, B, N) & (S <= 1.5)
        want_ids, _ = ref_select(keys, k, eligible=eligible)
        np.testing.assert_array_equal(ids, want_ids)
        np.testing.assert_array_equal(scores, np.take_along_axis(S, ids, 1).astype(np.float32))


def test_temperature_golden():
    Q = np.array([[1.0, 0.5], [-0.25, 2.0]], dtype=np.float32)
    C = np.array([[np.cos(i), np.sin(i)] for i in range(10)], dtype=np.float32)
    ids, _ = negsamp.hard_negatives(Q, C, 4, temperature=0.5, rng=2024)
    np.testing.assert_array_equal(ids, GOLDEN_TEMPERATURE_IDS)


# Pinned once from this implementation (rng=2024): the reference does not
# mirror hard_negatives; test_temperature_equals_explicit_gumbel_keys checks the keys
# against the documented formula.
GOLDEN_TEMPERATURE_IDS = np.array([[1, 4, 0, 8], [1, 8, 2, 9]])


def test_temperature_with_skip_top_is_an_error():
    Q = np.ones((2, 2), np.float32)
    with pytest.raises(ValueError, match="skip_top"):
        negsamp.hard_negatives(Q, Q, 1, temperature=1.0, skip_top=1)


# --------------------------------------------------------------------------
# threads

def test_n_threads_identical_exact():
    rng = np.random.default_rng(14)
    Q, C = dyadic(rng, (300, 8)), dyadic(rng, (2000, 8))
    exclude = random_exclusion(rng, 300, 2000)
    a = negsamp.hard_negatives(Q, C, 10, exclude=exclude, n_threads=1)
    b = negsamp.hard_negatives(Q, C, 10, exclude=exclude, n_threads=2)
    assert_same(a, b)
    S = Q @ C.T
    # k + skip_top > 256: the merge is split between threads
    want = ref_select(S, 280, eligible=mask_of(exclude, 300, 2000), skip=5)
    for n_threads in (1, 2, 3):
        assert_same(negsamp.hard_negatives(Q, C, 280, exclude=exclude, skip_top=5,
                                           n_threads=n_threads, block_size=500), want)
    assert_same(negsamp.topk(S, 10, exclude=exclude, n_threads=1),
                negsamp.topk(S, 10, exclude=exclude, n_threads=2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("largest", [True, False])
def test_corpus_shards_match_one_scan(dtype, largest, monkeypatch):
    # n_threads > 1: tiles are claimed one at a time by the caller and
    # helper threads (single-threaded BLAS), then the per-thread lists are
    # merged.  Same result as one scan, ties, skip_top, windows and padding
    # included; also when BLAS cannot be limited (one scan then).
    rng = np.random.default_rng(32)
    Q, C = dyadic(rng, (70, 8)).astype(dtype), dyadic(rng, (1500, 8)).astype(dtype)
    S = Q @ C.T
    exclude = random_exclusion(rng, 70, 1500, 40)
    window = dict(max_score=float(np.quantile(S, 0.9)), min_score=float(np.quantile(S, 0.2)))
    calls = []
    real = mining._merge_parts
    monkeypatch.setattr(mining, "_merge_parts", lambda *a: calls.append(1) or real(*a))
    for kw in ({}, {"skip_top": 3}, window, {"k": 1400}):
        kw = dict(kw)
        k = kw.pop("k", 9)
        eligible = mask_of(exclude, 70, 1500)
        if "max_score" in kw:
            eligible &= (S <= kw["max_score"]) & (S >= kw["min_score"])
        want = ref_select(S, k, largest=largest, eligible=eligible, skip=kw.get("skip_top", 0))
        for n_threads, block_size in ((2, 100), (3, 256), (2, 1499), (4, 700)):
            n_calls = len(calls)
            got = negsamp.hard_negatives(Q, C, k, exclude=exclude, largest=largest,
                                         n_threads=n_threads, block_size=block_size, **kw)
            assert len(calls) == n_calls + 1, "the sharded path did not run"
            assert_same(got, want)
    monkeypatch.setattr(mining, "_blas_one_thread", lambda: None)
    assert_same(negsamp.hard_negatives(Q, C, 9, exclude=exclude, largest=largest,
                                       n_threads=2, block_size=100),
                ref_select(S, 9, largest=largest, eligible=mask_of(exclude, 70, 1500)))


@pytest.mark.parametrize("policy", ["alternate", "halves_swapped", "one_takes_all"])
def test_tile_assignment_does_not_change_the_result(policy, monkeypatch):
    # Which thread gets which tile depends on the scheduler.  Force
    # assignments a sequential scan never produces (every other tile; the
    # later half to the first thread; all tiles to one thread) and check the
    # exact result (ties by lower id, skip_top, windows).  As with the real
    # queue (one increasing counter), each thread's tiles are increasing.
    import threading

    rng = np.random.default_rng(35)
    Q, C = dyadic(rng, (40, 6)).astype(np.float32), dyadic(rng, (1200, 6)).astype(np.float32)
    S = Q.astype(np.float64) @ C.T.astype(np.float64)
    exclude = random_exclusion(rng, 40, 1200, 30)

    class Assigned(mining._TileQueue):
        def __init__(self, n_tiles):
            super().__init__(n_tiles)
            half = n_tiles // 2
            if policy == "alternate":
                lists = [list(range(0, n_tiles, 2)), list(range(1, n_tiles, 2))]
            elif policy == "halves_swapped":
                lists = [list(range(half, n_tiles)), list(range(half))]
            else:
                lists = [list(range(n_tiles)), []]
            self.lists, self.slots = lists, {}

        def claim(self):
            with self.lock:
                slot = self.slots.setdefault(threading.get_ident(), len(self.slots))
                mine = self.lists[slot] if slot < 2 else []
                return mine.pop(0) if mine else None

    monkeypatch.setattr(mining, "_TileQueue", Assigned)
    for kw in ({}, {"skip_top": 2}, {"max_score": float(np.quantile(S, 0.8))}):
        eligible = mask_of(exclude, 40, 1200)
        if "max_score" in kw:
            eligible &= S <= kw["max_score"]
        for largest in (True, False):
            want = ref_select(S, 7, largest=largest, eligible=eligible, skip=kw.get("skip_top", 0))
            got = negsamp.hard_negatives(Q, C, 7, exclude=exclude, largest=largest,
                                         n_threads=2, block_size=64, **kw)
            assert_same(got, want)


def test_blas_threads_restored_after_shards():
    from threadpoolctl import threadpool_info

    before = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    rng = np.random.default_rng(33)
    Q, C = rng.standard_normal((20, 8)), rng.standard_normal((900, 8))
    negsamp.hard_negatives(Q, C, 5, n_threads=2, block_size=100)
    Cb = C.copy()
    Cb[850, 2] = np.nan
    with pytest.raises(ValueError, match="row 850"):
        negsamp.hard_negatives(Q, Cb, 5, n_threads=2, block_size=100)
    after = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert after == before
    # Overlapping calls from several Python threads: the last one out restores.
    run_in_threads(lambda i: [negsamp.hard_negatives(Q, C, 5, n_threads=2, block_size=100)
                              for _ in range(20)], 4)
    after = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert after == before


def test_concurrent_python_threads():
    rng = np.random.default_rng(15)
    Q, C = dyadic(rng, (64, 8)), dyadic(rng, (3000, 8))
    exclude = random_exclusion(rng, 64, 3000)
    want = negsamp.hard_negatives(Q, C, 10, exclude=exclude, temperature=0.5, rng=5)
    want_exact = ref_select(Q @ C.T, 10, eligible=mask_of(exclude, 64, 3000))
    results = []

    def work(i):
        for _ in range(3):
            results.append(("t", negsamp.hard_negatives(
                Q, C, 10, exclude=exclude, temperature=0.5, rng=5, n_threads=2,
                block_size=100 + i)))
            results.append(("e", negsamp.hard_negatives(Q, C, 10, exclude=exclude,
                                                        block_size=50 + i)))
            # errors raised in one thread stay in that thread
            try:
                negsamp.hard_negatives(Q, C[:, :3], 1)
            except ValueError:
                results.append(("err", None))

    run_in_threads(work, 4)
    assert len(results) == 4 * 3 * 3
    for kind, res in results:
        if kind == "t":
            assert_same(res, want)
        elif kind == "e":
            assert_same(res, want_exact)


# --------------------------------------------------------------------------
# memory

def test_memory_bounded():
    rng = np.random.default_rng(16)
    B, N, d = 256, 200_000, 8
    Q = rng.standard_normal((B, d)).astype(np.float32)
    C = rng.standard_normal((N, d)).astype(np.float32)
    tracemalloc.start()
    try:
        negsamp.hard_negatives(Q, C, 16, metric="cosine", block_size=4096)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    full_matrix = B * N * 4  # 205 MB
    assert peak < full_matrix / 20, f"peak {peak / 1e6:.1f} MB"


# --------------------------------------------------------------------------
# bad input

def _inputs():
    rng = np.random.default_rng(17)
    return rng.standard_normal((4, 3)).astype(np.float32), \
        rng.standard_normal((20, 3)).astype(np.float32)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(k=0), ValueError, "k must be >= 1"),
    (dict(k=-3), ValueError, "k must be >= 1"),
    (dict(k=21), ValueError, "k must be <="),
    (dict(k=2.0), TypeError, "k must be an int"),
    (dict(metric="l2"), ValueError, "metric"),
    (dict(metric=None), ValueError, "metric"),
    (dict(skip_top=-1), ValueError, "skip_top"),
    (dict(temperature=0.0), ValueError, "temperature"),
    (dict(temperature=-1.0), ValueError, "temperature"),
    (dict(temperature=float("nan")), ValueError, "temperature"),
    (dict(temperature="hot"), TypeError, "temperature"),
    (dict(max_score=float("nan")), ValueError, "max_score"),
    (dict(absolute_margin=0.1), ValueError, "positive_scores or positives"),
    (dict(absolute_margin=-0.1, positive_scores=np.zeros(4)), ValueError, "absolute_margin"),
    (dict(relative_margin=0.1, positive_scores=np.zeros(3)), ValueError, "positive_scores"),
    (dict(relative_margin=0.1, positive_scores=[0, 0, np.inf, 0]), ValueError, "positive_scores"),
    (dict(positive_scores=np.zeros(4), positives=[[0]] * 4), ValueError, "not both"),
    (dict(exclude=[[0]] * 3), ValueError, "exclude"),
    (dict(exclude=[[0], [1], [25], [2]]), ValueError, "exclude row 2"),
    (dict(positives=[[0], [1], [-1], [2]]), ValueError, "positives row 2"),
    (dict(n_threads=0), ValueError, "n_threads"),
    (dict(block_size=0), ValueError, "block_size"),
    (dict(largest="yes"), TypeError, "largest"),
])
def test_bad_arguments(kwargs, exc, match):
    Q, C = _inputs()
    q0, c0 = Q.copy(), C.copy()
    kwargs = dict(kwargs)
    k = kwargs.pop("k", 2)
    with pytest.raises(exc, match=match):
        negsamp.hard_negatives(Q, C, k, **kwargs)
    np.testing.assert_array_equal(Q, q0)
    np.testing.assert_array_equal(C, c0)


def test_bad_arrays():
    Q, C = _inputs()
    with pytest.raises(ValueError, match="same dimension"):
        negsamp.hard_negatives(Q, C[:, :2], 2)
    with pytest.raises(ValueError, match="queries must be 2-D"):
        negsamp.hard_negatives(Q[0], C, 2)
    with pytest.raises(ValueError, match="candidates must be 2-D"):
        negsamp.hard_negatives(Q, C[0], 2)
    with pytest.raises(TypeError, match="candidates"):
        negsamp.hard_negatives(Q, C.astype(object), 2)
    with pytest.raises(TypeError, match="queries"):
        negsamp.hard_negatives(Q.astype(str), C, 2)
    with pytest.raises(TypeError, match="queries"):
        negsamp.hard_negatives("abc", C, 2)
    with pytest.raises(TypeError, match="candidates"):
        negsamp.hard_negatives(Q, C > 0, 2)
    with pytest.raises(TypeError, match="candidates"):
        negsamp.hard_negatives(Q, C.astype(np.complex64), 2)
    for bad in (np.nan, np.inf, -np.inf):
        Cb = C.copy()
        Cb[13, 1] = bad
        c0 = Cb.copy()
        with pytest.raises(ValueError, match=r"candidates must be finite.*row 13"):
            negsamp.hard_negatives(Q, Cb, 2, block_size=5, metric="cosine")
        np.testing.assert_array_equal(Cb, c0)
        Qb = Q.copy()
        Qb[2, 0] = bad
        with pytest.raises(ValueError, match=r"queries must be finite.*row 2"):
            negsamp.hard_negatives(Qb, C, 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", [3, 37, 998])  # fill phase, chunk tail, full-heap scan
@pytest.mark.parametrize("options", [
    {}, {"largest": False}, {"temperature": 0.5, "rng": 0}, {"metric": "cosine"},
    {"max_score": 0.0, "min_score": -1.0},
])
def test_non_finite_candidate_is_found_by_the_merge(dtype, row, options):
    # No pass over the candidates: a NaN / infinite candidate shows up as
    # non-finite scores in the merge, which then names it.
    rng = np.random.default_rng(row)
    Q = rng.standard_normal((6, 8)).astype(dtype)
    C = rng.standard_normal((1000, 8)).astype(dtype)
    exclude = [[row]] * 6  # even an excluded candidate must be finite
    for bad in (np.nan, np.inf, -np.inf):
        Cb = C.copy()
        Cb[row, 5] = bad
        with pytest.raises(ValueError, match=rf"candidates must be finite.*row {row}, column 5"):
            negsamp.hard_negatives(Q, Cb, 4, exclude=exclude, block_size=300, **options)


def test_overflowing_scores_raise():
    Q = np.full((2, 4), 1e30, dtype=np.float32)
    C = np.ones((50, 4), dtype=np.float32)
    C[20] = 1e30  # finite, but 4e60 overflows float32
    with pytest.raises(ValueError, match=r"overflow the float32 range \(candidates 0\.\.49\)"):
        negsamp.hard_negatives(Q, C, 3)
    C[20] = -1e30  # -inf overflow too, even for the far side
    with pytest.raises(ValueError, match="overflow"):
        negsamp.hard_negatives(Q, C, 3, largest=False)


def test_caller_arrays_untouched_cosine():
    rng = np.random.default_rng(18)
    for dt in (np.float32, np.float64):
        Q = rng.standard_normal((5, 4)).astype(dt) * 3
        C = rng.standard_normal((50, 4)).astype(dt) * 3
        with assert_untouched(Q, C):
            negsamp.hard_negatives(Q, C, 3, metric="cosine", positives=[[1]] * 5,
                                   relative_margin=0.1)


def test_progress_flag_is_harmless(monkeypatch, capsys):
    Q, C = _inputs()
    want = negsamp.hard_negatives(Q, C, 3)
    assert_same(negsamp.hard_negatives(Q, C, 3, progress=True, block_size=4), want)
    # without tqdm: same result and nothing printed
    capsys.readouterr()
    monkeypatch.setitem(__import__("sys").modules, "tqdm", None)
    monkeypatch.setitem(__import__("sys").modules, "tqdm.auto", None)
    assert_same(negsamp.hard_negatives(Q, C, 3, progress=True, block_size=4), want)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    with pytest.raises(TypeError, match="progress"):
        negsamp.hard_negatives(Q, C, 3, progress="yes")


# --------------------------------------------------------------------------
# topk on a precomputed matrix

@pytest.mark.parametrize("largest", [True, False])
def test_packed_heaps_match_general_heaps(largest):
    # float32 exact top-k keeps one uint64 per heap entry (score bits above
    # the complemented id); the general heaps must give the same selection.
    rng = np.random.default_rng(31)
    S = rng.integers(-4, 5, size=(40, 500)).astype(np.float32) * 0.5  # many ties
    S[0] = 0.0
    S[0, ::7] = -0.0  # -0.0 and +0.0 are equal scores: lower id first
    S[0, 30] = 1.0
    S[1, :50] = np.float32(3.4e38)
    S[2, 100:] = -np.float32(3.4e38)
    S[3, 5] = np.float32(1e-45)  # subnormals keep their order
    S[3, 6] = -np.float32(1e-45)
    exclude = random_exclusion(rng, 40, 500, 20)
    for ex in (None, exclude):
        eligible = None if ex is None else mask_of(ex, 40, 500)
        for k in (1, 7, 64):
            packed = negsamp.topk(S, k, exclude=ex, largest=largest)
            general = negsamp.topk(S.astype(np.float64), k, exclude=ex, largest=largest)
            np.testing.assert_array_equal(packed[0], general[0])
            np.testing.assert_array_equal(packed[1], general[1].astype(np.float32))
            assert_same(packed, ref_select(S, k, largest=largest, eligible=eligible))


@pytest.mark.parametrize("packed", [True, False])
@pytest.mark.parametrize("largest", [True, False])
def test_baseline_isa_scan_matches(packed, largest):
    # The float32 scan has an AVX2 chunk test picked at run time; the SSE2 /
    # scalar one must select the same entries (and report the same errors).
    from negsamp._topk import TopkState

    rng = np.random.default_rng(34)
    S = (rng.integers(-8, 9, size=(30, 1000)) * 0.25).astype(np.float32)
    S[4, 500:] = np.inf
    S[5, 200:300] = -np.inf
    exclude = random_exclusion(rng, 30, 1000, 25)
    lists = as_exclusion_lists(exclude, 1000, name="exclude", n_rows=30)
    indptr, indices = lists.indptr, lists.indices  # sorted CSR, as the state wants
    results = []
    for simd in (True, False):
        state = TopkState(30, 12, largest, excl_indptr=indptr, excl_indices=indices,
                          packed=packed, allow_simd=simd)
        for c0 in range(0, 1000, 333):  # tiles of 333: chunk tails too
            state.merge(S[:, c0 : c0 + 333], 0, c0, 1)
        results.append(state.finish(0, 12, np.float32, 1))
    assert_same(results[0], results[1])
    eligible = mask_of(exclude, 30, 1000)
    assert_same(results[1], ref_select(S, 12, largest=largest, eligible=eligible))
    for simd in (True, False):  # finite_only: an infinite score is an error
        state = TopkState(30, 12, largest, finite_only=True, packed=packed, allow_simd=simd)
        with pytest.raises(ValueError, match="NaN or infinity"):
            state.merge(S, 0, 0, 1)


def test_packed_state_refuses_what_it_cannot_hold():
    from negsamp._topk import TopkState

    with pytest.raises(ValueError, match="temperature"):
        TopkState(2, 3, True, temperature=1.0, packed=True)
    state = TopkState(2, 3, True, packed=True)
    with pytest.raises(TypeError, match="float32"):
        state.merge(np.zeros((2, 4)), 0, 0, 1)
    with pytest.raises(ValueError, match="2\\*\\*32"):
        state.merge(np.zeros((2, 4), dtype=np.float32), 0, 2**32 - 2, 1)
    with pytest.raises(TypeError, match="float32"):
        state.finish(0, 3, np.float64, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_against_argsort(dtype, largest):
    rng = np.random.default_rng(19)
    S = rng.integers(-5, 6, size=(50, 300)).astype(dtype)  # many ties
    S[3, :10] = -np.inf
    S[4, 5:40] = np.inf
    exclude = random_exclusion(rng, 50, 300, 30)
    for ex in (None, exclude):
        eligible = None if ex is None else mask_of(ex, 50, 300)
        got = negsamp.topk(S, 12, exclude=ex, largest=largest)
        assert got[1].dtype == dtype
        assert_same(got, ref_select(S, 12, largest=largest, eligible=eligible))
    # non-contiguous rows (a column slice) and a Fortran array
    assert_same(negsamp.topk(S[:, 10:200], 5, largest=largest),
                ref_select(S[:, 10:200], 5, largest=largest))
    assert_same(negsamp.topk(np.asfortranarray(S), 5, largest=largest),
                ref_select(S, 5, largest=largest))
    # integers are converted to float64
    Sf = S[5:]  # finite rows
    got = negsamp.topk(Sf.astype(np.int32), 4, largest=largest)
    assert got[1].dtype == np.float64
    assert_same(got, ref_select(Sf.astype(np.float64), 4, largest=largest))


def test_topk_padding_and_errors():
    S = np.arange(12, dtype=np.float32).reshape(3, 4)
    ids, scores = negsamp.topk(S, 3, exclude=[[0, 1], [], [0, 1, 2, 3]])
    np.testing.assert_array_equal(ids, [[3, 2, -1], [3, 2, 1], [-1, -1, -1]])
    assert np.isnan(scores[0, 2]) and np.isnan(scores[2]).all()
    with pytest.raises(ValueError, match="k must be <="):
        negsamp.topk(S, 5)
    with pytest.raises(ValueError, match="k must be >= 1"):
        negsamp.topk(S, 0)
    with pytest.raises(ValueError, match="2-D"):
        negsamp.topk(S[0], 1)
    with pytest.raises(TypeError, match="scores"):
        negsamp.topk(S.astype(object), 1)
    Sn = S.copy()
    Sn[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        negsamp.topk(Sn, 2)
    s0 = Sn.copy()
    with pytest.raises(ValueError, match="NaN"):
        negsamp.topk(Sn, 1, largest=False)
    np.testing.assert_array_equal(Sn, s0)


# --------------------------------------------------------------------------
# hypothesis

@settings(max_examples=60, deadline=None)
@given(
    B=st.integers(1, 12), N=st.integers(1, 80), d=st.integers(1, 5),
    data=st.data(),
)
def test_hypothesis_shapes(B, N, d, data):
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    k = data.draw(st.integers(1, N))
    skip = data.draw(st.integers(0, 5))
    largest = data.draw(st.booleans())
    block_size = data.draw(st.one_of(st.none(), st.integers(1, N + 3)))
    metric = data.draw(st.sampled_from(["dot", "cosine"]))
    Q = dyadic(rng, (B, d), scale=4, span=2)
    C = dyadic(rng, (N, d), scale=4, span=2)
    if metric == "cosine":
        Q, C = unit_dyadic(rng, B, max(d, 4)), unit_dyadic(rng, N, max(d, 4))
        S = (Q / np.linalg.norm(Q, axis=1)[:, None]) @ (C / np.linalg.norm(C, axis=1)[:, None]).T
    else:
        S = Q @ C.T
    exclude = [rng.choice(N, rng.integers(0, N + 1), replace=False) for _ in range(B)]
    want = ref_select(S, k, largest=largest, eligible=mask_of(exclude, B, N), skip=skip)
    got = negsamp.hard_negatives(Q, C, k, exclude=exclude, largest=largest, skip_top=skip,
                                 block_size=block_size, metric=metric)
    assert_same(got, want)
    if skip == 0:
        assert_same(negsamp.topk(S, k, exclude=exclude, largest=largest), want)


# -- huge rank windows (issue 11, finding 1) ---------------------------------
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("skip", [2**62, 2**63 - 2, 2**63 - 1, 2**64, 10**30])
def test_skip_top_beyond_the_candidates_is_padding(skip, n_threads):
    """skip_top had no upper bound: n_rows * (k + skip_top) wrapped in int64
    when the heaps were allocated (a segfault, or silent heap corruption)."""
    Q = np.ones((4, 8), np.float32)
    C = np.ones((50, 8), np.float32)
    ids, scores = negsamp.hard_negatives(Q, C, k=3, skip_top=skip, n_threads=n_threads,
                                         block_size=16)
    assert ids.shape == (4, 3) and (ids == -1).all() and np.isnan(scores).all()


def test_skip_top_2_62_with_1000_candidates_does_not_crash():
    import subprocess
    import sys
    code = ("import numpy as np, negsamp\n"
            "ids, s = negsamp.hard_negatives(np.ones((4, 8), np.float32), "
            "np.ones((1000, 8), np.float32), k=1, skip_top=2**62)\n"
            "assert ids.shape == (4, 1) and (ids == -1).all(), ids\n")
    from _child import run_python

    proc = run_python(code, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("skip", [45, 47, 49, 50, 51])
def test_skip_top_near_the_candidate_count_is_clamped_exactly(skip, n_threads):
    gen = np.random.default_rng(3)
    Q = gen.normal(size=(5, 4)).astype(np.float32)
    C = gen.normal(size=(50, 4)).astype(np.float32)
    ids, scores = negsamp.hard_negatives(Q, C, k=4, skip_top=skip, n_threads=n_threads,
                                         block_size=8)
    order = np.argsort(-(Q @ C.T), axis=1, kind="stable")[:, skip : skip + 4]
    expected = np.full((5, 4), -1, dtype=np.int64)
    expected[:, : order.shape[1]] = order
    np.testing.assert_array_equal(ids, expected)
    assert np.isnan(scores[ids == -1]).all() and np.isfinite(scores[ids >= 0]).all()


def test_topk_state_rejects_a_wrapping_size():
    from negsamp._topk import TopkState
    with pytest.raises(ValueError, match="capacity=4611686018427387904"):
        TopkState(4, 2**62, True)
