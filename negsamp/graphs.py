"""Negative edges for link prediction: node pairs that are not edges.

Example
-------
>>> import numpy as np, negsamp
>>> edge_index = np.array([[0, 1, 2], [1, 2, 0]])
>>> neg = negsamp.negative_edges(edge_index, 4, 5, rng=0)
>>> neg.shape
(2, 5)
"""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union, cast

import numpy as np
import numpy.typing as npt

from negsamp import _graph
from negsamp._excluding import sample_excluding
from negsamp._exclusion import ExclusionLists, dense_ids, from_pairs, sorted_unique
from negsamp._rng import RNGLike, as_generator, draw_key
from negsamp._threads import resolve_n_threads
from negsamp._validation import (
    c_array, as_array, as_bool, as_int, as_keys, as_out, describe, element_count,
    require_kind,
)

__all__ = ["count_non_edges", "negative_edges"]

_METHODS = ("global", "per_source")


def _as_edge_index(
    edge_index: Any, n_nodes: int, n_dst: Optional[int] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """(sources, destinations) as contiguous int64 copies of edge_index;
    sources in [0, n_nodes), destinations in [0, n_dst) (n_dst defaults to
    n_nodes)."""
    arr = as_array(edge_index, "edge_index", "a (2, E) integer array")
    if arr.ndim == 2 and arr.shape[0] == 2 and arr.size == 0:
        arr = arr.astype(np.int64)
    require_kind(arr, "edge_index", integer=True)
    if arr.ndim != 2 or arr.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E), got shape {arr.shape}")
    bounds = (n_nodes, n_nodes if n_dst is None else n_dst)
    for side, bound in enumerate(bounds):
        ids = arr[side]
        if not ids.size:
            continue
        lo, hi = ids.min(), ids.max()
        if lo < 0 or hi >= bound:
            bad = lo if lo < 0 else hi
            col = int(np.flatnonzero(ids == bad)[0])
            what = "node ids" if n_dst is None else ("source ids", "destination ids")[side]
            raise ValueError(
                f"edge_index must hold {what} in [0, {bound}), got "
                f"{int(bad)} in edge {col} ({int(arr[0, col])}, {int(arr[1, col])})"
            )
    src = c_array(arr[0], dtype=np.int64)
    dst = c_array(arr[1], dtype=np.int64)
    return src, dst


class _PairSpace:
    """The candidate pairs of one call, coded as integers in [0, size).

    One graph of ``n_nodes`` nodes (codes of csrc/ns_graph.h, which leave
    out self loops and, undirected, the pairs u > v), or a bipartite graph
    of ``n_src`` sources and ``n_dst`` destinations (code u * n_dst + v)."""

    def __init__(self, n_nodes: Any, undirected: bool, no_self_loops: bool) -> None:
        if isinstance(n_nodes, tuple):
            if len(n_nodes) != 2:
                raise ValueError(
                    "n_nodes must be an int or a pair (n_src, n_dst), got a tuple "
                    f"of length {len(n_nodes)}")
            if undirected:
                raise ValueError(
                    "undirected=True needs one node set; a bipartite graph "
                    f"(n_nodes={n_nodes!r}) has directed pairs (source, destination)")
            self.bipartite = True
            self.n_src = as_int(n_nodes[0], "n_nodes[0] (sources)", minimum=1)
            self.n_dst = as_int(n_nodes[1], "n_nodes[1] (destinations)", minimum=1)
            if self.n_src > (2**63 - 1) // self.n_dst:
                raise ValueError(
                    f"n_nodes={n_nodes!r} is too large: n_src * n_dst must fit in int64")
            self.undirected = self.no_self_loops = False
            self.size = self.n_src * self.n_dst
        else:
            self.bipartite = False
            self.n_src = self.n_dst = as_int(n_nodes, "n_nodes", minimum=1)
            self.undirected, self.no_self_loops = undirected, no_self_loops
            self.size = _graph.pair_space(self.n_src, undirected, no_self_loops)

    def describe(self) -> str:
        if self.bipartite:
            return f"{self.n_src} x {self.n_dst} bipartite nodes"
        return f"{self.n_src} nodes"

    def edges(self, edge_index: Any) -> Tuple[np.ndarray, np.ndarray]:
        return _as_edge_index(edge_index, self.n_src,
                              self.n_dst if self.bipartite else None)

    def encode(self, src: np.ndarray, dst: np.ndarray, n_threads: int) -> np.ndarray:
        """Codes of the pairs (src[i], dst[i]); -1 for pairs outside the
        space (self loops when they are excluded)."""
        if self.bipartite:
            codes: np.ndarray = src * self.n_dst + dst
            return codes
        return _graph.encode(self.n_src, self.undirected, self.no_self_loops,
                             src, dst, n_threads)

    def decode(self, codes: np.ndarray, n_threads: int,
               out: Optional[np.ndarray] = None) -> npt.NDArray[np.int64]:
        """(2, len(codes)) pairs of ``codes``, into ``out`` when given."""
        if self.bipartite:
            if out is None:
                out = np.empty((2, codes.shape[0]), dtype=np.int64)
            np.divmod(codes, self.n_dst, out=(out[0], out[1]))
            return out
        return _graph.decode(self.n_src, self.undirected, self.no_self_loops,
                             codes, n_threads, out)

    def edge_gaps(
        self, src: np.ndarray, dst: np.ndarray, n_threads: int,
    ) -> Tuple[np.ndarray, int]:
        """Gaps d_i = e_i - i of the sorted unique edge codes, and the number
        of distinct edges in the pair space (see csrc/ns_graph.h)."""
        codes = self.encode(src, dst, n_threads)
        codes = sorted_unique(codes[codes >= 0])
        gaps = codes - np.arange(codes.shape[0], dtype=np.int64)
        return c_array(gaps), int(codes.shape[0])


def _out_neighbours(
    n_items: int, src: np.ndarray, dst: np.ndarray, undirected: bool,
    no_self_loops: bool,
) -> Tuple[ExclusionLists, np.ndarray]:
    """Exclusion rows of the distinct sources over destinations
    [0, n_items), and the row of each edge.

    The row of source u holds the sorted unique v with (u, v) an edge (or
    (v, u) when undirected), plus u itself when self loops are excluded.
    Memory is O(E), whatever n_nodes."""
    sources, row_of_edge = dense_ids(src)
    n_rows = sources.shape[0]
    if undirected:
        src, dst = np.concatenate([src, dst]), np.concatenate([dst, src])
    # Row of every (possibly reversed) edge's source; -1 if not a source.
    pos = np.minimum(np.searchsorted(sources, src), n_rows - 1)
    keep = sources[pos] == src
    rows, items = pos[keep], dst[keep]
    if no_self_loops:
        rows = np.concatenate([rows, np.arange(n_rows, dtype=np.int64)])
        items = np.concatenate([items, sources])
    exclusions = from_pairs(rows, items, n_rows, n_items)
    return exclusions, row_of_edge


def negative_edges(
    edge_index: Any,
    n_nodes: Union[int, Tuple[int, int]],
    num_samples: int,
    *,
    method: str = "global",
    exclude_self_loops: bool = True,
    undirected: bool = False,
    replace: bool = False,
    up_to: bool = False,
    rng: RNGLike = None,
    n_threads: Optional[int] = None,
    keys: Any = None,
    out: Optional[np.ndarray] = None,
) -> npt.NDArray[np.int64]:
    """Node pairs that are not edges of a graph, exactly as many as asked.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E)
        Edge ``i`` goes from ``edge_index[0, i]`` to ``edge_index[1, i]``;
        node ids in ``[0, n_nodes)``.  Duplicated edges are allowed.  Not
        modified.
    n_nodes : int or (int, int)
        Number of nodes (``n_nodes**2`` must fit in int64), or a pair
        ``(n_src, n_dst)`` for a bipartite graph: sources
        ``edge_index[0]`` in ``[0, n_src)``, destinations ``edge_index[1]``
        in ``[0, n_dst)``, and the candidate pairs are the ``n_src * n_dst``
        (source, destination) pairs (``exclude_self_loops`` does not apply;
        ``undirected=True`` is a ValueError).
    num_samples : int
        "global": number of pairs to return; "per_source": negatives per
        edge.
    method : {"global", "per_source"}
        "global" returns a ``(2, num_samples)`` int64 array of pairs drawn
        uniformly among all non-edge pairs.  "per_source" returns an
        ``(E, num_samples)`` int64 array whose row ``i`` holds destinations
        ``v'`` drawn uniformly among the nodes with ``(u, v')`` not an edge,
        ``u = edge_index[0, i]``.
    exclude_self_loops : bool
        When True (default) pairs ``(u, u)`` are never returned.  When False,
        a self loop is a candidate pair unless it is an edge.
    undirected : bool
        When True an edge ``(u, v)`` forbids both ``(u, v)`` and ``(v, u)``.
        "global" then samples unordered pairs and returns them canonically,
        ``u < v`` (``u <= v`` with self loops allowed) in each column.
    replace : bool
        False (default): "global" pairs are distinct and "per_source" rows
        hold distinct destinations.  True: independent draws.
    up_to : bool
        "global" only (ValueError with "per_source").  False (default): a
        graph with fewer non-edge pairs than asked is a ValueError.  True:
        return ``min(num_samples, count_non_edges(...))`` distinct pairs
        (``replace=False``; with ``replace=True`` only a graph without any
        non-edge returns fewer: none), so the output has shape
        ``(2, m)`` with ``m <= num_samples``.
    rng : None, int, SeedSequence or Generator
        Randomness (SPEC 7); the output never depends on ``n_threads``.
    n_threads : int, optional
        Threads of the C kernels (None = all cores).
    keys : array_like of int, 1-D, optional
        "per_source" only (ValueError with "global"): one non-negative key
        per edge, reproducible by row (see ``NegativeSampler.sample``): row
        ``i`` then depends only on the key taken from ``rng``, ``keys[i]``,
        its source's out-neighbours and ``num_samples``/``replace``, not on
        the other edges' rows, their order or ``n_threads``.  Equal keys of
        edges with the same source give equal rows.  Same law.
    out : numpy.ndarray, optional
        A C-contiguous int64 array of the result's shape (``(2,
        num_samples)`` or ``(E, num_samples)``), written in place and
        returned (NumPy's ``out=`` convention: a reused buffer saves the
        allocation and its page faults).  Not with ``up_to=True``, whose
        output size is not known in advance.

    Returns
    -------
    numpy.ndarray of int64, shape (2, num_samples) or (E, num_samples)
        (``(2, m)``, ``m <= num_samples``, with ``up_to=True``).

    Raises
    ------
    ValueError
        When the graph is too dense: fewer non-edge pairs than
        ``num_samples`` ("global", ``replace=False``) or none at all; or a
        source with no (or, ``replace=False``, fewer than ``num_samples``)
        non-neighbours ("per_source").  The message gives the numbers.

    Notes
    -----
    The law is exact.  "global", ``replace=True``: each column is uniform
    over the non-edge pairs, independently.  ``replace=False``: the output
    is a uniformly random ordered sample without replacement (the first
    ``num_samples`` distinct values of a stream of uniform draws, or
    ``Generator.choice(replace=False)`` of the non-edge ranks when they are
    fewer than ``2 * num_samples``).  Pairs are drawn by rank: with the
    edges as sorted codes ``e_i`` of the pair space, the ``j``-th non-edge
    is ``j + #{i : e_i - i <= j}``, one binary search, so dense graphs cost
    the same as sparse ones.  Cost: O(E log E) to sort the edges, then
    O(num_samples log E) ("global"); "per_source" samples with
    ``NegativeSampler``'s exact per-row method (rejection against the
    sorted out-neighbours, or the complement when they are most nodes).
    """
    if not isinstance(n_nodes, tuple):
        as_int(n_nodes, "n_nodes", minimum=1)
    num_samples = as_int(num_samples, "num_samples", minimum=0)
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {describe(method)}")
    exclude_self_loops = as_bool(exclude_self_loops, "exclude_self_loops")
    undirected = as_bool(undirected, "undirected")
    replace = as_bool(replace, "replace")
    up_to = as_bool(up_to, "up_to")
    if up_to and method != "global":
        raise ValueError('up_to=True needs method="global" (per_source rows have '
                         f'num_samples columns each), got method={method!r}')
    threads = resolve_n_threads(n_threads)
    space = _PairSpace(n_nodes, undirected, exclude_self_loops)
    src, dst = space.edges(edge_index)
    if keys is not None and method != "per_source":
        raise ValueError('keys (one per edge) need method="per_source", got '
                         f'method={method!r}')
    row_keys = as_keys(keys, src.shape[0], "edge")
    if method == "global":
        element_count((2, num_samples), f"num_samples={num_samples} pairs of 2 nodes")
    else:
        element_count((src.shape[0], num_samples),
                      f"num_samples={num_samples} negatives for each of {src.shape[0]} edges")
    if out is not None and up_to:
        raise ValueError("out= needs up_to=False (the number of pairs up_to=True returns "
                         "is not known in advance)")
    shape = (2, num_samples) if method == "global" else (src.shape[0], num_samples)
    dest = as_out(out, shape, np.int64, edge_index, keys)
    gen = as_generator(rng)
    if method == "global":
        return _global(space, src, dst, num_samples, replace, up_to, gen, threads, dest)
    return _per_source(space, src, dst, num_samples, replace, gen, threads, row_keys, dest)


def count_non_edges(
    edge_index: Any,
    n_nodes: Union[int, Tuple[int, int]],
    *,
    exclude_self_loops: bool = True,
    undirected: bool = False,
    n_threads: Optional[int] = None,
) -> int:
    """Number of candidate pairs that are not edges: what
    ``negative_edges(..., replace=False)`` can return at most.

    Parameters are those of ``negative_edges``: the candidate pairs are the
    ordered pairs of ``n_nodes`` nodes (unordered with ``undirected=True``;
    without ``(u, u)`` when ``exclude_self_loops``), or the ``n_src * n_dst``
    pairs of a bipartite ``n_nodes=(n_src, n_dst)``.  Duplicated edges count
    once; self-loop edges do not count when self loops are excluded.

    Cost: O(E log E) (the edges are coded and sorted once).
    """
    if not isinstance(n_nodes, tuple):
        as_int(n_nodes, "n_nodes", minimum=1)
    exclude_self_loops = as_bool(exclude_self_loops, "exclude_self_loops")
    undirected = as_bool(undirected, "undirected")
    threads = resolve_n_threads(n_threads)
    space = _PairSpace(n_nodes, undirected, exclude_self_loops)
    src, dst = space.edges(edge_index)
    _, n_edges = space.edge_gaps(src, dst, threads)
    return int(space.size - n_edges)


def _global(
    space: _PairSpace, src: np.ndarray, dst: np.ndarray, num_samples: int,
    replace: bool, up_to: bool, gen: np.random.Generator, threads: int,
    out: Optional[np.ndarray] = None,
) -> npt.NDArray[np.int64]:
    gaps, n_edges = space.edge_gaps(src, dst, threads)
    n_free = space.size - n_edges
    if up_to:
        num_samples = (0 if n_free == 0 else num_samples) if replace else min(num_samples, n_free)
    if num_samples == 0:
        return np.zeros((2, 0), dtype=np.int64) if out is None else out
    if n_free == 0 or (not replace and num_samples > n_free):
        raise ValueError(
            f"graph too dense: {n_free} non-edge pairs among {space.size} candidate pairs "
            f"of {space.describe()}, cannot return num_samples={num_samples} "
            f"{'pairs' if replace else 'distinct pairs'}"
        )
    if replace:
        k0, k1 = draw_key(gen)
        starts, shift = _graph.free_index(gaps, n_free)
        codes = _graph.sample_free(gaps, n_free, starts, shift, num_samples, k0, k1, 0,
                                   threads)
    elif n_free <= 2 * num_samples:
        # Dense: an exact ordered sample of the ranks, O(n_free) <= O(2 s).
        ranks = gen.choice(n_free, size=num_samples, replace=False).astype(np.int64)
        starts, shift = _graph.free_index(gaps, n_free)
        codes = _graph.rank_to_code(gaps, n_free, starts, shift,
                                    c_array(ranks), threads)
    else:
        codes = _distinct_codes(gaps, n_free, num_samples, gen, threads)
    return space.decode(codes, threads, out)


def _first_occurrences(draws: np.ndarray) -> np.ndarray:
    """Mask of the first occurrence of each value of ``draws``.  Sorting is
    cheap; only the (few) positions holding a repeated value are examined
    in draw order."""
    ordered = np.sort(draws)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    keep = np.ones(draws.shape[0], dtype=bool)
    if repeated.shape[0] == 0:
        return keep
    where = np.flatnonzero(np.isin(draws, repeated))  # ascending draw order
    sub = draws[where]
    order = np.argsort(sub, kind="stable")
    head = np.ones(order.shape[0], dtype=bool)
    head[1:] = sub[order][1:] != sub[order][:-1]
    keep[where] = False
    keep[where[order[head]]] = True  # stable: a run's head is its first draw
    return keep


def _distinct_codes(
    gaps: np.ndarray, n_free: int, count: int, gen: np.random.Generator, threads: int,
) -> np.ndarray:
    """The first ``count`` distinct values, in order of first appearance, of
    one stream of independent uniform free codes: a uniformly random ordered
    sample without replacement (rejection of duplicates is exact for a
    uniform law).  n_free > 2 * count, so each draw is new with probability
    > 1/2."""
    k0, k1 = draw_key(gen)
    starts, shift = _graph.free_index(gaps, n_free)
    block = _graph.BLOCK
    next_block = 0
    parts = []  # accepted codes, in draw order
    taken = 0
    seen = np.zeros(0, dtype=np.int64)  # accepted codes, sorted
    while taken < count:
        need = count - taken
        batch = int(need / (1.0 - taken / n_free) * 1.05) + 64
        draws = _graph.sample_free(gaps, n_free, starts, shift, batch, k0, k1,
                                   next_block, threads)
        next_block += -(-batch // block)  # never reuse a (key, block) stream
        keep = _first_occurrences(draws)
        if seen.shape[0]:
            pos = np.minimum(np.searchsorted(seen, draws), seen.shape[0] - 1)
            keep &= seen[pos] != draws
        new = draws[keep][:need]
        parts.append(new)
        taken += new.shape[0]
        if taken < count:
            seen = np.sort(np.concatenate(parts))
    return c_array(np.concatenate(parts))


def _per_source(
    space: _PairSpace, src: np.ndarray, dst: np.ndarray, num_samples: int,
    replace: bool, gen: np.random.Generator, threads: int,
    keys: Optional[np.ndarray] = None, out: Optional[np.ndarray] = None,
) -> npt.NDArray[np.int64]:
    if src.shape[0] == 0 or num_samples == 0:
        return np.zeros((src.shape[0], num_samples), dtype=np.int64) if out is None else out
    n_dst = space.n_dst
    exclusions, rows = _out_neighbours(n_dst, src, dst, space.undirected,
                                       space.no_self_loops)
    eligible = n_dst - exclusions.lengths()[rows]
    need = 1 if replace else num_samples
    short = eligible < need
    if short.any():
        i = int(np.flatnonzero(short)[0])
        u = int(src[i])
        raise ValueError(
            f"graph too dense: source node {u} (edge {i}) has {int(eligible[i])} "
            f"non-neighbours among {n_dst} {'destinations' if space.bipartite else 'nodes'}, "
            f"cannot draw num_samples="
            f"{num_samples} {'destinations' if replace else 'distinct destinations'}"
        )
    # return_log_q=False: a single array.
    return cast("npt.NDArray[np.int64]",
                sample_excluding(n_dst, exclusions, rows, num_samples, gen,
                                 replace=replace, n_threads=threads,
                                 row_label="source nodes", keys=keys, out=out))
