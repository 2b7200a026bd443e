/* Portable lanes of the integer matmul (matmul_int8.h): eight rows of X, in plain C arrays.
 * The reference the SIMD paths are tested against, and the path for CPUs without AVX2. */
#include <math.h>
#define LANES 8
/* Rows of W in one register tile. */
#define TILE_ROWS 4
/* Whether q8 activations are stored biased by +128 (as unsigned bytes). */
#define Q8_BIASED 0
/* How X is quantized (activation.h). */
#define PREPARE_X MOLT_PREPARE_PORTABLE

typedef struct { int32_t v[LANES]; } ivec;
typedef struct { float v[LANES]; } fvec;
typedef const int8_t *xvec; /* LANES groups of 4 values */

static inline xvec xload(const int8_t *p) { return p; }

static inline int32_t dot4(const uint8_t *w, const int8_t *x, int is_signed) {
    int32_t sum = 0;
    for (int e = 0; e < 4; e++) sum += (is_signed ? (int32_t)(int8_t)w[e] : (int32_t)w[e]) * x[e];
    return sum;
}

static inline ivec istart(int32_t start) {
    ivec a;
    for (int i = 0; i < LANES; i++) a.v[i] = start;
    return a;
}

/* Adds, lane by lane, the dot product of 4 weights at w (q4: unsigned nibbles; q8: int8,
 * whose magnitudes `magnitudes` the SIMD paths use) with the lane's 4 values of x. */
static inline ivec q4_step(ivec a, const uint8_t *w, xvec x) {
    for (int i = 0; i < LANES; i++) a.v[i] += dot4(w, x + 4 * i, 0);
    return a;
}
static inline ivec q8_step(ivec a, const uint8_t *w, const uint8_t *magnitudes, xvec x) {
    (void)magnitudes;
    for (int i = 0; i < LANES; i++) a.v[i] += dot4(w, x + 4 * i, 1);
    return a;
}
static inline ivec q4_finish(ivec a) { return a; }
/* q8 with int16 activations: 2 int16 weights at w times the lane's 2 int16 values of x. */
static inline ivec wide_step(ivec a, const uint8_t *w, xvec x) {
    int16_t wv[2], xv[2];
    memcpy(wv, w, 4);
    for (int i = 0; i < LANES; i++) {
        memcpy(xv, x + 4 * i, 4);
        a.v[i] += (int32_t)wv[0] * xv[0] + (int32_t)wv[1] * xv[1];
    }
    return a;
}

/* A q4 row's `groups` groups of g values from their packed bytes, in order: each group's g / 2
 * low nibbles, then its high ones (Formats/molt.md). */
static inline void unpack_groups(const uint8_t *packed, int64_t groups, int64_t g, uint8_t *values) {
    int64_t half = g / 2;
    for (int64_t group = 0; group < groups; group++, packed += half, values += g)
        for (int64_t j = 0; j < half; j++) {
            values[j] = packed[j] & 15;
            values[half + j] = packed[j] >> 4;
        }
}

/* n int8 values widened to int16 at `to` (2n bytes). */
static inline void widen_bytes(const uint8_t *from, int64_t n, uint8_t *to) {
    for (int64_t i = 0; i < n; i++) {
        int16_t wide = (int8_t)from[i];
        memcpy(to + 2 * i, &wide, 2);
    }
}

static inline float half_to_float(const uint8_t *p) { return molt_f16_to_f32(molt_load_u16(p)); }
/* n f16 values at p as f32. */
static inline void halves_to_floats(const uint8_t *p, int64_t n, float *out) {
    for (int64_t i = 0; i < n; i++) out[i] = half_to_float(p + 2 * i);
}

static inline fvec fzero(void) {
    fvec a;
    for (int i = 0; i < LANES; i++) a.v[i] = 0;
    return a;
}
static inline fvec fload(const float *p) {
    fvec a;
    for (int i = 0; i < LANES; i++) a.v[i] = p[i];
    return a;
}
static inline void fstore(float *p, fvec a) {
    for (int i = 0; i < LANES; i++) p[i] = a.v[i];
}
/* Lane by lane: (float)dot * (scale * block scale) + sum, rounding the product of the scales,
 * then the fused multiply-add once (fmaf: one instruction where the hardware has FMA). */
static inline fvec fscaled(fvec sum, ivec dot, float scale, fvec block_scales) {
    for (int i = 0; i < LANES; i++) sum.v[i] = fmaf((float)dot.v[i], scale * block_scales.v[i], sum.v[i]);
    return sum;
}
/* minimum * group sum + offset, lane by lane, fused. */
static inline fvec foffset(fvec offset, float minimum, fvec sums) {
    for (int i = 0; i < LANES; i++) offset.v[i] = fmaf(minimum, sums.v[i], offset.v[i]);
    return offset;
}
static inline fvec fadd(fvec a, fvec b) {
    for (int i = 0; i < LANES; i++) a.v[i] += b.v[i];
    return a;
}

/* The f32 route's steps (matmul_float.h): LANES consecutive values of a row of W or of Y. */
static inline fvec fsplat(float v) {
    fvec a;
    for (int i = 0; i < LANES; i++) a.v[i] = v;
    return a;
}
static inline fvec fmul(fvec a, fvec b) {
    for (int i = 0; i < LANES; i++) a.v[i] *= b.v[i];
    return a;
}
static inline fvec fmadd(fvec a, fvec b, fvec c) {
    for (int i = 0; i < LANES; i++) c.v[i] = fmaf(a.v[i], b.v[i], c.v[i]);
    return c;
}
static inline void fstoreu(float *p, fvec a) { fstore(p, a); }
/* The first n lanes (any n; none when n <= 0) from p, the others zero; and back. */
static inline fvec fload_first(const float *p, int64_t n) {
    fvec a = fzero();
    for (int i = 0; i < LANES && i < n; i++) a.v[i] = p[i];
    return a;
}
static inline void fstore_first(float *p, int64_t n, fvec a) {
    for (int i = 0; i < LANES && i < n; i++) p[i] = a.v[i];
}
/* LANES stored values as f32: q8 bytes, q4 bytes' low and high nibbles, f16, bf16. */
static inline fvec q8_values(const uint8_t *p) {
    fvec a;
    for (int i = 0; i < LANES; i++) a.v[i] = (float)(int8_t)p[i];
    return a;
}
static inline void q4_values(const uint8_t *p, fvec *low, fvec *high) {
    for (int i = 0; i < LANES; i++) {
        low->v[i] = (float)(p[i] & 15);
        high->v[i] = (float)(p[i] >> 4);
    }
}
static inline fvec f16_values(const uint8_t *p) {
    fvec a;
    for (int i = 0; i < LANES; i++) a.v[i] = molt_f16_to_f32(molt_load_u16(p + 2 * i));
    return a;
}
static inline fvec bf16_values(const uint8_t *p) {
    fvec a;
    for (int i = 0; i < LANES; i++) a.v[i] = molt_bf16_to_f32(molt_load_u16(p + 2 * i));
    return a;
}
