#!/usr/bin/env python3
"""Fits the polynomials of the vector GELU (Sources/CMoltKernels/elementwise.h,
Formats/kernels.md "The mixers' element-wise steps") and prints them as C arrays.

    erf(t)  = t P(t^2)                    for t in [0, 0.5]
    erfc(t) = e^(-t^2) R(1 / (1 + t))     for t in [0.5, 9.2]

Each is a weighted least-squares fit of the relative error on Chebyshev nodes, reweighted
toward equal ripple, against mpmath's erf and erfc at 40 digits. Needs numpy and mpmath
(pip install numpy mpmath); the project's build and tests do not.
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 40


def fit(f, a, b, degree, nodes=4000, passes=30):
    k = np.arange(nodes)
    x = (a + b) / 2 + (b - a) / 2 * np.cos(np.pi * (k + 0.5) / nodes)
    y = np.array([float(f(v)) for v in x])
    weight = 1 / np.abs(y)
    for _ in range(passes):
        c = np.polynomial.polynomial.polyfit(x, y, degree, w=weight)
        error = np.abs(np.polynomial.polynomial.polyval(x, c) / y - 1)
        weight = weight * np.sqrt(1 + 50 * error / error.max())
    return c, error.max()


def erf_over_t(s):
    return mp.erf(mp.sqrt(s)) / mp.sqrt(s) if s > 0 else 2 / mp.sqrt(mp.pi)


def erfc_scaled(w):
    t = 1 / w - 1
    return mp.erfc(t) * mp.exp(t * t)


for name, f, a, b, degree in [("erf_poly", erf_over_t, 0, 0.25, 4),
                              ("erfc_poly", erfc_scaled, 1 / (1 + 9.2), 1 / (1 + 0.5), 10)]:
    c, error = fit(f, a, b, degree)
    values = ", ".join("%.9ef" % np.float32(v) for v in c[::-1])
    print("/* max relative error %.2g */" % error)
    print("static const float %s[%d] = {%s};" % (name, degree + 1, values))
