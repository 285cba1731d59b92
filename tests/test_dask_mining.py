"""negsamp.dask.hard_negatives: a dask.array corpus chunked by rows gives the
ids and scores of one local negsamp.hard_negatives call, for any chunking
(ties: the lower global id first, also across chunk borders)."""
from __future__ import annotations

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

import negsamp  # noqa: E402
from negsamp.dask import hard_negatives  # noqa: E402
from _mining_cases import assert_same, dyadic, random_exclusion  # noqa: E402

# Borders off the tiles of 16 (re-cut at multiples of 16) and on them (kept).
CHUNKINGS = [(600,), (100,) * 6, (1, 37, 262, 300), (599, 1), (7,) * 85 + (5,),
             (16, 144, 432, 8), (80, 320, 200)]


def _data(seed=0, n=600, d=8, b=17, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((b, d)).astype(dtype),
            rng.standard_normal((n, d)).astype(dtype))


def _both(Q, C, k, chunks, **options):
    # Tiles of 16 candidates (by default they would span the whole corpus).
    options.setdefault("block_size", 16)
    want = negsamp.hard_negatives(Q, C, k, **options)
    lazy = hard_negatives(Q, da.from_array(C, chunks=(chunks, -1)), k, **options)
    got = lazy.compute(scheduler="synchronous")
    return got, want


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("options", [
    {}, {"largest": False}, {"metric": "cosine"},
    {"exclude": "random"}, {"skip_top": 5}, {"skip_top": 250, "exclude": "random"},
    {"max_score": 1.0, "min_score": -2.0},
    {"positives": "random", "absolute_margin": 0.2},   # some queries have none
    {"positives": "random", "relative_margin": 0.1, "exclude": "random", "metric": "cosine"},
    {"positive_scores": "random", "absolute_margin": 0.0, "largest": False},
    {"n_threads": 2, "block_size": 16},
])
def test_equals_one_local_call(chunks, options):
    Q, C = _data(seed=len(chunks))
    rng = np.random.default_rng(1)
    options = dict(options)
    for name in ("exclude", "positives"):
        if options.get(name) == "random":
            options[name] = random_exclusion(rng, Q.shape[0], C.shape[0], max_len=4)
    if options.get("positive_scores") == "random":
        options["positive_scores"] = rng.standard_normal(Q.shape[0])
    got, want = _both(Q, C, 9, chunks, **options)
    assert got[0].dtype == np.int64 and got[1].dtype == np.float32
    assert_same(got, want)


@pytest.mark.parametrize("chunks", CHUNKINGS)
def test_ties_across_chunk_borders_rank_the_lower_global_id_first(chunks):
    # 100 distinct rows, each repeated 6 times, 100 apart: every tie spans
    # several chunks.
    rng = np.random.default_rng(2)
    base = dyadic(rng, (100, 4), scale=2, span=1)
    C = np.tile(base, (6, 1))
    Q = dyadic(rng, (12, 4), scale=2, span=1)
    for largest in (True, False):
        got, want = _both(Q, C, 40, chunks, largest=largest, skip_top=7)
        assert_same(got, want)
        ids, scores = got
        for r in range(12):
            for a, b, sa, sb in zip(ids[r], ids[r, 1:], scores[r], scores[r, 1:]):
                assert (sa > sb if largest else sa < sb) or (sa == sb and a < b)


@pytest.mark.parametrize("k, skip", [(1, 0), (600, 0), (700, 0), (5, 598), (5, 10**6)])
def test_windows_past_the_corpus_are_padded_as_locally(k, skip):
    Q, C = _data(seed=3)
    for chunks in ((600,), (250, 250, 100), (1,) * 600):
        got, want = _both(Q, C, k, chunks, skip_top=skip)
        assert_same(got, want)


@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
def test_other_dtypes(dtype):
    if dtype == "bfloat16":
        dtype = np.dtype(pytest.importorskip("ml_dtypes").bfloat16)
    Q, C = _data(seed=4, dtype=np.float32)
    C = C.astype(dtype)
    got, want = _both(Q, C, 6, (100,) * 6, metric="cosine")
    assert got[1].dtype == want[1].dtype
    assert_same(got, want)


def test_default_tiles_and_chunk_borders_on_them(monkeypatch):
    # The local default tile (negsamp.mining.default_block_size), made
    # small here: 256 candidates for 17 queries of 8 dimensions.
    from negsamp import dask as nd
    from negsamp import mining

    monkeypatch.setattr(mining, "TILE_BYTES", 1 << 10)
    assert mining.default_block_size(17, 8) == 256
    Q, C = _data(seed=9, n=2000)
    want = negsamp.hard_negatives(Q, C, 7, skip_top=2)
    for chunks in ((2000,), (300,) * 6 + (200,), (512, 1024, 464), (1999, 1)):
        lazy = hard_negatives(Q, da.from_array(C, chunks=(chunks, -1)), 7, skip_top=2)
        assert_same(lazy.compute(scheduler="synchronous"), want)
    aligned = da.from_array(C, chunks=((512, 1024, 464), (8,)))
    assert nd._tile_aligned(aligned, 256).chunks == aligned.chunks  # kept
    assert nd._tile_aligned(da.from_array(C, chunks=(300, 3)), 256).chunks == \
        ((256,) * 7 + (208,), (8,))


def test_queries_as_dask_array_and_column_chunks_and_few_merges():
    Q, C = _data(seed=5)
    want = negsamp.hard_negatives(Q, C, 8, block_size=50)
    corpus = da.from_array(C, chunks=(50, 3))  # also cut by columns: rechunked
    got = hard_negatives(da.from_array(Q, chunks=5), corpus, 8, split_every=2, block_size=50)
    assert_same(got.compute(scheduler="synchronous"), want)
    got = hard_negatives(Q, corpus, 8, split_every=100, block_size=50)
    assert_same(got.compute(scheduler="threads"), want)


def test_no_queries():
    Q, C = _data(seed=6)
    ids, scores = hard_negatives(Q[:0], da.from_array(C, chunks=100), 3).compute()
    assert ids.shape == scores.shape == (0, 3)
    assert ids.dtype == np.int64 and scores.dtype == np.float32


def test_non_finite_candidate_names_its_global_row():
    Q, C = _data(seed=7)
    C[437, 5] = np.nan
    lazy = hard_negatives(Q, da.from_array(C, chunks=100), 3, block_size=100)
    with pytest.raises(ValueError, match=r"candidates must be finite, got nan at row 437, "
                                         r"column 5"):
        lazy.compute(scheduler="synchronous")
    C[437, 5] = 1e30
    Q[:] = 1e30
    lazy = hard_negatives(Q, da.from_array(C, chunks=100), 3, block_size=50)
    with pytest.raises(ValueError, match=r"chunk of candidates 400\.\.499 .*overflow.*"
                                         r"\(candidates 0\.\.49\)"):
        lazy.compute(scheduler="synchronous")


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(k=0), ValueError, "k must be >= 1"),
    (dict(k=2.5), TypeError, "k must be an int"),
    (dict(temperature=0.5), ValueError, "temperature"),
    (dict(metric="l2"), ValueError, "metric"),
    (dict(largest=1), TypeError, "largest"),
    (dict(skip_top=-1), ValueError, "skip_top"),
    (dict(max_score=float("nan")), ValueError, "max_score"),
    (dict(absolute_margin=0.1), ValueError, "positive_scores or positives"),
    (dict(relative_margin=-1.0, positive_scores=np.zeros(17)), ValueError, "relative_margin"),
    (dict(positive_scores=np.zeros(3), absolute_margin=0.1), ValueError, "positive_scores"),
    (dict(positive_scores=np.zeros(17), positives=[[0]] * 17), ValueError, "not both"),
    (dict(exclude=[[0], [600]] + [[]] * 15), ValueError, "exclude"),
    (dict(positives=[[0]] * 16), ValueError, "positives"),
    (dict(n_threads=0), ValueError, "n_threads"),
    (dict(block_size=0), ValueError, "block_size"),
    (dict(split_every=1), ValueError, "split_every"),
])
def test_bad_arguments_raise_before_any_work(kwargs, exc, match):
    Q, C = _data()
    kwargs = dict(kwargs)
    k = kwargs.pop("k", 3)
    with pytest.raises(exc, match=match):
        hard_negatives(Q, da.from_array(C, chunks=100), k, **kwargs)


def test_bad_arrays():
    Q, C = _data()
    with pytest.raises(TypeError, match="candidates must be a dask.array"):
        hard_negatives(Q, C, 3)
    with pytest.raises(ValueError, match="candidates must be 2-D"):
        hard_negatives(Q, da.from_array(C[:, 0], chunks=100), 3)
    with pytest.raises(ValueError, match="same dimension"):
        hard_negatives(Q[:, :3], da.from_array(C, chunks=100), 3)
    with pytest.raises(ValueError, match="queries must be 2-D"):
        hard_negatives(Q[0], da.from_array(C, chunks=100), 3)
    with pytest.raises(ValueError, match="empty"):
        hard_negatives(Q, da.from_array(C[:0], chunks=100), 3)
    with pytest.raises(TypeError, match="candidates"):
        hard_negatives(Q, da.from_array(C > 0, chunks=100), 3)
    Qb = Q.copy()
    Qb[4, 1] = np.inf
    with pytest.raises(ValueError, match=r"queries must be finite.*row 4, column 1"):
        hard_negatives(Qb, da.from_array(C, chunks=100), 3)
    unknown = da.from_array(C, chunks=100)
    unknown = unknown[unknown[:, 0] > -10]  # chunk sizes unknown until computed
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        hard_negatives(Q, unknown, 3)


def test_on_a_local_cluster_of_two_processes():
    distributed = pytest.importorskip("distributed")
    Q, C = _data(seed=8, n=5000, d=16, b=40)
    rng = np.random.default_rng(9)
    C[4000:4010] = C[10:20]  # ties across chunks
    positives = random_exclusion(rng, 40, 5000, max_len=2)
    want = negsamp.hard_negatives(Q, C, 12, positives=positives, absolute_margin=0.1,
                                  skip_top=3, block_size=250)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        lazy = hard_negatives(Q, da.from_array(C, chunks=(700, -1)), 12,
                              positives=positives, absolute_margin=0.1, skip_top=3,
                              n_threads=1, block_size=250)
        got = client.compute(lazy).result()
    assert_same(got, want)
