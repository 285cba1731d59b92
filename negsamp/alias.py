"""Alias tables (Walker 1977, Vose 1991): O(n) build, O(1) weighted draws.

Example
-------
>>> import numpy as np, negsamp
>>> table = negsamp.AliasTable.from_counts(np.array([100, 10, 1, 0]))
>>> draws = table.sample(5, rng=0)
>>> bool((draws != 3).all())   # weight-0 items are never drawn
True
"""
from __future__ import annotations

import struct
import threading
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from negsamp import _alias
from negsamp._format import CRC, PREFIX, Reader, as_bytes, check_crc, frame, open_frame
from negsamp._rng import RNGLike, draw_key
from negsamp._threads import resolve_n_threads
from negsamp._validation import (
    c_array,
    as_index_array, as_keys, as_out, as_power, as_size, as_weights, describe, element_count,
    numeric_array, state_field, uninitialised_repr,
)

__all__ = ["AliasTable"]

_MAGIC = b"NSALIAS\x00"
_FORMAT_VERSION = 1
_HEADER = struct.Struct("<Q")  # n, after the framing's magic and version
_INT32_MAX = 2**31 - 1


class AliasTable:
    """A reusable table for O(1) draws with replacement from a discrete law.

    Parameters
    ----------
    weights : array_like, 1-D, integer or floating
        Non-negative finite weights with a positive sum; item ``i`` is drawn
        with probability ``weights[i] / weights.sum()`` up to float64
        rounding (an absolute error of a few units of ``2**-53`` for most
        items; see Notes).  Weights of any
        float64 magnitude neither overflow nor underflow: they are divided
        by their maximum before summing.  Items of weight 0 are never drawn.
        The caller's array is not modified.

    Notes
    -----
    Built in O(n) time in float64 (Vose's method, with the residual-rounding
    guard that gives leftover columns probability 1), in three passes over
    the weights.  Memory for n < 2**32 items: 12 bytes per item, an 8-byte
    entry that draws read (the 32 high bits of the column's threshold and
    its alias) and 4 bytes of the threshold's low bits, read only when a
    draw's 32-bit coin ties with the high bits (probability 2**-32); larger
    tables take 16 bytes per item.  Each draw costs one 64-bit random word
    (its high half picks the column by Lemire's method, its low half is the
    coin) and one table lookup; the words come from 16 interleaved
    xoshiro256++ streams that the CPU steps with SIMD, and the entries of
    the draws ahead are prefetched, so that tables larger than the cache
    keep many memory loads in flight.

    Precision: a column keeps its item when a 53-bit coin is below its
    threshold ``t`` (an integer in [0, 2**53]), so item i is drawn with
    probability ``(t_i + sum(2**53 - t_j for columns j aliased to i)) /
    (n * 2**53)``, a multiple of ``2**-53 / n``.  (The coin is compared 32
    bits first, then, on a tie only, 21 more bits with the stored low bits
    of ``t``: the same event as comparing all 53 at once.)  The thresholds
    are Vose's float64 column probabilities rounded up to a multiple of
    ``2**-53``; the build's rounding adds up along the columns an item is
    the alias of.
    The test suite checks ``|probabilities - p| <= (8 + n * p) * 2**-53``
    with ``p = weights / weights.sum()`` (absolute: a few units of 2**-53
    for items of share below 1 / n, more for heavy items of large tables)
    on random weight vectors spanning 1e-300 to 1e300 and other shapes with
    n up to 10**5; this is not a proven bound for every
    weight vector.  Items whose share is below about ``2**-53 / n`` are
    drawn with a probability that is off in relative terms:
    ``AliasTable([1.0, 1e-300]).probabilities[1]`` is ``2**-54``.  The law
    actually drawn is :attr:`probabilities` (computed in float64 from the
    integer thresholds).

    Tables are immutable: one table may be shared by many threads, pickled,
    or serialised with :meth:`to_bytes`.
    """

    # A table is held in one of two layouts (csrc/ns_alias.h): compact
    # (_hot, _low) for n <= _alias.COMPACT_MAX, else full (_full).
    __slots__ = ("_full", "_hot", "_low", "_probabilities", "_lock", "__weakref__")

    def __init__(self, weights: Any) -> None:
        w = _build_input(weights)
        try:
            if w.shape[0] <= _alias.COMPACT_MAX:
                hot, low, _, _ = _alias.build_compact(w)
                self._set_layouts(None, hot, low)
            else:  # pragma: no cover - needs 64 GiB
                table, _, _ = _alias.build(w)
                self._set_layouts(table, None, None)
        except ValueError:
            # The build checked every weight; the shared check names the bad one.
            as_weights(w, "weights")
            raise

    # -- construction -----------------------------------------------------
    def _set_layouts(self, full: Optional[np.ndarray], hot: Optional[np.ndarray],
                     low: Optional[np.ndarray]) -> None:
        for arr in (full, hot, low):
            if arr is not None:
                arr.flags.writeable = False
        self._full = full
        self._hot = hot
        self._low = low
        self._probabilities: Optional[np.ndarray] = None
        self._lock = threading.Lock()

    def _set_table(self, table: np.ndarray) -> None:
        """Adopts a checked full-layout table (kept compact when n allows)."""
        if table.shape[0] <= _alias.COMPACT_MAX:
            hot, low = _alias.make_compact(table)
            self._set_layouts(None, hot, low)
        else:  # pragma: no cover - needs 64 GiB
            self._set_layouts(table, None, None)

    @property
    def _table(self) -> np.ndarray:
        """The full layout (TABLE_DTYPE, read-only): the stored one, or a new
        array expanded from the compact one (not kept)."""
        if self._full is not None:
            return self._full
        assert self._hot is not None and self._low is not None
        table: np.ndarray = _alias.expand(self._hot, self._low)
        table.flags.writeable = False
        return table

    def _arrays(self) -> Tuple[np.ndarray, ...]:
        return tuple(a for a in (self._full, self._hot, self._low) if a is not None)

    @classmethod
    def _from_table(cls, table: np.ndarray) -> "AliasTable":
        """Wraps an already-built (and checked) table array."""
        self = cls.__new__(cls)
        self._set_table(table)
        return self

    @classmethod
    def from_counts(cls, counts: Any, power: float = 0.75) -> "AliasTable":
        """The word2vec noise distribution: weights ``counts ** power``.

        Mikolov et al. 2013 use ``power=0.75``.  Items with count 0 keep
        weight 0 for every power (they are never drawn).  Counts are divided
        by their maximum before the power is taken, so large counts and
        large powers do not overflow.
        """
        c = as_weights(counts, "counts")
        power = as_power(power)
        scaled = c / c.max()
        w = np.zeros_like(scaled)
        nz = scaled > 0
        with np.errstate(under="ignore"):
            w[nz] = scaled[nz] ** power
        if not (w.max() > 0):  # pragma: no cover - max count scales to 1
            raise ValueError("counts ** power underflowed to all zeros")
        return cls(w)

    # -- sampling ---------------------------------------------------------
    def sample(
        self,
        size: Union[int, Tuple[int, ...]] = 1,
        rng: RNGLike = None,
        *,
        n_threads: Optional[int] = None,
        dtype: Any = np.int64,
        keys: Any = None,
        out: Optional[np.ndarray] = None,
    ) -> np.ndarray:
        """Independent draws with replacement.

        Parameters
        ----------
        size : int or tuple of ints
            Shape of the result.
        rng : None, int, SeedSequence or Generator
            Source of randomness (SPEC 7).  One 128-bit key is taken from it
            per call, so the same state and arguments give the same output
            for every ``n_threads``.
        n_threads : int, optional
            None: the default (:func:`negsamp.set_num_threads`, NEGSAMP_NUM_THREADS, all cores); -1 all cores; capped at the cores.
        dtype : int64 or int32
            int32 requires ``len(self) <= 2**31 - 1``.
        keys : array_like of int, 1-D, optional
            With a 2-D ``size = (n_rows, k)``: one non-negative key per row
            (reproducible by row, see ``NegativeSampler.sample``).  Row ``i``
            is then drawn from its own stream seeded from the key taken
            from ``rng`` and ``keys[i]``, so it depends on those and ``k``
            only: not on the other rows, their order, ``n_rows``,
            ``n_threads`` or how rows are split into calls.  Equal keys
            give equal rows.  Same law.  ValueError (naming keys) with a
            size that is not 2-D or a wrong number of keys.
        out : numpy.ndarray, optional
            NumPy's ``out=``: a writeable, C-contiguous, aligned array of
            shape ``size`` and dtype ``dtype`` (TypeError for a non-array or
            another dtype, ValueError otherwise; nothing is written then),
            that shares no memory with ``keys``.  The draws are written into
            it in place (the same values as without ``out``) and it is
            returned.

        Returns
        -------
        numpy.ndarray of shape ``size`` and the given dtype, C-contiguous
        (``out`` when given).

        Notes
        -----
        O(1) per draw.  Draws are cut into blocks of a fixed size, each
        with its own stream derived from the call's key and the block index;
        threads run the blocks with the GIL released.
        """
        shape = as_size(size, "size")
        out_dtype = _as_index_dtype(dtype, len(self))
        count = element_count(shape, f"size {describe(size)}", np.dtype(out_dtype).itemsize)
        threads = resolve_n_threads(n_threads)
        if keys is not None:
            if len(shape) != 2:
                raise ValueError(f"keys (one per row) need a 2-D size (n_rows, k), got "
                                 f"size {describe(size)}")
            row_keys = as_keys(keys, shape[0], "row")
            assert row_keys is not None
            buffer = as_out(out, shape, out_dtype, row_keys, *self._arrays(), name="out")
            k0, k1 = draw_key(rng)
            rows: np.ndarray = _alias.sample_rows(self._full, self._hot, self._low, row_keys,
                                                  shape[1], k0, k1, threads, out_dtype, buffer)
            return rows
        buffer = as_out(out, shape, out_dtype, *self._arrays(), name="out")
        k0, k1 = draw_key(rng)
        flat: np.ndarray = _alias.sample(self._full, self._hot, self._low, count, k0, k1,
                                         threads, out_dtype, buffer)
        return flat.reshape(shape) if buffer is None else buffer

    # -- the law ----------------------------------------------------------
    @property
    def probabilities(self) -> np.ndarray:
        """The law drawn by the table (read-only float64, sums to 1): the
        integer thresholds' law, within a float64 rounding or two of it
        (relative); see the class notes for how far it can be from
        ``weights / weights.sum()``."""
        probs = self._probabilities
        if probs is None:
            with self._lock:
                probs = self._probabilities
                if probs is None:
                    probs = _alias.probabilities(self._full, self._hot, self._low)
                    probs.flags.writeable = False
                    self._probabilities = probs
        return probs

    def log_prob(self, ids: Any) -> np.ndarray:
        """log q(i) for each id (-inf for items of weight 0), same shape as
        ``ids``.  For sampled-softmax and logQ correction."""
        idx = as_index_array(ids, len(self), "ids")
        p = self.probabilities[idx]
        with np.errstate(divide="ignore"):
            logp: np.ndarray = np.log(p)
        return logp

    def __len__(self) -> int:
        layout = self._hot if self._hot is not None else self._full
        assert layout is not None
        return int(layout.shape[0])

    def __repr__(self) -> str:
        blank = uninitialised_repr(self, "_hot")
        if blank:
            return str(blank)
        p = self.probabilities
        nonzero = int(np.count_nonzero(p))
        return (
            f"AliasTable(n={len(self)}, nonzero={nonzero}, "
            f"max_prob={float(p.max()):.6g}, min_nonzero_prob="
            f"{float(p[p > 0].min()):.6g})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AliasTable):
            return NotImplemented
        if len(self) != len(other):
            return False
        # Both layouts hold the same thresholds and aliases: compare like with like.
        if self._hot is not None and other._hot is not None:
            assert self._low is not None and other._low is not None
            return bool(np.array_equal(self._hot.view(np.uint8), other._hot.view(np.uint8))
                        and np.array_equal(self._low, other._low))
        return bool(np.array_equal(self._table.view(np.uint8), other._table.view(np.uint8)))

    __hash__ = None  # type: ignore[assignment]

    # -- serialisation ----------------------------------------------------
    def __getstate__(self) -> Dict[str, Any]:
        return {"table": self._table}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        table = _checked_table(state_field(state, "table", object, what="AliasTable state"))
        self._set_table(table)

    def to_bytes(self) -> bytes:
        """Serialisation: a header, the 16-byte entries of the full layout,
        a CRC-32."""
        return frame(_MAGIC, _FORMAT_VERSION, _HEADER.pack(len(self)), self._table.tobytes())

    @classmethod
    def from_bytes(cls, data: Any) -> "AliasTable":
        """Inverse of :meth:`to_bytes`.  Truncated, corrupted or foreign bytes
        raise ValueError; a table that loads can never draw out of range."""
        data = as_bytes(data)
        open_frame(data, _MAGIC, "AliasTable", (_FORMAT_VERSION,), _HEADER.size)
        reader = Reader(data, "table")
        (n,) = reader.unpack(_HEADER)
        expected = PREFIX.size + _HEADER.size + n * _alias.TABLE_DTYPE.itemsize + CRC.size
        if n == 0 or len(data) != expected:
            raise ValueError(
                f"data is truncated or padded: header says n={n} "
                f"({expected} bytes), got {len(data)} bytes"
            )
        check_crc(data, length_checked=True)
        return cls._from_table(_checked_table(reader.array(_alias.TABLE_DTYPE, n)))


def _checked_table(table: Any) -> np.ndarray:
    if not isinstance(table, np.ndarray) or table.dtype != _alias.TABLE_DTYPE or table.ndim != 1:
        raise ValueError("state is not a valid AliasTable table")
    checked: np.ndarray = c_array(table).copy()
    _alias.check(checked)
    return checked


def table_entries(table: AliasTable) -> np.ndarray:
    """The read-only TABLE_DTYPE entries of ``table``, as the C kernels read
    them (internal to negsamp: the sampling law of NegativeSampler holds
    them; not part of the public API).  For a compact table they are
    expanded once and kept (a law holds that same array)."""
    if table._full is None:
        with table._lock:
            if table._full is None:
                table._full = table._table
    assert table._full is not None
    return table._full


def _build_input(weights: Any) -> np.ndarray:
    """The weights as the build reads them: a float array of the right shape
    is only made contiguous float64, since the build itself checks every
    weight (finite, >= 0, positive sum) and, when one fails, the caller
    asks as_weights for the message naming it; other inputs go through
    as_weights first."""
    arr = numeric_array(weights, "weights")
    if arr.ndim == 1 and arr.shape[0] > 0 and arr.dtype.kind == "f":
        return c_array(arr, np.float64)
    return as_weights(arr, "weights")


def _as_index_dtype(dtype: Any, n: int) -> np.dtype:
    try:
        dt: np.dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be int64 or int32, got {describe(dtype)}") from None
    if dt == np.int64:
        return dt
    if dt == np.int32:
        if n > _INT32_MAX:
            raise ValueError(f"dtype int32 cannot hold ids of a table of n={n} items")
        return dt
    raise TypeError(f"dtype must be int64 or int32, got {dt}")
