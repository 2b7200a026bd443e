/* Eight f32 lanes in a ymm register: the f32 steps every AVX2 lane header builds on (the
 * matvec's matvec_lanes_ymm.h, the matmul's matmul_lanes_avx2.h). Included inside the
 * including file's target region. */
typedef __m256 fvec;

static inline fvec fzero(void) { return _mm256_setzero_ps(); }
static inline fvec fsplat(float v) { return _mm256_set1_ps(v); }
static inline fvec fadd(fvec a, fvec b) { return _mm256_add_ps(a, b); }
static inline fvec fmul(fvec a, fvec b) { return _mm256_mul_ps(a, b); }
static inline fvec fmadd(fvec a, fvec b, fvec c) { return _mm256_fmadd_ps(a, b, c); }
/* The sum of the lanes, in a fixed order: halves, then pairs, then the last two. */
static inline float fsum(fvec v) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}
