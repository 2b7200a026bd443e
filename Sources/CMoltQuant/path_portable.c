/* The portable path: eight groups at a time in generic vectors, for CPUs without AVX2 (or not
 * x86). Plain C otherwise; the SIMD paths must match it byte for byte. */
#include "internal.h"

#include "lanes_portable.h"
#include "q8_tile.h"
#include "q4_tile.h"
#include "measure.h"
#define BLOCK_NAME molt_quant_block_portable
#include "block.h"
