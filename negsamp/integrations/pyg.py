"""PyTorch Geometric's negative sampling functions, exact and fast.

Drop-in replacements for ``torch_geometric.utils.negative_sampling``,
``batched_negative_sampling``, ``structured_negative_sampling`` and
``structured_negative_sampling_feasible``, with their signatures and
conventions:

- ``edge_index`` is a ``(2, E)`` LongTensor; results are LongTensors on its
  device (a CUDA ``edge_index`` is copied to the host, sampled there, and the
  result copied back);
- ``num_nodes`` defaults to ``edge_index.max() + 1``; a pair
  ``(num_src, num_dst)`` means a bipartite graph;
- ``num_neg_samples`` defaults to ``E``; a float is a ratio of ``E``;
- ``force_undirected=True`` returns ``num_neg_samples // 2`` unordered pairs,
  each in both directions;
- randomness comes from torch's default generator unless ``rng`` is given,
  so ``torch.manual_seed(s)`` makes a call reproducible.

Where they differ from PyG, it is by being exact: PyG oversamples, rejects,
and gives up after three rounds, so it can return fewer pairs than asked
(and near saturation, the lowest-numbered non-edges in order); these return
exactly ``min(num_neg_samples, number of non-edges)`` distinct pairs drawn
uniformly among all non-edges.  Under ``force_undirected`` an edge given in
either direction is never returned, in either direction.  ``method``
("sparse" or "dense") is accepted for compatibility; the same exact
algorithm serves both (negsamp.negative_edges: rank of the j-th non-edge by
binary search over the sorted edge codes, O(E log E + num log E)).

Example
-------
>>> import torch
>>> from negsamp.integrations.pyg import negative_sampling
>>> edge_index = torch.tensor([[0, 0, 1, 2], [0, 1, 2, 3]])
>>> _ = torch.manual_seed(0)
>>> negative_sampling(edge_index).shape
torch.Size([2, 4])
"""
from __future__ import annotations

import importlib
import numbers
from typing import Any, Optional, Tuple, Union

import numpy as np

from negsamp._rng import RNGLike, as_generator
from negsamp._torch import as_numpy, from_numpy, seed_from_torch
from negsamp._validation import describe
from negsamp.graphs import negative_edges

# Imported by name: the package type-checks where torch is not installed
# (results are typed Any: torch.Tensor LongTensors).
torch: Any = importlib.import_module("torch")

__all__ = [
    "batched_negative_sampling",
    "negative_sampling",
    "structured_negative_sampling",
    "structured_negative_sampling_feasible",
]

Size = Union[int, Tuple[int, int], None]


def _generator(rng: Optional[RNGLike]) -> np.random.Generator:
    """``rng`` as a Generator; None draws a seed from torch's default
    generator (so torch.manual_seed reproduces the call)."""
    if rng is None:
        return np.random.default_rng(seed_from_torch())
    return as_generator(rng)


def _count(value: Any, name: str) -> int:
    """A non-negative count given as an int, a NumPy integer or a 0-d
    integer tensor."""
    value, _ = as_numpy(value)
    if isinstance(value, np.ndarray):
        if value.ndim != 0 or value.dtype.kind not in "iu":
            raise TypeError(f"{name} must be an int, got an array of shape "
                            f"{value.shape} and dtype {value.dtype}")
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {describe(value)}")
    if int(value) < 0:
        raise ValueError(f"{name} must be >= 0, got {int(value)}")
    return int(value)


def _edge_index(edge_index: Any) -> Tuple[np.ndarray, Any]:
    """(edge_index as a (2, E) int64 array, its device)."""
    array, device = as_numpy(edge_index)
    array = np.asarray(array)
    if array.ndim != 2 or array.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E), got shape {tuple(array.shape)}")
    if array.size == 0:
        array = array.astype(np.int64)
    if array.dtype == np.bool_ or array.dtype.kind not in "iu":
        raise TypeError(f"edge_index must have an integer dtype, got dtype {array.dtype}")
    return array, device


def _num_nodes(num_nodes: Any, edges: np.ndarray) -> Union[int, Tuple[int, int]]:
    """PyG's maybe_num_nodes: max + 1 of edge_index when None."""
    if num_nodes is None:
        return int(edges.max()) + 1 if edges.size else 0
    if isinstance(num_nodes, (tuple, list)):
        if len(num_nodes) != 2:
            raise ValueError("num_nodes must be an int or a pair (num_src, num_dst), "
                             f"got {describe(num_nodes)}")
        return (_count(num_nodes[0], "num_nodes[0]"), _count(num_nodes[1], "num_nodes[1]"))
    return _count(num_nodes, "num_nodes")


def _num_samples(num_neg_samples: Any, n_edges: int) -> int:
    if num_neg_samples is None:
        return n_edges
    if isinstance(num_neg_samples, float):
        if not num_neg_samples >= 0.0 or not np.isfinite(num_neg_samples):
            raise ValueError("num_neg_samples as a ratio must be finite and >= 0, "
                             f"got {num_neg_samples!r}")
        return int(num_neg_samples * n_edges)
    return _count(num_neg_samples, "num_neg_samples")


def _check_method(method: Any) -> None:
    if method not in ("sparse", "dense"):
        raise ValueError(f'method must be "sparse" or "dense", got {describe(method)}')


def _sample(
    edges: np.ndarray, size: Union[int, Tuple[int, int]], num: int,
    force_undirected: bool, gen: np.random.Generator, n_threads: Optional[int],
) -> np.ndarray:
    """The (2, m) int64 negatives of one graph, PyG's conventions."""
    bipartite = isinstance(size, tuple)
    if bipartite:
        force_undirected = False
    if force_undirected:
        num //= 2
    empty = (0 in size) if isinstance(size, tuple) else size == 0
    if empty or num == 0:
        return np.zeros((2, 0), dtype=np.int64)
    pairs = negative_edges(edges, size, num, undirected=force_undirected,
                           exclude_self_loops=True, up_to=True, rng=gen,
                           n_threads=n_threads)
    if force_undirected:
        pairs = np.concatenate([pairs, pairs[::-1]], axis=1)
    return pairs


def negative_sampling(
    edge_index: Any,
    num_nodes: Size = None,
    num_neg_samples: Union[int, float, None] = None,
    method: str = "sparse",
    force_undirected: bool = False,
    *,
    rng: Optional[RNGLike] = None,
    n_threads: Optional[int] = None,
) -> Any:
    """``torch_geometric.utils.negative_sampling``, exact.

    Returns a ``(2, m)`` LongTensor on ``edge_index``'s device of distinct
    node pairs that are not edges (and not self loops unless bipartite),
    uniformly random, ``m = min(num_neg_samples, number of non-edges)``
    (``2 * (num_neg_samples // 2)``, both directions of each pair, with
    ``force_undirected=True``).  ``rng``: SPEC 7 seed, a numpy or torch
    Generator; None (default) draws from torch's default generator.
    """
    _check_method(method)
    edges, device = _edge_index(edge_index)
    size = _num_nodes(num_nodes, edges)
    num = _num_samples(num_neg_samples, edges.shape[1])
    pairs = _sample(edges, size, num, bool(force_undirected), _generator(rng), n_threads)
    return from_numpy(pairs, device)


def batched_negative_sampling(
    edge_index: Any,
    batch: Any,
    num_neg_samples: Union[int, float, None] = None,
    method: str = "sparse",
    force_undirected: bool = False,
    *,
    rng: Optional[RNGLike] = None,
    n_threads: Optional[int] = None,
) -> Any:
    """``torch_geometric.utils.batched_negative_sampling``, exact.

    ``batch`` assigns each node to its graph (the nodes of a graph are
    consecutive, as in a PyG mini-batch); a pair ``(src_batch, dst_batch)``
    means bipartite graphs.  Each graph gets ``negative_sampling`` of its own
    edges (``num_neg_samples``: per graph; None = its edge count, a float a
    ratio of it), and the results are concatenated in graph order.
    """
    _check_method(method)
    edges, device = _edge_index(edge_index)
    bipartite = isinstance(batch, (tuple, list))
    src_batch = np.asarray(as_numpy(batch[0] if bipartite else batch)[0])
    dst_batch = np.asarray(as_numpy(batch[1])[0]) if bipartite else src_batch
    for name, b in (("batch", src_batch), ("batch", dst_batch)):
        if b.ndim != 1 or (b.size and b.dtype.kind not in "iu"):
            raise TypeError(f"{name} must be a 1-D integer tensor, got shape "
                            f"{b.shape} and dtype {b.dtype}")
    n_graphs = int(src_batch.max()) + 1 if src_batch.size else 0
    num_src = np.bincount(src_batch, minlength=n_graphs)
    num_dst = np.bincount(dst_batch, minlength=n_graphs)
    start_src = np.concatenate([[0], np.cumsum(num_src)[:-1]])
    start_dst = np.concatenate([[0], np.cumsum(num_dst)[:-1]]) if bipartite else start_src
    if edges.shape[1] and (edges[0].max() >= src_batch.shape[0]
                           or edges[1].max() >= dst_batch.shape[0]):
        raise ValueError("edge_index holds a node id beyond the batch vector "
                         f"(length {src_batch.shape[0]})")
    graph_of_edge = src_batch[edges[0]] if edges.shape[1] else np.zeros(0, np.int64)
    order = np.argsort(graph_of_edge, kind="stable")
    bounds = np.searchsorted(graph_of_edge[order], np.arange(n_graphs + 1))
    gen = _generator(rng)
    parts = []
    for g in range(n_graphs):
        sel = order[bounds[g]:bounds[g + 1]]
        offset = np.array([[start_src[g]], [start_dst[g]]], dtype=np.int64)
        local = edges[:, sel].astype(np.int64) - offset
        size: Union[int, Tuple[int, int]] = (
            (int(num_src[g]), int(num_dst[g])) if bipartite else int(num_src[g]))
        num = _num_samples(num_neg_samples, sel.shape[0])
        parts.append(_sample(local, size, num, bool(force_undirected), gen, n_threads)
                     + offset)
    out = np.concatenate(parts, axis=1) if parts else np.zeros((2, 0), dtype=np.int64)
    return from_numpy(out, device)


def structured_negative_sampling(
    edge_index: Any,
    num_nodes: Optional[int] = None,
    contains_neg_self_loops: bool = True,
    *,
    rng: Optional[RNGLike] = None,
    n_threads: Optional[int] = None,
) -> Tuple[Any, Any, Any]:
    """``torch_geometric.utils.structured_negative_sampling``, exact.

    For every edge ``(i, j)`` a node ``k`` drawn uniformly among the nodes
    with ``(i, k)`` not an edge (and ``k != i`` unless
    ``contains_neg_self_loops``); returns ``(i, j, k)``.  A node joined to
    every candidate is a ValueError naming it (PyG loops forever there; see
    ``structured_negative_sampling_feasible``).
    """
    edges, device = _edge_index(edge_index)
    n = _num_nodes(num_nodes, edges)
    if isinstance(n, tuple):
        raise TypeError(f"num_nodes must be an int, got {describe(num_nodes)}")
    if edges.shape[1] == 0:
        k = np.zeros(0, dtype=np.int64)
    else:
        k = negative_edges(edges, n, 1, method="per_source",
                           exclude_self_loops=not contains_neg_self_loops,
                           replace=True, rng=_generator(rng), n_threads=n_threads)[:, 0]
    if device is not None:  # a tensor: its rows, as PyG returns them
        return edge_index[0], edge_index[1], from_numpy(k, device)
    return (from_numpy(edges[0].astype(np.int64), device),
            from_numpy(edges[1].astype(np.int64), device), from_numpy(k, device))


def structured_negative_sampling_feasible(
    edge_index: Any,
    num_nodes: Optional[int] = None,
    contains_neg_self_loops: bool = True,
) -> bool:
    """``torch_geometric.utils.structured_negative_sampling_feasible``: True
    when no node is joined to every node it could be paired with."""
    edges, _ = _edge_index(edge_index)
    n = _num_nodes(num_nodes, edges)
    if isinstance(n, tuple):
        raise TypeError(f"num_nodes must be an int, got {describe(num_nodes)}")
    src, dst = edges[0].astype(np.int64), edges[1].astype(np.int64)
    if not contains_neg_self_loops:
        keep = src != dst
        src, dst = src[keep], dst[keep]
    codes = np.unique(src * n + dst)
    degree = np.bincount(codes // n, minlength=n) if n else np.zeros(0, np.int64)
    limit = n if contains_neg_self_loops else n - 1
    return bool(np.all(degree < limit))
