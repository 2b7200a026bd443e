/* AVX-512 lanes of the q8 x int16 matvec (matvec_int16.h): sixteen f32 lanes, a block's 32
 * weights widened to one register of int16; the including file gives dot16 (vpmaddwd or
 * VNNI's vpdpwssd). Four vectors' accumulators and windows take 12 of the 32 registers. */
#include "f32_lanes_zmm.h"
typedef __m512i wvec;
#define WINDOW 16
#define MATVEC_VECTORS 4

static inline fvec fload(const float *p) { return _mm512_loadu_ps(p); }
/* One f16 scale by F16C, as matvec_lanes_ymm.h says why. */
static inline float half_to_float(const uint8_t *p) { return _cvtsh_ss(molt_load_u16(p)); }

static inline wvec widen(const uint8_t *p) { return _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)p)); }

static inline __mmask16 first_lanes(int64_t count) { return count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1); }

/* A short last window loads only its blocks' scales (masked). */
static inline fvec weight_scales(const uint8_t *scales, int64_t b0, int64_t blocks, int64_t count, int *skip) {
    (void)blocks;
    *skip = 0;
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(first_lanes(count), scales + 2 * b0));
}
static inline fvec block_scales(const float *scales, int64_t b0, int skip, int64_t count) {
    (void)skip;
    return _mm512_maskz_loadu_ps(first_lanes(count), scales + b0);
}

static inline fvec spread(fvec window, int lane) { return _mm512_permutexvar_ps(_mm512_set1_epi32(lane), window); }

static inline float reduce(fvec acc0, fvec acc1) { return fsum(fadd(acc0, acc1)); }
