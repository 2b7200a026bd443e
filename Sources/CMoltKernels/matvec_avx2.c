/* AVX2 + FMA + F16C row kernels: f32 activations through matvec_float.h (the f16 and bf16
 * ones also the AVX-512 path's), and q4 with int8 activations for one vector (also the
 * AVX-512 path's on CPUs without VNNI). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "internal.h"

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#include "matvec_lanes_ymm.h"
#define LANES 8

/* q4's minimum term, sum over groups of min * (sum of x over the group), 8 groups at a time. */
static float minimum_term(const uint8_t *minimums, const float *sums, int64_t groups) {
    __m256 s = _mm256_setzero_ps();
    for (int64_t g = 0; g < groups; g += 8) {
        int skip;
        __m256 m = molt_load_f16_window(minimums, g, groups, &skip);
        s = _mm256_fmadd_ps(m, molt_load_sums_window(sums, g, skip, groups), s);
    }
    return fsum(s);
}

/* The ragged end of a plain row joins s1, as it always has. */
#define ROWS_TAIL s1
#define FLOAT_HALVES 1
/* A prefetch per q8 group made AVX2 slower from L2 (BENCHMARKS.md, "Kernel design choices"). */
#define Q8_PREFETCH 0
#include "matvec_float.h"

/* q4 with int8 activations, one vector (matvec_int8.h takes several, and q8): maddubs
 * multiplies unsigned by signed bytes and adds pairs into int16 without saturating here, q4
 * values being at most 15. */
static inline __m256i dot_bytes(__m256i unsigned_bytes, __m256i signed_bytes) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(unsigned_bytes, signed_bytes), _mm256_set1_epi16(1));
}

/* q4 with G = 32, the default, two groups (32 packed bytes) a step: low and high nibbles
 * multiply their activations, which sit side by side (nibble order), maddubs giving int16
 * pairs of at most 2 * 15 * 127; the two add exactly (< 2^13), one madd makes int32 lanes,
 * four per group, and each group's lanes take its weight scale times its activation block's
 * (block = group): `scale` holds the first group's in lanes 0-3, the second's in 4-7. */
static inline __attribute__((always_inline)) __m256 q4_step32(__m256i packed, const int8_t *x, __m256 scale, __m256 acc) {
    const __m256i low4 = _mm256_set1_epi8(15);
    __m256i lo = _mm256_and_si256(packed, low4), hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low4);
    __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)x)),
                                     _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(x + MOLT_Q4_CHUNK))));
    __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
    return _mm256_fmadd_ps(dot, scale, acc);
}

/* Lane `first` of a window of combined scales to lanes 0-3, first + 1 to 4-7. */
static inline __m256 spread_pair(__m256 combined, int first) {
    return _mm256_permutevar8x32_ps(combined, _mm256_add_epi32(_mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1), _mm256_set1_epi32(first)));
}

/* A row's sum and, in the same pass over its windows of eight groups, the minimum term (as
 * minimum_term computes it). Scales are combined a window at a time; steps alternate between
 * two accumulators. */
static float q4_row32(const uint8_t *row, const uint8_t *scales, const molt_activation *a, int64_t groups) {
    const uint8_t *minimums = scales + 2 * groups;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), offset = _mm256_setzero_ps();
    /* Whole windows: four steps whose bytes, activations (two chunks of nibble order) and
     * scale lanes sit at fixed offsets. */
    int64_t g0 = 0;
    for (; g0 + 8 <= groups; g0 += 8) {
        const uint8_t *packed = row + 16 * g0;
        const int8_t *x = a->xq + 32 * g0;
        _mm_prefetch((const char *)(packed + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
        _mm_prefetch((const char *)(packed + 64 + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
        __m256 combined = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(scales + 2 * g0))),
                                        _mm256_loadu_ps(a->block_scales + g0));
        offset = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(minimums + 2 * g0))),
                                 _mm256_loadu_ps(a->group_sums + g0), offset);
        acc0 = q4_step32(_mm256_loadu_si256((const __m256i *)packed), x, spread_pair(combined, 0), acc0);
        acc1 = q4_step32(_mm256_loadu_si256((const __m256i *)(packed + 32)), x + 32, spread_pair(combined, 2), acc1);
        acc0 = q4_step32(_mm256_loadu_si256((const __m256i *)(packed + 64)), x + 128, spread_pair(combined, 4), acc0);
        acc1 = q4_step32(_mm256_loadu_si256((const __m256i *)(packed + 96)), x + 160, spread_pair(combined, 6), acc1);
    }
    /* The last window, fewer than eight groups: it starts `skip` groups early so as to stay
     * inside the row (block_scales is padded with zeros to a multiple of 8), and an odd group
     * count leaves a last step of 16 bytes. */
    if (g0 < groups) {
        int64_t count = groups - g0;
        int skip;
        __m256 combined = _mm256_mul_ps(molt_load_f16_window(scales, g0, groups, &skip), _mm256_loadu_ps(a->block_scales + g0 - skip));
        offset = _mm256_fmadd_ps(molt_load_f16_window(minimums, g0, groups, &skip),
                                 molt_load_sums_window(a->group_sums, g0, skip, groups), offset);
        for (int64_t k = 0; k < count; k += 2) {
            const uint8_t *packed = row + 16 * (g0 + k);
            _mm_prefetch((const char *)(packed + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
            __m256i v = count - k >= 2 ? _mm256_loadu_si256((const __m256i *)packed)
                                       : _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)packed));
            __m256 scale = spread_pair(combined, skip + (int)k);
            const int8_t *x = a->xq + molt_nibble_offset(16 * (g0 + k));
            if (k & 2) acc1 = q4_step32(v, x, scale, acc1);
            else acc0 = q4_step32(v, x, scale, acc0);
        }
    }
    return fsum(_mm256_add_ps(acc0, acc1)) + fsum(offset);
}

/* Other group sizes walk the packed bytes 32 at a time, each half of 16 in one group; low
 * and high nibbles may lie in different activation blocks, so each gets its lane scales.
 * Lanes 4-7 of a step come from its second 16 bytes, which may belong to the next group. */
static float q4_row(const uint8_t *row, const uint8_t *scales, const molt_activation *a, int64_t g,
                                     int64_t groups) {
    int64_t bytes = groups * g / 2;
    const __m256i low4 = _mm256_set1_epi8(15);
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    molt_group_walk walk = molt_group_walk_start(g);
    for (int64_t b = 0; b < bytes; b += 32) {
        _mm_prefetch((const char *)(row + b + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
        __m256i v = b + 32 <= bytes ? _mm256_loadu_si256((const __m256i *)(row + b))
                                    : _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)(row + b)));
        int64_t first = molt_group_walk_next(&walk), second = molt_group_walk_next(&walk);
        __m256 scale = _mm256_set1_ps(half_to_float(scales + 2 * first));
        if (second != first && second < groups)
            scale = _mm256_blend_ps(scale, _mm256_set1_ps(half_to_float(scales + 2 * second)), 0xF0);
        int64_t low = molt_nibble_offset(b), high = low + MOLT_Q4_CHUNK;
        __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
        __m256i dlo = dot_bytes(lo, _mm256_loadu_si256((const __m256i *)(a->xq + low)));
        __m256i dhi = dot_bytes(hi, _mm256_loadu_si256((const __m256i *)(a->xq + high)));
        acc[0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dlo), _mm256_mul_ps(scale, _mm256_loadu_ps(a->lane_scales + low / 4)), acc[0]);
        acc[1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dhi), _mm256_mul_ps(scale, _mm256_loadu_ps(a->lane_scales + high / 4)), acc[1]);
    }
    return fsum(_mm256_add_ps(acc[0], acc[1]));
}

static void rows_int8_q4(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin,
                                          int64_t end) {
    int64_t g = w->group_size;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;
        const uint8_t *scales = row + w->groups * g / 2, *minimums = scales + 2 * w->groups;
        y[r] = g == 32 ? q4_row32(row, scales, a, w->groups)
                       : q4_row(row, scales, a, g, w->groups) + minimum_term(minimums, a->group_sums, w->groups);
    }
}

const molt_rows_fn molt_rows_avx2[5] = {rows_f32, rows_f16, rows_bf16, rows_q8, rows_q4};
const molt_rows_fn molt_rows_int8_q4_avx2 = rows_int8_q4;
#pragma clang attribute pop
#else
#include "internal.h"
const molt_rows_fn molt_rows_avx2[5];
const molt_rows_fn molt_rows_int8_q4_avx2;
#endif
