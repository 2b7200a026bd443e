/* The q8 x int16 matvec (matvec_int16.h) on AVX-512 lanes. */
#include "internal.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq"))), apply_to = function)
#include "matvec_lanes_zmm.h"
static inline fvec dot16(wvec q, const int16_t *x) { return _mm512_cvtepi32_ps(_mm512_madd_epi16(q, _mm512_loadu_si512(x))); }
#define Q8_INT16_NAME molt_rows_q8_int16_avx512
#define Q8_INT16_MANY_NAME molt_rows_many_q8_int16_avx512
#include "matvec_int16.h"
#pragma clang attribute pop
#else
/* Never selected: this path is not supported off x86. */
const molt_rows_fn molt_rows_q8_int16_avx512;
const molt_rows_many_fn molt_rows_many_q8_int16_avx512;
#endif
