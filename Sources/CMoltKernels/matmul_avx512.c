/* AVX-512 pieces of the matmul: the shared ones (matmul_float.h) on sixteen f32 lanes, and
 * the broadcast tile. The target attribute covers every function of the headers included
 * below. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "matmul.h"

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq"))), apply_to = function)
#include "matmul_lanes_zmm.h"

/* The weights a matmul reads are usually cold (a prefill touches each expert once), and the
 * hardware prefetcher alone left the dequantization waiting on memory: prefetching this far
 * ahead makes cold products faster (BENCHMARKS.md, "Kernel design choices"). */
#define DEQUANTIZE_PREFETCH_BYTES 4096
#include "matmul_float.h"

/* 16 accumulators, one per row of W, each a vector over up to 16 rows of X; 8 or fewer rows
 * of X take ymm vectors, at half the cost. The 16 rows of W are read side by side, a value at
 * a time, from the rows buffer (L1 and L2). */
#define BROADCAST_TILE(VEC, SETZERO, LOAD, SET1, FMADD, STORE, WIDTH)                              \
    VEC acc[16];                                                                                  \
    for (int j = 0; j < 16; j++) acc[j] = SETZERO();                                              \
    for (int64_t c = 0; c < k; c++) {                                                             \
        VEC x = LOAD(xt + 16 * c);                                                                \
        for (int j = 0; j < 16; j++) acc[j] = FMADD(SET1(rows[j * ld + c]), x, acc[j]);           \
    }                                                                                             \
    float out[16][WIDTH] __attribute__((aligned(64)));                                            \
    for (int j = 0; j < 16; j++) STORE(out[j], acc[j]);                                           \
    for (int64_t i = 0; i < m; i++)                                                               \
        for (int64_t j = 0; j < n; j++) y[i * ldy + j] = out[j][i];

static void broadcast_tile(const float *rows, int64_t ld, const float *xt, int64_t k, int64_t m, float *y,
                           int64_t ldy, int64_t n) {
    if (m <= 8) {
        BROADCAST_TILE(__m256, _mm256_setzero_ps, _mm256_load_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_store_ps, 8)
    } else {
        BROADCAST_TILE(__m512, _mm512_setzero_ps, _mm512_load_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_store_ps, 16)
    }
}

const molt_gemm_kernel molt_gemm_avx512 = {0, 0, 0, dequantize, NULL, NULL, broadcast_tile};
#pragma clang attribute pop
#else
#include "matmul.h"
const molt_gemm_kernel molt_gemm_avx512;
#endif
