"""Baselines of corrupt_triples and negative_edges: vectorised rejection.

What a careful NumPy user writes: draw everything at once, test membership
with sorted int64 keys and ``np.searchsorted``, redraw the rejected slots
until none remain.  Exact (rejection keeps the uniform law on the accepted
set) but every round pays a binary search with cache misses per draw, and
dense rows make it loop for long.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from negsamp._exclusion import sorted_unique as _sorted_unique  # pure NumPy
from negsamp._rng import RNGLike, as_generator


def _member(sorted_keys: np.ndarray, keys: np.ndarray) -> npt.NDArray[np.bool_]:
    if sorted_keys.shape[0] == 0:
        return np.zeros(keys.shape, dtype=bool)
    pos = np.searchsorted(sorted_keys, keys)
    np.minimum(pos, sorted_keys.shape[0] - 1, out=pos)
    found: npt.NDArray[np.bool_] = sorted_keys[pos] == keys
    return found


def triple_keys(triples: Any, n_entities: int, n_relations: int) -> npt.NDArray[np.int64]:
    """Sorted unique int64 keys ``(h * n_relations + r) * n_entities + t`` of
    (M, 3) triples: sort them once to reuse them across calls of
    :func:`corrupt_triples_numpy` (``known_keys=``)."""
    kn = np.asarray(triples, dtype=np.int64).reshape(-1, 3)
    return _sorted_unique((kn[:, 0] * n_relations + kn[:, 1]) * n_entities + kn[:, 2])


def corrupt_triples_numpy(
    triples: Any, n_entities: int, k: int, *, mode: str = "tail", known: Any = None,
    rng: RNGLike = None, max_rounds: int = 10_000, known_keys: Any = None,
    n_relations: Any = None,
) -> npt.NDArray[np.int64]:
    """NumPy reference of ``negsamp.corrupt_triples`` (modes "tail", "head",
    "both"; "bernoulli" is not implemented here).

    Draws all m*k replacements uniformly, rejects those equal to the
    original entity or (filtered) giving a known triple (membership of the
    (head, relation, tail) key among the sorted known keys), and redraws the
    rejected until none remain.  Sides in "both" are drawn once per slot.
    ``known_keys`` (from :func:`triple_keys` with ``n_relations``) replaces
    ``known``: the keys sorted once, the way a prepared sampler would."""
    gen = as_generator(rng)
    tri = np.asarray(triples, dtype=np.int64)
    m = tri.shape[0]
    n_rel = int(tri[:, 1].max()) + 1 if m else 1
    if known is not None:
        kn = np.asarray(known, dtype=np.int64)
        if kn.shape[0]:
            n_rel = max(n_rel, int(kn[:, 1].max()) + 1)
    if n_relations is not None:
        n_rel = int(n_relations)

    def key(h: np.ndarray, r: np.ndarray, t: np.ndarray) -> npt.NDArray[np.int64]:
        keys: npt.NDArray[np.int64] = (h * n_rel + r) * n_entities + t
        return keys

    if known_keys is None:
        known_keys = (triple_keys(kn, n_entities, n_rel)
                      if known is not None else np.zeros(0, dtype=np.int64))
    out = np.repeat(tri[:, None, :], k, axis=1)  # (m, k, 3)
    col: npt.NDArray[np.int64]
    if mode == "tail":
        col = np.full((m, k), 2)
    elif mode == "head":
        col = np.zeros((m, k), dtype=np.int64)
    elif mode == "both":
        col = np.where(gen.random((m, k)) < 0.5, 0, 2)
    else:
        raise ValueError(f"mode {mode!r} not supported by the baseline")
    flat = out.reshape(-1, 3)
    col = col.ravel()
    orig = flat[np.arange(flat.shape[0]), col]
    todo = np.arange(flat.shape[0])
    for _ in range(max_rounds):
        if todo.shape[0] == 0:
            return out
        x = gen.integers(0, n_entities, todo.shape[0])
        flat[todo, col[todo]] = x
        bad = x == orig[todo]
        if known_keys.shape[0]:
            sub = flat[todo]
            bad |= _member(known_keys, key(sub[:, 0], sub[:, 1], sub[:, 2]))
        todo = todo[bad]
    raise RuntimeError("corrupt_triples_numpy: too many rejection rounds")


def negative_edges_numpy(
    edge_index: Any, n_nodes: int, num_samples: int, *, method: str = "global",
    exclude_self_loops: bool = True, undirected: bool = False, replace: bool = False,
    rng: RNGLike = None, max_rounds: int = 10_000,
) -> npt.NDArray[np.int64]:
    """NumPy reference of ``negsamp.negative_edges``.

    "global": draws batches of uniform pairs (u, v), canonicalises them
    (u <= v) when undirected, rejects edges and self loops by membership of
    ``u * n + v`` among the sorted edge keys, and (replace=False) keeps the
    first occurrence of each pair, until ``num_samples`` are found.
    "per_source": draws (E, num_samples) destinations, rejects edges (key
    ``u * n + v'``) and self loops, and redraws the rejected until none
    remain (replace=False also rejects a repeat within the row)."""
    gen = as_generator(rng)
    ei = np.asarray(edge_index, dtype=np.int64)
    n = int(n_nodes)
    src, dst = ei[0], ei[1]
    if undirected:
        src, dst = np.concatenate([src, dst]), np.concatenate([dst, src])
    edge_keys = _sorted_unique(src * n + dst)

    if method == "global":
        chunks = []
        got = 0
        seen = np.zeros(0, dtype=np.int64)
        for _ in range(max_rounds):
            if got >= num_samples:
                break
            size = 2 * (num_samples - got) + 64
            u = gen.integers(0, n, size)
            v = gen.integers(0, n, size)
            if undirected:
                u, v = np.minimum(u, v), np.maximum(u, v)
            keys = u * n + v
            ok = ~_member(edge_keys, keys)
            if exclude_self_loops:
                ok &= u != v
            keys = keys[ok]
            if not replace:
                _, first = np.unique(keys, return_index=True)
                keys = keys[np.sort(first)]
                keys = keys[~_member(seen, keys)]
            keys = keys[: num_samples - got]
            chunks.append(keys)
            got += keys.shape[0]
            if not replace:
                seen = np.sort(np.concatenate(chunks))
        else:
            raise RuntimeError("negative_edges_numpy: too many rejection rounds")
        keys = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
        return np.stack([keys // n, keys % n])

    # per_source
    e = ei.shape[1]
    out = np.empty((e, num_samples), dtype=np.int64)
    rows = np.repeat(ei[0], num_samples)
    flat = out.reshape(-1)
    todo = np.arange(flat.shape[0])
    for _ in range(max_rounds):
        if todo.shape[0] == 0:
            if replace or num_samples < 2:
                return out
            # A slot repeating an earlier slot of its row is redrawn.
            order = np.argsort(out, axis=1, kind="stable")
            srt = np.take_along_axis(out, order, axis=1)
            later = np.zeros_like(order, dtype=bool)
            later[:, 1:] = srt[:, 1:] == srt[:, :-1]
            r_idx, c_idx = np.nonzero(later)
            todo = np.sort(r_idx * num_samples + order[r_idx, c_idx])
            if todo.shape[0] == 0:
                return out
        flat[todo] = gen.integers(0, n, todo.shape[0])
        bad = _member(edge_keys, rows[todo] * n + flat[todo])
        if exclude_self_loops:
            bad |= flat[todo] == rows[todo]
        todo = todo[bad]
    raise RuntimeError("negative_edges_numpy: too many rejection rounds")
