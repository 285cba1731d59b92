#include "ns_common.h"

int ns_cpu_has_avx2(void) {
#if NS_AVX2_CLONES
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
#else
    return 0;
#endif
}
