"""Tests of negsamp.Reservoir (Algorithm L) and negsamp.WeightedReservoir
(A-ExpJ): exact laws, chunking, merges, serialisation, bad input, threads.

Reservoirs are sequential by nature (one stream): there is no n_threads
argument, so the "1 vs 2 threads" check of other modules does not apply;
Python threads sharing one reservoir are tested instead.
"""
from __future__ import annotations

import itertools
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import negsamp
from negsamp import Reservoir, WeightedReservoir
from negsamp._common import _rng_stream_py
from negsamp._rng import draw_key
from negsamp.baselines import UniformKeysReservoir, WeightedKeysReservoir
from _helpers import assert_untouched, run_in_threads
from _stats import chisquare_pvalue, without_replacement_inclusion

ALPHA = 1e-4


# -- helpers -----------------------------------------------------------------
def feed(res, stream, chunks, weights=None):
    """Feeds `stream` in pieces of the sizes in `chunks` (cycled)."""
    pos, i = 0, 0
    while pos < len(stream):
        size = chunks[i % len(chunks)]
        i += 1
        if weights is None:
            res.update(stream[pos : pos + size])
        else:
            res.update(stream[pos : pos + size], weights[pos : pos + size])
        pos += size
    return res


def subset_counts(samples, n, k):
    """Counts of each k-subset of range(n) among `samples` (lists)."""
    index = {c: i for i, c in enumerate(itertools.combinations(range(n), k))}
    counts = np.zeros(len(index))
    for s in samples:
        counts[index[tuple(sorted(int(x) for x in s))]] += 1
    return counts


def inclusion_counts(samples, n):
    counts = np.zeros(n)
    for s in samples:
        counts[np.asarray(s, dtype=np.int64)] += 1
    return counts


# -- a slow pure-Python Algorithm L on the same xoshiro256++ stream ------------
class _PyStream:
    def __init__(self, k0, k1):
        self.words = iter(_rng_stream_py(k0, k1, 0, 200_000, "raw").tolist())

    def next(self):
        return next(self.words)

    def open0(self):
        return ((self.next() >> 11) + 1) * (1.0 / 9007199254740992.0)

    def bounded(self, n):
        m = self.next() * n
        lo, hi = m & (2**64 - 1), m >> 64
        if lo < n:
            threshold = (2**64 - n) % n
            while lo < threshold:
                m = self.next() * n
                lo, hi = m & (2**64 - 1), m >> 64
        return hi


def reference_algorithm_l(stream, k, seed):
    """Li 1994, Algorithm L, item by item, in pure Python."""
    rs = _PyStream(*draw_key(seed))
    out = []
    w, nxt = 1.0, None
    for pos, item in enumerate(stream):
        if pos < k:
            out.append(item)
            if pos == k - 1:
                w = math.exp(math.log(rs.open0()) / k)
                nxt = pos + 1 + math.floor(math.log(rs.open0()) / math.log1p(-w))
        elif pos == nxt:
            out[rs.bounded(k)] = item
            w = w * math.exp(math.log(rs.open0()) / k)
            nxt = pos + 1 + math.floor(math.log(rs.open0()) / math.log1p(-w))
    return out


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 400),
    k=st.integers(1, 30),
    chunks=st.lists(st.integers(1, 90), min_size=1, max_size=6),
    seed=st.integers(0, 2**32),
)
def test_uniform_matches_pure_python_algorithm_l(n, k, chunks, seed):
    stream = np.arange(n, dtype=np.int64) * 3 + 1
    res = feed(Reservoir(k, rng=seed), stream, chunks)
    assert res.count == n
    assert res.sample.tolist() == reference_algorithm_l(stream.tolist(), k, seed)


@settings(max_examples=40, deadline=None)
@given(
    weights=st.lists(
        st.one_of(st.just(0.0), st.floats(1e-3, 1e3)), min_size=0, max_size=120
    ),
    k=st.integers(1, 12),
    chunks=st.lists(st.integers(1, 40), min_size=1, max_size=5),
    seed=st.integers(0, 2**32),
)
def test_weighted_invariants(weights, k, chunks, seed):
    w = np.array(weights, dtype=np.float64)
    stream = np.arange(w.shape[0], dtype=np.int64)
    res = feed(WeightedReservoir(k, rng=seed), stream, chunks, w)
    sample = res.sample
    positive = int((w > 0).sum())
    assert len(sample) == min(k, positive) == len(res)
    assert len(set(sample.tolist())) == len(sample)
    assert np.all(w[sample.astype(np.int64)] > 0)
    keys = res.keys
    assert keys.shape == sample.shape and np.isfinite(keys).all()
    assert res.count == w.shape[0]
    assert res.total_weight == pytest.approx(w.sum())
    # The kept keys are the top keys: every accepted key beats the threshold.
    if len(sample) == k:
        assert keys.min() == res._heap_keys[0]


# -- uniform laws -------------------------------------------------------------
@pytest.mark.parametrize("chunks", [[1], [3, 7], [1000]])
def test_uniform_subset_law_is_uniform_whatever_the_chunking(chunks):
    n, k, trials = 7, 3, 14_000
    stream = np.arange(n)
    samples = [feed(Reservoir(k, rng=s), stream, chunks).sample for s in range(trials)]
    counts = subset_counts(samples, n, k)
    probs = np.full(counts.shape[0], 1.0 / counts.shape[0])
    assert chisquare_pvalue(counts, probs) > ALPHA


def test_uniform_inclusion_probability_is_k_over_n_on_long_streams():
    # Long enough that almost all acceptances come from Algorithm L's jumps.
    n, k, trials = 3000, 4, 6000
    stream = np.arange(n)
    counts = np.zeros(n)
    for s in range(trials):
        counts[feed(Reservoir(k, rng=s), stream, [250]).sample] += 1
    # Items pooled in 30 groups of 100: each group holds k/n * 100 expected.
    grouped = counts.reshape(30, 100).sum(axis=1)
    assert grouped.sum() == trials * k
    assert chisquare_pvalue(grouped, np.full(30, 1 / 30)) > ALPHA
    # The test has power: a law with a 30% tilt towards late items fails.
    tilt = np.linspace(0.85, 1.15, 30)
    assert chisquare_pvalue(grouped, tilt / tilt.sum()) < ALPHA


def test_uniform_chi_square_over_many_seeds():
    n, k, trials = 40, 5, 8000
    stream = np.arange(n)
    counts = inclusion_counts(
        [feed(Reservoir(k, rng=1000 + s), stream, [6]).sample for s in range(trials)], n
    )
    assert chisquare_pvalue(counts, np.full(n, 1 / n)) > ALPHA
    # Expected k/N per item
    assert np.allclose(counts / trials, k / n, atol=0.02)


def test_uniform_fewer_than_k_keeps_everything_in_order():
    res = Reservoir(10, rng=0)
    res.update(np.array([5, 6, 7]))
    res.update([8, 9])
    assert res.sample.tolist() == [5, 6, 7, 8, 9]
    assert res.count == 5 and len(res) == 5


# -- uniform merge ------------------------------------------------------------
@pytest.mark.parametrize(
    "n1, n2",
    [(5, 3), (2, 6), (1, 1), (0, 7), (3, 0), (4, 4)],
)
def test_uniform_merge_has_the_law_of_one_reservoir(n1, n2):
    k, trials = 3, 8000
    n = n1 + n2
    a_stream, b_stream = np.arange(n1), np.arange(n1, n)
    samples = []
    for s in range(trials):
        a = feed(Reservoir(k, rng=s), a_stream, [2])
        b = feed(Reservoir(k, rng=10**6 + s), b_stream, [3])
        m = a.merge(b)
        assert m.count == n
        samples.append(m.sample)
    if n <= k:
        assert all(sorted(s.tolist()) == list(range(n)) for s in samples)
        return
    counts = subset_counts(samples, n, k)
    assert chisquare_pvalue(counts, np.full(counts.shape[0], 1 / counts.shape[0])) > ALPHA


@pytest.mark.parametrize("n1, n2", [(2, 1), (6, 1), (3, 20), (40, 40)])
def test_uniform_merge_then_continue_keeps_exact_inclusion(n1, n2):
    # After the merge, Algorithm L resumes from a threshold drawn from its
    # exact conditional law; feeding more items must keep P(kept) = k / n.
    k, more, trials = 3, 37, 8000
    n = n1 + n2 + more
    counts = np.zeros(n)
    for s in range(trials):
        a = feed(Reservoir(k, rng=s), np.arange(n1), [5])
        b = feed(Reservoir(k, rng=10**6 + s), np.arange(n1, n1 + n2), [5])
        m = a.merge(b)
        feed(m, np.arange(n1 + n2, n), [4])
        assert m.count == n
        counts[m.sample] += 1
    assert chisquare_pvalue(counts, np.full(n, 1 / n)) > ALPHA
    # Power check: a wrong threshold after the merge shifts mass between the
    # merged prefix and the tail; a 30% shift is detected.
    tilt = np.where(np.arange(n) < n1 + n2, 1.3, 1.0)
    assert chisquare_pvalue(counts, tilt / tilt.sum()) < ALPHA


def test_uniform_merge_tree_of_many_reservoirs():
    k, parts, size, trials = 2, 5, 3, 6000
    n = parts * size
    counts = np.zeros(n)
    for s in range(trials):
        rs = [feed(Reservoir(k, rng=np.random.SeedSequence([s, p])), np.arange(p * size, (p + 1) * size), [2])
              for p in range(parts)]
        while len(rs) > 1:
            rs = [rs[i].merge(rs[i + 1]) if i + 1 < len(rs) else rs[i]
                  for i in range(0, len(rs), 2)]
        counts[rs[0].sample] += 1
    assert chisquare_pvalue(counts, np.full(n, 1 / n)) > ALPHA


def test_uniform_merge_is_deterministic_and_leaves_inputs_alone():
    a = feed(Reservoir(4, rng=1), np.arange(100), [30])
    b = feed(Reservoir(4, rng=2), np.arange(100, 150), [30])
    before = (a.to_state_tuple(), b.to_state_tuple())
    m1, m2 = a.merge(b), a.merge(b)
    assert m1 == m2
    assert (a.to_state_tuple(), b.to_state_tuple()) == before
    assert a.merge(b, rng=5) == a.merge(b, rng=5)
    m1.update(np.arange(1000, 2000))
    m2.update(np.arange(1000, 2000))
    assert m1 == m2


def test_uniform_merge_errors():
    a = Reservoir(3, rng=0)
    a.update(np.arange(5))
    with pytest.raises(ValueError, match="different k"):
        a.merge(Reservoir(4))
    b = Reservoir(3)
    b.update(np.arange(5.0))
    with pytest.raises(TypeError, match="different dtypes"):
        a.merge(b)
    with pytest.raises(TypeError, match="Reservoir"):
        a.merge(WeightedReservoir(3))
    with pytest.raises(ValueError, match="itself"):
        a.merge(a)
    empty = Reservoir(3, rng=1)
    m = empty.merge(a)
    assert m.dtype == np.int64 and sorted(m.sample.tolist()) == sorted(a.sample.tolist())


# -- weighted laws ------------------------------------------------------------
W_SMALL = np.array([1.0, 2.0, 0.0, 3.0, 0.5, 4.0, 0.0, 1.5, 2.5])


@pytest.mark.parametrize("chunks", [[1], [2, 5], [100]])
def test_weighted_inclusion_matches_successive_draws(chunks):
    k, trials = 3, 12_000
    exact = without_replacement_inclusion(W_SMALL, k)
    stream = np.arange(W_SMALL.shape[0])
    counts = inclusion_counts(
        [feed(WeightedReservoir(k, rng=s), stream, chunks, W_SMALL).sample
         for s in range(trials)],
        W_SMALL.shape[0],
    )
    assert counts[W_SMALL == 0].sum() == 0
    p = chisquare_pvalue(counts, exact / exact.sum())
    assert p > ALPHA
    # Power: the first-order approximation k * w / sum(w) and the law of
    # squared weights are both rejected by the same counts.
    assert chisquare_pvalue(counts, W_SMALL / W_SMALL.sum()) < ALPHA
    wrong = without_replacement_inclusion(W_SMALL**2, k)
    assert chisquare_pvalue(counts, wrong / wrong.sum()) < ALPHA


def test_weighted_jumps_on_a_longer_stream_match_successive_draws():
    # k = 2 of 11 items: most acceptances come from exponential jumps.
    w = np.array([3.0, 1.0, 0.2, 2.0, 0.0, 5.0, 1.0, 0.7, 4.0, 1.3, 2.2])
    k, trials = 2, 15_000
    exact = without_replacement_inclusion(w, k)
    stream = np.arange(w.shape[0])
    counts = inclusion_counts(
        [feed(WeightedReservoir(k, rng=s), stream, [3], w).sample for s in range(trials)],
        w.shape[0],
    )
    assert chisquare_pvalue(counts, exact / exact.sum()) > ALPHA


@pytest.mark.parametrize("chunks", [[40], [13, 27], [9]])
def test_weighted_block_skipping_keeps_the_exact_law(chunks):
    # Chunks of >= 8 items after the fill phase go through the kernel's
    # block-of-8 skipping; the law must still be that of successive draws.
    gen = np.random.default_rng(5)
    w = gen.gamma(0.7, size=40)
    w[gen.random(40) < 0.2] = 0.0
    k, trials = 2, 10_000
    exact = without_replacement_inclusion(w, k)
    stream = np.arange(40)
    counts = inclusion_counts(
        [feed(WeightedReservoir(k, rng=s), stream, chunks, w).sample for s in range(trials)], 40)
    assert counts[w == 0].sum() == 0
    assert chisquare_pvalue(counts, exact / exact.sum()) > ALPHA


@pytest.mark.slow
def test_weighted_matches_numpy_baseline_on_zipf_stream():
    n, k, trials = 300, 10, 1500
    w = 1.0 / np.arange(1, n + 1) ** 0.8
    rng = np.random.default_rng(7)
    w = w[rng.permutation(n)]
    stream = np.arange(n)
    ours = inclusion_counts(
        [feed(WeightedReservoir(k, rng=s), stream, [64], w).sample for s in range(trials)], n)
    base = np.zeros(n)
    for s in range(trials):
        b = WeightedKeysReservoir(k, rng=10**7 + s)
        feed(b, stream, [64], w)
        base[b.sample] += 1
    # Pool items into 20 groups of equal baseline mass and compare.
    order = np.argsort(w)
    groups = np.array_split(order, 20)
    table = np.array([[ours[g].sum() for g in groups], [base[g].sum() for g in groups]])
    assert stats.chi2_contingency(table).pvalue > ALPHA


def test_weighted_zero_weights_never_kept():
    res = WeightedReservoir(5, rng=3)
    res.update(np.arange(10), np.zeros(10))
    assert len(res) == 0 and res.count == 10
    gen = np.random.default_rng(0)
    for start in range(10, 5000, 500):
        w = gen.random(500)
        w[gen.random(500) < 0.5] = 0.0
        items = np.arange(start, start + 500)
        res.update(items, w)
        zero_items = set(items[w == 0].tolist())
        assert not zero_items & set(res.sample.tolist())
    assert len(res) == 5
    small = WeightedReservoir(10, rng=0)
    small.update([1, 2, 3, 4], [0.0, 1.0, 0.0, 2.0])
    assert sorted(small.sample.tolist()) == [2, 4]


def test_weighted_tiny_and_huge_weights():
    res = WeightedReservoir(2, rng=0)
    res.update(np.arange(4), [1e-300, 1e300, 5e-324, 1.0])
    assert sorted(res.sample.tolist()) == [1, 3]
    assert np.isfinite(res.keys).all()


# -- weighted merge -----------------------------------------------------------
def test_weighted_merge_is_the_top_k_of_the_union():
    gen = np.random.default_rng(1)
    a = WeightedReservoir(6, rng=1)
    b = WeightedReservoir(6, rng=2)
    a.update(np.arange(50), gen.random(50))
    b.update(np.arange(50, 53), gen.random(3))
    m = a.merge(b)
    keys = np.concatenate([a.keys, b.keys])
    items = np.concatenate([a.sample, b.sample])
    top = np.argsort(keys)[-6:]
    assert sorted(m.sample.tolist()) == sorted(items[top].tolist())
    assert sorted(m.keys.tolist()) == sorted(keys[top].tolist())
    assert m.count == 53 and m.total_weight == pytest.approx(a.total_weight + b.total_weight)


@pytest.mark.parametrize("n1", [2, 5, 9])
def test_weighted_merge_then_continue_has_the_exact_law(n1):
    w = np.array([1.0, 2.0, 0.0, 3.0, 0.5, 4.0, 0.0, 1.5, 2.5, 1.0, 3.5])
    k, trials = 2, 12_000
    exact = without_replacement_inclusion(w, k)
    n = w.shape[0]
    cut2 = min(n1 + 1, n)
    counts = np.zeros(n)
    for s in range(trials):
        a = feed(WeightedReservoir(k, rng=s), np.arange(n1), [2], w[:n1])
        b = feed(WeightedReservoir(k, rng=10**6 + s), np.arange(n1, cut2), [2], w[n1:cut2])
        m = a.merge(b)
        feed(m, np.arange(cut2, n), [3], w[cut2:])
        counts[m.sample] += 1
    assert chisquare_pvalue(counts, exact / exact.sum()) > ALPHA


# -- serialisation ------------------------------------------------------------
def _uniform_states():
    yield Reservoir(4, rng=0)
    r = Reservoir(4, rng=1)
    r.update(np.arange(2))
    yield r
    r = Reservoir(4, rng=2)
    r.update(np.arange(1000))
    yield r


@pytest.mark.parametrize("idx", range(3))
def test_uniform_round_trips_continue_identically(idx):
    r = list(_uniform_states())[idx]
    copies = [pickle.loads(pickle.dumps(r)), Reservoir.from_bytes(r.to_bytes())]
    for c in copies:
        assert c == r
    for x in [r] + copies:
        x.update(np.arange(5000, 9000))
        x.update(np.arange(9000, 9100))
    for c in copies:
        assert c == r
        assert c.sample.tolist() == r.sample.tolist()


@pytest.mark.parametrize("size", [0, 2, 500])
def test_weighted_round_trips_continue_identically(size):
    gen = np.random.default_rng(size)
    r = WeightedReservoir(5, rng=size)
    if size:
        r.update(np.arange(size), gen.random(size))
    copies = [pickle.loads(pickle.dumps(r)), WeightedReservoir.from_bytes(r.to_bytes())]
    w = gen.random(3000)
    for x in [r] + copies:
        x.update(np.arange(10_000, 13_000), w)
    for c in copies:
        assert c == r
        assert c.sample.tolist() == r.sample.tolist()
        assert c.keys.tolist() == r.keys.tolist()


@pytest.mark.parametrize(
    "items",
    [
        np.array(["ab", "cde", "f", "gh"]),
        np.array([(1, 2.5), (3, 4.5), (5, 6.5), (7, 8.5)], dtype=[("a", "<i4"), ("b", "<f8")]),
        np.array([1.5, 2.5, 3.5, 4.5], dtype=np.float32),
        np.array([b"x", b"yy", b"zzz", b"w"]),
    ],
)
def test_any_fixed_size_dtype_serialises(items):
    for res in (Reservoir(2, rng=0), WeightedReservoir(2, rng=0)):
        if isinstance(res, Reservoir):
            res.update(items)
        else:
            res.update(items, np.ones(items.shape[0]))
        back = type(res).from_bytes(res.to_bytes())
        assert back.dtype == items.dtype
        assert back.sample.tobytes() == res.sample.tobytes()


def test_object_dtype_pickles_but_not_to_bytes():
    res = Reservoir(2, rng=0)
    res.update(np.array([{"a": 1}, "x", None, 3.5], dtype=object))
    back = pickle.loads(pickle.dumps(res))
    assert back.sample.tolist() == res.sample.tolist()
    with pytest.raises(TypeError, match="pickle"):
        res.to_bytes()


@pytest.mark.parametrize("cls", [Reservoir, WeightedReservoir])
def test_corrupted_or_truncated_bytes_raise_value_error(cls):
    res = cls(3, rng=0)
    if cls is Reservoir:
        res.update(np.arange(10))
    else:
        res.update(np.arange(10), np.arange(1.0, 11.0))
    data = res.to_bytes()
    for cut in range(len(data)):
        with pytest.raises(ValueError, match="data is (truncated|corrupted or truncated)"):
            cls.from_bytes(data[:cut])
    for pos in range(len(data)):
        bad = bytearray(data)
        bad[pos] ^= 0x41
        with pytest.raises(ValueError, match="^data (is|has)"):
            cls.from_bytes(bytes(bad))
    with pytest.raises(ValueError, match="CRC-32 mismatch"):
        cls.from_bytes(data + b"\x00")
    other = Reservoir if cls is WeightedReservoir else WeightedReservoir
    with pytest.raises(ValueError, match="magic"):
        other.from_bytes(data)
    with pytest.raises(TypeError, match="data must be bytes, got str"):
        cls.from_bytes("not bytes")


def test_inconsistent_state_is_rejected_even_with_a_valid_crc():
    res = WeightedReservoir(3, rng=0)
    res.update(np.arange(10), np.arange(1.0, 11.0))
    state = res.__getstate__()
    broken = dict(state, heap_keys=state["heap_keys"][::-1].copy())
    with pytest.raises(ValueError, match="min-heap"):
        WeightedReservoir.__new__(WeightedReservoir).__setstate__(broken)
    with pytest.raises(ValueError, match="permutation"):
        WeightedReservoir.__new__(WeightedReservoir).__setstate__(
            dict(state, heap_slots=np.array([0, 0, 1])))
    with pytest.raises(ValueError, match="all zeros"):
        WeightedReservoir.__new__(WeightedReservoir).__setstate__(
            dict(state, rng_state=np.zeros(4, np.uint64)))
    u = Reservoir(3, rng=0)
    u.update(np.arange(10))
    ustate = u.__getstate__()
    for bad, what in ((dict(ustate, w=0.0), "'w' must be > 0, got 0.0"),
                      (dict(ustate, next=3), "'next' must be >= count=10"),
                      (dict(ustate, k=0), "'k' must be in .*got 0"),
                      (dict(ustate, items=np.arange(2)), "'items' must be a 1-D array of 3"),
                      (dict(ustate, count=-1), "'count' must be in .*got -1"),
                      ("junk", "must be a dict")):
        with pytest.raises(ValueError, match=what):
            Reservoir.__new__(Reservoir).__setstate__(bad)


# -- bad input ----------------------------------------------------------------
@pytest.mark.parametrize("cls", [Reservoir, WeightedReservoir])
@pytest.mark.parametrize("k, exc", [(0, ValueError), (-3, ValueError), (1.5, TypeError),
                                    (True, TypeError), ("3", TypeError)])
def test_bad_k(cls, k, exc):
    with pytest.raises(exc, match="k"):
        cls(k)


def test_uniform_bad_input_leaves_the_reservoir_unchanged():
    res = Reservoir(3, rng=0)
    res.update(np.arange(10, dtype=np.int64))
    before = res.to_state_tuple()
    bad_inputs = [
        (np.arange(5.0), TypeError, "dtype"),
        (np.arange(5, dtype=np.int32), TypeError, "dtype"),
        (np.zeros((2, 2), dtype=np.int64), ValueError, "1-D"),
        ("abc", TypeError, "items"),
        (5, TypeError, "items"),
        (None, TypeError, "items"),
        ([1.5, 2.5], TypeError, "dtype"),
    ]
    for items, exc, match in bad_inputs:
        with pytest.raises(exc, match=match):
            res.update(items)
        assert res.to_state_tuple() == before
    res.update([1, 2, 3])  # a list of ints is cast to int64
    assert res.count == 13


def test_weighted_bad_input_leaves_the_reservoir_unchanged():
    res = WeightedReservoir(3, rng=0)
    res.update(np.arange(10), np.ones(10))
    before = res.to_state_tuple()
    items = np.arange(4)
    cases = [
        (items, np.array([1.0, np.nan, 1.0, 1.0]), ValueError, r"finite, got nan at index 1"),
        (items, np.array([1.0, 1.0, -2.0, 1.0]), ValueError, r"non-negative, got -2.0 at index 2"),
        (items, np.array([1.0, 1.0, 1.0, np.inf]), ValueError, r"finite, got inf at index 3"),
        (items, np.ones(3), ValueError, "length 3 but items has length 4"),
        (items, np.ones((2, 2)), ValueError, "1-D"),
        (items, np.array([True] * 4), TypeError, "weights"),
        (items, ["a", "b", "c", "d"], TypeError, "weights"),
        (np.arange(4.0), np.ones(4), TypeError, "dtype"),
    ]
    for it, w, exc, match in cases:
        w_copy = np.array(w, copy=True)
        with pytest.raises(exc, match=match):
            res.update(it, w)
        assert res.to_state_tuple() == before
        assert np.array_equal(np.asarray(w), w_copy, equal_nan=w_copy.dtype.kind == "f")
    res.update(np.array([1, 2]), [1, 2])  # integer weights are fine
    assert res.count == 12


def test_caller_arrays_are_not_modified():
    items = np.arange(100)
    weights = np.linspace(0, 1, 100)
    with assert_untouched(items, weights):
        r = Reservoir(5, rng=0)
        r.update(items)
        wr = WeightedReservoir(5, rng=0)
        wr.update(items, weights)
    s = r.sample
    s[:] = -1  # the sample is a copy
    assert -1 not in r.sample


def test_iterables_generators_and_empty_chunks():
    r = Reservoir(3, rng=0)
    r.update([])
    assert r.dtype is None and r.count == 0
    r.update(x for x in range(10))
    assert r.dtype == np.array([1]).dtype and r.count == 10
    r.update(range(10, 20))
    r.update(np.empty(0, dtype=r.dtype))
    assert r.count == 20
    w = WeightedReservoir(2, rng=0)
    w.update((i for i in range(3)), (x for x in [1.0, 2.0, 3.0]))
    assert w.count == 3


def test_strided_input_is_read_correctly():
    base = np.arange(200)
    r = Reservoir(1000, rng=0)
    r.update(base[::2])
    assert r.sample.tolist() == base[::2].tolist()
    w = WeightedReservoir(1000, rng=0)
    w.update(base[::2], np.ones(200)[::2])
    assert sorted(w.sample.tolist()) == base[::2].tolist()


def test_large_k_allocates_lazily():
    r = Reservoir(10**12, rng=0)
    r.update(np.arange(10))
    assert r.sample.tolist() == list(range(10))
    w = WeightedReservoir(10**12, rng=0)
    w.update(np.arange(10), np.ones(10))
    assert sorted(w.sample.tolist()) == list(range(10))


# -- golden values ------------------------------------------------------------
def test_golden_values():
    r = Reservoir(5, rng=12345)
    for start in range(0, 10**6, 10**5):
        r.update(np.arange(start, start + 10**5))
    assert r.sample.tolist() == GOLDEN_UNIFORM
    w = WeightedReservoir(4, rng=12345)
    weights = 1.0 / np.arange(1, 10**4 + 1)
    w.update(np.arange(10**4), weights)
    assert w.sample.tolist() == GOLDEN_WEIGHTED
    a = Reservoir(3, rng=1)
    a.update(np.arange(100))
    b = Reservoir(3, rng=2)
    b.update(np.arange(100, 120))
    assert a.merge(b).sample.tolist() == GOLDEN_MERGE


GOLDEN_UNIFORM = [662082, 755669, 157563, 553876, 273371]
GOLDEN_WEIGHTED = [0, 4199, 5, 4131]
GOLDEN_MERGE = [59, 112, 32]


# -- threads ------------------------------------------------------------------
def test_threads_sharing_one_reservoir():
    res = Reservoir(50, rng=0)
    wres = WeightedReservoir(50, rng=0)
    n_threads, chunks, size = 4, 60, 1000

    def work(t):
        for c in range(chunks):
            start = (t * chunks + c) * size
            items = np.arange(start, start + size)
            res.update(items)
            wres.update(items, np.ones(size))
            _ = res.sample, wres.sample, res.to_bytes()

    run_in_threads(work, n_threads)
    total = n_threads * chunks * size
    for r in (res, wres):
        assert r.count == total
        s = r.sample
        assert len(s) == 50 and len(set(s.tolist())) == 50
        assert s.min() >= 0 and s.max() < total
    assert wres.total_weight == total


def test_threads_merging_concurrently():
    a = Reservoir(10, rng=1)
    a.update(np.arange(1000))
    b = Reservoir(10, rng=2)
    b.update(np.arange(1000, 2000))
    expected = a.merge(b)
    results = []

    def work(_):
        for _ in range(50):
            results.append(a.merge(b))
            results.append(b.merge(a).count)

    run_in_threads(work, 4)
    assert all(r == expected for r in results if isinstance(r, Reservoir))


def test_public_api_exports():
    assert negsamp.Reservoir is Reservoir
    assert "WeightedReservoir" in negsamp.__all__
    assert "Reservoir" in repr(Reservoir(2)) and "WeightedReservoir" in repr(WeightedReservoir(2))


def test_baselines_have_the_right_uniform_law():
    n, k, trials = 6, 2, 6000
    samples = []
    for s in range(trials):
        b = UniformKeysReservoir(k, rng=s)
        feed(b, np.arange(n), [4])
        samples.append(b.sample)
    counts = subset_counts(samples, n, k)
    assert chisquare_pvalue(counts, np.full(counts.shape[0], 1 / counts.shape[0])) > ALPHA


@pytest.mark.parametrize("k, n", [(1, 1), (3, 3), (5, 40), (1000, 10**12)])
def test_merge_threshold_has_the_beta_law(k, n):
    # After a merge Algorithm L resumes with W ~ Beta(k, n - k + 1), the law
    # of the k-th smallest of n uniform keys.
    from negsamp import _reservoir

    draws = np.array([_reservoir.resume(i, 99, k, n) for i in range(6000)])
    w, nxt = draws[:, 0], draws[:, 1]
    assert stats.kstest(w, stats.beta(k, n - k + 1).cdf).pvalue > ALPHA
    assert np.all(nxt >= n)
    # The gap to the next acceptance is geometric given W: the randomised
    # probability integral transform of each gap is uniform.
    gaps = nxt - n
    lo = -np.expm1(gaps * np.log1p(-w))  # P(gap < g)
    hi = -np.expm1((gaps + 1) * np.log1p(-w))  # P(gap <= g)
    v = np.random.default_rng(0).random(gaps.shape[0])
    assert stats.kstest(lo + v * (hi - lo), "uniform").pvalue > ALPHA


def test_dask_module_imports_without_dask_and_explains_the_extra(monkeypatch):
    import sys

    import negsamp.dask as nd

    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ImportError, match=r"pip install 'negsamp\[dask\]'"):
        nd.reservoir_sample(np.arange(3), 1)
    assert "dask" not in negsamp.__all__


# -- stateful: any sequence of updates, round trips and merges ------------------
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule  # noqa: E402


class ReservoirMachine(RuleBasedStateMachine):
    """Updates, merges and round trips in any order keep the invariants of
    both reservoirs, and a serialised twin stays bit-identical."""

    def __init__(self):
        super().__init__()
        self.k = 4
        self.uniform = Reservoir(self.k, rng=0)
        self.weighted = WeightedReservoir(self.k, rng=0)
        self.seen: list = []
        self.positive: set = set()
        self.next_item = 0

    def _chunk(self, size):
        items = np.arange(self.next_item, self.next_item + size, dtype=np.int64)
        self.next_item += size
        self.seen.extend(items.tolist())
        weights = (items % 3 != 0).astype(np.float64) * (1.0 + items % 5)
        self.positive.update(items[weights > 0].tolist())
        return items, weights

    @rule(size=st.integers(0, 50))
    def update(self, size):
        items, weights = self._chunk(size)
        self.uniform.update(items)
        self.weighted.update(items, weights)

    @rule(size=st.integers(0, 30), seed=st.integers(0, 100))
    def merge_fresh_stream(self, size, seed):
        items, weights = self._chunk(size)
        u = Reservoir(self.k, rng=seed)
        u.update(items)
        w = WeightedReservoir(self.k, rng=seed)
        w.update(items, weights)
        self.uniform = self.uniform.merge(u)
        self.weighted = w.merge(self.weighted)

    @rule(size=st.integers(1, 60))
    def round_trip_then_update_twins(self, size):
        u2 = Reservoir.from_bytes(self.uniform.to_bytes())
        w2 = pickle.loads(pickle.dumps(self.weighted))
        items, weights = self._chunk(size)
        for u, w in ((self.uniform, self.weighted), (u2, w2)):
            u.update(items)
            w.update(items, weights)
        assert u2 == self.uniform and w2 == self.weighted

    @invariant()
    def invariants(self):
        n = len(self.seen)
        seen = set(self.seen)
        for res, pool in ((self.uniform, seen), (self.weighted, self.positive)):
            s = res.sample.tolist()
            assert res.count == n
            assert len(s) == min(self.k, len(pool)) == len(set(s))
            assert set(s) <= pool


TestReservoirMachine = ReservoirMachine.TestCase
TestReservoirMachine.settings = settings(max_examples=40, stateful_step_count=15, deadline=None)


# -- weights below 1e-308 (issue 11, finding 3) -------------------------------
def _inclusion_counts(weights, k, trials, seed, chunk=None):
    """How often each item is in the sample of a fresh reservoir fed
    ``weights`` (item i has weight weights[i]), over ``trials`` seeds."""
    w = np.asarray(weights, dtype=np.float64)
    n = w.shape[0]
    counts = np.zeros(n, dtype=np.int64)
    seeds = np.random.SeedSequence(seed).generate_state(trials, dtype=np.uint64)
    chunk = chunk or n
    for s in seeds:
        res = WeightedReservoir(k, rng=int(s))
        for start in range(0, n, chunk):
            res.update(np.arange(start, min(start + chunk, n)), w[start : start + chunk])
        counts[res.sample] += 1
    return counts


@pytest.mark.parametrize("weight", [1.0, 1e-310, 5e-324, 1e308, 1.7976931348623157e308])
@pytest.mark.parametrize("chunk", [None, 7])
def test_weighted_equal_tiny_weights_are_uniform(weight, chunk):
    """-E / w overflowed to -inf below about 1e-308: every key tied and one
    item of 100 was kept with probability 0.96-1.0 instead of 0.05."""
    trials = 3000
    counts = _inclusion_counts(np.full(100, weight), 5, trials, seed=11, chunk=chunk)
    assert counts.sum() == 5 * trials
    assert counts.max() < 0.2 * trials
    assert chisquare_pvalue(counts, np.full(100, 0.05)) > 1e-4


@pytest.mark.parametrize("chunk", [None, 3])
def test_weighted_subnormal_mix_has_the_exact_inclusion_law(chunk):
    w = np.array([1e-310, 2e-310] * 5)
    exact = without_replacement_inclusion(w / 1e-310, 3)  # the law is scale-free
    trials = 6000
    counts = _inclusion_counts(w, 3, trials, seed=12, chunk=chunk)
    assert chisquare_pvalue(counts, exact) > 1e-4
    # A sampler ignoring the weights (all keys tied or uniform) is far off:
    assert abs(counts[1::2].sum() / counts.sum() - exact[1::2].sum() / 3) < 0.02


def test_weighted_normal_and_subnormal_weights_mixed():
    """Two items of weight 1 are always kept; the other 2 slots go to the
    20 items of weight 1e-310 uniformly (their keys must not tie)."""
    w = np.array([1.0, 1.0] + [1e-310] * 20)
    trials = 3000
    counts = _inclusion_counts(w, 4, trials, seed=13, chunk=5)
    assert counts[0] == counts[1] == trials
    assert chisquare_pvalue(counts[2:], np.full(20, 0.1)) > 1e-4


def test_weighted_format_1_states_still_load():
    """A negsamp 0.1.0 state (log keys -E / w, jump in units of weight) is
    converted: same sample, same key order, a valid continuation."""
    res = WeightedReservoir(3, rng=5)
    res.update(np.arange(20), np.arange(1.0, 21.0))
    state = res.__getstate__()
    keys2 = state["heap_keys"]
    old = dict(state)
    del old["format"]
    old["heap_keys"] = -np.exp(-keys2)
    old["remaining"] = state["remaining"] / np.exp(-keys2[0])
    again = WeightedReservoir.__new__(WeightedReservoir)
    again.__setstate__(old)
    np.testing.assert_allclose(again.keys, res.keys, rtol=1e-12)
    np.testing.assert_array_equal(again.sample, res.sample)
    assert again._remaining == pytest.approx(res._remaining, rel=1e-12)
    again.update(np.arange(20, 40), np.ones(20))
    assert len(again) == 3
    with pytest.raises(ValueError, match="format 1"):
        WeightedReservoir.__new__(WeightedReservoir).__setstate__(
            dict(old, heap_keys=np.array([-np.inf, -1.0, -0.5])))


def test_weighted_long_chunk_is_fed_in_segments_like_two_updates():
    # A chunk longer than _reservoir.SEGMENT is scanned segment by segment
    # (Ctrl-C is checked between them): the same reservoir, bit for bit, as
    # two updates split at the segment boundary, items taken from the right
    # positions of the chunk.
    from negsamp import _reservoir

    seg = _reservoir.SEGMENT
    rng = np.random.default_rng(41)
    n = seg + 12_345
    items = np.arange(n, dtype=np.int64) * 3
    w = rng.exponential(size=n)
    one = WeightedReservoir(5000, rng=7)
    one.update(items, w)
    two = WeightedReservoir(5000, rng=7)
    two.update(items[:seg], w[:seg])
    two.update(items[seg:], w[seg:])
    assert one.count == two.count == n
    np.testing.assert_array_equal(one.sample, two.sample)
    np.testing.assert_array_equal(one.keys, two.keys)
    # Every kept item is one of the chunk's, at the position its key came from.
    assert set((one.sample // 3).tolist()) <= set(range(n))
    assert (one.sample % 3 == 0).all() and (one.sample >= seg * 3).any()


def test_merge_that_keeps_nothing_equals_its_pickled_copy():
    # Found by fuzzing: a merged WeightedReservoir holding no item (all
    # weights 0) had items None, its pickled copy an empty array: unequal.
    import pickle

    a = WeightedReservoir(4, rng=0)
    a.update(np.zeros(3, np.uint8), np.zeros(3))
    m = a.merge(WeightedReservoir(4, rng=1))
    assert pickle.loads(pickle.dumps(m)) == m
    assert WeightedReservoir.from_bytes(m.to_bytes()) == m


def test_aligned_structured_dtype_survives_to_bytes():
    # Found by fuzzing: an aligned structured item dtype comes back from
    # to_bytes as the same dtype without the "aligned" flag; the reservoir
    # (dtype equality, items, state) must compare equal.
    dt = np.dtype([("threshold", "<u8"), ("alias", "<i8")], align=True)
    for cls in (Reservoir, WeightedReservoir):
        r = cls(3, rng=0)
        items = np.zeros(5, dtype=dt)
        items["alias"] = np.arange(5)
        if cls is Reservoir:
            r.update(items)
        else:
            r.update(items, np.ones(5))
        back = cls.from_bytes(r.to_bytes())
        assert back == r and back.to_bytes() == r.to_bytes()
