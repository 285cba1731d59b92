"""The merge kernels (csrc/ns_reservoir.c): the weighted merge keeps exactly the
top k keys of the union (in no particular order: a merged reservoir builds its
heap only when something needs it), whatever the key distribution and whether
the sides are heaps or merged reservoirs; the heapify that makes it a heap; the
uniform merge takes a hypergeometric number of items from each side,
uniformly; items of every dtype are copied from the right slots."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from negsamp import Reservoir, WeightedReservoir
from _stats import chisquare_pvalue
from _reservoir_cases import ALPHA


def _weighted(k, n, seed, weights=None, start=0, dtype=np.int64):
    gen = np.random.default_rng(seed)
    w = gen.standard_exponential(n) if weights is None else weights(gen, n)
    res = WeightedReservoir(k, rng=seed)
    res.update(np.arange(start, start + n).astype(dtype), w)
    return res


def _is_min_heap(keys):
    return keys.shape[0] < 2 or bool((keys[(np.arange(1, keys.shape[0]) - 1) // 2]
                                      <= keys[1:]).all())


def _check_top_k(a, b, m):
    keys = np.concatenate([a.keys, b.keys])
    items = np.concatenate([a.sample, b.sample])
    top = np.sort(keys)[::-1][: min(a.k, keys.shape[0])]
    assert np.array_equal(np.sort(m.keys), np.sort(top))
    assert len(m) == top.shape[0] == m._size
    # each kept item carries its own key
    key_of = dict(zip(items.tolist(), keys.tolist()))
    assert all(key_of[item] == key for item, key in zip(m.sample.tolist(), m.keys.tolist()))
    # the merged keys are not made a heap: slots 0..m-1 (the shared view)
    assert m._is_heap == (m._size < 2)
    assert np.array_equal(m._heap_slots[: m._size], np.arange(m._size))


WEIGHT_LAWS = {
    "exp": lambda gen, n: gen.standard_exponential(n),
    "zipf": lambda gen, n: 1.0 / np.arange(1, n + 1) ** 1.1,
    "huge-range": lambda gen, n: np.where(gen.random(n) < 0.01, 1e300, gen.random(n) * 1e-300),
    "equal": lambda gen, n: np.ones(n),
    "some-zero": lambda gen, n: np.where(gen.random(n) < 0.7, 0.0, gen.random(n)),
}


@pytest.mark.parametrize("law", sorted(WEIGHT_LAWS))
@pytest.mark.parametrize("k, n1, n2", [(1, 5, 9), (7, 3, 2), (50, 200, 30), (300, 900, 1200),
                                       (1000, 2000, 2000), (64, 64, 0)])
def test_weighted_merge_is_exactly_the_top_k(law, k, n1, n2):
    a = _weighted(k, n1, 1, WEIGHT_LAWS[law])
    b = _weighted(k, n2, 2, WEIGHT_LAWS[law], start=n1)
    m = a.merge(b)
    _check_top_k(a, b, m)
    # merged reservoirs merged again
    c = _weighted(k, n1 + 7, 3, WEIGHT_LAWS[law], start=10**6)
    d = _weighted(k, n2 + 5, 4, WEIGHT_LAWS[law], start=2 * 10**6)
    mm = m.merge(c.merge(d))
    _check_top_k(m, c.merge(d), mm)


def test_weighted_merge_keeps_equal_keys_exactly():
    # States restored with many equal keys (the rounding guard can make
    # them): the merge must stay exact, ties across the boundary included,
    # and its serialised state is a valid heap.
    k = 40
    a, b = _weighted(k, 100, 5), _weighted(k, 100, 6, start=100)
    for res in (a, b):
        res._heap_keys[: res._size] = np.repeat([1.0, 2.0], k // 2)
    m = a.merge(b)
    assert sorted(m.keys.tolist()) == [2.0] * k
    # 3 * k / 4 keys of 3.0, k / 2 of 2.0: the boundary splits the 2.0s
    for res, keys in ((a, [1.0, 1.0, 2.0, 3.0]), (b, [2.0, 3.0, 1.0, 3.0])):
        res._heap_keys[: res._size] = np.sort(np.repeat(keys, k // 4))
    m = a.merge(b)
    _check_top_k(a, b, m)
    assert sorted(m.keys.tolist()) == [2.0] * (k // 4) + [3.0] * (3 * k // 4)
    # the same inputs, the same choice among the tied keys
    assert np.array_equal(a.merge(b).sample, m.sample)
    again = WeightedReservoir.from_bytes(m.to_bytes())
    assert m._is_heap and _is_min_heap(m._heap_keys[: m._size])
    assert _is_min_heap(again._heap_keys[: again._size])


def test_weighted_merged_reservoir_continues_exactly_like_its_copy():
    import pickle

    a, b = _weighted(20, 500, 7), _weighted(20, 300, 8, start=500)
    m = a.merge(b)
    twin = pickle.loads(pickle.dumps(m))
    more = np.random.default_rng(9).standard_exponential(5000)
    m.update(np.arange(10**4, 10**4 + 5000), more)
    twin.update(np.arange(10**4, 10**4 + 5000), more)
    assert m == twin
    assert _is_min_heap(m._heap_keys[: m._size])


def test_a_merged_reservoirs_first_update_builds_its_heap_and_the_copys_future():
    # m is never serialised: its own update makes the heap; twin comes from
    # the bytes of the same merge (merges are deterministic).
    a, b = _weighted(50, 400, 11), _weighted(50, 900, 12, start=400)
    m, same = a.merge(b), a.merge(b)
    assert not m._is_heap and not same._is_heap
    assert not _is_min_heap(m._heap_keys[: m._size])  # (true of these seeds)
    twin = WeightedReservoir.from_bytes(same.to_bytes())
    assert same._is_heap and twin._is_heap and not m._is_heap
    gen = np.random.default_rng(13)
    for start in (10**5, 2 * 10**5):
        more = gen.standard_exponential(3000)
        m.update(np.arange(start, start + 3000), more)
        twin.update(np.arange(start, start + 3000), more)
        assert m._is_heap
        assert m == twin and np.array_equal(m.sample, twin.sample)
        assert np.array_equal(m.keys, twin.keys)
        assert _is_min_heap(m._heap_keys[: m._size])
    # the shared slot view was copied, never written
    assert np.array_equal(same.merge(b)._heap_slots, np.arange(50))


def test_a_merged_reservoir_updated_with_an_empty_chunk_or_failing_stays_sound():
    a, b = _weighted(30, 200, 14), _weighted(30, 300, 15, start=200)
    m, ref = a.merge(b), a.merge(b)
    m.update(np.arange(0), np.ones(0))
    with pytest.raises(ValueError, match="finite"):
        m.update(np.arange(5), [1.0, 1.0, np.nan, 1.0, 1.0])
    assert m == ref and np.array_equal(np.sort(m.keys), np.sort(ref.keys))
    m.update(np.arange(10**4, 10**4 + 50), np.ones(50))
    ref.update(np.arange(10**4, 10**4 + 50), np.ones(50))
    assert m == ref


def test_a_tree_of_merges_never_builds_a_heap():
    k = 64
    leaves = [_weighted(k, 150, 20 + i, start=1000 * i) for i in range(8)]
    level = leaves
    inner = []
    while len(level) > 1:
        level = [level[i].merge(level[i + 1]) for i in range(0, len(level), 2)]
        inner += level
    for r in inner:
        assert not r._is_heap
        assert not r._heap_slots.flags.writeable  # still the shared view
        assert r._heap_slots is inner[0]._heap_slots
    keys = np.concatenate([r.keys for r in leaves])
    assert np.array_equal(np.sort(level[0].keys), np.sort(keys)[-k:])
    # reading the sample and keys does not build one either
    assert level[0].sample.shape == (k,) and not level[0]._is_heap


_HEAPIFY_KEYS = st.one_of(
    st.lists(st.floats(-700, 700), max_size=300),
    st.lists(st.sampled_from([-1.0, 0.0, 0.5, 2.0]), max_size=300),  # ties
)


@settings(max_examples=120, deadline=None)
@given(_HEAPIFY_KEYS, st.integers(0, 2**32 - 1))
def test_heapify_makes_a_min_heap_of_the_same_pairs(keys, seed):
    from negsamp import _reservoir

    keys = np.array(keys, dtype=np.float64)
    n = keys.shape[0]
    slots = np.random.default_rng(seed).permutation(n).astype(np.int64)
    hk, hs = keys.copy(), slots.copy()
    _reservoir.weighted_heapify(hk, hs, n)
    assert _is_min_heap(hk)
    assert sorted(zip(hk.tolist(), hs.tolist())) == sorted(zip(keys.tolist(), slots.tolist()))
    # deterministic
    hk2, hs2 = keys.copy(), slots.copy()
    _reservoir.weighted_heapify(hk2, hs2, n)
    assert np.array_equal(hk, hk2) and np.array_equal(hs, hs2)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_heapify_of_tiny_and_prefix_arrays(n):
    from negsamp import _reservoir

    keys = np.array([3.0, 1.0, 2.0, 0.0, -5.0])
    slots = np.arange(5, dtype=np.int64)
    _reservoir.weighted_heapify(keys, slots, n)
    assert _is_min_heap(keys[:n])
    assert np.array_equal(keys[n:], np.array([3.0, 1.0, 2.0, 0.0, -5.0])[n:])  # untouched
    assert all(keys[j] == [3.0, 1.0, 2.0, 0.0, -5.0][slots[j]] for j in range(5))
    with pytest.raises(ValueError, match="at least n entries"):
        _reservoir.weighted_heapify(keys, slots, 6)


def _side(draw, k, ties):
    size = draw(st.integers(0, k))
    values = st.sampled_from([-3.0, 0.0, 0.25, 7.0]) if ties else st.floats(-700, 700)
    keys = np.array(draw(st.lists(values, min_size=size, max_size=size)), dtype=np.float64)
    perm = draw(st.permutations(range(size)))
    return keys, np.array(perm, dtype=np.int64).reshape(size)


@st.composite
def _merge_inputs(draw):
    k = draw(st.integers(1, 80))
    ties = draw(st.booleans())
    return k, _side(draw, k, ties), _side(draw, k, ties)


@settings(max_examples=200, deadline=None)
@given(_merge_inputs())
def test_weighted_merge_kernel_is_the_numpy_top_k(inputs):
    # sides in any order (heaps or not), sizes 0..k, ties: the kernel keeps
    # exactly np.sort(union)[-m:], each key with its own item
    from negsamp import _reservoir

    k, (keys1, slots1), (keys2, slots2) = inputs
    s1, s2 = keys1.shape[0], keys2.shape[0]
    # item of slot s of side 1: s; of side 2: 1000 + s
    items1 = np.arange(s1, dtype=np.int64)
    items2 = np.arange(1000, 1000 + s2, dtype=np.int64)
    state = _reservoir.seed_state(1, 2)
    _, out_keys, items, _, m = _reservoir.weighted_merge(
        (3, 4), state, state, 10, 10, k, np.dtype(np.int64),
        keys1, slots1, s1, items1 if s1 else None, keys2, slots2, s2, items2 if s2 else None)
    union = np.concatenate([keys1, keys2])
    assert m == min(k, s1 + s2) == out_keys.shape[0] == items.shape[0]
    assert np.array_equal(np.sort(out_keys), np.sort(union)[union.shape[0] - m:])
    key_of = {int(items1[s]): float(x) for x, s in zip(keys1, slots1)}
    key_of.update({int(items2[s]): float(x) for x, s in zip(keys2, slots2)})
    assert len(set(items.tolist())) == m
    assert all(key_of[int(i)] == float(x) for i, x in zip(items, out_keys))
    # object items (copied in Python from the sources) agree
    _, ok2, oitems, _, _ = _reservoir.weighted_merge(
        (3, 4), state, state, 10, 10, k, np.dtype(object),
        keys1, slots1, s1, items1.astype(object) if s1 else None,
        keys2, slots2, s2, items2.astype(object) if s2 else None)
    assert np.array_equal(ok2, out_keys) and oitems.tolist() == items.tolist()
    # slots None: position i holds slot i (a merged reservoir's), as arange
    ident1 = np.arange(s1, dtype=np.int64)
    want = _reservoir.weighted_merge(
        (3, 4), state, state, 10, 10, k, np.dtype(np.int64),
        keys1, ident1, s1, items1 if s1 else None, keys2, slots2, s2, items2 if s2 else None)
    got = _reservoir.weighted_merge(
        (3, 4), state, state, 10, 10, k, np.dtype(np.int64),
        keys1, None, s1, items1 if s1 else None, keys2, slots2, s2, items2 if s2 else None)
    assert all(np.array_equal(x, y) for x, y in zip(want, got))


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.float32, np.int64, np.complex128,
                                   np.dtype("S3"), np.dtype("U5"),
                                   np.dtype([("x", "<f4"), ("tag", "S3")]), object])
@pytest.mark.parametrize("weighted", [False, True])
def test_merged_items_of_every_dtype_come_from_their_slots(dtype, weighted):
    def items(start, n):
        base = np.arange(start, start + n)
        if dtype is object:
            return np.array([("item", int(i)) for i in base] + [None], dtype=object)[:-1]
        dt = np.dtype(dtype)
        if dt.names:
            out = np.zeros(n, dtype=dt)
            out["x"] = base
            out["tag"] = [str(i % 1000).encode() for i in base]
            return out
        if dt.kind in "SU":
            return np.array([str(i) for i in base], dtype=dt)
        return base.astype(dt)

    def ident(x):
        if dtype is object:
            return x[1]
        if np.dtype(dtype).names:
            return int(x["x"])
        if np.dtype(dtype).kind in "SU":
            return int(x)
        return int(np.real(x))

    k = 9
    gen = np.random.default_rng(0)
    a_items, b_items = items(0, 60), items(60, 50)
    if weighted:
        a, b = WeightedReservoir(k, rng=1), WeightedReservoir(k, rng=2)
        a.update(a_items, gen.random(60))
        b.update(b_items, gen.random(50))
    else:
        a, b = Reservoir(k, rng=1), Reservoir(k, rng=2)
        a.update(a_items)
        b.update(b_items)
    m = a.merge(b)
    assert m.sample.dtype == a.sample.dtype
    held = {ident(x) for x in a.sample} | {ident(x) for x in b.sample}
    got = [ident(x) for x in m.sample]
    assert len(got) == k and len(set(got)) == k and set(got) <= held
    if weighted:
        key_of = {ident(x): key for res in (a, b) for x, key in zip(res.sample, res.keys)}
        assert all(key_of[ident(x)] == key for x, key in zip(m.sample, m.keys))


@pytest.mark.slow
@pytest.mark.parametrize("n1, n2", [(1000, 1000), (3000, 500), (40, 5000), (30, 30)])
def test_uniform_merge_composition_is_hypergeometric(n1, n2):
    # x = items taken from side 1: Hypergeometric(n1 + n2, n1, k); within a
    # side every held item equally likely.
    k, trials = 25, 4000
    a = Reservoir(k, rng=1)
    a.update(np.arange(n1))
    b = Reservoir(k, rng=2)
    b.update(np.arange(n1, n1 + n2))
    xs = np.empty(trials, dtype=np.int64)
    picked = np.zeros(k)
    a_items = a.sample.tolist()
    for t in range(trials):
        s = a.merge(b, rng=t).sample
        xs[t] = int((s < n1).sum())
        picked += np.isin(np.array(a_items), s)
    support = np.arange(k + 1)
    observed = np.bincount(xs, minlength=k + 1)
    assert chisquare_pvalue(observed, stats.hypergeom(n1 + n2, n1, k).pmf(support)) > ALPHA
    if n1 + n2 < 20 * k:
        # a binomial split (the usual approximation) is rejected where it differs
        assert chisquare_pvalue(observed, stats.binom(k, n1 / (n1 + n2)).pmf(support)) < ALPHA
    assert chisquare_pvalue(picked, np.full(k, 1 / k)) > ALPHA


# -- the merge calls: a key given, or derived from both states ---------------
def _uniform(k, n, seed, start=0):
    res = Reservoir(k, rng=seed)
    res.update(np.arange(start, start + n))
    return res


def _same(xs, ys):
    return len(xs) == len(ys) and all(np.array_equal(x, y) for x, y in zip(xs, ys))


@pytest.mark.parametrize("n1, n2", [(500, 70), (5, 9), (30, 0)])
def test_merge_calls_derive_the_key_from_both_states_only_without_one(n1, n2):
    from negsamp import _reservoir

    k = 30
    a, b = _uniform(k, n1, 1), _uniform(k, n2, 2, start=n1)
    key = _reservoir.derive_key(a._state, b._state, a.count, b.count, k)
    # with a key the states are not read: any valid ones give the same
    other = _reservoir.seed_state(5, 6)
    derived = _reservoir.uniform_merge(None, a._state, b._state, k, a.count, b.count,
                                       a.dtype, a._items, b._items)
    given = _reservoir.uniform_merge(key, other, other, k, a.count, b.count, a.dtype,
                                     a._items, b._items)
    assert _same(derived, given)
    # swapping the sides changes the derived key (counts and states are
    # absorbed in order), so the call did read them
    swapped = _reservoir.uniform_merge(None, b._state, a._state, k, a.count, b.count,
                                       a.dtype, a._items, b._items)
    assert not np.array_equal(swapped[0], derived[0])
    m = a.merge(b)
    assert _same((m._state, m.sample, m._w, m._next), derived)

    wa, wb = _weighted(k, n1, 3), _weighted(k, n2, 4, start=n1)
    wkey = _reservoir.derive_key(wa._state, wb._state, wa.count, wb.count, k)
    args = (k, wa.dtype, wa._heap_keys, wa._heap_slots, wa._size, wa._items,
            wb._heap_keys, wb._heap_slots, wb._size, wb._items)
    wderived = _reservoir.weighted_merge(None, wa._state, wb._state, wa.count, wb.count, *args)
    wgiven = _reservoir.weighted_merge(wkey, other, other, wa.count, wb.count, *args)
    assert _same(wderived, wgiven)
    assert wderived[4] == min(k, wa._size + wb._size) == wderived[1].shape[0]
    wm = wa.merge(wb)
    assert _same((wm._state, wm._heap_keys, wm._items, wm._remaining, wm._size), wderived)
    # a key drawn from rng= is the key of the call
    from negsamp._rng import draw_key

    assert _same(_reservoir.uniform_merge(draw_key(11), other, other, k, a.count, b.count,
                                          a.dtype, a._items, b._items, True),
                 (lambda r: (r._state, r.sample, r._w, r._next))(a.merge(b, rng=11)))


def test_merge_calls_check_the_states_they_derive_from():
    from negsamp import _reservoir

    a, b = _uniform(4, 50, 1), _uniform(4, 50, 2)
    with pytest.raises(ValueError, match="all zeros"):
        _reservoir.uniform_merge(None, np.zeros(4, np.uint64), b._state, 4, 50, 50, a.dtype,
                                 a._items, b._items)
    with pytest.raises(ValueError, match="4 words"):
        _reservoir.weighted_merge(None, a._state, np.ones(3, np.uint64), 0, 0, 4,
                                  np.dtype(np.int64), None, None, 0, None, None, None, 0, None)


def test_merged_heaps_share_cached_read_only_slot_views():
    from negsamp import reservoir as reservoir_module

    k = 16
    merged = [_weighted(k, n, 2 * i).merge(_weighted(k, n + 3, 2 * i + 1, start=1000))
              for i, n in enumerate((2, 3, 40, 41))]
    for m in merged:
        slots = m._heap_slots
        assert not slots.flags.writeable
        assert np.array_equal(slots, np.arange(m._size))
    # full heaps of one k share one view
    assert merged[2]._size == merged[3]._size == k
    assert merged[2]._heap_slots is merged[3]._heap_slots
    # the cache stays bounded, and views of sizes beyond it are still right
    cap = reservoir_module._SLOT_VIEWS_MAX
    for n in range(1, 2 * cap):
        assert np.array_equal(reservoir_module._first_slots(n), np.arange(n))
    assert len(reservoir_module._SLOT_VIEWS) <= cap
    # a merged reservoir writes its own buffers, never the shared slots
    m = merged[3]
    m.update(np.arange(5000, 5100), np.ones(100))
    assert m._heap_slots is not merged[2]._heap_slots
    assert np.array_equal(merged[2]._heap_slots, np.arange(k))


# -- the picks: a side's first items (derived key) or fresh ones (rng given) --
@pytest.mark.parametrize("k, n1, n2", [(7, 500, 90), (20, 11, 300), (20, 300, 11),
                                       (16, 10, 6), (16, 9, 6), (1, 5, 8)])
def test_uniform_merge_with_a_derived_key_matches_the_reference(k, n1, n2):
    import _reference as R
    from negsamp import _reservoir

    a, b = Reservoir(k, rng=31), Reservoir(k, rng=32)
    a.update(np.arange(n1))
    b.update(np.arange(n1, n1 + n2))
    ref_a = R.reference_algorithm_l(range(n1), k, 31)
    ref_b = R.reference_algorithm_l(range(n1, n1 + n2), k, 32)
    assert a.sample.tolist() == ref_a and b.sample.tolist() == ref_b
    key = _reservoir.derive_key(a._state, b._state, n1, n2, k)
    expected = R.reference_uniform_merge(key, k, n1, ref_a, n2, ref_b, fresh=False)
    assert a.merge(b).sample.tolist() == expected
    # rng given: fresh picks from both sides
    fresh = R.reference_uniform_merge(R.draw_key(5), k, n1, ref_a, n2, ref_b, fresh=True)
    assert a.merge(b, rng=5).sample.tolist() == fresh


@pytest.mark.slow
@pytest.mark.parametrize("n1, n2", [(60, 40), (10, 90), (7, 5)])
def test_uniform_merge_with_a_derived_key_is_a_uniform_subset_in_random_order(n1, n2):
    # Over the reservoirs' own randomness (a new pair each trial, rng=None):
    # every item of the union equally likely, and equally likely in the
    # first slot (the merged order is exchangeable, so a later merge may
    # take its first items).  A reservoir whose fill is not shuffled keeps
    # its first items in its first slots, and fails this.
    k, trials = 10, 4000
    n = n1 + n2
    m = min(k, n)
    kept = np.zeros(n)
    first = np.zeros(n)
    for t in range(trials):
        a, b = Reservoir(k, rng=2 * t), Reservoir(k, rng=2 * t + 1)
        a.update(np.arange(n1))
        b.update(np.arange(n1, n))
        s = a.merge(b).sample
        assert len(s) == m and len(set(s.tolist())) == m
        kept[s] += 1
        first[s[0]] += 1
    assert chisquare_pvalue(kept, np.full(n, 1 / n)) > ALPHA
    assert chisquare_pvalue(first, np.full(n, 1 / n)) > ALPHA
