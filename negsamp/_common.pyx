# cython: language_level=3, boundscheck=False, wraparound=False
"""Status codes, and test hooks for the shared RNG of csrc/ns_rng.h."""
import numpy as np

from libc.stdint cimport int64_t, uint64_t
from negsamp._c_common cimport (
    NS_OK, NS_ERR_ALLOC, NS_ERR_VALUE, NS_ERR_EMPTY, NS_ERR_CORRUPT,
    NS_ERR_EXHAUSTED, NS_ERR_INTERRUPTED,
    ns_rng_t, ns_rng_seed, ns_rng_next, ns_rng_double, ns_rng_bounded,
)


STATUS_NAMES = {
    NS_OK: "NS_OK",
    NS_ERR_ALLOC: "NS_ERR_ALLOC",
    NS_ERR_VALUE: "NS_ERR_VALUE",
    NS_ERR_EMPTY: "NS_ERR_EMPTY",
    NS_ERR_CORRUPT: "NS_ERR_CORRUPT",
    NS_ERR_EXHAUSTED: "NS_ERR_EXHAUSTED",
    NS_ERR_INTERRUPTED: "NS_ERR_INTERRUPTED",
}


def raise_for_status(int status, str what):
    """Turns a negative C status code into a Python exception."""
    if status == NS_OK:
        return
    if status == NS_ERR_INTERRUPTED:
        raise KeyboardInterrupt(f"{what}: interrupted")
    if status == NS_ERR_ALLOC:
        raise MemoryError(f"{what}: out of memory")
    name = STATUS_NAMES.get(status, str(status))
    raise ValueError(f"{what}: C kernel returned {name}")


def _rng_stream_py(uint64_t k0, uint64_t k1, uint64_t block, int64_t count,
                   str kind="raw", uint64_t bound=0):
    """Test hook: `count` outputs of stream (k0, k1, block).

    kind "raw" gives the uint64 words of xoshiro256++, "double" the doubles
    in [0, 1), "bounded" integers in [0, bound) by Lemire's method."""
    cdef ns_rng_t rng
    cdef int64_t i
    ns_rng_seed(&rng, k0, k1, block)
    if kind == "raw":
        out_u = np.empty(count, dtype=np.uint64)
        for i in range(count):
            out_u[i] = ns_rng_next(&rng)
        return out_u
    if kind == "double":
        out_d = np.empty(count, dtype=np.float64)
        for i in range(count):
            out_d[i] = ns_rng_double(&rng)
        return out_d
    if kind == "bounded":
        if bound == 0:
            raise ValueError("bound must be >= 1")
        out_b = np.empty(count, dtype=np.uint64)
        for i in range(count):
            out_b[i] = ns_rng_bounded(&rng, bound)
        return out_b
    raise ValueError(f"kind must be 'raw', 'double' or 'bounded', got {kind!r}")
