/* q8 rows with int16 activations, SIMD paths (the portable one is in matvec_scalar.c). Each
 * block of 32 values is one exact integer dot product of the int8 weights and the int16
 * activations (|sum| < 32 * 127 * 32767 < 2^31), turned into f32 once and scaled by the
 * weight group's scale times the activation block's. One int16 multiply-add instruction does
 * the work of two int8 widenings, two conversions and two fused multiply-adds of the f32
 * kernel, and int16 activations round x to about 1.5e-5 of its block's largest value, against
 * q8's own 0.5% weight error. The paths differ only in the order of the f32 sums. */
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* The combined scale of block b: its group's weight scale times its activation scale. */
static inline float block_scale(const uint8_t *scales, const float *block_scales, int64_t b, int64_t g) {
    return molt_f16_to_f32(molt_load_u16(scales + 2 * (b * MOLT_BLOCK / g))) * block_scales[b];
}

/* One block: its 32 weights widened in two halves, one exact int32 dot product per lane. */
MOLT_TARGET_AVX2 static inline __m256i block_dot_avx2(const uint8_t *p, const int16_t *x) {
    __m256i low = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p));
    __m256i high = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(p + 16)));
    return _mm256_add_epi32(_mm256_madd_epi16(low, _mm256_loadu_si256((const __m256i *)x)),
                            _mm256_madd_epi16(high, _mm256_loadu_si256((const __m256i *)(x + 16))));
}

/* With G = 32 (block = group) the scales are combined eight blocks at a time and spread by a
 * permute (block_scales is padded with zeros to a multiple of 8); other G take one scalar per
 * block. Prefetching once per cache line is enough. */
MOLT_TARGET_AVX2 static void rows_avx2(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin,
                                       int64_t end) {
    int64_t g = w->group_size, blocks = w->groups * g / MOLT_BLOCK;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride, *scales = row + w->groups * g;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        for (int64_t b0 = 0; b0 < blocks; b0 += 8) {
            int64_t count = blocks - b0 < 8 ? blocks - b0 : 8;
            int skip = 0;
            __m256 combined = _mm256_setzero_ps();
            if (g == MOLT_BLOCK)
                combined = _mm256_mul_ps(molt_load_f16_window(scales, b0, blocks, &skip),
                                         _mm256_loadu_ps(a->block_scales + b0 - skip));
            for (int64_t k = 0; k < count; k++) {
                int64_t b = b0 + k;
                const uint8_t *p = row + b * MOLT_BLOCK;
                if (!(k & 1)) _mm_prefetch((const char *)(p + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
                __m256 scale = g == MOLT_BLOCK ? _mm256_permutevar8x32_ps(combined, _mm256_set1_epi32(skip + (int)k))
                                               : _mm256_set1_ps(block_scale(scales, a->block_scales, b, g));
                __m256 dot = _mm256_cvtepi32_ps(block_dot_avx2(p, a->x16 + b * MOLT_BLOCK));
                if (k & 1) acc1 = _mm256_fmadd_ps(dot, scale, acc1);
                else acc0 = _mm256_fmadd_ps(dot, scale, acc0);
            }
        }
        __m256 s = _mm256_add_ps(acc0, acc1);
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        y[r] = _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
    }
}

/* AVX-512: a block's 32 weights widen to one register of int16. With G = 32 the scales are
 * combined 16 blocks at a time and spread by a permute; other G take one scalar per block. */
#define ROWS_AVX512(NAME, TARGET, DOT)                                                                              \
    TARGET static inline __m512 NAME##_block(const uint8_t *p, const int16_t *x, __m512 scale, __m512 acc) {       \
        __m512i q = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)p));                                  \
        return _mm512_fmadd_ps(_mm512_cvtepi32_ps(DOT(q, _mm512_loadu_si512(x))), scale, acc);                      \
    }                                                                                                              \
    TARGET static void NAME(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin, int64_t end) { \
        int64_t g = w->group_size, blocks = w->groups * g / MOLT_BLOCK;                                            \
        for (int64_t r = begin; r < end; r++) {                                                                    \
            const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride, *scales = row + w->groups * g;      \
            __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();                                         \
            for (int64_t b0 = 0; b0 < blocks; b0 += 16) {                                                          \
                int64_t count = blocks - b0 < 16 ? blocks - b0 : 16;                                               \
                __m512 window = _mm512_setzero_ps();                                                               \
                if (g == MOLT_BLOCK) {                                                                             \
                    __mmask16 m = count == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1);                \
                    window = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, scales + 2 * b0)),          \
                                           _mm512_maskz_loadu_ps(m, a->block_scales + b0));                        \
                }                                                                                                  \
                for (int64_t k = 0; k < count; k++) {                                                              \
                    int64_t b = b0 + k;                                                                            \
                    __m512 scale = g == MOLT_BLOCK ? _mm512_permutexvar_ps(_mm512_set1_epi32((int)k), window)       \
                                                   : _mm512_set1_ps(block_scale(scales, a->block_scales, b, g));   \
                    const uint8_t *p = row + b * MOLT_BLOCK;                                                       \
                    const int16_t *x = a->x16 + b * MOLT_BLOCK;                                                    \
                    if (!(k & 1)) _mm_prefetch((const char *)(p + MOLT_PREFETCH_BYTES), _MM_HINT_T0);              \
                    if (k & 1)                                                                                     \
                        acc1 = NAME##_block(p, x, scale, acc1);                                                    \
                    else                                                                                           \
                        acc0 = NAME##_block(p, x, scale, acc0);                                                    \
                }                                                                                                  \
            }                                                                                                      \
            y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));                                                \
        }                                                                                                          \
    }

#define MADD(q, x) _mm512_madd_epi16(q, x)
#define DPWSSD(q, x) _mm512_dpwssd_epi32(_mm512_setzero_si512(), q, x)
ROWS_AVX512(rows_avx512, MOLT_TARGET_AVX512, MADD)
ROWS_AVX512(rows_vnni, MOLT_TARGET_VNNI, DPWSSD)

const molt_rows_fn molt_rows_q8_int16_avx2 = rows_avx2;
const molt_rows_fn molt_rows_q8_int16_avx512 = rows_avx512;
const molt_rows_fn molt_rows_q8_int16_vnni = rows_vnni;
#else
/* Never selected: these paths are not supported off x86. */
const molt_rows_fn molt_rows_q8_int16_avx2, molt_rows_q8_int16_avx512, molt_rows_q8_int16_vnni;
#endif
