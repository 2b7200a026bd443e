/* AVX2 lanes of the q8 x int16 matvec (matvec_int16.h): eight f32 lanes, a block's 32 weights
 * widened to int16 in two registers. Sixteen ymm registers hold the two accumulators and the
 * scale window of three vectors with the block and its products. */
#include "f32_lanes_ymm.h"
typedef struct {
    __m256i low, high;
} wvec;
#define WINDOW 8
#define MATVEC_VECTORS 3

static inline fvec fload(const float *p) { return _mm256_loadu_ps(p); }
/* One f16 scale by F16C: short rows (dt_proj) take a scale per block, and the portable
 * molt_f16_to_f32, a dozen steps with branches, made them 1.4-1.7x slower from cache. */
static inline float half_to_float(const uint8_t *p) { return _cvtsh_ss(molt_load_u16(p)); }

static inline wvec widen(const uint8_t *p) {
    return (wvec){_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p)),
                  _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(p + 16)))};
}

static inline fvec dot16(wvec q, const int16_t *x) {
    return _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_madd_epi16(q.low, _mm256_loadu_si256((const __m256i *)x)),
                                               _mm256_madd_epi16(q.high, _mm256_loadu_si256((const __m256i *)(x + 16)))));
}

/* A window near the end starts `skip` blocks early so as to stay inside the row; block_scales
 * is padded with zeros to a multiple of 8. */
static inline fvec weight_scales(const uint8_t *scales, int64_t b0, int64_t blocks, int64_t count, int *skip) {
    (void)count;
    return molt_load_f16_window(scales, b0, blocks, skip);
}
static inline fvec block_scales(const float *scales, int64_t b0, int skip, int64_t count) {
    (void)count;
    return _mm256_loadu_ps(scales + b0 - skip);
}

static inline fvec spread(fvec window, int lane) { return _mm256_permutevar8x32_ps(window, _mm256_set1_epi32(lane)); }

static inline float reduce(fvec acc0, fvec acc1) { return fsum(fadd(acc0, acc1)); }
