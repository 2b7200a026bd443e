/* What the AVX-512 and AVX-512 VNNI lanes of the integer matmul (matmul_int8.h) share:
 * sixteen rows of X, one per int32 lane of a zmm register, and the f32 steps over them. The
 * two differ only in their integer steps (matmul_lanes_avx512.h, matmul_lanes_vnni.h). */
#include "matmul_lanes_x86.h"
#include "matmul_ymm.h"
#include "f32_lanes_zmm.h"
#define LANES 16
/* A block of X with 8 rows or fewer takes the tile on the lower 8 lanes, in ymm registers
 * (matmul_int8_tile.h); its *_half steps follow. */
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

/* The f32 route's steps (matmul_float.h): sixteen consecutive values of a row of W. */
static inline void fstoreu(float *p, fvec a) { _mm512_storeu_ps(p, a); }
