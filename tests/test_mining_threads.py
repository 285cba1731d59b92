"""hard_negatives on several threads: results independent of n_threads, corpus
shards and tile assignment; BLAS threads restored; concurrent Python threads."""
from __future__ import annotations

import numpy as np
import pytest

import negsamp
from negsamp import _topk, mining
from _helpers import run_in_threads
from _mining_cases import assert_same, dyadic, mask_of, random_exclusion, ref_select


# --------------------------------------------------------------------------
# threads

def test_n_threads_identical_exact():
    rng = np.random.default_rng(14)
    Q, C = dyadic(rng, (300, 8)), dyadic(rng, (2000, 8))
    exclude = random_exclusion(rng, 300, 2000)
    a = negsamp.hard_negatives(Q, C, 10, exclude=exclude, n_threads=1)
    b = negsamp.hard_negatives(Q, C, 10, exclude=exclude, n_threads=2)
    assert_same(a, b)
    S = Q @ C.T
    # k + skip_top > 256: the merge is split between threads
    want = ref_select(S, 280, eligible=mask_of(exclude, 300, 2000), skip=5)
    for n_threads in (1, 2, 3):
        assert_same(negsamp.hard_negatives(Q, C, 280, exclude=exclude, skip_top=5,
                                           n_threads=n_threads, block_size=500), want)
    assert_same(negsamp.topk(S, 10, exclude=exclude, n_threads=1),
                negsamp.topk(S, 10, exclude=exclude, n_threads=2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("largest", [True, False])
def test_corpus_shards_match_one_scan(dtype, largest, monkeypatch):
    # n_threads > 1: tiles are claimed one at a time by the caller and
    # helper threads (single-threaded BLAS), then the per-thread lists are
    # merged.  Same result as one scan, ties, skip_top, windows and padding
    # included; also when BLAS cannot be limited (one scan then).
    rng = np.random.default_rng(32)
    Q, C = dyadic(rng, (70, 8)).astype(dtype), dyadic(rng, (1500, 8)).astype(dtype)
    S = Q @ C.T
    exclude = random_exclusion(rng, 70, 1500, 40)
    window = dict(max_score=float(np.quantile(S, 0.9)), min_score=float(np.quantile(S, 0.2)))
    calls = []
    real = _topk.merge_lists
    monkeypatch.setattr(_topk, "merge_lists",
                        lambda *a, **kw: calls.append(1) or real(*a, **kw))
    for kw in ({}, {"skip_top": 3}, window, {"k": 1400}):
        kw = dict(kw)
        k = kw.pop("k", 9)
        eligible = mask_of(exclude, 70, 1500)
        if "max_score" in kw:
            eligible &= (S <= kw["max_score"]) & (S >= kw["min_score"])
        want = ref_select(S, k, largest=largest, eligible=eligible, skip=kw.get("skip_top", 0))
        for n_threads, block_size in ((2, 100), (3, 256), (2, 1499), (4, 700)):
            n_calls = len(calls)
            got = negsamp.hard_negatives(Q, C, k, exclude=exclude, largest=largest,
                                         n_threads=n_threads, block_size=block_size, **kw)
            assert len(calls) == n_calls + 1, "the sharded path did not run"
            assert_same(got, want)
    monkeypatch.setattr(mining, "_blas_one_thread", lambda: None)
    assert_same(negsamp.hard_negatives(Q, C, 9, exclude=exclude, largest=largest,
                                       n_threads=2, block_size=100),
                ref_select(S, 9, largest=largest, eligible=mask_of(exclude, 70, 1500)))


@pytest.mark.parametrize("policy", ["alternate", "halves_swapped", "one_takes_all"])
def test_tile_assignment_does_not_change_the_result(policy, monkeypatch):
    # Which thread gets which tile depends on the scheduler.  Force
    # assignments a sequential scan never produces (every other tile; the
    # later half to the first thread; all tiles to one thread) and check the
    # exact result (ties by lower id, skip_top, windows).  As with the real
    # queue (one increasing counter), each thread's tiles are increasing.
    import threading

    rng = np.random.default_rng(35)
    Q, C = dyadic(rng, (40, 6)).astype(np.float32), dyadic(rng, (1200, 6)).astype(np.float32)
    S = Q.astype(np.float64) @ C.T.astype(np.float64)
    exclude = random_exclusion(rng, 40, 1200, 30)

    class Assigned(mining._TileQueue):
        def __init__(self, n_tiles):
            super().__init__(n_tiles)
            half = n_tiles // 2
            if policy == "alternate":
                lists = [list(range(0, n_tiles, 2)), list(range(1, n_tiles, 2))]
            elif policy == "halves_swapped":
                lists = [list(range(half, n_tiles)), list(range(half))]
            else:
                lists = [list(range(n_tiles)), []]
            self.lists, self.slots = lists, {}

        def claim(self):
            with self.lock:
                slot = self.slots.setdefault(threading.get_ident(), len(self.slots))
                mine = self.lists[slot] if slot < 2 else []
                return mine.pop(0) if mine else None

    monkeypatch.setattr(mining, "_TileQueue", Assigned)
    for kw in ({}, {"skip_top": 2}, {"max_score": float(np.quantile(S, 0.8))}):
        eligible = mask_of(exclude, 40, 1200)
        if "max_score" in kw:
            eligible &= S <= kw["max_score"]
        for largest in (True, False):
            want = ref_select(S, 7, largest=largest, eligible=eligible, skip=kw.get("skip_top", 0))
            got = negsamp.hard_negatives(Q, C, 7, exclude=exclude, largest=largest,
                                         n_threads=2, block_size=64, **kw)
            assert_same(got, want)


def test_blas_threads_restored_after_shards():
    from threadpoolctl import threadpool_info

    before = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    rng = np.random.default_rng(33)
    Q, C = rng.standard_normal((20, 8)), rng.standard_normal((900, 8))
    negsamp.hard_negatives(Q, C, 5, n_threads=2, block_size=100)
    Cb = C.copy()
    Cb[850, 2] = np.nan
    with pytest.raises(ValueError, match="row 850"):
        negsamp.hard_negatives(Q, Cb, 5, n_threads=2, block_size=100)
    after = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert after == before
    # Overlapping calls from several Python threads: the last one out restores.
    run_in_threads(lambda i: [negsamp.hard_negatives(Q, C, 5, n_threads=2, block_size=100)
                              for _ in range(20)], 4)
    after = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert after == before


def test_concurrent_python_threads():
    rng = np.random.default_rng(15)
    Q, C = dyadic(rng, (64, 8)), dyadic(rng, (3000, 8))
    exclude = random_exclusion(rng, 64, 3000)
    want = negsamp.hard_negatives(Q, C, 10, exclude=exclude, temperature=0.5, rng=5)
    want_exact = ref_select(Q @ C.T, 10, eligible=mask_of(exclude, 64, 3000))
    results = []

    def work(i):
        for _ in range(3):
            results.append(("t", negsamp.hard_negatives(
                Q, C, 10, exclude=exclude, temperature=0.5, rng=5, n_threads=2,
                block_size=100 + i)))
            results.append(("e", negsamp.hard_negatives(Q, C, 10, exclude=exclude,
                                                        block_size=50 + i)))
            # errors raised in one thread stay in that thread
            try:
                negsamp.hard_negatives(Q, C[:, :3], 1)
            except ValueError:
                results.append(("err", None))

    run_in_threads(work, 4)
    assert len(results) == 4 * 3 * 3
    for kind, res in results:
        if kind == "t":
            assert_same(res, want)
        elif kind == "e":
            assert_same(res, want_exact)
