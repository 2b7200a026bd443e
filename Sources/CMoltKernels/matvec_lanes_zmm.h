/* AVX-512 lanes of the q8 x int16 matvec (matvec_int16.h): sixteen f32 lanes, a block's 32
 * weights widened to one register of int16; the including file gives dot16 (vpmaddwd or
 * VNNI's vpdpwssd). Four vectors' accumulators take 8 of the 32 registers. */
#include "f32_lanes_zmm.h"
typedef __m512i wvec;
#define WINDOW 16
#define SPAN 64
#define MATVEC_VECTORS 4

static inline fvec fload(const float *p) { return _mm512_loadu_ps(p); }
static inline void fstore(float *p, fvec v) { _mm512_storeu_ps(p, v); }

static inline wvec widen(const uint8_t *p) { return _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)p)); }

static inline fvec weight_scales(const uint8_t *scales) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(scales)));
}

/* A short last window loads only its blocks' scales (masked). */
static inline __mmask16 first_lanes(int64_t count) { return (__mmask16)((1u << count) - 1); }
static inline fvec weight_scales_tail(const uint8_t *scales, int64_t b0, int64_t blocks, int *skip) {
    *skip = 0;
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(first_lanes(blocks - b0), scales + 2 * b0));
}
static inline fvec block_scales_tail(const float *scales, int64_t b0, int skip, int64_t blocks) {
    (void)skip;
    return _mm512_maskz_loadu_ps(first_lanes(blocks - b0), scales + b0);
}

static inline float reduce(fvec acc0, fvec acc1) { return fsum(fadd(acc0, acc1)); }
