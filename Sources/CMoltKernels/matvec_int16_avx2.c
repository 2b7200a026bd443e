/* The q8 x int16 matvec (matvec_int16.h) on AVX2 lanes. */
#include "internal.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#include "matvec_lanes_ymm.h"
#define Q8_INT16_NAME molt_rows_q8_int16_avx2
#define Q8_INT16_MANY_NAME molt_rows_many_q8_int16_avx2
#include "matvec_int16.h"
#pragma clang attribute pop
#else
/* Never selected: this path is not supported off x86. */
const molt_rows_fn molt_rows_q8_int16_avx2;
const molt_rows_many_fn molt_rows_many_q8_int16_avx2;
#endif
