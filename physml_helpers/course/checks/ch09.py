"""Checks for the exercises of chapter 9, *Discovering laws from data*.

References: the IAU 2009 heliocentric gravitational constant; the exact period 2 pi sqrt(m/k) of a
harmonic oscillator; the seven-term structure of the Lorenz equations (with the counts recomputed by the
package's own SINDy); momentum and total (kinetic plus heat) energy as the conserved combinations of
inelastic collisions.
"""

from __future__ import annotations

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = ["check_sun_gm", "check_spring_period", "check_threshold_scan", "check_heat_restores_energy",
           "GM_SUN_IAU"]

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
