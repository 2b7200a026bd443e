#include "molt_cpu.h"

/* __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0). */
static molt_path detect(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")))
        return MOLT_PATH_SCALAR;
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")))
        return MOLT_PATH_AVX2;
    if (!__builtin_cpu_supports("avx512vnni")) return MOLT_PATH_AVX512;
    return MOLT_PATH_AVX512_VNNI;
#else
    return MOLT_PATH_SCALAR;
#endif
}

molt_path molt_cpu_best_path(void) {
    static molt_path best = (molt_path)-1;
    if ((int)best < 0) best = detect(); /* idempotent, so a racing first call is harmless */
    return best;
}
