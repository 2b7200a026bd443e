#ifndef MOLT_QUANT_INTERNAL_H
#define MOLT_QUANT_INTERNAL_H

/* Every path must round exactly as the others: a fused multiply-add would skip a rounding. */
#pragma STDC FP_CONTRACT OFF

#include <stdint.h>
#include <string.h>
#include "molt_quant.h"

/* The block-level entry of one instruction-set path (path_*.c). */
typedef molt_quant_status (*molt_quant_block_fn)(const molt_quant_job *job, const uint8_t *source, int64_t rows,
                                                 uint8_t *destination, molt_quant_error *error);

molt_quant_status molt_quant_block_portable(const molt_quant_job *, const uint8_t *, int64_t, uint8_t *, molt_quant_error *);
void molt_quant_measure_portable(const molt_quant_job *, const uint8_t *, int64_t, const uint8_t *, molt_quant_error *);
#if defined(__x86_64__) || defined(__i386__)
molt_quant_status molt_quant_block_avx2(const molt_quant_job *, const uint8_t *, int64_t, uint8_t *, molt_quant_error *);
molt_quant_status molt_quant_block_avx512(const molt_quant_job *, const uint8_t *, int64_t, uint8_t *, molt_quant_error *);
#endif

/* The smallest positive f16 (subnormal 2^-24): the scale of groups too small for any other. */
#define MOLT_SMALLEST_HALF 0x1p-24f

static inline uint32_t molt_float_bits(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

static inline float molt_bits_float(uint32_t b) {
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static inline int molt_is_finite(float f) { return f < __builtin_inff() && f > -__builtin_inff(); }

/* `x` rounded to the nearest f16 (ties to even), back in f32: what a stored scale or minimum
 * will be. Subnormal f16s are the multiples of 2^-24, like the f32s in [0.5, 1), so adding and
 * subtracting 0.75 rounds them (and makes tiny negatives +0, which the SIMD paths match).
 * Beyond f16's range: +infinity whatever the sign (only tested for being finite). */
static inline float molt_round_to_half(float x) {
    if (x < 0x1p-14f && x > -0x1p-14f) return (x + 0.75f) - 0.75f;
    uint32_t bits = molt_float_bits(x);
    float rounded = molt_bits_float((bits + 0xFFFu + ((bits >> 13) & 1u)) & ~0x1FFFu);
    return rounded > 65504.0f || rounded < -65504.0f ? __builtin_inff() : rounded;
}

/* The f16 bits of a value that is exactly an f16 (a rounded scale or minimum). */
static inline uint16_t molt_half_bits(float x) {
    uint32_t bits = molt_float_bits(x), sign = (bits >> 16) & 0x8000u;
    float magnitude = molt_bits_float(bits & 0x7FFFFFFFu);
    if (magnitude < 0x1p-14f) return (uint16_t)(sign | (uint32_t)(magnitude * 0x1p24f));
    return (uint16_t)(sign | ((((bits >> 23) & 0xFFu) - 112u) << 10) | ((bits >> 13) & 0x3FFu));
}

static inline float molt_half_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1Fu, mantissa = h & 0x3FFu;
    if (exponent == 0x1F) return molt_bits_float(sign | 0x7F800000u | (mantissa << 13));
    if (exponent != 0) return molt_bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    return molt_bits_float(sign | molt_float_bits((float)mantissa * 0x1p-24f));
}

static inline uint16_t molt_load_u16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static inline void molt_store_u16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* Source element i as f32 (exact for every source type). */
static inline float molt_source_value(const uint8_t *source, molt_quant_source type, int64_t i) {
    switch (type) {
    case MOLT_QUANT_SOURCE_BF16: return molt_bits_float((uint32_t)molt_load_u16(source + 2 * i) << 16);
    case MOLT_QUANT_SOURCE_F16: return molt_half_float(molt_load_u16(source + 2 * i));
    default: {
        float f;
        memcpy(&f, source + 4 * i, 4);
        return f;
    }
    }
}

static inline int64_t molt_source_size(molt_quant_source type) { return type == MOLT_QUANT_SOURCE_F32 ? 4 : 2; }

#endif
