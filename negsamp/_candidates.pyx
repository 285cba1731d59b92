# cython: language_level=3, boundscheck=False, wraparound=False
"""Cython layer of csrc/ns_candidates.c: checks buffers, releases the GIL,
calls C.  Users call negsamp.sampled_candidates and negsamp.accidental_hits
instead."""
import numpy as np

from negsamp._c_pool cimport ns_par
from negsamp._negsamp_runtime cimport make_par, check_interrupt
from libc.stdint cimport int32_t, int64_t, uint64_t, uint8_t
from negsamp._c_candidates cimport (
    NS_CANDIDATES_UNIFORM, NS_CANDIDATES_LOG_UNIFORM, NS_CANDIDATES_BLOCK,
    ns_candidates_draw, ns_candidates_unique, ns_candidates_hits_mask,
    ns_candidates_hits_pairs,
)
from negsamp._common import raise_for_status

#: Law codes of draw().
UNIFORM = NS_CANDIDATES_UNIFORM
LOG_UNIFORM = NS_CANDIDATES_LOG_UNIFORM

#: Draws per RNG block (fixed: output does not depend on the thread count).
BLOCK = NS_CANDIDATES_BLOCK


def draw(int law, int64_t n, const int64_t[::1] excluded, int64_t count,
         uint64_t k0, uint64_t k1, int n_threads):
    """`count` int64 draws from law UNIFORM or LOG_UNIFORM over [0, n),
    restricted to the ids not in `excluded` (sorted, unique, in [0, n))."""
    cdef ns_par par
    cdef int64_t n_excluded = excluded.shape[0], i
    if law != UNIFORM and law != LOG_UNIFORM:
        raise ValueError(f"law must be UNIFORM or LOG_UNIFORM, got {law}")
    if n < 1 or count < 0:
        raise ValueError(f"need n >= 1 and count >= 0, got n={n}, count={count}")
    for i in range(n_excluded):
        if excluded[i] < 0 or excluded[i] >= n or (i and excluded[i] <= excluded[i - 1]):
            raise ValueError("excluded must be sorted, unique and in [0, n)")
    if n_excluded >= n:
        raise ValueError("every id is excluded: nothing to draw")
    out = np.empty(count, dtype=np.int64)
    if count == 0:
        return out
    cdef int64_t[::1] out_v = out
    cdef const int64_t *ex = &excluded[0] if n_excluded else NULL
    cdef int status
    make_par(&par, n_threads)
    with nogil:
        status = ns_candidates_draw(law, n, ex, n_excluded, k0, k1, &out_v[0], count, &par)
    check_interrupt(status)
    raise_for_status(status, "candidate draw")
    return out


def unique(const int64_t[::1] values):
    """The distinct values (each >= 0) in order of first appearance."""
    cdef int64_t count = values.shape[0], n_unique = 0
    cdef int bits = 1
    while (<int64_t> 1 << bits) < 2 * count:  # load factor <= 1/2
        bits += 1
    slots = np.empty(<int64_t> 1 << bits, dtype=np.int64)
    out = np.empty(count, dtype=np.int64)
    if count == 0:
        return out
    cdef int64_t[::1] slots_v = slots
    cdef int64_t[::1] out_v = out
    cdef int status
    with nogil:
        status = ns_candidates_unique(&values[0], count, &slots_v[0], bits, &out_v[0],
                                      &n_unique)
    if status != 0:
        raise ValueError("values must be non-negative")
    return out[:n_unique].copy()


def hits_mask(const int64_t[::1] indptr, const int64_t[::1] indices,
              const int64_t[::1] rows, const int64_t[:, ::1] candidates,
              object sorted_values, object sorted_positions, int n_threads):
    """(mask (B, C) bool, counts (B,) int64): mask[b, j] when candidate j of
    batch row b is in positives row rows[b] (CSR indptr/indices, rows sorted
    and unique).  candidates is (1, C) (shared) or (B, C); sorted_values and
    sorted_positions (the shared candidates sorted, and their columns) or
    None."""
    cdef ns_par par
    cdef int64_t n_batch = rows.shape[0], n_cand = candidates.shape[1]
    cdef int64_t n_rows = indptr.shape[0] - 1, nnz = indices.shape[0], b, r, j
    cdef int64_t stride = 0 if candidates.shape[0] == 1 else n_cand
    if n_rows < 0:
        raise ValueError("indptr must have at least one entry")
    if candidates.shape[0] != 1 and candidates.shape[0] != n_batch:
        raise ValueError(f"candidates must have 1 or {n_batch} rows, got {candidates.shape[0]}")
    for b in range(n_batch):  # every row read in C stays inside indices
        r = rows[b]
        if r < 0 or r >= n_rows:
            raise ValueError(f"rows[{b}] = {r} is outside [0, {n_rows})")
        if not 0 <= indptr[r] <= indptr[r + 1] <= nnz:
            raise ValueError(f"indptr is inconsistent at row {r}")
    cdef const int64_t[::1] sv
    cdef const int64_t[::1] sp
    cdef const int64_t *svp = NULL
    cdef const int64_t *spp = NULL
    if sorted_values is not None:
        sv, sp = sorted_values, sorted_positions
        if stride != 0 or sv.shape[0] != n_cand or sp.shape[0] != n_cand:
            raise ValueError("sorted_values / sorted_positions need shared candidates, "
                             "one entry each")
        for j in range(n_cand):
            if sp[j] < 0 or sp[j] >= n_cand or (j and sv[j] < sv[j - 1]):
                raise ValueError("sorted_values must be sorted, sorted_positions in [0, C)")
        if n_cand:
            svp, spp = &sv[0], &sp[0]
    mask = np.zeros((n_batch, n_cand), dtype=np.bool_)
    counts = np.zeros(n_batch, dtype=np.int64)
    if n_batch == 0 or n_cand == 0:
        return mask, counts
    cdef uint8_t[:, ::1] mask_v = mask.view(np.uint8)
    cdef int64_t[::1] counts_v = counts
    cdef const int64_t *ip = &indptr[0]
    cdef const int64_t *ix = &indices[0] if nnz else ip  # never read when nnz == 0
    cdef int status
    make_par(&par, n_threads)
    with nogil:
        status = ns_candidates_hits_mask(ip, ix, &rows[0], n_batch, &candidates[0, 0],
                                         n_cand, stride, svp, spp, &mask_v[0, 0],
                                         &counts_v[0], &par)
    check_interrupt(status)
    raise_for_status(status, "accidental hits")
    return mask, counts


def hits_pairs(object mask, const int64_t[::1] counts, int n_threads):
    """(rows int32, columns int64) of the True cells of mask (B, C), in row
    then column order; counts[b] = the True cells of row b."""
    cdef ns_par par
    cdef const uint8_t[:, ::1] mask_v = mask.view(np.uint8)
    cdef int64_t n_batch = mask_v.shape[0], n_cand = mask_v.shape[1], b
    if counts.shape[0] != n_batch:
        raise ValueError(f"counts must have {n_batch} entries")
    if n_batch > 2147483647:
        raise ValueError("more than 2**31 - 1 rows do not fit int32 row indices")
    offsets = np.zeros(n_batch + 1, dtype=np.int64)
    cdef int64_t[::1] off = offsets
    for b in range(n_batch):
        if counts[b] < 0 or counts[b] > n_cand:
            raise ValueError(f"counts[{b}] = {counts[b]} is outside [0, {n_cand}]")
        off[b + 1] = off[b] + counts[b]
    cdef int64_t total = off[n_batch]
    out_rows = np.empty(total, dtype=np.int32)
    out_cols = np.empty(total, dtype=np.int64)
    if total == 0:
        return out_rows, out_cols
    cdef int32_t[::1] rows_v = out_rows
    cdef int64_t[::1] cols_v = out_cols
    cdef int status
    make_par(&par, n_threads)
    with nogil:
        status = ns_candidates_hits_pairs(&mask_v[0, 0], n_batch, n_cand, &off[0],
                                          &rows_v[0], &cols_v[0], &par)
    check_interrupt(status)
    raise_for_status(status, "accidental hit pairs")
    return out_rows, out_cols
