/*
 * ns_common.h -- what every kernel shares: status codes and how to collect
 * them, NS_INLINE, named constants, the prefetch hint and CPU dispatch.
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

/* Force-inlined helpers: the inner loops of every kernel call them. */
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define NS_INLINE static __forceinline
#else
#define NS_INLINE static inline __attribute__((always_inline))
#endif

/* The status of several pieces of work (rows, chunks) taken together: the
 * lower code, so that any error beats NS_OK and the answer does not depend
 * on the order in which the pieces ran.  Collect with
 * `status = ns_status_worst(status, s);` from status = NS_OK. */
NS_INLINE int ns_status_worst(int a, int b) { return b < a ? b : a; }

/* 2**53 and its inverse: a double holds 53 significant bits, so the top 53
 * bits of a 64-bit random word map exactly onto [0, 1) (ns_rng.h) and an
 * alias threshold is a 53-bit fixed-point probability (ns_alias.h). */
#define NS_TWO53 9007199254740992.0
#define NS_INV_TWO53 (1.0 / 9007199254740992.0)

/* Read prefetch of the cache line holding *p.  `locality` is the
 * __builtin_prefetch hint (0: used once, do not keep; 3: keep in every
 * level); a no-op where the compiler has no such builtin. */
#if defined(__GNUC__) || defined(__clang__)
#define NS_PREFETCH(p, locality) __builtin_prefetch((p), 0, (locality))
#else
#define NS_PREFETCH(p, locality) ((void)(p))
#endif

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

/* Whether this thread may run AMX int8 tile instructions (TDPBSSD): CPUID
 * leaf 7 EDX bits 24 (AMX-TILE) and 25 (AMX-INT8), OSXSAVE with XCR0 bits
 * 17 and 18 (the OS saves the tile state), and on Linux the kernel's
 * permission for the tile data, requested here (arch_prctl
 * ARCH_REQ_XCOMP_PERM: once granted it holds for every thread of the
 * process and for its fork children; asking again is harmless).  0 on any
 * other system or compiler, and when any check fails. */
int ns_cpu_has_amx_int8(void);

#endif /* NS_COMMON_H */
