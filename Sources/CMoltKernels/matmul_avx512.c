/* AVX-512 pieces of the matmul: the broadcast tile and vector dequantization of a row. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "matmul.h"

MOLT_TARGET_AVX512 static inline __mmask16 first_lanes(int64_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

/* 16 accumulators, one per row of W, each a vector over up to 16 rows of X; 8 or fewer rows
 * of X take ymm vectors, at half the cost. The 16 rows of W are read side by side, a value at
 * a time, from the rows buffer (L1 and L2). */
#define BROADCAST_TILE(VEC, SETZERO, LOAD, SET1, FMADD, STORE, LANES)                              \
    VEC acc[16];                                                                                  \
    for (int j = 0; j < 16; j++) acc[j] = SETZERO();                                              \
    for (int64_t c = 0; c < k; c++) {                                                             \
        VEC x = LOAD(xt + 16 * c);                                                                \
        for (int j = 0; j < 16; j++) acc[j] = FMADD(SET1(rows[j * ld + c]), x, acc[j]);           \
    }                                                                                             \
    float out[16][LANES] __attribute__((aligned(64)));                                            \
    for (int j = 0; j < 16; j++) STORE(out[j], acc[j]);                                           \
    for (int64_t i = 0; i < m; i++)                                                               \
        for (int64_t j = 0; j < n; j++) y[i * ldy + j] = out[j][i];

MOLT_TARGET_AVX512 static void broadcast_tile(const float *rows, int64_t ld, const float *xt, int64_t k, int64_t m,
                                              float *y, int64_t ldy, int64_t n) {
    if (m <= 8) {
        BROADCAST_TILE(__m256, _mm256_setzero_ps, _mm256_load_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_store_ps, 8)
    } else {
        BROADCAST_TILE(__m512, _mm512_setzero_ps, _mm512_load_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_store_ps, 16)
    }
}

/* The weights a matmul reads are usually cold (a prefill touches each expert once), and the
 * hardware prefetcher alone left the dequantization waiting on memory: prefetching this far
 * ahead makes cold products faster (BENCHMARKS.md, "Kernel design choices"). */
#define DEQUANTIZE_PREFETCH_BYTES 4096

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
            _mm_prefetch((const char *)(row + 2 * i + DEQUANTIZE_PREFETCH_BYTES), _MM_HINT_T0);
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
                _mm_prefetch((const char *)(row + group * g + i + DEQUANTIZE_PREFETCH_BYTES), _MM_HINT_T0);
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
                _mm_prefetch((const char *)(packed + j + DEQUANTIZE_PREFETCH_BYTES), _MM_HINT_T0);
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

const molt_gemm_kernel molt_gemm_avx512 = {0, 0, 0, dequantize, NULL, NULL, broadcast_tile};
#else
#include "matmul.h"
const molt_gemm_kernel molt_gemm_avx512;
#endif
