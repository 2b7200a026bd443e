/* AVX-512: sixteen groups at a time. The target attribute covers every function of the shared
 * headers included below, so they compile for this instruction set only here. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "internal.h"

#pragma clang attribute push(__attribute__((target("avx2,f16c,avx512f,avx512bw,avx512vl,avx512dq"))), apply_to = function)
#include "lanes_avx512.h"
#include "q8_tile.h"
#include "q4_tile.h"
#include "measure.h"
#define BLOCK_NAME molt_quant_block_avx512
#include "block.h"
#pragma clang attribute pop
#endif
