#include <math.h>
#include "activation.h"

static int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

/* Sizes, in floats or bytes, of each part of a prepared activation. */
typedef struct {
    int64_t padded, groups, blocks, quantized, lanes, wide;
} parts;

molt_activations molt_effective_activations(const molt_matrix *w, molt_activations precision) {
    if (!molt_is_quantized(w->type)) return MOLT_ACTIVATIONS_F32;
    if (precision == MOLT_ACTIVATIONS_INT16 && w->type != MOLT_WEIGHT_Q8) return MOLT_ACTIVATIONS_F32;
    return precision;
}

static parts measure(const molt_matrix *w, molt_activations precision) {
    parts p = {0};
    if (!molt_is_quantized(w->type)) return p;
    p.padded = w->groups * w->group_size;
    p.groups = w->type == MOLT_WEIGHT_Q4 ? w->groups : 0;
    if (precision != MOLT_ACTIVATIONS_F32) p.blocks = p.padded / MOLT_BLOCK;
    if (precision == MOLT_ACTIVATIONS_INT8) {
        /* SIMD kernels read whole 64-value chunks: 16 lane scales each. */
        p.quantized = round_up(p.padded, 64);
        p.lanes = p.quantized / 4;
    }
    if (precision == MOLT_ACTIVATIONS_INT16) p.wide = p.padded;
    return p;
}

size_t molt_activation_bytes(const molt_matrix *w, molt_activations precision) {
    parts p = measure(w, precision);
    /* q4 keeps the natural order and the nibble order side by side. */
    int64_t copies = w->type == MOLT_WEIGHT_Q4 ? 2 : 1;
    return (size_t)(4 * (p.padded + p.groups + p.blocks + p.lanes) + copies * p.quantized + 2 * p.wide);
}

/* One block of 32, symmetric, round half to even (the default rounding mode), |q| <= levels:
 * 127 for int8, so that negating q (the q8 kernels' sign trick) stays in range; 32767 for
 * int16, whose products with int8 weights, summed over a block, stay far inside int32.
 * Returns the block's scale. */
static float quantize_block(const float *v, float levels, long q[MOLT_BLOCK]) {
    float largest = 0;
    for (int i = 0; i < MOLT_BLOCK; i++) largest = fmaxf(largest, fabsf(v[i]));
    float inverse = largest > 0 ? levels / largest : 0;
    for (int i = 0; i < MOLT_BLOCK; i++) {
        long n = lrintf(v[i] * inverse);
        q[i] = n > (long)levels ? (long)levels : n < -(long)levels ? -(long)levels : n;
    }
    return largest / levels;
}

static void quantize_blocks(const float *x, int64_t blocks, int8_t *q, float *scales) {
    long block[MOLT_BLOCK];
    for (int64_t b = 0; b < blocks; b++) {
        scales[b] = quantize_block(x + b * MOLT_BLOCK, 127.0f, block);
        for (int i = 0; i < MOLT_BLOCK; i++) q[b * MOLT_BLOCK + i] = (int8_t)block[i];
    }
}

static void quantize_blocks16(const float *x, int64_t blocks, int16_t *q, float *scales) {
    long block[MOLT_BLOCK];
    for (int64_t b = 0; b < blocks; b++) {
        scales[b] = quantize_block(x + b * MOLT_BLOCK, 32767.0f, block);
        for (int i = 0; i < MOLT_BLOCK; i++) q[b * MOLT_BLOCK + i] = (int16_t)block[i];
    }
}

void molt_activation_prepare(const molt_matrix *w, const float *x, molt_activations precision, int simd, void *scratch,
                             molt_activation *a) {
    *a = (molt_activation){.x = x};
    if (!molt_is_quantized(w->type)) return;
    parts p = measure(w, precision);
    int int8 = precision == MOLT_ACTIVATIONS_INT8;
    float *floats = scratch;
    float *padded = floats, *sums = padded + p.padded, *scales = sums + p.groups, *lanes = scales + p.blocks;
    int8_t *quantized = (int8_t *)(lanes + p.lanes);
    memcpy(padded, x, (size_t)w->columns * 4);
    memset(padded + w->columns, 0, (size_t)(p.padded - w->columns) * 4);
    a->x = padded;
    int64_t g = w->group_size;
    if (w->type == MOLT_WEIGHT_Q4) {
        for (int64_t group = 0; group < w->groups; group++) {
            float sum = 0;
            for (int64_t i = 0; i < g; i++) sum += padded[group * g + i];
            sums[group] = sum;
        }
        a->group_sums = sums;
    }
    if (precision == MOLT_ACTIVATIONS_INT16) {
        int16_t *wide = (int16_t *)((int8_t *)(lanes + p.lanes) + p.quantized);
        quantize_blocks16(padded, p.blocks, wide, scales);
        a->x16 = wide;
        a->block_scales = scales;
        return;
    }
    if (!int8) return;

    int8_t *natural = quantized;
    quantize_blocks(padded, p.blocks, natural, scales);
    memset(quantized + p.padded, 0, (size_t)(p.quantized - p.padded));
    a->xq = quantized;
    a->block_scales = scales;
    if (!simd) return;
    memset(lanes, 0, (size_t)p.lanes * 4);
    a->lane_scales = lanes;
    if (w->type == MOLT_WEIGHT_Q8) {
        for (int64_t b = 0; b < p.blocks; b++)
            for (int i = 0; i < 8; i++) lanes[8 * b + i] = scales[b];
        return;
    }
    /* q4: reorder into nibble order, in a copy since `natural` is the source: packed byte b
     * (chunk b / 32, position b % 32) holds values j and j + G/2 of group b / (G/2). */
    int8_t *ordered = (int8_t *)(lanes + p.lanes) + p.quantized;
    memset(ordered, 0, (size_t)p.quantized);
    int64_t half = g / 2;
    for (int64_t group = 0; group < w->groups; group++) {
        for (int64_t j = 0; j < half; j++) {
            int64_t b = group * half + j, chunk = b / 32, position = b % 32;
            int64_t low = group * g + j, high = low + half;
            ordered[64 * chunk + position] = natural[low];
            ordered[64 * chunk + 32 + position] = natural[high];
            if (position % 4 == 0) {
                lanes[16 * chunk + position / 4] = scales[low / MOLT_BLOCK];
                lanes[16 * chunk + 8 + position / 4] = scales[high / MOLT_BLOCK];
            }
        }
    }
    a->xq = ordered;
}
