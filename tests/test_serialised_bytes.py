"""to_bytes() output is pinned: the bytes in tests/data/serialised-*.bin were
written by negsamp before the framing moved to negsamp/_format.py (the
uniform reservoirs' since format 2, 0.2.0), and the same objects must still
serialise to exactly those bytes and load from them.  The format-1 uniform
reservoirs of negsamp 0.1.0 (tests/data/v1-serialised-reservoir-*.bin) still
load."""
from __future__ import annotations

import pathlib

import numpy as np
import pytest

from negsamp import AliasTable, Reservoir, WeightedReservoir

DATA = pathlib.Path(__file__).parent / "data"


def _reservoir(k, chunks, dtype=None):
    res = Reservoir(k, rng=7)
    for chunk in chunks:
        res.update(np.asarray(chunk, dtype=dtype))
    return res


def _weighted(k, chunks):
    res = WeightedReservoir(k, rng=11)
    for items, weights in chunks:
        res.update(items, weights)
    return res


POINT = np.dtype([("x", "<f4"), ("tag", "S3")])

OBJECTS = {
    "alias-counts": lambda: AliasTable.from_counts(np.array([100, 10, 1, 0, 7])),
    "alias-one": lambda: AliasTable(np.array([2.5])),
    "alias-zipf": lambda: AliasTable((1.0 / np.arange(1, 40)) ** 0.75),
    "reservoir-empty": lambda: Reservoir(4, rng=3),
    "reservoir-int64": lambda: _reservoir(5, [np.arange(0, 100), np.arange(100, 1000)]),
    "reservoir-partial": lambda: _reservoir(8, [np.arange(3)], dtype=np.int16),
    "reservoir-float32": lambda: _reservoir(3, [np.linspace(0, 1, 50)], dtype=np.float32),
    "weighted-empty": lambda: WeightedReservoir(2, rng=5),
    "weighted-int64": lambda: _weighted(3, [(np.arange(10), np.arange(10.0)),
                                            (np.arange(10, 30), np.ones(20))]),
    "weighted-struct": lambda: _weighted(2, [(np.array([(1.5, b"ab"), (2.0, b"cd"),
                                                        (0.5, b"ef")], dtype=POINT),
                                              [1.0, 0.0, 3.0])]),
}


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_to_bytes_is_unchanged(name):
    assert OBJECTS[name]().to_bytes() == (DATA / f"serialised-{name}.bin").read_bytes()


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_pinned_bytes_load(name):
    data = (DATA / f"serialised-{name}.bin").read_bytes()
    cls = {"alias": AliasTable, "reservoir": Reservoir, "weighted": WeightedReservoir}[
        name.split("-")[0]]
    loaded = cls.from_bytes(data)
    assert loaded.to_bytes() == data
    if cls is AliasTable:
        assert loaded == OBJECTS[name]()


V1_RESERVOIRS = ["empty", "int64", "partial", "float32"]


def _v1_items(data, dtype):
    """The items stored in a format-1 Reservoir: after the 12-byte prefix,
    the header (k, count, next, w, dtype length), 4 state words and the
    dtype text; before the 4-byte CRC."""
    import struct

    k, count, _, _, dlen = struct.unpack_from("<qqqdI", data, 12)
    start = 12 + struct.calcsize("<qqqdI") + 32 + dlen
    return np.frombuffer(data[start:len(data) - 4], dtype=dtype), k, count


@pytest.mark.parametrize("name", V1_RESERVOIRS)
def test_format_1_reservoirs_load_with_their_items_in_random_order(name):
    # Format 1 kept the fill in stream order: a full reservoir's items are
    # shuffled on load (from a stream derived from its state: the same every
    # time); one short of k keeps its order.  Everything else is as stored.
    v1 = (DATA / f"v1-serialised-reservoir-{name}.bin").read_bytes()
    loaded = Reservoir.from_bytes(v1)
    assert Reservoir.from_bytes(v1).to_state_tuple() == loaded.to_state_tuple()
    if loaded.dtype is None:
        assert loaded.count == 0 and len(loaded.sample) == 0
        return
    stored, k, count = _v1_items(v1, loaded.dtype)
    assert (loaded.k, loaded.count) == (k, count)
    assert len(stored) == min(k, count)
    if count >= k:
        assert sorted(loaded.sample.tolist()) == sorted(stored.tolist())
        # k = 5 and 3: the identity order has probability 1/120 and 1/6 only
        if k >= 5:
            assert loaded.sample.tolist() != stored.tolist()
    else:
        assert loaded.sample.tolist() == stored.tolist()
    # saved again in format 2, it loads to the same state
    assert loaded.to_bytes()[8:12] == (2).to_bytes(4, "little")
    assert Reservoir.from_bytes(loaded.to_bytes()).to_state_tuple() == loaded.to_state_tuple()
