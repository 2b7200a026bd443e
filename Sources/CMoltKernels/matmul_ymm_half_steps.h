/* The lower half's integer steps (matmul_int8_tile.h's *_half names) in matmul_ymm.h's maddubs
 * scheme: the half tile of AVX2's pairs (matmul_lanes_avx2_int8.h) and of AVX-512 without VNNI
 * (matmul_lanes_avx512.h; ymm has the byte sign instruction). VNNI gives its own. */
static inline ivec_half q4_step_half(ivec_half a, const uint8_t *w, xvec_half x) { return ymm_q4_step(a, ymm_broadcast4(w), x); }
static inline ivec_half q4_finish_half(ivec_half a) { return ymm_q4_finish(a); }
static inline ivec_half q8_step_half(ivec_half a, const uint8_t *w, const uint8_t *magnitudes, xvec_half x) {
    return ymm_q8_step(a, ymm_broadcast4(w), ymm_broadcast4(magnitudes), x);
}
static inline ivec_half wide_step_half(ivec_half a, const uint8_t *w, xvec_half x) {
    return ymm_wide_step(a, ymm_broadcast4(w), x);
}
