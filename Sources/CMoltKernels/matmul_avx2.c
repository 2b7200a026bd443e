/* AVX2 pieces of the matmul: a 6 x 16 register tile (12 accumulators of 16) and vector
 * dequantization of a row. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "matmul.h"

#define MR 6
#define NR 16

MOLT_TARGET_AVX2 static inline __m256i first_lanes(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 0 ? 0 : n > 8 ? 8 : n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* m is a constant at every call site, so the accumulators stay in registers. */
MOLT_TARGET_AVX2 static inline __attribute__((always_inline)) void tile_rows(
    const int64_t m, const float *x, const float *panel, int64_t kc, float *y, int64_t ldy, int64_t n, int first) {
    __m256i m0 = first_lanes(n), m1 = first_lanes(n - 8);
    __m256 c0[MR], c1[MR];
    for (int64_t i = 0; i < m; i++) {
        c0[i] = first ? _mm256_setzero_ps() : _mm256_maskload_ps(y + i * ldy, m0);
        c1[i] = first ? _mm256_setzero_ps() : _mm256_maskload_ps(y + i * ldy + 8, m1);
    }
    for (int64_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(panel + NR * k), b1 = _mm256_load_ps(panel + NR * k + 8);
        for (int64_t i = 0; i < m; i++) {
            __m256 a = _mm256_broadcast_ss(x + MR * k + i);
            c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);
        }
    }
    for (int64_t i = 0; i < m; i++) {
        _mm256_maskstore_ps(y + i * ldy, m0, c0[i]);
        _mm256_maskstore_ps(y + i * ldy + 8, m1, c1[i]);
    }
}

MOLT_TARGET_AVX2 static void tile(int64_t m, const float *x, const float *panel, int64_t kc, float *y, int64_t ldy,
                                  int64_t n, int first) {
    switch (m) {
#define CASE(M) \
    case M: tile_rows(M, x, panel, kc, y, ldy, n, first); break;
        CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6)
#undef CASE
    }
}

MOLT_TARGET_AVX2 static void dequantize(const molt_matrix *w, int64_t r, float *out) {
    const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;
    int64_t g = w->group_size, half = g / 2;
    switch (w->type) {
    case MOLT_WEIGHT_Q8:
        for (int64_t group = 0; group < w->groups; group++) {
            __m256 scale = _mm256_set1_ps(_cvtsh_ss(molt_load_u16(row + w->groups * g + 2 * group)));
            for (int64_t i = 0; i < g; i += 8) {
                __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(row + group * g + i)));
                _mm256_storeu_ps(out + group * g + i, _mm256_mul_ps(scale, _mm256_cvtepi32_ps(q)));
            }
        }
        break;
    case MOLT_WEIGHT_Q4:
        for (int64_t group = 0; group < w->groups; group++) {
            const uint8_t *packed = row + group * half;
            __m256 scale = _mm256_set1_ps(_cvtsh_ss(molt_load_u16(row + w->groups * half + 2 * group)));
            __m256 minimum = _mm256_set1_ps(_cvtsh_ss(molt_load_u16(row + w->groups * half + 2 * (w->groups + group))));
            for (int64_t j = 0; j < half; j += 8) {
                __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(packed + j)));
                __m256 lo = _mm256_cvtepi32_ps(_mm256_and_si256(v, _mm256_set1_epi32(15)));
                __m256 hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(v, 4));
                /* scale * q is exact, so the fused form rounds as Reconstruction does */
                _mm256_storeu_ps(out + group * g + j, _mm256_fmadd_ps(scale, lo, minimum));
                _mm256_storeu_ps(out + group * g + half + j, _mm256_fmadd_ps(scale, hi, minimum));
            }
        }
        break;
    default: /* f32, f16, bf16: conversion is not the cost here */
        molt_dequantize_row_scalar(w, r, out);
        break;
    }
}

const molt_gemm_kernel molt_gemm_avx2 = {MR, NR, 256, dequantize, molt_transpose_rows_scalar, tile};
#else
#include "matmul.h"
const molt_gemm_kernel molt_gemm_avx2;
#endif
