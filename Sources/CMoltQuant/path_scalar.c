/* The portable path: one group at a time, plain C. The reference the SIMD paths must match. */
#include "internal.h"

#include "lanes_scalar.h"
#include "q8_tile.h"
#include "q4_tile.h"
#include "measure.h"
#define BLOCK_NAME molt_quant_block_scalar
#include "block.h"
