#include "ns_pool.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
typedef struct { int64_t *out; int64_t n; int64_t fail_at; } job;
static int fill(void *ctx, int64_t b, int64_t e) {
    job *j = ctx;
    for (int64_t c = b; c < e; c++) {
        if (c == j->fail_at) return -2;
        for (int64_t i = c * 64; i < (c + 1) * 64 && i < j->n; i++) j->out[i] = i * 7 + 1;
    }
    return 0;
}
static ns_pool *P;
/* Stress test of csrc/ns_pool.c (run by tests/test_pool_c.py, under
 * ThreadSanitizer when the compiler has it): three caller threads run
 * thousands of loops of random sizes and thread counts on one pool, some
 * with a failing chunk; every output must be complete and every failure
 * reported. */
static void *caller(void *arg) {
    unsigned seed = (unsigned)(uintptr_t)arg;
    int bad = 0;
    for (int it = 0; it < 3000; it++) {
        int64_t n = 1 + rand_r(&seed) % 20000;
        int64_t chunks = (n + 63) / 64;
        job j = {malloc(sizeof(int64_t) * n), n, (rand_r(&seed) % 10 == 0) ? rand_r(&seed) % chunks : -1};
        ns_par par = {P, 1 + rand_r(&seed) % 4, NULL, NULL};
        int s = ns_par_for(&par, chunks, 1 + rand_r(&seed) % 3, fill, &j);
        if (j.fail_at < 0) {
            if (s != 0) bad++;
            for (int64_t i = 0; i < n; i++) if (j.out[i] != i * 7 + 1) { bad++; break; }
        } else if (s != -2) bad++;
        free(j.out);
    }
    return (void *)(intptr_t)bad;
}
int main(void) {
    P = ns_pool_create(3);
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, caller, (void *)(uintptr_t)(i + 1));
    long bad = 0;
    for (int i = 0; i < 3; i++) { void *r; pthread_join(t[i], &r); bad += (intptr_t)r; }
    ns_pool_destroy(P);
    printf("bad=%ld\n", bad);
    return bad != 0;
}
