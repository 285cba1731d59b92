"""Sampled-softmax candidates with exact expected counts, and accidental hits.

Sampled softmax (Jean et al. 2015; Bengio & Senécal 2008) scores the true
class against a few candidates drawn from a proposal law q and subtracts
``log`` of each candidate's expected count from its logit (the "logQ
correction"), which makes the sampled loss a consistent estimate of the full
softmax.  :func:`sampled_candidates` draws the candidates and returns those
expected counts exactly; :func:`accidental_hits` finds the candidates that
are positives of their row, whose logits should be masked.

Example
-------
>>> import numpy as np, negsamp
>>> labels = np.array([3, 0, 7])
>>> s = negsamp.sampled_candidates(16, "log_uniform", n_items=100,
...                                true_labels=labels, rng=0)
>>> s.num_tries, len(s.candidates) <= 16, s.expected_counts.shape == s.candidates.shape
(16, True, True)
>>> hits = negsamp.accidental_hits(None, s.candidates, labels, n_items=100)
>>> bool(np.all(s.candidates[hits.ids] == labels[hits.indices]))
True
"""
from __future__ import annotations

from typing import Any, Dict, NamedTuple, Optional, Union

import numpy as np

from negsamp import _candidates
from negsamp._exclusion import ExclusionLists, as_exclusion_lists, sort_with_order, sorted_unique
from negsamp._rng import RNGLike, as_generator, draw_key
from negsamp._threads import resolve_n_threads
from negsamp._validation import (
    as_array, as_bool, as_index_array, as_int, c_array, describe, element_count, require_kind,
)
from negsamp.alias import AliasTable

__all__ = ["SampledCandidates", "AccidentalHits", "PositiveLists", "sampled_candidates",
           "accidental_hits"]

#: Below this eligible mass, remove_true draws from an alias table of the
#: complement instead of rejecting (rejection costs 1 / mass draws each).
_REJECTION_MIN_MASS = 1.0 / 16.0

#: What ids are checked against when no n_items is known (ids >= 0 only).
_NO_BOUND = 2**62

_FLOAT32_MIN = np.float32(np.finfo(np.float32).min)  # TF's -FLOAT_MAX


class SampledCandidates(NamedTuple):
    """What :func:`sampled_candidates` returns.

    ``candidates`` (int64, 1-D) are the sampled ids; ``expected_counts``
    (float64, same shape) the expected number of times each appears in the
    returned candidates (with ``unique=True``: its inclusion probability);
    ``true_expected_counts`` the same for ``true_labels`` (same shape as
    them; empty when none were given); ``num_tries`` the number of draws T.
    """

    candidates: np.ndarray
    expected_counts: np.ndarray
    true_expected_counts: np.ndarray
    num_tries: int

    @property
    def log_q(self) -> np.ndarray:
        """``log(expected_counts)``: subtract it from the candidates'
        logits (-inf for an id of expected count 0)."""
        return _log(self.expected_counts)

    @property
    def true_log_q(self) -> np.ndarray:
        """``log(true_expected_counts)``, for the true logits."""
        return _log(self.true_expected_counts)


class AccidentalHits(NamedTuple):
    """The hits of :func:`accidental_hits` in the format of TensorFlow's
    ``tf.nn.compute_accidental_hits``: hit h is candidate column ``ids[h]``
    of batch row ``indices[h]``, in row then column order; ``weights`` is
    -FLT_MAX (float32) for each, to be added to those logits (e.g. with
    ``np.add.at(logits, (indices, ids), weights)``)."""

    indices: np.ndarray  # int32, batch row of each hit
    ids: np.ndarray  # int64, column in the candidates
    weights: np.ndarray  # float32, -FLT_MAX


def _log(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        out: np.ndarray = np.log(values)
    return out


# -- the laws ---------------------------------------------------------------
class _Law:
    """A base law over [0, n): its exact probabilities, and how it is drawn
    (a closed-form C kernel, or an alias table)."""

    def __init__(self, law: Any, n_items: Optional[int]) -> None:
        self.table: Optional[AliasTable] = None
        if isinstance(law, AliasTable):
            self.table = law
            self.n = len(law)
            if n_items is not None and n_items != self.n:
                raise ValueError(f"n_items={n_items} disagrees with the table's "
                                 f"{self.n} items")
            self.code = -1
            return
        if not isinstance(law, str) or law not in ("uniform", "log_uniform"):
            raise ValueError(f"law must be 'uniform', 'log_uniform' or an AliasTable, "
                             f"got {describe(law)}")
        if n_items is None:
            raise TypeError(f"law={law!r} needs n_items (the number of items)")
        self.n = n_items
        self.code = _candidates.UNIFORM if law == "uniform" else _candidates.LOG_UNIFORM

    def probabilities(self, ids: np.ndarray) -> np.ndarray:
        """p(i) for int64 ids in [0, n) (any shape)."""
        if self.table is not None:
            out: np.ndarray = self.table.probabilities[ids]
            return out
        if self.code == _candidates.UNIFORM:
            return np.full(ids.shape, 1.0 / self.n)
        # log((i + 2) / (i + 1)) / log(n + 1), without cancellation.
        log_uniform: np.ndarray = np.log1p(1.0 / (ids + 1.0)) / np.log1p(float(self.n))
        return log_uniform


def sampled_candidates(
    num_sampled: int,
    law: Union[str, AliasTable] = "log_uniform",
    *,
    n_items: Optional[int] = None,
    unique: bool = True,
    true_labels: Any = None,
    remove_true: bool = False,
    rng: RNGLike = None,
    n_threads: Optional[int] = None,
) -> SampledCandidates:
    """Candidates for sampled softmax, with their exact expected counts.

    Parameters
    ----------
    num_sampled : int
        T, the number of draws (tries), >= 0.
    law : "log_uniform", "uniform" or AliasTable
        The proposal law q over ``[0, n_items)``: "log_uniform" is the
        Zipfian law of TensorFlow's ``log_uniform_candidate_sampler``,
        ``p(i) = log((i + 2) / (i + 1)) / log(n + 1)`` (for ids sorted by
        decreasing frequency); "uniform" is ``1 / n``; an
        :class:`~negsamp.AliasTable` is its exact law
        :attr:`~negsamp.AliasTable.probabilities`.
    n_items : int, optional
        Number of items n (required for the closed-form laws; with a table,
        ``len(table)`` and must agree when given).
    unique : bool, default True
        True: the candidates are the distinct ids among the T draws, in
        order of first appearance, so there are at most T of them (their
        number varies); False: all T draws, with repetitions.
    true_labels : array_like of int, optional
        The batch's true classes (any shape, e.g. ``(B,)`` or
        ``(B, num_true)``), ids in ``[0, n)``; their expected counts are
        returned in the same shape.
    remove_true : bool, default False
        Never draw a true label of the batch: the draws come from q
        restricted to the ids not in ``true_labels`` and renormalised,
        ``q'(i) = q(i) / (1 - Q)`` with Q the mass of the distinct true
        labels, and every expected count (true labels included, which get 0)
        is computed under q'.  Needs ``true_labels``.
    rng : None, int, SeedSequence or Generator
        SPEC 7 source of randomness; the output does not depend on
        ``n_threads``.
    n_threads : int, optional
        Threads of the closed-form draws (None: the default, see
        :func:`negsamp.set_num_threads`).

    Returns
    -------
    SampledCandidates
        ``(candidates, expected_counts, true_expected_counts, num_tries)``;
        ``.log_q`` and ``.true_log_q`` are the logs to subtract from the
        logits.

    Notes
    -----
    Exactness.  The T draws are independent with law q (q' with
    ``remove_true``), so with replacement item i appears ``T q_i`` times on
    average, and in the distinct set ``S`` it appears with probability
    exactly

        pi_i = P(i in S) = 1 - (1 - q_i)^T,

    computed as ``-expm1(T * log1p(-q_i))`` (no cancellation for small q_i).
    This is a fixed-T design: T is fixed, ``|S|`` is random.  TensorFlow's
    ``unique=True`` samplers instead draw until ``num_sampled`` distinct ids
    and report ``1 - (1 - q_i)^{num_tries}`` with the random number of tries
    that took, which is only approximately the inclusion probability of that
    stopping rule (whose exact form has no closed expression).  Here
    ``sum(f(i) / pi_i for i in S)`` is an unbiased (Horvitz-Thompson)
    estimate of ``sum_i f(i)``.

    Precision of the draws: the log-uniform law is drawn by inverse CDF
    from a 53-bit uniform u, ``floor(exp(u * log(n + 1))) - 1`` as in
    TensorFlow, so each probability is drawn within a few units of 2**-53
    (absolute: the rounding of u and of exp moves each boundary of the CDF
    by about that much); the uniform law is exact (Lemire's method); an alias
    table draws exactly its ``probabilities``.  ``remove_true`` rejects and
    redraws a true label (exact), or, when the true labels hold more than
    15/16 of the mass, draws from an alias table of the complement (O(n)
    build; its law is then that table's, within its rounding).

    Cost: O(T) draws (O(1) each) and an O(T) hash deduplication in C;
    the expected counts are O(T + len(true_labels)).
    """
    count = as_int(num_sampled, "num_sampled", minimum=0)
    if n_items is not None:
        n_items = as_int(n_items, "n_items", minimum=1)
    base = _Law(law, n_items)
    unique = as_bool(unique, "unique")
    remove_true = as_bool(remove_true, "remove_true")
    threads = resolve_n_threads(n_threads)
    if true_labels is None:
        if remove_true:
            raise ValueError("remove_true=True needs true_labels")
        labels = np.zeros(0, dtype=np.int64)
    else:
        labels = as_index_array(true_labels, base.n, "true_labels")
    element_count((count,), f"num_sampled={count}")

    # The law q actually drawn: the base law, or its restriction.
    draw_law, excluded, scale = base, np.zeros(0, dtype=np.int64), 1.0
    if remove_true and labels.size:
        excluded = sorted_unique(labels.ravel())
        base_p = base.probabilities(excluded)
        eligible = 1.0 - float(np.sum(base_p))
        if eligible < _REJECTION_MIN_MASS:
            weights = base.probabilities(np.arange(base.n, dtype=np.int64))
            weights[excluded] = 0.0
            if not (weights.max() > 0):
                raise ValueError("remove_true=True removes every item of nonzero "
                                 "probability: nothing left to draw")
            draw_law, excluded = _Law(AliasTable(weights), None), np.zeros(0, np.int64)
        else:
            scale = 1.0 / eligible

    draws = _draw(draw_law, excluded, count, rng, threads)
    candidates = _candidates.unique(draws) if unique else draws

    def expected(ids: np.ndarray) -> np.ndarray:
        q = draw_law.probabilities(ids) * scale
        if excluded.size:
            q[_member(ids, excluded)] = 0.0
        if count == 0:
            return np.zeros(ids.shape)
        if unique:
            with np.errstate(divide="ignore"):  # log1p(-1) = -inf: pi = 1
                pi: np.ndarray = -np.expm1(count * np.log1p(-np.minimum(q, 1.0)))
            return pi
        out: np.ndarray = count * q
        return out

    return SampledCandidates(candidates, expected(candidates), expected(labels), count)


def _member(ids: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:
    """``np.isin(ids, sorted_ids)`` for sorted unique, non-empty
    ``sorted_ids``, by one binary search each (np.isin sorts both)."""
    at = np.minimum(np.searchsorted(sorted_ids, ids), sorted_ids.shape[0] - 1)
    found: np.ndarray = sorted_ids[at] == ids
    return found


def _draw(law: _Law, excluded: np.ndarray, count: int, rng: RNGLike,
          threads: int) -> np.ndarray:
    """``count`` independent draws from ``law`` restricted to the ids not
    in ``excluded`` (sorted unique)."""
    if law.table is None:
        k0, k1 = draw_key(rng)
        out: np.ndarray = _candidates.draw(law.code, law.n, excluded, count, k0, k1, threads)
        return out
    gen = as_generator(rng)
    draws: np.ndarray = law.table.sample(count, rng=gen, n_threads=threads)
    if excluded.size == 0:
        return draws
    # Rejection: redraw the excluded draws until none is left (each redraw
    # is independent with the base law, so the kept ones have its law
    # restricted to the other ids).
    while True:
        bad = np.flatnonzero(_member(draws, excluded))
        if bad.size == 0:
            return draws
        draws[bad] = law.table.sample(bad.size, rng=gen, n_threads=threads)


# -- accidental hits --------------------------------------------------------
class PositiveLists:
    """Per-row positive ids normalised once, for repeated
    :func:`accidental_hits` calls (a training loop).

    Parameters
    ----------
    positives
        Row r's positives: a scipy.sparse matrix or an object with CSR
        ``indptr``/``indices``, an ``(indptr, indices)`` tuple, a list of
        integer arrays, or an integer array of one row per entry (``(B,)``
        or ``(B, num_true)``).  Unsorted and duplicated ids are accepted.
    n_items : int
        Ids must be in ``[0, n_items)``.

    Normalising costs a sort of all the ids (O(nnz log nnz)); each
    :func:`accidental_hits` call then reads only the rows it is given.
    Immutable and picklable.
    """

    __slots__ = ("_lists", "_n_items")

    def __init__(self, positives: Any, n_items: int) -> None:
        self._n_items = as_int(n_items, "n_items", minimum=1)
        lists = as_exclusion_lists(positives, self._n_items, name="positives")
        lists.indptr.flags.writeable = False
        lists.indices.flags.writeable = False
        self._lists = lists

    @property
    def n_rows(self) -> int:
        return self._lists.n_rows

    @property
    def n_items(self) -> int:
        return self._n_items

    def row(self, r: int) -> np.ndarray:
        """Row r's positives, sorted, unique (read-only)."""
        r = as_int(r, "r", minimum=0, maximum=self.n_rows - 1)
        return self._lists.row(r)

    def __getstate__(self) -> Dict[str, Any]:
        return {"indptr": self._lists.indptr, "indices": self._lists.indices,
                "n_items": self._n_items}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        if not isinstance(state, dict) or set(state) != {"indptr", "indices", "n_items"}:
            raise ValueError("state is not a valid PositiveLists state")
        self.__init__((state["indptr"], state["indices"]), state["n_items"])  # type: ignore[misc]

    def __repr__(self) -> str:
        if not hasattr(self, "_lists"):
            return "<PositiveLists (uninitialised)>"
        return (f"PositiveLists(n_rows={self.n_rows}, n_items={self._n_items}, "
                f"nnz={self._lists.indices.shape[0]})")


def accidental_hits(
    rows: Any,
    candidates: Any,
    positives: Any,
    *,
    n_items: Optional[int] = None,
    format: str = "pairs",
    n_threads: Optional[int] = None,
) -> Union[AccidentalHits, np.ndarray]:
    """The candidates that are positives of their row.

    Parameters
    ----------
    rows : array_like of int, 1-D, or None
        ``rows[b]`` is the positives row of batch row b (e.g. the user of
        example b).  None: batch row b is positives row b.
    candidates : array_like of int, ``(C,)`` or ``(B, C)``
        Shared candidates (sampled ones, or the batch's own items for
        in-batch negatives), or one row of candidates per batch row.
    positives : PositiveLists or any form it accepts
        Every positive of each row (the full exclusion lists, not only the
        batch's labels): a raw form is normalised on every call
        (O(nnz log nnz)), a :class:`PositiveLists` once.
    n_items : int, optional
        Ids must be in ``[0, n_items)`` (taken from a PositiveLists, which
        it must then match); None: any non-negative ids.
    format : "pairs" or "mask"
        "pairs": :class:`AccidentalHits` ``(indices, ids, weights)`` as
        ``tf.nn.compute_accidental_hits`` returns them (int32 rows, int64
        columns, float32 -FLT_MAX weights), in row then column order.
        "mask": a boolean ``(B, C)`` array, True at the hits.
    n_threads : int, optional
        Threads (None: the default, see :func:`negsamp.set_num_threads`).

    Notes
    -----
    Per row, whichever search is cheaper: each candidate binary-searched in
    the row's P sorted positives (O(C log P)), or, for shared candidates
    (sorted once, O(C log C)), each positive searched in them
    (O(P log C + C)): O(B * C * log P) at most, in C with the GIL released,
    rows spread over the thread pool.  The result does not depend on the
    thread count.

    Positives are a set per row: a candidate equal to a true label listed
    twice in a row is one hit (``tf.nn.compute_accidental_hits`` lists it
    once per copy; either way that logit is masked).
    """
    if not isinstance(format, str) or format not in ("pairs", "mask"):
        raise ValueError(f"format must be 'pairs' or 'mask', got {describe(format)}")
    if n_items is not None:
        n_items = as_int(n_items, "n_items", minimum=1)
    threads = resolve_n_threads(n_threads)
    if isinstance(positives, PositiveLists):
        if n_items is not None and n_items != positives.n_items:
            raise ValueError(f"n_items={n_items} disagrees with the PositiveLists' "
                             f"n_items={positives.n_items}")
        n_items = positives.n_items
        lists: ExclusionLists = positives._lists
    else:
        lists = as_exclusion_lists(positives, _NO_BOUND if n_items is None else n_items,
                                   name="positives")
    bound = _NO_BOUND if n_items is None else n_items

    cand = as_array(candidates, "candidates", "an array of integer ids")
    if cand.size == 0 and cand.dtype.kind == "f":
        cand = cand.astype(np.int64)
    require_kind(cand, "candidates", integer=True)
    if cand.ndim not in (1, 2):
        raise ValueError(f"candidates must be 1-D (shared) or 2-D (one row per batch row), "
                         f"got shape {cand.shape}")
    cand = as_index_array(cand, bound, "candidates")

    if rows is None:
        batch_rows = np.arange(lists.n_rows, dtype=np.int64)
    else:
        batch_rows = as_array(rows, "rows", "a 1-D array of row ids")
        if batch_rows.size == 0 and batch_rows.dtype.kind == "f":
            batch_rows = batch_rows.astype(np.int64)
        require_kind(batch_rows, "rows", integer=True)
        if batch_rows.ndim != 1:
            raise ValueError(f"rows must be 1-D, got shape {batch_rows.shape}")
        if lists.n_rows == 0 and batch_rows.size:
            raise ValueError("rows given but positives has no rows")
        batch_rows = as_index_array(batch_rows, max(lists.n_rows, 1), "rows")
    n_batch = batch_rows.shape[0]
    if cand.ndim == 2 and cand.shape[0] != n_batch:
        raise ValueError(f"candidates has {cand.shape[0]} rows but there are {n_batch} "
                         f"batch rows")
    n_cand = cand.shape[-1]
    element_count((n_batch, n_cand), f"candidates of shape {cand.shape} for {n_batch} rows", 1)

    table = c_array(cand.reshape(1, n_cand) if cand.ndim == 1 else cand, np.int64)
    sorted_values = sorted_positions = None
    if cand.ndim == 1 and n_cand:
        sorted_values, sorted_positions = sort_with_order(c_array(cand, np.int64))
        sorted_values = c_array(sorted_values, np.int64)
        sorted_positions = c_array(sorted_positions, np.int64)
    mask, counts = _candidates.hits_mask(lists.indptr, lists.indices, c_array(batch_rows),
                                         table, sorted_values, sorted_positions, threads)
    if format == "mask":
        out_mask: np.ndarray = mask
        return out_mask
    indices, ids = _candidates.hits_pairs(mask, counts, threads)
    return AccidentalHits(indices, ids, np.full(ids.shape[0], _FLOAT32_MIN, dtype=np.float32))
