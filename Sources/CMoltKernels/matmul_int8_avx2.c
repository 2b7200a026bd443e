/* The integer matmul on AVX2 lanes (matmul_int8.h). The target attribute covers every
 * function of the headers included below, so they compile for this instruction set only. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "activation.h"
#include "matmul.h"

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#include "matmul_lanes_avx2_int8.h"
#define MATMUL_INT8_NAME molt_matmul_int8_avx2
#include "matmul_int8.h"
#pragma clang attribute pop
#else
#include "matmul.h"
int molt_matmul_int8_avx2(molt_pool *pool, const molt_matrix *w, const float *x, int64_t t, float *y,
                          molt_activations precision) {
    return molt_matmul_int8_scalar(pool, w, x, t, y, precision);
}
#endif
