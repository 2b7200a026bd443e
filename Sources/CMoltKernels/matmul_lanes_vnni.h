/* AVX-512 VNNI lanes of the integer matmul (matmul_int8.h): sixteen rows of X, one per int32
 * lane of a zmm register. vpdpbusd multiplies unsigned by signed bytes and adds each 4
 * products into the lane's int32, exactly. */
#include "matmul_lanes_x86.h"
#define LANES 16
#define TILE_ROWS 8
/* q8 weights are signed, so the activations take the unsigned side, biased by +128; the
 * block's accumulator starts at -128 times the sum of its weights to take the bias out. */
#define Q8_BIASED 1

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
static inline ivec q4_step(ivec a, const uint8_t *w, xvec x) { return _mm512_dpbusd_epi32(a, broadcast4(w), x); }
static inline ivec q4_finish(ivec a) { return a; }
static inline ivec q8_step(ivec a, const uint8_t *w, const uint8_t *magnitudes, xvec x) {
    (void)magnitudes;
    return _mm512_dpbusd_epi32(a, x, broadcast4(w));
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
