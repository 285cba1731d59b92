"""The shared RNG: xoshiro256++ streams, Lemire bounded integers, rng= and
n_threads= normalisation."""
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from negsamp import _common
from negsamp._rng import as_generator, draw_key, spawn
from negsamp._threads import default_n_threads, resolve_n_threads

from _reference import MASK, reference_stream


@pytest.mark.parametrize("k0,k1,block", [(0, 0, 0), (1, 2, 3), (MASK, 12345, 2**40)])
def test_stream_matches_reference_xoshiro256pp(k0, k1, block):
    got = _common._rng_stream_py(k0, k1, block, 50, "raw")
    assert [int(x) for x in got] == reference_stream(k0, k1, block, 50)


def test_streams_of_distinct_blocks_and_keys_differ():
    a = _common._rng_stream_py(1, 2, 0, 8)
    b = _common._rng_stream_py(1, 2, 1, 8)
    c = _common._rng_stream_py(1, 3, 0, 8)
    assert not np.array_equal(a, b) and not np.array_equal(a, c)


def test_doubles_uniform_in_unit_interval():
    u = _common._rng_stream_py(7, 8, 9, 200_000, "double")
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-4


@pytest.mark.parametrize("bound", [1, 3, 7, 1000, 2**33 + 17, 2**63 + 5])
def test_bounded_is_in_range_and_uniform(bound):
    x = _common._rng_stream_py(11, 12, 13, 100_000, "bounded", bound)
    assert int(x.max()) < bound
    if bound == 1:
        assert not x.any()
        return
    # Chi-square over 10 equal-width bins of [0, bound) (exact for small
    # bounds; for huge bounds the bins are equal up to 1 part in 2**60).
    bins = np.minimum((x.astype(np.float64) / bound * 10).astype(int), 9) if bound > 10 else x
    k = min(bound, 10)
    counts = np.bincount(bins.astype(np.int64), minlength=k)
    if bound <= 10:
        expected = np.full(k, x.size / k)
    else:
        expected = np.full(k, x.size / 10)
    assert stats.chisquare(counts, expected).pvalue > 1e-4


def test_bounded_top_of_range_is_reached_for_large_bounds():
    # A bounded draw that ignored the high bits would never exceed 2**32.
    x = _common._rng_stream_py(3, 4, 5, 1000, "bounded", 2**62)
    assert (x > 2**61).any()


def test_as_generator_accepts_spec7_inputs():
    g = np.random.default_rng(1)
    assert as_generator(g) is g
    assert isinstance(as_generator(None), np.random.Generator)
    a = as_generator(5).integers(0, 2**63, 4)
    b = as_generator(np.int64(5)).integers(0, 2**63, 4)
    c = as_generator(np.random.SeedSequence(5)).integers(0, 2**63, 4)
    assert np.array_equal(a, b) and np.array_equal(a, c)


@pytest.mark.parametrize("bad", ["5", 1.5, object(), True, np.random.RandomState(0), [1, 2]])
def test_as_generator_rejects_other_types(bad):
    with pytest.raises(TypeError, match="rng"):
        as_generator(bad)


def test_negative_seed_rejected():
    with pytest.raises(ValueError, match="rng"):
        as_generator(-1)


def test_draw_key_advances_generator():
    g = np.random.default_rng(3)
    assert draw_key(g) != draw_key(g)
    assert draw_key(3) == draw_key(3)


def test_spawn_children_independent_and_reproducible():
    a = [c.integers(0, 2**63) for c in spawn(7, 3)]
    b = [c.integers(0, 2**63) for c in spawn(np.random.SeedSequence(7), 3)]
    assert a == b and len(set(a)) == 3
    g = np.random.default_rng(7)
    kids = spawn(g, 2)
    assert kids[0].integers(0, 2**63) != kids[1].integers(0, 2**63)
    with pytest.raises(ValueError, match="n_children must be >= 0, got -1"):
        spawn(1, -1)
    with pytest.raises(TypeError, match="n_children must be an int, got 2.0"):
        spawn(1, 2.0)
