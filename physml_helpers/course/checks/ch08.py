"""Checks for the exercises of chapter 8, *Learning phases of matter*.

References: the 2x2 torus enumerated spin by spin and Kaufman's exact partition function for L = 2; the
Binder cumulant of samples whose value is known exactly (two symmetric delta peaks: 2/3) and the crossing of
U_8 and U_16 (tolerance 4% of T_c: three times the bootstrap error of the crossing in the exercise's data set,
about 0.03, since the two curves are nearly parallel near their crossing); the gauge map from the ferromagnet to the antiferromagnet
checked on random configurations through both energies; and the signatures of a classifier trained without
the spin-flip symmetry.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = ["check_partition_function", "check_binder", "check_antiferromagnet", "check_symmetry_failure"]

T_C = 2.0 / math.log(1.0 + math.sqrt(2.0))


def _torus_energy(s, J=1.0):
    """-J sum over the 2 L^2 bonds of [..., L, L] configurations (right and down neighbours, periodic)."""
    s = np.asarray(s, dtype=float)
    return -J * np.sum(s * np.roll(s, 1, -1) + s * np.roll(s, 1, -2), axis=(-2, -1))


def _brute_force_z(K):
    configs = np.array(list(itertools.product([-1, 1], repeat=4))).reshape(16, 2, 2)
    return np.sum(np.exp(-K * _torus_energy(configs)))


def _as_function(expr, symbol, what):
    import sympy as sp

    if not isinstance(expr, sp.Expr):
        raise AssertionError(f"{what} should be a SymPy expression in K, got {type(expr).__name__}.")
    extra = expr.free_symbols - {symbol}
    if extra:
        raise AssertionError(f"{what} should depend on K only, but it contains {sorted(map(str, extra))}.")
    return sp.lambdify(symbol, expr, "numpy")


@exercise("8.1")
def check_partition_function(Z, u, K):
    """``Z`` and ``u`` SymPy expressions in the symbol ``K`` (coupling J/T) for the 2x2 torus."""
    z_fn, u_fn = _as_function(Z, K, "Z"), _as_function(u, K, "u")
    couplings = np.array([0.1, 0.3, 0.5, 0.8])
    got = np.array([float(z_fn(k)) for k in couplings])
    want = np.array([_brute_force_z(k) for k in couplings])
    single = 2 * np.exp(4 * couplings) + 12 + 2 * np.exp(-4 * couplings)
    if np.allclose(got, single, rtol=1e-9):
        raise AssertionError("this Z counts each neighbouring pair once; on the 2 x 2 torus every pair is joined "
                             "by two bonds (right and left neighbour are the same site), so energies are -8, 0, +8.")
    expect_close("Z(K)", got, want, rtol=1e-9, hint="Sum exp(-K E) over the 16 configurations grouped by energy.")
    from physml_helpers.ising import kaufman_energy

    got_u = np.array([float(u_fn(k)) for k in couplings])
    want_u = np.asarray(kaufman_energy(1 / couplings, 2))
    if np.allclose(got_u, -want_u, rtol=1e-9):
        raise AssertionError("u has the wrong sign: u = -(1/N) d ln Z / dK with N = 4.")
    if np.allclose(got_u, 4 * want_u, rtol=1e-9):
        raise AssertionError("u is the total energy; divide by the N = 4 sites.")
    expect_close("u(K)", got_u, want_u, rtol=1e-9, hint="u = -(1/4) d ln Z / dK.")
    return "Z = 4 cosh 8K + 12, and u agrees with Kaufman's formula for L = 2."


@exercise("8.2")
def check_binder(binder, T_cross):
    """``binder(m)`` for an array of magnetizations, and ``T_cross`` the crossing of U_8 and U_16."""
    two_peaks = np.array([-0.8, 0.8, 0.8, -0.8])
    got = float(call(binder, two_peaks, what="binder(m)"))
    if abs(got) < 1e-9:
        raise AssertionError("binder(±m0) should be 2/3: you may have used <m^2>^2 without the factor 3, "
                             "U = 1 - <m^4> / (3 <m^2>^2).")
    expect_close("binder(m) for m = ±0.8", got, 2 / 3, rtol=0, atol=1e-9, hint="U = 1 - <m^4> / (3 <m^2>^2).")
    gauss = np.random.default_rng(0).normal(size=200_000)
    got = float(call(binder, gauss, what="binder(m)"))
    # U of N(0,1) samples: 1 - m4/(3 m2^2) with standard error about 0.004 for 2e5 samples
    expect_close("binder(m) for Gaussian m", got, 0.0, rtol=0, atol=0.02,
                 hint="Gaussian fluctuations have <m^4> = 3 <m^2>^2, so U = 0.")
    t = float(T_cross)
    if not np.isfinite(t):
        raise AssertionError(f"T_cross should be a temperature, got {T_cross!r}.")
    if abs(t - T_C) > 0.04 * T_C:  # three bootstrap errors (0.03 each) of the crossing in the exercise's data set
        raise AssertionError(f"T_cross = {t:.3f} is more than 4% from T_c = {T_C:.3f}, three times the statistical error "
                             "of the crossing of U_8 and U_16 in this data set. Check the sign change of U_16 - U_8 and "
                             "the interpolation.")
    return f"the Binder cumulants cross at {t:.3f}, {100 * (t - T_C) / T_C:+.1f}% from T_c, with no exponent needed."


@exercise("8.3")
def check_antiferromagnet(to_antiferromagnet, proposed, accuracy):
    """``to_antiferromagnet(x)`` for [..., L, L] arrays; ``accuracy`` of confusion at the ``proposed`` temperatures."""
    rng = np.random.default_rng(1)
    x = rng.choice(np.array([-1, 1], dtype=np.int8), size=(5, 8, 8))
    y = np.asarray(call(to_antiferromagnet, x, what="to_antiferromagnet(x)"))
    if y.shape != x.shape:
        raise AssertionError(f"to_antiferromagnet(x) should keep the shape {x.shape}, got {y.shape}.")
    if not np.all(np.abs(y) == 1):
        raise AssertionError("to_antiferromagnet(x) should return spins ±1.")
    expect_close("energy of to_antiferromagnet(x) with J = -1", _torus_energy(y, J=-1.0), _torus_energy(x, J=1.0),
                 rtol=0, atol=1e-9, hint="Multiply each spin by (-1)^(x + y): every bond joins the two sublattices.")
    ordered = np.ones((1, 8, 8), np.int8)
    if abs(float(np.mean(np.asarray(to_antiferromagnet(ordered))))) > 1e-9:
        raise AssertionError("the all-up ferromagnet should map to a checkerboard with m = 0.")
    t = np.asarray(proposed, dtype=float)
    acc = np.asarray(accuracy, dtype=float)
    if acc.shape != t.shape:
        raise AssertionError(f"accuracy should have one entry per proposed temperature, shape {t.shape}, got {acc.shape}.")
    if np.any(acc < 0) or np.any(acc > 1):
        raise AssertionError("accuracies are fractions between 0 and 1.")
    n = len(acc)
    left = int(np.argmin(np.where(np.arange(n) < n // 2, acc, 2)))
    right = int(np.argmin(np.where(np.arange(n) >= n // 2, acc, 2)))
    if not 0 < left < right - 1 < n - 2:
        raise AssertionError("the accuracy curve has no W: no peak between two inner dips. Did you label by T > T' "
                             "and measure on held-out chains?")
    peak = left + 1 + int(np.argmax(acc[left + 1:right]))
    # the temperatures are the proposals' neighbours on a uniform grid: the majority-class baseline at the peak
    spacing = t[1] - t[0]
    grid = np.append(t - spacing / 2, t[-1] + spacing / 2)
    majority = max(np.mean(grid > t[peak]), np.mean(grid < t[peak]))
    if acc[peak] < majority + 0.15:
        raise AssertionError(f"the middle accuracy {acc[peak]:.3f} is barely above the majority-class baseline "
                             f"{majority:.3f}: the network has not learned the phases (shuffled labels do this).")
    # grid spacing 0.08; at L = 16 pseudo-critical points lie up to ~0.1 above T_c (chapter 8.3)
    if not (T_C - 0.12 <= t[peak] <= T_C + 0.2):
        raise AssertionError(f"the middle peak is at T' = {t[peak]:.3f}, not near T_c = {T_C:.3f}: look at the "
                             "transformed data and the labels.")
    return (f"the gauge map is exact, and confusion puts the middle peak at {t[peak]:.3f}, next to T_c, without "
            "knowing the order parameter.")


@exercise("8.4")
def check_symmetry_failure(acc_train, frac_down, T_star_plain, T_star_flip):
    """Accuracy at the training temperatures, fraction of m < 0 at T_c, and the two crossing temperatures."""
    acc, frac = float(acc_train), float(frac_down)
    t_plain, t_flip = float(T_star_plain), float(T_star_flip)
    if not 0 <= acc <= 1 or not 0 <= frac <= 1:
        raise AssertionError("acc_train and frac_down are fractions between 0 and 1.")
    if acc < 0.95:
        raise AssertionError(f"acc_train = {acc:.3f}: far from T_c the plain network should be almost always right; "
                             "evaluate it on the held-out chains at the six training temperatures only.")
    if frac < 0.1:
        raise AssertionError(f"frac_down = {frac:.2f}: at T_c the 8 x 8 chains should have visited m < 0 often. "
                             "Use the data as sampled (before any random flips), at the temperature closest to T_c.")
    if not t_plain < t_flip - 0.03:
        raise AssertionError(f"T_star_plain = {t_plain:.3f} should lie clearly below T_star_flip = {t_flip:.3f}: the plain "
                             "network calls reversed ordered configurations disordered. Did you train it on unflipped data?")
    if abs(t_flip - T_C) > 0.1 * T_C:
        raise AssertionError(f"T_star_flip = {t_flip:.3f} is far from T_c; compare with the chapter's T*(8).")
    return "without the flip symmetry in its data the network is right where it was trained and wrong near T_c."
