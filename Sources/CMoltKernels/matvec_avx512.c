/* AVX-512 row kernels with f32 activations for f32, q8 and q4 weights (the int8 ones are in
 * matvec_vnni.c). Tails use masked loads, which read nothing past the row. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "internal.h"

MOLT_TARGET_AVX512 static inline __mmask16 first(int64_t n) { return (__mmask16)((1u << n) - 1); }

MOLT_TARGET_AVX512 static inline __m512 load_f32(const float *p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
MOLT_TARGET_AVX512 static inline __m512 load_f16(const uint16_t *p, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

#define ALL 0xFFFF
#define DOT_ROWS(NAME, ELEMENT, LOAD)                                                                          \
    MOLT_TARGET_AVX512 static void NAME(const molt_matrix *w, const molt_activation *a, float *y,              \
                                        int64_t begin, int64_t end) {                                          \
        int64_t n = w->columns;                                                                                \
        const float *x = a->x;                                                                                 \
        for (int64_t r = begin; r < end; r++) {                                                                \
            const ELEMENT *row = (const ELEMENT *)((const uint8_t *)w->data + r * w->row_stride);             \
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;                                        \
            int64_t i = 0;                                                                                     \
            for (; i + 64 <= n; i += 64) {                                                                     \
                s0 = _mm512_fmadd_ps(LOAD(row + i, ALL), _mm512_loadu_ps(x + i), s0);                          \
                s1 = _mm512_fmadd_ps(LOAD(row + i + 16, ALL), _mm512_loadu_ps(x + i + 16), s1);                \
                s2 = _mm512_fmadd_ps(LOAD(row + i + 32, ALL), _mm512_loadu_ps(x + i + 32), s2);                \
                s3 = _mm512_fmadd_ps(LOAD(row + i + 48, ALL), _mm512_loadu_ps(x + i + 48), s3);                \
            }                                                                                                  \
            for (; i < n; i += 16) {                                                                           \
                __mmask16 m = n - i >= 16 ? ALL : first(n - i);                                                \
                s0 = _mm512_fmadd_ps(LOAD(row + i, m), _mm512_maskz_loadu_ps(m, x + i), s0);                   \
            }                                                                                                  \
            y[r] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));          \
        }                                                                                                      \
    }

DOT_ROWS(rows_f32, float, load_f32)

MOLT_TARGET_AVX512 static inline float half_to_float(const uint8_t *p) { return _cvtsh_ss(molt_load_u16(p)); }

/* q4's minimum term, 16 groups at a time. Shared with the VNNI kernels (same arithmetic). */
MOLT_TARGET_AVX512 float molt_minimum_term_avx512(const uint8_t *minimums, const float *sums, int64_t groups) {
    __m512 s = _mm512_setzero_ps();
    for (int64_t g = 0; g < groups; g += 16) {
        __mmask16 m = groups - g >= 16 ? ALL : first(groups - g);
        s = _mm512_fmadd_ps(load_f16((const uint16_t *)(minimums + 2 * g), m), _mm512_maskz_loadu_ps(m, sums + g), s);
    }
    return _mm512_reduce_add_ps(s);
}

/* Per group: a vector of q * x sums, folded into the accumulator with the group's scale. */
MOLT_TARGET_AVX512 static inline __m512 q8_group(const uint8_t *row, const uint8_t *scales, const float *x, int64_t g,
                                                  int64_t group, __m512 acc) {
    __m512 sum = _mm512_setzero_ps();
    _mm_prefetch((const char *)(row + group * g + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
    for (int64_t i = 0; i < g; i += 16) {
        __m512i v = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(row + group * g + i)));
        sum = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), _mm512_loadu_ps(x + group * g + i), sum);
    }
    return _mm512_fmadd_ps(sum, _mm512_set1_ps(half_to_float(scales + 2 * group)), acc);
}

MOLT_TARGET_AVX512 static void rows_q8(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin,
                                       int64_t end) {
    int64_t g = w->group_size;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride, *scales = row + w->groups * g;
#define STEP(GROUP, ACC) ACC = q8_group(row, scales, a->x, g, GROUP, ACC)
        __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
        MOLT_ALTERNATE(w->groups, STEP)
#undef STEP
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    }
}

MOLT_TARGET_AVX512 static inline __m512 q4_group(const uint8_t *row, const uint8_t *scales, const float *x, int64_t g,
                                                  int64_t group, __m512 acc) {
    int64_t half = g / 2;
    const uint8_t *packed = row + group * half;
    x += group * g;
    __m512 low = _mm512_setzero_ps(), high = low;
    for (int64_t j = 0; j < half; j += 16) {
        __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(packed + j)));
        low = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_and_si512(v, _mm512_set1_epi32(15))), _mm512_loadu_ps(x + j), low);
        high = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(v, 4)), _mm512_loadu_ps(x + half + j), high);
    }
    return _mm512_fmadd_ps(_mm512_add_ps(low, high), _mm512_set1_ps(half_to_float(scales + 2 * group)), acc);
}

/* G = 32, the default: a group's 16 packed bytes widen to 16 lanes whose low 4 bits index a
 * table of the floats 0..15 (vpermps reads only those bits), which saves masking and
 * converting; scales are converted 16 groups at a time and spread by a permute. */
MOLT_TARGET_AVX512 static inline __m512 q4_group32(const uint8_t *packed, const float *x, __m512 values, __m512 scale,
                                                    __m512 acc) {
    _mm_prefetch((const char *)(packed + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
    __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)packed));
    __m512 sum = _mm512_mul_ps(_mm512_permutexvar_ps(v, values), _mm512_loadu_ps(x));
    sum = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(v, 4), values), _mm512_loadu_ps(x + 16), sum);
    return _mm512_fmadd_ps(sum, scale, acc);
}

MOLT_TARGET_AVX512 static float q4_row32(const uint8_t *row, const uint8_t *scales, const float *x, int64_t groups) {
    const __m512 values = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    for (int64_t g0 = 0; g0 < groups; g0 += 16) {
        int64_t count = groups - g0 < 16 ? groups - g0 : 16, k = 0;
        __m512 window = load_f16((const uint16_t *)(scales + 2 * g0), count == 16 ? ALL : first(count));
        for (; k + 1 < count; k += 2) {
            int64_t g = g0 + k;
            acc0 = q4_group32(row + 16 * g, x + 32 * g, values, _mm512_permutexvar_ps(_mm512_set1_epi32((int)k), window), acc0);
            acc1 = q4_group32(row + 16 * g + 16, x + 32 * g + 32, values,
                              _mm512_permutexvar_ps(_mm512_set1_epi32((int)k + 1), window), acc1);
        }
        if (k < count)
            acc0 = q4_group32(row + 16 * (g0 + k), x + 32 * (g0 + k), values,
                              _mm512_permutexvar_ps(_mm512_set1_epi32((int)k), window), acc0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

MOLT_TARGET_AVX512 static void rows_q4(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin,
                                       int64_t end) {
    int64_t g = w->group_size;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;
        const uint8_t *scales = row + w->groups * g / 2, *minimums = scales + 2 * w->groups;
        float offset = molt_minimum_term_avx512(minimums, a->group_sums, w->groups);
        if (g == 32) {
            y[r] = q4_row32(row, scales, a->x, w->groups) + offset;
        } else {
#define STEP(GROUP, ACC) ACC = q4_group(row, scales, a->x, g, GROUP, ACC)
            __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
            MOLT_ALTERNATE(w->groups, STEP)
#undef STEP
            y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + offset;
        }
    }
}

/* f16 and bf16 rows take AVX2's kernels (matvec.c): widening 8 halves into a 256-bit register
 * keeps up with DRAM where 16 into a 512-bit one does not (BENCHMARKS.md, "Kernel design
 * choices"). */
const molt_rows_fn molt_rows_avx512[5] = {rows_f32, NULL, NULL, rows_q8, rows_q4};
#else
#include "internal.h"
const molt_rows_fn molt_rows_avx512[5];
#endif
