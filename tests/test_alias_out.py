"""AliasTable.sample(out=...): NumPy's convention (negsamp._validation.as_out),
written in place by the kernel, the same draws as the allocating call."""
import numpy as np
import pytest

from negsamp import AliasTable

TABLE = AliasTable((1.0 / np.arange(1, 5001)) ** 0.75)


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
@pytest.mark.parametrize("size", [7, 40_000, (3, 0), (128, 300), (2, 3, 4)])
def test_out_gets_the_draws_of_the_allocating_call(size, dtype):
    want = TABLE.sample(size, rng=5, dtype=dtype)
    buf = np.full(want.shape, -1, dtype=dtype)
    got = TABLE.sample(size, rng=5, dtype=dtype, out=buf)
    assert got is buf
    np.testing.assert_array_equal(buf, want)


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_out_with_keyed_rows(dtype):
    keys = np.array([4, 0, 9, 4])
    want = TABLE.sample((4, 70), rng=8, keys=keys, dtype=dtype)
    buf = np.zeros((4, 70), dtype=dtype)
    got = TABLE.sample((4, 70), rng=8, keys=keys, dtype=dtype, out=buf)
    assert got is buf
    np.testing.assert_array_equal(buf, want)


def test_out_is_written_in_place_not_copied():
    # A view into a larger buffer: the draws land in the caller's memory.
    backing = np.zeros(1000, dtype=np.int64)
    view = backing[100:600]
    TABLE.sample(500, rng=3, out=view)
    np.testing.assert_array_equal(backing[100:600], TABLE.sample(500, rng=3))
    assert not backing[:100].any() and not backing[600:].any()


def test_a_generator_gives_the_same_stream_with_and_without_out():
    a, b = np.random.default_rng(1), np.random.default_rng(1)
    buf = np.empty(1000, dtype=np.int64)
    for _ in range(3):
        TABLE.sample(1000, rng=a, out=buf)
        np.testing.assert_array_equal(buf, TABLE.sample(1000, rng=b))


def _bad_buffers():
    read_only = np.zeros(6, dtype=np.int64)
    read_only.flags.writeable = False
    return [
        (list(range(6)), TypeError, r"out must be a numpy.ndarray of shape \(6,\) and dtype int64, got list"),
        (np.zeros(6, dtype=np.int32), TypeError, "out must have dtype int64, got int32"),
        (np.zeros(6, dtype=np.float64), TypeError, "out must have dtype int64, got float64"),
        (np.zeros(7, dtype=np.int64), ValueError, r"out must have shape \(6,\), got \(7,\)"),
        (np.zeros((2, 3), dtype=np.int64), ValueError, r"out must have shape \(6,\), got \(2, 3\)"),
        (np.zeros(12, dtype=np.int64)[::2], ValueError, "out must be C-contiguous and aligned"),
        (read_only, ValueError, "out is read-only"),
    ]


@pytest.mark.parametrize("bad, err, match", _bad_buffers())
def test_bad_buffers_are_refused_and_left_untouched(bad, err, match):
    before = np.array(bad, copy=True)
    gen = np.random.default_rng(0)
    state = gen.bit_generator.state
    with pytest.raises(err, match=match):
        TABLE.sample(6, rng=gen, out=bad)
    np.testing.assert_array_equal(np.asarray(bad), before)
    assert gen.bit_generator.state == state  # checked before the key is drawn


def test_dtype_must_match_out():
    buf = np.zeros(6, dtype=np.int32)
    with pytest.raises(TypeError, match="out must have dtype int64, got int32"):
        TABLE.sample(6, rng=0, out=buf)
    TABLE.sample(6, rng=0, out=buf, dtype=np.int32)
    np.testing.assert_array_equal(buf, TABLE.sample(6, rng=0, dtype=np.int32))


def test_out_sharing_memory_with_keys_is_refused():
    keys = np.arange(6, dtype=np.int64)
    buf = np.zeros((6, 1), dtype=np.int64)
    with pytest.raises(ValueError, match="out shares memory with an input"):
        TABLE.sample((6, 1), rng=0, keys=keys, out=keys.reshape(6, 1))
    TABLE.sample((6, 1), rng=0, keys=keys, out=buf)
    np.testing.assert_array_equal(keys, np.arange(6))


def test_bad_keys_are_reported_before_out_is_touched():
    buf = np.full((2, 5), 7, dtype=np.int64)
    with pytest.raises(ValueError, match="keys"):
        TABLE.sample((2, 5), rng=0, keys=[1, -1], out=buf)
    assert (buf == 7).all()
