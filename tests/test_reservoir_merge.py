"""Merging reservoirs: a merge has the law of one reservoir over the union, and a
merged reservoir continues with the exact law; concurrent merges."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy import stats

from negsamp import Reservoir, WeightedReservoir
from _helpers import run_in_threads
from _stats import chisquare_pvalue, without_replacement_inclusion
from _reservoir_cases import ALPHA, feed, subset_counts


# -- uniform merge ------------------------------------------------------------
@pytest.mark.parametrize(
    "n1, n2",
    [(5, 3), (2, 6), (1, 1), (0, 7), (3, 0), (4, 4)],
)
@pytest.mark.slow
def test_uniform_merge_has_the_law_of_one_reservoir(n1, n2):
    k, trials = 3, 8000
    n = n1 + n2
    a_stream, b_stream = np.arange(n1), np.arange(n1, n)
    samples = []
    for s in range(trials):
        a = feed(Reservoir(k, rng=s), a_stream, [2])
        b = feed(Reservoir(k, rng=10**6 + s), b_stream, [3])
        m = a.merge(b)
        assert m.count == n
        samples.append(m.sample)
    if n <= k:
        assert all(sorted(s.tolist()) == list(range(n)) for s in samples)
        return
    counts = subset_counts(samples, n, k)
    assert chisquare_pvalue(counts, np.full(counts.shape[0], 1 / counts.shape[0])) > ALPHA


@pytest.mark.slow
@pytest.mark.parametrize("n1, n2", [(2, 1), (6, 1), (3, 20), (40, 40)])
def test_uniform_merge_then_continue_keeps_exact_inclusion(n1, n2):
    # After the merge, Algorithm L resumes from a threshold drawn from its
    # exact conditional law; feeding more items must keep P(kept) = k / n.
    k, more, trials = 3, 37, 8000
    n = n1 + n2 + more
    counts = np.zeros(n)
    for s in range(trials):
        a = feed(Reservoir(k, rng=s), np.arange(n1), [5])
        b = feed(Reservoir(k, rng=10**6 + s), np.arange(n1, n1 + n2), [5])
        m = a.merge(b)
        feed(m, np.arange(n1 + n2, n), [4])
        assert m.count == n
        counts[m.sample] += 1
    assert chisquare_pvalue(counts, np.full(n, 1 / n)) > ALPHA
    # Power check: a wrong threshold after the merge shifts mass between the
    # merged prefix and the tail; a 30% shift is detected.
    tilt = np.where(np.arange(n) < n1 + n2, 1.3, 1.0)
    assert chisquare_pvalue(counts, tilt / tilt.sum()) < ALPHA


@pytest.mark.slow
def test_uniform_merge_tree_of_many_reservoirs():
    k, parts, size, trials = 2, 5, 3, 6000
    n = parts * size
    counts = np.zeros(n)
    for s in range(trials):
        rs = [feed(Reservoir(k, rng=np.random.SeedSequence([s, p])), np.arange(p * size, (p + 1) * size), [2])
              for p in range(parts)]
        while len(rs) > 1:
            rs = [rs[i].merge(rs[i + 1]) if i + 1 < len(rs) else rs[i]
                  for i in range(0, len(rs), 2)]
        counts[rs[0].sample] += 1
    assert chisquare_pvalue(counts, np.full(n, 1 / n)) > ALPHA


def test_uniform_merge_is_deterministic_and_leaves_inputs_alone():
    a = feed(Reservoir(4, rng=1), np.arange(100), [30])
    b = feed(Reservoir(4, rng=2), np.arange(100, 150), [30])
    before = (a.to_state_tuple(), b.to_state_tuple())
    m1, m2 = a.merge(b), a.merge(b)
    assert m1 == m2
    assert (a.to_state_tuple(), b.to_state_tuple()) == before
    assert a.merge(b, rng=5) == a.merge(b, rng=5)
    m1.update(np.arange(1000, 2000))
    m2.update(np.arange(1000, 2000))
    assert m1 == m2


def test_uniform_merge_errors():
    a = Reservoir(3, rng=0)
    a.update(np.arange(5))
    with pytest.raises(ValueError, match="different k"):
        a.merge(Reservoir(4))
    b = Reservoir(3)
    b.update(np.arange(5.0))
    with pytest.raises(TypeError, match="different dtypes"):
        a.merge(b)
    with pytest.raises(TypeError, match="Reservoir"):
        a.merge(WeightedReservoir(3))
    with pytest.raises(ValueError, match="itself"):
        a.merge(a)
    empty = Reservoir(3, rng=1)
    m = empty.merge(a)
    assert m.dtype == np.int64 and sorted(m.sample.tolist()) == sorted(a.sample.tolist())


@pytest.mark.parametrize("cls", [Reservoir, WeightedReservoir])
def test_merge_whose_count_overflows_raises_before_touching_rng(cls):
    def fed(seed):
        r = cls(3, rng=seed)
        if cls is Reservoir:
            r.update(np.arange(5))
        else:
            r.update(np.arange(5), np.ones(5))
        return r

    a, b = fed(0), fed(1)
    # (counts no stream reaches in a test: set on the objects)
    a._count = b._count = 2**62 + 1
    gen = np.random.default_rng(7)
    before = gen.bit_generator.state
    with pytest.raises(ValueError, match="overflow int64"):
        a.merge(b, rng=gen)
    assert gen.bit_generator.state == before
    assert a.count == b.count == 2**62 + 1


# -- weighted merge -----------------------------------------------------------
def test_weighted_merge_is_the_top_k_of_the_union():
    gen = np.random.default_rng(1)
    a = WeightedReservoir(6, rng=1)
    b = WeightedReservoir(6, rng=2)
    a.update(np.arange(50), gen.random(50))
    b.update(np.arange(50, 53), gen.random(3))
    m = a.merge(b)
    keys = np.concatenate([a.keys, b.keys])
    items = np.concatenate([a.sample, b.sample])
    top = np.argsort(keys)[-6:]
    assert sorted(m.sample.tolist()) == sorted(items[top].tolist())
    assert sorted(m.keys.tolist()) == sorted(keys[top].tolist())
    assert m.count == 53 and m.total_weight == pytest.approx(a.total_weight + b.total_weight)


@pytest.mark.slow
@pytest.mark.parametrize("n1", [2, 5, 9])
def test_weighted_merge_then_continue_has_the_exact_law(n1):
    w = np.array([1.0, 2.0, 0.0, 3.0, 0.5, 4.0, 0.0, 1.5, 2.5, 1.0, 3.5])
    k, trials = 2, 12_000
    exact = without_replacement_inclusion(w, k)
    n = w.shape[0]
    cut2 = min(n1 + 1, n)
    counts = np.zeros(n)
    for s in range(trials):
        a = feed(WeightedReservoir(k, rng=s), np.arange(n1), [2], w[:n1])
        b = feed(WeightedReservoir(k, rng=10**6 + s), np.arange(n1, cut2), [2], w[n1:cut2])
        m = a.merge(b)
        feed(m, np.arange(cut2, n), [3], w[cut2:])
        counts[m.sample] += 1
    assert chisquare_pvalue(counts, exact / exact.sum()) > ALPHA


def test_threads_merging_concurrently():
    a = Reservoir(10, rng=1)
    a.update(np.arange(1000))
    b = Reservoir(10, rng=2)
    b.update(np.arange(1000, 2000))
    expected = a.merge(b)
    results = []

    def work(_):
        for _ in range(50):
            results.append(a.merge(b))
            results.append(b.merge(a).count)

    run_in_threads(work, 4)
    assert all(r == expected for r in results if isinstance(r, Reservoir))


@pytest.mark.parametrize("k, n", [(1, 1), (3, 3), (5, 40), (1000, 10**12)])
def test_merge_threshold_has_the_beta_law(k, n):
    # After a merge Algorithm L resumes with W ~ Beta(k, n - k + 1), the law
    # of the k-th smallest of n uniform keys.
    from negsamp import _reservoir

    draws = np.array([_reservoir.resume(i, 99, k, n) for i in range(6000)])
    w, nxt = draws[:, 0], draws[:, 1]
    assert stats.kstest(w, stats.beta(k, n - k + 1).cdf).pvalue > ALPHA
    assert np.all(nxt >= n)
    # The gap to the next acceptance is geometric given W: the randomised
    # probability integral transform of each gap is uniform.
    gaps = nxt - n
    lo = -np.expm1(gaps * np.log1p(-w))  # P(gap < g)
    hi = -np.expm1((gaps + 1) * np.log1p(-w))  # P(gap <= g)
    v = np.random.default_rng(0).random(gaps.shape[0])
    assert stats.kstest(lo + v * (hi - lo), "uniform").pvalue > ALPHA


def test_merge_that_keeps_nothing_equals_its_pickled_copy():
    # Found by fuzzing: a merged WeightedReservoir holding no item (all
    # weights 0) had items None, its pickled copy an empty array: unequal.
    import pickle

    a = WeightedReservoir(4, rng=0)
    a.update(np.zeros(3, np.uint8), np.zeros(3))
    m = a.merge(WeightedReservoir(4, rng=1))
    assert pickle.loads(pickle.dumps(m)) == m
    assert WeightedReservoir.from_bytes(m.to_bytes()) == m
