/* The int8-activation matvec (matvec_int8.h) on AVX2 lanes; also the AVX-512 path's on CPUs
 * without VNNI. maddubs multiplies unsigned by signed bytes and adds pairs into int16 without
 * saturating here: q8 goes through the sign trick (|w| * sign(w) x, at most 2 * 128 * 127 <
 * 2^15) and q4 values are at most 15 (a step's low and high products, at most 2 * 15 * 127
 * each, add exactly); madd then makes the int32 lanes. One vector of q4 takes the hand-written
 * kernel of matvec_avx2.c, measured faster (BENCHMARKS.md). */
#include "internal.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#include "matvec_lanes_ymm.h"
#define LANES 8
#define UNROLL_WINDOWS 0
/* Three vectors' accumulators, q4's minimum terms and scale windows take 12 of the 16 ymm
 * registers. */
#define INT8_VECTORS 3

typedef struct {
    __m256i magnitudes, signs;
} q8w;
typedef struct {
    __m256i low, high;
} q4w;

/* A ragged last step (q4, odd group count) has 16 bytes. */
static inline __m256i load_step(const uint8_t *p, int64_t remaining) {
    return remaining >= 32 ? _mm256_loadu_si256((const __m256i *)p) : _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)p));
}

static inline __m256i pairs_to_lanes(__m256i pairs) { return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)); }

static inline q8w q8_weights(__m256i v) { return (q8w){_mm256_sign_epi8(v, v), v}; }
static inline fvec q8_dot(q8w q, const int8_t *x) {
    __m256i signed_x = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)x), q.signs);
    return _mm256_cvtepi32_ps(pairs_to_lanes(_mm256_maddubs_epi16(q.magnitudes, signed_x)));
}

static inline q4w q4_weights(__m256i v) {
    const __m256i low4 = _mm256_set1_epi8(15);
    return (q4w){_mm256_and_si256(v, low4), _mm256_and_si256(_mm256_srli_epi16(v, 4), low4)};
}
static inline fvec q4_dot(q4w q, const int8_t *x) {
    __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(q.low, _mm256_loadu_si256((const __m256i *)x)),
                                     _mm256_maddubs_epi16(q.high, _mm256_loadu_si256((const __m256i *)(x + MOLT_Q4_CHUNK))));
    return _mm256_cvtepi32_ps(pairs_to_lanes(pairs));
}

static inline fvec spread_groups(fvec window, int first, int lanes_per_group) {
    __m256i pattern = lanes_per_group == 4 ? _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1) : _mm256_setzero_si256();
    return _mm256_permutevar8x32_ps(window, _mm256_add_epi32(pattern, _mm256_set1_epi32(first)));
}

/* A step is one block, in one group. */
static inline fvec walk_scales(const uint8_t *scales, int64_t groups, molt_group_walk *walk) {
    (void)groups;
    return fsplat(_cvtsh_ss(molt_load_u16(scales + 2 * molt_group_walk_next(walk))));
}

static inline fvec sums_window(const float *sums, int64_t g0, int skip, int64_t count, int64_t groups) {
    (void)count;
    return molt_load_sums_window(sums, g0, skip, groups);
}

static inline float q4_total(fvec acc0, fvec acc1, fvec offset) { return reduce(acc0, acc1) + fsum(offset); }

#define INT8_Q8_NAME molt_rows_int8_q8_avx2
#define INT8_Q4_ONE molt_rows_int8_q4_avx2
#define INT8_MANY_NAME molt_rows_many_int8_avx2
#include "matvec_int8.h"
#pragma clang attribute pop
#else
/* Never selected: this path is not supported off x86. */
const molt_rows_fn molt_rows_int8_q8_avx2;
const molt_rows_many_fn molt_rows_many_int8_avx2[2];
#endif
