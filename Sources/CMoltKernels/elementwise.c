/* The mixers' element-wise steps: the Mamba scan and softplus, SiLU (Mamba's convolution and
 * gate) and the experts' GELU. The scan needs an exponential per state element and position,
 * the softplus one exponential and one logarithm per channel and position, SiLU one
 * exponential and GELU an erf per value: called from libm one value at a time, they cost more
 * than the matrix products around them in a short prefill, and a few percent of a decode
 * step. The AVX-512 path computes 16 at a time and the AVX2 path 8, with Cephes' exp and log
 * polynomials and our own erf and erfc ones (Scripts/fit_erf_polynomials.py), within a few
 * ulp of the exact values (except that exponentials stop at about 1e-38 instead of going
 * subnormal), the same values on both: one algorithm (elementwise.h) over each path's lanes
 * (elementwise_avx2.c, elementwise_avx512.c, which also hold each path's scan). The portable
 * path, here, calls libm. */
#include <math.h>
#include "internal.h"

static void scan_portable(int64_t steps, const float *u, const float *delta, int64_t di, const float *bc,
                          int64_t bc_stride, int64_t n, const float *a, const float *d, float *state, float *y,
                          int64_t first, int64_t end) {
    for (int64_t t = 0; t < steps; t++) {
        const float *b = bc + t * bc_stride, *c = b + n;
        for (int64_t ch = first; ch < end; ch++) {
            float dt = delta[t * di + ch], x = u[t * di + ch], out = 0;
            float *h = state + ch * n;
            for (int64_t j = 0; j < n; j++) {
                h[j] = expf(dt * a[ch * n + j]) * h[j] + dt * x * b[j];
                out += h[j] * c[j];
            }
            y[t * di + ch] = out + d[ch] * x;
        }
    }
}

static float softplus(float v) { return v > 20 ? v : log1pf(expf(v)); }

static void softplus_portable(float *x, const float *bias, int64_t count) {
    for (int64_t i = 0; i < count; i++) x[i] = softplus(x[i] + bias[i]);
}

static float silu(float v) { return v / (1 + expf(-v)); }

/* gelu(v) = v Φ(v), Φ(v) = erfc(-v / √2) / 2: the erfc form keeps the relative precision of
 * the far negative tail, which 1 + erf(v / √2) loses, and in double so does -v / √2. */
static float gelu(float v) { return (float)(v * 0.5 * erfc(-(double)v * 0.70710678118654752)); }

/* out = f(in) * gate, or f(in) without a gate, over `count` values; out may be in or gate.
 * Each path has one such loop, which SiLU and GELU share. */
static inline void map_portable(float (*f)(float), float *out, const float *in, const float *gate, int64_t count) {
    for (int64_t i = 0; i < count; i++) out[i] = gate ? f(in[i]) * gate[i] : f(in[i]);
}

void molt_selective_scan(int64_t steps, const float *u, const float *delta, int64_t di, const float *bc,
                         int64_t bc_stride, int64_t n, const float *a, const float *d, float *state, float *y,
                         int64_t first, int64_t end, molt_path path) {
#if defined(__x86_64__) || defined(__i386__)
    if (n <= 16 && path >= MOLT_PATH_AVX512 && molt_path_supported(path))
        return molt_scan_avx512(steps, u, delta, di, bc, bc_stride, n, a, d, state, y, first, end);
    if (n <= 16 && path >= MOLT_PATH_AVX2 && molt_path_supported(path))
        return molt_scan_avx2(steps, u, delta, di, bc, bc_stride, n, a, d, state, y, first, end);
#endif
    scan_portable(steps, u, delta, di, bc, bc_stride, n, a, d, state, y, first, end);
}

void molt_softplus(float *x, const float *bias, int64_t count, molt_path path) {
#if defined(__x86_64__) || defined(__i386__)
    if (path >= MOLT_PATH_AVX512 && molt_path_supported(path)) return molt_softplus_avx512(x, bias, count);
    if (path >= MOLT_PATH_AVX2 && molt_path_supported(path)) return molt_softplus_avx2(x, bias, count);
#endif
    softplus_portable(x, bias, count);
}

void molt_silu(float *out, const float *in, const float *gate, int64_t count, molt_path path) {
#if defined(__x86_64__) || defined(__i386__)
    if (path >= MOLT_PATH_AVX512 && molt_path_supported(path)) return molt_silu_avx512(out, in, gate, count);
    if (path >= MOLT_PATH_AVX2 && molt_path_supported(path)) return molt_silu_avx2(out, in, gate, count);
#endif
    map_portable(silu, out, in, gate, count);
}

void molt_gelu(float *out, const float *in, const float *gate, int64_t count, molt_path path) {
#if defined(__x86_64__) || defined(__i386__)
    if (path >= MOLT_PATH_AVX512 && molt_path_supported(path)) return molt_gelu_avx512(out, in, gate, count);
    if (path >= MOLT_PATH_AVX2 && molt_path_supported(path)) return molt_gelu_avx2(out, in, gate, count);
#endif
    map_portable(gelu, out, in, gate, count);
}
