"""negsamp.Reservoir (Algorithm L): the exact uniform law whatever the chunking,
against a pure-Python Algorithm L on the same stream; golden values."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from negsamp import Reservoir, WeightedReservoir
from negsamp.baselines import UniformKeysReservoir
from _stats import chisquare_pvalue
from _reference import reference_algorithm_l
from _reservoir_cases import ALPHA, feed, inclusion_counts, subset_counts


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 400),
    k=st.integers(1, 30),
    chunks=st.lists(st.integers(1, 90), min_size=1, max_size=6),
    seed=st.integers(0, 2**32),
)
def test_uniform_matches_pure_python_algorithm_l(n, k, chunks, seed):
    stream = np.arange(n, dtype=np.int64) * 3 + 1
    res = feed(Reservoir(k, rng=seed), stream, chunks)
    assert res.count == n
    assert res.sample.tolist() == reference_algorithm_l(stream.tolist(), k, seed)


# -- uniform laws -------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("chunks", [[1], [3, 7], [1000]])
def test_uniform_subset_law_is_uniform_whatever_the_chunking(chunks):
    n, k, trials = 7, 3, 14_000
    stream = np.arange(n)
    samples = [feed(Reservoir(k, rng=s), stream, chunks).sample for s in range(trials)]
    counts = subset_counts(samples, n, k)
    probs = np.full(counts.shape[0], 1.0 / counts.shape[0])
    assert chisquare_pvalue(counts, probs) > ALPHA


def test_uniform_inclusion_probability_is_k_over_n_on_long_streams():
    # Long enough that almost all acceptances come from Algorithm L's jumps.
    n, k, trials = 3000, 4, 6000
    stream = np.arange(n)
    counts = np.zeros(n)
    for s in range(trials):
        counts[feed(Reservoir(k, rng=s), stream, [250]).sample] += 1
    # Items pooled in 30 groups of 100: each group holds k/n * 100 expected.
    grouped = counts.reshape(30, 100).sum(axis=1)
    assert grouped.sum() == trials * k
    assert chisquare_pvalue(grouped, np.full(30, 1 / 30)) > ALPHA
    # The test has power: a law with a 30% tilt towards late items fails.
    tilt = np.linspace(0.85, 1.15, 30)
    assert chisquare_pvalue(grouped, tilt / tilt.sum()) < ALPHA


def test_uniform_chi_square_over_many_seeds():
    n, k, trials = 40, 5, 8000
    stream = np.arange(n)
    counts = inclusion_counts(
        [feed(Reservoir(k, rng=1000 + s), stream, [6]).sample for s in range(trials)], n
    )
    assert chisquare_pvalue(counts, np.full(n, 1 / n)) > ALPHA
    # Expected k/N per item
    assert np.allclose(counts / trials, k / n, atol=0.02)


def test_uniform_fewer_than_k_keeps_everything_in_order():
    res = Reservoir(10, rng=0)
    res.update(np.array([5, 6, 7]))
    res.update([8, 9])
    assert res.sample.tolist() == [5, 6, 7, 8, 9]
    assert res.count == 5 and len(res) == 5


# -- golden values ------------------------------------------------------------
def test_golden_values_weighted_and_merge():
    # Uniform reservoirs and their merges: tests/data/golden_reservoir.json,
    # computed by the pure-Python Algorithm L and merge of tests/_reference.py
    # (tests/test_goldens.py; a merge with a derived key in
    # tests/test_reservoir_merge_kernels.py).  A-ExpJ is not mirrored there:
    # pinned from this implementation.
    w = WeightedReservoir(4, rng=12345)
    weights = 1.0 / np.arange(1, 10**4 + 1)
    w.update(np.arange(10**4), weights)
    assert w.sample.tolist() == GOLDEN_WEIGHTED


GOLDEN_WEIGHTED = [0, 4199, 5, 4131]


def test_baselines_have_the_right_uniform_law():
    n, k, trials = 6, 2, 6000
    samples = []
    for s in range(trials):
        b = UniformKeysReservoir(k, rng=s)
        feed(b, np.arange(n), [4])
        samples.append(b.sample)
    counts = subset_counts(samples, n, k)
    assert chisquare_pvalue(counts, np.full(counts.shape[0], 1 / counts.shape[0])) > ALPHA
