/* The portable row kernels: the reference the SIMD paths are tested against, and the path
 * for CPUs without AVX2. Eight partial sums keep the loops vectorizable without reassociation
 * (so the result is the same with any compiler flags). */
#include "internal.h"

static float combine(const float p[8]) { return ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7])); }

#define DOT_ROWS(NAME, ELEMENT, LOAD)                                                                          \
    static void NAME(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin, int64_t end) {   \
        for (int64_t r = begin; r < end; r++) {                                                                \
            const ELEMENT *row = (const ELEMENT *)((const uint8_t *)w->data + r * w->row_stride);             \
            float p[8] = {0};                                                                                  \
            int64_t i = 0;                                                                                     \
            for (; i + 8 <= w->columns; i += 8)                                                                \
                for (int j = 0; j < 8; j++) p[j] += LOAD(row[i + j]) * a->x[i + j];                           \
            for (; i < w->columns; i++) p[i & 7] += LOAD(row[i]) * a->x[i];                                    \
            y[r] = combine(p);                                                                                 \
        }                                                                                                      \
    }

#define IDENTITY(v) (v)
DOT_ROWS(rows_f32, float, IDENTITY)
DOT_ROWS(rows_f16, uint16_t, molt_f16_to_f32)
DOT_ROWS(rows_bf16, uint16_t, molt_bf16_to_f32)

/* Each group's sum of q * x, times its scale, summed over the groups in order. */
static void rows_q8(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin, int64_t end) {
    int64_t g = w->group_size;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;
        const int8_t *q = (const int8_t *)row;
        const uint8_t *scales = row + w->groups * g;
        float sum = 0;
        for (int64_t group = 0; group < w->groups; group++) {
            const float *x = a->x + group * g;
            float p[8] = {0};
            for (int64_t i = 0; i < g; i += 8)
                for (int j = 0; j < 8; j++) p[j] += (float)q[group * g + i + j] * x[i + j];
            sum += molt_f16_to_f32(molt_load_u16(scales + 2 * group)) * combine(p);
        }
        y[r] = sum;
    }
}

/* As q8, plus the minimums' term: the sum over groups of min * (sum of x over the group). */
static void rows_q4(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin, int64_t end) {
    int64_t g = w->group_size, half = g / 2;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;
        const uint8_t *scales = row + w->groups * half, *minimums = scales + 2 * w->groups;
        float sum = 0, offset = 0;
        for (int64_t group = 0; group < w->groups; group++) {
            const uint8_t *packed = row + group * half;
            const float *x = a->x + group * g;
            float p[8] = {0};
            for (int64_t j = 0; j < half; j += 8)
                for (int k = 0; k < 8; k++) {
                    p[k] += (float)(packed[j + k] & 15) * x[j + k];
                    p[k] += (float)(packed[j + k] >> 4) * x[half + j + k];
                }
            sum += molt_f16_to_f32(molt_load_u16(scales + 2 * group)) * combine(p);
            offset += molt_f16_to_f32(molt_load_u16(minimums + 2 * group)) * a->group_sums[group];
        }
        y[r] = sum + offset;
    }
}

/* q8 with integer activations, int8 (`xq`) or int16 (`x16`): exact integer sums per block,
 * scaled by (weight scale * block scale). */
#define ROWS_INTEGER_Q8(NAME, VALUES)                                                                          \
    static void NAME(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin, int64_t end) {   \
        int64_t g = w->group_size;                                                                             \
        for (int64_t r = begin; r < end; r++) {                                                                \
            const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;                                \
            const int8_t *q = (const int8_t *)row;                                                             \
            const uint8_t *scales = row + w->groups * g;                                                       \
            float sum = 0;                                                                                     \
            for (int64_t group = 0; group < w->groups; group++) {                                              \
                float scale = molt_f16_to_f32(molt_load_u16(scales + 2 * group));                              \
                for (int64_t b = group * g / MOLT_BLOCK; b < (group + 1) * g / MOLT_BLOCK; b++) {              \
                    int32_t dot = 0;                                                                           \
                    for (int i = 0; i < MOLT_BLOCK; i++) dot += q[b * MOLT_BLOCK + i] * a->VALUES[b * MOLT_BLOCK + i]; \
                    sum += (float)dot * (scale * a->block_scales[b]);                                          \
                }                                                                                              \
            }                                                                                                  \
            y[r] = sum;                                                                                        \
        }                                                                                                      \
    }

ROWS_INTEGER_Q8(rows_int8_q8, xq)
ROWS_INTEGER_Q8(rows_int16_q8, x16)

static void rows_int8_q4(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin, int64_t end) {
    int64_t g = w->group_size, half = g / 2;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;
        const uint8_t *scales = row + w->groups * half, *minimums = scales + 2 * w->groups;
        float sum = 0, offset = 0;
        for (int64_t group = 0; group < w->groups; group++) {
            const uint8_t *packed = row + group * half;
            float scale = molt_f16_to_f32(molt_load_u16(scales + 2 * group));
            for (int64_t start = 0; start < g; start += MOLT_BLOCK) {
                /* The block's first `low` values are low nibbles, the rest high ones. */
                const int8_t *xq = a->xq + group * g + start;
                int64_t low = start >= half ? 0 : half - start < MOLT_BLOCK ? half - start : MOLT_BLOCK;
                int32_t dot = 0;
                for (int64_t j = 0; j < low; j++) dot += (packed[start + j] & 15) * xq[j];
                for (int64_t j = low; j < MOLT_BLOCK; j++) dot += (packed[start + j - half] >> 4) * xq[j];
                sum += (float)dot * (scale * a->block_scales[(group * g + start) / MOLT_BLOCK]);
            }
            offset += molt_f16_to_f32(molt_load_u16(minimums + 2 * group)) * a->group_sums[group];
        }
        y[r] = sum + offset;
    }
}

const molt_rows_fn molt_rows_scalar[5] = {rows_f32, rows_f16, rows_bf16, rows_q8, rows_q4};
const molt_rows_fn molt_rows_int8_scalar[2] = {rows_int8_q8, rows_int8_q4};
const molt_rows_fn molt_rows_q8_int16_scalar = rows_int16_q8;
