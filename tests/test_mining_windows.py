"""hard_negatives' exclusions, score windows, margins, padding and skip_top,
including rank windows beyond the candidate count."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

import negsamp
from _mining_cases import assert_same, dyadic, mask_of, random_exclusion, ref_select


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


@pytest.mark.parametrize("metric", ["dot", "cosine"])
def test_positive_scores_are_the_margins_of_positives(metric):
    # negsamp.mining.positive_scores_of gives what positives= computes: the
    # minimum score of a query's positives (inf without any: no margin
    # bound); as positive_scores= it gives the same margins.
    from negsamp.mining import positive_scores_of as positive_scores

    rng = np.random.default_rng(10)
    B, N = 15, 300
    Q = rng.standard_normal((B, 5)).astype(np.float32)
    C = rng.standard_normal((N, 5)).astype(np.float32)
    positives = [rng.choice(N, rng.integers(1, 4), replace=False) for _ in range(B)]
    positives[4] = np.array([], dtype=np.int64)
    pos = positive_scores(Q, C, positives, metric=metric)
    assert pos.dtype == np.float64 and pos.shape == (B,) and pos[4] == np.inf
    qn = Q / np.linalg.norm(Q, axis=1, keepdims=True) if metric == "cosine" else Q
    cn = C / np.linalg.norm(C, axis=1, keepdims=True) if metric == "cosine" else C
    for r in range(B):
        if positives[r].size:
            np.testing.assert_allclose(pos[r], (qn[r] @ cn[positives[r]].T).min(), rtol=1e-5)
    for margin in ({"absolute_margin": 0.3}, {"relative_margin": 0.2}):
        want = negsamp.hard_negatives(Q, C, 6, positives=positives, metric=metric, **margin)
        got = negsamp.hard_negatives(Q, C, 6, exclude=positives, positive_scores=pos,
                                     metric=metric, **margin)
        assert_same(got, want)
        # inf: no bound, as without margins
        no_bound = negsamp.hard_negatives(Q, C, 6, exclude=positives, metric=metric)
        assert_same((got[0][4], got[1][4]), (no_bound[0][4], no_bound[1][4]))
    with pytest.raises(ValueError, match="positives"):
        positive_scores(Q, C, positives[:3])
    with pytest.raises(ValueError, match="metric"):
        positive_scores(Q, C, positives, metric="l2")
    with pytest.raises(ValueError, match="same dimension"):
        positive_scores(Q[:, :2], C, positives)


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
