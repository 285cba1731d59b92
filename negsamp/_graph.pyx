# cython: language_level=3, boundscheck=False, wraparound=False
"""Cython layer of csrc/ns_graph.c: pair codes of graph node pairs and
uniform non-edges by rank.  Users call negsamp.negative_edges instead."""
import numpy as np

from negsamp._c_pool cimport ns_par
from negsamp._negsamp_runtime cimport make_par, check_interrupt
from libc.stdint cimport int64_t, uint64_t
from negsamp._c_graph cimport (
    NS_GRAPH_BLOCK, ns_graph_pair_space, ns_graph_encode, ns_graph_decode,
    ns_graph_rank_to_code, ns_graph_sample_free,
)
from negsamp._common import raise_for_status

#: Draws per RNG block (fixed: output does not depend on the thread count).
BLOCK = NS_GRAPH_BLOCK


def pair_space(int64_t n, bint undirected, bint no_self_loops):
    """Number of candidate pairs of `n` nodes (see csrc/ns_graph.h)."""
    cdef int64_t size = 0
    if ns_graph_pair_space(n, undirected, no_self_loops, &size) != 0:
        raise ValueError(f"n_nodes={n} is too large: n_nodes**2 must fit in int64")
    return size


def encode(int64_t n, bint undirected, bint no_self_loops,
           const int64_t[::1] u, const int64_t[::1] v, int n_threads):
    """Pair codes of (u[i], v[i]); -1 for pairs outside the space."""
    cdef ns_par par
    cdef int64_t count = u.shape[0]
    if v.shape[0] != count:
        raise ValueError("u and v must have the same length")
    out = np.empty(count, dtype=np.int64)
    cdef int64_t[::1] o = out
    cdef int status = 0
    if count:
        make_par(&par, n_threads)
        with nogil:
            status = ns_graph_encode(n, undirected, no_self_loops, &u[0], &v[0],
                                     &o[0], count, &par)
        check_interrupt(status)
    raise_for_status(status, "graph encode")
    return out


def decode(int64_t n, bint undirected, bint no_self_loops,
           const int64_t[::1] codes, int n_threads, object out=None):
    """(2, len(codes)) int64 array of the pairs of `codes` (written into
    `out` when given: C-contiguous int64 of that shape)."""
    cdef ns_par par
    cdef int64_t count = codes.shape[0]
    if out is None:
        out = np.empty((2, count), dtype=np.int64)
    cdef int64_t[:, ::1] o = out
    if o.shape[0] != 2 or o.shape[1] != count:
        raise ValueError(f"out must have shape (2, {count})")
    cdef int status = 0
    if count:
        make_par(&par, n_threads)
        with nogil:
            status = ns_graph_decode(n, undirected, no_self_loops, &codes[0],
                                     &o[0, 0], &o[1, 0], count, &par)
        check_interrupt(status)
    raise_for_status(status, "graph decode")
    return out


def free_index(const int64_t[::1] gaps, int64_t n_free):
    """Bucket index (bucket_start, shift) of the non-decreasing `gaps` for
    ranks in [0, n_free): about one bucket per edge (see csrc/ns_graph.h)."""
    cdef int64_t n_edges = gaps.shape[0]
    cdef int shift = 0
    if n_free <= 0:
        raise ValueError(f"n_free must be >= 1, got {n_free}")
    # At most 62: with n_free above 2**62 and a single edge the loop would
    # otherwise reach 63, which _check_index (rightly) rejects.
    while shift < 62 and ((n_free - 1) >> shift) + 1 > max(n_edges, 1):
        shift += 1
    n_buckets = ((n_free - 1) >> shift) + 1
    # gaps lie in [0, n_free], so gaps >> shift lies in [0, n_buckets].
    counts = np.bincount(np.asarray(gaps) >> shift, minlength=n_buckets + 1)
    starts = np.zeros(n_buckets + 2, dtype=np.int64)
    np.cumsum(counts[:n_buckets + 1], out=starts[1:])
    return starts[:n_buckets + 1].copy(), shift


cdef _check_index(const int64_t[::1] gaps, int64_t n_free,
                  const int64_t[::1] bucket_start, int shift):
    if n_free <= 0:
        raise ValueError(f"n_free must be >= 1, got {n_free}")
    if shift < 0 or shift > 62 or \
            bucket_start.shape[0] != ((n_free - 1) >> shift) + 2:
        raise ValueError("bucket index does not match n_free")
    starts = np.asarray(bucket_start)
    if starts[0] != 0 or starts[starts.shape[0] - 1] > gaps.shape[0] or np.any(np.diff(starts) < 0):
        raise ValueError("bucket index is inconsistent with gaps")


def rank_to_code(const int64_t[::1] gaps, int64_t n_free,
                 const int64_t[::1] bucket_start, int shift,
                 const int64_t[::1] ranks, int n_threads):
    """The ranks[i]-th free code given the gaps of the sorted edge codes."""
    cdef ns_par par
    _check_index(gaps, n_free, bucket_start, shift)
    cdef int64_t count = ranks.shape[0]
    cdef int64_t n_edges = gaps.shape[0]
    if count and (np.asarray(ranks).min() < 0 or np.asarray(ranks).max() >= n_free):
        raise ValueError(f"ranks must be in [0, {n_free})")
    out = np.empty(count, dtype=np.int64)
    cdef int64_t[::1] o = out
    cdef const int64_t *g = &gaps[0] if n_edges else NULL
    cdef int status = 0
    if count:
        make_par(&par, n_threads)
        with nogil:
            status = ns_graph_rank_to_code(g, n_edges, &bucket_start[0], shift,
                                           &ranks[0], &o[0], count, &par)
        check_interrupt(status)
    raise_for_status(status, "graph rank_to_code")
    return out


def sample_free(const int64_t[::1] gaps, int64_t n_free,
                const int64_t[::1] bucket_start, int shift, int64_t count,
                uint64_t k0, uint64_t k1, uint64_t first_block, int n_threads):
    """`count` independent uniform free codes (blocks first_block, ...)."""
    cdef ns_par par
    _check_index(gaps, n_free, bucket_start, shift)
    cdef int64_t n_edges = gaps.shape[0]
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    out = np.empty(count, dtype=np.int64)
    if count == 0:
        return out
    cdef int64_t[::1] o = out
    cdef const int64_t *g = &gaps[0] if n_edges else NULL
    cdef int status
    make_par(&par, n_threads)
    with nogil:
        status = ns_graph_sample_free(g, n_edges, &bucket_start[0], shift, n_free,
                                      k0, k1, first_block, &o[0], count, &par)
    check_interrupt(status)
    raise_for_status(status, "graph sample_free")
    return out
