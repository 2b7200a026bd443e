#include "internal.h"

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

molt_path molt_best_path(void) {
    static molt_path best = (molt_path)-1;
    if ((int)best < 0) best = detect(); /* idempotent, so a racing first call is harmless */
    return best;
}

int molt_path_supported(molt_path path) { return path >= MOLT_PATH_SCALAR && path <= molt_best_path(); }

int molt_matrix_init(molt_matrix *m, molt_weight_type type, const void *data, int64_t rows, int64_t columns,
                     int32_t group_size) {
    if (rows < 0 || columns < 0) return -1;
    int64_t groups = 0, stride;
    switch (type) {
    case MOLT_WEIGHT_F32:
        if (__builtin_mul_overflow(columns, 4, &stride)) return -1;
        group_size = 0;
        break;
    case MOLT_WEIGHT_F16:
    case MOLT_WEIGHT_BF16:
        if (__builtin_mul_overflow(columns, 2, &stride)) return -1;
        group_size = 0;
        break;
    case MOLT_WEIGHT_Q8:
    case MOLT_WEIGHT_Q4:
        if (group_size < 32 || group_size > 4096 || group_size % 32 != 0) return -1;
        groups = columns / group_size + (columns % group_size != 0);
        if (__builtin_mul_overflow(groups, type == MOLT_WEIGHT_Q8 ? group_size + 2 : group_size / 2 + 4, &stride))
            return -1;
        break;
    default:
        return -1;
    }
    int64_t total;
    if (__builtin_mul_overflow(rows, stride, &total)) return -1;
    *m = (molt_matrix){.data = data, .rows = rows, .columns = columns, .row_stride = stride, .groups = groups,
                       .type = type, .group_size = group_size};
    return 0;
}
