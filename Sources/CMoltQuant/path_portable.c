/* The portable path: eight groups at a time in generic vectors, for CPUs without AVX2 (or not
 * x86). Plain C otherwise; the SIMD paths must match it byte for byte. */
#include "internal.h"

#include "lanes_portable.h"
#include "q8_tile.h"
#include "q4_tile.h"
#include "measure.h"
#define BLOCK_NAME molt_quant_block_portable
#include "block.h"

/* The error measurement alone, for rows stored by another quantizer (MoltQuant's GPTQ): every
 * path measures alike, so the portable one serves all. */
void molt_quant_measure_portable(const molt_quant_job *job, const uint8_t *source, int64_t rows, const uint8_t *destination,
                                 molt_quant_error *error) {
    measure_rows(job, source, rows, destination, error);
}
