#ifndef MOLT_QUANT_H
#define MOLT_QUANT_H

/* The hot loops of MoltQuant's q8/q4 quantizer: the candidate search, the packing and the
 * error measurement of one block of rows, read straight from f32, bf16 or f16 source values.
 * Formats/quantization.md defines the algorithm; every path produces the same bytes and the
 * same error sums, so a conversion gives the same file on every machine. */

#include <stdint.h>
#include "molt_cpu.h" /* molt_path, the instruction-set levels */

typedef enum {
    MOLT_QUANT_Q8 = 0,
    MOLT_QUANT_Q4 = 1,
} molt_quant_type;

typedef enum {
    MOLT_QUANT_SOURCE_F32 = 0,
    MOLT_QUANT_SOURCE_BF16 = 1,
    MOLT_QUANT_SOURCE_F16 = 2,
} molt_quant_source;

/* What to quantize: a matrix of `columns` values per row in groups of `group_size` (a multiple
 * of 32), stored as Formats/molt.md lays out q8/q4 rows. */
typedef struct {
    molt_quant_type type;
    molt_quant_source source;
    int32_t search; /* 0: round to nearest; 1: the candidate search */
    /* NULL, or the search's per-value weights: groups * group_size floats, the weights of
     * group g's values at g * group_size (padding 0). With weights the search minimises the
     * weighted squared error; weights all 1 give exactly the unweighted search. */
    const float *weights;
    int64_t columns;
    int64_t group_size;
    int64_t groups;          /* ceil(columns / group_size) */
    int64_t row_stride;      /* bytes of one stored row */
    int64_t scales_offset;   /* of the f16 scales within a row */
    int64_t minimums_offset; /* of the f16 minimums (q4) within a row */
} molt_quant_job;

/* The error of the stored values against the source, over data values only. Per row, f32
 * sums in 8 lanes (lane i takes columns i, i + 8, ...) and a scalar tail, added in f64. */
typedef struct {
    double signal; /* sum of x^2 */
    double error;  /* sum of (x - w)^2 */
    float max_abs; /* max |x - w| */
} molt_quant_error;

typedef enum {
    MOLT_QUANT_OK = 0,
    MOLT_QUANT_NOT_FINITE = 1, /* a NaN or an infinity */
    MOLT_QUANT_TOO_LARGE = 2,  /* values beyond what f16 scales (and minimums) represent */
    MOLT_QUANT_NO_MEMORY = 3,
} molt_quant_status;

/* Where a block was refused: the first group, in row order, with a NaN/inf or too large. */
typedef struct {
    int64_t row; /* within the block */
    int64_t start;
    int64_t count; /* data values in the group */
} molt_quant_failure;

/* Quantizes `rows` consecutive rows at `source` into `destination` (rows * row_stride bytes)
 * on `path` (which the CPU must support; the VNNI level runs the AVX-512 path) and adds the error to `*error`. On a refusal, fills
 * `*failure`; the destination is then partly written. */
molt_quant_status molt_quantize_rows(const molt_quant_job *job, molt_path path, const void *source, int64_t rows,
                                     void *destination, molt_quant_error *error, molt_quant_failure *failure);

/* Adds the error of `rows` stored rows at `destination` against `source` to `*error`, measured
 * as molt_quantize_rows measures its own: for rows another quantizer chose. */
void molt_quant_measure(const molt_quant_job *job, const void *source, int64_t rows, const void *destination, molt_quant_error *error);

/* `x` rounded to the nearest f16 (ties to even) and back, as the portable path rounds scales
 * and minimums (beyond f16's range: +infinity). For the tests. */
float molt_quant_round_to_half(float x);

#endif
