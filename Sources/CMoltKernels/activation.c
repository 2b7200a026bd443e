#include <math.h>
#include "activation.h"

static int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

/* Sizes, in floats or bytes, of each part of a prepared activation. */
typedef struct {
    /* blocks: the block scales' room, a multiple of 8 (zeros past the data) for the SIMD
     * kernels that read 8 at a time. */
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
    if (precision != MOLT_ACTIVATIONS_F32) p.blocks = round_up(p.padded / MOLT_BLOCK, 8);
    if (precision == MOLT_ACTIVATIONS_INT8) {
        /* SIMD kernels read whole chunks (q4: 128 values, q8: 64), one lane scale per 4. */
        p.quantized = round_up(p.padded, 2 * MOLT_Q4_CHUNK);
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
 * Writes the block's scale. The SIMD version below gives the same bits; it exists because a
 * decode step quantizes ~120 vectors on one thread while the others wait. */
static void quantize_block(const float *v, float levels, int8_t *q8, int16_t *q16, float *scale) {
    float largest = 0;
    for (int i = 0; i < MOLT_BLOCK; i++) largest = fmaxf(largest, fabsf(v[i]));
    float inverse = largest > 0 ? levels / largest : 0;
    for (int i = 0; i < MOLT_BLOCK; i++) {
        long n = lrintf(v[i] * inverse);
        n = n > (long)levels ? (long)levels : n < -(long)levels ? -(long)levels : n;
        if (q8) q8[i] = (int8_t)n;
        else q16[i] = (int16_t)n;
    }
    *scale = largest / levels;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
/* As quantize_block: the same largest value (max_ps returns its second operand when the
 * first is NaN, as fmaxf skips a NaN), the same products, and cvtps rounds half to even as
 * lrintf does, NaN becoming INT32_MIN and then -levels as lrintf's LONG_MIN does. */
MOLT_TARGET_AVX2 static void quantize_block_avx2(const float *v, float levels, int8_t *q8, int16_t *q16, float *scale) {
    const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    __m256 x[4], m = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) {
        x[k] = _mm256_loadu_ps(v + 8 * k);
        m = _mm256_max_ps(_mm256_and_ps(x[k], magnitude), m);
    }
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    float largest = _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
    float inverse = largest > 0 ? levels / largest : 0;
    const __m256i top = _mm256_set1_epi32((int)levels), bottom = _mm256_set1_epi32(-(int)levels);
    __m256i n[4];
    for (int k = 0; k < 4; k++) {
        n[k] = _mm256_cvtps_epi32(_mm256_mul_ps(x[k], _mm256_set1_ps(inverse)));
        n[k] = _mm256_min_epi32(_mm256_max_epi32(n[k], bottom), top);
    }
    /* packs works within 128-bit halves; the permutes restore the order. */
    __m256i a = _mm256_permute4x64_epi64(_mm256_packs_epi32(n[0], n[1]), 0xD8);
    __m256i b = _mm256_permute4x64_epi64(_mm256_packs_epi32(n[2], n[3]), 0xD8);
    if (q8) {
        __m256i bytes = _mm256_permute4x64_epi64(_mm256_packs_epi16(a, b), 0xD8);
        _mm256_storeu_si256((__m256i *)q8, bytes);
    } else {
        _mm256_storeu_si256((__m256i *)q16, a);
        _mm256_storeu_si256((__m256i *)(q16 + 16), b);
    }
    *scale = largest / levels;
}
#endif

static void quantize_blocks(const float *x, int64_t blocks, float levels, int8_t *q8, int16_t *q16, float *scales,
                            int simd) {
#if defined(__x86_64__) || defined(__i386__)
    void (*block)(const float *, float, int8_t *, int16_t *, float *) = simd ? quantize_block_avx2 : quantize_block;
#else
    void (*block)(const float *, float, int8_t *, int16_t *, float *) = quantize_block;
    (void)simd;
#endif
    for (int64_t b = 0; b < blocks; b++)
        block(x + b * MOLT_BLOCK, levels, q8 ? q8 + b * MOLT_BLOCK : NULL, q16 ? q16 + b * MOLT_BLOCK : NULL, scales + b);
}

/* q4: the f32 sum of each group, in order; eight groups at a time, whose independent sums
 * overlap instead of waiting on each other's adds. */
static void group_sums(const float *x, int64_t groups, int64_t g, float *sums) {
    int64_t group = 0;
    for (; group + 8 <= groups; group += 8) {
        float s[8] = {0};
        for (int64_t i = 0; i < g; i++)
            for (int k = 0; k < 8; k++) s[k] += x[(group + k) * g + i];
        memcpy(sums + group, s, sizeof s);
    }
    for (; group < groups; group++) {
        float sum = 0;
        for (int64_t i = 0; i < g; i++) sum += x[group * g + i];
        sums[group] = sum;
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
    int64_t g = w->group_size, blocks = p.padded / MOLT_BLOCK;
    memset(scales, 0, (size_t)p.blocks * 4);
    if (w->type == MOLT_WEIGHT_Q4) {
        group_sums(padded, w->groups, g, sums);
        a->group_sums = sums;
    }
    if (precision == MOLT_ACTIVATIONS_INT16) {
        int16_t *wide = (int16_t *)((int8_t *)(lanes + p.lanes) + p.quantized);
        quantize_blocks(padded, blocks, 32767.0f, NULL, wide, scales, simd);
        a->x16 = wide;
        a->block_scales = scales;
        return;
    }
    if (!int8) return;

    int8_t *natural = quantized;
    quantize_blocks(padded, blocks, 127.0f, natural, NULL, scales, simd);
    memset(quantized + p.padded, 0, (size_t)(p.quantized - p.padded));
    a->xq = quantized;
    a->block_scales = scales;
    if (simd != MOLT_PREPARE_SIMD) return;
    memset(lanes, 0, (size_t)p.lanes * 4);
    a->lane_scales = lanes;
    if (w->type == MOLT_WEIGHT_Q8) {
        for (int64_t b = 0; b < blocks; b++)
            for (int i = 0; i < 8; i++) lanes[8 * b + i] = scales[b];
        return;
    }
    /* q4: reorder into nibble order (internal.h), in a copy since `natural` is the source.
     * Packed byte b of the row holds values j and j + G/2 of group b / (G/2); G/2 is a
     * multiple of 16, so runs of 16 bytes stay within one group, one chunk and one block. */
    int8_t *ordered = (int8_t *)(lanes + p.lanes) + p.quantized;
    memset(ordered, 0, (size_t)p.quantized);
    int64_t half = g / 2;
    for (int64_t b = 0; b < w->groups * half; b += 16) {
        int64_t group = b / half, j = b % half, chunk = b / MOLT_Q4_CHUNK, position = b % MOLT_Q4_CHUNK;
        int64_t low = group * g + j, high = low + half;
        int8_t *out = ordered + 2 * MOLT_Q4_CHUNK * chunk + position;
        memcpy(out, natural + low, 16);
        memcpy(out + MOLT_Q4_CHUNK, natural + high, 16);
        for (int k = 0; k < 4; k++) {
            lanes[(out - ordered) / 4 + k] = scales[low / MOLT_BLOCK];
            lanes[(out + MOLT_Q4_CHUNK - ordered) / 4 + k] = scales[high / MOLT_BLOCK];
        }
    }
    a->xq = ordered;
}
