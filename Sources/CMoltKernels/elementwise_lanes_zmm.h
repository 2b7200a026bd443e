/* AVX-512 lanes of the element-wise steps (elementwise.h): sixteen f32 lanes, comparisons as
 * mask registers. Included by elementwise_avx512.c only, inside its target region. */
#include "f32_lanes_zmm.h"
#define LANES 16

typedef __mmask16 vmask;

static inline __mmask16 first_lanes(int64_t n) { return (__mmask16)((1u << n) - 1); }
static inline fvec fload(const float *p) { return _mm512_loadu_ps(p); }
static inline void fstore(float *p, fvec v) { _mm512_storeu_ps(p, v); }
/* The first n (< 16) lanes. */
static inline fvec fload_first(const float *p, int64_t n) { return _mm512_maskz_loadu_ps(first_lanes(n), p); }
static inline void fstore_first(float *p, fvec v, int64_t n) { _mm512_mask_storeu_ps(p, first_lanes(n), v); }

static inline fvec fsub(fvec a, fvec b) { return _mm512_sub_ps(a, b); }
static inline fvec fdiv(fvec a, fvec b) { return _mm512_div_ps(a, b); }
static inline fvec fnmadd(fvec a, fvec b, fvec c) { return _mm512_fnmadd_ps(a, b, c); }
static inline fvec fmsub(fvec a, fvec b, fvec c) { return _mm512_fmsub_ps(a, b, c); }
static inline fvec fmin_lanes(fvec a, fvec b) { return _mm512_min_ps(a, b); }
static inline fvec fmax_lanes(fvec a, fvec b) { return _mm512_max_ps(a, b); }
static inline fvec fabs_lanes(fvec a) { return _mm512_abs_ps(a); }
static inline fvec fround(fvec a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT); }
static inline vmask flt(fvec a, fvec b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
static inline vmask fgt(fvec a, fvec b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
static inline vmask feq(fvec a, fvec b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
/* m ? a : b, lane by lane. */
static inline fvec fselect(vmask m, fvec a, fvec b) { return _mm512_mask_blend_ps(m, b, a); }
/* a 2^n for integral n. */
static inline fvec fscale2(fvec a, fvec n) { return _mm512_scalef_ps(a, n); }
/* u = 2^k m with m in [0.5, 1), for positive normal u. */
static inline void fsplit(fvec u, fvec *m, fvec *k) {
    *m = _mm512_getmant_ps(u, _MM_MANT_NORM_p5_1, _MM_MANT_SIGN_src);
    *k = _mm512_add_ps(_mm512_getexp_ps(u), _mm512_set1_ps(1.0f));
}
