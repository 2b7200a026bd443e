/* The element-wise steps' vector algorithm (elementwise.c says what they are for): one text
 * over the lanes of an elementwise_lanes_*.h, included once per instruction set by the
 * elementwise_*.c files, as CMoltQuant does with its lanes, so every vector path computes the
 * same steps and gives the same values. The lanes give fvec (LANES f32 lanes) and vmask, the
 * arithmetic of f32_lanes_*.h and fsub, fdiv, fnmadd, fmsub, fmin_lanes, fmax_lanes
 * (as minps / maxps, operands in this order), fabs_lanes, fround (to nearest even), flt, fgt,
 * feq, fselect, fscale2 (a 2^n), fsplit (u = 2^k m, m in [0.5, 1)), fload / fstore and
 * fload_first / fstore_first (the first n lanes). The file gives the path's softplus, silu and
 * gelu over arrays, named by ELEMENTWISE_SOFTPLUS, _SILU and _GELU. */

#define ELEMENTWISE_INLINE static inline __attribute__((always_inline))

/* Cephes' expf and logf coefficients, highest degree first, and ln 2 in two parts (the first
 * short enough that n times it is exact). */
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

/* p(x) with p's coefficients highest degree first, by Horner's rule. */
ELEMENTWISE_INLINE fvec polynomial(const float *coefficients, int count, fvec x) {
    fvec p = fsplat(coefficients[0]);
    for (int i = 1; i < count; i++) p = fmadd(p, x, fsplat(coefficients[i]));
    return p;
}

/* e^x: x = n ln2 + r, |r| <= ln2 / 2, e^r by a degree-5 polynomial, times 2^n. Inputs are
 * clamped to [-87.33, 88], so the result is finite and at least about 1e-38. */
ELEMENTWISE_INLINE fvec exp_lanes(fvec x) {
    x = fmin_lanes(fmax_lanes(x, fsplat(-87.33f)), fsplat(88.0f));
    fvec n = fround(fmul(x, fsplat(1.44269504f)));
    fvec r = fnmadd(n, fsplat(LN2_HIGH), x);
    r = fnmadd(n, fsplat(LN2_LOW), r);
    fvec p = polynomial(exp_poly, 6, r);
    return fscale2(fadd(fmadd(fmul(p, r), r, r), fsplat(1.0f)), n);
}

/* log(1 + e) for e in [0, 1]: log of u = 1 + e by Cephes' logf polynomial on u's mantissa,
 * corrected by e / (u - 1) for the rounding of 1 + e (log1p(e) = e where u rounds to 1). */
ELEMENTWISE_INLINE fvec log1p_lanes(fvec e) {
    fvec u = fadd(e, fsplat(1.0f)), m, k;
    /* u in [1, 2]: u = 2^k m with m in [sqrt(1/2), sqrt(2)). */
    fsplit(u, &m, &k);
    vmask small = flt(m, fsplat(0.70710678f));
    m = fselect(small, fadd(m, m), m);
    k = fselect(small, fsub(k, fsplat(1.0f)), k);
    fvec f = fsub(m, fsplat(1.0f)), z = fmul(f, f);
    fvec y = fmul(fmul(polynomial(log_poly, 9, f), f), z);
    y = fmadd(k, fsplat(LN2_LOW), y);
    y = fnmadd(z, fsplat(0.5f), y);
    fvec log_u = fmadd(k, fsplat(LN2_HIGH), fadd(f, y));
    fvec grown = fsub(u, fsplat(1.0f));
    return fselect(feq(grown, fzero()), e, fmul(log_u, fdiv(e, grown)));
}

/* log(1 + e^v) = max(v, 0) + log(1 + e^-|v|); above 20 it is v to f32 precision. */
ELEMENTWISE_INLINE fvec softplus_lanes(fvec v) {
    fvec s = fadd(fmax_lanes(v, fzero()), log1p_lanes(exp_lanes(fsub(fzero(), fabs_lanes(v)))));
    return fselect(fgt(v, fsplat(20.0f)), v, s);
}

/* silu(v) = v / (1 + e^-v). Below v = -88, where e^-v would stop at e^88 and leave v / e^88 (as
 * much as -6e-19 at v = -1e20), v is taken as -88: silu(-88) = -5e-37, as near to the true
 * value's 0 as a float result needs. */
ELEMENTWISE_INLINE fvec silu_lanes(fvec v) {
    v = fmax_lanes(v, fsplat(-88.0f));
    return fdiv(v, fadd(fsplat(1.0f), exp_lanes(fsub(fzero(), v))));
}

/* gelu(v) = v Φ(v). With t = |v| / √2, Φ is 1/2 ± erf(t) / 2 below t = 0.5 and erfc(t) / 2 or
 * 1 - erfc(t) / 2 above, the sign of v choosing. e^(-t²) is e^(-hi) (1 - lo) where hi + lo is
 * v² / 2 exactly (an FMA gives v²'s rounding error), so the far tail keeps its precision.
 * Past |v| = 14 Φ is 0 or 1 to float precision: Φ is computed at ±14, which keeps v² finite,
 * and set to 0 below -14. */
ELEMENTWISE_INLINE fvec gelu_lanes(fvec x) {
    fvec v = fmin_lanes(fmax_lanes(x, fsplat(-14.0f)), fsplat(14.0f));
    fvec t = fmul(fabs_lanes(v), fsplat(0.70710678f));
    fvec half_erf = fmul(fmul(t, polynomial(erf_poly, 5, fmul(t, t))), fsplat(0.5f));
    fvec square = fmul(v, v), error = fmsub(v, v, square);
    fvec e = exp_lanes(fmul(square, fsplat(-0.5f)));
    e = fnmadd(e, fmul(error, fsplat(0.5f)), e);
    fvec w = fdiv(fsplat(1.0f), fadd(t, fsplat(1.0f)));
    fvec half_erfc = fmul(fmul(e, polynomial(erfc_poly, 11, w)), fsplat(0.5f));
    vmask negative = flt(v, fzero());
    fvec near = fadd(fsplat(0.5f), fselect(negative, fsub(fzero(), half_erf), half_erf));
    fvec far = fselect(negative, half_erfc, fsub(fsplat(1.0f), half_erfc));
    fvec phi = fselect(flt(t, fsplat(0.5f)), near, far);
    phi = fselect(flt(x, fsplat(-14.0f)), fzero(), phi);
    return fmul(x, phi);
}

/* x = softplus(x + bias) over `count` values: whole registers, then the ragged end. */
void ELEMENTWISE_SOFTPLUS(float *x, const float *bias, int64_t count) {
    int64_t i = 0;
    for (; i + LANES <= count; i += LANES) fstore(x + i, softplus_lanes(fadd(fload(x + i), fload(bias + i))));
    if (i < count)
        fstore_first(x + i, softplus_lanes(fadd(fload_first(x + i, count - i), fload_first(bias + i, count - i))), count - i);
}

/* out = f(in) * gate, or f(in) without a gate, over `count` values; out may be in or gate.
 * SiLU and GELU share this one loop; f is inlined at each use. */
ELEMENTWISE_INLINE void map_lanes(fvec (*f)(fvec), float *out, const float *in, const float *gate, int64_t count) {
    int64_t i = 0;
    for (; i + LANES <= count; i += LANES) {
        fvec v = f(fload(in + i));
        fstore(out + i, gate ? fmul(v, fload(gate + i)) : v);
    }
    if (i < count) {
        int64_t n = count - i;
        fvec v = f(fload_first(in + i, n));
        fstore_first(out + i, gate ? fmul(v, fload_first(gate + i, n)) : v, n);
    }
}

void ELEMENTWISE_SILU(float *out, const float *in, const float *gate, int64_t count) {
    map_lanes(silu_lanes, out, in, gate, count);
}

void ELEMENTWISE_GELU(float *out, const float *in, const float *gate, int64_t count) {
    map_lanes(gelu_lanes, out, in, gate, count);
}
