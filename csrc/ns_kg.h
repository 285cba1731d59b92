/*
 * ns_kg.h -- the knowledge-graph pieces of corrupt_triples: exclusion rows
 * from (anchor, entity) keys, per-row side coins, and the fill of the
 * corrupted triples.  The replacement entities themselves are drawn by
 * ns_negative_sample (ns_negative.h) over those rows.
 */
#ifndef NS_KG_H
#define NS_KG_H

#include <stdint.h>

#include "ns_pool.h"

/* Exclusion rows of knowledge-graph corruption from (anchor, entity) keys
 * key = anchor * n + entity (0 <= entity < n), in one merge pass:
 *   - known_keys[0..n_known): sorted, unique, >= 0.  Each distinct anchor
 *     becomes a row b in [0, *n_base) of base_indices (the entities, in
 *     order; base_indices[i] = known_keys[i] % n) with offsets
 *     base_indptr[b .. b + 1]; row *n_base is empty (base_indptr has
 *     n_known + 2 slots, the first *n_base + 2 are set).
 *   - keys[0..count): sorted, >= 0.  row_of[i] = the row of the anchor of
 *     keys[i] (*n_base when no known key has it) and present[i] = 1 when
 *     keys[i] is among known_keys.
 * NS_ERR_VALUE for n < 1 or unsorted input.  O(n_known + count). */
int ns_kg_key_rows(int64_t n, const int64_t *known_keys, int64_t n_known,
                   const int64_t *keys, int64_t count, int64_t *base_indptr,
                   int64_t *base_indices, int64_t *n_base, int64_t *row_of,
                   uint8_t *present);

/* out[r * k + t] = the t-th ns_rng_double of keyed stream
 * ns_rng_seed_keyed(k0, k1, keys[r]), for r < n_rows: per-row uniforms
 * that depend only on (k0, k1, keys[r]) (the head-or-tail coins of
 * corrupt_triples with keys). */
int ns_kg_keyed_uniform(uint64_t k0, uint64_t k1, const int64_t *keys,
                        int64_t n_rows, int64_t k, const ns_par *par,
                        double *out);

/* Corrupted triples: out[i, s, :] = triples[i, :] with the head (column 0)
 * replaced by head_repl[i * k + s] where is_head[i * k + s] != 0, else the
 * tail (column 2) replaced by tail_repl[i * k + s].  is_head == NULL means
 * "always the head" when tail_repl == NULL and "always the tail" when
 * head_repl == NULL.  triples is (m, 3), the replacements (m, k) and out
 * (m, k, 3), all C-contiguous int64. */
int ns_kg_corrupt_fill(const int64_t *triples, int64_t m, int64_t k,
                       const int64_t *head_repl, const int64_t *tail_repl,
                       const uint8_t *is_head, int64_t *out,
                       const ns_par *par);

/* ---- The prepared sampler (KGSampler, ns_kg_sampler.c) ----
 *
 * One corruptible side of the known triples: the side's column of a triple
 * (0 head, 1 relation, 2 tail) is replaced, the two other columns are its
 * anchor, anchor = t[first] * n_entities + t[second].  The known items of
 * each distinct anchor g are items[indptr[g] .. indptr[g + 1]) (sorted,
 * unique, in [0, n_items)); an open-addressing index finds g from the
 * anchor.  Optionally (entity sides only) per-relation candidate pools:
 * the replacements of a triple of relation r are restricted to
 * pool_ids[pool_ptr[r] .. pool_ptr[r + 1]) (sorted, unique). */
typedef struct {
    int column, first, second;
    int64_t n_items;
    /* Index: 2 * (mask + 1) int64, slot s = (anchor, g) or anchor -1 when
     * empty; linear probing from ns_kg_slot(anchor, shift). */
    const int64_t *slots;
    int64_t mask;
    int shift;
    const int64_t *indptr, *items;
    int64_t n_groups, max_len; /* max_len: longest row (scratch size) */
    const int64_t *pool_ptr, *pool_ids; /* NULL: every item allowed */
    int64_t n_pools;                    /* relations with a pool entry */
} ns_kg_side;

/* Fills the index of a side (slots: 2 * (mask + 1) int64, mask + 1 a power
 * of two at least 2 * n_groups, shift = 64 - log2(mask + 1)) from the
 * distinct sorted anchors[0..n_groups).  NS_ERR_VALUE on a bad size or
 * unsorted anchors. */
int ns_kg_index_build(const int64_t *anchors, int64_t n_groups,
                      int64_t *slots, int64_t mask, int shift);

/* k corruptions of each of triples[0..m) (rows of 3 int64, ids checked by
 * the caller) into out (m, k, 3): each corruption picks a side among
 * sides[0..n_sides) with probability proportional to its weight among the
 * sides that have a valid replacement (weight 1, or with p_head not NULL,
 * sides {head, tail} in that order: p_head[relation] and 1 - p_head), then
 * a replacement uniformly among the side's allowed items x such that the
 * corrupted triple is neither known nor the original.  Triples are cut
 * into blocks of NS_KG_BLOCK; with keys NULL block b uses stream (k0, k1,
 * b), else triple i its keyed stream keys[i]: the output never depends on
 * the thread count.  Before anything is written, every triple is checked:
 * when one has no valid replacement on any side, *bad is the first such
 * index and the result NS_ERR_EXHAUSTED (out untouched).  Allocates 4
 * int64 per triple and side, and max_len int64 per block of scratch. */
#define NS_KG_BLOCK 128
int ns_kg_sample(const ns_kg_side *sides, int n_sides, int64_t n_entities,
                 const int64_t *triples, int64_t m, int64_t k,
                 const double *p_head, uint64_t k0, uint64_t k1,
                 const int64_t *keys, const ns_par *par, int64_t *out,
                 int64_t *bad);

#endif /* NS_KG_H */
