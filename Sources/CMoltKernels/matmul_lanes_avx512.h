/* AVX-512 (BW, without VNNI) lanes of the integer matmul (matmul_int8.h): sixteen rows of X,
 * one per int32 lane of a zmm register, with AVX2's maddubs scheme (matmul_lanes_avx2.h).
 * AVX-512 has no byte sign instruction: q8 negates x under a mask of w's signs instead. */
#include "matmul_lanes_x86.h"
#define LANES 16
#define TILE_ROWS 8
#define Q8_BIASED 0

typedef __m512i ivec;
typedef __m512 fvec;
typedef __m512i xvec;

static inline xvec xload(const int8_t *p) { return _mm512_load_si512(p); }
static inline __m512i broadcast4(const uint8_t *w) {
    int32_t v;
    memcpy(&v, w, 4);
    return _mm512_set1_epi32(v);
}

static inline ivec istart(int32_t start) { return _mm512_set1_epi32(start); }
static inline ivec q4_step(ivec a, const uint8_t *w, xvec x) {
    return _mm512_add_epi16(a, _mm512_maddubs_epi16(broadcast4(w), x));
}
static inline ivec q4_finish(ivec a) { return _mm512_madd_epi16(a, _mm512_set1_epi16(1)); }
static inline ivec q8_step(ivec a, const uint8_t *w, const uint8_t *magnitudes, xvec x) {
    __m512i signed_x = _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(broadcast4(w)), _mm512_setzero_si512(), x);
    __m512i pairs = _mm512_maddubs_epi16(broadcast4(magnitudes), signed_x);
    return _mm512_add_epi32(a, _mm512_madd_epi16(pairs, _mm512_set1_epi16(1)));
}

static inline fvec fzero(void) { return _mm512_setzero_ps(); }
static inline fvec fload(const float *p) { return _mm512_load_ps(p); }
static inline void fstore(float *p, fvec a) { _mm512_store_ps(p, a); }
static inline fvec fscaled(fvec sum, ivec dot, float scale, fvec block_scales) {
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(_mm512_set1_ps(scale), block_scales), sum);
}
static inline fvec foffset(fvec offset, float minimum, fvec sums) {
    return _mm512_fmadd_ps(_mm512_set1_ps(minimum), sums, offset);
}
static inline fvec fadd(fvec a, fvec b) { return _mm512_add_ps(a, b); }
