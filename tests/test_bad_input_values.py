"""Bad-input matrix, values (issue 11): ids out of range, bad weights, k
larger than what is eligible, bad scalars and bytes, for every public
function and class.  Each bad call raises ValueError/TypeError (MemoryError
for sizes beyond memory) whose message names the argument and the value,
and leaves its inputs and the reservoirs unchanged.  Huge requests are also
run in a child process under an address-space limit (must not abort or
hang)."""
from __future__ import annotations

import pickle
import subprocess
import os
import sys
import textwrap
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import negsamp
from negsamp import (AliasTable, NegativeSampler, Reservoir, WeightedReservoir,
                     corrupt_triples, hard_negatives, negative_edges, topk)

from _bad_input import assert_same
from _helpers import assert_untouched


TABLE = AliasTable([1.0, 2.0, 3.0, 0.0, 4.0])
SAMPLER = NegativeSampler(6, positives=[[0, 1], [2], [0, 1, 2, 3, 4, 5]])
WSAMPLER = NegativeSampler(weights=[1.0, 0.0, 3.0, 4.0], positives=[[0], [2, 3]])
FREE = NegativeSampler(6)
TRIPLES = np.array([[0, 0, 1], [1, 0, 2]])
EDGES = np.array([[0, 1], [1, 2]])
Q = np.ones((2, 3))
C = np.arange(15.0).reshape(5, 3)
BIG = 2**31
U64 = np.array([2**63 + 5], dtype=np.uint64)


def _res(k: int = 3) -> Reservoir:
    r = Reservoir(k, rng=0)
    r.update(np.arange(5))
    return r


def _wres(k: int = 3) -> WeightedReservoir:
    r = WeightedReservoir(k, rng=0)
    r.update(np.arange(5), np.ones(5))
    return r


RES, WRES = _res(), _wres()


def bad(case_id: str, fn: Any, *args: Any, exc: Any = ValueError, match: str,
        marks: Any = (), **kwargs: Any) -> Any:
    return pytest.param(fn, args, kwargs, exc, match, id=case_id, marks=marks)



CASES = [
    # -- AliasTable ------------------------------------------------------
    bad("alias-nan", AliasTable, [1.0, np.nan], match=r"weights must be finite, got nan at index 1"),
    bad("alias-inf", AliasTable, np.array([np.inf, 1.0]), match=r"weights must be finite, got inf at index 0"),
    bad("alias-negative", AliasTable, [1.0, -2.0], match=r"weights must be non-negative, got -2.0 at index 1"),
    bad("alias-negative-int", AliasTable, [1, -2], match=r"weights must be non-negative, got -2"),
    bad("alias-zeros", AliasTable, [0.0, 0.0], match="weights must have a positive sum"),
    bad("alias-subnormal-zero-sum", AliasTable, [0.0, -5e-324], match="weights must be non-negative"),
    bad("alias-ragged", AliasTable, [[1.0], [1.0, 2.0]], exc=TypeError, match="weights"),
    bad("alias-str", AliasTable, "123", exc=TypeError, match="weights must be"),
    bad("alias-none", AliasTable, None, exc=TypeError, match="weights"),
    bad("from_counts-nan", AliasTable.from_counts, [1.0, np.nan], match="counts must be finite, got nan"),
    bad("from_counts-power-neg", AliasTable.from_counts, [1, 2], power=-1.0, match="power must be finite and >= 0, got -1.0"),
    bad("from_counts-power-nan", AliasTable.from_counts, [1, 2], power=np.nan, match="power"),
    bad("from_counts-power-str", AliasTable.from_counts, [1, 2], power="x", exc=TypeError, match="power"),
    bad("from_counts-power-bool", AliasTable.from_counts, [1, 2], power=True, match="power"),
    bad("sample-size-neg", TABLE.sample, -1, match=r"size must be non-negative, got -1"),
    bad("sample-size-float", TABLE.sample, 2.0, exc=TypeError, match=r"size must be an int or a tuple of ints, got 2.0"),
    bad("sample-size-bool", TABLE.sample, True, exc=TypeError, match="size"),
    bad("sample-size-tuple-float", TABLE.sample, (2, 1.5), exc=TypeError, match=r"size .* got \(2, 1.5\)"),
    bad("sample-size-array", TABLE.sample, np.array([2, 3]), exc=TypeError, match="size"),
    bad("sample-dtype-float", TABLE.sample, 3, dtype=np.float64, exc=TypeError, match="dtype must be int64 or int32, got float64"),
    bad("sample-dtype-junk", TABLE.sample, 3, dtype="nope", exc=TypeError, match="dtype must be int64 or int32"),
    bad("sample-rng-neg", TABLE.sample, 3, rng=-1, match="rng seed must be non-negative, got -1"),
    bad("sample-rng-float", TABLE.sample, 3, rng=1.5, exc=TypeError, match="rng must be None"),
    bad("sample-size-huge", TABLE.sample, 10**12, exc=MemoryError, match=r"size 1000000000000 needs at least 8000000000000 bytes"),
    bad("sample-size-huge-2d", TABLE.sample, (10**6, 10**6), exc=MemoryError, match=r"size \(1000000, 1000000\) needs"),
    bad("sample-size-beyond-int64", TABLE.sample, (2**32, 2**32), exc=(MemoryError, ValueError), match="size"),
    bad("log_prob-above", TABLE.log_prob, [0, 5], match=r"ids must be in \[0, 5\), got 5"),
    bad("log_prob-negative", TABLE.log_prob, [-1], match=r"ids must be in \[0, 5\), got -1"),
    bad("log_prob-2**31", TABLE.log_prob, np.array([BIG]), match=f"ids must be in .*got {BIG}"),
    bad("log_prob-uint64", TABLE.log_prob, U64, match=f"ids must be in .*got {2**63 + 5}"),
    bad("log_prob-float", TABLE.log_prob, [1.0], exc=TypeError, match="ids must have an integer dtype, got dtype float64"),
    bad("from_bytes-str", AliasTable.from_bytes, "abc", exc=TypeError, match="data must be bytes, got str"),
    bad("from_bytes-short", AliasTable.from_bytes, b"NSALIAS", match="data is truncated"),
    bad("from_bytes-garbage", AliasTable.from_bytes, b"x" * 64, match="bad magic"),
    bad("from_bytes-truncated", AliasTable.from_bytes, TABLE.to_bytes()[:-5], match="data is"),
    bad("from_bytes-flipped", AliasTable.from_bytes,
        TABLE.to_bytes()[:30] + b"\xff" + TABLE.to_bytes()[31:], match="CRC-32"),
    # -- NegativeSampler -------------------------------------------------
    bad("ns-neither", NegativeSampler, exc=TypeError, match="needs n_items or weights"),
    bad("ns-n_items-zero", NegativeSampler, 0, match="n_items must be >= 1, got 0"),
    bad("ns-n_items-float", NegativeSampler, 5.0, exc=TypeError, match="n_items must be an int, got 5.0"),
    bad("ns-n_items-mismatch", NegativeSampler, 3, weights=[1, 2], match="n_items=3 does not match len"),
    bad("ns-weights-nan", NegativeSampler, weights=[np.nan, 1.0], match="weights must be finite, got nan at index 0"),
    bad("ns-weights-neg", NegativeSampler, weights=[1.0, -1.0], match="weights must be non-negative, got -1.0"),
    bad("ns-power-inf", NegativeSampler, 4, power=np.inf, match="power must be finite"),
    bad("ns-positives-out", NegativeSampler, 4, positives=[[0], [4]], match=r"positives row 1 holds id 4, outside \[0, 4\)"),
    bad("ns-positives-2**31", NegativeSampler, 4, positives=[[BIG]], match=f"positives row 0 holds id {BIG}"),
    bad("ns-positives-neg", NegativeSampler, 4, positives=[[], [-1]], match="positives row 1 holds id -1"),
    bad("ns-positives-uint64", NegativeSampler, 4, positives=[U64], match=r"positives\[0\] has ids above the int64 range"),
    bad("ns-positives-float", NegativeSampler, 4, positives=[[1.0]], exc=TypeError, match=r"positives\[0\] must hold integer ids"),
    bad("ns-positives-indptr", NegativeSampler, 4, positives=(np.array([0, 3]), np.array([1])), match="positives indptr must start at 0"),
    bad("ns-positives-type", NegativeSampler, 4, positives={0: [1]}, exc=TypeError, match="positives must be"),
    bad("ns-sample-rows-out", SAMPLER.sample, [0, 3], 2, match=r"rows must be in \[0, 3\), got 3"),
    bad("ns-sample-rows-2**31", SAMPLER.sample, [BIG], 2, match=f"rows must be in .*got {BIG}"),
    bad("ns-sample-rows-uint64", FREE.sample, U64, 2, match=f"rows must be in .*got {2**63 + 5}"),
    bad("ns-sample-rows-neg", FREE.sample, [-1], 2, match="rows must be in .*got -1"),
    bad("ns-sample-rows-int", SAMPLER.sample, 0, 2, exc=TypeError, match=r"rows must be a 1-D array .* got the int 0"),
    bad("ns-sample-rows-float", SAMPLER.sample, [0.0], 2, exc=TypeError, match="rows must have an integer dtype"),
    bad("ns-sample-rows-2d", SAMPLER.sample, [[0]], 2, match=r"rows must be 1-D, got shape \(1, 1\)"),
    bad("ns-sample-k-neg", SAMPLER.sample, [0], -1, match="k must be >= 0, got -1"),
    bad("ns-sample-k-float", SAMPLER.sample, [0], 2.0, exc=TypeError, match="k must be an int, got 2.0"),
    bad("ns-sample-replace", SAMPLER.sample, [0], 2, replace=1, exc=TypeError, match="replace must be True or False, got 1"),
    bad("ns-sample-log_q", SAMPLER.sample, [0], 2, return_log_q="yes", exc=TypeError, match="return_log_q"),
    bad("ns-sample-no-eligible", SAMPLER.sample, [0, 2], 2, match="row 2 has no eligible item"),
    bad("ns-sample-k-above-eligible", SAMPLER.sample, [1], 6, replace=False, match=r"row 1 has fewer than k=6 eligible items.*5"),
    bad("ns-weighted-k-above-positive-weight", WSAMPLER.sample, [0], 3, replace=False, match="row 0 has fewer than k=3"),
    bad("ns-weighted-no-eligible", NegativeSampler(weights=[0.0, 1.0], positives=[[1]]).sample, [0], 1, match="row 0 has no eligible item"),
    bad("ns-sample-k-huge", FREE.sample, [0, 1], 10**12, exc=MemoryError, match=r"k=1000000000000 negatives for each of 2 rows needs at least 16000000000000 bytes"),
    bad("ns-sample-rows*k-huge", FREE.sample, np.zeros(10**5, np.int64), 10**8, exc=MemoryError, match=r"k=100000000 negatives for each of 100000 rows needs"),
    bad("ns-sample-beyond-int64", FREE.sample, [0, 0, 0, 0], 2**62, exc=(MemoryError, ValueError), match="k"),
    bad("ns-row_probabilities-list", SAMPLER.row_probabilities, [0], exc=TypeError, match=r"row must be an int, got \[0\]"),
    bad("ns-row_probabilities-out", SAMPLER.row_probabilities, 3, match=r"row must be in \[0, 3\), got 3"),
    bad("ns-row_probabilities-neg", FREE.row_probabilities, -1, match="row must be >= 0, got -1"),
    bad("ns-row_probabilities-float", SAMPLER.row_probabilities, 1.0, exc=TypeError, match="row must be an int, got 1.0"),
    bad("ns-row_probabilities-none-eligible", SAMPLER.row_probabilities, 2, match="row 2 has no eligible item"),
    # -- corrupt_triples -------------------------------------------------
    bad("ct-entity-out", corrupt_triples, [[0, 0, 5]], 5, 2, match=r"triples\[0\] = \[0, 0, 5\] has an entity outside"),
    bad("ct-entity-2**31", corrupt_triples, np.array([[BIG, 0, 1]]), 5, 2, match=f"triples.*{BIG}"),
    bad("ct-relation-neg", corrupt_triples, [[0, -1, 1]], 5, 2, match="triples.*negative relation"),
    bad("ct-uint64", corrupt_triples, np.array([[0, 2**63 + 1, 1]], np.uint64), 5, 2, match="triples holds ids above the int64 range"),
    bad("ct-shape", corrupt_triples, [[0, 1]], 5, 2, match=r"triples must have shape \(m, 3\).*\(1, 2\)"),
    bad("ct-float", corrupt_triples, [[0.0, 1, 2]], 5, 2, exc=TypeError, match="triples must have an integer dtype"),
    bad("ct-known-shape", corrupt_triples, TRIPLES, 5, 2, known=np.zeros((2, 4), np.int64), match="known must have shape"),
    bad("ct-known-out", corrupt_triples, TRIPLES, 5, 2, known=[[0, 0, 9]], match=r"known\[0\]"),
    bad("ct-mode", corrupt_triples, TRIPLES, 5, 2, mode="side", match="mode must be one of .* got 'side'"),
    bad("ct-n_entities", corrupt_triples, TRIPLES, 0, 2, match="n_entities must be >= 1, got 0"),
    bad("ct-k-neg", corrupt_triples, TRIPLES, 5, -2, match="k must be >= 0, got -2"),
    bad("ct-all-excluded", corrupt_triples, [[0, 0, 1]], 2, 2, known=[[0, 0, 0], [0, 0, 1]], match="has no valid tail replacement"),
    bad("ct-k-huge", corrupt_triples, TRIPLES, 5, 10**12, exc=MemoryError, match=r"k=1000000000000 corruptions of each of 2 triples needs"),
    bad("ct-beyond-int64", corrupt_triples, TRIPLES, 5, 2**62, exc=(MemoryError, ValueError), match="k"),
    # -- negative_edges --------------------------------------------------
    bad("ne-node-out", negative_edges, [[0, 5], [1, 2]], 5, 2, match=r"edge_index must hold node ids in \[0, 5\), got 5 in edge 1"),
    bad("ne-node-2**31", negative_edges, np.array([[BIG], [0]]), 5, 2, match=f"got {BIG}"),
    bad("ne-node-neg", negative_edges, [[0], [-3]], 5, 2, match="got -3"),
    bad("ne-shape", negative_edges, np.zeros((3, 2), np.int64), 5, 2, match=r"edge_index must have shape \(2, E\), got shape \(3, 2\)"),
    bad("ne-float", negative_edges, [[0.0], [1.0]], 5, 2, exc=TypeError, match="edge_index must have an integer dtype"),
    bad("ne-method", negative_edges, EDGES, 5, 2, method="local", match="method must be one of"),
    bad("ne-bool-flag", negative_edges, EDGES, 5, 2, undirected="no", exc=TypeError, match="undirected must be True or False, got 'no'"),
    bad("ne-too-dense", negative_edges, EDGES, 3, 5, match=r"graph too dense: 4 non-edge pairs .* num_samples=5"),
    bad("ne-per-source-too-dense", negative_edges, [[0, 0], [1, 2]], 3, 1, method="per_source", match="source node 0 .* 0 non-neighbours"),
    bad("ne-num_samples-neg", negative_edges, EDGES, 5, -1, match="num_samples must be >= 0, got -1"),
    bad("ne-num_samples-huge", negative_edges, EDGES, 10**7, 10**12, replace=True, exc=MemoryError, match="num_samples=1000000000000 pairs of 2 nodes needs"),
    bad("ne-per-source-huge", negative_edges, EDGES, 10**7, 10**12, method="per_source", replace=True, exc=MemoryError, match="num_samples=1000000000000"),
    bad("ne-beyond-int64", negative_edges, EDGES, 10**7, 2**62, replace=True, exc=(MemoryError, ValueError), match="num_samples"),
    # -- hard_negatives / topk -------------------------------------------
    bad("hn-k-huge", hard_negatives, Q, C, 2**40, exc=MemoryError, match="k=1099511627776"),
    bad("hn-k-zero", hard_negatives, Q, C, 0, match="k must be >= 1, got 0"),
    bad("hn-dim", hard_negatives, Q, C[:, :2], 2, match="same dimension"),
    bad("hn-zero-dim", hard_negatives, np.ones((2, 0)), np.ones((5, 0)), 2, match="at least one dimension"),
    bad("hn-query-nan", hard_negatives, np.array([[1.0, np.nan, 0]]), C, 2, match="queries must be finite, got nan at row 0, column 1"),
    bad("hn-candidate-inf", hard_negatives, Q, np.vstack([C, [[0, np.inf, 0]]]), 2, match="candidates must be finite, got inf at row 5"),
    bad("hn-overflow", hard_negatives, np.full((1, 3), 1e30, np.float32), np.full((5, 3), 1e30, np.float32), 2, match="overflow the float32 range"),
    bad("hn-metric", hard_negatives, Q, C, 2, metric="l2", match="metric must be 'dot' or 'cosine', got 'l2'"),
    bad("hn-exclude-out", hard_negatives, Q, C, 2, exclude=[[5], []], match=r"exclude row 0 holds id 5, outside \[0, 5\)"),
    bad("hn-exclude-rows", hard_negatives, Q, C, 2, exclude=[[1]], match="exclude has 1 rows, expected 2"),
    bad("hn-positives-2**31", hard_negatives, Q, C, 2, positives=[[BIG], [0]], match=f"positives row 0 holds id {BIG}"),
    bad("hn-positive_scores-nan", hard_negatives, Q, C, 2, positive_scores=[np.nan, 0], absolute_margin=0.1, match=r"positive_scores must be finite or inf \(no positive\), got nan at index 0"),
    bad("hn-margin-neg", hard_negatives, Q, C, 2, positive_scores=[1, 0], absolute_margin=-0.1, match="absolute_margin must be >= 0.0, got -0.1"),
    bad("hn-margin-no-positive", hard_negatives, Q, C, 2, relative_margin=0.1, match="need positive_scores or positives"),
    bad("hn-temperature-zero", hard_negatives, Q, C, 2, temperature=0.0, match="temperature must be > 0, got 0.0"),
    bad("hn-temperature-subnormal", hard_negatives, Q, C, 2, temperature=5e-324, match="temperature is too small"),
    bad("hn-max_score-nan", hard_negatives, Q, C, 2, max_score=np.nan, match="max_score must be finite, got nan"),
    bad("hn-skip_top-neg", hard_negatives, Q, C, 2, skip_top=-1, match="skip_top must be >= 0, got -1"),
    bad("hn-skip_top-temperature", hard_negatives, Q, C, 2, skip_top=1, temperature=1.0, match="skip_top cannot be combined"),
    bad("hn-block_size", hard_negatives, Q, C, 2, block_size=0, match="block_size must be >= 1, got 0"),
    bad("hn-largest", hard_negatives, Q, C, 2, largest="yes", exc=TypeError, match="largest must be True or False, got 'yes'"),
    bad("hn-k-huge", hard_negatives, np.ones((10**6, 1), np.float32), np.ones((10**6, 1), np.float32), 10**6, exc=MemoryError, match=r"k=1000000 \(for 1000000 queries\)"),
    bad("topk-k-above-n", topk, np.ones((2, 3)), 4, match="k must be <= the number of columns 3, got 4"),
    bad("topk-nan", topk, np.array([[0.0, np.nan, 1.0]]), 1, match="NaN"),
    bad("topk-1d", topk, np.ones(3), 1, match=r"scores must be 2-D .* got shape \(3,\)"),
    bad("topk-exclude-out", topk, np.ones((1, 3)), 1, exclude=[[3]], match=r"exclude row 0 holds id 3"),
    # -- reservoirs -------------------------------------------------------
    bad("res-k-zero", Reservoir, 0, match="k must be >= 1, got 0"),
    bad("res-k-float", Reservoir, 2.5, exc=TypeError, match="k must be an int, got 2.5"),
    bad("res-dtype-switch", RES.update, np.arange(3.0), exc=TypeError, match="items has dtype float64 but this reservoir holds dtype int64"),
    bad("res-2d", RES.update, np.ones((2, 2), np.int64), match=r"items must be 1-D, got an array of shape \(2, 2\)"),
    bad("res-str", RES.update, "abc", exc=TypeError, match="items must be a 1-D array or an iterable"),
    bad("res-scalar", RES.update, 5, exc=TypeError, match="items must be .* got 5"),
    bad("res-none", RES.update, None, exc=TypeError, match="items must be"),
    bad("res-not-iterable", RES.update, object(), exc=TypeError, match="items must be"),
    bad("res-list-too-wide", RES.update, [2**70], exc=TypeError, match="items has dtype object"),
    bad("res-merge-type", RES.merge, WRES, exc=TypeError, match="other must be a Reservoir, got WeightedReservoir"),
    bad("res-merge-self", RES.merge, RES, match="cannot merge a reservoir with itself"),
    bad("res-merge-k", RES.merge, _res(4), match="different k: 3 and 4"),
    bad("res-from_bytes-type", Reservoir.from_bytes, [1, 2], exc=TypeError, match="data must be bytes, got list"),
    bad("res-from_bytes-foreign", Reservoir.from_bytes, WRES.to_bytes(), match="not a serialised Reservoir"),
    bad("res-from_bytes-truncated", Reservoir.from_bytes, RES.to_bytes()[:-9], match="data is corrupted or truncated"),
    bad("wres-nan", WRES.update, [1, 2], [1.0, np.nan], match="weights must be finite, got nan at index 1"),
    bad("wres-neg", WRES.update, [1, 2], [1.0, -1.0], match="weights must be non-negative, got -1.0 at index 1"),
    bad("wres-inf", WRES.update, [1], [np.inf], match="weights must be finite, got inf at index 0"),
    bad("wres-length", WRES.update, [1, 2], [1.0], match="weights has length 1 but items has length 2"),
    bad("wres-weights-str", WRES.update, [1], ["a"], exc=TypeError, match="weights must have an integer or floating dtype"),
    bad("wres-weights-complex", WRES.update, [1], [1j], exc=TypeError, match="weights must have an integer or floating dtype, got dtype complex128"),
    bad("wres-weights-none", WRES.update, [1], None, exc=TypeError, match="weights must be an array"),
    bad("wres-weights-2d", WRES.update, [1], [[1.0]], match=r"weights must be 1-D, got shape \(1, 1\)"),
    bad("wres-merge-dtype", WRES.merge, (lambda r: (r.update(np.array([0.5]), [1.0]), r)[1])(WeightedReservoir(3, rng=1)), exc=TypeError, match="different dtypes"),
    bad("wres-from_bytes-foreign", WeightedReservoir.from_bytes, RES.to_bytes(), match="not a serialised WeightedReservoir"),
    # -- rng helpers -------------------------------------------------------
    bad("spawn-n-neg", negsamp.spawn, 0, -1, match="n_children must be >= 0, got -1"),
    bad("spawn-n-float", negsamp.spawn, 0, 2.0, exc=TypeError, match="n_children must be an int, got 2.0"),
    bad("spawn-rng-neg", negsamp.spawn, -5, 2, match="rng seed must be non-negative, got -5"),
    bad("spawn-rng-str", negsamp.spawn, "seed", 2, exc=TypeError, match="rng must be None.* got str"),
    bad("worker_rng-neg", negsamp.worker_rng, -1, match="rng seed must be non-negative, got -1"),
    bad("worker_rng-float", negsamp.worker_rng, 0.5, exc=TypeError, match="rng must be None.* got float"),
]


@pytest.mark.parametrize("fn,args,kwargs,exc,match", CASES)
def test_bad_value(fn: Any, args: Any, kwargs: Any, exc: Any, match: str) -> None:
    owner = getattr(fn, "__self__", None)  # a reservoir must not change either
    with assert_untouched(args, kwargs, *([] if isinstance(owner, (type, type(None))) else [owner])):
        with pytest.raises(exc, match=match):
            fn(*args, **kwargs)


# -- iterables, big-endian state, valid edge values ---------------------------
_ITERABLES = {
    "set": set, "frozenset": frozenset, "generator": lambda v: (x for x in v),
    "dict_keys": lambda v: dict.fromkeys(v).keys(), "map": lambda v: map(int, v),
    "tuple": tuple, "list": list, "range": lambda v: range(v[0], v[-1] + 1),
}


@pytest.mark.parametrize("kind", list(_ITERABLES))
def test_reservoir_update_accepts_iterables(kind: str) -> None:
    """The README accepts any iterable: the same sample as the array of the
    iterated values (a small int set iterates in sorted order)."""
    values = list(range(10, 16))
    expected = Reservoir(4, rng=0)
    expected.update(np.array(values))
    res = Reservoir(4, rng=0)
    res.update(_ITERABLES[kind](values))
    assert res.count == 6
    assert_same(res.sample, expected.sample)
    w, w_expected = WeightedReservoir(2, rng=0), WeightedReservoir(2, rng=0)
    w.update(_ITERABLES[kind](values), (float(x) for x in values))
    w_expected.update(np.array(values), np.array(values, dtype=float))
    assert_same(w.sample, w_expected.sample)


def test_big_endian_reservoir_pickles() -> None:
    res = Reservoir(3, rng=0)
    res.update(np.arange(6, dtype=">i8"))
    assert_same(pickle.loads(pickle.dumps(res)).sample, res.sample)


def test_zero_size_dtype_is_rejected() -> None:
    # Items of 0 bytes would let a serialised count exceed the data present
    # (issue 11 finding 2): they are refused up front, the reservoir unchanged.
    res = Reservoir(3, rng=0)
    with assert_untouched(res):
        with pytest.raises(TypeError, match="dtype"):
            res.update(np.zeros(5, dtype="V0"))


def test_subnormal_and_tiny_weights_are_valid() -> None:
    for w in ([5e-324, 5e-324], [5e-324, 1.0], [1e-300, 1e300]):
        with assert_untouched(w):
            table = AliasTable(w)
        assert table.probabilities.sum() == pytest.approx(1.0)
        assert (table.sample(200, rng=0) < 2).all()


def test_ids_near_int32_limit_are_valid() -> None:
    """Ids above 2**31 are fine when n_items is larger (no int32 truncation)."""
    n = 2**31 + 10
    sampler = NegativeSampler(n, positives=[np.array([2**31 + 3, 5, 2**31 - 1])])
    out = sampler.sample([0, 0], 50, rng=0)
    assert out.min() >= 0 and out.max() < n
    assert not np.isin(out, [2**31 + 3, 5, 2**31 - 1]).any()
    assert (negative_edges(np.array([[2**31 + 1], [2**31 + 2]]), n, 3, rng=0) < n).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=20), st.integers(0, 19),
       st.sampled_from([np.nan, np.inf, -np.inf, -1.0, -5e-324]))
def test_one_bad_weight_is_named(values: Any, where: int, bad_value: float) -> None:
    w = np.array(values + [1.0])
    where = where % w.shape[0]
    w[where] = bad_value
    for call, name in ((AliasTable, "weights"), (AliasTable.from_counts, "counts"),
                       (lambda x: NegativeSampler(weights=x), "weights"),
                       (lambda x: WeightedReservoir(2, rng=0).update(np.arange(x.shape[0]), x),
                        "weights")):
        with assert_untouched(w):
            with pytest.raises(ValueError, match=f"{name} must be .* at index {where}"):
                call(w)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 50), st.lists(st.integers(-2**40, 2**40), min_size=1, max_size=10))
def test_out_of_range_ids_are_named(n: int, ids: Any) -> None:
    arr = np.array(ids, dtype=np.int64)
    table = AliasTable(np.ones(n))
    with assert_untouched(arr):
        if ((arr < 0) | (arr >= n)).any():
            with pytest.raises(ValueError, match=r"ids must be in \[0, %d\), got -?\d+" % n):
                table.log_prob(arr)
            with pytest.raises(ValueError, match=r"positives row \d+ holds id -?\d+"):
                NegativeSampler(n, positives=[arr])
        else:
            assert table.log_prob(arr).shape == arr.shape


# -- requests beyond memory, in a child under an address-space limit ----------
_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
import numpy as np, negsamp
try:
    {call}
except MemoryError as exc:
    print("MemoryError:", exc)
    sys.exit(0)
print("no error")
sys.exit(1)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is reliable on Linux")
@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="under ASan (the sanitizer stage) the child's shadow memory alone "
                           "exceeds any address-space limit")
@pytest.mark.parametrize("call,name", [
    ("negsamp.AliasTable([1.0, 2.0]).sample(10**10)", "size 10000000000"),
    ("negsamp.AliasTable([1.0, 2.0]).sample((10**5, 10**5), dtype=np.int32)", "size (100000, 100000)"),
    ("negsamp.NegativeSampler(10).sample(np.zeros(10**5, np.int64), 10**5)", "k=100000"),
    ("negsamp.NegativeSampler(10, positives=[[1]]).sample([0] * 1000, 10**7)", "k=10000000"),
    ("negsamp.corrupt_triples([[0, 0, 1]] * 10, 5, 10**8)", "k=100000000"),
    ("negsamp.negative_edges([[0], [1]], 10**6, 10**9, replace=True)", "num_samples"),
], ids=["alias", "alias-int32", "sampler-uniform", "sampler-positives", "corrupt", "edges"])
def test_memory_error_under_ulimit(call: str, name: str) -> None:
    import os

    code = _CHILD.format(limit=2 << 30, call=call)
    from _child import run_python

    proc = run_python(code, timeout=120)
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    assert name in proc.stdout and "more than the 2 GiB" in proc.stdout, proc.stdout


@pytest.mark.parametrize("cls", [AliasTable, NegativeSampler, Reservoir, WeightedReservoir])
def test_repr_of_uninitialised_object(cls: Any) -> None:
    assert isinstance(repr(cls.__new__(cls)), str)


def test_setstate_missing_indices_is_a_value_error() -> None:
    obj = NegativeSampler.__new__(NegativeSampler)
    with pytest.raises(ValueError, match="state"):
        obj.__setstate__({"version": 1, "n_items": 3, "indptr": np.array([0, 1])})
