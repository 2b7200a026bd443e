/* AVX-512 lanes of the q8 x int16 matvec (matvec_int16.h): sixteen f32 lanes, a block's 32
 * weights widened to one register of int16; the including file gives dot16 (vpmaddwd or
 * VNNI's vpdpwssd). Four vectors' accumulators take 8 of the 32 registers. */
typedef __m512 fvec;
typedef __m512i wvec;
#define WINDOW 16
#define SPAN 64
#define MATVEC_VECTORS 4

static inline fvec fzero(void) { return _mm512_setzero_ps(); }
static inline fvec fsplat(float f) { return _mm512_set1_ps(f); }
static inline fvec fload(const float *p) { return _mm512_loadu_ps(p); }
static inline void fstore(float *p, fvec v) { _mm512_storeu_ps(p, v); }
static inline fvec fmul(fvec a, fvec b) { return _mm512_mul_ps(a, b); }
static inline fvec fmadd(fvec a, fvec b, fvec c) { return _mm512_fmadd_ps(a, b, c); }

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

static inline float reduce(fvec acc0, fvec acc1) { return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)); }
