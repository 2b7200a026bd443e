#ifndef MOLT_KERNELS_INTERNAL_H
#define MOLT_KERNELS_INTERNAL_H

#include <stdint.h>
#include <string.h>
#include "molt_kernels.h"

#define MOLT_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define MOLT_TARGET_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")))
#define MOLT_TARGET_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

/* Activation quantization block: 32 values share one f32 scale. G is a multiple of 32, so a
 * block never straddles two weight groups. */
#define MOLT_BLOCK 32

/* q4's SIMD kernels take a row's packed bytes 64 at a time (128 values): with G = 32 that is
 * four whole groups, whose low and high nibbles multiply activations stored side by side
 * (molt_activation's nibble order), so one integer sum per lane covers both. */
#define MOLT_Q4_CHUNK 64

/* How far ahead of its loads a quantized row kernel prefetches: the hardware prefetcher alone
 * leaves q4 decode well short of what the kernel does from L2 (BENCHMARKS.md, "Kernel design
 * choices"). Prefetches never fault, so running past the end of the matrix is harmless. */
#define MOLT_PREFETCH_BYTES 4096

/* The activation vector as the row kernels read it, prepared once per matvec. */
typedef struct {
    /* f32 activations. q8/q4: zero-padded to groups * G, as Formats/molt.md requires. */
    const float *x;
    /* q4: the f32 sum of x over each group, for the minimum's term. */
    const float *group_sums;
    /* int8: x quantized per block. q8: natural order. q4: natural order for the scalar
     * kernel; for the SIMD ones, nibble order: the row's packed bytes in chunks of
     * C = MOLT_Q4_CHUNK, chunk p holding at 2Cp + i the value in the low nibble of packed byte
     * Cp + i, and at 2Cp + C + i the one in its high nibble. Zero-padded. */
    const int8_t *xq;
    /* int8 and int16: the f32 scale of each block, natural order. */
    const float *block_scales;
    /* int16 (q8 only): x quantized per block, natural order, zero-padded to groups * G. */
    const int16_t *x16;
    /* int8 SIMD: the activation scale of each int32 lane of an integer dot product, that is
     * of each 4 values in the order above (q8: 8 per block, repeated). Zero past the data. */
    const float *lane_scales;
} molt_activation;

/* Where the low nibble of packed byte b sits in q4's nibble order; the high one is
 * MOLT_Q4_CHUNK further. */
static inline int64_t molt_nibble_offset(int64_t b) {
    return 2 * MOLT_Q4_CHUNK * (b / MOLT_Q4_CHUNK) + b % MOLT_Q4_CHUNK;
}

/* Computes y[begin..<end] of one matvec. */
typedef void (*molt_rows_fn)(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin, int64_t end);

/* Row kernels indexed by molt_weight_type (f32 activations), or by type - MOLT_WEIGHT_Q8
 * (int8 activations). */
extern const molt_rows_fn molt_rows_scalar[5], molt_rows_avx2[5], molt_rows_avx512[5];
extern const molt_rows_fn molt_rows_int8_scalar[2];
/* q8 and q4 with int8 activations, one vector: matvec_int8.h's kernel with V = 1, or where
 * that measured slower (q4 on AVX2 and VNNI, q8 on VNNI), the hand-written one of matvec_avx2.c
 * or matvec_vnni.c (BENCHMARKS.md). */
extern const molt_rows_fn molt_rows_int8_q8_avx2, molt_rows_int8_q4_avx2, molt_rows_int8_q8_vnni, molt_rows_int8_q4_vnni;
/* q8 weights with int16 activations, per path. */
extern const molt_rows_fn molt_rows_q8_int16_scalar, molt_rows_q8_int16_avx2, molt_rows_q8_int16_avx512,
    molt_rows_q8_int16_vnni;

/* Computes y[v * w->rows + r] for the `count` activations a[v] and rows begin..<end, taking
 * each block of weights from memory and preparing it once for all of them; each vector's
 * sums run in the order of the one-vector kernel of its path, so it gets the same bits. */
typedef void (*molt_rows_many_fn)(const molt_matrix *w, const molt_activation *a, int64_t count, float *y,
                                  int64_t begin, int64_t end);
/* Any number of vectors through kernels that take up to `most` at once (by_count[n] takes n):
 * `most` at a time, then the rest together. */
static inline void molt_rows_in_batches(const molt_rows_fn *by_count, int64_t most, const molt_matrix *w,
                                        const molt_activation *a, int64_t count, float *y, int64_t begin, int64_t end) {
    for (int64_t v = 0; v < count; v += most) {
        int64_t n = count - v < most ? count - v : most;
        by_count[n](w, a + v, y + v * w->rows, begin, end);
    }
}
extern const molt_rows_many_fn molt_rows_many_q8_int16_avx2, molt_rows_many_q8_int16_avx512,
    molt_rows_many_q8_int16_vnni;
/* q8 and q4 weights with int8 activations, indexed by type - MOLT_WEIGHT_Q8. */
extern const molt_rows_many_fn molt_rows_many_int8_avx2[2], molt_rows_many_int8_vnni[2];

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* AVX2 kernels read a row's f16 scales (or minimums) eight at a time: */
/* Eight f16 values at `halves` + 2 * first from a run of `count` (first < count); with fewer
 * than eight left, the last eight of the run, so as to stay inside it, and `*skip` says how
 * many lanes at the front were taken before. A run shorter than eight is copied. */
MOLT_TARGET_AVX2 static inline __m256 molt_load_f16_window(const uint8_t *halves, int64_t first, int64_t count, int *skip) {
    *skip = 0;
    if (first + 8 <= count) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(halves + 2 * first)));
    if (count >= 8) {
        *skip = (int)(first + 8 - count);
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(halves + 2 * (count - 8))));
    }
    uint16_t t[8] = {0};
    memcpy(t, halves + 2 * first, (size_t)(count - first) * 2);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)t));
}

/* The group sums matching a molt_load_f16_window of `groups` f16 values from g0: lanes
 * before `skip` (summed already) and past the run are zero. */
MOLT_TARGET_AVX2 static inline __m256 molt_load_sums_window(const float *sums, int64_t g0, int skip, int64_t groups) {
    if (groups < 8) {
        float t[8] = {0};
        memcpy(t, sums, (size_t)groups * 4);
        return _mm256_loadu_ps(t);
    }
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256 fresh = _mm256_castsi256_ps(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32(skip - 1)));
    return _mm256_and_ps(_mm256_loadu_ps(sums + g0 - skip), fresh);
}

/* Lanes 0..<n of eight (n clamped to 0...8), as a mask for maskload / maskstore. */
MOLT_TARGET_AVX2 static inline __m256i molt_first_lanes8(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 0 ? 0 : n > 8 ? 8 : n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The sum of eight lanes, in a fixed order: halves, then pairs, then the last two. */
MOLT_TARGET_AVX2 static inline float molt_sum8(__m256 v) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

/* q4's minimum term, sum over groups of min * (sum of x over the group), in AVX-512. */
float molt_minimum_term_avx512(const uint8_t *minimums, const float *sums, int64_t groups);

/* The element-wise steps' vector paths (elementwise_avx2.c, elementwise_avx512.c), called by
 * elementwise.c where the CPU has them. */
void molt_softplus_avx2(float *x, const float *bias, int64_t count);
void molt_softplus_avx512(float *x, const float *bias, int64_t count);
void molt_silu_avx2(float *out, const float *in, const float *gate, int64_t count);
void molt_silu_avx512(float *out, const float *in, const float *gate, int64_t count);
void molt_gelu_avx2(float *out, const float *in, const float *gate, int64_t count);
void molt_gelu_avx512(float *out, const float *in, const float *gate, int64_t count);
void molt_scan_avx2(int64_t steps, const float *u, const float *delta, int64_t di, const float *bc, int64_t bc_stride,
                    int64_t n, const float *a, const float *d, float *state, float *y, int64_t first, int64_t end);
void molt_scan_avx512(int64_t steps, const float *u, const float *delta, int64_t di, const float *bc, int64_t bc_stride,
                      int64_t n, const float *a, const float *d, float *state, float *y, int64_t first, int64_t end);
#endif

/* The SIMD int8 kernels walk a row in halves of chunks: 32 values of q8, or 16 packed bytes
 * of q4 (32 values). Either way G / 32 halves make a group. */
typedef struct {
    int64_t group, left, per_group;
} molt_group_walk;

static inline molt_group_walk molt_group_walk_start(int64_t group_size) {
    return (molt_group_walk){0, group_size / 32, group_size / 32};
}

/* The group of the next half. */
static inline int64_t molt_group_walk_next(molt_group_walk *walk) {
    int64_t group = walk->group;
    if (--walk->left == 0) {
        walk->group++;
        walk->left = walk->per_group;
    }
    return group;
}

/* Steps 0..<COUNT alternate between two accumulators, acc0 and acc1, that the caller
 * declares (a vector each, or an array of one per activation vector), unrolled by hand (an
 * accumulator picked by index would live in memory) so that consecutive steps' fused adds do
 * not wait on each other. STEP(k, ACC) does step k into ACC. */
#define MOLT_ALTERNATE(COUNT, STEP)                \
    {                                              \
        int64_t k_ = 0;                            \
        for (; k_ + 1 < (COUNT); k_ += 2) {        \
            STEP(k_, acc0);                        \
            STEP(k_ + 1, acc1);                    \
        }                                          \
        if (k_ < (COUNT)) STEP(k_, acc0);          \
    }
/* The same steps in the same order for COUNT at most MOST (a constant, even), which the
 * compiler unrolls whole, so that each step's index is a constant: where a kernel's lanes
 * are a function of it (VNNI's q4 in matvec_int8.h; AVX2 gains nothing, its windows' lane
 * offset being a variable: BENCHMARKS.md, "Kernel design choices"). */
#define MOLT_ALTERNATE_UNROLLED(MOST, COUNT, STEP)  \
    for (int k_ = 0; k_ < (MOST); k_ += 2) {       \
        if (k_ < (COUNT)) STEP(k_, acc0);          \
        if (k_ + 1 < (COUNT)) STEP(k_ + 1, acc1);  \
    }

/* Pool internals the kernels use. */
typedef void (*molt_task_fn)(void *context, int64_t task, int worker);
void molt_pool_lock(molt_pool *pool);
void molt_pool_unlock(molt_pool *pool);
/* Runs fn(context, task, worker) for every task in 0..<tasks; returns when all are done. */
void molt_pool_run(molt_pool *pool, int64_t tasks, molt_task_fn fn, void *context);
/* The same, with each thread's tasks contiguous: 0..<tasks is cut into one range per thread,
 * each thread takes its own range from the front, then helps the others from their backs.
 * Consecutive tasks over consecutive rows then reach each core as one stream. */
void molt_pool_run_ranges(molt_pool *pool, int64_t tasks, molt_task_fn fn, void *context);
/* A 64-byte-aligned buffer of at least `bytes` that only `slot` uses, kept between runs:
 * slots 0..<threads belong to the workers, slot `threads` to the caller holding the lock.
 * NULL if memory ran out. */
void *molt_pool_scratch(molt_pool *pool, int slot, size_t bytes);

/* Exact f16 -> f32 without F16C, for the portable path. */
static inline float molt_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else {
        float magnitude = (float)mantissa * 0x1p-24f; /* subnormal or zero: exact */
        memcpy(&bits, &magnitude, 4);
        bits |= sign;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline float molt_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t molt_load_u16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static inline int molt_is_quantized(int32_t type) { return type == MOLT_WEIGHT_Q8 || type == MOLT_WEIGHT_Q4; }

#endif
