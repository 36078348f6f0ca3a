"""Checks for the exercises of chapter 11, *Applications I: particles, cosmos and materials*.

References: the Bayes-optimal classifier of the likelihood-ratio trick for the one-dimensional Gaussian-linear task,
d* = sigmoid(log N(x; theta, 0.1) - log N(x; 0, 0.2)); Behler-Parrinello's radial symmetry function evaluated
directly; simulation-based calibration of the exact posterior N(x/2, 0.05) and of a narrowed one; the Lennard-Jones
dimer, minimum at 2^(1/6) sigma, depth epsilon, curvature 72 epsilon / (2^(1/3) sigma^2).
Kernel ridge regression of the kinetic-energy functional, T(n) = mean(T) + sum_i alpha_i k(n, n_i), against
physml_helpers.mldft on one-particle densities of the 1-D box.
"""

from __future__ import annotations

import math

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = ["check_optimal_classifier", "check_radial_symmetry_function", "check_sbc_p_value", "check_lj_dimer",
           "check_krr_fit_predict"]


def _log_normal(x, mean, var):
    return -0.5 * (x - mean) ** 2 / var - 0.5 * np.log(2 * np.pi * var)


@exercise("11.1")
def check_optimal_classifier(optimal_classifier):
    """``optimal_classifier(theta, x)``: the optimal joint-vs-shuffled classifier, 1-D Gaussian-linear task."""
    theta, x = np.meshgrid(np.linspace(-0.8, 0.8, 9), np.linspace(-1.0, 1.0, 11), indexing="ij")
    got = np.asarray(call(optimal_classifier, theta, x, what="optimal_classifier(theta, x)"), dtype=float)
    if got.shape != theta.shape:
        raise AssertionError(f"optimal_classifier returned shape {got.shape} for inputs of shape {theta.shape}; "
                             "it should work elementwise")
    log_r = _log_normal(x, theta, 0.1) - _log_normal(x, 0.0, 0.2)
    want = 1 / (1 + np.exp(-log_r))
    if np.allclose(got, np.exp(log_r), rtol=1e-6):
        raise AssertionError("you returned the ratio r = p(x|theta)/p(x) itself; the classifier's output is r/(1 + r).")
    wrong_marginal = _log_normal(x, theta, 0.1) - _log_normal(x, 0.0, 0.1)
    if np.allclose(got, 1 / (1 + np.exp(-wrong_marginal)), rtol=1e-6):
        raise AssertionError("the marginal p(x) of the data is N(0, prior variance + noise variance) = N(0, 0.2), not "
                             "N(0, 0.1).")
    if np.any(got < 0) or np.any(got > 1):
        raise AssertionError("a classifier's output is a probability, between 0 and 1.")
    expect_close("optimal_classifier(theta, x)", got, want, rtol=1e-6, atol=1e-9,
                 hint="d* = p(theta)p(x|theta) / (p(theta)p(x|theta) + p(theta)p(x)); cancel p(theta).")
    return "d*/(1 - d*) = p(x|theta)/p(x): the classifier knows the likelihood ratio."


def _radial_reference(positions, eta, r_s, cutoff):
    d = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    fc = np.where(d < cutoff, 0.5 * (np.cos(np.pi * d / cutoff) + 1), 0.0)
    np.fill_diagonal(fc, 0.0)
    return np.sum(np.exp(-eta * (d - r_s) ** 2) * fc, axis=1)


@exercise("11.2")
def check_radial_symmetry_function(radial_g2):
    """``radial_g2(positions, eta, r_s, cutoff)``: G^2_i for every atom, float[n_atoms]."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(6, 3)) * 0.9
    eta, r_s, cutoff = 4.0, 1.1, 2.5
    got = np.asarray(call(radial_g2, x, eta, r_s, cutoff, what="radial_g2(positions, 4.0, 1.1, 2.5)"), dtype=float)
    want = _radial_reference(x, eta, r_s, cutoff)
    if got.shape != want.shape:
        raise AssertionError(f"radial_g2 should return one number per atom, shape {want.shape}, got {got.shape}")
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    with_self = want + np.exp(-eta * r_s**2) * 1.0
    if np.allclose(got, with_self, rtol=1e-6):
        raise AssertionError("you included the atom itself (j = i, r = 0) in the sum; sum over j != i only.")
    no_cut = np.sum(np.where(np.eye(6, dtype=bool), 0.0, np.exp(-eta * (d - r_s) ** 2)), axis=1)
    if np.allclose(got, no_cut, rtol=1e-6):
        raise AssertionError("the cutoff function f_c(r) = (cos(pi r / r_c) + 1)/2, zero beyond r_c, is missing.")
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    moved = np.asarray(call(radial_g2, x @ q.T + np.array([1.0, -2.0, 0.5]), eta, r_s, cutoff,
                            what="radial_g2 of a rotated, translated copy"), dtype=float)
    if not np.allclose(moved, got, rtol=1e-8, atol=1e-10):
        raise AssertionError("your G^2 changes under a rotation and translation of the cluster; it must depend on "
                             "distances only.")
    perm = np.array([3, 0, 5, 1, 4, 2])
    permuted = np.asarray(call(radial_g2, x[perm], eta, r_s, cutoff, what="radial_g2 of the atoms in another order"),
                          dtype=float)
    if not np.allclose(permuted, got[perm], rtol=1e-8, atol=1e-10):
        raise AssertionError("relabelling the atoms should relabel your G^2 values in the same way (G^2 of x[perm] is "
                             "G^2 of x, permuted); it must not depend on an atom's index.")
    expect_close("radial_g2(positions, 4.0, 1.1, 2.5)", got, want, rtol=1e-8, atol=1e-12,
                 hint="G^2_i = sum over j != i of exp(-eta (r_ij - r_s)^2) f_c(r_ij).")
    return "invariant under rotations, translations and (per atom) permutations, and equal to the reference."


@exercise("11.3")
def check_sbc_p_value(sbc_p_value):
    """``sbc_p_value(key, width_factor)``: chi^2 p-value of SBC ranks for the posterior N(x/2, width_factor^2 0.05)."""
    import jax

    p_exact = float(call(sbc_p_value, jax.random.key(0), 1.0, what="sbc_p_value(key, 1.0)"))
    p_narrow = float(call(sbc_p_value, jax.random.key(1), 0.5, what="sbc_p_value(key, 0.5)"))
    p_wide = float(call(sbc_p_value, jax.random.key(2), 2.0, what="sbc_p_value(key, 2.0)"))
    for name, p in (("1.0", p_exact), ("0.5", p_narrow), ("2.0", p_wide)):
        if not 0 <= p <= 1:
            raise AssertionError(f"sbc_p_value(key, {name}) = {p}: a p-value lies between 0 and 1.")
    if p_exact < 1e-4:
        raise AssertionError(f"the exact posterior fails your test (p = {p_exact:.2g}). Check that theta* is drawn from "
                             "the prior N(0, 0.1), x from N(theta*, 0.1), and the samples from N(x/2, 0.05) for the same x.")
    if p_narrow > 1e-6 or p_wide > 1e-6:
        raise AssertionError(f"a posterior half as wide gives p = {p_narrow:.2g} and twice as wide p = {p_wide:.2g}; "
                             "both should be rejected (p < 1e-6). Use at least 500 trials, and compare the ranks with "
                             "the uniform distribution on 0..L.")
    return (f"the exact posterior passes (p = {p_exact:.2f}); too narrow (p = {p_narrow:.1g}) and too wide "
            f"(p = {p_wide:.1g}) are caught.")


@exercise("11.4")
def check_lj_dimer(lj_dimer):
    """``lj_dimer(epsilon, sigma)``: (r_min, E_min, k) of the Lennard-Jones dimer."""
    for eps, sig in ((1.0, 1.0), (2.5, 0.7)):
        got = call(lj_dimer, eps, sig, what=f"lj_dimer({eps}, {sig})")
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            raise AssertionError("lj_dimer should return three numbers (r_min, E_min, k)")
        r_min, e_min, k = (float(v) for v in got)
        want = (2 ** (1 / 6) * sig, -eps, 72 * eps / (2 ** (1 / 3) * sig**2))
        if abs(r_min - sig) < 1e-9:
            raise AssertionError("r = sigma is where the energy crosses zero; the minimum is where the force vanishes.")
        if abs(k - 72 * eps / sig**2) < 1e-6 * want[2]:
            raise AssertionError("k = 72 epsilon / r_min^2: evaluate it at r_min = 2^(1/6) sigma, not at sigma.")
        expect_close(f"r_min for epsilon={eps}, sigma={sig}", r_min, want[0], rtol=1e-8)
        expect_close(f"E_min for epsilon={eps}, sigma={sig}", e_min, want[1], rtol=1e-8, hint="The well depth is epsilon.")
        expect_close(f"k for epsilon={eps}, sigma={sig}", k, want[2], rtol=1e-8,
                     hint="Differentiate 4 epsilon [(sigma/r)^12 - (sigma/r)^6] twice and use (sigma/r_min)^6 = 1/2.")
    return "r_min = 2^(1/6) sigma, E = -epsilon, k = 72 epsilon / (2^(1/3) sigma^2) = 57.1 epsilon / sigma^2."


def _krr_variant(train, y, test, sigma, ridge, h, *, norm_h=True, offset=True, two=True):
    def k(a, b):
        d2 = np.sum((a[:, None] - b[None]) ** 2, axis=-1) * (h if norm_h else 1.0)
        return np.exp(-d2 / ((2 if two else 1) * sigma**2))
    c = y.mean() if offset else 0.0
    alpha = np.linalg.solve(k(train, train) + ridge * np.eye(len(y)), y - c)
    return c + k(test, train) @ alpha


@exercise("11.5")
def check_krr_fit_predict(krr_fit_predict):
    """``krr_fit_predict(train_densities, train_energies, test_densities, sigma, ridge, h)``: predictions float[B]."""
    import jax

    from physml_helpers import mldft

    x, h = mldft.box_grid(49)
    v = mldft.gaussian_wells(jax.random.key(5), 30, x)
    gs = mldft.fermion_ground_state(mldft.solve_box(v, n_states=1), v, 1)
    train, y, test = gs.density[:20], gs.kinetic[:20], gs.density[20:]
    sigma, ridge = 0.3, 1e-3
    got = np.asarray(call(krr_fit_predict, train, y, test, sigma, ridge, h,
                          what="krr_fit_predict(train, T, test, 0.3, 1e-3, h)"), dtype=float)
    if got.shape != (len(test),):
        raise AssertionError(f"krr_fit_predict should return one energy per test density, shape ({len(test)},), "
                             f"got {got.shape}")
    want = mldft.kernel_ridge_predict(mldft.fit_kernel_ridge(train, y, sigma=sigma, ridge=ridge, h=h), test)
    wrong = {
        "the squared distance needs the grid spacing: ||n - n'||^2 = h * sum_j (n_j - n'_j)^2, an integral over x.":
            dict(norm_h=False),
        "fit the deviations from the mean training energy, y - mean(y), and add the mean back to the prediction.":
            dict(offset=False),
        "the Gaussian kernel is exp(-||n - n'||^2 / (2 sigma^2)); the factor 2 is missing.": dict(two=False),
    }
    for message, variant in wrong.items():
        alt = _krr_variant(train, y, test, sigma, ridge, h, **variant)
        if np.allclose(got, alt, rtol=1e-6) and not np.allclose(alt, want, rtol=1e-6):
            raise AssertionError(message)
    expect_close("krr_fit_predict on 10 test densities", got, want, rtol=1e-6,
                 hint="alpha = solve(K + ridge * I, y - mean(y)); prediction = mean(y) + k(test, train) @ alpha.")
    at_train = np.asarray(call(krr_fit_predict, train, y, train, sigma, 1e-12, h,
                               what="krr_fit_predict at the training densities with ridge 1e-12"), dtype=float)
    expect_close("predictions at the training densities (ridge 1e-12)", at_train, y, rtol=1e-6,
                 hint="with a vanishing ridge kernel ridge regression interpolates its training data.")
    mae = np.abs(got - gs.kinetic[20:]).mean() * mldft.HARTREE_KCAL_MOL
    return f"matches the reference; with 20 densities on this coarse grid the test MAE is {mae:.1f} kcal/mol."
