"""Checks for the exercises of chapter 14, *Symmetry-constrained estimation*.

References: the symmetric and antisymmetric parts computed directly; the gain (n+1)/2n of symmetrizing
isotropic errors, with a tolerance of three standard errors for 500 experiments; the package's
constrained least squares; the exercise's own experiment recomputed from its keys.
"""

from __future__ import annotations

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = ["check_parts", "check_gains", "check_constrained_fit", "check_psd"]


@exercise("14.1")
def check_parts(symmetric_part, antisymmetric_part):
    """``symmetric_part(W)`` and ``antisymmetric_part(W)``."""
    W = np.random.default_rng(0).normal(size=(5, 5))
    S = np.asarray(call(symmetric_part, W, what="symmetric_part(W)"), dtype=float)
    K = np.asarray(call(antisymmetric_part, W, what="antisymmetric_part(W)"), dtype=float)
    expect_close("symmetric_part(W)", S, (W + W.T) / 2, rtol=0, atol=1e-12, hint="(W + W^T) / 2")
    expect_close("antisymmetric_part(W)", K, (W - W.T) / 2, rtol=0, atol=1e-12, hint="(W - W^T) / 2")
    return "W = sym W + antisym W, and the two parts are orthogonal."


@exercise("14.2")
def check_gains(gains):
    """``gains``: {n: ratio of mean squared errors} for n = 2, 4, 8 (500 experiments each)."""
    if not isinstance(gains, dict) or sorted(gains) != [2, 4, 8]:
        raise AssertionError(f"gains should be a dict with keys 2, 4 and 8, got {gains!r}.")
    for n, ratio in gains.items():
        want = (n + 1) / (2 * n)
        # |W - L|^2 is a sum of n^2 squared errors: relative spread sqrt(2)/n; 500 experiments
        tolerance = 3 * want * np.sqrt(2) / n / np.sqrt(500)
        if abs(float(ratio) - 1 / want) < tolerance * 3:
            raise AssertionError(f"gains[{n}] = {float(ratio):.3f} is inverted: divide the symmetrized error by the unconstrained one.")
        expect_close(f"gains[{n}]", float(ratio), want, rtol=0, atol=tolerance,
                     hint="Mean of |P(W) - L|^2 over experiments divided by the mean of |W - L|^2.")
    return "the symmetrized estimate keeps the fraction (n+1)/2n of the squared error, one half for large n."


@exercise("14.3")
def check_constrained_fit(constrained_fit):
    """``constrained_fit(X, J)``: least squares over symmetric L."""
    from physml_helpers.onsager import fit_symmetric_response, symmetrize, fit_response

    rng = np.random.default_rng(1)
    X = rng.normal(size=(25, 4)) * np.array([4.0, 1.0, 0.5, 0.1])
    J = X @ symmetrize(rng.normal(size=(4, 4))) + 0.3 * rng.normal(size=(25, 4))
    got = np.asarray(call(constrained_fit, X, J, what="constrained_fit(X, J)"), dtype=float)
    want = fit_symmetric_response(X, J)
    if got.shape != (4, 4):
        raise AssertionError(f"constrained_fit should return a 4 x 4 matrix here, got shape {got.shape}.")
    if np.allclose(got, symmetrize(fit_response(X, J)), atol=1e-8) and not np.allclose(got, want, atol=1e-8):
        raise AssertionError("this is the symmetrized unconstrained fit; the constrained fit solves a different least-squares problem.")
    expect_close("constrained_fit(X, J)", got, want, rtol=0, atol=1e-9,
                 hint="One column of the design per free entry L_ab (a <= b): the flattened X @ E^T with E_ab = E_ba = 1.")
    return "constrained least squares: the projection of W in the metric of the data."


def _psd_reference():
    import jax

    from physml_helpers.onsager import fit_response, project_psd, symmetrize

    Q, _ = np.linalg.qr(np.asarray(jax.random.normal(jax.random.key(7), (3, 3))))
    L = Q @ np.diag([1.0, 0.3, 0.02]) @ Q.T
    X = np.asarray(jax.random.normal(jax.random.key(8), (1000, 20, 3)))
    J = X @ L.T + 0.5 * np.asarray(jax.random.normal(jax.random.key(9), (1000, 20, 3)))
    S = np.array([symmetrize(fit_response(x, j)) for x, j in zip(X, J)])
    P = np.array([project_psd(s) for s in S])
    return np.mean(np.sum((S - L) ** 2, axis=(1, 2))), np.mean(np.sum((P - L) ** 2, axis=(1, 2)))


@exercise("14.4")
def check_psd(mse_sym, mse_psd, never_worse):
    """The mean squared errors of the symmetric and PSD estimates, and whether PSD was never worse."""
    if never_worse is not True:
        raise AssertionError("projection onto a convex set containing L never moves an estimate away from L: "
                             "never_worse should be True (compare per experiment, with a 1e-12 allowance for rounding).")
    want_sym, want_psd = _psd_reference()
    expect_close("mse_sym", float(mse_sym), want_sym, rtol=1e-8,
                 hint="Use the keys 7, 8 and 9 as in the statement, m = 20, noise 0.5.")
    expect_close("mse_psd", float(mse_psd), want_psd, rtol=1e-8)
    return f"the second law cuts the mean squared error from {want_sym:.4f} to {want_psd:.4f}."
