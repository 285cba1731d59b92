/* syscall() (for arch_prctl) is declared by unistd.h under _DEFAULT_SOURCE
 * only; the build defines _POSIX_C_SOURCE, which hides it. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE 1
#endif

#include "ns_common.h"

#if NS_AVX2_CLONES && defined(__x86_64__) && defined(__linux__)
#define NS_AMX_CHECK 1
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
/* arch/x86/include/uapi/asm/prctl.h and the XSAVE feature number of the
 * tile data (TILEDATA, XCR0 bit 18). */
#define NS_ARCH_REQ_XCOMP_PERM 0x1023
#define NS_XFEATURE_XTILEDATA 18
#else
#define NS_AMX_CHECK 0
#endif

int ns_cpu_has_avx2(void) {
#if NS_AVX2_CLONES
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
#else
    return 0;
#endif
}

int ns_cpu_has_amx_int8(void) {
#if NS_AMX_CHECK
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid(1, a, b, c, d);
    if (!(c & (1u << 27))) return 0; /* OSXSAVE: xgetbv is enabled */
    __cpuid_count(7, 0, a, b, c, d);
    if (!(d & (1u << 24)) || !(d & (1u << 25))) return 0; /* AMX-TILE, AMX-INT8 */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    if ((lo & (3u << 17)) != (3u << 17)) return 0; /* XTILECFG, XTILEDATA */
    return syscall(SYS_arch_prctl, NS_ARCH_REQ_XCOMP_PERM, NS_XFEATURE_XTILEDATA) == 0;
#else
    return 0;
#endif
}
