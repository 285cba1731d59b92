"""Golden vectors computed by the pure-Python reference (tests/_reference.py
via tests/data/make_goldens.py), compared exactly with the implementation:
at 1 and 2 threads, with the suite's forced thread pool and with the real
work thresholds (reservoirs are sequential: one thread).  A change of
output, by a refactor or a new kernel path, fails here."""
import json
import os

import numpy as np
import pytest

import negsamp
from negsamp import _negsamp_runtime

DATA = os.path.join(os.path.dirname(__file__), "data")


def _cases(sampler):
    with open(os.path.join(DATA, f"golden_{sampler}.json")) as f:
        cases = json.load(f)["cases"]
    assert cases, f"no golden cases for {sampler}"
    return [pytest.param(c, id=c["name"]) for c in cases]


@pytest.fixture(params=["1-thread", "2-threads", "2-threads-real-thresholds"])
def n_threads(request):
    """1 or 2 threads; the suite forces the pool even for small inputs
    (conftest), the last variant restores the thresholds users get."""
    if request.param.endswith("real-thresholds"):
        _negsamp_runtime._set_min_chunks_for_tests(0)
        yield 2
        _negsamp_runtime._set_min_chunks_for_tests(1)
    else:
        yield 1 if request.param == "1-thread" else 2


@pytest.mark.parametrize("case", _cases("negative_sampler"))
def test_negative_sampler(case, n_threads):
    if "counts" in case:
        sampler = negsamp.NegativeSampler(weights=case["counts"], power=case["power"],
                                          positives=case["positives"])
    elif "weights" in case:
        sampler = negsamp.NegativeSampler(weights=case["weights"], positives=case["positives"])
    else:
        sampler = negsamp.NegativeSampler(case["n_items"], positives=case["positives"])
    got = sampler.sample(case["rows"], case["k"], rng=case["seed"], replace=case["replace"],
                         n_threads=n_threads)
    np.testing.assert_array_equal(got, np.array(case["expected"], dtype=np.int64).reshape(
        len(case["rows"]), case["k"]))


@pytest.mark.parametrize("case", _cases("alias_table"))
def test_alias_table(case, n_threads):
    if "counts" in case:
        table = negsamp.AliasTable.from_counts(case["counts"], power=case["power"])
    else:
        table = negsamp.AliasTable(case["weights"])
    if "keys" in case:
        got = table.sample((len(case["keys"]), case["row_len"]), rng=case["seed"],
                           keys=case["keys"], n_threads=n_threads)
    else:
        got = table.sample(case["count"], rng=case["seed"], n_threads=n_threads)
    assert got.tolist() == case["expected"]
    if "keys" not in case:
        as_int32 = table.sample(case["count"], rng=case["seed"], n_threads=n_threads,
                                dtype=np.int32)
        assert as_int32.tolist() == case["expected"]


@pytest.mark.parametrize("case", _cases("corrupt_triples"))
def test_corrupt_triples(case, n_threads):
    got = negsamp.corrupt_triples(case["triples"], case["n_entities"], case["k"],
                                  mode=case["mode"], known=case["known"], rng=case["seed"],
                                  n_threads=n_threads)
    assert got.tolist() == case["expected"]


@pytest.mark.parametrize("case", _cases("negative_edges"))
def test_negative_edges(case, n_threads):
    got = negsamp.negative_edges(np.array(case["edge_index"]), case["n_nodes"],
                                 case["num_samples"], method=case["method"],
                                 undirected=case["undirected"], replace=case["replace"],
                                 rng=case["seed"], n_threads=n_threads)
    assert got.tolist() == case["expected"]


@pytest.mark.parametrize("case", _cases("reservoir"))
def test_reservoir(case):
    res = negsamp.Reservoir(case["k"], rng=case["seed"])
    for start in range(0, case["n"], case["chunk"]):
        res.update(np.arange(start, min(start + case["chunk"], case["n"])))
    assert res.count == case["n"]
    if "n2" in case:  # a merge
        other = negsamp.Reservoir(case["k"], rng=case["seed2"])
        other.update(np.arange(case["n"], case["n"] + case["n2"]))
        res = res.merge(other, rng=case["merge_seed"])
    assert res.sample.tolist() == case["expected"]


@pytest.mark.parametrize("case", _cases("hard_negatives"))
@pytest.mark.parametrize("block_size", [None, 64])
def test_hard_negatives(case, n_threads, block_size):
    kw = {name: case[name] for name in ("exclude", "largest", "skip_top", "max_score",
                                        "temperature") if name in case}
    Q = np.array(case["queries"], dtype=np.float32)
    C = np.array(case["candidates"], dtype=np.float32)
    ids, scores = negsamp.hard_negatives(Q, C, case["k"], rng=case.get("seed"),
                                         n_threads=n_threads, block_size=block_size, **kw)
    _assert_selection(ids, scores, case, np.float32)


def _assert_selection(ids, scores, case, dtype):
    assert ids.tolist() == case["expected_ids"]
    want = np.array([[np.nan if s is None else s for s in row]
                     for row in case["expected_scores"]], dtype=dtype)
    assert scores.dtype == want.dtype
    np.testing.assert_array_equal(scores, want)


@pytest.mark.parametrize("case", _cases("topk"))
def test_topk(case, n_threads):
    kw = {name: case[name] for name in ("exclude", "largest") if name in case}
    scores = np.array(case["scores"], dtype=case["dtype"])
    ids, vals = negsamp.topk(scores, case["k"], n_threads=n_threads, **kw)
    _assert_selection(ids, vals, case, np.dtype(case["dtype"]))
