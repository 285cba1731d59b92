"""Goodness-of-fit helpers shared by the statistical tests.

Thresholds: tests call these with fixed seeds and alpha = 1e-4 or so, so a
correct sampler fails with tiny probability while the wrong laws the tests
construct (off-by-one, float32-rounded, unnormalised) fail for certain at
the sample sizes used.
"""
from __future__ import annotations

import numpy as np
from scipy import stats


def chisquare_pvalue(counts, probs, min_expected: float = 5.0) -> float:
    """Pearson chi-square p-value of ``counts`` (per category) against the
    law ``probs``.  Categories with expected count below ``min_expected`` are
    pooled into one bin (so the chi-square approximation holds).  A category
    of probability 0 that was observed gives p = 0.  Fewer than two bins
    fail the calling test (nothing would be tested)."""
    counts = np.asarray(counts, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    assert counts.shape == probs.shape
    if np.any((probs == 0) & (counts > 0)):
        return 0.0
    total = counts.sum()
    expected = probs / probs.sum() * total
    big = expected >= min_expected
    obs = list(counts[big])
    exp = list(expected[big])
    if (~big).any():
        obs.append(counts[~big].sum())
        exp.append(expected[~big].sum())
    obs_a, exp_a = np.array(obs), np.array(exp)
    keep = exp_a > 0
    obs_a, exp_a = obs_a[keep], exp_a[keep]
    # Fewer than two bins leave nothing to test: a fit that "passes" there
    # would pass for any sampler, so it is a mistake in the test.
    assert obs_a.shape[0] >= 2, (
        f"goodness of fit needs at least 2 bins with expected count >= {min_expected}, "
        f"got {obs_a.shape[0]}: draw more samples or test a law with more support")
    return float(stats.chisquare(obs_a, exp_a * obs_a.sum() / exp_a.sum()).pvalue)


def assert_fits(samples, probs, alpha: float = 1e-4) -> float:
    """Asserts that integer ``samples`` follow ``probs`` (chi-square)."""
    probs = np.asarray(probs, dtype=np.float64)
    counts = np.bincount(np.asarray(samples).ravel(), minlength=probs.shape[0])
    assert counts.shape[0] == probs.shape[0], "samples outside the support"
    p = chisquare_pvalue(counts, probs)
    assert p > alpha, f"chi-square p-value {p:.3g} <= {alpha}"
    return p


def without_replacement_inclusion(weights, k: int) -> np.ndarray:
    """Exact inclusion probabilities of successive weighted draws without
    replacement of ``k`` items from ``weights`` (brute force over ordered
    draws; small n only)."""
    w = np.asarray(weights, dtype=np.float64)
    n = w.shape[0]
    incl = np.zeros(n)

    def rec(chosen: list, prob: float, remaining: float) -> None:
        if len(chosen) == k:
            for c in chosen:
                incl[c] += prob
            return
        for i in range(n):
            if i in chosen or w[i] == 0:
                continue
            rec(chosen + [i], prob * w[i] / remaining, remaining - w[i])

    rec([], 1.0, w.sum())
    return incl


def first_pick_law(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return w / w.sum()
