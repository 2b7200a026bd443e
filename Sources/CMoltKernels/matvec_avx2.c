/* AVX2 + FMA + F16C row kernels, f32 activations, and q4 with int8 activations for one
 * vector (also the AVX-512 path's on CPUs without VNNI). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "internal.h"

MOLT_TARGET_AVX2 static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

MOLT_TARGET_AVX2 static inline float half_to_float(const uint8_t *p) {
    return _cvtsh_ss(molt_load_u16(p));
}

MOLT_TARGET_AVX2 static inline __m256 load_f32(const float *p) { return _mm256_loadu_ps(p); }
MOLT_TARGET_AVX2 static inline __m256 load_f16(const uint16_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}
MOLT_TARGET_AVX2 static inline __m256 load_bf16(const uint16_t *p) {
    __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

/* Four accumulators over 32 columns, then 8 at a time; the last < 8 columns go through a
 * zero-padded copy so that they take the same vector path. */
#define DOT_ROWS(NAME, ELEMENT, LOAD)                                                                          \
    MOLT_TARGET_AVX2 static void NAME(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin, \
                                      int64_t end) {                                                           \
        int64_t n = w->columns;                                                                                \
        for (int64_t r = begin; r < end; r++) {                                                                \
            const ELEMENT *row = (const ELEMENT *)((const uint8_t *)w->data + r * w->row_stride);             \
            const float *x = a->x;                                                                             \
            __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;                                        \
            int64_t i = 0;                                                                                     \
            for (; i + 32 <= n; i += 32) {                                                                     \
                s0 = _mm256_fmadd_ps(LOAD(row + i), _mm256_loadu_ps(x + i), s0);                               \
                s1 = _mm256_fmadd_ps(LOAD(row + i + 8), _mm256_loadu_ps(x + i + 8), s1);                       \
                s2 = _mm256_fmadd_ps(LOAD(row + i + 16), _mm256_loadu_ps(x + i + 16), s2);                     \
                s3 = _mm256_fmadd_ps(LOAD(row + i + 24), _mm256_loadu_ps(x + i + 24), s3);                     \
            }                                                                                                  \
            for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(LOAD(row + i), _mm256_loadu_ps(x + i), s0);        \
            if (i < n) {                                                                                       \
                ELEMENT wt[8] = {0};                                                                           \
                float xt[8] = {0};                                                                             \
                memcpy(wt, row + i, (size_t)(n - i) * sizeof(ELEMENT));                                        \
                memcpy(xt, x + i, (size_t)(n - i) * 4);                                                        \
                s1 = _mm256_fmadd_ps(LOAD(wt), _mm256_loadu_ps(xt), s1);                                       \
            }                                                                                                  \
            y[r] = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));                          \
        }                                                                                                      \
    }

DOT_ROWS(rows_f32, float, load_f32)
DOT_ROWS(rows_f16, uint16_t, load_f16)
DOT_ROWS(rows_bf16, uint16_t, load_bf16)

/* q4's minimum term, sum over groups of min * (sum of x over the group), 8 groups at a time. */
MOLT_TARGET_AVX2 static float minimum_term(const uint8_t *minimums, const float *sums, int64_t groups) {
    __m256 s = _mm256_setzero_ps();
    for (int64_t g = 0; g < groups; g += 8) {
        int skip;
        __m256 m = molt_load_f16_window(minimums, g, groups, &skip);
        s = _mm256_fmadd_ps(m, molt_load_sums_window(sums, g, skip, groups), s);
    }
    return hsum(s);
}

/* Per group: a vector of q * x sums, folded into the accumulator with the group's scale. */
MOLT_TARGET_AVX2 static inline __m256 q8_group(const uint8_t *row, const uint8_t *scales, const float *x, int64_t g,
                                                int64_t group, __m256 acc) {
    const uint8_t *q = row + group * g;
    x += group * g;
    __m256 sum = _mm256_setzero_ps();
    for (int64_t i = 0; i < g; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(q + i));
        sum = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)), _mm256_loadu_ps(x + i), sum);
        sum = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_unpackhi_epi64(v, v))), _mm256_loadu_ps(x + i + 8), sum);
    }
    return _mm256_fmadd_ps(sum, _mm256_set1_ps(half_to_float(scales + 2 * group)), acc);
}

MOLT_TARGET_AVX2 static void rows_q8(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin,
                                     int64_t end) {
    int64_t g = w->group_size;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride, *scales = row + w->groups * g;
#define STEP(GROUP, ACC) ACC = q8_group(row, scales, a->x, g, GROUP, ACC)
        __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
        MOLT_ALTERNATE(w->groups, STEP)
#undef STEP
        y[r] = hsum(_mm256_add_ps(acc0, acc1));
    }
}

MOLT_TARGET_AVX2 static inline __m256 q4_group(const uint8_t *row, const uint8_t *scales, const float *x, int64_t g,
                                                int64_t group, __m256 acc) {
    int64_t half = g / 2;
    const uint8_t *packed = row + group * half;
    const __m128i low4 = _mm_set1_epi8(15);
    x += group * g;
    __m256 low = _mm256_setzero_ps(), high = low;
    for (int64_t j = 0; j < half; j += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(packed + j));
        __m128i lo = _mm_and_si128(v, low4), hi = _mm_and_si128(_mm_srli_epi16(v, 4), low4);
        low = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)), _mm256_loadu_ps(x + j), low);
        low = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_unpackhi_epi64(lo, lo))), _mm256_loadu_ps(x + j + 8), low);
        high = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)), _mm256_loadu_ps(x + half + j), high);
        high = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_unpackhi_epi64(hi, hi))),
                               _mm256_loadu_ps(x + half + j + 8), high);
    }
    return _mm256_fmadd_ps(_mm256_add_ps(low, high), _mm256_set1_ps(half_to_float(scales + 2 * group)), acc);
}

MOLT_TARGET_AVX2 static void rows_q4(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin,
                                     int64_t end) {
    int64_t g = w->group_size;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;
        const uint8_t *scales = row + w->groups * g / 2, *minimums = scales + 2 * w->groups;
#define STEP(GROUP, ACC) ACC = q4_group(row, scales, a->x, g, GROUP, ACC)
        __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
        MOLT_ALTERNATE(w->groups, STEP)
#undef STEP
        y[r] = hsum(_mm256_add_ps(acc0, acc1)) + minimum_term(minimums, a->group_sums, w->groups);
    }
}

/* q4 with int8 activations, one vector (matvec_int8.h takes several, and q8): maddubs
 * multiplies unsigned by signed bytes and adds pairs into int16 without saturating here, q4
 * values being at most 15. */
MOLT_TARGET_AVX2 static inline __m256i dot_bytes(__m256i unsigned_bytes, __m256i signed_bytes) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(unsigned_bytes, signed_bytes), _mm256_set1_epi16(1));
}

/* q4 with G = 32, the default, two groups (32 packed bytes) a step: low and high nibbles
 * multiply their activations, which sit side by side (nibble order), maddubs giving int16
 * pairs of at most 2 * 15 * 127; the two add exactly (< 2^13), one madd makes int32 lanes,
 * four per group, and each group's lanes take its weight scale times its activation block's
 * (block = group). Scales are combined eight groups at a time and spread by a permute. */
MOLT_TARGET_AVX2 static float q4_row32(const uint8_t *row, const uint8_t *scales, const molt_activation *a,
                                       int64_t groups) {
    const __m256i low4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (int64_t g0 = 0; g0 < groups; g0 += 8) {
        int64_t count = groups - g0 < 8 ? groups - g0 : 8;
        /* Combined scales of groups g0 - skip..<g0 - skip + 8 (block = group); block_scales
         * is padded with zeros to a multiple of 8. */
        int skip;
        __m256 combined = _mm256_mul_ps(molt_load_f16_window(scales, g0, groups, &skip), _mm256_loadu_ps(a->block_scales + g0 - skip));
        __m256i index = _mm256_add_epi32(_mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1), _mm256_set1_epi32(skip));
        for (int64_t k = 0; k < count; k += 2) {
            const uint8_t *packed = row + 16 * (g0 + k);
            _mm_prefetch((const char *)(packed + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
            __m256i v = count - k >= 2 ? _mm256_loadu_si256((const __m256i *)packed)
                                       : _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)packed));
            const int8_t *x = a->xq + molt_nibble_offset(16 * (g0 + k));
            __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
            __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)x)),
                                             _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(x + MOLT_Q4_CHUNK))));
            __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones));
            __m256 scale = _mm256_permutevar8x32_ps(combined, index);
            index = _mm256_add_epi32(index, _mm256_set1_epi32(2));
            if (k & 2) acc1 = _mm256_fmadd_ps(dot, scale, acc1);
            else acc0 = _mm256_fmadd_ps(dot, scale, acc0);
        }
    }
    return hsum(_mm256_add_ps(acc0, acc1));
}

/* Other group sizes walk the packed bytes 32 at a time, each half of 16 in one group; low
 * and high nibbles may lie in different activation blocks, so each gets its lane scales.
 * Lanes 4-7 of a step come from its second 16 bytes, which may belong to the next group. */
MOLT_TARGET_AVX2 static float q4_row(const uint8_t *row, const uint8_t *scales, const molt_activation *a, int64_t g,
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
    return hsum(_mm256_add_ps(acc[0], acc[1]));
}

MOLT_TARGET_AVX2 static void rows_int8_q4(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin,
                                          int64_t end) {
    int64_t g = w->group_size;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;
        const uint8_t *scales = row + w->groups * g / 2, *minimums = scales + 2 * w->groups;
        float sum = g == 32 ? q4_row32(row, scales, a, w->groups) : q4_row(row, scales, a, g, w->groups);
        y[r] = sum + minimum_term(minimums, a->group_sums, w->groups);
    }
}

const molt_rows_fn molt_rows_avx2[5] = {rows_f32, rows_f16, rows_bf16, rows_q8, rows_q4};
const molt_rows_fn molt_rows_int8_q4_avx2 = rows_int8_q4;
#else
#include "internal.h"
const molt_rows_fn molt_rows_avx2[5];
const molt_rows_fn molt_rows_int8_q4_avx2;
#endif
