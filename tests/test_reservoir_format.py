"""Reservoir serialisation: to_bytes/from_bytes and pickle round trips continue
identically; corrupted, truncated or inconsistent states are refused; old formats load."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from negsamp import Reservoir, WeightedReservoir


# -- serialisation ------------------------------------------------------------
def _uniform_states():
    yield Reservoir(4, rng=0)
    r = Reservoir(4, rng=1)
    r.update(np.arange(2))
    yield r
    r = Reservoir(4, rng=2)
    r.update(np.arange(1000))
    yield r


@pytest.mark.parametrize("idx", range(3))
def test_uniform_round_trips_continue_identically(idx):
    r = list(_uniform_states())[idx]
    copies = [pickle.loads(pickle.dumps(r)), Reservoir.from_bytes(r.to_bytes())]
    for c in copies:
        assert c == r
    for x in [r] + copies:
        x.update(np.arange(5000, 9000))
        x.update(np.arange(9000, 9100))
    for c in copies:
        assert c == r
        assert c.sample.tolist() == r.sample.tolist()


@pytest.mark.parametrize("size", [0, 2, 500])
def test_weighted_round_trips_continue_identically(size):
    gen = np.random.default_rng(size)
    r = WeightedReservoir(5, rng=size)
    if size:
        r.update(np.arange(size), gen.random(size))
    copies = [pickle.loads(pickle.dumps(r)), WeightedReservoir.from_bytes(r.to_bytes())]
    w = gen.random(3000)
    for x in [r] + copies:
        x.update(np.arange(10_000, 13_000), w)
    for c in copies:
        assert c == r
        assert c.sample.tolist() == r.sample.tolist()
        assert c.keys.tolist() == r.keys.tolist()


@pytest.mark.parametrize(
    "items",
    [
        np.array(["ab", "cde", "f", "gh"]),
        np.array([(1, 2.5), (3, 4.5), (5, 6.5), (7, 8.5)], dtype=[("a", "<i4"), ("b", "<f8")]),
        np.array([1.5, 2.5, 3.5, 4.5], dtype=np.float32),
        np.array([b"x", b"yy", b"zzz", b"w"]),
    ],
)
def test_any_fixed_size_dtype_serialises(items):
    for res in (Reservoir(2, rng=0), WeightedReservoir(2, rng=0)):
        if isinstance(res, Reservoir):
            res.update(items)
        else:
            res.update(items, np.ones(items.shape[0]))
        back = type(res).from_bytes(res.to_bytes())
        assert back.dtype == items.dtype
        assert back.sample.tobytes() == res.sample.tobytes()


def test_object_dtype_pickles_but_not_to_bytes():
    res = Reservoir(2, rng=0)
    res.update(np.array([{"a": 1}, "x", None, 3.5], dtype=object))
    back = pickle.loads(pickle.dumps(res))
    assert back.sample.tolist() == res.sample.tolist()
    with pytest.raises(TypeError, match="pickle"):
        res.to_bytes()


@pytest.mark.parametrize("cls", [Reservoir, WeightedReservoir])
def test_corrupted_or_truncated_bytes_raise_value_error(cls):
    res = cls(3, rng=0)
    if cls is Reservoir:
        res.update(np.arange(10))
    else:
        res.update(np.arange(10), np.arange(1.0, 11.0))
    data = res.to_bytes()
    for cut in range(len(data)):
        with pytest.raises(ValueError, match="data is (truncated|corrupted or truncated)"):
            cls.from_bytes(data[:cut])
    for pos in range(len(data)):
        bad = bytearray(data)
        bad[pos] ^= 0x41
        with pytest.raises(ValueError, match="^data (is|has)"):
            cls.from_bytes(bytes(bad))
    with pytest.raises(ValueError, match="CRC-32 mismatch"):
        cls.from_bytes(data + b"\x00")
    other = Reservoir if cls is WeightedReservoir else WeightedReservoir
    with pytest.raises(ValueError, match="magic"):
        other.from_bytes(data)
    with pytest.raises(TypeError, match="data must be bytes, got str"):
        cls.from_bytes("not bytes")


def test_inconsistent_state_is_rejected_even_with_a_valid_crc():
    res = WeightedReservoir(3, rng=0)
    res.update(np.arange(10), np.arange(1.0, 11.0))
    state = res.__getstate__()
    broken = dict(state, heap_keys=state["heap_keys"][::-1].copy())
    with pytest.raises(ValueError, match="min-heap"):
        WeightedReservoir.__new__(WeightedReservoir).__setstate__(broken)
    with pytest.raises(ValueError, match="permutation"):
        WeightedReservoir.__new__(WeightedReservoir).__setstate__(
            dict(state, heap_slots=np.array([0, 0, 1])))
    with pytest.raises(ValueError, match="all zeros"):
        WeightedReservoir.__new__(WeightedReservoir).__setstate__(
            dict(state, rng_state=np.zeros(4, np.uint64)))
    u = Reservoir(3, rng=0)
    u.update(np.arange(10))
    ustate = u.__getstate__()
    for bad, what in ((dict(ustate, w=0.0), "'w' must be > 0, got 0.0"),
                      (dict(ustate, next=3), "'next' must be >= count=10"),
                      (dict(ustate, k=0), "'k' must be in .*got 0"),
                      (dict(ustate, items=np.arange(2)), "'items' must be a 1-D array of 3"),
                      (dict(ustate, count=-1), "'count' must be in .*got -1"),
                      ("junk", "must be a dict")):
        with pytest.raises(ValueError, match=what):
            Reservoir.__new__(Reservoir).__setstate__(bad)


def test_weighted_format_1_states_still_load():
    """A negsamp 0.1.0 state (log keys -E / w, jump in units of weight) is
    converted: same sample, same key order, a valid continuation."""
    res = WeightedReservoir(3, rng=5)
    res.update(np.arange(20), np.arange(1.0, 21.0))
    state = res.__getstate__()
    keys2 = state["heap_keys"]
    old = dict(state)
    del old["format"]
    old["heap_keys"] = -np.exp(-keys2)
    old["remaining"] = state["remaining"] / np.exp(-keys2[0])
    again = WeightedReservoir.__new__(WeightedReservoir)
    again.__setstate__(old)
    np.testing.assert_allclose(again.keys, res.keys, rtol=1e-12)
    np.testing.assert_array_equal(again.sample, res.sample)
    assert again._remaining == pytest.approx(res._remaining, rel=1e-12)
    again.update(np.arange(20, 40), np.ones(20))
    assert len(again) == 3
    with pytest.raises(ValueError, match="format 1"):
        WeightedReservoir.__new__(WeightedReservoir).__setstate__(
            dict(old, heap_keys=np.array([-np.inf, -1.0, -0.5])))


def test_aligned_structured_dtype_survives_to_bytes():
    # Found by fuzzing: an aligned structured item dtype comes back from
    # to_bytes as the same dtype without the "aligned" flag; the reservoir
    # (dtype equality, items, state) must compare equal.
    dt = np.dtype([("threshold", "<u8"), ("alias", "<i8")], align=True)
    for cls in (Reservoir, WeightedReservoir):
        r = cls(3, rng=0)
        items = np.zeros(5, dtype=dt)
        items["alias"] = np.arange(5)
        if cls is Reservoir:
            r.update(items)
        else:
            r.update(items, np.ones(5))
        back = cls.from_bytes(r.to_bytes())
        assert back == r and back.to_bytes() == r.to_bytes()


# Bytes that name the items' dtype '>m8' (a big-endian generic timedelta),
# found by fuzz_wreservoir_bytes: NumPy has no array of that dtype ('>m8'
# makes '<m8' arrays), so the loaded reservoir said '>m8' while its items
# were '<m8', and its pickle failed to load ("items must be ... of dtype
# >m8").  negsamp never writes such a dtype: such states are rejected.
_BIG_ENDIAN_GENERIC_M8 = (
    "TlNSRVNWAAIBAAAAAwAAAAAAAAACAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAUAAABJM2yyen8WjGRT"
    "7FmWAlWfAuiNe2Pca1LQMST4JmEskic+bTgnO1lPo7lTvL8AAAAAAAAAAAEAAAAAAAAAiSNNYw==")


@pytest.mark.parametrize("dtype", [">m8", ">M8", ">m8[s]", "<m8", ">i4"])
@pytest.mark.parametrize("cls", [Reservoir, WeightedReservoir])
def test_a_state_naming_a_dtype_no_array_has_is_rejected(cls, dtype):
    r = cls(3, rng=0)
    items = np.arange(5).astype(np.dtype(dtype).newbyteorder("="))
    if cls is Reservoir:
        r.update(items)
    else:
        r.update(items, np.ones(5))
    state = r.__getstate__()
    state["dtype"] = np.dtype(dtype)  # as a state from elsewhere may name it
    state["items"] = state["items"].astype(dtype)
    loaded = cls.__new__(cls)
    if np.empty(0, dtype=dtype).dtype != np.dtype(dtype):
        with pytest.raises(ValueError, match="not a dtype NumPy arrays can have"):
            loaded.__setstate__(state)
        return
    loaded.__setstate__(state)
    assert loaded.dtype == loaded.sample.dtype == np.dtype(dtype)
    again = pickle.loads(pickle.dumps(loaded))
    assert again.to_state_tuple() == loaded.to_state_tuple()
    assert cls.from_bytes(loaded.to_bytes()).to_state_tuple() == loaded.to_state_tuple()


def test_bytes_naming_a_big_endian_generic_timedelta_are_rejected():
    import base64

    with pytest.raises(ValueError, match="not a dtype NumPy arrays can have"):
        WeightedReservoir.from_bytes(base64.b64decode(_BIG_ENDIAN_GENERIC_M8))
