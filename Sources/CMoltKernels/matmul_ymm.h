/* The maddubs scheme of the integer matmul's steps on eight int32 lanes of a ymm register:
 * AVX2's lanes (matmul_lanes_avx2_int8.h) and AVX-512's lower half (matmul_lanes_avx512.h), and the
 * f32 steps every ymm tile shares. Included inside the including file's target region. */

/* 4 bytes at w in every lane. */
static inline __m256i ymm_broadcast4(const uint8_t *w) {
    int32_t v;
    memcpy(&v, w, 4);
    return _mm256_set1_epi32(v);
}

/* The steps take their 4 bytes of W already broadcast (ymm_broadcast4), so that AVX2's pairs
 * of registers broadcast once for both. */
/* q4: nibble (<= 15) times int8 (|x| <= 127) pairs stay under 3810, so a block's 8 steps sum
 * in int16 (at most 30480) and widen once, in ymm_q4_finish. */
static inline __m256i ymm_q4_step(__m256i a, __m256i weights, __m256i x) {
    return _mm256_add_epi16(a, _mm256_maddubs_epi16(weights, x));
}
static inline __m256i ymm_q4_finish(__m256i a) { return _mm256_madd_epi16(a, _mm256_set1_epi16(1)); }
/* q8: |w| times x with w's sign (pairs at most 2 * 128 * 127, inside int16), widened each
 * step. */
static inline __m256i ymm_q8_step(__m256i a, __m256i weights, __m256i magnitudes, __m256i x) {
    __m256i pairs = _mm256_maddubs_epi16(magnitudes, _mm256_sign_epi8(x, weights));
    return _mm256_add_epi32(a, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}
/* q8 with int16 activations: madd takes 2 int16 weights times 2 values into each int32 lane
 * (at most 2 * 128 * 32767). */
static inline __m256i ymm_wide_step(__m256i a, __m256i weights, __m256i x) {
    return _mm256_add_epi32(a, _mm256_madd_epi16(weights, x));
}

static inline __m256 ymm_fscaled(__m256 sum, __m256i dot, float scale, __m256 block_scales) {
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(_mm256_set1_ps(scale), block_scales), sum);
}
static inline __m256 ymm_foffset(__m256 offset, float minimum, __m256 sums) {
    return _mm256_fmadd_ps(_mm256_set1_ps(minimum), sums, offset);
}

/* The lower half of a 16-lane tile (matmul_int8_tile.h's *_half names), one ymm register, for
 * the zmm lanes and AVX2's pairs alike; each lane header gives its half's integer steps. */
typedef __m256i ivec_half;
typedef __m256i xvec_half;
typedef __m256 fvec_half;
static inline xvec_half xload_half(const int8_t *p) { return _mm256_load_si256((const __m256i *)p); }
static inline ivec_half istart_half(int32_t start) { return _mm256_set1_epi32(start); }
static inline fvec_half fzero_half(void) { return _mm256_setzero_ps(); }
static inline fvec_half fload_half(const float *p) { return _mm256_load_ps(p); }
static inline void fstore_half(float *p, fvec_half a) { _mm256_store_ps(p, a); }
static inline fvec_half fadd_half(fvec_half a, fvec_half b) { return _mm256_add_ps(a, b); }
static inline fvec_half fscaled_half(fvec_half sum, ivec_half dot, float scale, fvec_half block_scales) {
    return ymm_fscaled(sum, dot, scale, block_scales);
}
static inline fvec_half foffset_half(fvec_half offset, float minimum, fvec_half sums) {
    return ymm_foffset(offset, minimum, sums);
}
