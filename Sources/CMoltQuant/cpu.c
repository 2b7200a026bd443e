#include "internal.h"

/* __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0). */
static molt_quant_path detect(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c"))) return MOLT_QUANT_PATH_PORTABLE;
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
          __builtin_cpu_supports("avx512dq")))
        return MOLT_QUANT_PATH_AVX2;
    return MOLT_QUANT_PATH_AVX512;
#else
    return MOLT_QUANT_PATH_PORTABLE;
#endif
}

molt_quant_path molt_quant_best_path(void) {
    static molt_quant_path best = (molt_quant_path)-1;
    if ((int)best < 0) best = detect(); /* idempotent, so a racing first call is harmless */
    return best;
}
