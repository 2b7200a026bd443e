/* AVX2 lanes of the integer matmul (matmul_int8.h): eight rows of W, one per int32 lane of a
 * ymm register. maddubs multiplies unsigned by signed bytes and adds pairs into int16. */
#include "matmul_lanes_x86.h"
#include "f32_lanes_ymm.h"
#define LANES 8
#define X_TILE 4
#define Q8_BIASED 0

typedef __m256i ivec;
typedef __m256i wvec;

static inline wvec wload(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }
/* 4 bytes of a row of X in every lane. */
static inline __m256i broadcast4(const int8_t *x) {
    int32_t v;
    memcpy(&v, x, 4);
    return _mm256_set1_epi32(v);
}

static inline ivec istart(int32_t start) { return _mm256_set1_epi32(start); }
static inline ivec iload(const int32_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* q4: nibble (<= 15) times int8 (|x| <= 127) pairs stay under 3810, so a block's 8 steps sum
 * in int16 (at most 30480) and widen once, in q4_finish. */
static inline ivec q4_step(ivec a, wvec w, const int8_t *x) {
    return _mm256_add_epi16(a, _mm256_maddubs_epi16(w, broadcast4(x)));
}
static inline ivec q4_finish(ivec a) { return _mm256_madd_epi16(a, _mm256_set1_epi16(1)); }
/* q8: |w| times x with w's sign (pairs at most 2 * 128 * 127, inside int16), widened each
 * step; |w| is the same for every row of X, so the compiler takes it once per load of w. */
static inline ivec q8_step(ivec a, wvec w, const int8_t *x) {
    __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(broadcast4(x), w));
    return _mm256_add_epi32(a, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

/* q8 with int16 activations: madd takes 2 int16 weights times 2 values into each int32 lane
 * (at most 2 * 128 * 32767). */
static inline ivec wide_step(ivec a, wvec w, const int8_t *x) {
    return _mm256_add_epi32(a, _mm256_madd_epi16(w, broadcast4(x)));
}

static inline fvec fload(const float *p) { return _mm256_load_ps(p); }
static inline void fstore(float *p, fvec a) { _mm256_store_ps(p, a); }
static inline fvec fscaled(fvec sum, ivec dot, float x_scale, fvec scales) {
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(_mm256_set1_ps(x_scale), scales), sum);
}
static inline fvec foffset(fvec offset, float x_sum, fvec minimums) {
    return _mm256_fmadd_ps(_mm256_set1_ps(x_sum), minimums, offset);
}

/* The f32 route's steps (matmul_float.h): eight consecutive values of a row of W or of Y. */
static inline void fstoreu(float *p, fvec a) { _mm256_storeu_ps(p, a); }
static inline __m256i first_lanes(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 0 ? 0 : n > 8 ? 8 : n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline fvec fload_first(const float *p, int64_t n) { return _mm256_maskload_ps(p, first_lanes(n)); }
static inline void fstore_first(float *p, int64_t n, fvec a) { _mm256_maskstore_ps(p, first_lanes(n), a); }
