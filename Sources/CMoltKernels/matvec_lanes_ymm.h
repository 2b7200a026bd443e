/* AVX2 lanes of the q8 x int16 matvec (matvec_int16.h): eight f32 lanes, a block's 32 weights
 * widened to int16 in two registers. Sixteen ymm registers hold the two accumulators of four
 * vectors with the block and its products (the scales come by broadcast loads). */
#include "f32_lanes_ymm.h"
typedef struct {
    __m256i low, high;
} wvec;
#define WINDOW 8
#define SPAN 32
#define MATVEC_VECTORS 4

static inline fvec fload(const float *p) { return _mm256_loadu_ps(p); }
static inline void fstore(float *p, fvec v) { _mm256_storeu_ps(p, v); }

static inline wvec widen(const uint8_t *p) {
    return (wvec){_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p)),
                  _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(p + 16)))};
}

static inline fvec dot16(wvec q, const int16_t *x) {
    return _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_madd_epi16(q.low, _mm256_loadu_si256((const __m256i *)x)),
                                               _mm256_madd_epi16(q.high, _mm256_loadu_si256((const __m256i *)(x + 16)))));
}

static inline fvec weight_scales(const uint8_t *scales) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(scales)));
}

/* A short last window starts `skip` blocks early so as to stay inside the row (the combined
 * scales of the blocks before it are written again, the same); a row of fewer than 8 blocks
 * gives skip = -1, leaving it to one scalar product per block. block_scales is padded with
 * zeros to a multiple of 8. */
static inline fvec weight_scales_tail(const uint8_t *scales, int64_t b0, int64_t blocks, int *skip) {
    if (blocks < 8) {
        *skip = -1;
        return fzero();
    }
    *skip = (int)(b0 + 8 - blocks);
    return weight_scales(scales + 2 * (blocks - 8));
}
static inline fvec block_scales_tail(const float *scales, int64_t b0, int skip, int64_t blocks) {
    (void)blocks;
    return _mm256_loadu_ps(scales + b0 - skip);
}

static inline float reduce(fvec acc0, fvec acc1) { return fsum(fadd(acc0, acc1)); }
