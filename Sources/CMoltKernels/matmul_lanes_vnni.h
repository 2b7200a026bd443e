/* AVX-512 VNNI lanes of the integer matmul (matmul_int8.h): sixteen rows of X, one per int32
 * lane of a zmm register. vpdpbusd multiplies unsigned by signed bytes and adds each 4
 * products into the lane's int32, exactly. */
#include "matmul_lanes_zmm.h"
#define TILE_ROWS 8
/* q8 weights are signed, so the activations take the unsigned side, biased by +128; the
 * block's accumulator starts at -128 times the sum of its weights to take the bias out. */
#define Q8_BIASED 1

static inline ivec q4_step(ivec a, const uint8_t *w, xvec x) { return _mm512_dpbusd_epi32(a, broadcast4(w), x); }
static inline ivec q4_finish(ivec a) { return a; }
static inline ivec q8_step(ivec a, const uint8_t *w, const uint8_t *magnitudes, xvec x) {
    (void)magnitudes;
    return _mm512_dpbusd_epi32(a, x, broadcast4(w));
}
/* q8 with int16 activations: vpdpwssd adds 2 int16 products per lane. */
static inline ivec wide_step(ivec a, const uint8_t *w, xvec x) { return _mm512_dpwssd_epi32(a, broadcast4(w), x); }

/* The lower half: the same instructions on ymm registers (AVX-512 VL). */
static inline ivec_half q4_step_half(ivec_half a, const uint8_t *w, xvec_half x) {
    return _mm256_dpbusd_epi32(a, ymm_broadcast4(w), x);
}
static inline ivec_half q4_finish_half(ivec_half a) { return a; }
static inline ivec_half q8_step_half(ivec_half a, const uint8_t *w, const uint8_t *magnitudes, xvec_half x) {
    (void)magnitudes;
    return _mm256_dpbusd_epi32(a, x, ymm_broadcast4(w));
}
static inline ivec_half wide_step_half(ivec_half a, const uint8_t *w, xvec_half x) {
    return _mm256_dpwssd_epi32(a, ymm_broadcast4(w), x);
}
