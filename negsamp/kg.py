"""Corrupted triples for knowledge-graph embedding training.

Example
-------
>>> import numpy as np, negsamp
>>> triples = np.array([[0, 0, 1], [1, 0, 2], [2, 1, 0]])
>>> neg = negsamp.corrupt_triples(triples, 5, 4, known=triples, rng=0)
>>> neg.shape
(3, 4, 3)
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from negsamp import _kg
from negsamp._excluding import sample_excluding
from negsamp._exclusion import (
    ExclusionLists, as_exclusion_lists, dense_ids, from_pairs, sort_with_order, sorted_unique,
)
from negsamp._rng import RNGLike, as_generator, draw_key
from negsamp._threads import resolve_n_threads
from negsamp._torch import as_numpy
from negsamp._validation import (
    c_array, as_array, as_bool, as_int, as_keys, as_out, check_output_size, describe,
    element_count, require_kind,
)

__all__ = ["KGSampler", "corrupt_triples"]

_MODES = ("head", "tail", "both", "bernoulli")
_KEY_LIMIT = 2**62


def _as_triples(triples: Any, n_entities: int, name: str) -> np.ndarray:
    """Validated (m, 3) C-contiguous int64 copy-if-needed of ``triples``."""
    arr = as_array(triples, name, "an (m, 3) integer array")
    if arr.size == 0 and (arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 3)):
        return np.zeros((0, 3), dtype=np.int64)  # [] or an empty (0, 3) array
    require_kind(arr, name, integer=True)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{name} must have shape (m, 3) (head, relation, tail), "
                         f"got shape {arr.shape}")
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} holds ids above the int64 range")
    if arr.size:
        ents = arr[:, [0, 2]]
        bad = (ents < 0) | (ents >= n_entities)
        if bad.any():
            i = int(np.flatnonzero(bad.any(axis=1))[0])
            raise ValueError(
                f"{name}[{i}] = {arr[i].tolist()} has an entity outside "
                f"[0, n_entities={n_entities})"
            )
        neg = arr[:, 1] < 0
        if neg.any():
            i = int(np.flatnonzero(neg)[0])
            raise ValueError(f"{name}[{i}] = {arr[i].tolist()} has a negative relation id")
    return c_array(arr, dtype=np.int64)


def _extra_rows(
    base_indptr: np.ndarray, base_indices: np.ndarray, extra_base: np.ndarray,
    extra_own: np.ndarray, n_items: int,
) -> Tuple[np.ndarray, np.ndarray]:
    """CSR (indptr from 0, indices) of one row per ``extra_base[j]``: a copy
    of base row ``extra_base[j]`` plus item ``extra_own[j]`` (which is not in
    it), sorted.  Vectorised: one gather, one sort of row-offset keys."""
    n = np.int64(n_items)
    n_extra = extra_base.shape[0]
    lengths = base_indptr[extra_base + 1] - base_indptr[extra_base]
    total = int(lengths.sum())
    out_start = np.zeros(n_extra + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=out_start[1:])
    # Positions in base_indices of every extra row's copied entries.
    src = np.arange(total, dtype=np.int64) + np.repeat(
        base_indptr[extra_base] - (out_start[:-1] - np.arange(n_extra)), lengths)
    row_of_copy = np.repeat(np.arange(n_extra, dtype=np.int64), lengths)
    keys = np.concatenate([row_of_copy * n + base_indices[src],
                           np.arange(n_extra, dtype=np.int64) * n + extra_own])
    keys.sort()  # the own item is not among the copied ones: no duplicates
    return out_start, keys - (keys // n) * n


def _with_extra_rows(
    base_indptr: np.ndarray, base_indices: np.ndarray, extra_base: np.ndarray,
    extra_own: np.ndarray, n_entities: int,
) -> Tuple[np.ndarray, np.ndarray]:
    """CSR rows ``base`` followed by the rows of :func:`_extra_rows`."""
    extra_indptr, extra_indices = _extra_rows(base_indptr, base_indices, extra_base,
                                              extra_own, n_entities)
    indptr = np.concatenate([base_indptr, base_indptr[-1] + extra_indptr[1:]])
    indices = np.concatenate([base_indices, extra_indices])
    return indptr, indices


def _side_exclusions(
    anchors: np.ndarray, own: np.ndarray, known_anchors: Optional[np.ndarray],
    known_items: Optional[np.ndarray], n_entities: int, *, by_keys: bool = True,
) -> Tuple[ExclusionLists, np.ndarray]:
    """Exclusion rows for replacing one side of each triple.

    Triple i is anchored by ``anchors[i]`` (a key of (head, relation) when the
    tail is replaced, of (relation, tail) when the head is) and holds entity
    ``own[i]`` on the replaced side.  Its exclusion set is exactly
    ``{own[i]} | {x : (anchor, x) known}``.  Returns CSR rows and the row of
    each triple: triples of one anchor share the row of the anchor's known
    entities when their own entity is among them; otherwise (own entity not
    known) they get a row of their own, keyed by (anchor, own entity), so
    that no other triple's exclusions grow.
    """
    m = anchors.shape[0]
    if known_anchors is None:
        # Unfiltered: triple i excludes only own[i]: row e is {e}.
        if n_entities <= 4 * m:
            ents = np.arange(n_entities, dtype=np.int64)
            return ExclusionLists(np.arange(n_entities + 1, dtype=np.int64), ents), own
        ents, rows = dense_ids(own)
        indptr = np.arange(ents.shape[0] + 1, dtype=np.int64)
        return ExclusionLists(indptr, ents.astype(np.int64)), rows.astype(np.int64)
    assert known_items is not None
    top = max(int(anchors.max()), int(known_anchors.max()) if known_anchors.size else 0)
    if by_keys and (top + 1) * n_entities < _KEY_LIMIT:
        return _side_exclusions_by_keys(anchors, own, known_anchors, known_items,
                                        n_entities)

    # Groups: the distinct anchors of triples and known triples together.
    groups, ids = dense_ids(np.concatenate([anchors, known_anchors]))
    group_of, known_group = ids[:m], ids[m:]
    n_groups = groups.shape[0]
    if (n_groups + m) * n_entities >= _KEY_LIMIT:
        raise ValueError(
            f"too many (anchor, entity) pairs to encode in int64: {n_groups + m} "
            f"groups x n_entities={n_entities}"
        )
    # Known items of the anchors that occur among the triples (other groups
    # keep empty rows).
    used = np.zeros(n_groups, dtype=bool)
    used[group_of] = True
    hit = used[known_group]
    base_indptr, base_indices = from_pairs(known_group[hit], known_items[hit], n_groups,
                                           n_entities)
    base_keys = np.repeat(np.arange(n_groups, dtype=np.int64),
                          np.diff(base_indptr)) * np.int64(n_entities) + base_indices

    # present[i]: own[i] is among the known items of its group.
    own_keys = group_of * np.int64(n_entities) + own
    uniq, both_ids = dense_ids(np.concatenate([base_keys, own_keys]))
    is_base = np.zeros(uniq.shape[0], dtype=bool)
    is_base[both_ids[: base_keys.shape[0]]] = True
    present = is_base[both_ids[base_keys.shape[0]:]]
    rows = group_of.astype(np.int64)
    if present.all():
        return ExclusionLists(base_indptr, base_indices), rows

    # Extra rows: one per distinct (group, own entity) not known, holding the
    # group's known entities plus that entity.
    extra_keys, extra_of = dense_ids(own_keys[~present])
    extra_group = extra_keys // n_entities
    extra_own = extra_keys - extra_group * n_entities
    indptr, indices = _with_extra_rows(base_indptr, base_indices, extra_group, extra_own,
                                       n_entities)
    rows[~present] = n_groups + extra_of
    return ExclusionLists(indptr, c_array(indices)), rows


def _side_exclusions_by_keys(
    anchors: np.ndarray, own: np.ndarray, known_anchors: np.ndarray,
    known_items: np.ndarray, n_entities: int,
) -> Tuple[ExclusionLists, np.ndarray]:
    """_side_exclusions when (anchor, entity) keys fit in int64: one row per
    distinct known anchor (its known entities, straight from the sorted
    known keys), one empty row, and one row per (anchor, own entity) not
    known.  Sorts: the known keys once, the triples' keys once; every search
    then has sorted queries (cache friendly)."""
    n = np.int64(n_entities)
    known_keys = sorted_unique(known_anchors * n + known_items)
    sorted_keys, order = sort_with_order(anchors * n + own)
    # One merge pass in C: rows 0..n_base-1 hold the known entities of each
    # distinct known anchor, row n_base is empty; the row of each sorted
    # key's anchor, and whether the key itself is known.
    base_indptr, base_indices, row_sorted, present = _kg.key_rows(
        n_entities, known_keys, sorted_keys)
    n_base = base_indptr.shape[0] - 2

    if not present.all():
        # One extra row per distinct (anchor, own entity) not known: the
        # anchor's known entities plus the own entity, sorted.
        missing = sorted_keys[~present]  # sorted
        new = np.concatenate(([True], missing[1:] != missing[:-1]))
        extra_keys = missing[new]
        extra_of = np.cumsum(new) - 1  # extra row of each missing triple
        extra_base = row_sorted[~present][new]
        extra_own = extra_keys - (extra_keys // n) * n
        indptr, indices = _with_extra_rows(base_indptr, base_indices, extra_base,
                                           extra_own, int(n))
        row_sorted[~present] = n_base + 1 + extra_of
    else:
        indptr, indices = base_indptr, base_indices
    rows = np.empty(anchors.shape[0], dtype=np.int64)
    rows[order] = row_sorted
    return ExclusionLists(indptr, c_array(indices)), rows


def head_probability(triples: np.ndarray, n_relations: Optional[int] = None) -> np.ndarray:
    """Per relation, the probability of replacing the head in "bernoulli"
    mode (Wang et al. 2014, "Knowledge graph embedding by translating on
    hyperplanes"): ``tph / (tph + hpt)``, where ``tph`` is the average number
    of tails per (head, relation) and ``hpt`` the average number of heads per
    (relation, tail), over the distinct triples given.  With ``P`` distinct
    triples of relation r, ``H`` distinct heads and ``T`` distinct tails,
    ``tph = P / H`` and ``hpt = P / T``, so the probability is ``T / (H + T)``.
    Relations without triples get 0.5.  Returns float64 of length
    ``n_relations`` (default: max relation + 1).
    """
    arr = np.asarray(triples, dtype=np.int64).reshape(-1, 3)  # validated by the caller
    if n_relations is None:
        n_relations = int(arr[:, 1].max()) + 1 if arr.shape[0] else 0
    rel = arr[:, 1]
    n_ent = int(max(arr[:, 0].max(), arr[:, 2].max())) + 1 if arr.shape[0] else 1
    heads = sorted_unique(rel * np.int64(n_ent) + arr[:, 0]) // n_ent
    tails = sorted_unique(rel * np.int64(n_ent) + arr[:, 2]) // n_ent
    h_count = np.bincount(heads, minlength=n_relations)[:n_relations].astype(np.float64)
    t_count = np.bincount(tails, minlength=n_relations)[:n_relations].astype(np.float64)
    total = h_count + t_count
    out = np.full(n_relations, 0.5)
    np.divide(t_count, total, out=out, where=total > 0)
    return out


def corrupt_triples(
    triples: Any,
    n_entities: int,
    k: int,
    *,
    mode: str = "tail",
    known: Any = None,
    rng: RNGLike = None,
    n_threads: Optional[int] = None,
    keys: Any = None,
    out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """k corrupted copies of each (head, relation, tail) triple.

    Parameters
    ----------
    triples : array_like of int, shape (m, 3)
        (head, relation, tail) rows; entities in ``[0, n_entities)``,
        relations any non-negative int.  Not modified.
    n_entities : int
        Number of entities; replacements are drawn from ``[0, n_entities)``.
    k : int
        Corruptions per triple.
    mode : {"tail", "head", "both", "bernoulli"}
        Which entity is replaced: always the tail, always the head, in each
        draw the head or the tail with probability 1/2 each ("both"), or in
        each draw the head with probability ``tph / (tph + hpt)`` of the
        triple's relation ("bernoulli", Wang et al. 2014; see
        ``negsamp.kg.head_probability``, computed from ``known`` when
        given, else from ``triples``; 0.5 for a relation absent from them).
    known : array_like of int, shape (M, 3), optional
        All true triples (filtered setting): no corrupted triple is a known
        triple.  Usually includes ``triples``.  Not modified.
    rng : None, int, SeedSequence or Generator
        Randomness (SPEC 7); the output never depends on ``n_threads``.
    n_threads : int, optional
        Threads of the C kernels (None = all cores).
    keys : array_like of int, 1-D, optional
        One non-negative key per triple (reproducible by row, see
        ``NegativeSampler.sample``): ``out[i]`` then depends only on the
        key taken from ``rng``, ``keys[i]``, ``triples[i]``, ``k``, ``mode``
        and ``known``, not on the other triples, their order, ``n_threads``
        or how the triples are split into calls.  In "both" and "bernoulli"
        the side of each slot is also drawn from a keyed stream of the
        triple.  Equal keys and triples give equal rows.  Same law.
        "bernoulli" without ``known`` takes its head probabilities from the
        call's ``triples``: pass ``known`` for rows independent of the call.
    out : numpy.ndarray, optional
        A C-contiguous int64 ``(m, k, 3)`` array, written in place and
        returned (NumPy's ``out=`` convention; untouched when the call
        raises).

    Returns
    -------
    numpy.ndarray of int64, shape (m, k, 3), C-contiguous
        ``out[i, s]`` equals ``triples[i]`` with the head or the tail replaced.

    Raises
    ------
    ValueError
        For ids out of range, a bad mode, or a triple with no valid
        replacement on a side it may corrupt (every entity excluded), naming
        the triple.

    Notes
    -----
    The exact law: for a tail corruption of (h, r, t) the new tail is
    uniform over the entities ``t' != t`` with, when ``known`` is given,
    ``(h, r, t')`` not known; heads symmetrically.  Draws are independent
    (with replacement); in "both" and "bernoulli" each draw first picks its
    side independently.  Cost: O((m + M) log(m + M)) to group the known
    entities of each (head, relation) and (relation, tail) into sorted
    exclusion rows, then O(m k) draws, each rejected against its row's
    sorted exclusions (or drawn from the complement of a row that excludes
    most entities) in C with the GIL released.
    """
    n_entities = as_int(n_entities, "n_entities", minimum=1)
    k = as_int(k, "k", minimum=0)
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {describe(mode)}")
    arr = _as_triples(triples, n_entities, "triples")
    known_arr = None if known is None else _as_triples(known, n_entities, "known")
    m = arr.shape[0]
    row_keys = as_keys(keys, m, "triple")
    element_count((m, k, 3), f"k={k} corruptions of each of {m} triples")
    dest = as_out(out, (m, k, 3), np.int64, arr, triples, known_arr, known, keys)
    threads = resolve_n_threads(n_threads)
    gen = as_generator(rng)
    if m == 0 or k == 0:
        return np.zeros((m, k, 3), dtype=np.int64) if dest is None else dest

    # Relation ids as they are when small, else renumbered densely, so that
    # (relation, entity) keys fit in int64 and bincounts stay small.
    rel_all = arr[:, 1] if known_arr is None else np.concatenate([arr[:, 1], known_arr[:, 1]])
    n_rel = int(rel_all.max()) + 1
    if n_rel > max(2 * rel_all.shape[0], 1 << 16) or n_rel * n_entities >= _KEY_LIMIT:
        relations, rel_all = dense_ids(rel_all)
        n_rel = relations.shape[0]
    if n_rel * n_entities >= _KEY_LIMIT:
        raise ValueError(f"n_entities={n_entities} x {n_rel} relations is too large "
                         "to encode (head, relation) keys in int64")
    rel_t = rel_all[:m]
    rel_k = None if known_arr is None else rel_all[m:]

    def side(head: bool) -> Tuple[ExclusionLists, np.ndarray]:
        anchor_col, own_col = (2, 0) if head else (0, 2)
        anchors = rel_t * np.int64(n_entities) + arr[:, anchor_col]
        if known_arr is None:
            return _side_exclusions(anchors, arr[:, own_col], None, None, n_entities)
        assert rel_k is not None
        known_anchors = rel_k * np.int64(n_entities) + known_arr[:, anchor_col]
        return _side_exclusions(anchors, arr[:, own_col], known_anchors,
                                known_arr[:, own_col], n_entities)

    def check(excl: ExclusionLists, rows: np.ndarray, what: str) -> None:
        eligible = n_entities - excl.lengths()[rows]
        if (eligible < 1).any():
            i = int(np.flatnonzero(eligible < 1)[0])
            raise ValueError(
                f"triples[{i}] = {arr[i].tolist()} has no valid {what} replacement: "
                f"all {n_entities} entities are excluded"
                + (" (known triples or the original)" if known_arr is not None else "")
            )

    if mode in ("tail", "head"):
        head = mode == "head"
        excl, rows = side(head)
        check(excl, rows, "head" if head else "tail")
        # The kernel writes the triples itself (one pass over the output).
        result = sample_excluding(n_entities, excl, rows, k, gen, replace=True,
                               n_threads=threads, row_label="triple groups",
                               keys=row_keys, tmpl=arr, col=0 if head else 2, out=dest)
        assert isinstance(result, np.ndarray)
        return result

    if mode == "both":
        p_head = np.full(m, 0.5)
    else:
        p_head = _bernoulli_for(arr, known_arr, rel_t, rel_k, n_rel, n_entities)
    tail_excl, tail_rows = side(False)
    head_excl, head_rows = side(True)
    check(tail_excl, tail_rows, "tail")
    check(head_excl, head_rows, "head")
    # Exact and simple: k draws on each side, then each slot keeps the side
    # it picked independently (twice the draws of one side; drawing slot by
    # slot costs more per draw in the row-blocked kernel).
    # With keys: three call keys (tails, heads, sides, in that order,
    # whatever m) and each triple's sides from its keyed stream under the
    # third.
    if row_keys is None:
        is_head = gen.random((m, k)) < p_head[:, None]
    tails = sample_excluding(n_entities, tail_excl, tail_rows, k, gen, replace=True,
                             n_threads=threads, row_label="triple groups", keys=row_keys)
    heads = sample_excluding(n_entities, head_excl, head_rows, k, gen, replace=True,
                             n_threads=threads, row_label="triple groups", keys=row_keys)
    if row_keys is not None:
        s0, s1 = draw_key(gen)
        is_head = _kg.keyed_uniform(row_keys, k, s0, s1, threads) < p_head[:, None]
    assert isinstance(tails, np.ndarray) and isinstance(heads, np.ndarray)
    return _kg.corrupt_fill(arr, heads, tails, is_head.view(np.uint8), k, threads, dest)


def _bernoulli_for(arr: np.ndarray, known_arr: Optional[np.ndarray], rel_t: np.ndarray,
                   rel_k: Optional[np.ndarray], n_rel: int, n_entities: int) -> np.ndarray:
    """Head probability of each triple from the statistics of ``known`` (or
    of ``triples``), over dense relation ids."""
    if known_arr is None:
        source = np.stack([arr[:, 0], rel_t, arr[:, 2]], axis=1)
    else:
        assert rel_k is not None
        source = np.stack([known_arr[:, 0], rel_k, known_arr[:, 2]], axis=1)
    per_relation = head_probability(source, n_rel)
    out: np.ndarray = per_relation[rel_t]
    return out


def _pools(candidates: Any, n_entities: int, n_relations: int,
           name: str) -> Optional[ExclusionLists]:
    """Per-relation candidate pools (sorted unique CSR rows), or None."""
    if candidates is None:
        return None
    if isinstance(candidates, dict):
        raise TypeError(f"{name} must be one list of entity ids per relation (n_relations="
                        f"{n_relations} rows), not a dict")
    return as_exclusion_lists(candidates, n_entities, name=name, n_rows=n_relations)


_SIDES = ("head", "relation", "tail")
_COLUMN = {"head": 0, "relation": 1, "tail": 2}
# The anchor columns of each replaced column: anchor = t[a] * n_entities + t[b].
_ANCHOR = {0: (1, 2), 1: (0, 2), 2: (1, 0)}
_KG_MODES = ("uniform", "bernoulli")


class _Side:
    """One corruptible side of the known triples, grouped once: the known
    items (entities, or relations) of every anchor (the two other ids of a
    triple) as sorted rows, indexed by anchor in C (negsamp._kg.Side), and
    optionally the per-relation candidate pools of an entity side."""

    def __init__(self, side: str, known: np.ndarray, n_entities: int, n_relations: int,
                 pools: Optional[ExclusionLists]) -> None:
        self.column = _COLUMN[side]
        first, second = _ANCHOR[self.column]
        n = np.int64(n_relations if side == "relation" else n_entities)
        anchor = known[:, first] * np.int64(n_entities) + known[:, second]
        full = sorted_unique(anchor * n + known[:, self.column])
        anchor = full // n
        head = np.ones(full.shape[0], dtype=bool)
        head[1:] = anchor[1:] != anchor[:-1]
        starts = np.flatnonzero(head)
        indptr = np.append(starts, full.shape[0]).astype(np.int64)
        pool_ptr = None if pools is None else c_array(pools.indptr, dtype=np.int64)
        pool_ids = None if pools is None else c_array(pools.indices, dtype=np.int64)
        self.c = _kg.Side(self.column, first, second, int(n), c_array(anchor[starts]),
                          indptr, c_array(full - anchor * n), pool_ptr, pool_ids)


class KGSampler:
    """Corrupted triples of a knowledge graph whose true triples are known
    in advance: the filtered setting of knowledge-graph embedding training,
    prepared once and drawn from per batch.

    Parameters
    ----------
    known : array_like of int, shape (M, 3)
        Every true (head, relation, tail) triple (usually the training
        triples, or all splits): no corrupted triple is one of them.
        Grouped once here (O(M log M)); not modified.
    n_entities : int
        Entities are ``[0, n_entities)``.
    n_relations : int, optional
        Relations are ``[0, n_relations)`` (default: the largest relation
        of ``known`` + 1).
    filtered : bool
        True (default): no corruption is a known triple.  False: only the
        original triple is excluded, and ``known`` serves the "bernoulli"
        statistics alone.
    head_candidates, tail_candidates : optional
        Type constraints: per relation, the entities allowed as its head
        (tail), as ``n_relations`` lists of entity ids (a list of integer
        arrays, an ``(indptr, indices)`` pair, a scipy or torch sparse
        matrix with one row per relation).  A head (tail) replacement of a
        triple of relation r is then drawn from that relation's pool only;
        a relation with an empty pool never has its head (tail) replaced.
        None (default): every entity is allowed.
    n_threads : int, optional
        Threads used to prepare (None = all cores).

    Notes
    -----
    For each corruptible side, the known items of every anchor (for a tail
    corruption of (h, r, t), the tails known for (h, r)) are one sorted row,
    found from the anchor through a hash index.  A batch is one C call with
    the GIL released: it finds every triple's rows, checks that each has a
    valid replacement on some side, then draws.  Each draw is exact and
    costs one bounded random integer and a binary search over the row
    (the j-th allowed item outside the row, skipping the triple's own; with
    pools, over the row's positions in the pool), whatever the row's
    density.  ``head_probability`` of ``known`` gives the "bernoulli" side
    law.  Memory: O(M) per side, plus O(n_relations) (MemoryError up front
    when that cannot fit).
    """

    def __init__(self, known: Any, n_entities: int, n_relations: Optional[int] = None, *,
                 filtered: bool = True, head_candidates: Any = None,
                 tail_candidates: Any = None, n_threads: Optional[int] = None) -> None:
        n_entities = as_int(n_entities, "n_entities", minimum=1)
        arr = _as_triples(known, n_entities, "known")
        top = int(arr[:, 1].max()) + 1 if arr.shape[0] else 1
        if n_relations is None:
            n_relations = top
        n_relations = as_int(n_relations, "n_relations", minimum=1)
        if top > n_relations:
            i = int(np.flatnonzero(arr[:, 1] >= n_relations)[0])
            raise ValueError(f"known[{i}] = {arr[i].tolist()} has a relation outside "
                             f"[0, n_relations={n_relations})")
        if n_relations * n_entities * n_entities >= 2**62:
            raise ValueError(f"n_entities={n_entities} x n_entities x n_relations={n_relations} "
                             "is too large to key (anchor, item) pairs in int64")
        # Per-relation statistics (and pools) cost O(n_relations) memory.
        check_output_size((n_relations,), 48, f"n_relations={n_relations}")
        resolve_n_threads(n_threads)
        self.n_entities, self.n_relations = n_entities, n_relations
        self.n_known = int(arr.shape[0])
        self.filtered = as_bool(filtered, "filtered")
        pools = {
            "head": _pools(head_candidates, n_entities, n_relations, "head_candidates"),
            "tail": _pools(tail_candidates, n_entities, n_relations, "tail_candidates"),
            "relation": None,
        }
        self.constrained = pools["head"] is not None or pools["tail"] is not None
        excluded = arr if self.filtered else arr[:0]
        self._sides = {side: _Side(side, excluded, n_entities, n_relations, pools[side])
                       for side in _SIDES}
        self._p_head = head_probability(arr, n_relations)

    def __repr__(self) -> str:
        return (f"KGSampler(n_known={self.n_known}, n_entities={self.n_entities}, "
                f"n_relations={self.n_relations}, filtered={self.filtered}"
                + (", constrained=True" if self.constrained else "") + ")")

    def head_probability(self) -> np.ndarray:
        """Per relation, the probability of corrupting the head in
        "bernoulli" mode (``tph / (tph + hpt)`` over ``known``)."""
        return self._p_head.copy()

    def corrupt(self, triples: Any, k: int, *, corrupt: Any = ("head", "tail"),
                mode: str = "uniform", rng: RNGLike = None,
                n_threads: Optional[int] = None, keys: Any = None,
                out: Optional[np.ndarray] = None) -> np.ndarray:
        """k corrupted copies of each triple, none of them known.

        Parameters
        ----------
        triples : array_like of int, shape (..., 3)
            (head, relation, tail) triples, any leading shape (PyKEEN passes
            ``(*batch, 3)``); ids in range.  Not modified.
        k : int
            Corruptions per triple.
        corrupt : str or sequence of {"head", "relation", "tail"}
            The sides a corruption may replace.
        mode : {"uniform", "bernoulli"}
            How each corruption picks its side: uniformly among the sides of
            ``corrupt`` that have a valid replacement, or ("bernoulli", Wang
            et al. 2014; ``corrupt`` must be head and tail) the head with
            probability ``head_probability()[relation]``, renormalised to
            the sides that have a valid replacement.
        rng : None, int, SeedSequence, Generator or torch.Generator
            Randomness (SPEC 7); the output never depends on ``n_threads``.
        n_threads : int, optional
            Threads of the C kernel (None = all cores).
        keys : array_like of int, 1-D, optional
            One non-negative key per triple (reproducible by row): the
            corruptions of a triple then depend only on the key taken from
            ``rng``, its key, the triple and the arguments, not on the other
            triples, their order or how a batch is split.  Same law.
        out : numpy.ndarray, optional
            A C-contiguous int64 array of the result's shape, written in
            place and returned (NumPy's ``out=`` convention; a reused
            buffer saves the allocation and its page faults).

        Returns
        -------
        numpy.ndarray of int64, shape (..., k, 3)
            ``out[..., s, :]`` is the triple with one side replaced.

        Raises
        ------
        ValueError
            For ids out of range or bad arguments, and, naming it, for a
            triple that has no valid replacement on any side of ``corrupt``
            (``out`` is then left untouched).

        Notes
        -----
        The exact law: each corruption independently picks its side as
        above, then a replacement uniformly among the allowed items ``x``
        of that side (its pool, with type constraints) such that the
        corrupted triple is neither known nor the original.  A side with no
        such item is never picked, so every triple gets its k valid
        negatives unless it has none on any side.
        """
        sides = self._sides_of(corrupt)
        if not isinstance(mode, str) or mode not in _KG_MODES:
            raise ValueError(f"mode must be one of {_KG_MODES}, got {describe(mode)}")
        if mode == "bernoulli" and set(sides) != {"head", "tail"}:
            raise ValueError('mode="bernoulli" chooses between head and tail: corrupt must be '
                             f'("head", "tail"), got {describe(corrupt)}')
        k = as_int(k, "k", minimum=0)
        shape, arr = self._batch(triples)
        m = arr.shape[0]
        row_keys = as_keys(keys, m, "triple")
        element_count((m, k, 3), f"k={k} corruptions of each of {m} triples")
        dest = as_out(out, shape + (k, 3), np.int64, arr, triples)
        threads = resolve_n_threads(n_threads)
        gen = as_generator(rng)
        result = np.empty((m, k, 3), dtype=np.int64) if dest is None else dest.reshape(m, k, 3)
        if m == 0 or k == 0:
            return result.reshape(shape + (k, 3)) if dest is None else dest
        k0, k1 = draw_key(gen)
        bad = _kg.sample(tuple(self._sides[s].c for s in sides), self.n_entities, arr, k,
                         self._p_head if mode == "bernoulli" else None, k0, k1, row_keys,
                         threads, result)
        if bad >= 0:
            where = np.unravel_index(bad, shape) if shape else ()
            raise ValueError(
                f"triples{list(map(int, where))} = {arr[bad].tolist()} has no valid "
                f"replacement on any side of corrupt={tuple(sides)}: every candidate "
                "is a known triple or the original"
                + (" or outside its relation's candidates" if self.constrained else ""))
        return result.reshape(shape + (k, 3)) if dest is None else dest

    def _sides_of(self, corrupt: Any) -> Tuple[str, ...]:
        if isinstance(corrupt, str):
            corrupt = (corrupt,)
        try:
            sides = tuple(corrupt)
        except TypeError:
            raise TypeError(f"corrupt must be a side or a sequence of sides {_SIDES}, "
                            f"got {describe(corrupt)}") from None
        if not sides or any(not isinstance(s, str) or s not in _SIDES for s in sides) \
                or len(set(sides)) != len(sides):
            raise ValueError(f"corrupt must name distinct sides among {_SIDES}, "
                             f"got {describe(corrupt)}")
        return tuple(s for s in _SIDES if s in sides)  # canonical order

    def _batch(self, triples: Any) -> Tuple[Tuple[int, ...], np.ndarray]:
        """(leading shape, validated (m, 3) int64 triples)."""
        triples, _ = as_numpy(triples)
        arr = as_array(triples, "triples", "an (..., 3) integer array")
        if arr.ndim == 0 or arr.shape[-1] != 3:
            raise ValueError(f"triples must have shape (..., 3) (head, relation, tail), "
                             f"got shape {arr.shape}")
        shape = tuple(int(d) for d in arr.shape[:-1])
        flat = _as_triples(arr.reshape(-1, 3), self.n_entities, "triples")
        if flat.shape[0] and int(flat[:, 1].max()) >= self.n_relations:
            i = int(np.flatnonzero(flat[:, 1] >= self.n_relations)[0])
            raise ValueError(f"triples[{i}] = {flat[i].tolist()} has a relation outside "
                             f"[0, n_relations={self.n_relations})")
        return shape, flat
