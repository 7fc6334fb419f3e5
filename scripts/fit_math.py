#!/usr/bin/python3
"""Fits the polynomial coefficients of chamcc's vectorized float32 math
(codegen/llvm_math.c) and prints them as C, with each fit's worst relative
error in double precision. Run it when changing a range or a degree:

    /usr/bin/python3 scripts/fit_math.py

Each function is approximated on a reduced range by a polynomial in the
monomial basis, fitted to minimize the relative error: weighted least
squares on a dense grid, then Lawson's iteration (reweighting by the error)
to move towards the minimax fit. References are Python's double-precision
math functions, far more accurate than float32 needs. Needs numpy (Debian's
python3-numpy).
"""
import math

import numpy as np

GRID = 20000


def lawson(xs, target, weight, basis, iters=60):
    """Coefficients c minimizing max |sum c_k basis_k(x) - target| * weight."""
    a = np.stack([b(xs) for b in basis], axis=1) * weight[:, None]
    t = target * weight
    w = np.ones_like(xs)
    for _ in range(iters):
        sw = np.sqrt(w)
        c, *_ = np.linalg.lstsq(a * sw[:, None], t * sw, rcond=None)
        err = np.abs(a @ c - t)
        w = w * (err + 1e-300)
        w /= w.sum()
    return c, float(np.max(np.abs(a @ c - t)))


def powers(k0, k1, step=1):
    return [(lambda x, k=k: x ** k) for k in range(k0, k1 + 1, step)]


def show(name, coeffs, err, note, kind="relative"):
    print(f"/* {name}: {note}; max {kind} error {err:.2e} */")
    print(f"static const double {name}[] = {{" + ", ".join(f"{c:.17g}" for c in coeffs) + "};")


def main():
    # exp(r) = 1 + r + r^2 * q(r), |r| <= ln2 / 2: q of degree 5.
    h = math.log(2) / 2
    r = np.linspace(-h, h, GRID)
    r = r[np.abs(r) > 1e-6]
    q = (np.expm1(r) - r) / r ** 2
    c, err = lawson(r, q, 1 / np.exp(r) * r ** 2, powers(0, 5))
    show("exp_q", c, err, "exp(r) = 1 + r + r^2 q(r) on |r| <= ln2/2")

    # log(m) = 2 atanh(s) = 2s + s^3 q(s^2), s = (m-1)/(m+1), m in [sqrt(1/2), sqrt(2)].
    smax = (math.sqrt(2) - 1) / (math.sqrt(2) + 1)
    s = np.linspace(1e-4, smax, GRID)
    q = (2 * np.arctanh(s) - 2 * s) / s ** 3
    c, err = lawson(s, q, s ** 3 / (2 * np.arctanh(s)), [lambda x, k=k: x ** (2 * k) for k in range(5)])
    show("log_q", c, err, "log(m) = 2s + s^3 q(s^2), |s| <= 3 - 2 sqrt(2)")

    # tanh(x) = x + x^3 q(x^2), |x| <= 0.625.
    x = np.linspace(1e-4, 0.625, GRID)
    q = (np.tanh(x) - x) / x ** 3
    c, err = lawson(x, q, x ** 3 / np.tanh(x), [lambda x, k=k: x ** (2 * k) for k in range(6)])
    show("tanh_q", c, err, "tanh(x) = x + x^3 q(x^2) on |x| <= 0.625")

    # erf(x) = x q(x^2), |x| <= 1.
    x = np.linspace(1e-4, 1, GRID)
    erf = np.vectorize(math.erf)
    q = erf(x) / x
    c, err = lawson(x, q, x / erf(x), [lambda x, k=k: x ** (2 * k) for k in range(8)])
    show("erf_small_q", c, err, "erf(x) = x q(x^2) on |x| <= 1")

    # erfc(x) = exp(-x^2) g(t) on 1 <= x <= 4, g a polynomial in t = 1/x - 0.625
    # (centred, so that the terms stay small and float evaluation does not cancel).
    x = np.linspace(1, 4, GRID)
    erfc = np.vectorize(math.erfc)
    g = erfc(x) * np.exp(x * x)
    c, err = lawson(1 / x - 0.625, g, 1 / g, powers(0, 9))
    show("erfc_g", c, err, "erfc(x) = exp(-x^2) g(1/x - 0.625) on 1 <= x <= 4")

    gelu_erf()


def rational(xs, target, dp, dq, iters=80):
    """x P(x^2) / Q(x^2) with Q(0) = 1 near target in the max absolute error:
    the linearized fit x P - target Q = target (Loeb's iteration, each step
    weighted by 1/Q of the last) with Lawson's reweighting. Returns P's
    coefficients, then Q's from x^2 up, and the error."""
    t = xs * xs
    w, q = np.ones_like(xs), np.ones_like(xs)
    for _ in range(iters):
        a = np.concatenate([np.stack([xs * t ** k for k in range(dp)], axis=1),
                            np.stack([-target * t ** k for k in range(1, dq + 1)], axis=1)], axis=1)
        sw = np.sqrt(w) / q
        c, *_ = np.linalg.lstsq(a * sw[:, None], target * sw, rcond=None)
        q = 1 + sum(c[dp + k - 1] * t ** k for k in range(1, dq + 1))
        err = np.abs(xs * sum(c[k] * t ** k for k in range(dp)) / q - target)
        w = w * (err + 1e-300)
        w /= w.sum()
    return c, float(err.max())


def gelu_erf():
    # erf(x) = x P(x^2) / Q(x^2) on |x| <= 3.925 (beyond, erf rounds to 1 in
    # float), in absolute error: GELU's 1 + erf needs no more. The rational
    # has one range and no exp, so GELU's epilogue costs a third of IR_ERF's.
    x = np.linspace(1e-6, 3.925, GRID)
    c, err = rational(x, np.vectorize(math.erf)(x), 6, 6)
    show("gelu_erf_p", c[:6], err, "erf(x) = x P(x^2) / Q(x^2) on |x| <= 3.925", "absolute")
    show("gelu_erf_q", c[6:], err, "Q's coefficients of x^2 .. x^12 (Q(0) = 1)", "absolute")


if __name__ == "__main__":
    main()
