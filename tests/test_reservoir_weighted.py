"""negsamp.WeightedReservoir (A-ExpJ): the exact law of successive weighted draws
without replacement, zero, tiny, subnormal and huge weights, long chunks."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from negsamp import WeightedReservoir
from negsamp.baselines import WeightedKeysReservoir
from _stats import chisquare_pvalue, without_replacement_inclusion
from _reservoir_cases import ALPHA, feed, fresh_reservoir_inclusion_counts, inclusion_counts


@settings(max_examples=40, deadline=None)
@given(
    weights=st.lists(
        st.one_of(st.just(0.0), st.floats(1e-3, 1e3)), min_size=0, max_size=120
    ),
    k=st.integers(1, 12),
    chunks=st.lists(st.integers(1, 40), min_size=1, max_size=5),
    seed=st.integers(0, 2**32),
)
def test_weighted_invariants(weights, k, chunks, seed):
    w = np.array(weights, dtype=np.float64)
    stream = np.arange(w.shape[0], dtype=np.int64)
    res = feed(WeightedReservoir(k, rng=seed), stream, chunks, w)
    sample = res.sample
    positive = int((w > 0).sum())
    assert len(sample) == min(k, positive) == len(res)
    assert len(set(sample.tolist())) == len(sample)
    assert np.all(w[sample.astype(np.int64)] > 0)
    keys = res.keys
    assert keys.shape == sample.shape and np.isfinite(keys).all()
    assert res.count == w.shape[0]
    assert res.total_weight == pytest.approx(w.sum())
    # The kept keys are the top keys: every accepted key beats the threshold.
    if len(sample) == k:
        assert keys.min() == res._heap_keys[0]


# -- weighted laws ------------------------------------------------------------
W_SMALL = np.array([1.0, 2.0, 0.0, 3.0, 0.5, 4.0, 0.0, 1.5, 2.5])


@pytest.mark.slow
@pytest.mark.parametrize("chunks", [[1], [2, 5], [100]])
def test_weighted_inclusion_matches_successive_draws(chunks):
    k, trials = 3, 12_000
    exact = without_replacement_inclusion(W_SMALL, k)
    stream = np.arange(W_SMALL.shape[0])
    counts = inclusion_counts(
        [feed(WeightedReservoir(k, rng=s), stream, chunks, W_SMALL).sample
         for s in range(trials)],
        W_SMALL.shape[0],
    )
    assert counts[W_SMALL == 0].sum() == 0
    p = chisquare_pvalue(counts, exact / exact.sum())
    assert p > ALPHA
    # Power: the first-order approximation k * w / sum(w) and the law of
    # squared weights are both rejected by the same counts.
    assert chisquare_pvalue(counts, W_SMALL / W_SMALL.sum()) < ALPHA
    wrong = without_replacement_inclusion(W_SMALL**2, k)
    assert chisquare_pvalue(counts, wrong / wrong.sum()) < ALPHA


@pytest.mark.slow
def test_weighted_jumps_on_a_longer_stream_match_successive_draws():
    # k = 2 of 11 items: most acceptances come from exponential jumps.
    w = np.array([3.0, 1.0, 0.2, 2.0, 0.0, 5.0, 1.0, 0.7, 4.0, 1.3, 2.2])
    k, trials = 2, 15_000
    exact = without_replacement_inclusion(w, k)
    stream = np.arange(w.shape[0])
    counts = inclusion_counts(
        [feed(WeightedReservoir(k, rng=s), stream, [3], w).sample for s in range(trials)],
        w.shape[0],
    )
    assert chisquare_pvalue(counts, exact / exact.sum()) > ALPHA


@pytest.mark.slow
@pytest.mark.parametrize("chunks", [[40], [13, 27], [9]])
def test_weighted_block_skipping_keeps_the_exact_law(chunks):
    # Chunks of >= 8 items after the fill phase go through the kernel's
    # block-of-8 skipping; the law must still be that of successive draws.
    gen = np.random.default_rng(5)
    w = gen.gamma(0.7, size=40)
    w[gen.random(40) < 0.2] = 0.0
    k, trials = 2, 10_000
    exact = without_replacement_inclusion(w, k)
    stream = np.arange(40)
    counts = inclusion_counts(
        [feed(WeightedReservoir(k, rng=s), stream, chunks, w).sample for s in range(trials)], 40)
    assert counts[w == 0].sum() == 0
    assert chisquare_pvalue(counts, exact / exact.sum()) > ALPHA


@pytest.mark.slow
def test_weighted_matches_numpy_baseline_on_zipf_stream():
    n, k, trials = 300, 10, 1500
    w = 1.0 / np.arange(1, n + 1) ** 0.8
    rng = np.random.default_rng(7)
    w = w[rng.permutation(n)]
    stream = np.arange(n)
    ours = inclusion_counts(
        [feed(WeightedReservoir(k, rng=s), stream, [64], w).sample for s in range(trials)], n)
    base = np.zeros(n)
    for s in range(trials):
        b = WeightedKeysReservoir(k, rng=10**7 + s)
        feed(b, stream, [64], w)
        base[b.sample] += 1
    # Pool items into 20 groups of equal baseline mass and compare.
    order = np.argsort(w)
    groups = np.array_split(order, 20)
    table = np.array([[ours[g].sum() for g in groups], [base[g].sum() for g in groups]])
    assert stats.chi2_contingency(table).pvalue > ALPHA


def test_weighted_zero_weights_never_kept():
    res = WeightedReservoir(5, rng=3)
    res.update(np.arange(10), np.zeros(10))
    assert len(res) == 0 and res.count == 10
    gen = np.random.default_rng(0)
    for start in range(10, 5000, 500):
        w = gen.random(500)
        w[gen.random(500) < 0.5] = 0.0
        items = np.arange(start, start + 500)
        res.update(items, w)
        zero_items = set(items[w == 0].tolist())
        assert not zero_items & set(res.sample.tolist())
    assert len(res) == 5
    small = WeightedReservoir(10, rng=0)
    small.update([1, 2, 3, 4], [0.0, 1.0, 0.0, 2.0])
    assert sorted(small.sample.tolist()) == [2, 4]


def test_weighted_tiny_and_huge_weights():
    res = WeightedReservoir(2, rng=0)
    res.update(np.arange(4), [1e-300, 1e300, 5e-324, 1.0])
    assert sorted(res.sample.tolist()) == [1, 3]
    assert np.isfinite(res.keys).all()


@pytest.mark.parametrize("weight", [1.0, 1e-310, 5e-324, 1e308, 1.7976931348623157e308])
@pytest.mark.parametrize("chunk", [None, 7])
def test_weighted_equal_tiny_weights_are_uniform(weight, chunk):
    """-E / w overflowed to -inf below about 1e-308: every key tied and one
    item of 100 was kept with probability 0.96-1.0 instead of 0.05."""
    trials = 3000
    counts = fresh_reservoir_inclusion_counts(np.full(100, weight), 5, trials, seed=11, chunk=chunk)
    assert counts.sum() == 5 * trials
    assert counts.max() < 0.2 * trials
    assert chisquare_pvalue(counts, np.full(100, 0.05)) > 1e-4


@pytest.mark.parametrize("chunk", [None, 3])
def test_weighted_subnormal_mix_has_the_exact_inclusion_law(chunk):
    w = np.array([1e-310, 2e-310] * 5)
    exact = without_replacement_inclusion(w / 1e-310, 3)  # the law is scale-free
    trials = 6000
    counts = fresh_reservoir_inclusion_counts(w, 3, trials, seed=12, chunk=chunk)
    assert chisquare_pvalue(counts, exact) > 1e-4
    # A sampler ignoring the weights (all keys tied or uniform) is far off:
    assert abs(counts[1::2].sum() / counts.sum() - exact[1::2].sum() / 3) < 0.02


def test_weighted_normal_and_subnormal_weights_mixed():
    """Two items of weight 1 are always kept; the other 2 slots go to the
    20 items of weight 1e-310 uniformly (their keys must not tie)."""
    w = np.array([1.0, 1.0] + [1e-310] * 20)
    trials = 3000
    counts = fresh_reservoir_inclusion_counts(w, 4, trials, seed=13, chunk=5)
    assert counts[0] == counts[1] == trials
    assert chisquare_pvalue(counts[2:], np.full(20, 0.1)) > 1e-4


def test_weighted_long_chunk_is_fed_in_segments_like_two_updates():
    # A chunk longer than _reservoir.SEGMENT is scanned segment by segment
    # (Ctrl-C is checked between them): the same reservoir, bit for bit, as
    # two updates split at the segment boundary, items taken from the right
    # positions of the chunk.
    from negsamp import _reservoir

    seg = _reservoir.SEGMENT
    rng = np.random.default_rng(41)
    n = seg + 12_345
    items = np.arange(n, dtype=np.int64) * 3
    w = rng.exponential(size=n)
    one = WeightedReservoir(5000, rng=7)
    one.update(items, w)
    two = WeightedReservoir(5000, rng=7)
    two.update(items[:seg], w[:seg])
    two.update(items[seg:], w[seg:])
    assert one.count == two.count == n
    np.testing.assert_array_equal(one.sample, two.sample)
    np.testing.assert_array_equal(one.keys, two.keys)
    # Every kept item is one of the chunk's, at the position its key came from.
    assert set((one.sample // 3).tolist()) <= set(range(n))
    assert (one.sample % 3 == 0).all() and (one.sample >= seg * 3).any()
