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
