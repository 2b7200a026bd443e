/* The int8-activation matvec (matvec_int8.h) on AVX-512 VNNI lanes: vpdpbusd multiplies 64
 * unsigned bytes by 64 signed ones and adds each 4 products into an int32 lane, exactly. q8
 * weights are signed: |w| times sign(w) x. One vector of q8 or q4 takes the hand-written
 * kernel of matvec_vnni.c, measured faster (BENCHMARKS.md); both give the same bits. */
#include "internal.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni"))), apply_to = function)
#include "matvec_lanes_zmm.h"
#define LANES 16
#define UNROLL_WINDOWS 1
#define INT8_VECTORS 4

typedef struct {
    __m512i magnitudes;
    __mmask64 negative;
} q8w;
typedef struct {
    __m512i low, high;
} q4w;

/* A ragged last step loads only the row's bytes. */
static inline __m512i load_step(const uint8_t *p, int64_t remaining) {
    return remaining >= 64 ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi8((__mmask64)(~0ull >> (64 - remaining)), p);
}

static inline q8w q8_weights(__m512i v) { return (q8w){_mm512_abs_epi8(v), _mm512_movepi8_mask(v)}; }
static inline fvec q8_dot(q8w q, const int8_t *x) {
    const __m512i zero = _mm512_setzero_si512();
    __m512i xv = _mm512_loadu_si512(x);
    return _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, q.magnitudes, _mm512_mask_sub_epi8(xv, q.negative, zero, xv)));
}

static inline q4w q4_weights(__m512i v) {
    const __m512i low4 = _mm512_set1_epi8(15);
    return (q4w){_mm512_and_si512(v, low4), _mm512_and_si512(_mm512_srli_epi16(v, 4), low4)};
}
/* Low and high nibbles into the same int32 lanes. */
static inline fvec q4_dot(q4w q, const int8_t *x) {
    __m512i dot = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), q.low, _mm512_loadu_si512(x)), q.high,
                                      _mm512_loadu_si512(x + MOLT_Q4_CHUNK));
    return _mm512_cvtepi32_ps(dot);
}

static inline fvec spread_groups(fvec window, int first, int lanes_per_group) {
    __m512i pattern = lanes_per_group == 4 ? _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3)
                                           : _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    return _mm512_permutexvar_ps(_mm512_add_epi32(pattern, _mm512_set1_epi32(first)), window);
}

/* The weight scale of each lane of a q8 step of any G: its two halves of 32 values (lanes
 * 0-7, 8-15) each lie in one group, the same one unless G is an odd multiple of 32. A ragged
 * last step has no second half; its lanes multiply zeros. */
static inline fvec walk_scales(const uint8_t *scales, int64_t groups, molt_group_walk *walk) {
    int64_t first = molt_group_walk_next(walk), second = molt_group_walk_next(walk);
    fvec s = fsplat(_cvtsh_ss(molt_load_u16(scales + 2 * first)));
    if (second == first || second >= groups) return s;
    return _mm512_mask_blend_ps(0xFF00, s, fsplat(_cvtsh_ss(molt_load_u16(scales + 2 * second))));
}

static inline fvec sums_window(const float *sums, int64_t g0, int skip, int64_t count, int64_t groups) {
    (void)skip, (void)groups;
    return _mm512_maskz_loadu_ps(first_lanes(count), sums + g0);
}

static inline float q4_total(fvec acc0, fvec acc1, fvec offset) { return fsum(fadd(fadd(acc0, acc1), offset)); }

#define INT8_Q4_ONE molt_rows_int8_q4_vnni
#define INT8_MANY_NAME molt_rows_many_int8_vnni
#include "matvec_int8.h"
#pragma clang attribute pop
#else
/* Never selected: this path is not supported off x86. */
const molt_rows_many_fn molt_rows_many_int8_vnni[2];
#endif
