"""csrc/ns_reservoir.c on its own, built with AddressSanitizer and
UndefinedBehaviorSanitizer when the compiler has them: the weighted merge
against a brute-force top k (every key and every source, from sides that are
heaps or in any order), the heapify that makes its output a heap again, the
uniform merge's picks, and the undo log of a weighted update (a bad weight at
any position leaves the heap as it was; a good chunk gives bit for bit the
two-pass result)."""
import os

from _cbuild import CSRC, build_and_run, needs_csrc

PROGRAM = r"""
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ns_reservoir.h"

static int bad = 0;
/* FNV-1a of every merge output: the AVX2 and the scalar build (compiled with
 * -DNS_RESERVOIR_SCALAR_MERGE=1) must print the same */
static uint64_t hash = 1469598103934665603ull;
static void absorb(const void *p, size_t n) {
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++) hash = (hash ^ b[i]) * 1099511628211ull;
}
#define CHECK(c) do { if (!(c)) { bad++; fprintf(stderr, "line %d: %s\n", __LINE__, #c); } } while (0)

static int cmp_desc(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void sift(double *a, int64_t *s, int64_t n, int64_t p) {
    for (;;) {
        int64_t c = 2 * p + 1;
        if (c >= n) break;
        if (c + 1 < n && a[c + 1] < a[c]) c++;
        if (!(a[c] < a[p])) break;
        double t = a[c]; a[c] = a[p]; a[p] = t;
        int64_t u = s[c]; s[c] = s[p]; s[p] = u;
        p = c;
    }
}

/* `size` keys drawn by `law`, slots 0..size-1: a heap, or (shuffled)
 * in any order as a merged reservoir holds them */
static void make_heap(ns_rng_t *r, double *keys, int64_t *slots, int64_t size, int law,
                      int shuffled) {
    for (int64_t i = 0; i < size; i++) {
        const double e = ns_rng_exponential_open(r);
        keys[i] = law == 0 ? -log(e)
                : law == 1 ? (double)(ns_rng_bounded(r, 3))          /* ties */
                : law == 2 ? (ns_rng_bounded(r, 50) == 0 ? 690.0 : -690.0) - log(e)
                : 1.0;                                                 /* all equal */
        slots[i] = i;
    }
    for (int64_t i = size / 2 - 1; i >= 0; i--) sift(keys, slots, size, i);
    if (shuffled)
        for (int64_t i = size - 1; i > 0; i--) {
            const int64_t j = (int64_t)ns_rng_bounded(r, (uint64_t)i + 1);
            double t = keys[i]; keys[i] = keys[j]; keys[j] = t;
            int64_t u = slots[i]; slots[i] = slots[j]; slots[j] = u;
        }
}

static int is_min_heap(const double *keys, int64_t n) {
    for (int64_t j = 1; j < n; j++) if (keys[(j - 1) / 2] > keys[j]) return 0;
    return 1;
}

static int cmp_key_slot(const void *a, const void *b) {
    const double *x = (const double *)a, *y = (const double *)b;
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : x[1] > y[1];
}

/* ns_wreservoir_heapify: a min-heap, the same (key, slot) pairs, the same
 * result on a second run of the same input */
static void heapifies(void) {
    ns_rng_t r;
    ns_rng_seed(&r, 4, 5, 6);
    for (int trial = 0; trial < 2000; trial++) {
        const int64_t n = trial < 12 ? trial % 4 : (int64_t)ns_rng_bounded(&r, 700);
        const int law = (int)ns_rng_bounded(&r, 4);
        double *keys = malloc(8 * (n + 1)), *again = malloc(8 * (n + 1));
        double *pairs = malloc(16 * (n + 1)), *pairs2 = malloc(16 * (n + 1));
        int64_t *slots = malloc(8 * (n + 1)), *slots2 = malloc(8 * (n + 1));
        make_heap(&r, keys, slots, n, law, 1);
        for (int64_t i = 0; i < n; i++) { pairs[2 * i] = keys[i]; pairs[2 * i + 1] = (double)slots[i]; }
        memcpy(again, keys, 8 * n);
        memcpy(slots2, slots, 8 * n);
        ns_wreservoir_heapify(keys, slots, n);
        CHECK(is_min_heap(keys, n));
        for (int64_t i = 0; i < n; i++) { pairs2[2 * i] = keys[i]; pairs2[2 * i + 1] = (double)slots[i]; }
        qsort(pairs, n, 16, cmp_key_slot);
        qsort(pairs2, n, 16, cmp_key_slot);
        CHECK(memcmp(pairs, pairs2, 16 * n) == 0);
        ns_wreservoir_heapify(again, slots2, n);
        CHECK(memcmp(again, keys, 8 * n) == 0 && memcmp(slots2, slots, 8 * n) == 0);
        free(keys); free(again); free(pairs); free(pairs2); free(slots); free(slots2);
    }
}

static void weighted_merges(void) {
    ns_rng_t r;
    ns_rng_seed(&r, 1, 2, 3);
    for (int trial = 0; trial < 3000; trial++) {
        const int64_t k = 1 + (int64_t)ns_rng_bounded(&r, trial % 3 == 0 ? 5 : 300);
        const int64_t s1 = (int64_t)ns_rng_bounded(&r, (uint64_t)k + 1);
        const int64_t s2 = trial % 7 == 0 ? k : (int64_t)ns_rng_bounded(&r, (uint64_t)k + 1);
        const int law = (int)ns_rng_bounded(&r, 4);
        double *k1 = malloc(8 * (s1 + 1)), *k2 = malloc(8 * (s2 + 1));
        int64_t *l1 = malloc(8 * (s1 + 1)), *l2 = malloc(8 * (s2 + 1));
        make_heap(&r, k1, l1, s1, law, trial % 3 == 1);
        make_heap(&r, k2, l2, s2, law, trial % 5 >= 3);
        /* side 2 as a merged reservoir holds it: slot i at position i,
         * passed as NULL (not read) */
        const int identity = trial % 4 == 0;
        if (identity) for (int64_t i = 0; i < s2; i++) l2[i] = i;
        const int64_t *pass2 = identity ? NULL : l2;
        const int64_t n = s1 + s2, m = n < k ? n : k;
        double *out = malloc(8 * (m + 1)), *all = malloc(8 * (n + 1)), *got = malloc(8 * (m + 1));
        int64_t *src = malloc(8 * (m + 1)), mm = -1;
        /* items by slot: 3 bytes each (a size without its own copy loop) */
        unsigned char *it1 = malloc(3 * s1 + 1), *it2 = malloc(3 * s2 + 1), *oit = malloc(3 * m + 1);
        for (int64_t i = 0; i < 3 * s1; i++) it1[i] = (unsigned char)(i * 7 + 1);
        for (int64_t i = 0; i < 3 * s2; i++) it2[i] = (unsigned char)(i * 5 + 2);
        void *scratch = malloc(ns_wreservoir_merge_scratch(n) + 1);
        CHECK(ns_wreservoir_merge(k1, l1, s1, k2, pass2, s2, k, out, src, &mm,
                                  it1, it2, 3, oit, scratch) == NS_OK);
        CHECK(mm == m);
        absorb(out, 8 * m); absorb(src, 8 * m); absorb(oit, 3 * m);
        for (int64_t j = 0; j < m; j++) {
            const unsigned char *want = src[j] < s1 ? it1 + 3 * src[j] : it2 + 3 * (src[j] - s1);
            if (src[j] >= 0 && src[j] < n) CHECK(memcmp(oit + 3 * j, want, 3) == 0);
        }
        /* without src and items: the same keys */
        double *again = malloc(8 * (m + 1));
        CHECK(ns_wreservoir_merge(k1, l1, s1, k2, pass2, s2, k, again, NULL, &mm,
                                  NULL, NULL, 0, NULL, scratch) == NS_OK);
        CHECK(memcmp(again, out, 8 * m) == 0);
        /* NULL slots give what the slots 0..size-1 give */
        if (identity) {
            int64_t *src2 = malloc(8 * (m + 1));
            CHECK(ns_wreservoir_merge(k1, l1, s1, k2, l2, s2, k, again, src2, &mm,
                                      NULL, NULL, 0, NULL, scratch) == NS_OK);
            CHECK(memcmp(again, out, 8 * m) == 0 && memcmp(src2, src, 8 * m) == 0);
            free(src2);
        }
        free(again); free(it1); free(it2); free(oit);
        char *seen = calloc(n + 1, 1);
        for (int64_t j = 0; j < m; j++) {
            CHECK(src[j] >= 0 && src[j] < n);
            if (src[j] < 0 || src[j] >= n) continue;
            CHECK(!seen[src[j]]);
            seen[src[j]] = 1;
            /* the key is the source's: slots are 0..size-1 in heap order */
            int found = 0;
            if (src[j] < s1) { for (int64_t i = 0; i < s1; i++) found |= l1[i] == src[j] && k1[i] == out[j]; }
            else { for (int64_t i = 0; i < s2; i++) found |= l2[i] == src[j] - s1 && k2[i] == out[j]; }
            CHECK(found);
        }
        memcpy(all, k1, 8 * s1);
        memcpy(all + s1, k2, 8 * s2);
        qsort(all, n, 8, cmp_desc);
        memcpy(got, out, 8 * m);
        qsort(got, m, 8, cmp_desc);
        for (int64_t j = 0; j < m; j++) CHECK(got[j] == all[j]);
        free(k1); free(k2); free(l1); free(l2); free(out); free(all); free(got);
        free(src); free(scratch); free(seen);
    }
}

static void uniform_merges(void) {
    for (int trial = 0; trial < 2000; trial++) {
        ns_rng_t r;
        ns_rng_seed(&r, 7, 8, trial);
        const int64_t k = 1 + (int64_t)ns_rng_bounded(&r, 200);
        const int64_t n1 = (int64_t)ns_rng_bounded(&r, 3 * (uint64_t)k), n2 = (int64_t)ns_rng_bounded(&r, 3 * (uint64_t)k);
        const int64_t m1 = n1 < k ? n1 : k, m2 = n2 < k ? n2 : k;
        const int64_t m = n1 + n2 < k ? n1 + n2 : k;
        int64_t *src = malloc(8 * (m + 1)), *scratch = malloc(8 * (m1 + m2) + 8), x = -1;
        const int fresh = trial % 3 == 0;
        /* items: 8-byte (copied in the draw loop when both sides are full)
         * or 3-byte ones (by the gather) */
        const int64_t size = trial % 2 ? 8 : 3;
        unsigned char *it1 = malloc(size * m1 + 1), *it2 = malloc(size * m2 + 1);
        unsigned char *got = malloc(size * m + 1), *want = malloc(size * m + 1);
        for (int64_t i = 0; i < size * m1; i++) it1[i] = (unsigned char)(i * 7 + 1);
        for (int64_t i = 0; i < size * m2; i++) it2[i] = (unsigned char)(i * 13 + 5);
        CHECK(ns_reservoir_merge(trial, 99, k, n1, m1, n2, m2, fresh, src, scratch, &x,
                                 got, it1, it2, size) == NS_OK);
        ns_reservoir_gather(want, it1, m1, it2, src, m, size);
        CHECK(memcmp(got, want, (size_t)(size * m)) == 0);
        int64_t x_again = -1;
        int64_t *src_again = malloc(8 * (m + 1));
        CHECK(ns_reservoir_merge(trial, 99, k, n1, m1, n2, m2, fresh, src_again, scratch,
                                 &x_again, NULL, NULL, NULL, 0) == NS_OK);
        CHECK(x_again == x && memcmp(src_again, src, (size_t)(8 * m)) == 0);
        free(it1); free(it2); free(got); free(want); free(src_again);
        CHECK(x >= 0 && x <= m1 && m - x <= m2);
        char *seen = calloc(m1 + m2 + 1, 1);
        int64_t from1 = 0, from2 = 0;
        for (int64_t j = 0; j < m; j++) {
            CHECK(src[j] >= 0 && src[j] < m1 + m2);
            if (src[j] < 0 || src[j] >= m1 + m2) continue;
            CHECK(!seen[src[j]]);
            seen[src[j]] = 1;
            /* a side that saw >= k items gives its first picks, in order */
            if (src[j] < m1) {
                if (n1 >= k && !fresh) CHECK(src[j] == from1);
                from1++;
            } else {
                if (n2 >= k && !fresh) CHECK(src[j] == m1 + from2);
                from2++;
            }
        }
        CHECK(from1 == x && from2 == m - x);
        free(src); free(scratch); free(seen);
    }
}

static void undo_log(void) {
    const int64_t k = 64, len = 5 * NS_WRESERVOIR_BLOCK + 77;
    double *w = malloc(8 * len);
    double hk[64], hk0[64], hk2[64];
    int64_t hs[64], hs0[64], hs2[64], sp[64], tc[64], sp2[64], tc2[64];
    ns_wreservoir_saved entries[64];
    unsigned char saved[64];
    for (int trial = 0; trial < 200; trial++) {
        ns_rng_t r, r2, g;
        ns_rng_seed(&g, 5, trial, 0);
        ns_rng_seed(&r, 6, trial, 0);
        for (int64_t i = 0; i < len; i++) w[i] = ns_rng_exponential(&g);
        int64_t size = 0, nt = 0, bad_at = -2;
        double rem = 0.0, total = 0.0;
        for (int i = 0; i < 64; i++) sp[i] = sp2[i] = -1;
        /* fill it on a first chunk (half of it full, half not) */
        const int64_t first = trial % 2 ? 40 : 300;
        CHECK(ns_wreservoir_update(&r, k, w, first, hk, hs, &size, &rem, sp, tc, &nt, 0,
                                   NULL, &total, &bad_at) == NS_OK);
        for (int64_t j = 0; j < nt; j++) sp[tc[j]] = -1;
        memcpy(hk0, hk, sizeof hk); memcpy(hs0, hs, sizeof hs);
        const int64_t size0 = size;
        const double rem0 = rem;
        r2 = r;
        /* a good chunk: with and without the undo log, bit for bit */
        ns_wreservoir_undo undo = {.limit = size, .n = 0, .entries = entries, .saved = saved};
        memset(saved, 0, sizeof saved);
        int64_t size2 = size, nt2 = 0, b2 = -2;
        double rem2 = rem, t1 = 0, t2 = 0;
        memcpy(hk2, hk, sizeof hk); memcpy(hs2, hs, sizeof hs);
        CHECK(ns_wreservoir_update(&r, k, w + first, len - first, hk, hs, &size, &rem, sp, tc, &nt, 0,
                                   &undo, &t1, &bad_at) == NS_OK && bad_at == -1);
        CHECK(ns_wreservoir_update(&r2, k, w + first, len - first, hk2, hs2, &size2, &rem2, sp2, tc2, &nt2, 0,
                                   NULL, &t2, &b2) == NS_OK);
        CHECK(size == size2 && rem == rem2 && t1 == t2 && nt == nt2);
        CHECK(memcmp(hk, hk2, 8 * size) == 0 && memcmp(hs, hs2, 8 * size) == 0);
        CHECK(memcmp(r.s, r2.s, sizeof r.s) == 0);
        for (int64_t j = 0; j < nt; j++) { CHECK(sp[tc[j]] == sp2[tc2[j]]); sp[tc[j]] = -1; sp2[tc2[j]] = -1; }
        /* a bad weight anywhere: restored exactly */
        memcpy(hk, hk0, sizeof hk); memcpy(hs, hs0, sizeof hs);
        const int64_t at = (int64_t)ns_rng_bounded(&g, (uint64_t)(len - first));
        const double keep = w[first + at];
        w[first + at] = trial % 3 == 0 ? NAN : trial % 3 == 1 ? -1.0 : INFINITY;
        memset(saved, 0, sizeof saved);
        undo = (ns_wreservoir_undo){.limit = size0, .n = 0, .entries = entries, .saved = saved};
        size = size0; rem = rem0;
        CHECK(ns_wreservoir_update(&r, k, w + first, len - first, hk, hs, &size, &rem, sp, tc, &nt, 0,
                                   &undo, &t1, &bad_at) == NS_ERR_VALUE);
        CHECK(bad_at == at && size == size0 && rem == rem0);
        ns_wreservoir_undo_restore(&undo, hk, hs);
        CHECK(memcmp(hk, hk0, 8 * size0) == 0 && memcmp(hs, hs0, 8 * size0) == 0);
        for (int i = 0; i < 64; i++) CHECK(saved[i] == 0);
        for (int64_t j = 0; j < nt; j++) sp[tc[j]] = -1;
        for (int i = 0; i < 64; i++) CHECK(sp[i] == -1);
        w[first + at] = keep;
    }
    free(w);
}

int main(void) {
    weighted_merges();
    heapifies();
    uniform_merges();
    undo_log();
    printf("bad=%d hash=%016llx\n", bad, (unsigned long long)hash);
    return bad != 0;
}
"""


def _build_and_run(tmp_path, flags, name):
    source = tmp_path / "reservoir_kernels.c"
    source.write_text(PROGRAM)
    out = build_and_run(tmp_path, name, [str(source), os.path.join(CSRC, "ns_reservoir.c"),
                                         os.path.join(CSRC, "ns_common.c")], flags=flags)
    assert out.startswith("bad=0 hash=")
    return out.strip()


@needs_csrc
def test_reservoir_kernels_under_sanitizers(tmp_path):
    simd = _build_and_run(tmp_path, [], "reservoir_kernels")
    # the weighted merge without its AVX2 path: the same outputs, bit for bit
    scalar = _build_and_run(tmp_path, ["-DNS_RESERVOIR_SCALAR_MERGE=1"],
                            "reservoir_kernels_scalar")
    assert simd == scalar
