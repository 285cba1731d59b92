"""The shared check of ``out=`` buffers (negsamp._validation.as_out); each
sampler's own ``out=`` tests live beside that sampler's tests."""
import numpy as np
import pytest

from negsamp._validation import as_out


def test_none_means_allocate():
    assert as_out(None, (3,), np.int64) is None


def test_a_matching_buffer_is_returned_itself():
    buf = np.empty((2, 3), dtype=np.int64)
    assert as_out(buf, (2, 3), np.int64) is buf


@pytest.mark.parametrize("bad, err, match", [
    ([0, 0, 0], TypeError, "out must be a numpy.ndarray of shape \\(3,\\)"),
    (np.empty(3, dtype=np.int32), TypeError, "out must have dtype int64, got int32"),
    (np.empty(4, dtype=np.int64), ValueError, "out must have shape \\(3,\\), got \\(4,\\)"),
    (np.empty(6, dtype=np.int64)[::2], ValueError, "C-contiguous"),
])
def test_bad_buffers_are_named(bad, err, match):
    with pytest.raises(err, match=match):
        as_out(bad, (3,), np.int64)


def test_read_only_and_overlapping_buffers_are_refused():
    buf = np.empty(3, dtype=np.int64)
    buf.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        as_out(buf, (3,), np.int64)
    base = np.zeros(6, dtype=np.int64)
    with pytest.raises(ValueError, match="ids_out shares memory with an input"):
        as_out(base[:3], (3,), np.int64, base[3:] * 0, base, name="ids_out")
