/* AVX-512 VNNI row kernels for int8 activations: vpdpbusd multiplies 64 unsigned bytes by 64
 * signed ones and adds each 4 products into an int32 lane, exactly. Each lane's sum is then
 * scaled by its weight group's scale times its activation block's scale (lane_scales). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "internal.h"

MOLT_TARGET_VNNI static inline float half_to_float(const uint8_t *p) { return _cvtsh_ss(molt_load_u16(p)); }

/* The weight scale of each lane of a chunk: its two halves (lanes outside and inside
 * `second_lanes`) each lie in one group, the same one unless G is an odd multiple of 32.
 * A ragged last chunk has no second half; its lanes multiply zeros. */
MOLT_TARGET_VNNI static inline __m512 chunk_scales(const uint8_t *scales, int64_t groups, molt_group_walk *walk,
                                                   __mmask16 second_lanes) {
    int64_t first = molt_group_walk_next(walk), second = molt_group_walk_next(walk);
    __m512 s = _mm512_set1_ps(half_to_float(scales + 2 * first));
    if (second == first || second >= groups) return s;
    return _mm512_mask_blend_ps(second_lanes, s, _mm512_set1_ps(half_to_float(scales + 2 * second)));
}

/* q8 with G = 32, the default, takes its weight scales 16 at a time: a chunk holds groups 2p
 * and 2p + 1, and one permute spreads them over its lanes (`pattern`, plus 2 per chunk). A
 * ragged last chunk's missing group reads as scale 0 (masked load) and multiplies zeros. */
MOLT_TARGET_VNNI static inline __m512 scales_window(const uint8_t *scales, int64_t groups, int64_t first_group) {
    int64_t n = groups - first_group;
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1), scales + 2 * first_group));
}

/* Chunks p0..<p0 + count, count <= 8, all within one window of 16 groups, alternating
 * between acc0 and acc1. Written out rather than through MOLT_ALTERNATE(_UNROLLED), which
 * compile to other code for this loop (the one-vector q8 decode kernel on VNNI, chosen on
 * whole-model timings): the same steps in the same order, so the same bits, but untimed. */
#define G32_WINDOWS(CHUNKS, PATTERN, CHUNK)                                                          \
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();                                \
    for (int64_t p0 = 0; p0 < (CHUNKS); p0 += 8) {                                                \
        __m512 window = scales_window(scales, w->groups, 2 * p0);                                 \
        int64_t count = (CHUNKS) - p0 < 8 ? (CHUNKS) - p0 : 8, k = 0;                             \
        __m512i index = PATTERN;                                                                  \
        for (; k + 1 < count; k += 2) {                                                           \
            acc0 = CHUNK(p0 + k, _mm512_permutexvar_ps(index, window), acc0);                     \
            index = _mm512_add_epi32(index, _mm512_set1_epi32(2));                                \
            acc1 = CHUNK(p0 + k + 1, _mm512_permutexvar_ps(index, window), acc1);                 \
            index = _mm512_add_epi32(index, _mm512_set1_epi32(2));                                \
        }                                                                                         \
        if (k < count) acc0 = CHUNK(p0 + k, _mm512_permutexvar_ps(index, window), acc0);          \
    }

/* q8: signed weights times signed activations, through |w| times sign(w) x. A ragged last
 * chunk (G = 32, odd group count) loads only its 32 bytes, as q4's loads 16. */
MOLT_TARGET_VNNI static inline __m512 q8_chunk_scaled(const uint8_t *row, const molt_activation *a, int64_t bytes,
                                                       int64_t p, __m512 scale, __m512 acc) {
    const __m512i zero = _mm512_setzero_si512();
    _mm_prefetch((const char *)(row + 64 * p + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
    __m512i v = 64 * p + 64 <= bytes ? _mm512_loadu_si512(row + 64 * p) : _mm512_maskz_loadu_epi8(0xFFFFFFFFu, row + 64 * p);
    __m512i xv = _mm512_loadu_si512(a->xq + 64 * p);
    __m512i signed_x = _mm512_mask_sub_epi8(xv, _mm512_movepi8_mask(v), zero, xv);
    __m512i dot = _mm512_dpbusd_epi32(zero, _mm512_abs_epi8(v), signed_x);
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(scale, _mm512_loadu_ps(a->lane_scales + 16 * p)), acc);
}

/* q4 with other G: 32 packed bytes a step, low nibbles in lanes 0-7 and high ones in 8-15,
 * each lane scaled by its own activation block's scale. */
MOLT_TARGET_VNNI static inline __m512 q4_step(const uint8_t *row, const molt_activation *a, int64_t bytes, int64_t b,
                                               __m512 scale, __m512 acc) {
    _mm_prefetch((const char *)(row + b + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
    __m256i v = b + 32 <= bytes ? _mm256_loadu_si256((const __m256i *)(row + b)) : _mm256_maskz_loadu_epi8(0xFFFFu, row + b);
    __m512i q = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1),
                                 _mm512_set1_epi8(15));
    int64_t low = molt_nibble_offset(b), high = low + MOLT_Q4_CHUNK;
    __m512i x = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(a->xq + low))),
                                   _mm256_loadu_si256((const __m256i *)(a->xq + high)), 1);
    __m512 lanes = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(a->lane_scales + low / 4)),
                                      _mm256_loadu_ps(a->lane_scales + high / 4), 1);
    __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, x);
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(scale, lanes), acc);
}

/* q4 with G = 32, the default: a chunk of 64 packed bytes is four whole groups. Its low and
 * high nibbles multiply activations stored side by side (nibble order), both into the same
 * int32 lanes, four per group (block = group, so the lanes share one activation scale), and
 * each group's lanes take its weight scale times its block's scale: 16 groups' combined
 * scales at a time, spread by a permute; the minimums' term joins the same pass, so a row
 * takes one reduction. A ragged last chunk loads only its groups' bytes. */
MOLT_TARGET_VNNI static float q4_row32(const uint8_t *row, const uint8_t *scales, const molt_activation *a,
                                       int64_t groups) {
    const __m512i low4 = _mm512_set1_epi8(15), zero = _mm512_setzero_si512();
    const uint8_t *minimums = scales + 2 * groups;
    int64_t bytes = 16 * groups;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), offset = _mm512_setzero_ps();
    for (int64_t g0 = 0; g0 < groups; g0 += 16) {
        int64_t count = groups - g0 < 16 ? groups - g0 : 16;
        __mmask16 m = count == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1);
        /* The minimums' term of these groups, in the same pass: one reduction per row. */
        offset = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, minimums + 2 * g0)),
                                 _mm512_maskz_loadu_ps(m, a->group_sums + g0), offset);
        __m512 window = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, scales + 2 * g0)),
                                      _mm512_maskz_loadu_ps(m, a->block_scales + g0));
        __m512i index = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
        for (int64_t k = 0; k < count; k += 4) {
            int64_t b = 16 * (g0 + k);
            _mm_prefetch((const char *)(row + b + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
            __m512i v = b + 64 <= bytes ? _mm512_loadu_si512(row + b)
                                        : _mm512_maskz_loadu_epi8((__mmask64)(~0ull >> (64 - (bytes - b))), row + b);
            const int8_t *x = a->xq + molt_nibble_offset(b);
            __m512i lo = _mm512_and_si512(v, low4), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
            __m512i dot = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, lo, _mm512_loadu_si512(x)), hi,
                                              _mm512_loadu_si512(x + MOLT_Q4_CHUNK));
            __m512 scale = _mm512_permutexvar_ps(index, window);
            index = _mm512_add_epi32(index, _mm512_set1_epi32(4));
            if (k & 4) acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc1);
            else acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc0);
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), offset));
}

/* Other group sizes walk the groups chunk by chunk. */
MOLT_TARGET_VNNI static inline __m512 q8_chunk(const uint8_t *row, const uint8_t *scales, const molt_activation *a,
                                                int64_t bytes, int64_t groups, molt_group_walk *walk, int64_t p,
                                                __m512 acc) {
    return q8_chunk_scaled(row, a, bytes, p, chunk_scales(scales, groups, walk, 0xFF00), acc);
}

MOLT_TARGET_VNNI static inline __m512 q4_chunk(const uint8_t *row, const uint8_t *scales, const molt_activation *a,
                                                int64_t bytes, int64_t groups, molt_group_walk *walk, int64_t p,
                                                __m512 acc) {
    return q4_step(row, a, bytes, 32 * p, chunk_scales(scales, groups, walk, 0xF0F0), acc);
}

MOLT_TARGET_VNNI static void rows_q8(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin,
                                     int64_t end) {
    int64_t bytes = w->groups * w->group_size, chunks = (bytes + 63) / 64;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride, *scales = row + bytes;
        if (w->group_size == 32) {
#define CHUNK(P, SCALE, ACC) q8_chunk_scaled(row, a, bytes, P, SCALE, ACC)
            G32_WINDOWS(chunks, _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1), CHUNK)
#undef CHUNK
            y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
        } else {
            molt_group_walk walk = molt_group_walk_start(w->group_size);
#define STEP(P, ACC) ACC = q8_chunk(row, scales, a, bytes, w->groups, &walk, P, ACC)
            __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
            MOLT_ALTERNATE(chunks, STEP)
#undef STEP
            y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
        }
    }
}

/* One vector of q4 (several vectors go through matvec_int8.h, which takes G = 32 itself). */
MOLT_TARGET_VNNI static void rows_q4(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin,
                                     int64_t end) {
    int64_t bytes = w->groups * w->group_size / 2, chunks = (bytes + 31) / 32;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;
        const uint8_t *scales = row + bytes, *minimums = scales + 2 * w->groups;
        if (w->group_size == 32) {
            y[r] = q4_row32(row, scales, a, w->groups);
            continue;
        }
        float offset = molt_minimum_term_avx512(minimums, a->group_sums, w->groups);
        molt_group_walk walk = molt_group_walk_start(w->group_size);
#define STEP(P, ACC) ACC = q4_chunk(row, scales, a, bytes, w->groups, &walk, P, ACC)
        __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
        MOLT_ALTERNATE(chunks, STEP)
#undef STEP
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + offset;
    }
}

const molt_rows_fn molt_rows_int8_q8_vnni = rows_q8, molt_rows_int8_q4_vnni = rows_q4;
#else
#include "internal.h"
const molt_rows_fn molt_rows_int8_q8_vnni, molt_rows_int8_q4_vnni;
#endif
