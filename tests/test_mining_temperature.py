"""hard_negatives(temperature=...): Gumbel top-k draws the softmax law without
replacement, reproducibly whatever the threads and blocks."""
from __future__ import annotations

import numpy as np
import pytest

import negsamp
from _stats import chisquare_pvalue, without_replacement_inclusion
from _mining_cases import assert_same, dyadic, mask_of, random_exclusion, ref_select


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


# Verified equal to tests/_reference.py's hard_negatives (more cases:
# tests/data/golden_hard_negatives.json).
GOLDEN_TEMPERATURE_IDS = np.array([[1, 4, 0, 8], [1, 8, 2, 9]])


def test_temperature_with_skip_top_is_an_error():
    Q = np.ones((2, 2), np.float32)
    with pytest.raises(ValueError, match="skip_top"):
        negsamp.hard_negatives(Q, Q, 1, temperature=1.0, skip_top=1)
