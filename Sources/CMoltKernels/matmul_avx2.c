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

/* 8 x 8 blocks in ymm registers. Each register is loaded as two 128-bit halves, row i's in
 * the low lane and row i + 4's in the high one, so that the lane crossing a transpose needs
 * is done by the loads; two rounds of in-lane shuffles finish it. Ragged blocks (fewer than 8
 * rows or columns left) go through the scalar path. */
MOLT_TARGET_AVX2 static void transpose(const float *rows, int64_t ld, int64_t n, int64_t k, int64_t nr,
                                    float *panel) {
    for (int64_t j0 = 0; j0 < nr; j0 += 8) {
        int64_t c0 = 0;
        if (j0 + 8 <= n) {
            const float *r = rows + j0 * ld;
            for (; c0 + 8 <= k; c0 += 8) {
                __m256 t[8], u[4];
                for (int h = 0; h < 2; h++)
                    for (int i = 0; i < 4; i++)
                        t[4 * h + i] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r + i * ld + c0 + 4 * h)),
                                                            _mm_loadu_ps(r + (i + 4) * ld + c0 + 4 * h), 1);
                for (int h = 0; h < 2; h++) {
                    u[0] = _mm256_unpacklo_ps(t[4 * h], t[4 * h + 1]);
                    u[1] = _mm256_unpackhi_ps(t[4 * h], t[4 * h + 1]);
                    u[2] = _mm256_unpacklo_ps(t[4 * h + 2], t[4 * h + 3]);
                    u[3] = _mm256_unpackhi_ps(t[4 * h + 2], t[4 * h + 3]);
                    float *out = panel + (c0 + 4 * h) * nr + j0;
                    _mm256_storeu_ps(out, _mm256_shuffle_ps(u[0], u[2], 0x44));
                    _mm256_storeu_ps(out + nr, _mm256_shuffle_ps(u[0], u[2], 0xEE));
                    _mm256_storeu_ps(out + 2 * nr, _mm256_shuffle_ps(u[1], u[3], 0x44));
                    _mm256_storeu_ps(out + 3 * nr, _mm256_shuffle_ps(u[1], u[3], 0xEE));
                }
            }
        }
        for (int64_t c = c0; c < k; c++)
            for (int64_t j = j0; j < j0 + 8; j++) panel[c * nr + j] = j < n ? rows[j * ld + c] : 0;
    }
}

const molt_gemm_kernel molt_gemm_avx2 = {MR, NR, 256, dequantize, transpose, tile, NULL};
#else
#include "matmul.h"
const molt_gemm_kernel molt_gemm_avx2;
#endif
