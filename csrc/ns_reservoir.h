/*
 * ns_reservoir.h -- streaming reservoir samples of fixed size k, uniform and
 * weighted, without replacement.
 *
 * Uniform: Algorithm L (Li 1994, "Reservoir-sampling algorithms of time
 * complexity O(n(1 + log(N/n)))").  Each item carries an implicit uniform
 * key; the reservoir holds the k smallest, W is the k-th smallest key, and
 * the gap to the next item whose key is below W is geometric with success
 * probability W.  The absolute stream position of that item (`next`) is
 * carried across chunks, so a chunk costs O(1 + items accepted from it):
 * the kernel never reads the items, only counts them.
 *
 * Weighted: A-ExpJ (Efraimidis & Spirakis 2006, "Weighted random sampling
 * with a reservoir").  Item i gets the key u_i^(1/w_i); the reservoir keeps
 * the k largest, which has the law of k successive weighted draws without
 * replacement.  Keys are kept as key = log(w) - log(E) = -log(-log(u)/w)
 * with E = -log(u) ~ Exp(1) (an increasing function of u^(1/w)), finite for
 * every positive finite double w: -E/w itself overflows for weights below
 * about 1e-308, and all those keys would tie at -inf.  With threshold key T
 * (the smallest kept), an item of weight w beats it with probability
 * 1 - exp(-w e^-T); the sum of these exposures w e^-T until the next
 * acceptance is Exp(1): one exponential per accepted item instead of one
 * uniform per item.  The exposure still to go (*remaining, in units of
 * Exp(1), not of weight) is carried across chunks.
 *
 * Item storage stays in the caller (items may be of any dtype): kernels
 * report, for each slot of the reservoir that received an item in this
 * chunk, the position in the chunk of the LAST item written there
 * (slot_pos[slot], with touched[] listing those slots once each).  On entry
 * slot_pos must be all -1 on the slots the call may touch; the caller copies
 * the items and resets slot_pos[touched[j]] to -1.
 *
 * The caller owns the RNG state; calls are sequential by nature (a stream).
 */
#ifndef NS_RESERVOIR_H
#define NS_RESERVOIR_H

#include <stddef.h>
#include <stdint.h>
#include "ns_common.h"
#include "ns_rng.h"

/* Algorithm L over the next `length` items of the stream.
 * In/out: *count (items seen), *w (W, meaningful once *count >= k), *next
 * (stream position of the next accepted item, meaningful once *count >= k;
 * INT64_MAX means "never").  slot_pos and touched have room for
 * min(k, *count + length) slots; *n_touched receives the number of touched
 * slots.  NS_ERR_VALUE if k < 1, length < 0, or the count would overflow. */
int ns_reservoir_update(ns_rng_t *rng, int64_t k, int64_t *count, double *w,
                        int64_t *next, int64_t length, int64_t *slot_pos,
                        int64_t *touched, int64_t *n_touched);

/* Items per block of a weighted update with an undo log: 8 KiB of
 * weights, checked and then scanned while they are in the L1 cache of any
 * x86 or ARM core, the next block prefetched during the scan (a fixed size,
 * no cache-size detection). */
#define NS_WRESERVOIR_BLOCK 1024

/* One heap entry as it was before an update overwrote it. */
typedef struct {
    int64_t pos;
    double key;
    int64_t slot;
} ns_wreservoir_saved;

/* The undo log of one weighted update (one chunk, fed in one call or in
 * several segments): the first time the scan overwrites heap position
 * p < limit, the entry there is appended to entries[0..n) and saved[p] set.
 * The caller sets limit to the heap size at the start of the chunk (the
 * positions above it held nothing), n = 0, and provides entries[limit] and
 * saved[limit] all zero. */
typedef struct {
    int64_t limit, n;
    ns_wreservoir_saved *entries;
    unsigned char *saved;
} ns_wreservoir_undo;

/* A-ExpJ over the next `length` items with `weights`.  The heap is a
 * min-heap of *size <= k log keys (heap_keys) with the slot of each
 * (heap_slots); slots are filled 0, 1, ... while *size < k.  *remaining is
 * the exposure still to go before the next acceptance, an Exp(1) variate
 * when drawn (meaningful once *size == k).  Items of weight 0 are never
 * kept.  slot_pos/touched as above, with room for min(k, *size + length)
 * slots; the positions recorded are i + pos_offset (a caller that feeds one
 * chunk in segments passes each segment's start, and touched just past the
 * slots the earlier segments recorded).  *total receives the sum of the
 * weights, in eight partial sums (lane j adds the items 8g + j, the
 * length % 8 last ones go to lane 0).
 *
 * Every weight must be finite and >= 0.  Without an undo log (undo NULL)
 * all are checked before anything changes, a second read of the chunk when
 * it does not fit in cache; with one, the chunk is read once, in blocks of
 * NS_WRESERVOIR_BLOCK checked and then scanned.  On the first invalid
 * weight the call returns NS_ERR_VALUE with *bad its index (else *bad =
 * -1): *size, *remaining and *total are left alone, the caller discards
 * the rng state and resets slot_pos[touched[0..*n_touched)] to -1, and the
 * heap is as it was once ns_wreservoir_undo_restore() has run. */
int ns_wreservoir_update(ns_rng_t *rng, int64_t k, const double *weights,
                         int64_t length, double *heap_keys, int64_t *heap_slots,
                         int64_t *size, double *remaining, int64_t *slot_pos,
                         int64_t *touched, int64_t *n_touched,
                         int64_t pos_offset, ns_wreservoir_undo *undo,
                         double *total, int64_t *bad);

/* Puts back every entry of the undo log (the heap as it was when the log
 * was started) and empties the log (n = 0, saved[] all zero again). */
void ns_wreservoir_undo_restore(ns_wreservoir_undo *undo, double *heap_keys,
                                int64_t *heap_slots);

/* First of the NS_RNG_LANES streams (k0, k1, NS_RESERVOIR_MERGE_STREAM + l)
 * of a merge key that ns_reservoir_merge draws from (streams 2 and 3 of
 * the key seed the merged reservoir and its threshold, in the caller). */
#define NS_RESERVOIR_MERGE_STREAM 16

/* Exact merge of two uniform reservoirs of size k that saw n1 and n2 items
 * and hold m1 = min(k, n1) and m2 = min(k, n2): the m = min(k, n1 + n2)
 * items of a uniform m-subset of the union.  A reservoir that saw n >= k
 * items holds its k in uniformly random order (ns_reservoir_shuffle at the
 * end of the fill, kept by Algorithm L's uniform replacements, and by this
 * merge); one short of k holds all its items in stream order.  When n1 +
 * n2 < k the result is every item (side 1 first, in order).  Otherwise
 * the k output slots are drawn one by one: slot j comes from side 1 with
 * probability (n1 - x) / (n1 + n2 - j), x being the number of slots before
 * it from side 1 (so x ends hypergeometric, exact for any n), and takes
 * that side's next item: the next of its random order when the side saw
 * >= k items, else the next step of a Fisher-Yates shuffle of its items.
 * The result is then again a uniform subset in uniformly random order.
 * With fresh != 0 every side is shuffled as it is picked from: the picks
 * are then a uniform subset given the sides' contents and order (merging
 * one reservoir several times gives independent picks), at the cost of
 * one more draw per item.
 * Bounded integers by Lemire's method from 32-bit halves of the words of
 * the streams above (64-bit words when n1 + n2 > 2^32), k draws plus one
 * per item picked from a shuffled side.  On return src[0..m) names the
 * items: src[j] < m1 is item src[j] of side 1, else item src[j] - m1 of
 * side 2; *x1 receives x.  scratch has room for m1 + m2 entries.  When
 * out is not NULL the items are also copied to out[0..m) as
 * ns_reservoir_gather(out, items1, m1, items2, src, m, itemsize) would
 * (after the draws).  O(k). */
int ns_reservoir_merge(uint64_t k0, uint64_t k1, int64_t k, int64_t n1,
                       int64_t m1, int64_t n2, int64_t m2, int fresh,
                       int64_t *src, int64_t *scratch, int64_t *x1,
                       void *out, const void *items1, const void *items2,
                       int64_t itemsize);

/* A uniformly random permutation perm[0..k) of 0..k-1 from rng: the
 * Fisher-Yates shuffle, i = k - 1 down to 1 swapping perm[i] with perm[j],
 * j = ns_rng_bounded(rng, i + 1) (k - 1 draws).  A uniform reservoir's
 * items are put in this order when its fill completes. */
int ns_reservoir_shuffle(ns_rng_t *rng, int64_t *perm, int64_t k);

/* A hint that data[0..bytes) will be read soon, out of order: one prefetch
 * per 64-byte line (merges call it on the items they are about to copy);
 * nothing when data is NULL. */
void ns_reservoir_prefetch(const void *data, int64_t bytes);

/* out[j] = the item src[j] names (as above: < m1 in items1, else in
 * items2), for j < m, items of `itemsize` bytes copied as bytes: for item
 * types without references (not Python objects). */
void ns_reservoir_gather(void *out, const void *items1, int64_t m1,
                         const void *items2, const int64_t *src, int64_t m,
                         int64_t itemsize);

/* Bytes of scratch ns_wreservoir_merge needs for n = size1 + size2 keys. */
size_t ns_wreservoir_merge_scratch(int64_t n);

/* The top m = min(k, size1 + size2) keys of two A-ExpJ reservoirs (log
 * keys with the slot of each, in any order: min-heaps or the output of an
 * earlier merge) as out_keys[0..m), in no particular order, with src[j]
 * naming the item of out_keys[j]: slot src[j] of side 1 when < size1, else
 * slot src[j] - size1 of side 2.  *m_out receives m.  Exact: the union's m
 * largest keys.  Keys below the smallest of a full side are never kept (k
 * keys of that side are at or above it); the keys are counted into about
 * n / 4 ordered buckets of a logarithmic map of the key, the bucket
 * `first` where the top m begin is found from the top, and one
 * branch-free pass compacts the entries above it to the output (side 1's
 * first, each side in its order) and those of `first` to a list, which is
 * sorted (insertion sort when small, else heapsort) and its largest
 * appended (the passes over the keys with AVX2 where the CPU has it:
 * the same outputs, bit for bit).  Which of equal keys at the boundary
 * are kept, and the output order, are deterministic functions of the
 * inputs (their order included).  O(n) time (n = size1 + size2), O(n log
 * n) at worst (heavy ties); scratch has ns_wreservoir_merge_scratch(n)
 * bytes, 4-byte aligned (uint32 words).  src may be NULL; when
 * out_items is not NULL the items (of itemsize bytes, without references,
 * items1 and items2 indexed by slot) are copied to out_items[0..m) as
 * ns_reservoir_gather would.  slots1 or
 * slots2 may be NULL: position i holds slot i (a merged reservoir's, not
 * read).  The output is not a heap: ns_wreservoir_heapify makes it one
 * before an update. */
int ns_wreservoir_merge(const double *keys1, const int64_t *slots1,
                        int64_t size1, const double *keys2,
                        const int64_t *slots2, int64_t size2, int64_t k,
                        double *out_keys, int64_t *src, int64_t *m_out,
                        const void *items1, const void *items2,
                        int64_t itemsize, void *out_items, void *scratch);

/* Makes keys[0..n) a min-heap (bottom-up sift-downs, by key alone as in
 * ns_wreservoir_update: equal keys stay where the sifts leave them), each
 * slot moved with its key.  Deterministic: the result depends only on the
 * input order.  O(n). */
void ns_wreservoir_heapify(double *keys, int64_t *slots, int64_t n);

/* State of a uniform reservoir of size k that holds a uniform sample of n
 * >= k items but no threshold (after a merge): W is drawn from its exact
 * conditional law Beta(k, n - k + 1) -- the k-th smallest of n uniform
 * keys, independent of which items are kept -- and *next from the
 * geometric gap given W (memoryless, so it may start at position n).
 * Gamma variates by Marsaglia & Tsang 2000, normals by the polar method. */
int ns_reservoir_resume(ns_rng_t *rng, int64_t k, int64_t n, double *w,
                        int64_t *next);

#endif /* NS_RESERVOIR_H */
