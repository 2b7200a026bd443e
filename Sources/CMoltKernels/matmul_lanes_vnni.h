/* AVX-512 VNNI lanes of the integer matmul (matmul_int8.h): sixteen rows of W, one per int32
 * lane of a zmm register. vpdpbusd multiplies unsigned by signed bytes and adds each 4
 * products into the lane's int32, exactly. */
#include "matmul_lanes_zmm.h"
#define X_TILE 8
/* q8 weights are signed, so the activations take the unsigned side, biased by +128; the
 * block's accumulator starts at -128 times the sum of its weights to take the bias out. */
#define Q8_BIASED 1

static inline ivec q4_step(ivec a, wvec w, const int8_t *x) { return _mm512_dpbusd_epi32(a, w, broadcast4(x)); }
static inline ivec q4_finish(ivec a) { return a; }
static inline ivec q8_step(ivec a, wvec w, const int8_t *x) { return _mm512_dpbusd_epi32(a, broadcast4(x), w); }
/* q8 with int16 activations: vpdpwssd adds 2 int16 products per lane. */
static inline ivec wide_step(ivec a, wvec w, const int8_t *x) { return _mm512_dpwssd_epi32(a, w, broadcast4(x)); }
/* -128 times the sum of each lane's 32 weights of the panel's block at `block`, into starts. */
static inline void q8_starts(const uint8_t *block, int32_t *starts) {
    __m512i sum = _mm512_setzero_si512();
    for (int s = 0; s < 8; s++) sum = _mm512_dpbusd_epi32(sum, _mm512_set1_epi8((char)0x80), wload(block + 64 * s));
    _mm512_storeu_si512(starts, _mm512_sub_epi32(_mm512_setzero_si512(), sum));
}
