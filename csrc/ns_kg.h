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

#endif /* NS_KG_H */
