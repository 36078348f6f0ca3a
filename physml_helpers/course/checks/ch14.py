"""Checks for the exercises of chapter 14, *Symmetry-constrained estimation*.

References: the symmetric and antisymmetric parts computed directly; the gain (n+1)/2n of symmetrizing
least-squares errors when the noise is iid across flux components, with a tolerance of three standard errors
for 500 experiments; the package's constrained least squares; the exercise's own experiment recomputed from
its keys; kernel ridge regression with the group-averaged kernel and on orbit-augmented data, computed
directly, and the exact ridge ratio 1/|G| that makes them equal.
"""

from __future__ import annotations

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = ["check_parts", "check_gains", "check_constrained_fit", "check_psd", "check_augmentation"]


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


def _d4():
    r90 = np.array([[0.0, -1.0], [1.0, 0.0]])
    flip = np.array([[1.0, 0.0], [0.0, -1.0]])
    return [np.linalg.matrix_power(r90, k) @ f for k in range(4) for f in (np.eye(2), flip)]


def _gaussian(a, b, width=0.6):
    return np.exp(-np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1) / (2 * width**2))


def _krr(k_train, y, k_test, ridge):
    return k_test @ np.linalg.solve(k_train + ridge * np.eye(len(y)), y)


def _augmentation_problem():
    rng = np.random.default_rng(14)
    x, x_test = rng.uniform(-2.0, 2.0, size=(40, 2)), rng.uniform(-2.0, 2.0, size=(60, 2))
    y = np.cos(2 * x[:, 0]) * np.cos(2 * x[:, 1]) + 0.25 * np.sum(x**2, axis=1)
    return x, y, x_test, 1e-3


def _augmentation_references(x, y, x_test, ridge):
    """Predictions of the right models and of the usual wrong ones, on the check's own data."""
    d4 = _d4()
    rotations = d4[::2]  # the cyclic subgroup C4: rotations only, no reflections

    def averaged(a, b, group):
        return sum(_gaussian(a @ g.T, b) for g in group) / len(group)

    def augmented(group, r):
        x_aug = np.concatenate([x @ g.T for g in group])
        return _krr(_gaussian(x_aug, x_aug), np.tile(y, len(group)), _gaussian(x_test, x_aug), r)

    plain_coef = np.linalg.solve(_gaussian(x, x) + ridge * np.eye(len(y)), y)
    return {
        "invariant": _krr(averaged(x, x, d4), y, averaged(x_test, x, d4), ridge),
        "invariant_rotations": _krr(averaged(x, x, rotations), y, averaged(x_test, x, rotations), ridge),
        "averaged_after_training": np.mean([_gaussian(x_test @ g.T, x) @ plain_coef for g in d4], axis=0),
        "plain": _gaussian(x_test, x) @ plain_coef,
        "augmented": augmented(d4, ridge),
        "augmented_rotations": augmented(rotations, ridge),
        "invariant_rescaled": _krr(averaged(x, x, d4), y, averaged(x_test, x, d4), ridge / len(d4)),
    }


# The models are solved with ridge 1e-3: condition numbers below 1e6, rounding below 1e-9 in the predictions
# (values of order 1), while the wrong variants differ from the right ones by more than 1e-3.
_PREDICTION_ATOL = 1e-7


def _matches(got, want):
    return got.shape == want.shape and bool(np.all(np.abs(got - want) <= _PREDICTION_ATOL))


@exercise("14.5")
def check_augmentation(invariant_predict, augmented_predict, ridge_ratio):
    """``invariant_predict(x, y, x_test, ridge)``, ``augmented_predict(x, y, x_test, ridge)`` and ``ridge_ratio``."""
    x, y, x_test, ridge = _augmentation_problem()
    refs = _augmentation_references(x, y, x_test, ridge)
    inv = np.asarray(call(invariant_predict, x, y, x_test, ridge, what="invariant_predict(x, y, x_test, ridge)"),
                     dtype=float)
    if inv.shape != (len(x_test),):
        raise AssertionError(f"invariant_predict should return one prediction per test point, shape ({len(x_test)},), "
                             f"got shape {inv.shape}.")
    if _matches(inv, refs["invariant_rotations"]):
        raise AssertionError("invariant_predict averages over the four rotations only; D4 has eight elements, the "
                             "rotations and the four reflections.")
    if _matches(inv, refs["averaged_after_training"]):
        raise AssertionError("invariant_predict averages a plain model's predictions after training; that is invariant "
                             "too, but it is a different model. Average the kernel, k_bar(x, x') = mean_g k(gx, x'), "
                             "and solve the ridge system with k_bar.")
    if _matches(inv, refs["plain"]):
        raise AssertionError("invariant_predict returns the plain model's predictions: average the kernel over D4.")
    expect_close("invariant_predict(x, y, x_test, ridge)", inv, refs["invariant"], rtol=0, atol=_PREDICTION_ATOL,
                 hint="Kernel ridge regression with k_bar(x, x') = (1/8) sum_g k(gx, x'), the Gaussian kernel of width "
                      "0.6, and ridge * identity added to k_bar(x, x).")
    aug = np.asarray(call(augmented_predict, x, y, x_test, ridge, what="augmented_predict(x, y, x_test, ridge)"),
                     dtype=float)
    if aug.shape != (len(x_test),):
        raise AssertionError(f"augmented_predict should return shape ({len(x_test)},), got shape {aug.shape}.")
    if _matches(aug, refs["augmented_rotations"]):
        raise AssertionError("augmented_predict adds the four rotated copies only; add all eight images g x_i.")
    if _matches(aug, refs["invariant"]):
        raise AssertionError("augmented_predict returns the invariant model at the same ridge; the augmented model "
                             "is the plain kernel trained on the 8 n points g x_i with labels y_i.")
    expect_close("augmented_predict(x, y, x_test, ridge)", aug, refs["augmented"], rtol=0, atol=_PREDICTION_ATOL,
                 hint="Plain Gaussian kernel on the 8 n points g x_i, each with its label y_i (np.tile(y, 8)).")
    ratio = float(ridge_ratio)
    if abs(ratio - 1.0) < 1e-9:
        raise AssertionError("ridge_ratio = 1 is the naive guess; at equal ridges the two models differ (compare "
                             "your predictions). Each sample enters the augmented system 8 times.")
    if abs(ratio - 8.0) < 1e-9:
        raise AssertionError("ridge_ratio = 8 is inverted: the augmented kernel matrix is 8 times larger in the "
                             "direction of orbit-constant coefficients, so the invariant model needs a smaller ridge.")
    expect_close("ridge_ratio", ratio, 1 / 8, rtol=1e-9,
                 hint="Try coefficients equal on every copy of a sample: (8 K_bar + ridge) beta = y.")
    return ("orbit augmentation at ridge λ is the group-averaged kernel at ridge λ/8 (largest difference of the "
            f"predictions here {np.max(np.abs(refs['augmented'] - refs['invariant_rescaled'])):.0e}), at 8^3 times "
            "the cost of the solve.")
