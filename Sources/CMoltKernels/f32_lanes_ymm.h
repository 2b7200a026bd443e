/* Eight f32 lanes in a ymm register: the f32 steps every AVX2 lane header builds on (the
 * matvec's matvec_lanes_ymm.h, the f32 matmul's matmul_lanes_avx2.h). Included inside the
 * including file's target region. */
typedef __m256 fvec;

static inline fvec fzero(void) { return _mm256_setzero_ps(); }
static inline fvec fsplat(float v) { return _mm256_set1_ps(v); }
static inline fvec fadd(fvec a, fvec b) { return _mm256_add_ps(a, b); }
static inline fvec fmul(fvec a, fvec b) { return _mm256_mul_ps(a, b); }
static inline fvec fmadd(fvec a, fvec b, fvec c) { return _mm256_fmadd_ps(a, b, c); }
static inline float fsum(fvec v) { return molt_sum8(v); }
/* LANES stored values as f32: q8 bytes, q4 bytes' low and high nibbles, f16, bf16 (the
 * matvec's rows and the matmul's dequantization read weights through them). */
static inline fvec q8_values(const uint8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}
static inline void q4_values(const uint8_t *p, fvec *low, fvec *high) {
    __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
    *low = _mm256_cvtepi32_ps(_mm256_and_si256(v, _mm256_set1_epi32(15)));
    *high = _mm256_cvtepi32_ps(_mm256_srli_epi32(v, 4));
}
static inline fvec f16_values(const uint8_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
static inline fvec bf16_values(const uint8_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}
