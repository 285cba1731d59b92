/*
 * ns_heap.h -- the one binary heap of negsamp, as a template: a file that
 * includes it once per heap gets static functions for that heap, written
 * here once (the plain-C form of faiss's faiss/utils/Heap.h).
 *
 * The heap is a min-heap for the order NS_HEAP_FN(before): its root is the
 * entry that comes first, i.e. the worst kept one of a top-k heap (the
 * order says "a is worse than b").  Ties are part of that order:
 * ns_topk.c breaks equal keys on the id (lower id better), the packed
 * top-k heap has distinct keys, and the weighted reservoir orders by key
 * alone (equal keys, such as those of its rounding guard, stay where the
 * sifts leave them).
 *
 * Before including, define
 *   NS_HEAP_PREFIX  prefix of the generated names (e.g. topk_heap gives
 *                   topk_heap_push, topk_heap_sift_down, ...);
 *   NS_HEAP_T       the heap: a pointer, or a small struct of pointers
 *                   (the arrays of a structure of arrays), passed by value;
 *   NS_HEAP_ENTRY   one entry held in a local variable;
 * and three functions, named with the prefix:
 *   NS_HEAP_ENTRY PREFIX_get(NS_HEAP_T h, int64_t i);
 *   void PREFIX_set(NS_HEAP_T h, int64_t i, NS_HEAP_ENTRY e);
 *   int PREFIX_before(NS_HEAP_ENTRY a, NS_HEAP_ENTRY b);
 * This file #undefs the three macros.  The generated functions:
 *   PREFIX_sift_down(h, size, pos)  restores the heap below pos;
 *   PREFIX_push(h, size, e)         adds e to a heap of `size` entries;
 *   PREFIX_replace_top(h, size, e)  replaces the root by e;
 *   PREFIX_heapify(h, size)         makes a heap of any array, O(size);
 *   PREFIX_sort(h, size)            heapsort, last in the order first (a
 *                                   top-k heap, ordered "worse", ends best
 *                                   first).
 * An entry moves down (or up) only past entries that come strictly before
 * it (after it), so equal entries keep their relative places: the order of
 * every operation, tie rule included, is the one negsamp's outputs were
 * pinned with.
 */
#include <stdint.h>

#ifndef NS_HEAP_H
#define NS_HEAP_H
#define NS_HEAP_CAT2(a, b) a##_##b
#define NS_HEAP_CAT(a, b) NS_HEAP_CAT2(a, b)
#define NS_HEAP_FN(name) NS_HEAP_CAT(NS_HEAP_PREFIX, name)
#endif

#if !defined(NS_HEAP_PREFIX) || !defined(NS_HEAP_T) || !defined(NS_HEAP_ENTRY)
#error "ns_heap.h needs NS_HEAP_PREFIX, NS_HEAP_T and NS_HEAP_ENTRY"
#endif

static inline void NS_HEAP_FN(sift_down)(NS_HEAP_T h, int64_t size,
                                         int64_t pos) {
    const NS_HEAP_ENTRY e = NS_HEAP_FN(get)(h, pos);
    for (;;) {
        int64_t child = 2 * pos + 1;
        if (child >= size) break;
        NS_HEAP_ENTRY c = NS_HEAP_FN(get)(h, child);
        if (child + 1 < size) {
            const NS_HEAP_ENTRY right = NS_HEAP_FN(get)(h, child + 1);
            if (NS_HEAP_FN(before)(right, c)) {
                child++;
                c = right;
            }
        }
        if (!NS_HEAP_FN(before)(c, e)) break;
        NS_HEAP_FN(set)(h, pos, c);
        pos = child;
    }
    NS_HEAP_FN(set)(h, pos, e);
}

static inline void NS_HEAP_FN(push)(NS_HEAP_T h, int64_t size,
                                    NS_HEAP_ENTRY e) {
    int64_t pos = size;
    while (pos > 0) {
        const int64_t parent = (pos - 1) >> 1;
        const NS_HEAP_ENTRY p = NS_HEAP_FN(get)(h, parent);
        if (!NS_HEAP_FN(before)(e, p)) break;
        NS_HEAP_FN(set)(h, pos, p);
        pos = parent;
    }
    NS_HEAP_FN(set)(h, pos, e);
}

static inline void NS_HEAP_FN(replace_top)(NS_HEAP_T h, int64_t size,
                                           NS_HEAP_ENTRY e) {
    NS_HEAP_FN(set)(h, 0, e);
    NS_HEAP_FN(sift_down)(h, size, 0);
}

static inline void NS_HEAP_FN(heapify)(NS_HEAP_T h, int64_t size) {
    for (int64_t i = size / 2 - 1; i >= 0; i--)
        NS_HEAP_FN(sift_down)(h, size, i);
}

static inline void NS_HEAP_FN(sort)(NS_HEAP_T h, int64_t size) {
    /* Moving the root (first in the order) to the end leaves the entries
     * last-first. */
    for (int64_t end = size - 1; end > 0; end--) {
        const NS_HEAP_ENTRY top = NS_HEAP_FN(get)(h, 0);
        NS_HEAP_FN(set)(h, 0, NS_HEAP_FN(get)(h, end));
        NS_HEAP_FN(set)(h, end, top);
        NS_HEAP_FN(sift_down)(h, end, 0);
    }
}

#undef NS_HEAP_PREFIX
#undef NS_HEAP_T
#undef NS_HEAP_ENTRY
