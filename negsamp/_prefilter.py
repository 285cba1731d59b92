"""Exact hard negatives through an int8 prefilter (issue 17): the driver of
``hard_negatives(..., precision="int8")``.

Queries and each tile of candidates are quantised to symmetric int8 with
one scale per vector (s = max|x| / 127); the int8 tile product (int32
accumulation, AMX, AVX-512 VNNI, AVX2 or scalar: csrc/ns_quant.c) gives every
pair an approximate score and a rigorous bound on its error,

    |q.c - s_q s_c (q~.c~)| <= ||e_q|| ||c|| + ||s_q q~|| ||e_c|| + slack,

(the residuals e = x - s x~, Cauchy-Schwarz; the slack covers float64
rounding, see csrc/ns_quant.c).  Only the pairs whose upper bound can still
enter the query's top list (or window) are rescored, by a compensated
float64 dot product of the float32 vectors, and merged into per-query heaps
by (rescored score, lower id).  The first tile seeds every heap with its
best candidates by approximate score, so the threshold is good from the
start.

What the result is: the top k of the inner products of the float32 vectors
(normalised in float32 for cosine, as the exact path does), ranked by their
float64 value (within 2 ulps of float64 of the true product), ties to the
lower id; the returned scores are those products rounded once to float32.
It does not depend on n_threads, block_size or the kernel.  The exact
path's scores are float32 BLAS products instead, so the two may differ in
the last bits of the scores and, on near-ties, in the ids.

Supported: float32 compute (not both inputs float64), metric dot/cosine,
largest True/False, exclusions, positives, windows, margins, skip_top, and
d <= 65536.  Not supported: ``temperature`` (and ``keys``).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from negsamp import _quant
from negsamp._embeddings import first_nonfinite, normalise_rows

#: Candidates per tile when block_size is None: about 1 MB of int8 codes,
#: so that a tile stays in the cache while every query block reads it.
TILE_CODE_BYTES = 1 << 20

#: "auto" picks int8 only with the VNNI or AMX kernel and from these sizes on
#: (measured on a loaded 2-core Xeon with AVX-512 VNNI, k = 32, the time of
#: int8 over exact32's: 0.54 at B = 1024, N = 1e5, d = 768; 0.66 at d =
#: 128; 0.68-0.74 at B = 256, N = 1e5; about even (0.85-1.16) at N = 2e4
#: or B = 64; slower at d = 32 (1.3-2.4), where the quantisation and the
#: tile test cost more than the int8 products save.  The AVX2 kernel is
#: slower than the float32 tile GEMM at d = 768, so it is never chosen).
#: The AMX kernel took 0.94-1.09 of the VNNI kernel's time at B = 1024, N =
#: 1e5, d = 128 and 0.69-0.72 at d = 768 (loaded machine): the same sizes.
AUTO_MIN_ROWS = 256
AUTO_MIN_ITEMS = 100_000
AUTO_MIN_DIM = 128

_PRECISIONS = ("auto", "exact32", "int8")

#: The kernel hard_negatives uses: "auto" (the best this CPU runs) or a
#: forced one ("amx", "vnni", "avx2", "scalar"), a switch for tests and
#: benchmarks; a forced kernel the CPU does not run raises ValueError.
KERNEL = "auto"

#: The kernels with which "auto" may pick int8 (the others are slower
#: than the float32 tile GEMM on large inputs).
_AUTO_KERNELS = ("vnni", "amx")


def unsupported_reason(dtype: np.dtype, dim: int, temperature: Optional[float]) -> Optional[str]:
    """Why the int8 path cannot serve these arguments, or None."""
    if temperature is not None:
        return "temperature (Gumbel sampling needs every score)"
    if dtype != np.float32:
        return "float64 inputs (the int8 path computes float32 scores)"
    if dim > _quant.MAX_DIM:
        return f"dimension {dim} > {_quant.MAX_DIM} (int32 accumulation)"
    return None


def choose(precision: str, dtype: np.dtype, n_rows: int, n_items: int, dim: int,
           temperature: Optional[float]) -> bool:
    """True when the int8 path runs; ValueError for precision="int8" with
    arguments it does not support."""
    if precision == "exact32":
        return False
    reason = unsupported_reason(dtype, dim, temperature)
    if precision == "int8":
        if reason is not None:
            raise ValueError(f'precision="int8" does not support {reason}; use '
                             'precision="exact32" or "auto"')
        return True
    return (reason is None and _quant.best_kernel() in _AUTO_KERNELS
            and n_rows >= AUTO_MIN_ROWS and n_items >= AUTO_MIN_ITEMS and dim >= AUTO_MIN_DIM)


def check_precision(precision: Any) -> str:
    if not isinstance(precision, str) or precision not in _PRECISIONS:
        raise ValueError(f"precision must be 'auto', 'exact32' or 'int8', got {precision!r}")
    return precision


def search(q: np.ndarray, c_arr: np.ndarray, k: int, capacity: int, skip: int, *,
           largest: bool, metric: str, excl: Any, upper: Optional[np.ndarray],
           lower: float, n_threads: int, block_size: Optional[int], bar: Any = None,
           kernel: Optional[str] = None, stats: Optional[Dict[str, Any]] = None,
           out: Optional[Tuple[np.ndarray, np.ndarray]] = None,
           ) -> Tuple[np.ndarray, np.ndarray]:
    """The top lists of ``hard_negatives`` for float32 queries ``q``
    (already normalised for cosine) over ``c_arr``.

    ``largest=False`` runs on the negated queries (the bound is symmetric,
    negation is exact), with the window negated.  ``kernel`` (None:
    ``KERNEL``; "auto", "amx", "vnni", "avx2", "scalar") is a test switch; ``stats`` receives
    ``rescored`` (pairs rescored per query) and the kernel used."""
    n_rows, dim = q.shape
    n_items = c_arr.shape[0]
    kernel = KERNEL if kernel is None else kernel
    qs = np.ascontiguousarray(q if largest else -q, dtype=np.float32)
    lo = np.full(n_rows, lower, dtype=np.float64)
    hi = np.full(n_rows, np.inf) if upper is None else np.asarray(upper, dtype=np.float64)
    if not largest:
        lo, hi = -hi, -lo
    search_state = _quant.QuantSearch(
        qs, capacity, kernel,
        excl_indptr=None if excl is None else excl.indptr,
        excl_indices=None if excl is None else excl.indices,
        lower=lo if np.isfinite(lo).any() else None,
        upper=hi if np.isfinite(hi).any() else None,
    )
    if block_size is None:
        block_size = max(256, TILE_CODE_BYTES // ((dim + 3) // 4 * 4))
    block_size = min(block_size, n_items)
    for c0 in range(0, n_items, block_size):
        c1 = min(c0 + block_size, n_items)
        with np.errstate(over="ignore", invalid="ignore"):
            raw = np.asarray(c_arr[c0:c1], dtype=np.float32)
            tile = normalise_rows(raw) if metric == "cosine" else raw
            tile = np.ascontiguousarray(tile, dtype=np.float32)
        try:
            search_state.scan(tile, c0, n_threads)
        except ValueError:
            first_nonfinite(raw, "candidates", c0)
            raise ValueError(
                "scores contain NaN or infinity: the products of queries and candidates "
                f"overflow the float32 range (candidates {c0}..{c1 - 1})") from None
        if bar is not None:
            bar.update(c1 - c0)
    if stats is not None:
        stats["rescored"] = search_state.rescored
        stats["kernel"] = search_state.kernel
        stats["tile"] = block_size
    return search_state.finish(skip, k, negate=not largest, out=out)
