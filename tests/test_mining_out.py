"""hard_negatives(..., out=(ids, scores)): the result written into the
caller's buffers (NumPy's out= convention, negsamp._validation.as_out)."""
from __future__ import annotations

import numpy as np
import pytest

import negsamp
from _mining_cases import assert_same, random_exclusion


def _inputs(dtype=np.float32):
    rng = np.random.default_rng(11)
    return (rng.standard_normal((13, 6)).astype(dtype),
            rng.standard_normal((400, 6)).astype(dtype))


def _buffers(shape, score_dtype=np.float32):
    return np.full(shape, 7, dtype=np.int64), np.full(shape, 7, dtype=score_dtype)


@pytest.mark.parametrize("options", [
    {}, {"skip_top": 2, "largest": False}, {"temperature": 0.5, "rng": 1},
    {"exclude": "random", "metric": "cosine"}, {"n_threads": 2, "block_size": 50},
    {"k": 500},  # padded with -1 / NaN
    {"precision": "int8"}, {"precision": "int8", "k": 500, "skip_top": 1},
])
def test_out_receives_the_result_and_is_returned(options):
    Q, C = _inputs()
    options = dict(options)
    k = options.pop("k", 5)
    if options.get("exclude") == "random":
        options["exclude"] = random_exclusion(np.random.default_rng(0), 13, 400)
    want = negsamp.hard_negatives(Q, C, k, **options)
    ids, scores = _buffers((13, k))
    got = negsamp.hard_negatives(Q, C, k, out=(ids, scores), **options)
    assert got[0] is ids and got[1] is scores
    assert_same(got, want)
    # a list works too
    ids2, scores2 = _buffers((13, k))
    got = negsamp.hard_negatives(Q, C, k, out=[ids2, scores2], **options)
    assert got[0] is ids2 and got[1] is scores2
    assert_same(got, want)


def test_float64_scores_and_no_queries():
    Q, C = _inputs(np.float64)
    ids, scores = _buffers((13, 4), np.float64)
    got = negsamp.hard_negatives(Q, C, 4, out=(ids, scores))
    assert got[1] is scores
    assert_same(got, negsamp.hard_negatives(Q, C, 4))
    ids, scores = _buffers((0, 4), np.float64)
    got = negsamp.hard_negatives(Q[:0], C, 4, out=(ids, scores))
    assert got[0] is ids and got[1] is scores


@pytest.mark.parametrize("make, exc, match", [
    (lambda: np.zeros((13, 5), dtype=np.int64), TypeError, "out must be a tuple"),
    (lambda: (np.zeros((13, 5), dtype=np.int64),), TypeError, "out must be a tuple"),
    (lambda: _buffers((13, 5)) + (None,), TypeError, "out must be a tuple"),
    (lambda: (None, np.zeros((13, 5), np.float32)), TypeError, "out must be a tuple"),
    (lambda: ([[0] * 5] * 13, np.zeros((13, 5), np.float32)), TypeError,
     r"out\[0\] \(ids\) must be a numpy.ndarray"),
    (lambda: (np.zeros((13, 5), np.int32), np.zeros((13, 5), np.float32)), TypeError,
     r"out\[0\] \(ids\) must have dtype int64, got int32"),
    (lambda: (np.zeros((13, 5), np.int64), np.zeros((13, 5), np.float64)), TypeError,
     r"out\[1\] \(scores\) must have dtype float32, got float64"),
    (lambda: (np.zeros((13, 4), np.int64), np.zeros((13, 5), np.float32)), ValueError,
     r"out\[0\] \(ids\) must have shape \(13, 5\), got \(13, 4\)"),
    (lambda: (np.zeros((13, 5), np.int64), np.zeros((5, 13), np.float32).T), ValueError,
     r"out\[1\] \(scores\) must be C-contiguous"),
])
def test_bad_out_is_named(make, exc, match):
    Q, C = _inputs()
    out = make()
    with pytest.raises(exc, match=match):
        negsamp.hard_negatives(Q, C, 5, out=out)


def test_read_only_and_overlapping_out_are_refused_before_any_work():
    Q, C = _inputs()
    ids, scores = _buffers((13, 5))
    ids.flags.writeable = False
    with pytest.raises(ValueError, match=r"out\[0\] \(ids\) is read-only"):
        negsamp.hard_negatives(Q, C, 5, out=(ids, scores))
    # scores written over the candidates, or over the ids buffer
    C2 = np.zeros((400, 6), dtype=np.float32)
    C2[:] = C
    with pytest.raises(ValueError, match=r"out\[1\] \(scores\) shares memory with an input"):
        negsamp.hard_negatives(Q, C2, 5, out=(np.zeros((13, 5), np.int64),
                                              C2.ravel()[:65].reshape(13, 5)))
    block = np.zeros(2 * 13 * 5, dtype=np.int64)
    as_scores = block.view(np.float64)[: 13 * 5].reshape(13, 5)
    with pytest.raises(ValueError, match="shares memory"):
        negsamp.hard_negatives(Q.astype(np.float64), C.astype(np.float64), 5,
                               out=(block[: 13 * 5].reshape(13, 5), as_scores))


def test_buffers_are_untouched_when_the_call_fails():
    Q, C = _inputs()
    C = C.copy()
    C[250, 3] = np.nan
    ids, scores = _buffers((13, 5))
    with pytest.raises(ValueError, match="row 250"):
        negsamp.hard_negatives(Q, C, 5, out=(ids, scores), block_size=100)
    assert (ids == 7).all() and (scores == 7).all()
