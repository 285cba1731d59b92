"""to_bytes() output is pinned: the bytes in tests/data/serialised-*.bin were
written by negsamp before the framing moved to negsamp/_format.py, and the
same objects must still serialise to exactly those bytes and load from them."""
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
