/* Sixteen f32 lanes in a zmm register: the f32 steps every AVX-512 lane header builds on (the
 * matvec's matvec_lanes_zmm.h, the matmul's matmul_lanes_zmm.h). Included inside the
 * including file's target region. */
typedef __m512 fvec;

static inline fvec fzero(void) { return _mm512_setzero_ps(); }
static inline fvec fsplat(float v) { return _mm512_set1_ps(v); }
static inline fvec fadd(fvec a, fvec b) { return _mm512_add_ps(a, b); }
static inline fvec fmul(fvec a, fvec b) { return _mm512_mul_ps(a, b); }
static inline fvec fmadd(fvec a, fvec b, fvec c) { return _mm512_fmadd_ps(a, b, c); }
/* The sum of the lanes, in the compiler's fixed reduction order. */
static inline float fsum(fvec v) { return _mm512_reduce_add_ps(v); }
/* LANES stored values as f32: q8 bytes, q4 bytes' low and high nibbles, f16, bf16 (the
 * matvec's rows and the matmul's dequantization read weights through them). */
static inline fvec q8_values(const uint8_t *p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)));
}
static inline void q4_values(const uint8_t *p, fvec *low, fvec *high) {
    __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p));
    *low = _mm512_cvtepi32_ps(_mm512_and_si512(v, _mm512_set1_epi32(15)));
    *high = _mm512_cvtepi32_ps(_mm512_srli_epi32(v, 4));
}
static inline fvec f16_values(const uint8_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
static inline fvec bf16_values(const uint8_t *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}
