/*
 * ns_common.h -- status codes and CPU dispatch shared by every kernel.
 */
#ifndef NS_COMMON_H
#define NS_COMMON_H

#include <stdint.h>

/* Every ns_* function returns NS_OK or one of these negative codes. */
#define NS_OK 0
#define NS_ERR_ALLOC (-1)     /* a documented allocation failed */
#define NS_ERR_VALUE (-2)     /* an argument is out of its domain */
#define NS_ERR_EMPTY (-3)     /* nothing to draw from (e.g. zero total mass) */
#define NS_ERR_CORRUPT (-4)   /* a serialised structure is inconsistent */
#define NS_ERR_EXHAUSTED (-5) /* fewer eligible items than requested */
#define NS_ERR_INTERRUPTED (-6) /* the caller asked to stop (ns_pool.h) */

/* Run-time dispatch without -march=native: with GCC or clang on x86, hot
 * loops are compiled a second time with NS_TARGET_AVX2 and that copy runs
 * when ns_cpu_has_avx2() says the CPU has AVX2.  Elsewhere NS_AVX2_CLONES
 * is 0 and ns_cpu_has_avx2() returns 0. */
#if (defined(__GNUC__) || defined(__clang__)) && \
    (defined(__x86_64__) || defined(__i386__))
#define NS_AVX2_CLONES 1
#define NS_TARGET_AVX2 __attribute__((target("avx2")))
#else
#define NS_AVX2_CLONES 0
#define NS_TARGET_AVX2
#endif
int ns_cpu_has_avx2(void);

#endif /* NS_COMMON_H */
