"""Checks run on every object that a harness managed to build or load:
draws in range, serialisation round trips, update and merge."""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

import negsamp
from _common import attempt, call, check, roundtrip_pickle


def alias_table(t: negsamp.AliasTable) -> None:
    n = len(t)
    check(n >= 1, "empty table loaded")
    p = t.probabilities
    check(p.shape == (n,) and np.isfinite(p).all() and (p >= 0).all(), "bad probabilities")
    check(abs(float(p.sum()) - 1.0) < 1e-9, f"probabilities sum to {p.sum()!r}")
    d = t.sample(257, rng=1, n_threads=1)
    check(d.dtype == np.int64 and d.shape == (257,), "bad sample shape/dtype")
    check(((d >= 0) & (d < n)).all(), f"draw out of range: {d.min()}..{d.max()} for n={n}")
    check((p[d] > 0).all(), "drew an item of probability 0")
    d2 = t.sample((3, 5), rng=1, n_threads=2, dtype=np.int32)
    check(d2.dtype == np.int32 and ((d2 >= 0) & (d2 < n)).all(), "bad int32 draws")
    lp = t.log_prob(d)
    check(np.isfinite(lp).all(), "log_prob of a drawn item is not finite")
    repr(t)
    b = t.to_bytes()
    t2 = negsamp.AliasTable.from_bytes(b)
    check(t2 == t and t2.to_bytes() == b, "to_bytes/from_bytes round trip differs")
    t3 = roundtrip_pickle(t)
    check(t3 == t, "pickle round trip differs")
    check(np.array_equal(t2.sample(64, rng=9), t.sample(64, rng=9)), "reloaded table draws differently")


def _marked_items(dtype: Optional[np.dtype], start: int, m: int) -> Optional[np.ndarray]:
    """m distinct items of ``dtype`` (None when the dtype cannot hold them)."""
    dt = np.dtype(np.int64) if dtype is None else dtype
    if dt.kind in "iu" and dt.itemsize >= 2 or dt.kind == "f" and dt.itemsize >= 4:
        return (np.arange(start, start + m) % 30000).astype(dt)
    return None


def _keys(a: np.ndarray) -> set:
    """The items as a set, NaN counted as one value (NaN != NaN)."""
    return {"nan" if isinstance(v, float) and v != v else v for v in a.tolist()}


def _any_items(dtype: Optional[np.dtype], m: int) -> np.ndarray:
    dt = np.dtype(np.int64) if dtype is None else dtype
    return np.zeros(m, dtype=dt)


def _same_future(r: Any, r2: Any, items: np.ndarray, weights: Optional[np.ndarray]) -> None:
    if weights is None:
        r.update(items)
        r2.update(items)
    else:
        r.update(items, weights)
        r2.update(items, weights)
    check(_state(r) == _state(r2), "a restored reservoir does not continue like the original")


def _state(r: Any) -> Any:
    """to_state_tuple with items None (never allocated) and b"" (allocated,
    empty) identified: a merged reservoir with no kept item has None and its
    pickled copy b"", so `==` says they differ although they behave the same
    (minor finding of issue 11, reported)."""
    t = r.to_state_tuple()
    return t[:-1] + ((b"" if t[-1] is None else t[-1]),)


def reservoir(r: Any) -> None:
    weighted = isinstance(r, negsamp.WeightedReservoir)
    k, count = r.k, r.count
    check(k >= 1 and count >= 0, f"loaded k={k} count={count}")
    s = r.sample
    if weighted:
        check(len(s) <= min(k, count), f"weighted sample of {len(s)} items, k={k}, count={count}")
        keys = r.keys
        # Keys are log(w) - log(E): finite for every positive weight (issue 11).
        check(keys.shape == (len(s),) and np.isfinite(keys).all(), "bad keys")
        check(r.total_weight >= 0, "negative total weight")
    else:
        check(len(s) == min(k, count), f"sample of {len(s)} items, k={k}, count={count}")
    repr(r)
    cls = type(r)
    check(_state(roundtrip_pickle(r)) == _state(r), "pickle round trip differs")
    b = call(r.to_bytes)
    if b is not None:
        r2 = cls.from_bytes(b)
        check(_state(r2) == _state(r) and r2.to_bytes() == b, "to_bytes/from_bytes round trip differs")
    else:
        check(r.dtype is not None and r.dtype.hasobject, "to_bytes refused a non-object reservoir")
        r2 = roundtrip_pickle(r)
    # update: the new sample holds only old sample items and new items.
    m = 40
    items = _marked_items(r.dtype, 1000, m)
    w = np.linspace(0.0, 3.0, m) if weighted else None
    if items is None:
        items = _any_items(r.dtype, m)
    if count > 2**63 - 2 - m:
        # count would overflow: ValueError, state unchanged.
        before = r.to_state_tuple()
        check(not attempt(r.update, *((items, w) if weighted else (items,))),
              "update past the int64 count did not fail")
        check(r.to_state_tuple() == before, "a failed update changed the reservoir")
        return
    old = _keys(s) if _marked_items(r.dtype, 0, 1) is not None else None
    _same_future(r, r2, items, w)
    check(r.count == count + m, "count did not grow by the chunk length")
    s_new = r.sample
    if weighted:
        check(len(s_new) <= min(k, count + m), "weighted sample too large after update")
    else:
        check(len(s_new) == min(k, count + m), "uniform sample has the wrong size after update")
    if old is not None:
        allowed = old | _keys(items)
        check(_keys(s_new) <= allowed, "sample holds an item never fed")
        if weighted:
            zero = _keys(items[w == 0]) - old
            check(not (_keys(s_new) & zero), "kept an item of weight 0")
    # merge with a fresh reservoir of the same k and dtype.
    other = cls(k, rng=3)
    more = _marked_items(r.dtype, 5000, 25)
    if more is None:
        more = _any_items(r.dtype, 25)
    if weighted:
        other.update(more, np.ones(25))
    else:
        other.update(more)
    merged = call(r.merge, other, rng=4)
    if merged is None:
        check(r.count > 2**63 - 2 - 25, "merge of compatible reservoirs failed")
        return
    check(merged.count == r.count + 25, "merged count is not the sum")
    ms = merged.sample
    if not weighted:
        check(len(ms) == min(k, merged.count), "merged sample has the wrong size")
    if old is not None:
        check(_keys(ms) <= _keys(r.sample) | _keys(more),
              "merged sample holds an item of neither side")
    if merged.count > 2**63 - 2 - 5:
        return  # a further update would overflow the int64 count (a ValueError)
    if weighted:
        merged.update(more[:5], np.ones(5))
    else:
        merged.update(more[:5])


def negative_sampler(s: negsamp.NegativeSampler) -> None:
    n = s.n_items
    check(n >= 1, "n_items < 1")
    repr(s)
    n_rows = s.n_rows
    rows = np.arange(min(n_rows, 6)) if n_rows is not None else np.array([0, 5, 2**40])
    if rows.size == 0:
        return
    for replace in (True, False):
        k = 3 if replace else 2
        got = call(s.sample, rows, k, rng=5, replace=replace, n_threads=2, return_log_q=True)
        if got is None:
            continue  # a row has no (or too few) eligible items: a documented ValueError
        neg, logq = got
        check(neg.shape == (rows.size, k) and logq.shape == neg.shape, "bad output shape")
        check(((neg >= 0) & (neg < n)).all(), "negative out of range")
        check(not np.isnan(logq).any() and (logq <= 1e-12).all(), "bad log q")
        for i, r in enumerate(rows.tolist()):
            if s.positives is not None:
                pos = set(s.positives.row(r).tolist())
                check(not (set(neg[i].tolist()) & pos), f"row {r}: drew a positive")
            if not replace:
                check(len(set(neg[i].tolist())) == k, f"row {r}: repeated draw without replacement")
            if s.table is not None:
                check((s.table.probabilities[neg[i]] > 0).all(), "drew an item of weight 0")
    s2 = roundtrip_pickle(s)
    a = call(s.sample, rows, 4, rng=11)
    if a is not None:
        check(np.array_equal(a, s2.sample(rows, 4, rng=11)), "unpickled sampler draws differently")
    if n_rows is not None and n <= 10**6:  # O(n_items) by design
        p = call(s.row_probabilities, 0)
        if p is not None:
            check(abs(float(p.sum()) - 1.0) < 1e-9, "row_probabilities does not sum to 1")


def finite_or_nan(x: float) -> bool:
    return math.isfinite(x) or math.isnan(x)
