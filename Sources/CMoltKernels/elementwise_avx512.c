/* The element-wise steps (elementwise.h) on AVX-512 lanes, and the AVX-512 selective scan. */
#include "internal.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq"))), apply_to = function)
#include "elementwise_lanes_zmm.h"
#define ELEMENTWISE_SOFTPLUS molt_softplus_avx512
#define ELEMENTWISE_SILU molt_silu_avx512
#define ELEMENTWISE_GELU molt_gelu_avx512
#include "elementwise.h"

/* One channel's state row is one register when N <= 16 (BlackMamba's is 16). */
void molt_scan_avx512(int64_t steps, const float *u, const float *delta, int64_t di, const float *bc, int64_t bc_stride,
                      int64_t n, const float *a, const float *d, float *state, float *y, int64_t first, int64_t end) {
    __mmask16 lanes = first_lanes(n);
    for (int64_t t = 0; t < steps; t++) {
        const float *b = bc + t * bc_stride;
        __m512 bv = _mm512_maskz_loadu_ps(lanes, b), cv = _mm512_maskz_loadu_ps(lanes, b + n);
        for (int64_t ch = first; ch < end; ch++) {
            float dt = delta[t * di + ch], x = u[t * di + ch];
            float *h = state + ch * n;
            __m512 decay = exp_lanes(_mm512_mul_ps(_mm512_set1_ps(dt), _mm512_maskz_loadu_ps(lanes, a + ch * n)));
            __m512 next = _mm512_fmadd_ps(decay, _mm512_maskz_loadu_ps(lanes, h), _mm512_mul_ps(_mm512_set1_ps(dt * x), bv));
            _mm512_mask_storeu_ps(h, lanes, next);
            y[t * di + ch] = _mm512_reduce_add_ps(_mm512_maskz_mul_ps(lanes, next, cv)) + d[ch] * x;
        }
    }
}
#pragma clang attribute pop
#endif
