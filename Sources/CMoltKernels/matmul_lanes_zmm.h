/* What the AVX-512 and AVX-512 VNNI lanes of the integer matmul (matmul_int8.h) share:
 * sixteen rows of X, one per int32 lane of a zmm register, and the f32 steps over them. The
 * two differ only in their integer steps (matmul_lanes_avx512.h, matmul_lanes_vnni.h). */
#include "matmul_lanes_x86.h"
#include "matmul_ymm.h"
#include "f32_lanes_zmm.h"
#define LANES 16
/* A block of X with 8 rows or fewer takes the tile on the lower 8 lanes, in ymm registers
 * (matmul_int8_tile.h), with matmul_ymm.h's *_half lanes. */
#define HALF_LANES 8

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
