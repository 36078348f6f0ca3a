"""Checks for the exercises of chapter 2, *High-dimensional landscapes*.

References: the critical points of a separable quartic found by hand, the exact GOE probability
from the Pfaffian formula (with binomial error bars for sampled answers), the closed-form escape
rate from a strict saddle, and Morse theory on the torus.
"""

from __future__ import annotations

from math import comb

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = ["check_critical_points", "check_sign_definite_fraction", "check_escape_steps", "check_census"]


@exercise("2.1")
def check_critical_points(critical_points):
    """``critical_points`` maps each critical point (x, y) of (x^2-1)^2 + (y^2-1)^2 to its kind."""
    if not isinstance(critical_points, dict):
        raise AssertionError(f"critical_points should be a dict {{(x, y): kind}}, got {type(critical_points).__name__}.")
    want = {}
    for x in (-1, 0, 1):
        for y in (-1, 0, 1):
            n_neg = (x == 0) + (y == 0)  # curvature 12x^2 - 4 is -4 at 0 and 8 at +-1
            want[(x, y)] = ("minimum", "saddle", "maximum")[n_neg]
    got = {}
    for point, kind in critical_points.items():
        try:
            key = tuple(int(round(float(c))) for c in point)
            if len(key) != 2 or any(abs(float(c) - k) > 1e-9 for c, k in zip(point, key)):
                raise ValueError
        except (TypeError, ValueError):
            raise AssertionError(f"{point!r} is not a critical point (x, y) with integer coordinates; all of them here are.") from None
        got[key] = str(kind)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    if missing or extra:
        raise AssertionError(
            f"there are 9 critical points, x and y each in {{-1, 0, 1}}; missing {missing or 'none'}, not critical {extra or 'none'}."
            " Solve both equations of grad E = 0 and keep all real solutions."
        )
    wrong = {p: (got[p], want[p]) for p in want if got[p] != want[p]}
    if wrong:
        p, (g, w) = next(iter(wrong.items()))
        raise AssertionError(f"{len(wrong)} point(s) misclassified, e.g. {p}: you said {g!r}, it is a {w!r}. Look at the signs of the Hessian's diagonal.")
    return "4 minima, 4 saddles, 1 maximum: minima - saddles + maxima = 1, the Euler characteristic of the plane."


@exercise("2.2")
def check_sign_definite_fraction(sign_definite_fraction):
    """``sign_definite_fraction(key, n, n_samples) -> (fraction, standard_error)`` for GOE matrices."""
    import jax

    from physml_helpers.randommatrix import goe_sign_definite_probability

    n_samples = 50_000
    for n, seed in ((2, 21), (3, 22)):
        out = call(sign_definite_fraction, jax.random.key(seed), n, n_samples, what=f"sign_definite_fraction(key, {n}, {n_samples})")
        try:
            fraction, error = (float(v) for v in out)
        except (TypeError, ValueError):
            raise AssertionError("sign_definite_fraction should return two numbers, (fraction, standard_error).") from None
        p = goe_sign_definite_probability(n)
        sigma = np.sqrt(p * (1 - p) / n_samples)
        if abs(fraction - p) > 5 * sigma:
            hint = " That is half of it:" if abs(fraction - p / 2) < 5 * sigma else ""
            raise AssertionError(
                f"at n = {n} your fraction {fraction:.4f} is {abs(fraction - p) / sigma:.1f} standard errors from the exact "
                f"{p:.4f}.{hint} Count matrices whose eigenvalues are all positive OR all negative, and use "
                "H = (A + A^T)/sqrt(2)."
            )
        expect_close(f"the standard error at n = {n}", error, sigma, rtol=0.1,
                     hint="The binomial standard error of a fraction f from N trials is sqrt(f (1 - f) / N).")
    a = call(sign_definite_fraction, jax.random.key(1), 2, 2000, what="sign_definite_fraction")
    b = call(sign_definite_fraction, jax.random.key(2), 2, 2000, what="sign_definite_fraction")
    if float(a[0]) == float(b[0]) and float(a[0]) == float(call(sign_definite_fraction, jax.random.key(3), 2, 2000)[0]):
        raise AssertionError("three different keys gave exactly the same fraction: are you using the key you are given?")
    return f"sampling agrees with the exact P_2 = 1 - 1/sqrt(2) = {goe_sign_definite_probability(2):.4f} within its error bar."


def _reference_escape_steps(eps_values, lr, b, n_max=5000):
    out = []
    threshold = 0.5 * np.sqrt(b)
    for eps in eps_values:
        x, y, k = 1.0, float(eps), 0
        while abs(y) <= threshold and k < n_max:
            x, y = x - lr * x, y - lr * (-b * y + y**3)
            k += 1
        out.append(k)
    return np.array(out)


@exercise("2.3")
def check_escape_steps(escape_steps, slope):
    """``escape_steps(eps_values, lr=, b=)`` and the fitted ``slope`` of steps against ln(1/eps)."""
    eps = 10.0 ** -np.arange(2, 11)
    for lr, b in ((0.2, 0.5), (0.05, 2.0)):
        got = call(escape_steps, eps, lr=lr, b=b, what=f"escape_steps(eps_values, lr={lr}, b={b})")
        want = _reference_escape_steps(eps, lr, b)
        got = np.asarray(got).reshape(-1)
        if got.shape != want.shape:
            raise AssertionError(f"escape_steps should return one step count per epsilon ({len(eps)}), got shape {got.shape}.")
        if np.any(np.abs(got - want) > 1):
            i = int(np.argmax(np.abs(got - want)))
            raise AssertionError(
                f"for lr={lr}, b={b}, eps={eps[i]:.0e} you found {got[i]} steps, expected {want[i]} (±1). "
                "Start at (1, eps), apply GD to E = x^2/2 - b y^2/2 + y^4/4, and count steps until |y| > sqrt(b)/2."
            )
    expect_close("slope", float(slope), 1 / np.log(1 + 0.2 * 0.5), rtol=0.02,
                 hint="Fit steps against ln(1/eps) (natural log) for lr = 0.2, b = 0.5; the prediction is 1/ln(1 + lr b).")
    return f"the escape time grows by 1/ln(1 + alpha b) = {1 / np.log(1.1):.2f} steps per e-fold of 1/eps."


@exercise("2.4")
def check_census(critical_point_census):
    """``critical_point_census(key, n, n_starts) -> N_k`` counts for a random landscape on the n-torus."""
    import jax

    for n in (2, 3):
        counts = call(critical_point_census, jax.random.key(40 + n), n, 2000, what=f"critical_point_census(key, {n}, 2000)")
        counts = np.asarray(counts).reshape(-1)
        if counts.shape != (n + 1,):
            raise AssertionError(f"for n = {n} return the n + 1 = {n + 1} counts N_0..N_n, got shape {counts.shape}.")
        alternating = int(np.sum((-1) ** np.arange(n + 1) * counts))
        if alternating != 0:
            raise AssertionError(
                f"for n = {n}, sum (-1)^k N_k = {alternating}, but on a torus it is 0. Points are missing or counted twice: "
                "deduplicate modulo 2 pi (unique_points(..., period=2*np.pi)) and keep only converged Newton runs."
            )
        low = [k for k in range(n + 1) if counts[k] < comb(n, k)]
        if low:
            raise AssertionError(f"for n = {n}, N_k < binom(n, k) at k = {low}: the Morse inequalities fail, so points are missing.")
    return ("your counts satisfy the Morse relations for n = 2 and 3: necessary for a complete census, though not a "
            "proof of one (a missed minimum-saddle pair would go unnoticed).")
