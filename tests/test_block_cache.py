"""The process's cache of freed output blocks (negsamp/_negsamp_runtime.pyx,
csrc/ns_blocks.h), through the merges that use it: a freed merge output is
reused by the next merge, the cache never holds more than its limit, and no
result depends on it (cache on or off, in threads, in a fork child)."""
import multiprocessing
import sys

import numpy as np
import pytest

from negsamp import Reservoir, WeightedReservoir
from negsamp import _negsamp_runtime as runtime
from _helpers import assert_threads_match_serial

K = 1000


def _weighted(seed, k=K, n=3000, dtype=np.int64):
    gen = np.random.default_rng(seed)
    r = WeightedReservoir(k, rng=seed)
    r.update(np.arange(seed * n, (seed + 1) * n).astype(dtype), gen.standard_exponential(n))
    return r


def _uniform(seed, k=K, n=3000, dtype=np.int64):
    r = Reservoir(k, rng=seed)
    r.update(np.arange(seed * n, (seed + 1) * n).astype(dtype))
    return r


def _tree(rs):
    while len(rs) > 1:
        rs = [rs[i].merge(rs[i + 1]) if i + 1 < len(rs) else rs[i]
              for i in range(0, len(rs), 2)]
    return rs[0]


@pytest.fixture
def cache_limit():
    """Sets the cache's limit for one test, then restores the default."""
    def set_limit(limit):
        runtime._set_block_cache_limit(limit)
    yield set_limit
    runtime._set_block_cache_limit(runtime.BLOCK_CACHE_LIMIT)


def test_a_freed_merge_output_is_reused_by_the_next_merge(cache_limit):
    cache_limit(runtime.BLOCK_CACHE_LIMIT)  # empty, default limit
    a, b = _weighted(1), _weighted(2)
    m = a.merge(b)
    assert runtime._block_cache_held() == 0
    keys, items = m.keys, m.sample
    del m
    # the keys and the items of k = 1000: one block of 16 KiB (8000 bytes
    # each, the items from a 64-byte boundary)
    assert runtime._block_cache_held() == 16384
    again = a.merge(b)
    assert runtime._block_cache_held() == 0
    np.testing.assert_array_equal(again.keys, keys)
    np.testing.assert_array_equal(again.sample, items)
    u = _uniform(1).merge(_uniform(2))
    del u
    assert runtime._block_cache_held() == 8192


def test_a_merges_keys_and_items_share_one_block_until_both_go(cache_limit):
    cache_limit(runtime.BLOCK_CACHE_LIMIT)
    m = _weighted(1).merge(_weighted(2))
    keys, items = m._heap_keys, m._items
    assert keys.base is items.base
    # (malloc's 16-byte alignment; the items 64 bytes on from a boundary)
    assert keys.ctypes.data % 16 == 0
    assert (items.ctypes.data - keys.ctypes.data) % 64 == 0
    assert items.ctypes.data >= keys.ctypes.data + keys.nbytes
    want = items.copy()
    del m
    keys = None
    # the items still hold the block: nothing is handed back yet
    assert runtime._block_cache_held() == 0
    other = _weighted(3).merge(_weighted(4))
    assert not np.shares_memory(other._items, items)
    np.testing.assert_array_equal(items, want)
    items = None
    assert runtime._block_cache_held() == 16384
    del other


def test_live_outputs_never_share_a_block(cache_limit):
    cache_limit(runtime.BLOCK_CACHE_LIMIT)
    sides = [_weighted(s) for s in range(6)]
    kept = sides[0].merge(sides[1])
    before = (kept.keys, kept.sample)
    for i in range(20):
        tmp = sides[2 + i % 2].merge(sides[4 + i % 2])
        assert not np.shares_memory(tmp._heap_keys, kept._heap_keys)
        assert not np.shares_memory(tmp._items, kept._items)
        del tmp
    np.testing.assert_array_equal(kept.keys, before[0])
    np.testing.assert_array_equal(kept.sample, before[1])


def test_the_cache_never_holds_more_than_its_limit(cache_limit):
    cache_limit(3 * 16384)
    sides = [_weighted(s) for s in range(10)]
    merged = [sides[i].merge(sides[i + 1]) for i in range(0, 10, 2)]
    del merged
    assert runtime._block_cache_held() == 3 * 16384
    cache_limit(0)
    merged = [sides[i].merge(sides[i + 1]) for i in range(0, 8, 2)]
    del merged
    assert runtime._block_cache_held() == 0


DTYPES = [np.int64, np.int32, np.uint8, np.float32, "U7", "S3",
          np.dtype([("a", np.int32), ("b", np.float64)]), object]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_merges_do_not_depend_on_the_cache(cache_limit, dtype):
    def run():
        w = _tree([_weighted(s, k=300, n=700, dtype=dtype) for s in range(9)])
        u = _tree([_uniform(s, k=300, n=700, dtype=dtype) for s in range(9)])
        # and what comes after: an update of the merged reservoirs
        w.update(np.arange(50).astype(dtype), np.ones(50))
        u.update(np.arange(50).astype(dtype))
        return w.to_state_tuple(), u.to_state_tuple()

    cache_limit(0)
    off = run()
    cache_limit(runtime.BLOCK_CACHE_LIMIT)
    warm = run()
    on = run()  # on blocks the first run handed back
    assert on == off and warm == off


def test_merges_in_threads_match_serial():
    sides = [[_weighted(10 * t + s, k=200, n=500) for s in range(8)] for t in range(4)]

    def call(i):
        m = _tree(list(sides[i]))
        return m.keys, m.sample

    assert_threads_match_serial(call, 4, repeat=20)


def _merge_in_child(conn):
    m = _tree([_weighted(s, k=200, n=500) for s in range(8)])
    conn.send((m.keys, m.sample))
    conn.close()


@pytest.mark.skipif(sys.platform == "win32", reason="needs fork")
def test_a_fork_child_merges_on_blocks_the_parent_cached():
    m = _tree([_weighted(s, k=200, n=500) for s in range(8)])
    want = (m.keys, m.sample)
    del m
    assert runtime._block_cache_held() > 0
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_merge_in_child, args=(child,))
    proc.start()
    got = parent.recv()
    proc.join(60)
    assert proc.exitcode == 0
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
