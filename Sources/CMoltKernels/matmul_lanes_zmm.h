/* What the AVX-512 and AVX-512 VNNI lanes of the integer matmul (matmul_int8.h) share:
 * sixteen rows of W, one per int32 lane of a zmm register, and the f32 steps over them. The
 * two differ only in their integer steps (matmul_lanes_avx512.h, matmul_lanes_vnni.h). */
#include "matmul_lanes_x86.h"
#include "f32_lanes_zmm.h"
#define LANES 16

typedef __m512i ivec;
typedef __m512i wvec;

static inline wvec wload(const uint8_t *p) { return _mm512_loadu_si512(p); }
/* 4 bytes of a row of X in every lane. */
static inline __m512i broadcast4(const int8_t *x) {
    int32_t v;
    memcpy(&v, x, 4);
    return _mm512_set1_epi32(v);
}

static inline ivec istart(int32_t start) { return _mm512_set1_epi32(start); }
static inline ivec iload(const int32_t *p) { return _mm512_loadu_si512(p); }

static inline fvec fload(const float *p) { return _mm512_load_ps(p); }
static inline void fstore(float *p, fvec a) { _mm512_store_ps(p, a); }
static inline fvec fscaled(fvec sum, ivec dot, float x_scale, fvec scales) {
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(_mm512_set1_ps(x_scale), scales), sum);
}
static inline fvec foffset(fvec offset, float x_sum, fvec minimums) {
    return _mm512_fmadd_ps(_mm512_set1_ps(x_sum), minimums, offset);
}

/* The f32 route's steps (matmul_float.h): sixteen consecutive values of a row of W. */
static inline void fstoreu(float *p, fvec a) { _mm512_storeu_ps(p, a); }
