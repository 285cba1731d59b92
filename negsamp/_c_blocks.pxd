# Declarations of csrc/ns_blocks.h (extern blocks only).
cdef extern from "ns_blocks.h" nogil:
    size_t NS_BLOCKS_GRAIN
    size_t NS_BLOCKS_MAX
    ctypedef struct ns_blocks:
        size_t held
        size_t limit
    size_t ns_blocks_size(size_t bytes)
    void *ns_blocks_take(ns_blocks *cache, size_t bytes)
    void ns_blocks_give(ns_blocks *cache, void *block, size_t bytes)
    void ns_blocks_set_limit(ns_blocks *cache, size_t limit)
