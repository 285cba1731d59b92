"""hard_negatives' bad input: argument checks, non-finite and overflowing scores,
the caller's arrays untouched."""
from __future__ import annotations

import numpy as np
import pytest

import negsamp
from _helpers import assert_untouched
from _mining_cases import assert_same


# --------------------------------------------------------------------------
# bad input

def _inputs():
    rng = np.random.default_rng(17)
    return rng.standard_normal((4, 3)).astype(np.float32), \
        rng.standard_normal((20, 3)).astype(np.float32)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(k=0), ValueError, "k must be >= 1"),
    (dict(k=-3), ValueError, "k must be >= 1"),
    (dict(k=2.0), TypeError, "k must be an int"),
    (dict(metric="l2"), ValueError, "metric"),
    (dict(metric=None), ValueError, "metric"),
    (dict(skip_top=-1), ValueError, "skip_top"),
    (dict(temperature=0.0), ValueError, "temperature"),
    (dict(temperature=-1.0), ValueError, "temperature"),
    (dict(temperature=float("nan")), ValueError, "temperature"),
    (dict(temperature="hot"), TypeError, "temperature"),
    (dict(max_score=float("nan")), ValueError, "max_score"),
    (dict(absolute_margin=0.1), ValueError, "positive_scores or positives"),
    (dict(absolute_margin=-0.1, positive_scores=np.zeros(4)), ValueError, "absolute_margin"),
    (dict(relative_margin=0.1, positive_scores=np.zeros(3)), ValueError, "positive_scores"),
    (dict(relative_margin=0.1, positive_scores=[0, 0, np.nan, 0]), ValueError, "positive_scores"),
    (dict(relative_margin=0.1, positive_scores=[0, 0, -np.inf, 0]), ValueError,
     "positive_scores must be finite or inf"),
    (dict(positive_scores=np.zeros(4), positives=[[0]] * 4), ValueError, "not both"),
    (dict(exclude=[[0]] * 3), ValueError, "exclude"),
    (dict(exclude=[[0], [1], [25], [2]]), ValueError, "exclude row 2"),
    (dict(positives=[[0], [1], [-1], [2]]), ValueError, "positives row 2"),
    (dict(n_threads=0), ValueError, "n_threads"),
    (dict(block_size=0), ValueError, "block_size"),
    (dict(largest="yes"), TypeError, "largest"),
])
def test_bad_arguments(kwargs, exc, match):
    Q, C = _inputs()
    q0, c0 = Q.copy(), C.copy()
    kwargs = dict(kwargs)
    k = kwargs.pop("k", 2)
    with pytest.raises(exc, match=match):
        negsamp.hard_negatives(Q, C, k, **kwargs)
    np.testing.assert_array_equal(Q, q0)
    np.testing.assert_array_equal(C, c0)


def test_bad_arrays():
    Q, C = _inputs()
    with pytest.raises(ValueError, match="same dimension"):
        negsamp.hard_negatives(Q, C[:, :2], 2)
    with pytest.raises(ValueError, match="queries must be 2-D"):
        negsamp.hard_negatives(Q[0], C, 2)
    with pytest.raises(ValueError, match="candidates must be 2-D"):
        negsamp.hard_negatives(Q, C[0], 2)
    with pytest.raises(TypeError, match="candidates"):
        negsamp.hard_negatives(Q, C.astype(object), 2)
    with pytest.raises(TypeError, match="queries"):
        negsamp.hard_negatives(Q.astype(str), C, 2)
    with pytest.raises(TypeError, match="queries"):
        negsamp.hard_negatives("abc", C, 2)
    with pytest.raises(TypeError, match="candidates"):
        negsamp.hard_negatives(Q, C > 0, 2)
    with pytest.raises(TypeError, match="candidates"):
        negsamp.hard_negatives(Q, C.astype(np.complex64), 2)
    for bad in (np.nan, np.inf, -np.inf):
        Cb = C.copy()
        Cb[13, 1] = bad
        c0 = Cb.copy()
        with pytest.raises(ValueError, match=r"candidates must be finite.*row 13"):
            negsamp.hard_negatives(Q, Cb, 2, block_size=5, metric="cosine")
        np.testing.assert_array_equal(Cb, c0)
        Qb = Q.copy()
        Qb[2, 0] = bad
        with pytest.raises(ValueError, match=r"queries must be finite.*row 2"):
            negsamp.hard_negatives(Qb, C, 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", [3, 37, 998])  # fill phase, chunk tail, full-heap scan
@pytest.mark.parametrize("options", [
    {}, {"largest": False}, {"temperature": 0.5, "rng": 0}, {"metric": "cosine"},
    {"max_score": 0.0, "min_score": -1.0},
])
def test_non_finite_candidate_is_found_by_the_merge(dtype, row, options):
    # No pass over the candidates: a NaN / infinite candidate shows up as
    # non-finite scores in the merge, which then names it.
    rng = np.random.default_rng(row)
    Q = rng.standard_normal((6, 8)).astype(dtype)
    C = rng.standard_normal((1000, 8)).astype(dtype)
    exclude = [[row]] * 6  # even an excluded candidate must be finite
    for bad in (np.nan, np.inf, -np.inf):
        Cb = C.copy()
        Cb[row, 5] = bad
        with pytest.raises(ValueError, match=rf"candidates must be finite.*row {row}, column 5"):
            negsamp.hard_negatives(Q, Cb, 4, exclude=exclude, block_size=300, **options)


def test_overflowing_scores_raise():
    Q = np.full((2, 4), 1e30, dtype=np.float32)
    C = np.ones((50, 4), dtype=np.float32)
    C[20] = 1e30  # finite, but 4e60 overflows float32
    with pytest.raises(ValueError, match=r"overflow the float32 range \(candidates 0\.\.49\)"):
        negsamp.hard_negatives(Q, C, 3)
    C[20] = -1e30  # -inf overflow too, even for the far side
    with pytest.raises(ValueError, match="overflow"):
        negsamp.hard_negatives(Q, C, 3, largest=False)


def test_caller_arrays_untouched_cosine():
    rng = np.random.default_rng(18)
    for dt in (np.float32, np.float64):
        Q = rng.standard_normal((5, 4)).astype(dt) * 3
        C = rng.standard_normal((50, 4)).astype(dt) * 3
        with assert_untouched(Q, C):
            negsamp.hard_negatives(Q, C, 3, metric="cosine", positives=[[1]] * 5,
                                   relative_margin=0.1)


def test_progress_flag_is_harmless(monkeypatch, capsys):
    Q, C = _inputs()
    want = negsamp.hard_negatives(Q, C, 3)
    assert_same(negsamp.hard_negatives(Q, C, 3, progress=True, block_size=4), want)
    # without tqdm: same result and nothing printed
    capsys.readouterr()
    monkeypatch.setitem(__import__("sys").modules, "tqdm", None)
    monkeypatch.setitem(__import__("sys").modules, "tqdm.auto", None)
    assert_same(negsamp.hard_negatives(Q, C, 3, progress=True, block_size=4), want)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    with pytest.raises(TypeError, match="progress"):
        negsamp.hard_negatives(Q, C, 3, progress="yes")
