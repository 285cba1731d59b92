"""Reservoir API: bad input leaves a reservoir unchanged, Python threads sharing one
reservoir, exports, and a stateful test of any sequence of updates, merges and round trips.

Reservoirs are sequential by nature (one stream): there is no n_threads
argument, so the "1 vs 2 threads" check of other modules does not apply;
Python threads sharing one reservoir are tested instead."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st

import negsamp
from negsamp import Reservoir, WeightedReservoir
from _helpers import assert_untouched, run_in_threads


# -- bad input ----------------------------------------------------------------
@pytest.mark.parametrize("cls", [Reservoir, WeightedReservoir])
@pytest.mark.parametrize("k, exc", [(0, ValueError), (-3, ValueError), (1.5, TypeError),
                                    (True, TypeError), ("3", TypeError)])
def test_bad_k(cls, k, exc):
    with pytest.raises(exc, match="k"):
        cls(k)


def test_uniform_bad_input_leaves_the_reservoir_unchanged():
    res = Reservoir(3, rng=0)
    res.update(np.arange(10, dtype=np.int64))
    before = res.to_state_tuple()
    bad_inputs = [
        (np.arange(5.0), TypeError, "dtype"),
        (np.arange(5, dtype=np.int32), TypeError, "dtype"),
        (np.zeros((2, 2), dtype=np.int64), ValueError, "1-D"),
        ("abc", TypeError, "items"),
        (5, TypeError, "items"),
        (None, TypeError, "items"),
        ([1.5, 2.5], TypeError, "dtype"),
    ]
    for items, exc, match in bad_inputs:
        with pytest.raises(exc, match=match):
            res.update(items)
        assert res.to_state_tuple() == before
    res.update([1, 2, 3])  # a list of ints is cast to int64
    assert res.count == 13


def test_weighted_bad_input_leaves_the_reservoir_unchanged():
    res = WeightedReservoir(3, rng=0)
    res.update(np.arange(10), np.ones(10))
    before = res.to_state_tuple()
    items = np.arange(4)
    cases = [
        (items, np.array([1.0, np.nan, 1.0, 1.0]), ValueError, r"finite, got nan at index 1"),
        (items, np.array([1.0, 1.0, -2.0, 1.0]), ValueError, r"non-negative, got -2.0 at index 2"),
        (items, np.array([1.0, 1.0, 1.0, np.inf]), ValueError, r"finite, got inf at index 3"),
        (items, np.ones(3), ValueError, "length 3 but items has length 4"),
        (items, np.ones((2, 2)), ValueError, "1-D"),
        (items, np.array([True] * 4), TypeError, "weights"),
        (items, ["a", "b", "c", "d"], TypeError, "weights"),
        (np.arange(4.0), np.ones(4), TypeError, "dtype"),
    ]
    for it, w, exc, match in cases:
        w_copy = np.array(w, copy=True)
        with pytest.raises(exc, match=match):
            res.update(it, w)
        assert res.to_state_tuple() == before
        assert np.array_equal(np.asarray(w), w_copy, equal_nan=w_copy.dtype.kind == "f")
    res.update(np.array([1, 2]), [1, 2])  # integer weights are fine
    assert res.count == 12


def test_caller_arrays_are_not_modified():
    items = np.arange(100)
    weights = np.linspace(0, 1, 100)
    with assert_untouched(items, weights):
        r = Reservoir(5, rng=0)
        r.update(items)
        wr = WeightedReservoir(5, rng=0)
        wr.update(items, weights)
    s = r.sample
    s[:] = -1  # the sample is a copy
    assert -1 not in r.sample


def test_iterables_generators_and_empty_chunks():
    r = Reservoir(3, rng=0)
    r.update([])
    assert r.dtype is None and r.count == 0
    r.update(x for x in range(10))
    assert r.dtype == np.array([1]).dtype and r.count == 10
    r.update(range(10, 20))
    r.update(np.empty(0, dtype=r.dtype))
    assert r.count == 20
    w = WeightedReservoir(2, rng=0)
    w.update((i for i in range(3)), (x for x in [1.0, 2.0, 3.0]))
    assert w.count == 3


def test_strided_input_is_read_correctly():
    base = np.arange(200)
    r = Reservoir(1000, rng=0)
    r.update(base[::2])
    assert r.sample.tolist() == base[::2].tolist()
    w = WeightedReservoir(1000, rng=0)
    w.update(base[::2], np.ones(200)[::2])
    assert sorted(w.sample.tolist()) == base[::2].tolist()


def test_large_k_allocates_lazily():
    r = Reservoir(10**12, rng=0)
    r.update(np.arange(10))
    assert r.sample.tolist() == list(range(10))
    w = WeightedReservoir(10**12, rng=0)
    w.update(np.arange(10), np.ones(10))
    assert sorted(w.sample.tolist()) == list(range(10))


# -- threads ------------------------------------------------------------------
def test_threads_sharing_one_reservoir():
    res = Reservoir(50, rng=0)
    wres = WeightedReservoir(50, rng=0)
    n_threads, chunks, size = 4, 60, 1000

    def work(t):
        for c in range(chunks):
            start = (t * chunks + c) * size
            items = np.arange(start, start + size)
            res.update(items)
            wres.update(items, np.ones(size))
            _ = res.sample, wres.sample, res.to_bytes()

    run_in_threads(work, n_threads)
    total = n_threads * chunks * size
    for r in (res, wres):
        assert r.count == total
        s = r.sample
        assert len(s) == 50 and len(set(s.tolist())) == 50
        assert s.min() >= 0 and s.max() < total
    assert wres.total_weight == total


def test_public_api_exports():
    assert negsamp.Reservoir is Reservoir
    assert "WeightedReservoir" in negsamp.__all__
    assert "Reservoir" in repr(Reservoir(2)) and "WeightedReservoir" in repr(WeightedReservoir(2))


def test_dask_module_imports_without_dask_and_explains_the_extra(monkeypatch):
    import sys

    import negsamp.dask as nd

    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ImportError, match=r"pip install 'negsamp\[dask\]'"):
        nd.reservoir_sample(np.arange(3), 1)
    assert "dask" not in negsamp.__all__


# -- stateful: any sequence of updates, round trips and merges ------------------
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule  # noqa: E402


class ReservoirMachine(RuleBasedStateMachine):
    """Updates, merges and round trips in any order keep the invariants of
    both reservoirs, and a serialised twin stays bit-identical."""

    def __init__(self):
        super().__init__()
        self.k = 4
        self.uniform = Reservoir(self.k, rng=0)
        self.weighted = WeightedReservoir(self.k, rng=0)
        self.seen: list = []
        self.positive: set = set()
        self.next_item = 0

    def _chunk(self, size):
        items = np.arange(self.next_item, self.next_item + size, dtype=np.int64)
        self.next_item += size
        self.seen.extend(items.tolist())
        weights = (items % 3 != 0).astype(np.float64) * (1.0 + items % 5)
        self.positive.update(items[weights > 0].tolist())
        return items, weights

    @rule(size=st.integers(0, 50))
    def update(self, size):
        items, weights = self._chunk(size)
        self.uniform.update(items)
        self.weighted.update(items, weights)

    @rule(size=st.integers(0, 30), seed=st.integers(0, 100))
    def merge_fresh_stream(self, size, seed):
        items, weights = self._chunk(size)
        u = Reservoir(self.k, rng=seed)
        u.update(items)
        w = WeightedReservoir(self.k, rng=seed)
        w.update(items, weights)
        self.uniform = self.uniform.merge(u)
        self.weighted = w.merge(self.weighted)

    @rule(size=st.integers(1, 60))
    def round_trip_then_update_twins(self, size):
        u2 = Reservoir.from_bytes(self.uniform.to_bytes())
        w2 = pickle.loads(pickle.dumps(self.weighted))
        items, weights = self._chunk(size)
        for u, w in ((self.uniform, self.weighted), (u2, w2)):
            u.update(items)
            w.update(items, weights)
        assert u2 == self.uniform and w2 == self.weighted

    @invariant()
    def invariants(self):
        n = len(self.seen)
        seen = set(self.seen)
        for res, pool in ((self.uniform, seen), (self.weighted, self.positive)):
            s = res.sample.tolist()
            assert res.count == n
            assert len(s) == min(self.k, len(pool)) == len(set(s))
            assert set(s) <= pool


TestReservoirMachine = ReservoirMachine.TestCase
TestReservoirMachine.settings = settings(max_examples=40, stateful_step_count=15, deadline=None)
