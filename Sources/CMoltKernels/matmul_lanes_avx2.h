/* AVX2 lanes of the f32 matmul route (matmul_float.h): eight consecutive values of a row of W
 * or of Y in a ymm register. The integer matmul has its own (matmul_lanes_avx2_int8.h). */
#include "matmul_lanes_x86.h"
#include "f32_lanes_ymm.h"
#define LANES 8

static inline fvec fload(const float *p) { return _mm256_load_ps(p); }
static inline void fstore(float *p, fvec a) { _mm256_store_ps(p, a); }
static inline void fstoreu(float *p, fvec a) { _mm256_storeu_ps(p, a); }
static inline fvec fload_first(const float *p, int64_t n) { return _mm256_maskload_ps(p, molt_first_lanes8(n)); }
static inline void fstore_first(float *p, int64_t n, fvec a) { _mm256_maskstore_ps(p, molt_first_lanes8(n), a); }
