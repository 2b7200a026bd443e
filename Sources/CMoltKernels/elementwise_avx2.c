/* The element-wise steps (elementwise.h) on AVX2 lanes, and the AVX2 selective scan. */
#include "internal.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#include "elementwise_lanes_ymm.h"
#define ELEMENTWISE_SOFTPLUS molt_softplus_avx2
#define ELEMENTWISE_SILU molt_silu_avx2
#define ELEMENTWISE_GELU molt_gelu_avx2
#include "elementwise.h"

/* One channel's state row is two registers when N <= 16; a full row (N = 16, BlackMamba's)
 * takes plain loads and stores, since masked stores are slow on some CPUs. */
static inline __attribute__((always_inline)) void scan_rows(const int full, int64_t steps, const float *u,
                                                            const float *delta, int64_t di, const float *bc,
                                                            int64_t bc_stride, int64_t n, const float *a,
                                                            const float *d, float *state, float *y, int64_t first,
                                                            int64_t end) {
    __m256i low = molt_first_lanes8(n), high = molt_first_lanes8(n - 8);
#define LOAD(p, mask) (full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask))
    for (int64_t t = 0; t < steps; t++) {
        const float *b = bc + t * bc_stride, *c = b + n;
        __m256 b0 = LOAD(b, low), b1 = LOAD(b + 8, high), c0 = LOAD(c, low), c1 = LOAD(c + 8, high);
        for (int64_t ch = first; ch < end; ch++) {
            float dt = delta[t * di + ch], x = u[t * di + ch];
            float *h = state + ch * n;
            const float *row = a + ch * n;
            __m256 step = _mm256_set1_ps(dt), input = _mm256_set1_ps(dt * x);
            __m256 h0 = _mm256_fmadd_ps(exp_lanes(_mm256_mul_ps(step, LOAD(row, low))), LOAD(h, low), _mm256_mul_ps(input, b0));
            __m256 h1 = _mm256_fmadd_ps(exp_lanes(_mm256_mul_ps(step, LOAD(row + 8, high))), LOAD(h + 8, high), _mm256_mul_ps(input, b1));
            if (full) {
                _mm256_storeu_ps(h, h0);
                _mm256_storeu_ps(h + 8, h1);
            } else {
                _mm256_maskstore_ps(h, low, h0);
                _mm256_maskstore_ps(h + 8, high, h1);
            }
            y[t * di + ch] = molt_sum8(_mm256_fmadd_ps(h1, c1, _mm256_mul_ps(h0, c0))) + d[ch] * x;
        }
    }
#undef LOAD
}

void molt_scan_avx2(int64_t steps, const float *u, const float *delta, int64_t di, const float *bc, int64_t bc_stride,
                    int64_t n, const float *a, const float *d, float *state, float *y, int64_t first, int64_t end) {
    if (n == 16)
        scan_rows(1, steps, u, delta, di, bc, bc_stride, n, a, d, state, y, first, end);
    else
        scan_rows(0, steps, u, delta, di, bc, bc_stride, n, a, d, state, y, first, end);
}
#pragma clang attribute pop
#endif
