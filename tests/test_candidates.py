"""negsamp.sampled_candidates: the exact law of the draws (log-uniform,
uniform, alias table, restricted to non-true labels), exact inclusion
probabilities of the unique design against Monte Carlo frequencies over many
seeds, a pure-Python reference, golden values, threads, bad input."""
from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import negsamp
from negsamp import AliasTable, sampled_candidates
from negsamp import _candidates
from _stats import assert_fits, chisquare_pvalue

ALPHA = 1e-4


def log_uniform(n):
    i = np.arange(n, dtype=np.float64)
    return np.log((i + 2) / (i + 1)) / np.log(n + 1)


def restricted(p, removed):
    q = np.array(p, dtype=np.float64)
    q[list(removed)] = 0
    return q / q.sum()


def min_binomial_pvalue(counts, trials, probs):
    """The smallest two-sided exact binomial p-value of counts[i] ~
    Binomial(trials, probs[i]) over the items (each item's inclusion is a
    Bernoulli per independent trial)."""
    pvalues = [stats.binomtest(int(c), trials, float(p)).pvalue if 0 < p < 1
               else float(c == (trials if p == 1 else 0))
               for c, p in zip(counts, probs)]
    return min(pvalues)


# -- the law of the draws (with replacement) ---------------------------------
@pytest.mark.parametrize("n", [1, 2, 7, 50])
def test_log_uniform_draws_follow_the_zipfian_law(n):
    s = sampled_candidates(200_000, "log_uniform", n_items=n, unique=False, rng=n)
    assert s.candidates.shape == (200_000,) and s.candidates.dtype == np.int64
    assert s.candidates.min() >= 0 and s.candidates.max() < n
    if n > 1:
        assert_fits(s.candidates, log_uniform(n), ALPHA)


def test_log_uniform_goodness_of_fit_has_power():
    # TensorFlow's law is over [0, n); its off-by-one cousins (the law over
    # [0, n - 1) shifted, or p(i) ~ 1 / (i + 1)) fail at this sample size.
    n = 50
    s = sampled_candidates(200_000, "log_uniform", n_items=n, unique=False, rng=1)
    counts = np.bincount(s.candidates, minlength=n)
    assert chisquare_pvalue(counts, log_uniform(n)) > ALPHA
    shifted = np.append(log_uniform(n - 1), 0) * 0.999 + 0.001 / n
    assert chisquare_pvalue(counts, shifted) < 1e-8
    harmonic = 1 / np.arange(1, n + 1)
    assert chisquare_pvalue(counts, harmonic / harmonic.sum()) < 1e-8


def test_log_uniform_head_probability_of_a_large_range():
    # n = 10**6: item 0 has p = log 2 / log(n + 1); items beyond 10**5 hold
    # log((n + 1) / (10**5 + 1)) / log(n + 1) of the mass.
    n, draws = 10**6, 400_000
    x = sampled_candidates(draws, "log_uniform", n_items=n, unique=False, rng=3).candidates
    assert x.max() < n
    p0 = math.log(2) / math.log(n + 1)
    tail = math.log((n + 1) / (10**5 + 1)) / math.log(n + 1)
    for observed, p in ((np.count_nonzero(x == 0), p0),
                        (np.count_nonzero(x >= 10**5), tail)):
        assert stats.binomtest(int(observed), draws, p).pvalue > ALPHA


def test_uniform_and_table_draws_follow_their_law():
    s = sampled_candidates(100_000, "uniform", n_items=13, unique=False, rng=2)
    assert_fits(s.candidates, np.full(13, 1 / 13), ALPHA)
    np.testing.assert_allclose(s.expected_counts, 100_000 / 13)
    table = AliasTable([5.0, 0.0, 1.0, 3.0, 0.5])
    s = sampled_candidates(100_000, table, unique=False, rng=4)
    assert_fits(s.candidates, table.probabilities, ALPHA)
    assert not (s.candidates == 1).any()
    np.testing.assert_allclose(s.expected_counts, 100_000 * table.probabilities[s.candidates])


@pytest.mark.parametrize("law", ["log_uniform", "uniform", "table"])
def test_remove_true_draws_from_the_restricted_law(law):
    n = 20
    base = {"log_uniform": log_uniform(n), "uniform": np.full(n, 1 / n),
            "table": np.arange(1, n + 1) / np.arange(1, n + 1).sum()}[law]
    spec = AliasTable(np.arange(1, n + 1)) if law == "table" else law
    labels = np.array([[0, 3], [3, 17]])
    labels_before = labels.copy()
    s = sampled_candidates(100_000, spec, n_items=n, unique=False, true_labels=labels,
                           remove_true=True, rng=5)
    np.testing.assert_array_equal(labels, labels_before)
    q = restricted(base, {0, 3, 17})
    assert_fits(s.candidates, q, ALPHA)
    np.testing.assert_allclose(s.expected_counts, 100_000 * q[s.candidates], rtol=1e-12)
    np.testing.assert_array_equal(s.true_expected_counts, np.zeros((2, 2)))


@pytest.mark.parametrize("law", ["log_uniform", "table"])
def test_remove_true_of_most_of_the_mass_uses_the_complement(law):
    # The true labels hold more than 15/16 of the mass: no rejection loop,
    # an alias table of the rest, same law.
    n = 30
    weights = np.r_[np.full(5, 100.0), np.ones(n - 5)]
    spec = AliasTable(weights) if law == "table" else law
    base = weights / weights.sum() if law == "table" else log_uniform(n)
    removed = np.arange(5) if law == "table" else np.arange(27)
    assert base[removed].sum() > 15 / 16
    s = sampled_candidates(60_000, spec, n_items=n, unique=False, true_labels=removed,
                           remove_true=True, rng=6)
    q = restricted(base, set(removed.tolist()))
    assert_fits(s.candidates, q, ALPHA)
    np.testing.assert_allclose(s.expected_counts, 60_000 * q[s.candidates], rtol=1e-9)


# -- exact inclusion probabilities of the unique design -----------------------
def inclusion_frequencies(trials, n, **kwargs):
    counts = np.zeros(n, dtype=np.int64)
    sizes = np.zeros(trials, dtype=np.int64)
    for seed in range(trials):
        s = sampled_candidates(rng=seed, n_items=n, **kwargs)
        assert np.unique(s.candidates).shape == s.candidates.shape
        counts[s.candidates] += 1
        sizes[seed] = s.candidates.shape[0]
    return counts, sizes


@pytest.mark.slow
@pytest.mark.parametrize("law", ["log_uniform", "table"])
def test_inclusion_probabilities_match_monte_carlo_over_many_seeds(law):
    n, tries, trials = 25, 12, 8000
    weights = np.arange(n, 0, -1) ** 2.0
    spec = AliasTable(weights) if law == "table" else law
    p = spec.probabilities if law == "table" else log_uniform(n)
    counts, sizes = inclusion_frequencies(trials, n, num_sampled=tries, law=spec)
    pi = 1 - (1 - p) ** tries
    # What the sampler reports is this formula, for every id.
    reported = sampled_candidates(tries, spec, n_items=n, true_labels=np.arange(n), rng=0)
    np.testing.assert_allclose(reported.true_expected_counts, pi, rtol=1e-12)
    assert min_binomial_pvalue(counts, trials, pi) > ALPHA / n
    # E|S| = sum(pi): a t-test on the sizes.
    assert stats.ttest_1samp(sizes, pi.sum()).pvalue > ALPHA
    # The test has power: T p (capped at 1), and 1 - (1 - p)^|S| (the
    # number of distinct candidates mistaken for the number of tries), fail.
    assert min_binomial_pvalue(counts, trials, np.minimum(1, tries * p)) < 1e-8
    mean_size = sizes.mean()
    assert min_binomial_pvalue(counts, trials, 1 - (1 - p) ** mean_size) < 1e-8


@pytest.mark.slow
def test_inclusion_probabilities_with_remove_true_match_monte_carlo():
    n, tries, trials = 20, 8, 8000
    labels = np.array([0, 2, 2, 5])
    counts, _ = inclusion_frequencies(trials, n, num_sampled=tries, law="log_uniform",
                                      true_labels=labels, remove_true=True)
    q = restricted(log_uniform(n), {0, 2, 5})
    pi = 1 - (1 - q) ** tries
    assert counts[[0, 2, 5]].sum() == 0
    assert min_binomial_pvalue(counts, trials, pi) > ALPHA / n
    # Inclusion under the unrestricted law is far off.
    assert min_binomial_pvalue(counts, trials, 1 - (1 - log_uniform(n)) ** tries) < 1e-8


def test_expected_counts_with_replacement_match_monte_carlo():
    n, tries, trials = 15, 10, 6000
    counts = np.zeros(n)
    for seed in range(trials):
        s = sampled_candidates(tries, "log_uniform", n_items=n, unique=False, rng=seed)
        counts += np.bincount(s.candidates, minlength=n)
    # All trials * tries draws are iid: a chi-square against T p.
    assert chisquare_pvalue(counts, log_uniform(n)) > ALPHA


def test_inclusion_probability_is_stable_for_tiny_and_certain_items():
    s = sampled_candidates(8192, "log_uniform", n_items=10**12, true_labels=[0, 10**12 - 1],
                           rng=0)
    p_last = math.log1p(1 / 10**12) / math.log1p(10**12)
    # 1 - (1 - p)^T computed naively would lose every digit here.
    assert s.true_expected_counts[1] == pytest.approx(-math.expm1(8192 * math.log1p(-p_last)),
                                                      rel=1e-12)
    assert s.true_expected_counts[1] == pytest.approx(8192 * p_last, rel=1e-6)
    one = sampled_candidates(3, "uniform", n_items=1, true_labels=[0], rng=0)
    assert one.candidates.tolist() == [0] and one.expected_counts.tolist() == [1.0]
    assert one.true_log_q.tolist() == [0.0]


# -- against a pure-Python reference ------------------------------------------
def reference(draws, p, tries, unique):
    """First-occurrence distinct draws and 1 - (1 - p)^T, in plain Python."""
    if unique:
        cands = list(dict.fromkeys(draws))
        return cands, [1 - (1 - p[c]) ** tries for c in cands]
    return list(draws), [tries * p[c] for c in draws]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), tries=st.integers(0, 200), seed=st.integers(0, 2**32),
       law=st.sampled_from(["log_uniform", "uniform", "table"]),
       n_labels=st.integers(0, 5), remove=st.booleans())
def test_matches_a_pure_python_reference(n, tries, seed, law, n_labels, remove):
    gen = np.random.default_rng(seed)
    spec = AliasTable(gen.random(n) + 0.01) if law == "table" else law
    p = (spec.probabilities if law == "table" else
         log_uniform(n) if law == "log_uniform" else np.full(n, 1 / n))
    labels = gen.integers(0, n, n_labels)
    remove = remove and n_labels > 0 and np.unique(labels).shape[0] < n
    if remove:
        p = restricted(p, set(labels.tolist()))
    kwargs = dict(n_items=n, true_labels=labels if n_labels else None, remove_true=remove)
    full = sampled_candidates(tries, spec, unique=False, rng=seed, **kwargs)
    uniq = sampled_candidates(tries, spec, unique=True, rng=seed, **kwargs)
    assert full.num_tries == uniq.num_tries == tries
    assert full.candidates.shape == (tries,)
    if remove:
        assert not np.isin(full.candidates, labels).any()
    for got, unique in ((full, False), (uniq, True)):
        cands, expected = reference(full.candidates.tolist(), p, tries, unique)
        assert got.candidates.tolist() == cands
        np.testing.assert_allclose(got.expected_counts, expected, rtol=1e-9, atol=1e-300)
        if n_labels:
            _, true_expected = reference(labels.tolist(), p, tries, unique)
            if unique:
                true_expected = [1 - (1 - p[c]) ** tries for c in labels]
            np.testing.assert_allclose(got.true_expected_counts, true_expected, rtol=1e-9,
                                       atol=1e-300)
        np.testing.assert_array_equal(got.log_q, np.log(got.expected_counts))


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.integers(0, 2**62), max_size=300))
def test_dedup_kernel_keeps_first_occurrences(values):
    arr = np.array(values, dtype=np.int64)
    assert _candidates.unique(arr).tolist() == list(dict.fromkeys(values))


def test_dedup_of_8192_tries_from_a_million():
    s = sampled_candidates(8192, "log_uniform", n_items=10**6, rng=0)
    assert s.candidates.shape[0] == np.unique(s.candidates).shape[0] < 8192
    full = sampled_candidates(8192, "log_uniform", n_items=10**6, unique=False, rng=0)
    np.testing.assert_array_equal(s.candidates, list(dict.fromkeys(full.candidates.tolist())))


# -- golden values, rng, threads ----------------------------------------------
GOLDEN_LOG_UNIFORM = [68, 24, 0, 3, 31, 50, 92, 0, 31, 22]
GOLDEN_UNIFORM = [91, 70, 3, 30, 75, 85, 98, 4, 75, 68]


def test_golden_values():
    s = sampled_candidates(10, "log_uniform", n_items=100, unique=False, rng=12345)
    assert s.candidates.tolist() == GOLDEN_LOG_UNIFORM
    s = sampled_candidates(10, "uniform", n_items=100, unique=False, rng=12345)
    assert s.candidates.tolist() == GOLDEN_UNIFORM


def test_rng_follows_spec_7():
    a = sampled_candidates(50, "log_uniform", n_items=1000, rng=7)
    b = sampled_candidates(50, "log_uniform", n_items=1000, rng=np.random.SeedSequence(7))
    np.testing.assert_array_equal(a.candidates, b.candidates)
    gen = np.random.default_rng(7)
    c = sampled_candidates(50, "log_uniform", n_items=1000, rng=gen)
    d = sampled_candidates(50, "log_uniform", n_items=1000, rng=gen)
    assert c.candidates.tolist() != d.candidates.tolist()  # the generator advanced
    table = AliasTable(np.arange(1, 100))
    e = sampled_candidates(50, table, rng=3)
    f = sampled_candidates(50, table, rng=3)
    np.testing.assert_array_equal(e.candidates, f.candidates)


@pytest.mark.parametrize("law", ["log_uniform", "uniform"])
def test_one_and_two_threads_give_the_same_output(law):
    tries = 3 * _candidates.BLOCK + 17
    labels = np.arange(0, 40, 3)
    a = sampled_candidates(tries, law, n_items=5000, true_labels=labels, remove_true=True,
                           unique=False, rng=9, n_threads=1)
    b = sampled_candidates(tries, law, n_items=5000, true_labels=labels, remove_true=True,
                           unique=False, rng=9, n_threads=2)
    np.testing.assert_array_equal(a.candidates, b.candidates)


def test_python_threads_can_share_a_table():
    table = AliasTable(np.arange(1, 1001))
    results, errors = {}, []

    def work(seed):
        try:
            results[seed] = sampled_candidates(500, table, rng=seed).candidates
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for seed, cands in results.items():
        np.testing.assert_array_equal(cands, sampled_candidates(500, table, rng=seed).candidates)


def test_exported_from_the_package():
    assert negsamp.sampled_candidates is sampled_candidates


# -- bad input ------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, error, match", [
    (dict(num_sampled=-1), ValueError, "num_sampled"),
    (dict(num_sampled=2.0), TypeError, "num_sampled"),
    (dict(num_sampled=True), TypeError, "num_sampled"),
    (dict(law="zipf"), ValueError, "law"),
    (dict(law="uniform", n_items=None), TypeError, "n_items"),
    (dict(n_items=0), ValueError, "n_items"),
    (dict(n_items=10.0), TypeError, "n_items"),
    (dict(unique="yes"), TypeError, "unique"),
    (dict(remove_true=1), TypeError, "remove_true"),
    (dict(remove_true=True), ValueError, "true_labels"),
    (dict(true_labels=[0, 10]), ValueError, "true_labels"),
    (dict(true_labels=[-1]), ValueError, "true_labels"),
    (dict(true_labels=[0.5]), TypeError, "true_labels"),
    (dict(true_labels="3"), TypeError, "true_labels"),
    (dict(n_threads=0), ValueError, "n_threads"),
    (dict(true_labels=np.arange(10), remove_true=True), ValueError, "remove_true"),
])
def test_bad_input_is_rejected_naming_the_argument(kwargs, error, match):
    args = dict(num_sampled=5, law="log_uniform", n_items=10)
    args.update(kwargs)
    num_sampled = args.pop("num_sampled")
    law = args.pop("law")
    with pytest.raises(error, match=match):
        sampled_candidates(num_sampled, law, **args)


def test_table_size_must_agree_with_n_items():
    with pytest.raises(ValueError, match="n_items=5"):
        sampled_candidates(3, AliasTable([1.0, 2.0]), n_items=5)
    with pytest.raises(ValueError, match="remove_true"):
        sampled_candidates(3, AliasTable([1.0, 0.0, 2.0]), true_labels=[0, 2], remove_true=True)


def test_bad_input_leaves_the_generator_and_arrays_untouched():
    gen = np.random.default_rng(0)
    state = gen.bit_generator.state
    labels = np.array([5, 1, 99])
    with pytest.raises(ValueError, match=r"true_labels must be in \[0, 10\), got 99"):
        sampled_candidates(3, "log_uniform", n_items=10, true_labels=labels, rng=gen)
    assert gen.bit_generator.state == state
    assert labels.tolist() == [5, 1, 99]


def test_kernel_hooks_check_their_buffers():
    with pytest.raises(ValueError, match="sorted"):
        _candidates.draw(_candidates.UNIFORM, 5, np.array([3, 1]), 4, 0, 0, 1)
    with pytest.raises(ValueError, match="every id"):
        _candidates.draw(_candidates.UNIFORM, 2, np.array([0, 1]), 4, 0, 0, 1)
    with pytest.raises(ValueError, match="non-negative"):
        _candidates.unique(np.array([1, -2]))
