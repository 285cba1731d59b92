"""WeightedReservoir.update reads each chunk once: the weights are checked and
scanned block by block.  Pinned here: the output is bit for bit that of
A-ExpJ as documented in csrc/ns_reservoir.h (a pure-Python port below), for
chunks shorter and longer than a block; and a bad weight anywhere in a chunk,
the last position of a long one included, leaves the reservoir, its RNG
state and its counters exactly as they were."""
from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from negsamp import WeightedReservoir
from negsamp import _reservoir
from _reference import MASK, _rotl, draw_key, xoshiro_stream


# -- a pure-Python port of the A-ExpJ scan -----------------------------------
class _Xoshiro:
    """xoshiro256++ of block stream 0 of a key, its state visible."""

    def __init__(self, k0, k1):
        gen = xoshiro_stream(k0, k1, 0)
        # The generator's first state is the seeded one: rebuild it here.
        from _reference import _splitmix

        _, m = _splitmix(k1)
        z = k0 ^ m
        self.s = []
        for _ in range(4):
            z, v = _splitmix(z)
            self.s.append(v)
        assert next(gen) == self._peek()

    def _peek(self):
        return (_rotl((self.s[0] + self.s[3]) & MASK, 23) + self.s[0]) & MASK

    def next(self):
        s = self.s
        result = self._peek()
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def double_open(self):  # ns_rng_double_open: (k + 1/2) / 2**53
        return ((self.next() >> 11) + 0.5) * (1.0 / 9007199254740992.0)

    def exponential_open(self):
        return -math.log(self.double_open())


_SHIFT = 1000.0 * 0.69314718055994530942


def _threshold_rate(t):
    if -t > 700.0:
        return 2.0**1000, math.exp(-t - _SHIFT)
    if -t < -700.0:
        return 2.0**-1000, math.exp(-t + _SHIFT)
    return 1.0, math.exp(-t)


def _push(heap, entry):
    pos = len(heap)
    heap.append(entry)
    while pos > 0:
        parent = (pos - 1) >> 1
        if not entry[0] < heap[parent][0]:
            break
        heap[pos] = heap[parent]
        pos = parent
    heap[pos] = entry


def _replace_top(heap, entry):
    pos, size = 0, len(heap)
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and heap[child + 1][0] < heap[child][0]:
            child += 1
        if not heap[child][0] < entry[0]:
            break
        heap[pos] = heap[child]
        pos = child
    heap[pos] = entry


class ReferenceAExpJ:
    """WeightedReservoir(k, rng=seed) as documented: keys log(w) - log(E),
    the exposure w * exp(-T) summed in groups of 8 from the item after the
    last acceptance, item by item in the group where the jump runs out; the
    total weight summed in 8 lanes per segment of _reservoir.SEGMENT."""

    def __init__(self, k, seed):
        self.k = k
        self.rng = _Xoshiro(*draw_key(seed))
        self.heap = []  # [key, slot]
        self.items = {}
        self.remaining = 0.0
        self.total = 0.0

    def update(self, items, weights):
        w = [float(x) for x in weights]
        chunk_total = 0.0
        for start in range(0, len(w), _reservoir.SEGMENT):
            seg = w[start:start + _reservoir.SEGMENT]
            part = [0.0] * 8
            full = len(seg) - len(seg) % 8
            for i in range(full):
                part[i % 8] += seg[i]
            for i in range(full, len(seg)):
                part[0] += seg[i]
            chunk_total += ((part[0] + part[1]) + (part[2] + part[3])) + \
                ((part[4] + part[5]) + (part[6] + part[7]))
            self._scan(items[start:start + len(seg)], seg)
        self.total += chunk_total

    def _scan(self, items, w):
        rng, heap, k = self.rng, self.heap, self.k
        i, n, length, rem = 0, len(heap), len(w), self.remaining
        while i < length and n < k:
            if w[i] > 0.0:
                key = math.log(w[i]) - math.log(rng.exponential_open())
                self.items[n] = items[i]
                _push(heap, [key, n])
                n += 1
                if n == k:
                    rem = rng.exponential_open()
            i += 1
        pre, rate = _threshold_rate(heap[0][0]) if n == k else (1.0, 1.0)
        while i < length:
            while i + 8 <= length:
                b = w[i:i + 8]
                s = ((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7]))
                x = (s * pre) * rate
                if rem - x > 0.0:
                    rem -= x
                    i += 8
                    continue
                break
            while i < length:
                rem -= (w[i] * pre) * rate
                if rem <= 0.0 and w[i] > 0.0:
                    break
                i += 1
            if i == length:
                break
            p = (w[i] * pre) * rate
            c = -math.expm1(-p)
            v = rng.double_open()
            cv = c * v
            e_log = math.log(-math.log1p(-cv)) if cv > 2.0**-900 else math.log(c) + math.log(v)
            key = math.log(w[i]) - e_log
            if not key >= heap[0][0]:
                key = heap[0][0]
            slot = heap[0][1]
            _replace_top(heap, [key, slot])
            self.items[slot] = items[i]
            pre, rate = _threshold_rate(heap[0][0])
            rem = rng.exponential_open()
            i += 1
        self.remaining = rem


def _weights(gen, n):
    w = gen.standard_exponential(n)
    w[gen.random(n) < 0.1] = 0.0
    w[gen.random(n) < 0.002] = 1e-310
    w[gen.random(n) < 0.002] = 1e300
    return w


# Chunk sizes around the kernel's block and group sizes; k from a reservoir
# that fills in its first chunk to one whose fill spans several blocks.
B = _reservoir.BLOCK
SCENARIOS = [
    (1, [5000]),
    (3, [1, 7, 8, 9, B - 1, B, B + 1, 3 * B + 7, 12_289, 3]),
    (50, [20, 5000, 30_000, 8191]),
    (1000, [999, 2, 70_000]),
    (9000, [12_000, 20_000]),
]


@pytest.mark.parametrize("k, sizes", SCENARIOS)
def test_update_is_bit_identical_to_the_reference_scan(k, sizes):
    gen = np.random.default_rng(k)
    ours, ref = WeightedReservoir(k, rng=k + 1), ReferenceAExpJ(k, k + 1)
    start = 0
    for n in sizes:
        items, w = np.arange(start, start + n), _weights(gen, n)
        ours.update(items, w)
        ref.update(items.tolist(), w)
        start += n
    assert len(ours) == len(ref.heap)
    by_slot = sorted(ref.heap, key=lambda e: e[1])
    assert ours.keys.tolist() == [e[0] for e in by_slot]
    assert ours.sample.tolist() == [ref.items[s] for s in range(len(by_slot))]
    assert ours._remaining == ref.remaining
    assert ours.total_weight == ref.total
    assert ours._state.tolist() == ref.rng.s


# -- a bad weight leaves everything unchanged ---------------------------------
def _snapshot(res):
    return (res.to_state_tuple(), res.count, res.total_weight, res._state.tolist(),
            res.sample.tolist(), res.keys.tolist(), pickle.dumps(res))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, -1.0, -5e-324])
@pytest.mark.parametrize("prefill", [500, 20_000])
def test_bad_weight_at_the_end_of_a_long_chunk_changes_nothing(bad, prefill):
    # k = 1000: prefill 500 leaves the reservoir filling (the chunk pushes
    # 500 items, then replaces); prefill 20_000 leaves it full (the chunk
    # only replaces).  The chunk crosses a segment boundary; thousands of
    # items are accepted before the bad weight is reached.
    gen = np.random.default_rng(3)
    res = WeightedReservoir(1000, rng=9)
    res.update(np.arange(prefill), gen.standard_exponential(prefill))
    before = _snapshot(res)
    n = _reservoir.SEGMENT + 4321
    w = gen.standard_exponential(n)
    w[-1] = bad
    w_copy = w.copy()
    what = "finite" if not math.isfinite(bad) else "non-negative"
    with pytest.raises(ValueError, match=rf"weights must be {what}, got .* at index {n - 1}"):
        res.update(np.arange(n), w)
    assert _snapshot(res) == before
    np.testing.assert_array_equal(w, w_copy)
    # And the reservoir continues exactly as an untouched copy does.
    twin = pickle.loads(before[-1])
    more = gen.standard_exponential(10_000)
    res.update(np.arange(10_000), more)
    twin.update(np.arange(10_000), more)
    assert res == twin


@pytest.mark.parametrize("where", [0, B - 1, B, 8 * B + 7, 99_999])
def test_bad_weight_anywhere_changes_nothing(where):
    gen = np.random.default_rng(where)
    res = WeightedReservoir(64, rng=1)
    res.update(np.arange(1000), gen.standard_exponential(1000))
    before = _snapshot(res)
    w = gen.standard_exponential(100_000)
    w[where] = np.nan
    with pytest.raises(ValueError, match=rf"got nan at index {where}\b"):
        res.update(np.arange(100_000), w)
    assert _snapshot(res) == before


def test_the_first_bad_weight_is_named():
    res = WeightedReservoir(8, rng=1)
    w = np.ones(50_000)
    w[[30_000, 40_000, 45_000]] = [-1.0, np.nan, np.inf]
    with pytest.raises(ValueError, match="non-negative, got -1.0 at index 30000"):
        res.update(np.arange(50_000), w)
    assert res.count == 0 and len(res) == 0 and res.total_weight == 0.0
