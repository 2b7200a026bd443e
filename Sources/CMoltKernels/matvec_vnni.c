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

/* q8: signed weights times signed activations, through |w| times sign(w) x. */
MOLT_TARGET_VNNI static void rows_q8(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin,
                                     int64_t end) {
    int64_t g = w->group_size, bytes = w->groups * g;
    const __m512i zero = _mm512_setzero_si512();
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride, *scales = row + bytes;
        __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
        molt_group_walk walk = molt_group_walk_start(g);
        for (int64_t p = 0; 64 * p < bytes; p++) {
            __m512i v = 64 * p + 64 <= bytes ? _mm512_loadu_si512(row + 64 * p)
                                             : _mm512_maskz_loadu_epi8(0xFFFFFFFFu, row + 64 * p);
            __m512i xv = _mm512_loadu_si512(a->xq + 64 * p);
            __m512i signed_x = _mm512_mask_sub_epi8(xv, _mm512_movepi8_mask(v), zero, xv);
            __m512i dot = _mm512_dpbusd_epi32(zero, _mm512_abs_epi8(v), signed_x);
            __m512 d = _mm512_mul_ps(chunk_scales(scales, w->groups, &walk, 0xFF00),
                                     _mm512_loadu_ps(a->lane_scales + 16 * p));
            acc[p & 1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), d, acc[p & 1]);
        }
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1]));
    }
}

/* q4: 32 packed bytes become 64 values, low nibbles in the lower half of the register. */
MOLT_TARGET_VNNI static void rows_q4(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin,
                                     int64_t end) {
    int64_t g = w->group_size, bytes = w->groups * g / 2;
    const __m512i zero = _mm512_setzero_si512(), low4 = _mm512_set1_epi8(15);
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;
        const uint8_t *scales = row + bytes, *minimums = scales + 2 * w->groups;
        __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
        molt_group_walk walk = molt_group_walk_start(g);
        for (int64_t p = 0; 32 * p < bytes; p++) {
            __m256i v = 32 * p + 32 <= bytes ? _mm256_loadu_si256((const __m256i *)(row + 32 * p))
                                             : _mm256_maskz_loadu_epi8(0xFFFFu, row + 32 * p);
            __m512i q = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1), low4);
            __m512i dot = _mm512_dpbusd_epi32(zero, q, _mm512_loadu_si512(a->xq + 64 * p));
            __m512 d = _mm512_mul_ps(chunk_scales(scales, w->groups, &walk, 0xF0F0),
                                     _mm512_loadu_ps(a->lane_scales + 16 * p));
            acc[p & 1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), d, acc[p & 1]);
        }
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1])) +
               molt_minimum_term_avx512(minimums, a->group_sums, w->groups);
    }
}

const molt_rows_fn molt_rows_int8_vnni[2] = {rows_q8, rows_q4};
#else
#include "internal.h"
const molt_rows_fn molt_rows_int8_vnni[2];
#endif
