/* The mixers' element-wise steps: the Mamba scan and softplus, SiLU (Mamba's convolution and
 * gate) and the experts' GELU. The scan needs an exponential per state element and position,
 * the softplus one exponential and one logarithm per channel and position, SiLU one
 * exponential and GELU an erf per value: called from libm one value at a time, they cost more
 * than the matrix products around them in a short prefill, and a few percent of a decode
 * step. The AVX-512 path computes 16 at a time and the AVX2 path 8, with Cephes' exp and log
 * polynomials and our own erf and erfc ones (Scripts/fit_erf_polynomials.py), within a few
 * ulp of the exact values (except that exponentials stop at about 1e-38 instead of going
 * subnormal), the same values on both; the portable path calls libm. */
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

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* Cephes' expf and logf coefficients, highest degree first, and ln 2 in two parts (the first
 * short enough that n times it is exact): the AVX-512 and AVX2 forms below share them. */
static const float exp_poly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                  4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
static const float log_poly[9] = {7.0376836292e-2f, -1.1514610310e-1f, 1.1676998740e-1f,
                                  -1.2420140846e-1f, 1.4249322787e-1f, -1.6668057665e-1f,
                                  2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f};
/* erf(t) = t P(t²) for t below 0.5, and erfc(t) = e^(-t²) R(1 / (1 + t)) from 0.5 to 9.2, past
 * which erfc is below the smallest normal float: least-squares fits of the relative error
 * (1.4e-9 and 8.3e-9 in exact arithmetic), highest degree first. */
static const float erf_poly[5] = {4.717989359e-03f, -2.675718442e-02f, 1.128282249e-01f, -3.761260808e-01f,
                                  1.128379107e+00f};
static const float erfc_poly[11] = {-1.228312373e+00f, 4.357120991e+00f, -5.901473045e+00f, 3.005392790e+00f,
                                    8.372514248e-01f,  -1.364675641e+00f, -9.185476601e-02f, 2.504858971e-01f,
                                    5.673046708e-01f,  5.640205741e-01f,  3.885250408e-06f};
#define LN2_HIGH 0.693359375f
#define LN2_LOW (-2.12194440e-4f)

/* e^x: x = n ln2 + r, |r| <= ln2 / 2, e^r by a degree-5 polynomial, 2^n in the exponent field.
 * Inputs are clamped to [-87.33, 88], so the result is finite and at least about 1e-38. */
MOLT_TARGET_AVX512 static inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33f)), _mm512_set1_ps(88.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HIGH), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LOW), r);
    __m512 p = _mm512_set1_ps(exp_poly[0]);
    for (int i = 1; i < 6; i++) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_poly[i]));
    __m512 er = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(er, n);
}

/* log(1 + e) for e in [0, 1]: log of u = 1 + e by Cephes' logf polynomial on u's mantissa,
 * corrected by e / (u - 1) for the rounding of 1 + e (log1p(e) = e where u rounds to 1). */
MOLT_TARGET_AVX512 static inline __m512 log1p16(__m512 e) {
    __m512 u = _mm512_add_ps(e, _mm512_set1_ps(1.0f));
    /* u in [1, 2]: u = 2^k m with m in [sqrt(1/2), sqrt(2)). */
    __m512 m = _mm512_getmant_ps(u, _MM_MANT_NORM_p5_1, _MM_MANT_SIGN_src); /* [0.5, 1) */
    __m512 k = _mm512_add_ps(_mm512_getexp_ps(u), _mm512_set1_ps(1.0f));
    __mmask16 small = _mm512_cmp_ps_mask(m, _mm512_set1_ps(0.70710678f), _CMP_LT_OQ);
    m = _mm512_mask_add_ps(m, small, m, m);
    k = _mm512_mask_sub_ps(k, small, k, _mm512_set1_ps(1.0f));
    __m512 f = _mm512_sub_ps(m, _mm512_set1_ps(1.0f)), z = _mm512_mul_ps(f, f);
    __m512 p = _mm512_set1_ps(log_poly[0]);
    for (int i = 1; i < 9; i++) p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(log_poly[i]));
    __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, f), z);
    y = _mm512_fmadd_ps(k, _mm512_set1_ps(LN2_LOW), y);
    y = _mm512_fnmadd_ps(z, _mm512_set1_ps(0.5f), y);
    __m512 log_u = _mm512_fmadd_ps(k, _mm512_set1_ps(LN2_HIGH), _mm512_add_ps(f, y));
    __m512 grown = _mm512_sub_ps(u, _mm512_set1_ps(1.0f));
    __mmask16 exact = _mm512_cmp_ps_mask(grown, _mm512_setzero_ps(), _CMP_EQ_OQ);
    return _mm512_mask_blend_ps(exact, _mm512_mul_ps(log_u, _mm512_div_ps(e, grown)), e);
}

MOLT_TARGET_AVX512 static void softplus_avx512(float *x, const float *bias, int64_t count) {
    for (int64_t i = 0; i < count; i += 16) {
        __mmask16 lanes = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, x + i), _mm512_maskz_loadu_ps(lanes, bias + i));
        /* log(1 + e^v) = max(v, 0) + log(1 + e^-|v|); above 20 it is v to f32 precision. */
        __m512 magnitude = _mm512_abs_ps(v);
        __m512 s = _mm512_add_ps(_mm512_max_ps(v, _mm512_setzero_ps()), log1p16(exp16(_mm512_sub_ps(_mm512_setzero_ps(), magnitude))));
        s = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_set1_ps(20.0f), _CMP_GT_OQ), s, v);
        _mm512_mask_storeu_ps(x + i, lanes, s);
    }
}

/* silu(v) = v / (1 + e^-v). Below v = -88, where e^-v would stop at e^88 and leave v / e^88 (as
 * much as -6e-19 at v = -1e20), v is taken as -88: silu(-88) = -5e-37, as near to the true
 * value's 0 as a float result needs. */
MOLT_TARGET_AVX512 static inline __m512 silu16(__m512 v) {
    v = _mm512_max_ps(v, _mm512_set1_ps(-88.0f));
    return _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), exp16(_mm512_sub_ps(_mm512_setzero_ps(), v))));
}

/* gelu(v) = v Φ(v). With t = |v| / √2, Φ is 1/2 ± erf(t) / 2 below t = 0.5 and erfc(t) / 2 or
 * 1 - erfc(t) / 2 above, the sign of v choosing. e^(-t²) is e^(-hi) (1 - lo) where hi + lo is
 * v² / 2 exactly (an FMA gives v²'s rounding error), so the far tail keeps its precision.
 * Past |v| = 14 Φ is 0 or 1 to float precision: Φ is computed at ±14, which keeps v² finite,
 * and set to 0 below -14. */
MOLT_TARGET_AVX512 static inline __m512 gelu16(__m512 x) {
    __m512 v = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-14.0f)), _mm512_set1_ps(14.0f));
    __m512 t = _mm512_mul_ps(_mm512_abs_ps(v), _mm512_set1_ps(0.70710678f));
    __m512 s = _mm512_mul_ps(t, t), p = _mm512_set1_ps(erf_poly[0]);
    for (int i = 1; i < 5; i++) p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(erf_poly[i]));
    __m512 half_erf = _mm512_mul_ps(_mm512_mul_ps(t, p), _mm512_set1_ps(0.5f));
    __m512 square = _mm512_mul_ps(v, v), error = _mm512_fmsub_ps(v, v, square);
    __m512 e = exp16(_mm512_mul_ps(square, _mm512_set1_ps(-0.5f)));
    e = _mm512_fnmadd_ps(e, _mm512_mul_ps(error, _mm512_set1_ps(0.5f)), e);
    __m512 w = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(t, _mm512_set1_ps(1.0f)));
    __m512 r = _mm512_set1_ps(erfc_poly[0]);
    for (int i = 1; i < 11; i++) r = _mm512_fmadd_ps(r, w, _mm512_set1_ps(erfc_poly[i]));
    __m512 half_erfc = _mm512_mul_ps(_mm512_mul_ps(e, r), _mm512_set1_ps(0.5f));
    __mmask16 negative = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
    __m512 near = _mm512_add_ps(_mm512_set1_ps(0.5f), _mm512_mask_sub_ps(half_erf, negative, _mm512_setzero_ps(), half_erf));
    __m512 far = _mm512_mask_blend_ps(negative, _mm512_sub_ps(_mm512_set1_ps(1.0f), half_erfc), half_erfc);
    __mmask16 small = _mm512_cmp_ps_mask(t, _mm512_set1_ps(0.5f), _CMP_LT_OQ);
    __m512 phi = _mm512_mask_blend_ps(small, far, near);
    phi = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-14.0f), _CMP_LT_OQ), phi, _mm512_setzero_ps());
    return _mm512_mul_ps(x, phi);
}

/* map_portable's loop, 16 lanes at a time with a masked end; f is inlined at each use. */
MOLT_TARGET_AVX512 static inline __attribute__((always_inline)) void map_avx512(__m512 (*f)(__m512), float *out,
                                                                                const float *in, const float *gate,
                                                                                int64_t count) {
    for (int64_t i = 0; i < count; i += 16) {
        __mmask16 lanes = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        __m512 v = f(_mm512_maskz_loadu_ps(lanes, in + i));
        if (gate) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(lanes, gate + i));
        _mm512_mask_storeu_ps(out + i, lanes, v);
    }
}

/* The AVX2 forms of exp16 and log1p16, with the same steps and so the same values: 2^n is
 * built in the exponent field (n is in [-126, 127] after the clamp, so it is a normal float
 * and the product rounds as scalef's does), and getexp / getmant are read off the bits of
 * u = 1 + e, which lies in [1, 2]. */
MOLT_TARGET_AVX2 static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HIGH), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LOW), r);
    __m256 p = _mm256_set1_ps(exp_poly[0]);
    for (int i = 1; i < 6; i++) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_poly[i]));
    __m256 er = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
    __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_mul_ps(er, _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23)));
}

MOLT_TARGET_AVX2 static inline __m256 log1p8(__m256 e) {
    __m256 u = _mm256_add_ps(e, _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_castps_si256(u);
    /* u = 2^k m with m in [0.5, 1) (getmant), k = getexp(u) + 1. */
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x3F000000)));
    __m256 k = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126)));
    __m256 small = _mm256_cmp_ps(m, _mm256_set1_ps(0.70710678f), _CMP_LT_OQ);
    m = _mm256_blendv_ps(m, _mm256_add_ps(m, m), small);
    k = _mm256_blendv_ps(k, _mm256_sub_ps(k, _mm256_set1_ps(1.0f)), small);
    __m256 f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f)), z = _mm256_mul_ps(f, f);
    __m256 p = _mm256_set1_ps(log_poly[0]);
    for (int i = 1; i < 9; i++) p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(log_poly[i]));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, f), z);
    y = _mm256_fmadd_ps(k, _mm256_set1_ps(LN2_LOW), y);
    y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
    __m256 log_u = _mm256_fmadd_ps(k, _mm256_set1_ps(LN2_HIGH), _mm256_add_ps(f, y));
    __m256 grown = _mm256_sub_ps(u, _mm256_set1_ps(1.0f));
    __m256 exact = _mm256_cmp_ps(grown, _mm256_setzero_ps(), _CMP_EQ_OQ);
    return _mm256_blendv_ps(_mm256_mul_ps(log_u, _mm256_div_ps(e, grown)), e, exact);
}

/* As softplus_avx512: log(1 + e^v) = max(v, 0) + log(1 + e^-|v|), v above 20 kept. */
MOLT_TARGET_AVX2 static inline __m256 softplus8(__m256 v) {
    __m256 magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
    __m256 s = _mm256_add_ps(_mm256_max_ps(v, _mm256_setzero_ps()), log1p8(exp8(_mm256_sub_ps(_mm256_setzero_ps(), magnitude))));
    return _mm256_blendv_ps(s, v, _mm256_cmp_ps(v, _mm256_set1_ps(20.0f), _CMP_GT_OQ));
}

/* Whole registers with plain loads and stores; only the ragged end is masked (masked stores
 * are slow on some CPUs, as the scan says). */
MOLT_TARGET_AVX2 static void softplus_avx2(float *x, const float *bias, int64_t count) {
    int64_t i = 0;
    for (; i + 8 <= count; i += 8)
        _mm256_storeu_ps(x + i, softplus8(_mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(bias + i))));
    if (i < count) {
        __m256i lanes = molt_first_lanes8(count - i);
        __m256 v = _mm256_add_ps(_mm256_maskload_ps(x + i, lanes), _mm256_maskload_ps(bias + i, lanes));
        _mm256_maskstore_ps(x + i, lanes, softplus8(v));
    }
}

/* silu16 and gelu16's steps, 8 lanes wide. */
MOLT_TARGET_AVX2 static inline __m256 silu8(__m256 v) {
    v = _mm256_max_ps(v, _mm256_set1_ps(-88.0f));
    return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), v))));
}

MOLT_TARGET_AVX2 static inline __m256 gelu8(__m256 x) {
    __m256 v = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-14.0f)), _mm256_set1_ps(14.0f));
    __m256 t = _mm256_mul_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), v), _mm256_set1_ps(0.70710678f));
    __m256 s = _mm256_mul_ps(t, t), p = _mm256_set1_ps(erf_poly[0]);
    for (int i = 1; i < 5; i++) p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(erf_poly[i]));
    __m256 half_erf = _mm256_mul_ps(_mm256_mul_ps(t, p), _mm256_set1_ps(0.5f));
    __m256 square = _mm256_mul_ps(v, v), error = _mm256_fmsub_ps(v, v, square);
    __m256 e = exp8(_mm256_mul_ps(square, _mm256_set1_ps(-0.5f)));
    e = _mm256_fnmadd_ps(e, _mm256_mul_ps(error, _mm256_set1_ps(0.5f)), e);
    __m256 w = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(t, _mm256_set1_ps(1.0f)));
    __m256 r = _mm256_set1_ps(erfc_poly[0]);
    for (int i = 1; i < 11; i++) r = _mm256_fmadd_ps(r, w, _mm256_set1_ps(erfc_poly[i]));
    __m256 half_erfc = _mm256_mul_ps(_mm256_mul_ps(e, r), _mm256_set1_ps(0.5f));
    __m256 negative = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ);
    __m256 near = _mm256_add_ps(_mm256_set1_ps(0.5f), _mm256_blendv_ps(half_erf, _mm256_sub_ps(_mm256_setzero_ps(), half_erf), negative));
    __m256 far = _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), half_erfc), half_erfc, negative);
    __m256 small = _mm256_cmp_ps(t, _mm256_set1_ps(0.5f), _CMP_LT_OQ);
    __m256 phi = _mm256_blendv_ps(far, near, small);
    phi = _mm256_blendv_ps(phi, _mm256_setzero_ps(), _mm256_cmp_ps(x, _mm256_set1_ps(-14.0f), _CMP_LT_OQ));
    return _mm256_mul_ps(x, phi);
}

/* map_portable's loop, 8 lanes at a time: whole registers, then the ragged end through masked
 * loads and stores, as softplus_avx2. */
MOLT_TARGET_AVX2 static inline __attribute__((always_inline)) void map_avx2(__m256 (*f)(__m256), float *out,
                                                                            const float *in, const float *gate,
                                                                            int64_t count) {
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 v = f(_mm256_loadu_ps(in + i));
        _mm256_storeu_ps(out + i, gate ? _mm256_mul_ps(v, _mm256_loadu_ps(gate + i)) : v);
    }
    if (i < count) {
        __m256i lanes = molt_first_lanes8(count - i);
        __m256 v = f(_mm256_maskload_ps(in + i, lanes));
        _mm256_maskstore_ps(out + i, lanes, gate ? _mm256_mul_ps(v, _mm256_maskload_ps(gate + i, lanes)) : v);
    }
}

/* One channel's state row is two registers when N <= 16; a full row (N = 16, BlackMamba's)
 * takes plain loads and stores, since masked stores are slow on some CPUs. */
MOLT_TARGET_AVX2 static inline __attribute__((always_inline)) void scan_avx2_rows(
    const int full, int64_t steps, const float *u, const float *delta, int64_t di, const float *bc, int64_t bc_stride,
    int64_t n, const float *a, const float *d, float *state, float *y, int64_t first, int64_t end) {
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
            __m256 h0 = _mm256_fmadd_ps(exp8(_mm256_mul_ps(step, LOAD(row, low))), LOAD(h, low), _mm256_mul_ps(input, b0));
            __m256 h1 = _mm256_fmadd_ps(exp8(_mm256_mul_ps(step, LOAD(row + 8, high))), LOAD(h + 8, high), _mm256_mul_ps(input, b1));
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

MOLT_TARGET_AVX2 static void scan_avx2(int64_t steps, const float *u, const float *delta, int64_t di, const float *bc,
                                       int64_t bc_stride, int64_t n, const float *a, const float *d, float *state,
                                       float *y, int64_t first, int64_t end) {
    if (n == 16)
        scan_avx2_rows(1, steps, u, delta, di, bc, bc_stride, n, a, d, state, y, first, end);
    else
        scan_avx2_rows(0, steps, u, delta, di, bc, bc_stride, n, a, d, state, y, first, end);
}

/* One channel's state row is one register when N <= 16 (BlackMamba's is 16). */
MOLT_TARGET_AVX512 static void scan_avx512(int64_t steps, const float *u, const float *delta, int64_t di,
                                           const float *bc, int64_t bc_stride, int64_t n, const float *a,
                                           const float *d, float *state, float *y, int64_t first, int64_t end) {
    __mmask16 lanes = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
    for (int64_t t = 0; t < steps; t++) {
        const float *b = bc + t * bc_stride;
        __m512 bv = _mm512_maskz_loadu_ps(lanes, b), cv = _mm512_maskz_loadu_ps(lanes, b + n);
        for (int64_t ch = first; ch < end; ch++) {
            float dt = delta[t * di + ch], x = u[t * di + ch];
            float *h = state + ch * n;
            __m512 decay = exp16(_mm512_mul_ps(_mm512_set1_ps(dt), _mm512_maskz_loadu_ps(lanes, a + ch * n)));
            __m512 next = _mm512_fmadd_ps(decay, _mm512_maskz_loadu_ps(lanes, h), _mm512_mul_ps(_mm512_set1_ps(dt * x), bv));
            _mm512_mask_storeu_ps(h, lanes, next);
            y[t * di + ch] = _mm512_reduce_add_ps(_mm512_maskz_mul_ps(lanes, next, cv)) + d[ch] * x;
        }
    }
}
#endif

void molt_selective_scan(int64_t steps, const float *u, const float *delta, int64_t di, const float *bc,
                         int64_t bc_stride, int64_t n, const float *a, const float *d, float *state, float *y,
                         int64_t first, int64_t end, molt_path path) {
#if defined(__x86_64__) || defined(__i386__)
    if (n <= 16 && path >= MOLT_PATH_AVX512 && molt_path_supported(path))
        return scan_avx512(steps, u, delta, di, bc, bc_stride, n, a, d, state, y, first, end);
    if (n <= 16 && path >= MOLT_PATH_AVX2 && molt_path_supported(path))
        return scan_avx2(steps, u, delta, di, bc, bc_stride, n, a, d, state, y, first, end);
#endif
    scan_portable(steps, u, delta, di, bc, bc_stride, n, a, d, state, y, first, end);
}

void molt_softplus(float *x, const float *bias, int64_t count, molt_path path) {
#if defined(__x86_64__) || defined(__i386__)
    if (path >= MOLT_PATH_AVX512 && molt_path_supported(path)) return softplus_avx512(x, bias, count);
    if (path >= MOLT_PATH_AVX2 && molt_path_supported(path)) return softplus_avx2(x, bias, count);
#endif
    softplus_portable(x, bias, count);
}

/* The map each path takes; the AVX-512 and AVX2 ones are only called where the CPU has them. */
#if defined(__x86_64__) || defined(__i386__)
MOLT_TARGET_AVX512 static void silu_avx512(float *out, const float *in, const float *gate, int64_t count) {
    map_avx512(silu16, out, in, gate, count);
}
MOLT_TARGET_AVX512 static void gelu_avx512(float *out, const float *in, const float *gate, int64_t count) {
    map_avx512(gelu16, out, in, gate, count);
}
MOLT_TARGET_AVX2 static void silu_avx2(float *out, const float *in, const float *gate, int64_t count) {
    map_avx2(silu8, out, in, gate, count);
}
MOLT_TARGET_AVX2 static void gelu_avx2(float *out, const float *in, const float *gate, int64_t count) {
    map_avx2(gelu8, out, in, gate, count);
}
#endif

void molt_silu(float *out, const float *in, const float *gate, int64_t count, molt_path path) {
#if defined(__x86_64__) || defined(__i386__)
    if (path >= MOLT_PATH_AVX512 && molt_path_supported(path)) return silu_avx512(out, in, gate, count);
    if (path >= MOLT_PATH_AVX2 && molt_path_supported(path)) return silu_avx2(out, in, gate, count);
#endif
    map_portable(silu, out, in, gate, count);
}

void molt_gelu(float *out, const float *in, const float *gate, int64_t count, molt_path path) {
#if defined(__x86_64__) || defined(__i386__)
    if (path >= MOLT_PATH_AVX512 && molt_path_supported(path)) return gelu_avx512(out, in, gate, count);
    if (path >= MOLT_PATH_AVX2 && molt_path_supported(path)) return gelu_avx2(out, in, gate, count);
#endif
    map_portable(gelu, out, in, gate, count);
}
