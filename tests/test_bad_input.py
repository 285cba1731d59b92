"""Bad-input matrix, array arguments (issue 11): every array argument of the
public API in every layout, dtype and degenerate shape.

Valid values in another layout (list, strided, negative strides,
big-endian, read-only, memmap, Fortran order) must give the SAME result as
the native C-contiguous array with the same seed; bad dtypes and shapes raise
TypeError/ValueError naming the argument.  Every call leaves its inputs
byte-for-byte unchanged (``assert_untouched``), also when it raised.
Scalar arguments, ids and weights: tests/test_bad_input_values.py.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, NamedTuple, Optional, Tuple

import numpy as np
import pytest

import negsamp
from negsamp import (AliasTable, KGSampler, NegativeSampler, Reservoir, WeightedReservoir,
                     accidental_hits, corrupt_triples, hard_negatives, negative_edges, topk)

from _bad_input import LAYOUTS, assert_same, layout
from _helpers import assert_untouched


def _table_result(table: AliasTable) -> Tuple[np.ndarray, np.ndarray]:
    return table.probabilities, table.sample(64, rng=0)


def _reservoir(items: Any) -> np.ndarray:
    res = Reservoir(4, rng=0)
    res.update(items)
    return res.sample


def _weighted(items: Any, weights: Any) -> Tuple[np.ndarray, np.ndarray]:
    res = WeightedReservoir(3, rng=0)
    res.update(items, weights)
    return res.sample, res.keys


TABLE = AliasTable([1.0, 2.0, 3.0, 0.0, 4.0])
SAMPLER = NegativeSampler(6, positives=[[0, 1], [2], []])
TRIPLES = np.array([[0, 0, 1], [1, 0, 2], [2, 1, 0], [3, 1, 4]])
EDGES = np.array([[0, 1, 2, 3], [1, 2, 0, 0]])
RNG = np.random.default_rng(5)
QUERIES = RNG.normal(size=(3, 4))
CANDIDATES = RNG.normal(size=(9, 4))
SCORES = RNG.normal(size=(3, 7))
ITEM_VECTORS = RNG.normal(size=(6, 4))
KG_SAMPLER = KGSampler(TRIPLES, 5, 2)
ITEMS = np.arange(10, 30)
WEIGHTS = np.linspace(0.0, 2.0, 20)


class Slot(NamedTuple):
    """One array argument: its name (what errors must mention), a valid
    value, the call, whether it holds ids (integers only) or numbers, and
    what an empty value of the same ndim gives (None: a result)."""

    name: str
    valid: np.ndarray
    call: Callable[[Any], Any]
    ids: bool
    empty: Optional[Tuple[type, str]]
    any_shape: bool = False


SLOTS: Dict[str, Slot] = {
    "AliasTable.weights": Slot("weights", np.array([1.0, 2.0, 3.0, 0.0, 4.0]),
                               lambda w: _table_result(AliasTable(w)), False,
                               (ValueError, "weights is empty")),
    "AliasTable.from_counts": Slot("counts", np.array([3, 1, 0, 7]),
                                   lambda c: _table_result(AliasTable.from_counts(c)), False,
                                   (ValueError, "counts is empty")),
    "AliasTable.log_prob": Slot("ids", np.array([0, 4, 2, 3]), TABLE.log_prob, True, None,
                                any_shape=True),
    "NegativeSampler.weights": Slot(
        "weights", np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        lambda w: NegativeSampler(weights=w, positives=[[0]]).sample([0, 0], 5, rng=0),
        False, (ValueError, "weights is empty")),
    "NegativeSampler.positives_indices": Slot(
        "positives", np.array([1, 0, 2]),
        lambda ind: NegativeSampler(6, positives=(np.array([0, 2, 3, 3]), ind)).sample(
            [0, 1, 2], 4, rng=0), True, (ValueError, "positives indptr")),
    "NegativeSampler.positives_indptr": Slot(
        "positives", np.array([0, 2, 3, 3]),
        lambda ptr: NegativeSampler(6, positives=(ptr, np.array([1, 0, 2]))).sample(
            [0, 1, 2], 4, rng=0), True, (ValueError, "positives indptr")),
    "NegativeSampler.sample": Slot("rows", np.array([0, 2, 1, 0]),
                                   lambda r: SAMPLER.sample(r, 4, rng=0, return_log_q=True),
                                   True, None),
    "corrupt_triples.triples": Slot("triples", TRIPLES,
                                    lambda t: corrupt_triples(t, 5, 3, rng=0), True, None),
    "corrupt_triples.known": Slot("known", TRIPLES,
                                  lambda kn: corrupt_triples(TRIPLES, 5, 3, known=kn,
                                                             mode="bernoulli", rng=0),
                                  True, None),
    "negative_edges.global": Slot("edge_index", EDGES,
                                  lambda e: negative_edges(e, 5, 4, rng=0), True, None),
    "negative_edges.per_source": Slot("edge_index", EDGES,
                                      lambda e: negative_edges(e, 5, 2, method="per_source",
                                                               rng=0), True, None),
    "hard_negatives.queries": Slot("queries", QUERIES,
                                   lambda q: hard_negatives(q, CANDIDATES, 3), False, None),
    "hard_negatives.candidates": Slot("candidates", CANDIDATES,
                                      lambda c: hard_negatives(QUERIES, c, 3, metric="cosine",
                                                               block_size=4, n_threads=2),
                                      False, (ValueError, "candidates is empty")),
    "hard_negatives.positive_scores": Slot(
        "positive_scores", np.array([0.5, -0.2, 1.0]),
        lambda p: hard_negatives(QUERIES, CANDIDATES, 3, positive_scores=p,
                                 relative_margin=0.1), False,
        (ValueError, "positive_scores must have shape")),
    "hard_negatives.temperature_exclude": Slot(
        "exclude", np.array([0, 3, 3, 8]),
        lambda ind: hard_negatives(QUERIES, CANDIDATES, 3, temperature=0.5, rng=1,
                                   exclude=(np.array([0, 2, 2, 4]), ind)),
        True, (ValueError, "exclude indptr")),
    "topk.scores": Slot("scores", SCORES, lambda s: topk(s, 3), False, None),
    "NegativeSampler.sample_scored.query_vectors": Slot(
        "query_vectors", RNG.normal(size=(3, 4)),
        lambda qv: SAMPLER.sample_scored([0, 1, 2], 2, pool=4, query_vectors=qv,
                                         item_vectors=ITEM_VECTORS, rng=0),
        False, (ValueError, "query_vectors")),
    "NegativeSampler.sample_scored.item_vectors": Slot(
        "item_vectors", ITEM_VECTORS,
        lambda iv: SAMPLER.sample_scored([0, 1, 2], 2, pool=4, query_vectors=QUERIES,
                                         item_vectors=iv, select="softmax", rng=0),
        False, (ValueError, "item_vectors")),
    "KGSampler.corrupt": Slot("triples", TRIPLES,
                              lambda t: KG_SAMPLER.corrupt(t, 3, rng=0), True, None),
    "accidental_hits.candidates": Slot(
        "candidates", np.array([[0, 1, 5], [2, 3, 4], [1, 2, 0]]),
        lambda c: accidental_hits([0, 1, 2], c, [[0, 1], [2], []], n_items=6, format="mask"),
        True, (ValueError, "candidates has 0 rows")),
    "Reservoir.update": Slot("items", ITEMS, _reservoir, False, None),
    "WeightedReservoir.items": Slot("items", ITEMS, lambda it: _weighted(it, WEIGHTS),
                                    False, (ValueError, "weights has length 20")),
    "WeightedReservoir.weights": Slot("weights", WEIGHTS, lambda w: _weighted(ITEMS, w),
                                      False, (ValueError, "weights has length 0")),
}

_LAYOUT_CASES = [pytest.param(key, kind, id=f"{key}-{kind}") for key, s in SLOTS.items()
                 for kind in LAYOUTS if kind != "fortran" or s.valid.ndim == 2]


@pytest.mark.parametrize("key,kind", _LAYOUT_CASES)
def test_layouts_give_the_native_result(key: str, kind: str, tmp_path: Any) -> None:
    slot = SLOTS[key]
    expected = slot.call(np.ascontiguousarray(slot.valid))
    value = layout(slot.valid, kind, tmp_path)
    with assert_untouched(value):
        got = slot.call(value)
    assert_same(got, expected)


_BAD_DTYPES = {
    "object": lambda a: a.astype(object),
    "str": lambda a: a.astype(str),
    "bool": lambda a: a != 0,
    "complex": lambda a: a.astype(np.complex128),
    "float16": lambda a: a.astype(np.float16),
    "longdouble": lambda a: a.astype(np.longdouble),
    "datetime": lambda a: a.astype(np.int64).astype("M8[s]"),
}


@pytest.mark.parametrize("dtype", list(_BAD_DTYPES))
@pytest.mark.parametrize("key", list(SLOTS))
def test_dtypes(key: str, dtype: str) -> None:
    """Numbers: integer or float16/32/64 values work (float16 as its float64
    values); ids: integers only.  Everything else is a TypeError naming the
    argument.  Reservoir items may have any dtype."""
    slot = SLOTS[key]
    value = _BAD_DTYPES[dtype](slot.valid)
    with assert_untouched(value):
        if slot.name == "items":
            got = slot.call(value)
            assert np.isin(got[0] if isinstance(got, tuple) else got, value).all()
        elif dtype == "float16" and not slot.ids:
            # Embeddings are computed in float32 unless both are float64.
            wide = (np.float32 if slot.name in ("queries", "candidates", "query_vectors",
                                                "item_vectors") else np.float64)
            assert_same(slot.call(value), slot.call(value.astype(wide)))
        elif dtype == "longdouble" and np.dtype(np.longdouble).itemsize == 8:
            pytest.skip("longdouble is float64 here")
        else:
            with pytest.raises(TypeError, match=slot.name):
                slot.call(value)


@pytest.mark.parametrize("key", list(SLOTS))
def test_empty(key: str) -> None:
    slot = SLOTS[key]
    value = np.zeros((0,) + slot.valid.shape[1:], dtype=slot.valid.dtype)
    if key.startswith("negative_edges"):
        value = np.zeros((2, 0), dtype=np.int64)
    with assert_untouched(value):
        if slot.empty is None:
            slot.call(value)
        else:
            with pytest.raises(slot.empty[0], match=slot.empty[1]):
                slot.call(value)


@pytest.mark.parametrize("key", list(SLOTS))
def test_zero_dimensional(key: str) -> None:
    slot = SLOTS[key]
    value = np.array(slot.valid.flat[1])
    with assert_untouched(value):
        if slot.any_shape:
            assert_same(slot.call(value), slot.call(value[None])[0])
            return
        with pytest.raises((TypeError, ValueError), match=slot.name):
            slot.call(value)


@pytest.mark.parametrize("key", list(SLOTS))
def test_wrong_ndim(key: str) -> None:
    """One dimension too many (a 1-D argument as a column, a 2-D one as a
    stack of matrices)."""
    slot = SLOTS[key]
    value = slot.valid[..., None] if slot.valid.ndim == 1 else slot.valid[None]
    if slot.name == "items":
        value = slot.valid.reshape(2, -1)
    with assert_untouched(value):
        if key == "KGSampler.corrupt":  # (..., 3): leading dimensions are the batch's
            assert_same(slot.call(value), slot.call(slot.valid)[None])
            return
        if slot.any_shape:
            assert_same(slot.call(value), slot.call(slot.valid)[..., None])
            return
        with pytest.raises((TypeError, ValueError), match=slot.name):
            slot.call(value)


def test_scipy_sparse_positives_any_layout() -> None:
    sp = pytest.importorskip("scipy.sparse")
    csr = sp.csr_matrix((np.ones(3), np.array([1, 0, 2]), np.array([0, 2, 3, 3])),
                        shape=(3, 6))
    expected = SLOTS["NegativeSampler.positives_indices"].call(np.array([1, 0, 2]))
    for form in (csr, csr.tocsc(), csr.tocoo(), sp.csr_array(csr)):
        with assert_untouched(form):
            got = NegativeSampler(6, positives=form).sample([0, 1, 2], 4, rng=0)
        assert_same(got, expected)
