/* AVX-512 row kernels with f32 activations for f32, q8 and q4 weights, through
 * matvec_float.h (the int8 ones are in matvec_vnni.c; f16 and bf16 rows take AVX2's). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "internal.h"

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq"))), apply_to = function)
#include "matvec_lanes_zmm.h"
#define LANES 16

/* q4's minimum term, 16 groups at a time. Shared with the VNNI kernels (same arithmetic). */
float molt_minimum_term_avx512(const uint8_t *minimums, const float *sums, int64_t groups) {
    __m512 s = _mm512_setzero_ps();
    for (int64_t g = 0; g < groups; g += 16) {
        __mmask16 m = first_lanes(groups - g);
        s = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, minimums + 2 * g)), _mm512_maskz_loadu_ps(m, sums + g), s);
    }
    return _mm512_reduce_add_ps(s);
}

/* G = 32, the default: a group's 16 packed bytes widen to 16 lanes whose low 4 bits index a
 * table of the floats 0..15 (vpermps reads only those bits), which saves masking and
 * converting; scales are converted 16 groups at a time and spread by a permute. */
static inline __m512 q4_group32(const uint8_t *packed, const float *x, __m512 values, __m512 scale, __m512 acc) {
    _mm_prefetch((const char *)(packed + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
    __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)packed));
    __m512 sum = _mm512_mul_ps(_mm512_permutexvar_ps(v, values), _mm512_loadu_ps(x));
    sum = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(v, 4), values), _mm512_loadu_ps(x + 16), sum);
    return _mm512_fmadd_ps(sum, scale, acc);
}

static float q4_row32(const uint8_t *row, const uint8_t *scales, const float *x, int64_t groups) {
    const __m512 values = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    for (int64_t g0 = 0; g0 < groups; g0 += 16) {
        int64_t count = groups - g0 < 16 ? groups - g0 : 16, k = 0;
        __m512 window = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(first_lanes(count), scales + 2 * g0));
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

static inline float minimum_term(const uint8_t *minimums, const float *sums, int64_t groups) {
    return molt_minimum_term_avx512(minimums, sums, groups);
}
#define Q4_ROW32 q4_row32
/* The ragged end of a plain row joins s0, as the masked steps did before. */
#define ROWS_TAIL s0
#define FLOAT_HALVES 0
#define Q8_PREFETCH 1
#include "matvec_float.h"

/* f16 and bf16 rows take AVX2's kernels (matvec.c): widening 8 halves into a 256-bit register
 * keeps up with DRAM where 16 into a 512-bit one does not (BENCHMARKS.md, "Kernel design
 * choices"). */
const molt_rows_fn molt_rows_avx512[5] = {rows_f32, NULL, NULL, rows_q8, rows_q4};
#pragma clang attribute pop
#else
#include "internal.h"
const molt_rows_fn molt_rows_avx512[5];
#endif
