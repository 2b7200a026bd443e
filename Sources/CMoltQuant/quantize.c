/* The entry point: runs a block on the chosen path and, when the path refuses it, finds the
 * group to blame. */
#include "internal.h"

/* Whether a group's values fit the f16 scale (and minimum) that round to nearest would give;
 * the same tests the tiles make, one group at a time. */
static molt_quant_status check_group(const molt_quant_job *job, const uint8_t *values, int64_t count) {
    float low = 0, high = 0, absmax = 0;
    for (int64_t j = 0; j < count; j++) {
        float v = molt_source_value(values, job->source, j);
        if (!molt_is_finite(v)) return MOLT_QUANT_NOT_FINITE;
        if (j == 0 || v < low) low = v;
        if (j == 0 || v > high) high = v;
        absmax = -v > absmax ? -v : (v > absmax ? v : absmax);
    }
    if (job->type == MOLT_QUANT_Q8) return molt_is_finite(molt_round_to_half(absmax / 127.0f)) ? MOLT_QUANT_OK : MOLT_QUANT_TOO_LARGE;
    float range = high == low ? 1.0f : high - low;
    int fits = molt_is_finite(molt_round_to_half(low)) && molt_is_finite(molt_round_to_half(high)) &&
               molt_is_finite(molt_round_to_half(range / 15.0f));
    return fits ? MOLT_QUANT_OK : MOLT_QUANT_TOO_LARGE;
}

/* The first refused group of the block, in row order. */
static molt_quant_status locate_failure(const molt_quant_job *job, const uint8_t *source, int64_t rows, molt_quant_failure *failure) {
    const int64_t g = job->group_size, esize = molt_source_size(job->source);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t start = 0; start < job->columns; start += g) {
            int64_t count = job->columns - start < g ? job->columns - start : g;
            molt_quant_status status = check_group(job, source + (r * job->columns + start) * esize, count);
            if (status != MOLT_QUANT_OK) {
                *failure = (molt_quant_failure){.row = r, .start = start, .count = count};
                return status;
            }
        }
    }
    return MOLT_QUANT_OK;
}

molt_quant_status molt_quantize_rows(const molt_quant_job *job, molt_path path, const void *source, int64_t rows,
                                     void *destination, molt_quant_error *error, molt_quant_failure *failure) {
    molt_quant_block_fn block = molt_quant_block_portable;
#if defined(__x86_64__) || defined(__i386__)
    if (path >= MOLT_PATH_AVX512) block = molt_quant_block_avx512;
    if (path == MOLT_PATH_AVX2) block = molt_quant_block_avx2;
#endif
    molt_quant_status status = block(job, source, rows, destination, error);
    if (status == MOLT_QUANT_NOT_FINITE || status == MOLT_QUANT_TOO_LARGE) {
        molt_quant_status located = locate_failure(job, source, rows, failure);
        if (located != MOLT_QUANT_OK) return located;
        *failure = (molt_quant_failure){.row = 0, .start = 0, .count = job->columns < job->group_size ? job->columns : job->group_size};
    }
    return status;
}

void molt_quant_measure(const molt_quant_job *job, const void *source, int64_t rows, const void *destination, molt_quant_error *error) {
    molt_quant_measure_portable(job, source, rows, destination, error);
}

float molt_quant_round_to_half(float x) { return molt_round_to_half(x); }
