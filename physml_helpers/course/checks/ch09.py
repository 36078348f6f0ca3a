"""Checks for the exercises of chapter 9, *Discovering laws from data*.

References: the IAU 2009 heliocentric gravitational constant; the exact period 2 pi sqrt(m/k) of a
harmonic oscillator; the seven-term structure of the Lorenz equations (with the counts recomputed by the
package's own SINDy); momentum and total (kinetic plus heat) energy as the conserved combinations of
inelastic collisions; the small-amplitude series of the pendulum period, T = 2 pi (1 + theta0^2/16 + ...).
"""

from __future__ import annotations

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = ["check_sun_gm", "check_spring_period", "check_threshold_scan", "check_heat_restores_energy",
           "check_pendulum_outside_grammar", "GM_SUN_IAU"]

GM_SUN_IAU = 1.32712440041e20  # m^3 s^-2, IAU 2009 system of astronomical constants (TDB-compatible)


@exercise("9.1")
def check_sun_gm(gm_sun):
    """``gm_sun``: G times the Sun's mass in m^3/s^2, from the planets' periods and distances."""
    got = float(gm_sun)
    ratio = got / GM_SUN_IAU
    if abs(ratio / 86400**2 - 1) < 0.01:
        raise AssertionError("your value is in m^3/day^2: divide by (86400 s/day)^2.")
    if abs(ratio * 4 * np.pi**2 - 1) < 0.01 or abs(ratio / (4 * np.pi**2) - 1) < 0.01:
        raise AssertionError("you are off by 4 pi^2: P^2 = 4 pi^2 a^3 / (G M), so G M = 4 pi^2 a^3 / P^2 = (2 pi / C)^2.")
    expect_close("G M_sun", got, GM_SUN_IAU, rtol=1e-3,
                 hint="C = 2 pi / sqrt(G M) with a in metres (1 AU = 1.495978707e11 m) and P in seconds.")
    return f"G M_sun = {got:.5e} m^3/s^2, {abs(ratio - 1):.0e} from the IAU value: the planets weigh the Sun."


@exercise("9.2")
def check_spring_period(measure_period, best):
    """``measure_period(m, k)`` from a simulation, and ``best``: the formula picked from the Pareto front."""
    for m, k in ((2.0, 3.0), (0.5, 8.0)):
        got = float(call(measure_period, m, k, what=f"measure_period({m}, {k})"))
        want = 2 * np.pi * np.sqrt(m / k)
        if abs(got / want - 0.5) < 0.01:
            raise AssertionError(f"measure_period({m}, {k}) is half a period: measure between crossings in the same direction.")
        expect_close(f"measure_period({m}, {k})", got, want, rtol=1e-3,
                     hint="Time between successive upward zero crossings of x(t), located by linear interpolation.")
    formula = getattr(best, "formula", None)
    constants = getattr(best, "constants", None)
    if formula is None or constants is None:
        raise AssertionError(f"best should be an Expression from pareto_front (with .formula and .constants), got {type(best).__name__}.")
    if "m^0.5" not in formula or "k^(-0.5)" not in formula:
        raise AssertionError(f"best = {formula!r} is not of the form c * m^0.5 k^(-0.5): pick the knee of the front, "
                             "where the error drops by orders of magnitude.")
    if len(constants) != 1:
        raise AssertionError(f"best = {formula!r} has an offset: the knee is the simpler formula without one.")
    expect_close("its constant", constants[0], 2 * np.pi, rtol=1e-3)
    return f"T = {constants[0]:.4f} sqrt(m/k): the constant is 2 pi."


def _lorenz_structure():
    from physml_helpers.discovery import polynomial_library

    _, terms = polynomial_library(np.zeros((1, 3)), 2, ["x", "y", "z"])
    support = np.zeros((len(terms), 3), dtype=bool)
    for term, eq in (("x", 0), ("y", 0), ("x", 1), ("y", 1), ("x z", 1), ("x y", 2), ("z", 2)):
        support[terms.index(term), eq] = True
    return support


@exercise("9.3")
def check_threshold_scan(theta, x_dot, thresholds, n_terms, right):
    """The number of active terms and whether the Lorenz structure is right, for each threshold."""
    from physml_helpers.discovery import sindy

    theta, x_dot = np.asarray(theta, dtype=float), np.asarray(x_dot, dtype=float)
    if theta.ndim != 2 or theta.shape[1] != 10 or x_dot.shape != (theta.shape[0], 3):
        raise AssertionError(f"theta should be the degree-2 library [n, 10] and x_dot [n, 3], got {theta.shape} and {x_dot.shape}.")
    thresholds = np.asarray(thresholds, dtype=float)
    n_terms, right = np.asarray(n_terms), np.asarray(right, dtype=bool)
    if n_terms.shape != thresholds.shape or right.shape != thresholds.shape:
        raise AssertionError(f"n_terms and right need one entry per threshold ({thresholds.size}), "
                             f"got shapes {n_terms.shape} and {right.shape}.")
    support = _lorenz_structure()
    want_terms, want_right = [], []
    for lam in thresholds:
        xi = sindy(theta, x_dot, threshold=float(lam))
        want_terms.append(int(np.count_nonzero(xi)))
        want_right.append(bool(np.array_equal(xi != 0, support)))
    if not np.array_equal(n_terms, want_terms):
        bad = int(np.argmax(n_terms != np.array(want_terms)))
        raise AssertionError(f"at threshold {thresholds[bad]:.3g} sindy keeps {want_terms[bad]} terms, you have {n_terms[bad]}: "
                             "count the non-zero entries of the whole 10 x 3 matrix.")
    if not np.array_equal(right, want_right):
        bad = int(np.argmax(right != np.array(want_right)))
        raise AssertionError(f"at threshold {thresholds[bad]:.3g} the structure is {'right' if want_right[bad] else 'wrong'}: "
                             "seven terms is necessary, not sufficient; compare the pattern of non-zeros with the Lorenz equations.")
    if not any(want_right):
        raise AssertionError("no threshold in your scan gives the Lorenz structure: scan from 0.01 to 30 on a log grid.")
    good = thresholds[np.array(want_right)]
    return f"the right model for thresholds from {good.min():.2g} to {good.max():.2g}."


@exercise("9.4")
def check_heat_restores_energy(laws):
    """``laws``: the sparse null basis of the change matrix with columns p1x, p2x, p1y, p2y, K1, K2, |v1|, |v2|, Q."""
    laws = np.asarray(laws, dtype=float)
    if laws.ndim != 2 or laws.shape[1] != 9:
        raise AssertionError(f"laws should have one row per law and 9 columns (the 8 features and Q), got shape {laws.shape}.")
    expected = np.zeros((3, 9))
    expected[0, [0, 1]] = 1.0
    expected[1, [2, 3]] = 1.0
    expected[2, [4, 5, 8]] = 1.0
    if laws.shape[0] == 2:
        raise AssertionError("two laws: only momentum. Did you add the heat as a column, with Q = 0 before and Q after? "
                             "And is rtol inside the gap of the singular values?")
    if laws.shape[0] != 3:
        raise AssertionError(f"expected three conservation laws (two momentum components and energy), got {laws.shape[0]}.")
    for want in expected:
        if not np.any(np.all(np.abs(laws - want) < 2e-2, axis=1)):
            names = ["p1x", "p2x", "p1y", "p2y", "K1", "K2", "|v1|", "|v2|", "Q"]
            text = " + ".join(n for n, c in zip(names, want) if c)
            raise AssertionError(f"no row of laws is {text} (within the noise, 2e-2).")
    return "with the heat counted, K1 + K2 + Q is conserved again: energy is, kinetic energy is not."


def _series_fit(theta0, periods, noise, degree):
    """Least squares of T = sum_j c_j theta0^(2j), j <= degree, on relative residuals: b = c1/c0 and its error."""
    design = np.column_stack([theta0 ** (2 * j) for j in range(degree + 1)]) / periods[:, None]
    coef = np.linalg.lstsq(design, np.ones_like(periods), rcond=None)[0]
    cov = noise**2 * np.linalg.inv(design.T @ design)
    grad = np.zeros(degree + 1)
    grad[0], grad[1] = -coef[1] / coef[0] ** 2, 1 / coef[0]
    return coef[1] / coef[0], float(np.sqrt(grad @ cov @ grad))


@exercise("9.5")
def check_pendulum_outside_grammar(theta0, periods, noise, chi2_power, b):
    """``chi2_power``: reduced chi^2 of the BIC winner of ``power_law_search`` on the pendulum data;
    ``b``: the coefficient of theta0^2 in T = 2 pi (1 + b theta0^2 + ...), from a fit up to theta0^6."""
    from physml_helpers.discovery import power_law_search

    theta0, periods = np.asarray(theta0, dtype=float), np.asarray(periods, dtype=float)
    noise = float(noise)
    if theta0.ndim != 1 or periods.shape != theta0.shape:
        raise AssertionError(f"theta0 and periods should be 1-D arrays of one length, got {theta0.shape} and {periods.shape}.")
    best = power_law_search({"theta0": theta0}, periods, noise=noise)[0]
    dof = theta0.size - best.n_params
    want = best.chi2_per_dof
    got = float(chi2_power)
    if abs(got / (want * dof) - 1) < 0.01:
        raise AssertionError(f"chi2_power = {got:.4g} is the total chi^2: divide by the degrees of freedom, N - k = {dof}.")
    if abs(got / (want * noise**2) - 1) < 0.01 or abs(got / (want * noise**2 * dof) - 1) < 0.01:
        raise AssertionError(f"chi2_power = {got:.3g} is a sum of squared relative residuals: divide it by noise**2 "
                             "(and by N - k), or read .chi2_per_dof of the first model.")
    expect_close("chi2_power", got, want, rtol=1e-2,
                 hint="take the first (lowest-BIC) model of power_law_search(..., noise=noise) and its .chi2_per_dof.")
    bound = 1 + 5 * np.sqrt(2 / dof)
    if want < bound:
        raise AssertionError(f"on these data a power law reaches the noise (chi2/dof = {want:.2f} < {bound:.2f}): "
                             "use the exercise's data (amplitudes up to 1.2 rad).")
    b_fit, b_error = _series_fit(theta0, periods, noise, 3)
    got_b = float(b)
    if abs(got_b / (2 * np.pi / 16) - 1) < 0.05:
        raise AssertionError(f"b = {got_b:.4g} is close to 2 pi / 16: that is c1, not c1 / c0; divide by c0 (which is 2 pi).")
    for degree, text in ((1, "theta0^2 only"), (2, "theta0^2 and theta0^4 only")):
        b_low, _ = _series_fit(theta0, periods, noise, degree)
        if abs(got_b - b_low) < 0.5 * b_error and abs(b_low - b_fit) > 2 * b_error:
            raise AssertionError(f"b = {got_b:.5f} comes from a series with {text}: the next term, still far above the "
                                 f"noise at 1.2 rad, biases b (the fit up to theta0^6 gives {b_fit:.5f}); fit up to theta0^6.")
    # variants of the same cubic fit (weights, solver) agree far better than its standard error
    expect_close("b", got_b, b_fit, rtol=0.0, atol=0.5 * b_error,
                 hint=f"fit T = c0 + c1 t^2 + c2 t^4 + c3 t^6 (t = theta0) on relative residuals; b = c1 / c0.")
    if abs(b_fit - 1 / 16) > 4 * b_error:
        raise AssertionError(f"the cubic fit gives b = {b_fit:.5f}, more than four standard errors from 1/16: "
                             "use the exercise's data.")
    return (f"no power law reaches the noise (chi2/dof = {want:.0f}), and the series gives b = {got_b:.5f} ± "
            f"{b_error:.5f}, 1/16 within {abs(got_b - 1 / 16) / b_error:.1f} standard errors.")
