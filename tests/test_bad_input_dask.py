"""Bad-input matrix, negsamp.dask (issue 11): errors name the argument and
the bad value (``row_column`` for float, missing or out-of-range row ids)."""
from __future__ import annotations

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
db = pytest.importorskip("dask.bag")
pd = pytest.importorskip("pandas")

from negsamp import NegativeSampler  # noqa: E402
from negsamp.dask import reservoir_sample, sample_negatives  # noqa: E402

from _bad_input import assert_same  # noqa: E402
from _helpers import assert_untouched  # noqa: E402

SAMPLER = NegativeSampler(10, positives=[[0, 1], [2], []])


def _frame(values, dtype=None):
    pdf = pd.DataFrame({"user": pd.array(values, dtype=dtype), "x": np.arange(len(values))})
    return pdf, dd.from_pandas(pdf, npartitions=2)


def _negatives(ddf, **kwargs):
    kwargs.setdefault("k", 3)
    return sample_negatives(ddf, SAMPLER, row_column="user", rng=0, **kwargs).compute(
        scheduler="sync")


@pytest.mark.parametrize("values,dtype,exc,match", [
    ([0.0, 1.0, 2.0, 1.0], "float64", TypeError, "row_column 'user' must hold integer row ids, got dtype float64"),
    ([True, False, True, True], "bool", TypeError, "row_column 'user' must hold integer row ids, got dtype bool"),
    (["a", "b", "c", "d"], object, TypeError, "row_column 'user' must hold integer row ids"),
    ([0, None, 1, 2], "Int64", ValueError, r"row_column 'user' holds a missing value \(NA\) at index 1"),
    ([0, 1, 2, 7], "int64", ValueError, r"row_column 'user': rows must be in \[0, 3\), got 7"),
    ([0, -1, 2, 1], "int32", ValueError, r"row_column 'user': rows must be in \[0, 3\), got -1"),
    ([0, 1, 2, 2**40], "UInt64", ValueError, f"row_column 'user': rows must be in .*got {2**40}"),
], ids=["float", "bool", "object", "nullable-NA", "above", "negative", "nullable-above"])
def test_sample_negatives_names_row_column(values, dtype, exc, match):
    pdf, ddf = _frame(values, dtype)
    with assert_untouched(pdf["user"].to_numpy()):
        with pytest.raises(exc, match=match):
            _negatives(ddf)


def test_sample_negatives_nullable_and_narrow_ints_match_int64():
    expected = _negatives(_frame([0, 1, 2, 1], "int64")[1])
    for dtype in ("Int64", "int32", "uint16", "UInt8"):
        got = _negatives(_frame([0, 1, 2, 1], dtype)[1])
        assert_same(got[[f"neg_{j}" for j in range(3)]].to_numpy(),
                    expected[[f"neg_{j}" for j in range(3)]].to_numpy())


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(k=0), ValueError, "k must be >= 1, got 0"),
    (dict(k=2.0), TypeError, "k must be an int, got 2.0"),
    (dict(k=10**12), MemoryError, "k=1000000000000 needs"),
    (dict(k=2, prefix=3), TypeError, "prefix must be a str, got 3"),
    (dict(k=2, prefix="x"), ValueError, r"df already has columns \['x0'"),
])
def test_sample_negatives_bad_arguments(kwargs, exc, match):
    pdf = pd.DataFrame({"user": [0, 1], "x0": [1, 2]})
    with pytest.raises(exc, match=match):
        sample_negatives(dd.from_pandas(pdf, npartitions=1), SAMPLER, row_column="user",
                         **kwargs)


def test_sample_negatives_bad_frame_column_sampler():
    ddf = _frame([0, 1], "int64")[1]
    with pytest.raises(ValueError, match="row_column 'item' is not a column of df"):
        sample_negatives(ddf, SAMPLER, row_column="item", k=2)
    with pytest.raises(TypeError, match="df must be a dask DataFrame, got DataFrame"):
        sample_negatives(_frame([0, 1], "int64")[0], SAMPLER, row_column="user", k=2)
    with pytest.raises(TypeError, match="sampler must have a .sample"):
        sample_negatives(ddf, object(), row_column="user", k=2)


@pytest.mark.parametrize("make,kwargs,exc,match", [
    (lambda: da.ones((4, 2), chunks=2), {}, ValueError, "collection must be a 1-D dask array"),
    (lambda: np.arange(4), {}, TypeError, "collection must be a dask.array.Array.* got ndarray"),
    (lambda: _frame([0, 1], "int64")[1], {}, TypeError, "collection must be a dask Series, not a DataFrame"),
    (lambda: da.arange(4, chunks=2), dict(k=0), ValueError, "k must be >= 1, got 0"),
    (lambda: da.arange(4, chunks=2), dict(split_every=1), ValueError, "split_every must be >= 2, got 1"),
    (lambda: da.arange(4, chunks=2), dict(weights=np.ones(3)), ValueError, r"weights has shape \(3,\)"),
    (lambda: da.arange(4, chunks=2), dict(weights=np.array(["a"] * 4)), TypeError, "weights must be numeric"),
    (lambda: db.from_sequence(range(4), npartitions=2), dict(weights=[1.0] * 4), TypeError, "weights of a bag must be a callable or a bag"),
])
def test_reservoir_sample_bad_input(make, kwargs, exc, match):
    kwargs.setdefault("k", 2)
    with pytest.raises(exc, match=match):
        reservoir_sample(make(), **kwargs)


def test_reservoir_sample_bad_weights_named_on_compute():
    x = da.arange(4, chunks=2)
    w = da.from_array(np.array([1.0, np.nan, 1.0, 1.0]), chunks=2)
    with pytest.raises(ValueError, match="weights must be finite, got nan at index 1"):
        reservoir_sample(x, 2, weights=w).compute(scheduler="sync")
