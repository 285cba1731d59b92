"""Helpers of the reservoir tests (tests/test_reservoir_*.py): feeding streams,
subset and inclusion counts, and a slow pure-Python Algorithm L on the same
xoshiro256++ stream."""
from __future__ import annotations

import itertools
import math

import numpy as np

from negsamp import WeightedReservoir
from negsamp._common import _rng_stream_py
from negsamp._rng import draw_key


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


# -- weights below 1e-308 (issue 11, finding 3) -------------------------------
def fresh_reservoir_inclusion_counts(weights, k, trials, seed, chunk=None):
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
