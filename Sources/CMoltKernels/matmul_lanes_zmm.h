/* What the AVX-512 and AVX-512 VNNI lanes of the integer matmul (matmul_int8.h) share:
 * sixteen rows of X, one per int32 lane of a zmm register, and the f32 steps over them. The
 * two differ only in their integer steps (matmul_lanes_avx512.h, matmul_lanes_vnni.h). */
#include "matmul_lanes_x86.h"
#include "f32_lanes_zmm.h"
#define LANES 16

typedef __m512i ivec;
typedef __m512i xvec;

static inline xvec xload(const int8_t *p) { return _mm512_load_si512(p); }
static inline __m512i broadcast4(const uint8_t *w) {
    int32_t v;
    memcpy(&v, w, 4);
    return _mm512_set1_epi32(v);
}

static inline ivec istart(int32_t start) { return _mm512_set1_epi32(start); }

static inline fvec fload(const float *p) { return _mm512_load_ps(p); }
static inline void fstore(float *p, fvec a) { _mm512_store_ps(p, a); }
static inline fvec fscaled(fvec sum, ivec dot, float scale, fvec block_scales) {
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(_mm512_set1_ps(scale), block_scales), sum);
}
static inline fvec foffset(fvec offset, float minimum, fvec sums) {
    return _mm512_fmadd_ps(_mm512_set1_ps(minimum), sums, offset);
}

/* The f32 route's steps (matmul_float.h): sixteen consecutive values of a row of W. */
static inline void fstoreu(float *p, fvec a) { _mm512_storeu_ps(p, a); }
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
