/* AVX-512 (BW, without VNNI) lanes of the integer matmul (matmul_int8.h): sixteen rows of X,
 * one per int32 lane of a zmm register, with AVX2's maddubs scheme (matmul_ymm.h).
 * AVX-512 has no byte sign instruction: q8 negates x under a mask of w's signs instead. */
#include "matmul_lanes_zmm.h"
#define TILE_ROWS 8
#define Q8_BIASED 0

static inline ivec q4_step(ivec a, const uint8_t *w, xvec x) {
    return _mm512_add_epi16(a, _mm512_maddubs_epi16(broadcast4(w), x));
}
static inline ivec q4_finish(ivec a) { return _mm512_madd_epi16(a, _mm512_set1_epi16(1)); }
static inline ivec q8_step(ivec a, const uint8_t *w, const uint8_t *magnitudes, xvec x) {
    __m512i signed_x = _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(broadcast4(w)), _mm512_setzero_si512(), x);
    __m512i pairs = _mm512_maddubs_epi16(broadcast4(magnitudes), signed_x);
    return _mm512_add_epi32(a, _mm512_madd_epi16(pairs, _mm512_set1_epi16(1)));
}
static inline ivec wide_step(ivec a, const uint8_t *w, xvec x) {
    return _mm512_add_epi32(a, _mm512_madd_epi16(broadcast4(w), x));
}

#include "matmul_ymm_half_steps.h"
