/*
 * ns_blocks.h -- a bounded cache of freed memory blocks, so that the short
 * outputs of calls made many times in a row (a tree of reservoir merges:
 * two 8 KiB arrays per merge) reuse memory the process already touched.
 *
 * Why: a block that malloc takes from fresh pages costs one page fault per
 * 4 KiB on first write, and glibc gives the top of its heap back to the
 * system as soon as 128 KiB of it are free, so a loop that frees all its
 * outputs and starts again faults them all in again.  On a virtual machine
 * a fault costs microseconds: a quarter of the time of a tree of merges of
 * k = 1000.  Blocks handed back here are kept (LIFO, one list per size
 * class of NS_BLOCKS_GRAIN bytes) up to `limit` bytes in all, and given out
 * again before any new block is allocated; beyond the limit, or larger
 * than NS_BLOCKS_MAX, they go back to free().
 *
 * No global state and no locking: the owner (negsamp/_negsamp_runtime.pyx)
 * keeps one ns_blocks per process and calls these functions holding the
 * GIL.  A zero-filled ns_blocks is an empty cache of limit 0 (which caches
 * nothing).
 */
#ifndef NS_BLOCKS_H
#define NS_BLOCKS_H

#include <stddef.h>

/* Size classes: multiples of NS_BLOCKS_GRAIN up to NS_BLOCKS_MAX. */
#define NS_BLOCKS_GRAIN 4096
#define NS_BLOCKS_CLASSES 64
#define NS_BLOCKS_MAX ((size_t)NS_BLOCKS_GRAIN * NS_BLOCKS_CLASSES)

typedef struct ns_block_link {
    struct ns_block_link *next;
} ns_block_link;

typedef struct {
    ns_block_link *free[NS_BLOCKS_CLASSES];
    size_t held;  /* bytes of the blocks on the lists */
    size_t limit; /* most bytes held */
} ns_blocks;

/* The size of the block ns_blocks_take gives for `bytes` (> 0): `bytes`
 * rounded up to a multiple of NS_BLOCKS_GRAIN when at most NS_BLOCKS_MAX,
 * else `bytes` itself (not cached). */
size_t ns_blocks_size(size_t bytes);

/* A block of ns_blocks_size(bytes) bytes (bytes > 0; 16-byte aligned, as
 * malloc's), taken from the cache when it holds one of that size, else
 * from malloc; NULL when malloc fails.  Its contents are undefined. */
void *ns_blocks_take(ns_blocks *cache, size_t bytes);

/* Hands back a block ns_blocks_take gave for `bytes` (NULL: nothing): kept
 * when it is cacheable and the cache stays within its limit, else freed. */
void ns_blocks_give(ns_blocks *cache, void *block, size_t bytes);

/* Frees every cached block and sets the limit (0: cache nothing). */
void ns_blocks_set_limit(ns_blocks *cache, size_t limit);

#endif
