/* AVX2 lanes of the element-wise steps (elementwise.h): eight f32 lanes, comparisons as
 * all-ones lanes. Included by elementwise_avx2.c only, inside its target region. */
#include "f32_lanes_ymm.h"
#define LANES 8

typedef __m256 vmask;

static inline fvec fload(const float *p) { return _mm256_loadu_ps(p); }
static inline void fstore(float *p, fvec v) { _mm256_storeu_ps(p, v); }
/* The first n (< 8) lanes; masked stores are slow on some CPUs, so only ragged ends take them. */
static inline fvec fload_first(const float *p, int64_t n) { return _mm256_maskload_ps(p, molt_first_lanes8(n)); }
static inline void fstore_first(float *p, fvec v, int64_t n) { _mm256_maskstore_ps(p, molt_first_lanes8(n), v); }

static inline fvec fsub(fvec a, fvec b) { return _mm256_sub_ps(a, b); }
static inline fvec fdiv(fvec a, fvec b) { return _mm256_div_ps(a, b); }
static inline fvec fnmadd(fvec a, fvec b, fvec c) { return _mm256_fnmadd_ps(a, b, c); }
static inline fvec fmsub(fvec a, fvec b, fvec c) { return _mm256_fmsub_ps(a, b, c); }
static inline fvec fmin_lanes(fvec a, fvec b) { return _mm256_min_ps(a, b); }
static inline fvec fmax_lanes(fvec a, fvec b) { return _mm256_max_ps(a, b); }
static inline fvec fabs_lanes(fvec a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
static inline fvec fround(fvec a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vmask flt(fvec a, fvec b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
static inline vmask fgt(fvec a, fvec b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
static inline vmask feq(fvec a, fvec b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
/* m ? a : b, lane by lane. */
static inline fvec fselect(vmask m, fvec a, fvec b) { return _mm256_blendv_ps(b, a, m); }

/* a 2^n for integral n in [-126, 127]: 2^n is a normal float built in the exponent field, so
 * the product rounds as AVX-512's scalef does. */
static inline fvec fscale2(fvec a, fvec n) {
    __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_mul_ps(a, _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23)));
}

/* u = 2^k m with m in [0.5, 1), for positive normal u: AVX-512's getmant and getexp + 1, read
 * off the bits. */
static inline void fsplit(fvec u, fvec *m, fvec *k) {
    __m256i bits = _mm256_castps_si256(u);
    *m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x3F000000)));
    *k = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126)));
}
