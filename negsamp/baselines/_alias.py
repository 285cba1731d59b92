"""Baselines of AliasTable.sample: weighted draws with replacement."""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from negsamp._rng import RNGLike, as_generator


def weighted_choice(weights: Any, size: Any, rng: RNGLike = None) -> npt.NDArray[np.int64]:
    """Draws with ``Generator.choice(n, size, p=weights / weights.sum())``.

    numpy rebuilds a cumulative table on every call and binary-searches it:
    O(n + size log n) per call."""
    w = np.asarray(weights, dtype=np.float64)
    gen = as_generator(rng)
    out: npt.NDArray[np.int64] = gen.choice(w.shape[0], size=size, p=w / w.sum())
    return out


def weighted_searchsorted(weights: Any, size: Any, rng: RNGLike = None) -> npt.NDArray[np.int64]:
    """Draws by inverse transform: ``searchsorted(cumsum(w), U * total)``.

    O(n) to build the cumulative sums, O(log n) per draw."""
    w = np.asarray(weights, dtype=np.float64)
    gen = as_generator(rng)
    cdf = np.cumsum(w)
    u = gen.random(size) * cdf[-1]
    # side="right": an item of weight 0 has an empty interval and is never hit.
    out = np.searchsorted(cdf, u, side="right")
    clipped: npt.NDArray[np.int64] = np.minimum(out, w.shape[0] - 1)
    return clipped
