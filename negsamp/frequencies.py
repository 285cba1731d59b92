"""Streaming item frequencies for the logQ correction of in-batch softmax.

With in-batch negatives the proposal law is the stream's own item law: an
item is a negative as often as it appears in batches.  The correction
subtracts ``log q(j)`` from the logit of item j, with q(j) the expected
number of times j appears in a batch.  :class:`FrequencyEstimator` learns q
from the stream itself, one ``update(ids)`` per training step.

Example
-------
>>> import numpy as np, negsamp
>>> est = negsamp.FrequencyEstimator("decayed", n_items=4, decay=0.9)
>>> for _ in range(200):
...     est.update(np.array([0, 0, 1, 2]))
>>> np.round(est.q(np.array([0, 1, 3])), 6)
array([2., 1., 0.])
"""
from __future__ import annotations

import math
import threading
from typing import Any, Dict, Optional, Tuple

import numpy as np

from negsamp._validation import (
    as_index_array, as_int, as_weights, describe, state_field, uninitialised_repr,
)
from negsamp.alias import AliasTable

__all__ = ["FrequencyEstimator"]

_ID_BOUND = np.iinfo(np.int64).max  # hashed ids: any non-negative int64
_RESCALE_ABOVE = 1e100  # decayed counts: fold the growing unit back to 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _as_real(value: Any, name: str, lo: float, hi: float, lo_open: bool) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got {describe(value)}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {describe(value)}") from None
    if not (x > lo if lo_open else x >= lo) or not x <= hi:
        interval = f"{'(' if lo_open else '['}{lo}, {hi}]"
        raise ValueError(f"{name} must be in {interval}, got {describe(value)}")
    return x


def _mix(ids: np.ndarray, seed: int) -> np.ndarray:
    """SplitMix64's finaliser of ``id + (seed + 1) * golden`` (uint64,
    wrapping): a well-spread 64-bit hash of each id."""
    with np.errstate(over="ignore"):
        z = ids.astype(np.uint64) + np.uint64(seed + 1) * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


class FrequencyEstimator:
    """Streaming estimate of q(i), the expected number of times item i
    appears in a step's batch, fed one batch of ids per step.

    Parameters
    ----------
    method : "hashed" or "decayed"
        "hashed": Yi et al. 2019 ("Sampling-bias-corrected neural modeling
        for large corpus item recommendations", Algorithm 2), in memory
        O(n_buckets) whatever the number of items.  "decayed": exact
        exponentially decayed counts of ids in ``[0, n_items)`` (a dense
        array).
    n_buckets : int, default 2**20
        "hashed": H, the size of the arrays A and B (1 to 2**32).  Ids that
        share a bucket share one estimate (their q adds up).
    alpha : float, default 0.01
        "hashed": the learning rate of the moving average of gaps, in
        (0, 1]: it averages about 1 / alpha occurrences.
    seed : int, default 0
        "hashed": seed of the hash (two estimators merge only with the same
        seed).
    n_items : int
        "decayed": the number of items (required).
    decay : float, default 0.99
        "decayed": gamma in (0, 1], the factor applied to the counts at each
        step (1: plain averages over all steps).

    Notes
    -----
    **hashed.**  With steps t = 1, 2, ... and bucket b = h(id): A[b] is the
    last step at which b was seen and B[b] a moving average of the gaps
    between its occurrences: at each occurrence ``B[b] <- (1 - alpha) B[b]
    + alpha (t - A[b])``, then ``A[b] <- t``, and ``q = 1 / B[b]``.  The
    occurrences of one step are applied in one vectorised pass: all share
    the same t, so only the first has a nonzero gap and the order of the
    ids inside a batch does not matter; k occurrences of b in step t give
    ``B <- (1 - alpha)^k B + alpha (1 - alpha)^(k - 1) (t - A)``.  Repeated
    ids count: the mean gap per occurrence is 1 / (occurrences per step),
    so q estimates the expected count, which may exceed 1.  It is the
    paper's algorithm, with its bias for ids seen many times a step: such a
    step ends on k - 1 zero gaps, so for a steady k the average settles at
    ``1 / B = (1 - (1 - alpha)^k) / (alpha (1 - alpha)^(k - 1))``, about
    ``k (1 + alpha k / 2)``: 11% over for k = 22 and alpha = 0.01, under 1%
    for ids seen at most once a step (the usual case; the "decayed"
    method has no such bias).  One snapshot moves by about
    ``sqrt(alpha / 2)`` relative (7% for alpha = 0.01).  The first
    occurrence of a bucket starts its average at its gap since step 0
    (instead of the paper's 0, whose bias takes ~1 / alpha occurrences to
    fade).  A bucket never seen has q = 0.

    **decayed.**  ``D_i(t) = decay * D_i(t - 1) + c_i(t)`` with c_i(t) the
    occurrences of i in step t, and ``q_i = D_i(t) / W(t)`` with ``W(t) =
    decay * W(t - 1) + 1`` the decayed number of steps: an exact weighted
    average of the per-step counts, weights ``decay**(t - s)``.  Updates
    cost O(batch), not O(n_items) (the counts are stored in a unit that
    grows by 1 / decay each step, folded back when large).

    **merge.**  Two estimators of data-parallel workers that saw their own
    shards of the same steps: "decayed" adds the counts, exactly the
    estimator fed each step's concatenated batches.  "hashed" adds the
    rates of each bucket, ``1 / B = 1 / B1 + 1 / B2`` (A the later step):
    an estimate of the union stream's q, not bit for bit the one
    estimator fed both shards (whose averages run over interleaved gaps).
    Both need the same parameters and the same number of steps.

    **mixed pool** (:meth:`log_q_mixed`, Yang et al. 2020, "Mixed negative
    sampling for learning two-tower neural networks in recommendations"):
    the negatives are the batch's items plus ``pool_size`` = m items drawn
    with replacement from a pool law p (uniform, or a unigram table); the
    expected number of copies of i among them is ``q(i) + m p(i)``, and
    its log is the correction (the total B + m is a constant that cancels
    in the softmax).

    Thread safety: one estimator may be shared by threads (a lock
    serialises updates and reads).  Picklable.
    """

    __slots__ = ("_method", "_step", "_alpha", "_n_buckets", "_seed", "_last", "_gap",
                 "_n_items", "_decay", "_counts", "_unit", "_weight", "_lock")

    def __init__(self, method: str = "hashed", *, n_buckets: int = 2**20,
                 alpha: float = 0.01, seed: int = 0, n_items: Optional[int] = None,
                 decay: float = 0.99) -> None:
        if not isinstance(method, str) or method not in ("hashed", "decayed"):
            raise ValueError(f"method must be 'hashed' or 'decayed', got {describe(method)}")
        if method == "hashed":
            self._setup_hashed(n_buckets, alpha, seed)
        else:
            if n_items is None:
                raise TypeError("method='decayed' needs n_items")
            self._setup_decayed(n_items, decay)

    def _setup_hashed(self, n_buckets: Any, alpha: Any, seed: Any) -> None:
        n_buckets = as_int(n_buckets, "n_buckets", minimum=1, maximum=2**32)
        alpha = _as_real(alpha, "alpha", 0.0, 1.0, lo_open=True)
        seed = as_int(seed, "seed", minimum=0, maximum=2**63 - 1)
        self._method, self._step, self._lock = "hashed", 0, threading.Lock()
        self._n_buckets, self._alpha, self._seed = n_buckets, alpha, seed
        self._last = np.zeros(n_buckets, dtype=np.int64)
        self._gap = np.zeros(n_buckets, dtype=np.float64)  # 0: never seen

    def _setup_decayed(self, n_items: Any, decay: Any) -> None:
        n_items = as_int(n_items, "n_items", minimum=1)
        decay = _as_real(decay, "decay", 0.0, 1.0, lo_open=True)
        self._method, self._step, self._lock = "decayed", 0, threading.Lock()
        self._n_items, self._decay = n_items, decay
        self._counts = np.zeros(n_items, dtype=np.float64)
        self._unit = 1.0
        self._weight = 0.0

    # -- properties ---------------------------------------------------------
    @property
    def method(self) -> str:
        return self._method

    @property
    def step(self) -> int:
        """The number of updates (steps) so far."""
        return self._step

    def _params(self) -> Tuple[Any, ...]:
        if self._method == "hashed":
            return ("hashed", self._n_buckets, self._alpha, self._seed)
        return ("decayed", self._n_items, self._decay)

    # -- updates ------------------------------------------------------------
    def _ids(self, ids: Any, name: str = "ids") -> np.ndarray:
        bound = _ID_BOUND if self._method == "hashed" else self._n_items
        return as_index_array(ids, bound, name).ravel()

    def _buckets(self, ids: np.ndarray) -> np.ndarray:
        # Lemire's multiply-shift maps the high 32 hash bits onto [0, H).
        high = _mix(ids, self._seed) >> np.uint64(32)
        with np.errstate(over="ignore"):
            return ((high * np.uint64(self._n_buckets)) >> np.uint64(32)).astype(np.int64)

    def update(self, ids: Any) -> None:
        """Feeds one step's batch: ``ids`` (any shape, integer, >= 0; for
        "decayed" in ``[0, n_items)``; repeats count).  An empty batch is a
        step with no items.  O(len(ids) log len(ids))."""
        flat = self._ids(ids)
        with self._lock:
            step = self._step + 1
            if self._method == "hashed":
                buckets, k = np.unique(self._buckets(flat), return_counts=True)
                gap = (step - self._last[buckets]).astype(np.float64)
                old = self._gap[buckets]
                old = np.where(old > 0, old, gap)  # a first occurrence starts the average
                keep = 1.0 - self._alpha
                self._gap[buckets] = keep ** k * old + self._alpha * keep ** (k - 1) * gap
                self._last[buckets] = step
            else:
                unit = self._unit / self._decay
                if unit > _RESCALE_ABOVE:
                    self._counts /= unit
                    unit = 1.0
                np.add.at(self._counts, flat, unit)
                self._unit = unit
                self._weight = self._decay * self._weight + 1.0
            self._step = step

    # -- estimates ----------------------------------------------------------
    def q(self, ids: Any) -> np.ndarray:
        """The estimated expected count of each id per step (float64, the
        shape of ``ids``); 0 for an id never seen."""
        arr = as_index_array(ids, _ID_BOUND if self._method == "hashed" else self._n_items,
                             "ids")
        with self._lock:
            if self._method == "hashed":
                gap = self._gap[self._buckets(arr.ravel())]
                with np.errstate(divide="ignore"):
                    out = np.where(gap > 0, 1.0 / np.where(gap > 0, gap, 1.0), 0.0)
            else:
                if self._weight == 0:
                    out = np.zeros(arr.size)
                else:
                    out = self._counts[arr.ravel()] / (self._unit * self._weight)
        result: np.ndarray = out.reshape(arr.shape)
        return result

    def log_q(self, ids: Any) -> np.ndarray:
        """``log q(ids)`` (-inf for ids never seen): subtract it from the
        in-batch logits.  Call :meth:`update` with the batch first."""
        with np.errstate(divide="ignore"):
            out: np.ndarray = np.log(self.q(ids))
        return out

    def log_q_mixed(self, ids: Any, pool_size: int, pool: Any = "uniform", *,
                    n_items: Optional[int] = None) -> np.ndarray:
        """``log(q(i) + pool_size * p(i))``: the log expected count of each id
        in the mixed pool of the batch's items and ``pool_size`` items drawn
        with replacement from ``pool`` (see the class notes).

        ``pool``: "uniform" over ``n_items`` items (the estimator's own for
        "decayed", else the ``n_items`` argument), an AliasTable (its exact
        law), or non-negative weights over the items (normalised).
        """
        m = as_int(pool_size, "pool_size", minimum=0)
        if isinstance(pool, AliasTable):
            n_pool = len(pool)
        elif isinstance(pool, str):
            if pool != "uniform":
                raise ValueError(f"pool must be 'uniform', an AliasTable or weights, got "
                                 f"{describe(pool)}")
            if n_items is None:
                if self._method != "decayed":
                    raise TypeError("pool='uniform' needs n_items for a hashed estimator")
                n_items = self._n_items
            n_pool = as_int(n_items, "n_items", minimum=1)
        else:
            weights = as_weights(pool, "pool")
            n_pool = weights.shape[0]
        arr = as_index_array(ids, n_pool, "ids")
        if isinstance(pool, AliasTable):
            p = pool.probabilities[arr]
        elif isinstance(pool, str):
            p = np.full(arr.shape, 1.0 / n_pool)
        else:
            p = weights[arr] / math.fsum(weights)
        with np.errstate(divide="ignore"):
            out: np.ndarray = np.logaddexp(np.log(self.q(arr)), np.log(m * p))
        return out

    # -- merge --------------------------------------------------------------
    def merge(self, other: "FrequencyEstimator") -> "FrequencyEstimator":
        """A new estimator for the union of two workers' streams over the
        same steps (neither input changes); see the class notes."""
        if not isinstance(other, FrequencyEstimator):
            raise TypeError(f"other must be a FrequencyEstimator, got {type(other).__name__}")
        if other._params() != self._params():
            raise ValueError(f"cannot merge estimators of different parameters: "
                             f"{self._params()} and {other._params()}")
        first, second = (self, other) if id(self) <= id(other) else (other, self)
        with first._lock, (second._lock if second is not first else _NoLock()):
            if self._step != other._step:
                raise ValueError(f"cannot merge estimators at different steps "
                                 f"({self._step} and {other._step}): merge aligns steps")
            out = FrequencyEstimator.__new__(FrequencyEstimator)
            out._method, out._step, out._lock = self._method, self._step, threading.Lock()
            if self._method == "hashed":
                out._n_buckets, out._alpha, out._seed = self._n_buckets, self._alpha, self._seed
                out._last = np.maximum(self._last, other._last)
                g1, g2 = self._gap, other._gap
                with np.errstate(divide="ignore", invalid="ignore"):
                    both = g1 * g2 / (g1 + g2)  # rates 1 / g add up
                out._gap = np.where((g1 > 0) & (g2 > 0), both, np.maximum(g1, g2))
            else:
                out._n_items, out._decay = self._n_items, self._decay
                out._counts = self._counts / self._unit + other._counts / other._unit
                out._unit, out._weight = 1.0, self._weight
        return out

    # -- pickling -----------------------------------------------------------
    def __getstate__(self) -> Dict[str, Any]:
        with self._lock:
            if self._method == "hashed":
                return {"method": "hashed", "step": self._step, "n_buckets": self._n_buckets,
                        "alpha": self._alpha, "seed": self._seed, "last": self._last.copy(),
                        "gap": self._gap.copy()}
            return {"method": "decayed", "step": self._step, "n_items": self._n_items,
                    "decay": self._decay, "counts": self._counts / self._unit,
                    "weight": self._weight}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        what = "FrequencyEstimator state"
        method = state_field(state, "method", str, what=what)
        step = state_field(state, "step", int, what=what)
        if method == "hashed":
            self._setup_hashed(state_field(state, "n_buckets", int, what=what),
                               state_field(state, "alpha", float, what=what),
                               state_field(state, "seed", int, what=what))
            self._last = _state_array(state, "last", np.int64, self._n_buckets, what)
            self._gap = _state_array(state, "gap", np.float64, self._n_buckets, what)
            if (self._last > step).any() or (self._last < 0).any() or \
                    not np.isfinite(self._gap).all() or (self._gap < 0).any():
                raise ValueError(f"{what} has steps or gaps out of range")
        elif method == "decayed":
            self._setup_decayed(state_field(state, "n_items", int, what=what),
                                state_field(state, "decay", float, what=what))
            self._counts = _state_array(state, "counts", np.float64, self._n_items, what)
            self._weight = state_field(state, "weight", float, 0.0, math.inf, what=what)
            if not np.isfinite(self._counts).all() or (self._counts < 0).any():
                raise ValueError(f"{what} has counts that are negative or not finite")
        else:
            raise ValueError(f"{what} has unknown method {describe(method)}")
        self._step = step

    def __repr__(self) -> str:
        blank = uninitialised_repr(self, "_method")
        if blank:
            return str(blank)
        if self._method == "hashed":
            return (f"FrequencyEstimator('hashed', n_buckets={self._n_buckets}, "
                    f"alpha={self._alpha}, seed={self._seed}, step={self._step})")
        return (f"FrequencyEstimator('decayed', n_items={self._n_items}, "
                f"decay={self._decay}, step={self._step})")


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _state_array(state: Dict[str, Any], key: str, dtype: Any, n: int, what: str) -> np.ndarray:
    arr = state_field(state, key, object, what=what)
    if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.shape != (n,):
        raise ValueError(f"{what} {key!r} must be a {np.dtype(dtype)} array of shape ({n},)")
    return np.array(arr, dtype=dtype, copy=True)
