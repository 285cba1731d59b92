"""Sizes whose element count overflows int64 (issue 11, finding 5): every
sampler computes the count exactly and raises ValueError naming the argument
and its value, before drawing anything."""
from __future__ import annotations

import numpy as np
import pytest

import negsamp
from negsamp.graphs import negative_edges
from negsamp.kg import corrupt_triples

WRAPS_TO_2 = 6148914691236517206  # 3 * this = 2**64 + 2


def _unchanged(gen: np.random.Generator, before: dict) -> bool:
    return gen.bit_generator.state == before


def test_alias_sample_size_product_overflow():
    table = negsamp.AliasTable([1.0, 2.0, 3.0])
    gen = np.random.default_rng(0)
    before = gen.bit_generator.state
    with pytest.raises(ValueError,
                       match=r"size \(3, 6148914691236517206\) has 18446744073709551618 elements"):
        table.sample((3, WRAPS_TO_2), rng=gen)
    with pytest.raises(ValueError, match=r"size \[4, 4611686018427387906\] has"):
        table.sample([4, 2**62 + 2], rng=gen)
    with pytest.raises(ValueError, match=r"size \(4611686018427387904, 2\) has"):
        table.sample((2**62, 2), rng=gen, dtype=np.int32)
    assert _unchanged(gen, before)
    assert table.sample((2, 3), rng=0).shape == (2, 3)


def test_negative_sampler_rows_times_k_overflow():
    sampler = negsamp.NegativeSampler(weights=[1.0, 2.0, 3.0, 4.0])
    gen = np.random.default_rng(0)
    before = gen.bit_generator.state
    with pytest.raises(ValueError, match=rf"k={WRAPS_TO_2} negatives for each of 3 rows has "
                                         r"18446744073709551618 elements"):
        sampler.sample([0, 0, 0], k=WRAPS_TO_2, rng=gen)
    assert _unchanged(gen, before)


def test_corrupt_triples_m_times_k_overflow():
    triples = np.array([[0, 0, 1], [1, 0, 2]])
    gen = np.random.default_rng(0)
    before = gen.bit_generator.state
    with pytest.raises(ValueError, match=r"k=4611686018427387904 corruptions of each of 2 "
                                         r"triples has 27670116110564327424 elements"):
        corrupt_triples(triples, 3, k=2**62, mode="both", rng=gen)
    assert _unchanged(gen, before)


@pytest.mark.parametrize("method", ["global", "per_source"])
def test_negative_edges_num_samples_overflow(method):
    edges = np.array([[0, 1, 2], [1, 2, 0]])
    gen = np.random.default_rng(0)
    before = gen.bit_generator.state
    with pytest.raises(ValueError, match=rf"num_samples={WRAPS_TO_2} .* has "
                                         r"\d+ elements, more than"):
        negative_edges(edges, 3, WRAPS_TO_2, method=method, replace=True, rng=gen)
    assert _unchanged(gen, before)
