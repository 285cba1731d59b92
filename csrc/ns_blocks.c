/* ns_blocks.c -- see ns_blocks.h. */
#include "ns_blocks.h"

#include <stdlib.h>

/* The list of a cacheable size (a multiple of the grain), else -1. */
static int block_class(size_t size) {
    if (size == 0 || size > NS_BLOCKS_MAX) return -1;
    return (int)(size / NS_BLOCKS_GRAIN) - 1;
}

size_t ns_blocks_size(size_t bytes) {
    if (bytes == 0 || bytes > NS_BLOCKS_MAX) return bytes;
    return (bytes + NS_BLOCKS_GRAIN - 1) / NS_BLOCKS_GRAIN * NS_BLOCKS_GRAIN;
}

void *ns_blocks_take(ns_blocks *cache, size_t bytes) {
    const size_t size = ns_blocks_size(bytes);
    if (size == 0) return NULL;
    const int c = block_class(size);
    if (c >= 0 && cache->free[c] != NULL) {
        ns_block_link *b = cache->free[c];
        cache->free[c] = b->next;
        cache->held -= size;
        return b;
    }
    return malloc(size);
}

void ns_blocks_give(ns_blocks *cache, void *block, size_t bytes) {
    if (block == NULL) return;
    const size_t size = ns_blocks_size(bytes);
    const int c = block_class(size);
    if (c < 0 || size > cache->limit || cache->held > cache->limit - size) {
        free(block);
        return;
    }
    ns_block_link *b = (ns_block_link *)block;
    b->next = cache->free[c];
    cache->free[c] = b;
    cache->held += size;
}

void ns_blocks_set_limit(ns_blocks *cache, size_t limit) {
    for (int c = 0; c < NS_BLOCKS_CLASSES; c++) {
        ns_block_link *b = cache->free[c];
        while (b != NULL) {
            ns_block_link *next = b->next;
            free(b);
            b = next;
        }
        cache->free[c] = NULL;
    }
    cache->held = 0;
    cache->limit = limit;
}
