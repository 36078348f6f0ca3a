"""Symmetric projections and constrained least squares against exact identities."""

import numpy as np
import pytest

from physml_helpers.onsager import (expected_squared_errors, fit_response, fit_symmetric_response, group_average,
                                    project_psd, symmetrize)

rng = np.random.default_rng(0)


def _spd(n):
    a = rng.normal(size=(n, n))
    return a @ a.T / n + 0.1 * np.eye(n)


def test_symmetrize_is_an_orthogonal_projection():
    W, B = rng.normal(size=(2, 5, 5))
    L = symmetrize(rng.normal(size=(5, 5)))
    S = symmetrize(W)
    np.testing.assert_allclose(S, S.T, atol=0)
    np.testing.assert_allclose(symmetrize(S), S, atol=1e-15)  # idempotent
    assert np.sum(symmetrize(W) * B) == pytest.approx(np.sum(W * symmetrize(B)), abs=1e-12)  # self-adjoint
    # Pythagoras: |W - L|^2 = |sym W - L|^2 + |antisym W|^2 for every symmetric L
    lhs = np.linalg.norm(W - L) ** 2
    rhs = np.linalg.norm(S - L) ** 2 + np.linalg.norm((W - W.T) / 2) ** 2
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_fits_recover_a_noiseless_response_exactly():
    L = _spd(4)
    X = rng.normal(size=(30, 4))
    J = X @ L.T
    np.testing.assert_allclose(fit_response(X, J), L, atol=1e-12)
    np.testing.assert_allclose(fit_symmetric_response(X, J), L, atol=1e-12)
    W_true = rng.normal(size=(4, 4))  # an asymmetric truth is recovered by the unconstrained fit
    np.testing.assert_allclose(fit_response(X, X @ W_true.T), W_true, atol=1e-12)


def test_constrained_fit_equals_projection_for_isotropic_forces():
    n, m = 3, 40
    q, _ = np.linalg.qr(rng.normal(size=(m, n)))
    X = np.sqrt(m) * q  # X^T X = m * identity
    J = X @ _spd(n).T + 0.3 * rng.normal(size=(m, n))
    np.testing.assert_allclose(fit_symmetric_response(X, J), symmetrize(fit_response(X, J)), atol=1e-12)


def test_constrained_fit_satisfies_the_optimality_condition_and_wins_in_the_data_metric():
    n, m = 3, 25
    L = _spd(n)
    for _ in range(50):
        X = rng.normal(size=(m, n)) * np.array([5.0, 1.0, 0.2])  # strongly anisotropic forces
        J = X @ L.T + rng.normal(size=(m, n))
        Lc, W = fit_symmetric_response(X, J), fit_response(X, J)
        np.testing.assert_allclose(Lc, Lc.T, atol=0)
        gradient = X.T @ (X @ Lc - J)  # d/dL of |J - X L|^2 / 2 at symmetric L
        np.testing.assert_allclose(symmetrize(gradient), 0, atol=1e-9)
        assert np.linalg.norm(X @ (Lc - L).T) <= np.linalg.norm(X @ (W - L).T) + 1e-12
        assert np.linalg.norm(symmetrize(W) - L) <= np.linalg.norm(W - L) + 1e-12


def test_project_psd():
    L = _spd(4)
    W = L + rng.normal(size=(4, 4))
    P = project_psd(W)
    assert np.linalg.eigvalsh(P).min() >= -1e-12
    np.testing.assert_allclose(project_psd(P), P, atol=1e-12)
    np.testing.assert_allclose(project_psd(L), L, atol=1e-12)
    for _ in range(100):  # non-expansive towards any PSD matrix
        W = L + 2 * rng.normal(size=(4, 4))
        assert np.linalg.norm(project_psd(W) - L) <= np.linalg.norm(symmetrize(W) - L) + 1e-12


def test_group_average_is_invariant():
    rotations = [lambda x, k=k: x @ np.linalg.matrix_power(np.array([[0.0, -1.0], [1.0, 0.0]]), k).T for k in range(4)]
    f = lambda x: x[:, 0] ** 3 + 2 * x[:, 1] + x[:, 0] * x[:, 1] ** 2
    fbar = group_average(f, rotations)
    x = rng.normal(size=(10, 2))
    for g in rotations:
        np.testing.assert_allclose(fbar(g(x)), fbar(x), atol=1e-12)
    radial = lambda x: np.exp(-np.sum(x**2, axis=1))
    np.testing.assert_allclose(group_average(radial, rotations)(x), radial(x), atol=1e-15)


def test_bad_inputs():
    with pytest.raises(ValueError, match="W must be a square matrix"):
        symmetrize(np.ones((2, 3)))
    with pytest.raises(ValueError, match="X and J must both have shape"):
        fit_response(np.ones((5, 2)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="at least n = 3 samples"):
        fit_symmetric_response(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        fit_response(np.full((4, 2), np.nan), np.ones((4, 2)))
    with pytest.raises(TypeError, match="fn must be a callable"):
        group_average(3, [lambda x: x])
    with pytest.raises(ValueError, match="at least the identity"):
        group_average(lambda x: x, [])


def test_bad_input_kinds_and_values_use_the_shared_checks():
    with pytest.raises(TypeError, match="W must be a concrete array of real numbers, got str"):
        symmetrize("W")
    with pytest.raises(TypeError, match="W must hold real numbers, got dtype complex128"):
        project_psd(np.eye(2) * 1j)
    with pytest.raises(ValueError, match="W must be a 2-D array, got shape"):
        symmetrize(np.ones(3))
    with pytest.raises(ValueError, match=r"W must be a square matrix \[n, n\]"):
        project_psd(np.ones((2, 3)))
    with pytest.raises(ValueError, match="W must not be empty"):
        symmetrize(np.zeros((0, 0)))
    with pytest.raises(ValueError, match="W must contain only finite numbers"):
        project_psd(np.array([[1.0, np.inf], [0.0, 1.0]]))
    X = rng.normal(size=(6, 2))
    with pytest.raises(TypeError, match="X must be a concrete array of real numbers"):
        fit_response("X", X)
    with pytest.raises(TypeError, match="J must hold real numbers"):
        fit_symmetric_response(X, X * 1j)
    with pytest.raises(ValueError, match="J must contain only finite numbers"):
        fit_symmetric_response(X, np.where(X > 0, np.inf, X))
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        fit_response(X[:, 0], X)
    with pytest.raises(TypeError, match="transforms must be a sequence of callables"):
        group_average(lambda x: x, lambda x: x)  # a single transformation, not wrapped in a list
    with pytest.raises(TypeError, match="transforms must be a sequence of callables"):
        group_average(lambda x: x, 3)
    with pytest.raises(TypeError, match=r"transforms\[1\] must be a callable"):
        group_average(lambda x: x, [lambda x: x, "flip"])


def test_linear_algebra_is_done_in_float64_whatever_the_input_dtype():
    # a documented choice for these small NumPy least-squares problems: float32 data are not degraded further
    rng = np.random.default_rng(5)
    X = rng.normal(size=(20, 3)).astype(np.float32)
    J = (X @ np.diag([1.0, 2.0, 3.0])).astype(np.float32)
    for fn in (fit_response, fit_symmetric_response):
        assert fn(X, J).dtype == np.float64
    assert symmetrize(np.eye(2, dtype=np.float32)).dtype == np.float64


def test_expected_squared_errors_closed_forms():
    # iid noise: sigma^2 n^2 / (m - n - 1) for unit forces, and the ratio (n+1)/2n for any force covariance
    for n, m, sigma in ((2, 10, 0.3), (3, 30, 0.5), (5, 12, 2.0)):
        mse, mse_sym = expected_squared_errors(sigma**2 * np.eye(n), np.eye(n), m)
        assert mse == pytest.approx(sigma**2 * n**2 / (m - n - 1), rel=1e-14)
        assert mse_sym / mse == pytest.approx((n + 1) / (2 * n), rel=1e-14)
        mse_c, mse_sym_c = expected_squared_errors(sigma**2 * np.eye(n), _spd(n), m)
        assert mse_sym_c / mse_c == pytest.approx((n + 1) / (2 * n), rel=1e-12)
    # noise and weak force on the same component: the error sits on the diagonal, symmetrizing removes ~nothing
    mse, mse_sym = expected_squared_errors(np.diag([1e-6, 1e-6, 1.0]), np.diag([1.0, 1.0, 1e-6]), 30)
    assert mse_sym / mse == pytest.approx(1.0, abs=1e-5)
    # on different components: the error sits off the diagonal, symmetrizing removes half
    mse, mse_sym = expected_squared_errors(np.diag([1.0, 1e-6, 1e-6]), np.diag([1.0, 1.0, 1e-6]), 30)
    assert mse_sym / mse == pytest.approx(0.5, abs=1e-5)


def test_expected_squared_errors_against_monte_carlo():
    n, m, trials = 3, 12, 20000
    local = np.random.default_rng(11)
    A, B = local.normal(size=(2, n, n))
    noise_cov, force_cov = A @ A.T + 0.1 * np.eye(n), B @ B.T + 0.1 * np.eye(n)
    L = _spd(n)
    X = local.normal(size=(trials, m, n)) @ np.linalg.cholesky(force_cov).T
    E = local.normal(size=(trials, m, n)) @ np.linalg.cholesky(noise_cov).T
    Xt = X.transpose(0, 2, 1)
    dW = np.linalg.solve(Xt @ X, Xt @ (X @ L.T + E)).transpose(0, 2, 1) - L
    e_w = np.sum(dW**2, axis=(1, 2))
    e_s = np.sum(((dW + dW.transpose(0, 2, 1)) / 2) ** 2, axis=(1, 2))
    want_w, want_s = expected_squared_errors(noise_cov, force_cov, m)
    # five standard errors of the Monte Carlo means (m - n - 3 > 0, so the variances are finite)
    assert abs(e_w.mean() - want_w) < 5 * e_w.std() / np.sqrt(trials)
    assert abs(e_s.mean() - want_s) < 5 * e_s.std() / np.sqrt(trials)
    np.testing.assert_allclose(dW[0] + L, fit_response(X[0], X[0] @ L.T + E[0]), atol=1e-10)


def test_expected_squared_errors_bad_inputs():
    with pytest.raises(ValueError, match="n_samples must be > n \\+ 1 = 4"):
        expected_squared_errors(np.eye(3), np.eye(3), 4)
    with pytest.raises(ValueError, match="noise_cov must be positive definite"):
        expected_squared_errors(np.diag([1.0, 0.0]), np.eye(2), 10)
    with pytest.raises(ValueError, match="force_cov must be a symmetric covariance"):
        expected_squared_errors(np.eye(2), np.array([[1.0, 0.5], [0.0, 1.0]]), 10)
    with pytest.raises(ValueError, match="same n"):
        expected_squared_errors(np.eye(2), np.eye(3), 10)
    with pytest.raises(TypeError, match="n_samples"):
        expected_squared_errors(np.eye(2), np.eye(2), 10.5)
