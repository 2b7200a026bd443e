/* AVX2 lanes of the integer matmul (matmul_int8.h): eight rows of X, one per int32 lane of a
 * ymm register. maddubs multiplies unsigned by signed bytes and adds pairs into int16. */
#include "matmul_lanes_x86.h"
#include "matmul_ymm.h"
#include "f32_lanes_ymm.h"
#define LANES 8
#define TILE_ROWS 4
#define Q8_BIASED 0

typedef __m256i ivec;
typedef __m256i xvec;

static inline xvec xload(const int8_t *p) { return _mm256_load_si256((const __m256i *)p); }
static inline ivec istart(int32_t start) { return _mm256_set1_epi32(start); }

static inline ivec q4_step(ivec a, const uint8_t *w, xvec x) { return ymm_q4_step(a, w, x); }
static inline ivec q4_finish(ivec a) { return ymm_q4_finish(a); }
static inline ivec q8_step(ivec a, const uint8_t *w, const uint8_t *magnitudes, xvec x) {
    return ymm_q8_step(a, w, magnitudes, x);
}
static inline ivec wide_step(ivec a, const uint8_t *w, xvec x) { return ymm_wide_step(a, w, x); }

static inline fvec fload(const float *p) { return _mm256_load_ps(p); }
static inline void fstore(float *p, fvec a) { _mm256_store_ps(p, a); }
static inline fvec fscaled(fvec sum, ivec dot, float scale, fvec block_scales) {
    return ymm_fscaled(sum, dot, scale, block_scales);
}
static inline fvec foffset(fvec offset, float minimum, fvec sums) { return ymm_foffset(offset, minimum, sums); }

/* The f32 route's steps (matmul_float.h): eight consecutive values of a row of W or of Y. */
static inline void fstoreu(float *p, fvec a) { _mm256_storeu_ps(p, a); }
static inline __m256i first_lanes(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 0 ? 0 : n > 8 ? 8 : n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline fvec fload_first(const float *p, int64_t n) { return _mm256_maskload_ps(p, first_lanes(n)); }
static inline void fstore_first(float *p, int64_t n, fvec a) { _mm256_maskstore_ps(p, first_lanes(n), a); }
