"""Helpers of the reservoir tests (tests/test_reservoir_*.py): feeding streams,
subset and inclusion counts (the pure-Python Algorithm L is in tests/_reference.py)."""
from __future__ import annotations

import itertools

import numpy as np

from negsamp import WeightedReservoir


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
