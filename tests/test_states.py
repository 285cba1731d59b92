"""Serialised and pickled states are validated field by field and bounded
by the data actually present (issue 11, findings 2, 4 and 7)."""
from __future__ import annotations

import pickle
import struct
import zlib

import numpy as np
import pytest

import negsamp
from negsamp import AliasTable, NegativeSampler, Reservoir, WeightedReservoir
from negsamp import reservoir as rmod
from negsamp._format import PREFIX

ZERO_SIZE = np.dtype([("f0", "<U")])


def _uniform_bytes(k, count, nxt, w, dtype, items=b""):
    dtext = repr(np.lib.format.dtype_to_descr(dtype)).encode()
    raw = b"".join([PREFIX.pack(rmod._MAGIC_UNIFORM, 1),
                    rmod._UNIFORM_HEADER.pack(k, count, nxt, w, len(dtext)),
                    rmod._STATE.pack(1, 2, 3, 4), dtext, items])
    return raw + struct.pack("<I", zlib.crc32(raw))


# -- finding 2: zero-size item dtypes -------------------------------------------
def test_from_bytes_rejects_zero_size_items():
    """A zero-size dtype let count = 2e8 items cost 19 s and 1.5 GiB with no
    data behind them."""
    assert ZERO_SIZE.itemsize == 0
    data = _uniform_bytes(10**6, 10**6, 10**6, 0.5, ZERO_SIZE)
    with pytest.raises(ValueError, match="item size 0"):
        Reservoir.from_bytes(data)


def test_setstate_rejects_zero_size_items():
    res = Reservoir(3, rng=0)
    res.update(np.arange(10))
    state = dict(res.__getstate__(), k=10**6, count=10**6, next=10**6, dtype=ZERO_SIZE,
                 items=np.empty(10**6, dtype=ZERO_SIZE))
    with pytest.raises(ValueError, match="'dtype'.*item size 0"):
        Reservoir.__new__(Reservoir).__setstate__(state)
    wres = WeightedReservoir(2, rng=0)
    wres.update(np.arange(3), [1.0, 2.0, 3.0])
    wstate = dict(wres.__getstate__(), dtype=ZERO_SIZE, items=np.empty(2, dtype=ZERO_SIZE))
    with pytest.raises(ValueError, match="'dtype'.*item size 0"):
        WeightedReservoir.__new__(WeightedReservoir).__setstate__(wstate)


@pytest.mark.parametrize("cls", [Reservoir, WeightedReservoir])
def test_update_rejects_zero_size_items(cls):
    res = cls(3, rng=0)
    args = (np.ones(4),) if cls is WeightedReservoir else ()
    with pytest.raises(TypeError, match="item size 0"):
        res.update(np.empty(4, dtype=ZERO_SIZE), *args)
    assert res.count == 0 and res.dtype is None


def test_from_bytes_items_are_bounded_by_the_data():
    # count says 10**6 items of 8 bytes; the data holds none.
    with pytest.raises(ValueError, match="truncated"):
        Reservoir.from_bytes(_uniform_bytes(10**6, 10**6, 10**6, 0.5, np.dtype("<i8")))


# -- finding 4: big-endian items ------------------------------------------------
@pytest.mark.parametrize("dtype", [">i4", ">f8", "<i4", np.dtype([("a", ">i2"), ("b", "<f4")])])
def test_big_endian_items_round_trip(dtype):
    dt = np.dtype(dtype)
    items = np.arange(40).astype(dt)
    res = Reservoir(5, rng=1)
    res.update(items)
    wres = WeightedReservoir(5, rng=1)
    wres.update(items, np.arange(1.0, 41.0))
    for r in (res, wres):
        for again in (pickle.loads(pickle.dumps(r)), type(r).from_bytes(r.to_bytes())):
            assert again.dtype == dt
            assert again.sample.dtype == dt
            assert again.sample.tobytes() == r.sample.tobytes()
            assert again == r


# -- finding 7: every field is checked ------------------------------------------
def _uniform_state(count=2, k=5):
    res = Reservoir(k, rng=0)
    res.update(np.arange(count))
    return res.__getstate__()


@pytest.mark.parametrize("field, value", [
    ("next", 2**63), ("next", -1), ("w", float("nan")), ("w", 0.0), ("w", 1.5),
    ("count", 2**63), ("k", 2**63), ("k", 0), ("w", "x"), ("next", 1.0),
])
def test_uniform_state_fields_are_validated(field, value):
    state = dict(_uniform_state(), **{field: value})
    with pytest.raises(ValueError, match=f"'{field}'"):
        Reservoir.__new__(Reservoir).__setstate__(state)


def test_uniform_state_with_count_below_k_survives_to_bytes():
    res = Reservoir.__new__(Reservoir)
    res.__setstate__(_uniform_state())
    assert Reservoir.from_bytes(res.to_bytes()) == res


@pytest.mark.parametrize("field, value", [
    ("remaining", float("nan")), ("remaining", -1.0), ("total_weight", float("nan")),
    ("total_weight", -2.0), ("count", 2**64), ("size", 7), ("format", 3), ("k", 2**63),
])
def test_weighted_state_fields_are_validated(field, value):
    res = WeightedReservoir(3, rng=0)
    res.update(np.arange(10), np.arange(1.0, 11.0))
    state = dict(res.__getstate__(), **{field: value})
    with pytest.raises(ValueError, match=f"'{field}'"):
        WeightedReservoir.__new__(WeightedReservoir).__setstate__(state)


def test_weighted_state_keys_must_be_finite():
    res = WeightedReservoir(3, rng=0)
    res.update(np.arange(10), np.arange(1.0, 11.0))
    state = res.__getstate__()
    keys = state["heap_keys"].copy()
    keys[0] = -np.inf
    with pytest.raises(ValueError, match="'heap_keys' must be finite"):
        WeightedReservoir.__new__(WeightedReservoir).__setstate__(dict(state, heap_keys=keys))


def test_negative_sampler_state_missing_fields_name_them():
    sampler = NegativeSampler(weights=[1.0, 2.0, 3.0], positives=[[0], [1, 2]])
    state = sampler.__getstate__()
    for missing in ("indices", "indptr", "n_items", "power", "table", "version"):
        broken = {key: v for key, v in state.items() if key != missing}
        with pytest.raises(ValueError, match=f"missing '{missing}'"):
            NegativeSampler.__new__(NegativeSampler).__setstate__(broken)
    with pytest.raises(ValueError, match="'n_items'"):
        NegativeSampler.__new__(NegativeSampler).__setstate__(dict(state, n_items=2**63))
    with pytest.raises(ValueError, match="'version'"):
        NegativeSampler.__new__(NegativeSampler).__setstate__(dict(state, version=2))
    again = NegativeSampler.__new__(NegativeSampler)
    again.__setstate__(state)
    assert repr(again) == repr(sampler)


def test_alias_state_missing_table_names_it():
    with pytest.raises(ValueError, match="missing 'table'"):
        AliasTable.__new__(AliasTable).__setstate__({})
    with pytest.raises(ValueError, match="must be a dict"):
        AliasTable.__new__(AliasTable).__setstate__([1, 2])


@pytest.mark.parametrize("cls", [AliasTable, NegativeSampler, Reservoir, WeightedReservoir])
def test_repr_of_an_uninitialised_instance(cls):
    assert repr(cls.__new__(cls)) == f"<{cls.__name__} (uninitialised)>"
