"""Baselines of Reservoir and WeightedReservoir: streaming samples kept by
random keys, one NumPy pass per chunk.

These are what a careful NumPy user writes: every item of a chunk gets a
random key, the chunk's keys are concatenated with the keys of the current
sample and ``np.argpartition`` keeps the k best.  O(chunk length) per chunk
(one random number per item), exact, and mergeable because the keys are kept.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from negsamp._rng import RNGLike, as_generator


class _KeyedReservoir:
    """Keeps the k items of largest key (shared by both baselines)."""

    def __init__(self, k: int, rng: RNGLike = None) -> None:
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = int(k)
        self.count = 0
        self._gen = as_generator(rng)
        self._keys = np.empty(0, dtype=np.float64)
        self._items: Optional[np.ndarray] = None

    def _keep(self, keys: np.ndarray, items: np.ndarray) -> None:
        if self._items is not None:
            keys = np.concatenate([self._keys, keys])
            items = np.concatenate([self._items, items])
        if keys.shape[0] > self.k:
            top = np.argpartition(keys, keys.shape[0] - self.k)[keys.shape[0] - self.k :]
            keys, items = keys[top], items[top]
        self._keys, self._items = keys, items

    @property
    def sample(self) -> np.ndarray:
        return np.empty(0) if self._items is None else self._items.copy()

    def merge(self, other: "_KeyedReservoir") -> "_KeyedReservoir":
        """Exact merge: the k largest keys of the union."""
        out = type(self).__new__(type(self))
        out.k, out.count, out._gen = self.k, self.count + other.count, self._gen
        out._keys, out._items = self._keys, self._items
        if other._items is not None:
            out._keep(other._keys, other._items)
        return out


class UniformKeysReservoir(_KeyedReservoir):
    """Uniform reservoir: keys ``U ~ Uniform(0, 1)`` per item, keep the k
    largest (each item kept with probability min(1, k / n))."""

    def update(self, items: Any) -> None:
        items = np.asarray(items)
        self.count += items.shape[0]
        self._keep(self._gen.random(items.shape[0]), items)


class WeightedKeysReservoir(_KeyedReservoir):
    """A-Res (Efraimidis & Spirakis 2006): keys ``u ** (1 / w)`` per item,
    keep the k largest (the law of k successive weighted draws without
    replacement).  Items of weight 0 are dropped before keying."""

    def update(self, items: Any, weights: Any) -> None:
        items = np.asarray(items)
        w = np.asarray(weights, dtype=np.float64)
        self.count += items.shape[0]
        u = self._gen.random(items.shape[0])
        with np.errstate(divide="ignore"):
            keys = u ** (1.0 / w)
        pos = w > 0
        if not pos.all():
            keys, items = keys[pos], items[pos]
        self._keep(keys, items)
