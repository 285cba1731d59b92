"""hard_negatives on low-precision and memory-mapped corpora: float16 and
bfloat16 (ml_dtypes) embeddings and np.memmap files give exactly the result
of the same values converted to float32 up front (every float16 / bfloat16
value is a float32), converted tile by tile, never whole."""
from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import negsamp
from negsamp import mining
from _mining_cases import assert_same, dyadic, random_exclusion, ref_select

ml_dtypes = pytest.importorskip("ml_dtypes")
BF16 = np.dtype(ml_dtypes.bfloat16)
LOW = {"float16": np.dtype(np.float16), "bfloat16": BF16}


def _memmap(tmp_path, values, dtype, name="corpus.bin"):
    mm = np.memmap(tmp_path / name, dtype=dtype, mode="w+", shape=values.shape)
    mm[:] = values.astype(dtype)
    mm.flush()
    return np.memmap(tmp_path / name, dtype=dtype, mode="r", shape=values.shape)


@pytest.mark.parametrize("low", list(LOW))
@pytest.mark.parametrize("options", [
    {}, {"metric": "cosine"}, {"largest": False}, {"skip_top": 3},
    {"max_score": 0.5, "min_score": -3.0},
    {"positives": "random", "relative_margin": 0.1},
    {"temperature": 0.7, "rng": 5},
])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_low_precision_equals_float32_up_front(low, options, n_threads):
    rng = np.random.default_rng([len(options), n_threads])
    dtype = LOW[low]
    Q = rng.standard_normal((23, 16)).astype(dtype)
    C = rng.standard_normal((1500, 16)).astype(dtype)
    options = dict(options)
    if options.get("positives") == "random":
        options["positives"] = random_exclusion(rng, 23, 1500, max_len=3)
    exclude = random_exclusion(rng, 23, 1500)
    want = negsamp.hard_negatives(Q.astype(np.float32), C.astype(np.float32), 9,
                                  exclude=exclude, block_size=128, n_threads=n_threads,
                                  **options)
    for q in (Q, Q.astype(np.float32)):
        got = negsamp.hard_negatives(q, C, 9, exclude=exclude, block_size=128,
                                     n_threads=n_threads, **options)
        assert got[1].dtype == np.float32
        assert_same(got, want)


@pytest.mark.parametrize("low", list(LOW))
def test_low_precision_is_exact_against_argsort(low):
    # Dyadic values with few bits are exact in float16 and bfloat16, and so
    # are their products and sums in float32.
    rng = np.random.default_rng(3)
    Q, C = dyadic(rng, (11, 6), scale=4, span=2), dyadic(rng, (700, 6), scale=4, span=2)
    want = ref_select(Q @ C.T, 12)
    for block_size in (None, 1, 77, 700):
        got = negsamp.hard_negatives(Q.astype(LOW[low]), C.astype(LOW[low]), 12,
                                     block_size=block_size)
        assert_same(got, want)


@pytest.mark.parametrize("dtype", [np.float16, BF16, np.float32, np.float64])
@pytest.mark.parametrize("metric", ["dot", "cosine"])
def test_memmap_corpus_equals_in_memory(tmp_path, dtype, metric):
    rng = np.random.default_rng(4)
    Q = rng.standard_normal((9, 12)).astype(np.float32)
    values = rng.standard_normal((3000, 12)).astype(dtype)
    mm = _memmap(tmp_path, values, dtype)
    want = negsamp.hard_negatives(Q, values.astype(np.float32) if dtype != np.float64
                                  else values, 7, metric=metric, block_size=500)
    got = negsamp.hard_negatives(Q, mm, 7, metric=metric, block_size=500)
    assert_same(got, want)
    # the memmap was only read
    assert not mm.flags.writeable


def test_float16_memmap_is_converted_tile_by_tile(tmp_path, monkeypatch):
    # 20k x 64 float16 (2.5 MB on disk, 5.1 MB as float32): peak numpy
    # allocations stay well below one float32 copy of the corpus, with an
    # explicit block_size and with the default one (a tile's candidates are
    # bounded by TILE_BYTES too, not only its scores).
    rng = np.random.default_rng(5)
    n, d = 20_000, 64
    values = rng.standard_normal((n, d)).astype(np.float16)
    mm = _memmap(tmp_path, values, np.float16)
    Q = rng.standard_normal((4, d)).astype(np.float32)
    full_copy = n * d * 4

    def peak(**kwargs):
        want = negsamp.hard_negatives(Q, values.astype(np.float32), 10, n_threads=1,
                                      **kwargs)
        tracemalloc.start()
        try:
            got = negsamp.hard_negatives(Q, mm, 10, n_threads=1, **kwargs)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert_same(got, want)
        return peak

    assert peak(block_size=1000) < full_copy / 8
    monkeypatch.setattr(mining, "TILE_BYTES", 1 << 16)
    assert peak() < full_copy / 8


def test_default_tiles_are_bounded_by_scores_and_by_candidates(monkeypatch):
    # Few queries make wide score tiles: the tile is also held to TILE_BYTES
    # of candidates in the compute dtype, whatever the corpus dtype, so a
    # float16 corpus is tiled as its float32 conversion is.
    monkeypatch.setattr(mining, "TILE_BYTES", 1 << 14)
    seen = []
    original = mining._Scan.run_tile

    def spy(self, state, c0, c1, merge, buf):
        seen.append(c1 - c0)
        return original(self, state, c0, c1, merge, buf)

    monkeypatch.setattr(mining._Scan, "run_tile", spy)
    rng = np.random.default_rng(6)
    for b, d, want in [(1, 8, 512), (1, 64, 256), (8, 4, 512), (2, 4, 1024)]:
        Q = rng.standard_normal((b, d)).astype(np.float32)
        C = rng.standard_normal((3000, d)).astype(np.float32)
        for c, metric in [(C, "dot"), (C, "cosine"), (C.astype(np.float16), "dot"),
                          (C.astype(BF16), "dot")]:
            seen.clear()
            negsamp.hard_negatives(Q, c, 3, n_threads=1, metric=metric)
            assert max(seen) == want, (b, d, c.dtype, metric)


@pytest.mark.parametrize("low", list(LOW))
def test_default_tiling_gives_the_float32_scores_bit_for_bit(low, monkeypatch):
    # Gaussian values (products not exact): same tiles, same roundings.
    monkeypatch.setattr(mining, "TILE_BYTES", 1 << 15)
    rng = np.random.default_rng(8)
    Q = rng.standard_normal((3, 48)).astype(LOW[low])
    C = rng.standard_normal((5000, 48)).astype(LOW[low])
    for metric in ("dot", "cosine"):
        want = negsamp.hard_negatives(Q.astype(np.float32), C.astype(np.float32), 20,
                                      metric=metric)
        assert_same(negsamp.hard_negatives(Q, C, 20, metric=metric), want)


@pytest.mark.parametrize("low", list(LOW))
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_low_precision_values_are_named(low, bad):
    rng = np.random.default_rng(7)
    Q = rng.standard_normal((5, 8)).astype(LOW[low])
    C = rng.standard_normal((900, 8)).astype(LOW[low])
    Cb = C.copy()
    Cb[613, 2] = bad
    for options in ({}, {"metric": "cosine"}, {"temperature": 1.0}):
        with pytest.raises(ValueError, match=r"candidates must be finite.*row 613, column 2"):
            negsamp.hard_negatives(Q, Cb, 4, block_size=200, **options)
    Qb = Q.copy()
    Qb[3, 7] = bad
    with pytest.raises(ValueError, match=r"queries must be finite.*row 3, column 7"):
        negsamp.hard_negatives(Qb, C, 4)


def test_float16_overflow_to_infinity_is_reported_as_a_row():
    # 70000 is beyond float16 (inf once stored): named as the bad row.
    C = np.ones((50, 3), dtype=np.float32)
    C[31, 1] = 70000
    with np.errstate(over="ignore"):
        C16 = C.astype(np.float16)
    with pytest.raises(ValueError, match=r"candidates must be finite, got inf at row 31"):
        negsamp.hard_negatives(np.ones((2, 3), dtype=np.float16), C16, 3)


def test_other_void_dtypes_are_still_refused():
    C = np.zeros((10, 4), dtype="V2")
    with pytest.raises(TypeError, match="candidates"):
        negsamp.hard_negatives(np.ones((2, 4), dtype=np.float32), C, 3)


def test_importing_negsamp_does_not_import_ml_dtypes():
    code = ("import sys, numpy as np, negsamp; "
            "negsamp.hard_negatives(np.ones((2, 3), np.float16), np.ones((5, 3), np.float16), 2); "
            "assert 'ml_dtypes' not in sys.modules, 'ml_dtypes imported'")
    # Run where the tested negsamp is importable first (its parent directory:
    # site-packages for an install, the checkout for an in-place build), not
    # from the source tree the test may run in.
    home = os.path.dirname(os.path.dirname(os.path.abspath(negsamp.__file__)))
    env = dict(os.environ, PYTHONPATH=home)
    subprocess.run([sys.executable, "-c", code], check=True, cwd=home, env=env)


@pytest.mark.parametrize("low", list(LOW))
@pytest.mark.parametrize("kernel", ["amx", "vnni"])
def test_low_precision_int8_kernels_equal_scalar_float32_up_front(low, kernel, monkeypatch):
    # precision="int8" on a float16 / bfloat16 corpus (converted tile by
    # tile) with a SIMD kernel forced gives, bit for bit, the scalar
    # kernel's result on the float32 conversion made up front.
    from negsamp import _prefilter, _quant

    if kernel not in _quant.available_kernels():
        pytest.skip(f"the {kernel} kernel does not run here")
    rng = np.random.default_rng(9)
    Q = rng.standard_normal((37, 72)).astype(LOW[low])
    C = rng.standard_normal((2500, 72)).astype(LOW[low])
    exclude = random_exclusion(rng, 37, 2500)
    monkeypatch.setattr(_prefilter, "KERNEL", "scalar")
    want = negsamp.hard_negatives(Q.astype(np.float32), C.astype(np.float32), 10,
                                  exclude=exclude, precision="int8", block_size=300)
    monkeypatch.setattr(_prefilter, "KERNEL", kernel)
    for n_threads in (1, 2):
        got = negsamp.hard_negatives(Q, C, 10, exclude=exclude, precision="int8",
                                     block_size=300, n_threads=n_threads)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
