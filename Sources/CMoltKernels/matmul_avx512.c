/* AVX-512 pieces of the matmul: an 8 x 32 register tile (16 accumulators; 12 x 32 measured
 * half as fast on Zen 4) and vector dequantization of a row. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "matmul.h"

#define MR 8
#define NR 32

MOLT_TARGET_AVX512 static inline __mmask16 first_lanes(int64_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

/* m is a constant at every call site, so the accumulators stay in registers. */
MOLT_TARGET_AVX512 static inline __attribute__((always_inline)) void tile_rows(
    const int64_t m, const float *x, const float *panel, int64_t kc, float *y, int64_t ldy, int64_t n, int first) {
    __mmask16 m0 = first_lanes(n), m1 = first_lanes(n - 16);
    __m512 c0[MR], c1[MR];
    for (int64_t i = 0; i < m; i++) {
        c0[i] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m0, y + i * ldy);
        c1[i] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m1, y + i * ldy + 16);
    }
    for (int64_t k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(panel + NR * k), b1 = _mm512_load_ps(panel + NR * k + 16);
        for (int64_t i = 0; i < m; i++) {
            __m512 a = _mm512_set1_ps(x[MR * k + i]);
            c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
        }
    }
    for (int64_t i = 0; i < m; i++) {
        _mm512_mask_storeu_ps(y + i * ldy, m0, c0[i]);
        _mm512_mask_storeu_ps(y + i * ldy + 16, m1, c1[i]);
    }
}

MOLT_TARGET_AVX512 static void tile(int64_t m, const float *x, const float *panel, int64_t kc, float *y, int64_t ldy,
                                    int64_t n, int first) {
    switch (m) {
#define CASE(M) \
    case M: tile_rows(M, x, panel, kc, y, ldy, n, first); break;
        CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8)
#undef CASE
    }
}

MOLT_TARGET_AVX512 static void dequantize(const molt_matrix *w, int64_t r, float *out) {
    const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;
    int64_t g = w->group_size, half = g / 2;
    switch (w->type) {
    case MOLT_WEIGHT_F32:
        memcpy(out, row, (size_t)w->columns * 4);
        break;
    case MOLT_WEIGHT_F16:
    case MOLT_WEIGHT_BF16:
        for (int64_t i = 0; i < w->columns; i += 16) {
            __mmask16 m = first_lanes(w->columns - i);
            __m256i h = _mm256_maskz_loadu_epi16(m, row + 2 * i);
            __m512 v = w->type == MOLT_WEIGHT_F16 ? _mm512_cvtph_ps(h)
                                                  : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
            _mm512_mask_storeu_ps(out + i, m, v);
        }
        break;
    case MOLT_WEIGHT_Q8:
        for (int64_t group = 0; group < w->groups; group++) {
            __m512 scale = _mm512_set1_ps(_cvtsh_ss(molt_load_u16(row + w->groups * g + 2 * group)));
            for (int64_t i = 0; i < g; i += 16) {
                __m512i q = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(row + group * g + i)));
                _mm512_storeu_ps(out + group * g + i, _mm512_mul_ps(scale, _mm512_cvtepi32_ps(q)));
            }
        }
        break;
    case MOLT_WEIGHT_Q4:
        for (int64_t group = 0; group < w->groups; group++) {
            const uint8_t *packed = row + group * half;
            __m512 scale = _mm512_set1_ps(_cvtsh_ss(molt_load_u16(row + w->groups * half + 2 * group)));
            __m512 minimum = _mm512_set1_ps(_cvtsh_ss(molt_load_u16(row + w->groups * half + 2 * (w->groups + group))));
            for (int64_t j = 0; j < half; j += 16) {
                __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(packed + j)));
                __m512 lo = _mm512_cvtepi32_ps(_mm512_and_si512(v, _mm512_set1_epi32(15)));
                __m512 hi = _mm512_cvtepi32_ps(_mm512_srli_epi32(v, 4));
                /* scale * q is exact, so the fused form rounds as Reconstruction does */
                _mm512_storeu_ps(out + group * g + j, _mm512_fmadd_ps(scale, lo, minimum));
                _mm512_storeu_ps(out + group * g + half + j, _mm512_fmadd_ps(scale, hi, minimum));
            }
        }
        break;
    }
}

/* 16 x 16 blocks: 16 row vectors in, 16 column vectors out, through the usual four rounds of
 * shuffles (pairs of floats, pairs of pairs, then 128-bit lanes twice). Ragged edges load
 * zeros for missing rows and columns and store only the columns that exist. */
MOLT_TARGET_AVX512 static void transpose(const float *rows, int64_t ld, int64_t n, int64_t k, int64_t nr, float *panel) {
    for (int64_t j0 = 0; j0 < nr; j0 += 16) {
        for (int64_t c0 = 0; c0 < k; c0 += 16) {
            __mmask16 m = first_lanes(k - c0);
            __m512 r[16], t[16];
            for (int i = 0; i < 16; i++)
                r[i] = j0 + i < n ? _mm512_maskz_loadu_ps(m, rows + (j0 + i) * ld + c0) : _mm512_setzero_ps();
            for (int i = 0; i < 16; i += 2) {
                t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
                t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
            }
            for (int i = 0; i < 16; i += 4) {
                r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
                r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
                r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
                r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
            }
            for (int i = 0; i < 16; i += 8)
                for (int p = 0; p < 4; p++) {
                    t[i + p] = _mm512_shuffle_f32x4(r[i + p], r[i + 4 + p], 0x88);
                    t[i + 4 + p] = _mm512_shuffle_f32x4(r[i + p], r[i + 4 + p], 0xDD);
                }
            for (int p = 0; p < 8; p++) {
                r[p] = _mm512_shuffle_f32x4(t[p], t[8 + p], 0x88);
                r[8 + p] = _mm512_shuffle_f32x4(t[p], t[8 + p], 0xDD);
            }
            for (int c = 0; c < 16 && c0 + c < k; c++) _mm512_storeu_ps(panel + (c0 + c) * nr + j0, r[c]);
        }
    }
}

const molt_gemm_kernel molt_gemm_avx512 = {MR, NR, 128, dequantize, transpose, tile};
#else
#include "matmul.h"
const molt_gemm_kernel molt_gemm_avx512;
#endif
