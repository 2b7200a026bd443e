/* AVX2 lanes of the integer matmul (matmul_int8.h): sixteen rows of X, one per int32 lane of a
 * pair of ymm registers, so that each 4 bytes of W broadcast from memory serve two registers
 * of X; AVX2 issues one such broadcast a cycle, and with one register of X per broadcast they
 * were what limited the tile (BENCHMARKS.md, "AVX2 on a Zen 3"). A block of 8 rows of X or
 * fewer takes the tile on one register (the *_half steps, matmul_int8_tile.h). The steps
 * are matmul_ymm.h's maddubs scheme on each register. */
#include "matmul_lanes_x86.h"
#include "matmul_ymm.h"
#define LANES 16
#define HALF_LANES 8
#define TILE_ROWS 4
#define Q8_BIASED 0

typedef struct {
    __m256i low, high;
} ivec;
typedef ivec xvec;
typedef struct {
    __m256 low, high;
} fvec;

static inline xvec xload(const int8_t *p) {
    return (xvec){_mm256_load_si256((const __m256i *)p), _mm256_load_si256((const __m256i *)(p + 32))};
}
static inline ivec istart(int32_t start) { return (ivec){_mm256_set1_epi32(start), _mm256_set1_epi32(start)}; }

/* Each step broadcasts its 4 bytes of W once for both registers. */
static inline ivec q4_step(ivec a, const uint8_t *w, xvec x) {
    __m256i weights = ymm_broadcast4(w);
    return (ivec){ymm_q4_step(a.low, weights, x.low), ymm_q4_step(a.high, weights, x.high)};
}
static inline ivec q4_finish(ivec a) { return (ivec){ymm_q4_finish(a.low), ymm_q4_finish(a.high)}; }
static inline ivec q8_step(ivec a, const uint8_t *w, const uint8_t *magnitudes, xvec x) {
    __m256i weights = ymm_broadcast4(w), sizes = ymm_broadcast4(magnitudes);
    return (ivec){ymm_q8_step(a.low, weights, sizes, x.low), ymm_q8_step(a.high, weights, sizes, x.high)};
}
static inline ivec wide_step(ivec a, const uint8_t *w, xvec x) {
    __m256i weights = ymm_broadcast4(w);
    return (ivec){ymm_wide_step(a.low, weights, x.low), ymm_wide_step(a.high, weights, x.high)};
}

static inline fvec fzero(void) { return (fvec){_mm256_setzero_ps(), _mm256_setzero_ps()}; }
static inline fvec fadd(fvec a, fvec b) { return (fvec){_mm256_add_ps(a.low, b.low), _mm256_add_ps(a.high, b.high)}; }
static inline fvec fload(const float *p) { return (fvec){_mm256_load_ps(p), _mm256_load_ps(p + 8)}; }
static inline void fstore(float *p, fvec a) {
    _mm256_store_ps(p, a.low);
    _mm256_store_ps(p + 8, a.high);
}
static inline fvec fscaled(fvec sum, ivec dot, float scale, fvec block_scales) {
    return (fvec){ymm_fscaled(sum.low, dot.low, scale, block_scales.low), ymm_fscaled(sum.high, dot.high, scale, block_scales.high)};
}
static inline fvec foffset(fvec offset, float minimum, fvec sums) {
    return (fvec){ymm_foffset(offset.low, minimum, sums.low), ymm_foffset(offset.high, minimum, sums.high)};
}

#include "matmul_ymm_half_steps.h"
