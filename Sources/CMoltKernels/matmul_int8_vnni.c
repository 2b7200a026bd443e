/* The integer matmul on AVX-512 VNNI lanes (matmul_int8.h). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "activation.h"
#include "matmul.h"

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni"))), apply_to = function)
#include "matmul_lanes_vnni.h"
#define MATMUL_INT8_NAME molt_matmul_int8_vnni
#include "matmul_int8.h"
#pragma clang attribute pop
#else
#include "matmul.h"
int molt_matmul_int8_vnni(molt_pool *pool, const molt_matrix *w, const float *x, int64_t t, float *y,
                          molt_activations precision) {
    return molt_matmul_int8_scalar(pool, w, x, t, y, precision);
}
#endif
