"""Checks for the exercises of chapter 5, *Statistical mechanics of neural networks*.

References: the positive root of m = tanh(m/T) by bisection (:func:`physml_helpers.hopfield.mattis_overlap`);
Cover's count C(P, 2) = 2P for points in general position in the plane; Gardner's capacity in closed form
(:func:`physml_helpers.perceptron.gardner_capacity`), and, for simulated critical loads, Cover's exact mean
E[P*] = 2N at zero margin; the BBP outlier lambda + 1/lambda above lambda = 1 and the
bulk edge 2 below.
"""

from __future__ import annotations

import math

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = ["check_mattis", "check_dichotomies", "check_margin_capacity", "check_margin_simulation", "check_outlier"]

_TEMPERATURES = (0.3, 0.6, 0.9, 0.99, 1.2, 2.0)


@exercise("5.1")
def check_mattis(overlap_of_temperature):
    """``overlap_of_temperature(T)``: the stable solution m >= 0 of m = tanh(m/T)."""
    from physml_helpers.hopfield import mattis_overlap

    for t in _TEMPERATURES:
        got = float(call(overlap_of_temperature, t, what=f"overlap_of_temperature({t})"))
        want = mattis_overlap(t)
        if t < 1 and abs(got) < 1e-6:
            raise AssertionError(f"overlap_of_temperature({t}) = 0: m = 0 always solves m = tanh(m/T), but below "
                                 "T = 1 it is unstable; start the iteration from m = 1.")
        if t < 1 and abs(got - math.tanh(1 / t)) < 1e-9:
            raise AssertionError(f"overlap_of_temperature({t}) = tanh(1/T): that is one step of the iteration from "
                                 "m = 1, not its fixed point; iterate m <- tanh(m/T) until it stops changing.")
        if t < 1 and abs(got + want) < 1e-6:
            raise AssertionError(f"overlap_of_temperature({t}) is negative; return the solution with m >= 0.")
        # near T = 1 the iteration converges slowly (its rate tends to 1), hence a looser tolerance there
        expect_close(f"overlap_of_temperature({t})", got, want, rtol=0, atol=1e-6 if t < 0.95 or t > 1 else 1e-3,
                     hint="Iterate m <- tanh(m / T) from m = 1 (or bisect m - tanh(m/T) on (0, 1]); above T = 1 the only "
                          "solution is 0.")
    return "m = tanh(m/T): recall below T_c = 1, none above."


@exercise("5.2")
def check_dichotomies(counts):
    """``counts``: the number of linearly separable labelings of P random points in the plane, P = 1..6."""
    counts = [int(c) for c in counts]
    if len(counts) != 6:
        raise AssertionError(f"counts should have 6 entries (P = 1, ..., 6), got {len(counts)}.")
    if counts == [2**p for p in range(1, 7)]:
        raise AssertionError("counts = 2^P counts every labeling; keep only those the linear program finds separable.")
    want = [2 * p for p in range(1, 7)]
    if counts != want:
        raise AssertionError(f"counts = {counts}, expected Cover's C(P, 2) = 2P = {want}. Separate through the origin "
                             "(no bias), test each of the 2^P labelings, and use points in general position.")
    return "C(P, 2) = 2P: a line through the origin realizes 2P of the 2^P labelings."


@exercise("5.3")
def check_margin_capacity(capacity, margin_at_load):
    """``capacity(kappa)`` (Gardner's alpha_c) and ``margin_at_load(alpha)`` (its inverse)."""
    from physml_helpers.perceptron import gardner_capacity

    for kappa in (0.0, 0.5, 1.0, 2.0):
        got = float(call(capacity, kappa, what=f"capacity({kappa})"))
        want = gardner_capacity(kappa)
        if kappa > 0 and abs(got - 2) < 1e-6:
            raise AssertionError(f"capacity({kappa}) = 2 for every margin: shift the integrand, (t + kappa)^2, and the "
                                 "lower limit, -kappa.")
        expect_close(f"capacity({kappa})", got, want, rtol=1e-6,
                     hint="alpha_c = 1 / integral from -kappa to infinity of Dt (t + kappa)^2, Dt the standard normal density.")
    for alpha in (0.5, 1.0, 1.5):
        got = float(call(margin_at_load, alpha, what=f"margin_at_load({alpha})"))
        if abs(gardner_capacity(got) - alpha) > 1e-6 * alpha:
            raise AssertionError(f"margin_at_load({alpha}) = {got:.6f}, but the capacity at that margin is "
                                 f"{gardner_capacity(got):.6f}, not {alpha}. Solve capacity(kappa) = alpha for kappa "
                                 "(the capacity decreases with kappa, so a bracketing root finder works).")
    return "alpha_c(0) = 2, and the capacity falls as the required margin grows."


@exercise("5.3")
def check_margin_simulation(critical_loads):
    """``critical_loads[(kappa, n)]``: for each of many random sequences of Gaussian points with random labels in
    n dimensions, the load alpha* = P*/n, P* the largest number of leading points separable with margin kappa.

    The separable fraction at load alpha crosses 1/2 at the median of alpha*. Tolerances come from the answer's
    own spread: the median must lie within 5 standard errors of the mean (about 4 of the median's) plus one
    grid step 1/n of Gardner's capacity (alpha* = P*/n lives on a grid of spacing 1/n, and the median of an even
    number of values may fall between grid points); at kappa = 0 the mean must also be 2 within 4 standard
    errors, since Cover's count gives E[P*] = sum_P C(P, n)/2^P = 2n at every n (exactly for an unending
    sequence; a cut at 3n points changes it negligibly).
    """
    from physml_helpers.perceptron import gardner_capacity

    if not isinstance(critical_loads, dict) or not critical_loads:
        raise AssertionError("critical_loads should be a dict {(kappa, n): array of alpha*}.")
    kappas = sorted({float(k) for k, _ in critical_loads})
    if 0.0 not in kappas or not any(k > 0 for k in kappas):
        raise AssertionError(f"measure at kappa = 0 and at one kappa > 0; got kappas {kappas}.")
    for kappa in kappas:
        sizes = sorted(int(n) for k, n in critical_loads if float(k) == kappa)
        if len(sizes) < 2 or sizes[0] < 20:
            raise AssertionError(f"kappa = {kappa}: use at least two sizes n >= 20 to see finite-size effects, got {sizes}.")
    lines = []
    for (kappa, n), loads in sorted(critical_loads.items()):
        kappa, n = float(kappa), int(n)
        a = np.asarray(loads, dtype=float).ravel()
        if a.size < 20:
            raise AssertionError(f"critical_loads[({kappa}, {n})] has {a.size} sequences; use at least 20.")
        if np.ptp(a) == 0:
            raise AssertionError(f"critical_loads[({kappa}, {n})]: every sequence gave alpha* = {a[0]}. Either the search "
                                 "never found a non-separable prefix (max_margin returns 0 for a non-separable set: "
                                 "at kappa = 0 require a margin > 0) or draw more points per sequence.")
        se = a.std(ddof=1) / math.sqrt(a.size)
        want = gardner_capacity(kappa)
        median = float(np.median(a))
        if kappa > 0 and abs(median - 2) < 5 * se + 1 / n:
            raise AssertionError(f"at kappa = {kappa}, n = {n} the separable fraction crosses 1/2 at alpha = {median:.3f}, "
                                 "Cover's zero-margin value 2: the margin is not enforced. Count a prefix as separable "
                                 "only if max_margin(x, y) >= kappa.")
        if abs(median - want) > 5 * se + 1 / n:
            raise AssertionError(f"at kappa = {kappa}, n = {n} the separable fraction crosses 1/2 at alpha = {median:.3f} "
                                 f"(median of alpha*), but Gardner's capacity is {want:.3f} and the tolerance is "
                                 f"{5 * se + 1 / n:.3f}. Check the margin's normalization: kappa = min y w.x / |w| "
                                 "for inputs with unit-variance entries.")
        if kappa == 0 and abs(a.mean() - 2) > 4 * se:
            raise AssertionError(f"at kappa = 0, n = {n} the mean alpha* is {a.mean():.3f} ± {se:.3f}; Cover's count "
                                 "gives exactly 2 at every n.")
        lines.append(f"kappa={kappa:g}, n={n}: {median:.3f}")
    return "separable fraction crosses 1/2 near Gardner's capacity (" + "; ".join(lines) + ")."


@exercise("5.4")
def check_outlier(outlier):
    """``outlier(snr)``: the large-N top eigenvalue of the spiked Wigner matrix from lambda g(z) = 1."""
    for lam in (0.3, 0.9, 1.0, 1.2, 2.0, 4.0):
        got = float(call(outlier, lam, what=f"outlier({lam})"))
        want = lam + 1 / lam if lam > 1 else 2.0
        if lam < 1 and abs(got - (lam + 1 / lam)) < 1e-6:
            raise AssertionError(f"outlier({lam}) = lambda + 1/lambda, but below lambda = 1 the equation lambda g(z) = 1 "
                                 "has no root with z > 2 (g(z) <= g(2) = 1): the top eigenvalue stays at the edge, 2.")
        if lam > 1 and abs(got - lam) < 1e-6:
            raise AssertionError(f"outlier({lam}) = lambda, the eigenvalue of the spike alone; the noise pushes it "
                                 "out to the root of lambda g(z) = 1.")
        expect_close(f"outlier({lam})", got, want, rtol=0, atol=1e-6,
                     hint="g(z) = (z - sqrt(z^2 - 4)) / 2 for z > 2; solve lambda g(z) = 1 on z in (2, infinity), and "
                          "return 2 where there is no root.")
    return "BBP: an outlier at lambda + 1/lambda exactly when lambda > 1."
