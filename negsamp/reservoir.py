"""Streaming reservoir samples of fixed size k: uniform (Algorithm L) and
weighted (A-ExpJ), exactly mergeable, picklable and serialisable.

Example
-------
>>> import numpy as np, negsamp
>>> res = negsamp.Reservoir(3, rng=0)
>>> for start in range(0, 1000, 100):
...     res.update(np.arange(start, start + 100))
>>> res.count, len(res.sample)
(1000, 3)
>>> w = negsamp.WeightedReservoir(2, rng=0)
>>> w.update(np.array([10, 11, 12, 13]), weights=[1.0, 0.0, 5.0, 2.0])
>>> bool(11 not in w.sample)   # weight-0 items are never kept
True
"""
from __future__ import annotations

import ast
import math
import struct
from typing import Any, Dict, List, Optional, Tuple, Type

import numpy as np

from negsamp import _reservoir
from negsamp._format import Reader, as_bytes, check_crc, frame, open_frame
from negsamp._negsamp_runtime import RLock as _RLock, acquire_both, release_both
from negsamp._rng import RNGLike, draw_key
from negsamp._validation import (
    c_array, as_int, as_iterable_array, as_out, describe, require_kind, state_field,
    uninitialised_repr,
)

__all__ = ["Reservoir", "WeightedReservoir"]

_NEVER = 2**63 - 1  # csrc NS_NEVER: no further item will be accepted
#: Reservoir: 2 holds the k items of a reservoir that saw >= k in uniformly
#: random order (merges take a side's first items); 1 (negsamp 0.1.0) kept
#: the fill in stream order, and is shuffled on load.
_UNIFORM_FORMAT = 2
#: WeightedReservoir: 2 keeps keys log(w) - log(E) and the remaining jump in
#: units of Exp(1); 1 (negsamp 0.1.0) kept log keys -E / w and the jump in
#: units of weight, and is converted on load.
_WEIGHTED_FORMAT = 2
_MAGIC_UNIFORM = b"NSRESV\x00\x01"
_MAGIC_WEIGHTED = b"NSRESV\x00\x02"
_UNIFORM_HEADER = struct.Struct("<qqqdI")  # k, count, next, w, dtype length
_WEIGHTED_HEADER = struct.Struct("<qqqddI")  # k, count, size, remaining, total, dtype length
_STATE = struct.Struct("<4Q")
#: The heap of a merged reservoir that holds nothing (never written: a
#: reservoir's buffers are replaced, not grown in place).
_EMPTY_KEYS = np.empty(0, dtype=np.float64)
_EMPTY_SLOTS = np.empty(0, dtype=np.int64)
_EMPTY_KEYS.flags.writeable = False
_EMPTY_SLOTS.flags.writeable = False
_SLOTS = _EMPTY_SLOTS
#: A new instance of a class without running its __init__ (merges make
#: their output this way).
_new_object = object.__new__


#: Views _SLOTS[:n] already made, by n (merges of one k all ask for the
#: same few); at most _SLOT_VIEWS_MAX of them are kept.
_SLOT_VIEWS: Dict[int, np.ndarray] = {}
_SLOT_VIEWS_MAX = 64


def _first_slots(n: int) -> np.ndarray:
    """Slots 0..n-1, read-only: those of a merged weighted reservoir, which
    holds its item j in slot j and replaces (never writes into) them when
    its keys are first made a heap (_ensure_heap).  One shared array, grown
    as needed."""
    global _SLOTS
    view = _SLOT_VIEWS.get(n)
    if view is not None:
        return view
    slots = _SLOTS
    if slots.shape[0] < n:
        slots = np.arange(max(n, 2 * slots.shape[0]), dtype=np.int64)
        slots.flags.writeable = False
        _SLOTS = slots
    view = slots[:n]
    if len(_SLOT_VIEWS) < _SLOT_VIEWS_MAX:
        _SLOT_VIEWS[n] = view
    return view


# -- input conversion -------------------------------------------------------
def _items_key(items: Optional[np.ndarray]) -> Any:
    """The held items as a comparable value: no items (never fed, or a
    merge that kept none) is one value, whatever its array."""
    if items is None or items.shape[0] == 0:
        return None
    return items.tolist() if items.dtype.hasobject else items.tobytes()


def _as_items(items: Any, dtype: Optional[np.dtype], name: str = "items") -> Optional[np.ndarray]:
    """``items`` as a 1-D array of the reservoir's dtype (a view, never
    modified), or None for an empty non-array chunk.

    A NumPy array must have exactly the reservoir's dtype (TypeError
    otherwise).  Any other iterable goes through ``np.asarray`` (sets,
    generators and dict views through ``list`` first); its dtype may then be
    cast to the reservoir's when numpy deems the cast safe, or between
    integer dtypes when every value fits."""
    if isinstance(items, np.ndarray):
        arr = items
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}")
        if dtype is None:
            _check_item_size(arr.dtype, name)
        if dtype is not None and arr.dtype != dtype:
            raise TypeError(
                f"{name} has dtype {arr.dtype} but this reservoir holds dtype {dtype} "
                "(all chunks of one reservoir must share one dtype)"
            )
        return arr
    arr = as_iterable_array(items, name, "a 1-D array or an iterable of items")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.shape[0] == 0:
        return None
    if dtype is None:
        _check_item_size(arr.dtype, name)
    if dtype is None or arr.dtype == dtype:
        return arr
    if np.can_cast(arr.dtype, dtype, "safe"):
        return arr.astype(dtype)
    if arr.dtype.kind in "iu" and dtype.kind in "iu":
        info = np.iinfo(dtype)
        if int(arr.min()) >= info.min and int(arr.max()) <= info.max:
            return arr.astype(dtype)
    raise TypeError(
        f"{name} has dtype {arr.dtype} but this reservoir holds dtype {dtype} "
        "(all chunks of one reservoir must share one dtype)"
    )


def _check_item_size(dtype: np.dtype, name: str) -> None:
    """Items of size 0 (e.g. ``np.dtype([('f0', '<U')])``) would let a
    count of items cost memory without any data behind it."""
    if dtype.itemsize == 0:
        raise TypeError(f"{name} has dtype {dtype} of item size 0; a reservoir needs "
                        "items of at least one byte")


def _state_words(state: np.ndarray) -> List[int]:
    return [int(x) for x in state]


def _merge_key(rng: RNGLike, a: "_Base", b: "_Base") -> Tuple[int, int]:
    """The 128-bit key of a merge: one key drawn from ``rng`` when given,
    else a hash of both reservoirs' states and counts (so a merge is
    deterministic given its inputs)."""
    if rng is not None:
        return draw_key(rng)
    return _reservoir.derive_key(a._state, b._state, a._count, b._count, a._k)


def _dtype_to_text(dtype: Optional[np.dtype]) -> bytes:
    if dtype is None:
        return b""
    if dtype.hasobject:
        raise TypeError(
            f"a reservoir of dtype {dtype} holds Python objects and cannot be "
            "serialised with to_bytes(); use pickle"
        )
    return repr(np.lib.format.dtype_to_descr(dtype)).encode("utf-8")


def _dtype_from_text(text: bytes) -> Optional[np.dtype]:
    if not text:
        return None
    try:
        dtype = np.lib.format.descr_to_dtype(ast.literal_eval(text.decode("utf-8")))
    except Exception:
        raise ValueError("data is corrupted: the item dtype cannot be parsed") from None
    if dtype.hasobject or dtype.itemsize == 0:
        raise ValueError(f"data is corrupted: the item dtype {dtype} is an object dtype or "
                         "has item size 0")
    return dtype


# -- shared machinery -------------------------------------------------------
class _Base:
    __slots__ = (
        "_k", "_count", "_state", "_dtype", "_items", "_slot_pos", "_touched",
        "_lock", "__weakref__",
    )

    def _init_common(self, k: Any, rng: RNGLike) -> None:
        k = as_int(k, "k", minimum=1)  # checked before the caller's generator is touched
        k0, k1 = draw_key(rng)
        self._init_state(k, _reservoir.seed_state(k0, k1))

    def _init_state(self, k: int, state: np.ndarray) -> None:
        self._k = k
        self._count = 0
        self._state = state
        self._dtype: Optional[np.dtype] = None
        self._items: Optional[np.ndarray] = None
        # Capacity 0: the first update allocates (_grow replaces, never
        # writes into, these).
        self._slot_pos = _EMPTY_SLOTS
        self._touched = _EMPTY_SLOTS
        # (the runtime's: fields read under the GIL, an OS lock only for a
        # thread that has to wait)
        self._lock = _RLock()

    def _filled(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def _capacity(self) -> int:
        return int(self._slot_pos.shape[0])

    def _grow(self, needed: int) -> None:
        """Buffers grow geometrically up to k (a reservoir of large k fed a
        short stream does not allocate k slots)."""
        cap = self._capacity()
        if needed <= cap and self._items is not None:
            return
        new_cap = min(self._k, max(needed, 2 * cap, 16))
        items = np.empty(new_cap, dtype=self._dtype)
        filled = self._filled()
        if self._items is not None and filled:
            items[:filled] = self._items[:filled]
        self._items = items
        self._slot_pos = np.full(new_cap, -1, dtype=np.int64)
        self._touched = np.empty(new_cap, dtype=np.int64)
        self._grow_extra(new_cap)

    def _grow_extra(self, new_cap: int) -> None:
        pass

    def _state_dict(self) -> Dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _restore(self, state: Dict[str, Any]) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _copy_touched(self, chunk: np.ndarray, n_touched: int) -> None:
        if n_touched:
            slots = self._touched[:n_touched]
            positions = self._slot_pos[slots]
            self._items[slots] = chunk[positions]  # type: ignore[index]
            self._slot_pos[slots] = -1

    def _set_dtype(self, arr: np.ndarray) -> None:
        if self._dtype is None:
            self._dtype = arr.dtype

    @property
    def k(self) -> int:
        """Size of the sample once at least k items were seen."""
        return self._k

    @property
    def count(self) -> int:
        """Number of items seen (for WeightedReservoir: including weight 0)."""
        return self._count

    @property
    def dtype(self) -> Optional[np.dtype]:
        """dtype of the items (fixed by the first chunk; None before)."""
        return self._dtype

    @property
    def sample(self) -> np.ndarray:
        """The current sample as a new 1-D array (its order is unspecified):
        :meth:`get_sample` without ``out``."""
        return self.get_sample()

    def get_sample(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        """The current sample, a 1-D array of ``len(self)`` items of
        :attr:`dtype` (float64 before the first chunk), in unspecified order.

        Parameters
        ----------
        out : numpy.ndarray, optional
            Where to write it (NumPy's convention): a writeable, C-contiguous
            array of exactly that shape and dtype, not sharing memory with
            the reservoir.  TypeError (not an array, wrong dtype) or
            ValueError otherwise, before anything is written.

        Returns
        -------
        numpy.ndarray
            ``out`` when given, else a new array.  O(len(self)).
        """
        with self._lock:
            n = self._filled()
            dtype = self._dtype if self._dtype is not None else np.float64
            buf = as_out(out, (n,), dtype, self._items, name="out")
            if buf is None:
                if self._items is None:
                    return np.empty(0, dtype=dtype)
                return self._items[:n].copy()
            if n:
                buf[...] = self._items[:n]  # type: ignore[index]
            return buf

    def __len__(self) -> int:
        return self._filled()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return bool(self.to_state_tuple() == other.to_state_tuple())  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def _merge(self, other: Any, rng: RNGLike) -> Any:
        """merge: checks the partner, then holds both locks -- taken in one
        fixed order, so that two merges of the same pair from two threads
        cannot deadlock -- while the counts are checked, the key drawn (from
        rng; None: the kernel derives it from both states) and the merged
        reservoir made: by the subclass's _merged(other, key, dtype, out),
        which gives `out` its state (_init_state) and items, or here when
        neither side saw an item (only its stream)."""
        if type(other) is not type(self):
            raise TypeError(
                f"other must be a {type(self).__name__}, got {type(other).__name__}"
            )
        if other is self:
            raise ValueError("cannot merge a reservoir with itself (the streams must be disjoint)")
        if other._k != self._k:
            raise ValueError(f"cannot merge reservoirs of different k: {self._k} and {other._k}")
        if (self._dtype is not other._dtype and self._dtype is not None
                and other._dtype is not None and self._dtype != other._dtype):
            raise TypeError(
                f"cannot merge reservoirs of different dtypes: {self._dtype} and {other._dtype}"
            )
        acquire_both(self._lock, other._lock)
        try:
            if self._count > _NEVER - 1 - other._count:
                raise ValueError("merged count would overflow int64")
            key = None if rng is None else draw_key(rng)
            dtype = self._dtype if self._dtype is not None else other._dtype
            out = _new_object(type(self))
            if dtype is None:
                k0, k1 = key if key is not None else _merge_key(None, self, other)
                out._init_state(self._k,
                                _reservoir.seed_state(k0, k1, _reservoir.MERGE_STATE))
                out._init_empty()
            else:
                self._merged(other, key, dtype, out)
            out._count = self._count + other._count
            return out
        finally:
            release_both(self._lock, other._lock)

    def _init_empty(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _merged(self, other: Any, key: Optional[Tuple[int, int]], dtype: np.dtype,
                out: Any) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __getstate__(self) -> Dict[str, Any]:
        with self._lock:
            return self._state_dict()

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise ValueError(f"state of a {type(self).__name__} must be a dict")
        self._restore(state)

    def __reduce__(self) -> Tuple[Any, ...]:
        return (_unpickle, (type(self), self.__getstate__()))


def _unpickle(cls: Type[_Base], state: Dict[str, Any]) -> _Base:
    self = cls.__new__(cls)
    self.__setstate__(state)
    return self


def _get(state: Dict[str, Any], key: str, kind: type, lo: Any = None, hi: Any = None) -> Any:
    return state_field(state, key, kind, lo, hi, what="reservoir state")


def _checked_rng_state(value: Any) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype != np.uint64 or arr.shape != (4,):
        raise ValueError("reservoir state 'rng_state' must be 4 uint64 words")
    if not arr.any():
        raise ValueError("reservoir state 'rng_state' is all zeros")
    return np.array(arr, dtype=np.uint64, copy=True)


def _checked_items(value: Any, dtype: Any, n: int) -> Tuple[Optional[np.dtype], Optional[np.ndarray]]:
    if dtype is None:
        if n:
            raise ValueError("reservoir state has items but no dtype")
        return None, None
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"reservoir state has a bad dtype {describe(dtype)}") from None
    if dt.itemsize == 0:
        raise ValueError(f"reservoir state 'dtype' {dt} has item size 0")
    if np.empty(0, dtype=dt).dtype != dt:
        # NumPy has no array of a non-native generic datetime or timedelta
        # ('>m8' makes '<m8' arrays), and a reservoir's dtype must be its
        # items': negsamp never writes one.
        raise ValueError(f"reservoir state 'dtype' {dt.str} is not a dtype NumPy arrays can "
                         f"have (they get {np.empty(0, dtype=dt).dtype.str})")
    arr = np.asarray(value) if value is not None else np.empty(0, dtype=dt)
    if arr.dtype != dt and np.can_cast(arr.dtype, dt, "equiv"):
        # numpy unpickles a non-native array (e.g. '>i4') in native byte
        # order: same values, another dtype.
        arr = arr.astype(dt)
    if arr.dtype != dt or arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"reservoir state 'items' must be a 1-D array of {n} items of dtype {dt}"
        )
    return dt, arr


# -- uniform ----------------------------------------------------------------
class Reservoir(_Base):
    """A uniform sample without replacement of fixed size k from a stream.

    Parameters
    ----------
    k : int >= 1
        Sample size.  While fewer than k items were seen the sample holds
        all of them.
    rng : None, int, SeedSequence or Generator
        The reservoir takes ONE 128-bit key from it at construction and
        owns its xoshiro256++ stream afterwards (SPEC 7).

    Notes
    -----
    Law: after n items, :attr:`sample` is a uniformly random subset of size
    ``min(k, n)`` of the items seen; each item is kept with probability
    ``min(1, k / n)``, whatever the chunking of the stream.

    Algorithm L (Li 1994): the gap to the next accepted item is drawn
    directly (geometric given the current threshold W), and carried across
    chunks, so :meth:`update` costs O(1 + items accepted from the chunk),
    independent of the chunk length, and a stream of n items uses
    O(k (1 + log(n / k))) random numbers.  Items are never read by the
    update kernel; accepted ones are copied with numpy indexing (a merge
    copies them as bytes, or with numpy for object dtypes), so any dtype
    works, including ``object`` (pickle only) and structured dtypes.

    The reservoir is thread-safe (a lock guards updates and merges), pickles,
    and serialises with :meth:`to_bytes`; a restored reservoir continues
    bit-identically.
    """

    __slots__ = ("_w", "_next")

    def __init__(self, k: int, rng: RNGLike = None) -> None:
        self._init_common(k, rng)
        self._w = 1.0
        self._next = _NEVER

    def _filled(self) -> int:
        return min(self._k, self._count)

    def update(self, items: Any) -> None:
        """Feeds the next chunk of the stream.

        Parameters
        ----------
        items : 1-D numpy array or iterable
            All chunks of one reservoir share one dtype (the first chunk's):
            an array of another dtype raises TypeError.  Other iterables are
            converted with ``np.asarray`` (sets, generators and other
            iterables that are not sequences via ``list``) and cast to the
            reservoir's dtype when that is safe.  Not modified.

        Notes
        -----
        O(1 + accepted) once k items were seen; O(min(k, len)) before.
        The GIL is released in the C kernel.  On error nothing changes.
        """
        with self._lock:
            arr = _as_items(items, self._dtype)
            if arr is None:
                return
            length = int(arr.shape[0])
            if self._count > _NEVER - 1 - length:
                raise ValueError("count would overflow int64")
            if self._dtype is None and length == 0:
                return
            self._set_dtype(arr)
            k = self._k
            self._grow(min(k, self._count + length))
            state = self._state.copy()
            count, w, nxt = self._count, self._w, self._next
            if count < k <= count + length:
                # The fill completes in this chunk: its k items are put in
                # uniformly random order (merges take their first picks),
                # then the rest of the chunk.
                fill = k - count
                count, w, nxt, n_touched = _reservoir.uniform_update(
                    state, k, count, w, nxt, fill, self._slot_pos, self._touched)
                self._copy_touched(arr[:fill], n_touched)
                perm = _reservoir.uniform_shuffle(state, k)
                self._items[:k] = self._items[perm]  # type: ignore[index]
                arr, length = arr[fill:], length - fill
            if length:
                count, w, nxt, n_touched = _reservoir.uniform_update(
                    state, k, count, w, nxt, length, self._slot_pos, self._touched)
                self._copy_touched(arr, n_touched)
            self._state = state
            self._count, self._w, self._next = count, w, nxt

    def merge(self, other: "Reservoir", rng: RNGLike = None) -> "Reservoir":
        """A new reservoir with exactly the law of one reservoir fed both
        streams (neither input changes).

        Parameters
        ----------
        other : Reservoir
            Same k; same dtype (or one side empty).  Its stream must be
            disjoint from this one's.
        rng : None, int, SeedSequence or Generator
            Randomness of the merge.  None derives it from the two
            reservoirs' states, so a merge is deterministic given its inputs,
            and takes each side's first items (see Notes).  Given, it also
            draws fresh picks from each side: merging one reservoir several
            times (with different rngs) then gives independent picks, at
            the cost of one more random number per item.

        Notes
        -----
        With counts n1, n2 and m = min(k, n1 + n2): the m output slots are
        drawn one by one, slot j from this side with probability (n1 - x) /
        (n1 + n2 - j), x being the slots before it from this side (so the
        number taken from this side is exactly hypergeometric; k random
        numbers).  A reservoir that saw at least k items holds them in
        uniformly random order (its fill is shuffled once, and Algorithm L
        replaces uniformly random slots), so a slot takes the next item of
        its side in that order; a side that saw fewer than k items (it holds
        all of them) is shuffled as it is picked from.  The merged sample
        is then again a uniform subset of the union in uniformly random
        order: exact in every case, over the randomness of the reservoirs
        and of the merge.  The merged reservoir continues Algorithm L: its
        threshold W is drawn from its exact conditional law, Beta(k, n - k +
        1) (the k-th smallest of n uniform keys, independent of which items
        are kept), and the gap to the next acceptance is geometric given W.
        O(k) time, one C call.
        """
        return self._merge(other, rng)  # type: ignore[no-any-return]

    def _init_empty(self) -> None:
        self._w, self._next = 1.0, _NEVER

    def _merged(self, other: "Reservoir", key: Optional[Tuple[int, int]], dtype: np.dtype,
                out: "Reservoir") -> None:
        # One call: the key, the picks, the items copied into a new array
        # (the merged reservoir's buffers grow on its first update), W,
        # next.
        state, items, out._w, out._next = _reservoir.uniform_merge(
            key, self._state, other._state, self._k, self._count, other._count, dtype,
            self._items, other._items, key is not None)
        out._init_state(self._k, state)
        out._dtype, out._items = dtype, items

    # -- state and serialisation --------------------------------------------
    def _state_dict(self) -> Dict[str, Any]:
        n = self._filled()
        return {
            "format": _UNIFORM_FORMAT,
            "k": self._k,
            "count": self._count,
            "w": self._w,
            "next": self._next,
            "rng_state": self._state.copy(),
            "dtype": self._dtype,
            "items": None if self._items is None else self._items[:n].copy(),
        }

    def to_state_tuple(self) -> Tuple[Any, ...]:
        """(k, count, w, next, rng words, dtype, item bytes): everything that
        determines the future of the reservoir (for tests and equality)."""
        d = self.__getstate__()
        return (d["k"], d["count"], d["w"], d["next"], tuple(_state_words(d["rng_state"])),
                d["dtype"], _items_key(d["items"]))

    def _restore(self, state: Dict[str, Any]) -> None:
        k = _get(state, "k", int, 1)
        count = _get(state, "count", int)
        w = _get(state, "w", float, 0.0, 1.0)
        nxt = _get(state, "next", int)
        if w == 0.0:
            raise ValueError("reservoir state 'w' must be > 0, got 0.0")
        if count >= k and nxt < count:
            raise ValueError(f"reservoir state 'next' must be >= count={count} once k={k} "
                             f"items were seen, got {nxt}")
        rng_state = _checked_rng_state(_get(state, "rng_state", object))
        dtype, items = _checked_items(state.get("items"), state.get("dtype"), min(k, count))
        # Pickles of negsamp 0.1.0 have no "format": format 1.
        fmt = _get(state, "format", int, 1, _UNIFORM_FORMAT) if "format" in state else 1
        if fmt == 1 and count >= k and items is not None:
            # Format 1 kept the fill in stream order: the items are put in
            # uniformly random order, from a stream derived from the state
            # (the reservoir's own stream is left as it was).
            order = _reservoir.seed_state(*_reservoir.derive_key(rng_state, rng_state, count,
                                                                 count, k))
            items = np.asarray(items)[_reservoir.uniform_shuffle(order, k)]
        self._init_state(k, rng_state)
        self._count, self._w, self._next = count, w, nxt
        self._dtype = dtype
        if dtype is not None:
            self._grow(max(min(k, count), 1))
            self._items[: min(k, count)] = items  # type: ignore[index]

    def to_bytes(self) -> bytes:
        """Compact serialisation: header, RNG state, item dtype, items, CRC-32.

        Object dtypes cannot be serialised this way (TypeError); pickle them."""
        with self._lock:
            dtext = _dtype_to_text(self._dtype)
            n = self._filled()
            body = [
                _UNIFORM_HEADER.pack(self._k, self._count, self._next, self._w, len(dtext)),
                _STATE.pack(*_state_words(self._state)),
                dtext,
            ]
            if self._items is not None:
                body.append(self._items[:n].tobytes())
            return frame(_MAGIC_UNIFORM, _UNIFORM_FORMAT, *body)

    @classmethod
    def from_bytes(cls, data: Any) -> "Reservoir":
        """Inverse of :meth:`to_bytes`.  Truncated, corrupted or foreign
        bytes raise ValueError."""
        data = as_bytes(data)
        fmt = open_frame(data, _MAGIC_UNIFORM, "Reservoir", (1, _UNIFORM_FORMAT))
        check_crc(data)
        r = Reader(data, "reservoir")
        k, count, nxt, w, dlen = r.unpack(_UNIFORM_HEADER)
        words = r.unpack(_STATE)
        dtype = _dtype_from_text(r.take(dlen))
        n = min(k, count) if k >= 1 and count >= 0 else -1
        items = r.array(dtype, n) if dtype is not None else None
        r.done()
        self = cls.__new__(cls)
        self._restore({"format": fmt, "k": k, "count": count, "w": w, "next": nxt,
                       "rng_state": np.array(words, dtype=np.uint64),
                       "dtype": dtype, "items": items})
        return self

    def __repr__(self) -> str:
        return uninitialised_repr(self, "_k") or (
            f"Reservoir(k={self._k}, count={self._count}, dtype={self._dtype})")


# -- weighted ---------------------------------------------------------------
class WeightedReservoir(_Base):
    """A weighted sample without replacement of fixed size k from a stream.

    Parameters
    ----------
    k : int >= 1
        Sample size (fewer while fewer than k items of positive weight were
        seen).
    rng : None, int, SeedSequence or Generator
        One 128-bit key is taken at construction (SPEC 7); the reservoir
        owns its stream afterwards.

    Notes
    -----
    Law: the sample has the law of k successive weighted draws without
    replacement from all items seen (item i drawn next with probability
    proportional to its weight among those not yet drawn), whatever the
    chunking.  Items of weight 0 are never kept.

    A-ExpJ (Efraimidis & Spirakis 2006): item i has key ``u_i ** (1 / w_i)``
    and the k largest keys are kept.  Keys are stored as
    ``log(w) - log(E)`` with ``E = -log(u)`` (an increasing function of
    ``u ** (1 / w)``), finite for every positive finite double weight, down
    to 5e-324: the log key ``-E / w`` would overflow to -inf below about
    1e-308 and such items would tie.  Exponential jumps over the exposure
    ``w * exp(-threshold)`` use O(k log(n / k)) random numbers; the C kernel
    still reads every weight once, checking it in the same read, so that
    most items cost a validity test and an addition.  :meth:`merge` is
    exact (top-k keys of the union).  Thread-safe, picklable, serialisable
    with :meth:`to_bytes`.
    """

    # _is_heap: whether _heap_keys[:_size] is a min-heap (with _heap_slots
    # moved along).  A merged reservoir's keys are in no particular order
    # until something needs the heap (_ensure_heap): a tree of merges never
    # builds one.
    __slots__ = ("_heap_keys", "_heap_slots", "_size", "_remaining", "_total", "_is_heap")

    def __init__(self, k: int, rng: RNGLike = None) -> None:
        self._init_common(k, rng)
        self._heap_keys = np.empty(0, dtype=np.float64)
        self._heap_slots = np.empty(0, dtype=np.int64)
        self._size = 0
        self._remaining = 0.0
        self._total = 0.0
        self._is_heap = True

    def _filled(self) -> int:
        return self._size

    def _ensure_heap(self) -> None:
        """Makes the keys a min-heap in place if they are not one (a merged
        reservoir's, before its first update or serialisation), each slot
        moved with its key: deterministic, O(size), in C without the GIL.
        The caller holds the lock.  A merged reservoir's slots are a shared
        read-only view (_first_slots): they are copied first."""
        if self._is_heap:
            return
        n = self._size
        keys, slots = self._heap_keys, self._heap_slots
        if n > 1:
            if not keys.flags.writeable:
                keys = keys.copy()
            if not slots.flags.writeable:
                slots = slots.copy()
            _reservoir.weighted_heapify(keys, slots, n)
            self._heap_keys, self._heap_slots = keys, slots
        self._is_heap = True

    def _grow_extra(self, new_cap: int) -> None:
        keys = np.empty(new_cap, dtype=np.float64)
        slots = np.empty(new_cap, dtype=np.int64)
        keys[: self._size] = self._heap_keys[: self._size]
        slots[: self._size] = self._heap_slots[: self._size]
        self._heap_keys, self._heap_slots = keys, slots

    @property
    def total_weight(self) -> float:
        """Sum of the weights seen."""
        return self._total

    @property
    def keys(self) -> np.ndarray:
        """Keys ``log(w) - log(E)`` (``= -log(-log(u) / w)``) of the sampled
        items, aligned with :attr:`sample` (larger is more likely to stay);
        finite: :meth:`get_keys` without ``out``."""
        return self.get_keys()

    def get_keys(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        """The keys of the sampled items, float64 aligned with
        :meth:`get_sample`.

        Parameters
        ----------
        out : numpy.ndarray, optional
            Where to write them: a writeable, C-contiguous float64 array of
            shape ``(len(self),)`` not sharing memory with the reservoir
            (checked as :meth:`get_sample` checks it).

        Returns
        -------
        numpy.ndarray
            ``out`` when given, else a new array.  O(len(self)).
        """
        with self._lock:
            n = self._size
            buf = as_out(out, (n,), np.float64, self._heap_keys, name="out")
            if buf is None:
                buf = np.empty(n, dtype=np.float64)
            buf[self._heap_slots[:n]] = self._heap_keys[:n]
            return buf

    def update(self, items: Any, weights: Any) -> None:
        """Feeds the next chunk of the stream with its weights.

        Parameters
        ----------
        items : 1-D numpy array or iterable
            As for :meth:`Reservoir.update` (one dtype per reservoir).
        weights : 1-D array_like of real numbers
            Same length as ``items``; finite and >= 0.  Converted to float64
            (a copy unless already float64 and contiguous; not modified).

        Notes
        -----
        O(len) to check and scan the weights, plus O(log k) per accepted
        item.  The chunk is read once: checked and scanned in blocks that
        stay in cache, the heap entries the scan overwrites saved on the
        way, so that a NaN, infinite or negative weight anywhere in the
        chunk -- even its last -- raises ValueError and leaves the
        reservoir, its RNG state and its counters exactly as they were.
        """
        with self._lock:
            arr = _as_items(items, self._dtype)
            w = _as_chunk_weights(weights)
            length = 0 if arr is None else int(arr.shape[0])
            if w.shape[0] != length:
                raise ValueError(
                    f"weights has length {w.shape[0]} but items has length {length}"
                )
            if length == 0:
                return
            if self._count > _NEVER - 1 - length:
                raise ValueError("count would overflow int64")
            # The weights are checked by the kernel as it scans them (one
            # read of the chunk); on a bad one it puts the heap back, and
            # the dtype of a reservoir's first chunk is unset again.
            first_chunk = self._dtype is None
            self._set_dtype(arr)  # type: ignore[arg-type]
            # the kernel needs a min-heap (a merged reservoir's keys are in
            # no particular order until now)
            self._ensure_heap()
            state = self._state.copy()
            try:
                self._grow(min(self._k, self._size + length))
                size, remaining, n_touched, total, bad = _reservoir.weighted_update(
                    state, self._k, w, self._heap_keys, self._heap_slots, self._size,
                    self._remaining, self._slot_pos, self._touched,
                )
            except BaseException:
                if first_chunk:
                    self._dtype, self._items = None, None
                raise
            if bad >= 0:
                if first_chunk:
                    self._dtype, self._items = None, None
                v = float(w[bad])
                what = "finite" if not math.isfinite(v) else "non-negative"
                raise ValueError(f"weights must be {what}, got {v} at index {bad}")
            self._copy_touched(arr, n_touched)  # type: ignore[arg-type]
            self._state = state
            self._size, self._remaining = size, remaining
            self._count += length
            self._total += total

    def merge(self, other: "WeightedReservoir", rng: RNGLike = None) -> "WeightedReservoir":
        """A new reservoir holding the top-k keys of the union: exactly the
        reservoir one would have after feeding both streams (neither input
        changes).

        ``rng`` (None: derived from both states) only seeds the merged
        reservoir's own stream and its next exponential jump, drawn from its
        exact conditional law (memorylessness).  O(k) expected time, one C
        call: the keys are counted into ordered buckets, one branch-free
        pass keeps those above the boundary bucket, and the boundary bucket
        is sorted to keep exactly the top k (heavy ties: O(k log k)).  The
        merged keys are in no particular order (deterministic given the
        inputs); they are made a heap only when needed -- by the first
        :meth:`update`, or by serialisation (:meth:`to_bytes`, pickling,
        :meth:`to_state_tuple`), which therefore rearrange (never change)
        them -- so a tree of merges never builds one, and merging a merged
        reservoir does not.
        """
        return self._merge(other, rng)  # type: ignore[no-any-return]

    def _init_empty(self) -> None:
        self._heap_keys, self._heap_slots = _EMPTY_KEYS, _EMPTY_SLOTS
        self._size, self._remaining, self._total = 0, 0.0, 0.0
        self._is_heap = True

    def _merged(self, other: "WeightedReservoir", key: Optional[Tuple[int, int]],
                dtype: np.dtype, out: "WeightedReservoir") -> None:
        # slots None: 0..size-1 in order (a merged reservoir's, until its
        # heap is built), not read by the kernel
        k = self._k
        (state, out._heap_keys, items, out._remaining,
         size) = _reservoir.weighted_merge(
            key, self._state, other._state, self._count, other._count, k, dtype,
            self._heap_keys, self._heap_slots if self._is_heap else None, self._size,
            self._items, other._heap_keys, other._heap_slots if other._is_heap else None,
            other._size, other._items)
        out._init_state(k, state)
        out._dtype, out._items, out._size = dtype, items, size
        out._heap_slots = _first_slots(size)
        # the merged keys are in no particular order
        out._is_heap = size < 2
        out._total = self._total + other._total

    # -- state and serialisation --------------------------------------------
    def _state_dict(self) -> Dict[str, Any]:
        # states hold min-heaps (the loader checks it)
        self._ensure_heap()
        n = self._size
        return {
            "format": _WEIGHTED_FORMAT,
            "k": self._k,
            "count": self._count,
            "size": n,
            "remaining": self._remaining,
            "total_weight": self._total,
            "heap_keys": self._heap_keys[:n].copy(),
            "heap_slots": self._heap_slots[:n].copy(),
            "rng_state": self._state.copy(),
            "dtype": self._dtype,
            "items": None if self._items is None else self._items[:n].copy(),
        }

    def to_state_tuple(self) -> Tuple[Any, ...]:
        """Everything that determines the future of the reservoir."""
        d = self.__getstate__()
        return (d["k"], d["count"], d["size"], d["remaining"], d["total_weight"],
                d["heap_keys"].tobytes(), d["heap_slots"].tobytes(),
                tuple(_state_words(d["rng_state"])), d["dtype"],
                _items_key(d["items"]))

    def _restore(self, state: Dict[str, Any]) -> None:
        # Pickles of negsamp 0.1.0 have no "format": format 1.
        fmt = _get(state, "format", int, 1, _WEIGHTED_FORMAT) if "format" in state else 1
        k = _get(state, "k", int, 1)
        count = _get(state, "count", int)
        size = _get(state, "size", int, 0, min(k, count))
        remaining = _get(state, "remaining", float, 0.0, math.inf)
        total = _get(state, "total_weight", float, 0.0, math.inf)
        keys = np.asarray(_get(state, "heap_keys", object))
        slots = np.asarray(_get(state, "heap_slots", object))
        if keys.dtype != np.float64 or keys.shape != (size,) or \
                slots.dtype != np.int64 or slots.shape != (size,):
            raise ValueError("reservoir state heap must be float64 keys and int64 slots of length size")
        if fmt == 1:
            keys, remaining = _keys_from_format_1(keys, remaining, size == k)
        if size and not np.isfinite(keys).all():
            raise ValueError("reservoir state 'heap_keys' must be finite")
        if size == k and not math.isfinite(remaining):
            raise ValueError(f"reservoir state 'remaining' must be finite, got {remaining}")
        if size > 1 and (keys[(np.arange(1, size) - 1) // 2] > keys[1:]).any():
            raise ValueError("reservoir state heap keys are not a min-heap")
        if not np.array_equal(np.sort(slots), np.arange(size)):
            raise ValueError("reservoir state heap slots are not a permutation of 0..size-1")
        rng_state = _checked_rng_state(_get(state, "rng_state", object))
        dtype, items = _checked_items(state.get("items"), state.get("dtype"), size)
        self._init_state(k, rng_state)
        self._heap_keys = np.empty(0, dtype=np.float64)
        self._heap_slots = np.empty(0, dtype=np.int64)
        self._size, self._remaining, self._total = 0, remaining, total
        self._is_heap = True
        self._count = count
        self._dtype = dtype
        if dtype is not None:
            self._grow(max(size, 1))
            self._items[:size] = items  # type: ignore[index]
            self._heap_keys[:size] = keys
            self._heap_slots[:size] = slots
        self._size = size

    def to_bytes(self) -> bytes:
        """Compact serialisation: header, RNG state, dtype, heap, items, CRC-32."""
        with self._lock:
            self._ensure_heap()  # the bytes hold a min-heap (from_bytes checks it)
            dtext = _dtype_to_text(self._dtype)
            n = self._size
            body = [
                _WEIGHTED_HEADER.pack(self._k, self._count, n, self._remaining,
                                      self._total, len(dtext)),
                _STATE.pack(*_state_words(self._state)),
                dtext,
                self._heap_keys[:n].tobytes(),
                self._heap_slots[:n].astype("<i8").tobytes(),
            ]
            if self._items is not None:
                body.append(self._items[:n].tobytes())
            return frame(_MAGIC_WEIGHTED, _WEIGHTED_FORMAT, *body)

    @classmethod
    def from_bytes(cls, data: Any) -> "WeightedReservoir":
        """Inverse of :meth:`to_bytes`; bad bytes raise ValueError."""
        data = as_bytes(data)
        fmt = open_frame(data, _MAGIC_WEIGHTED, "WeightedReservoir", (1, _WEIGHTED_FORMAT))
        check_crc(data)
        r = Reader(data, "reservoir")
        k, count, size, remaining, total, dlen = r.unpack(_WEIGHTED_HEADER)
        words = r.unpack(_STATE)
        dtype = _dtype_from_text(r.take(dlen))
        if not 0 <= size <= max(k, 0):
            raise ValueError(f"data is corrupted: size={size} with k={k}")
        keys = r.array("<f8", size).astype(np.float64)
        slots = r.array("<i8", size).astype(np.int64)
        items = r.array(dtype, size) if dtype is not None else None
        r.done()
        self = cls.__new__(cls)
        self._restore({"format": fmt, "k": k, "count": count, "size": size,
                       "remaining": remaining,
                       "total_weight": total, "heap_keys": keys, "heap_slots": slots,
                       "rng_state": np.array(words, dtype=np.uint64),
                       "dtype": dtype, "items": items})
        return self

    def __repr__(self) -> str:
        return uninitialised_repr(self, "_size") or (
            f"WeightedReservoir(k={self._k}, count={self._count}, size={self._size}, "
            f"dtype={self._dtype})")


def _keys_from_format_1(keys: np.ndarray, remaining: float,
                        full: bool) -> Tuple[np.ndarray, float]:
    """Heap keys and remaining jump of a format-1 state (log keys -E / w,
    jump in units of weight) in format 2 (log(w) - log(E), jump in units of
    Exp(1)): the same reservoir, the same future law."""
    if keys.size and not ((keys < 0) & np.isfinite(keys)).all():
        raise ValueError("reservoir state (format 1) has log keys that are not finite and "
                         "< 0; they cannot be converted")
    new = -np.log(-keys)
    if full:
        # The jump was Exp(1) / rate with rate -lt = -(smallest log key).
        remaining = remaining * float(-keys[0])
    return new, remaining


def _as_chunk_weights(weights: Any) -> np.ndarray:
    arr = as_iterable_array(weights, "weights", "an array of real numbers")
    if arr.ndim != 1:
        raise ValueError(f"weights must be 1-D, got shape {arr.shape}")
    if arr.shape[0] == 0:
        return np.empty(0, dtype=np.float64)
    require_kind(arr, "weights", integer=False)
    return c_array(arr, dtype=np.float64)
