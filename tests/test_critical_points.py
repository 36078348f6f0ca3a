"""Critical-point helpers of physml_helpers.landscape: Hessian spectra, classification, Newton, flatness."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers.landscape import (
    classify_critical_point,
    flatness,
    gradient_norm_kernel,
    hessian_spectrum,
    minimize_gradient_norm,
    newton_critical_point,
)


def test_hessian_spectrum_of_a_quadratic_form_is_its_eigenvalues():
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    eigs = np.array([-2.0, -0.5, 0.1, 1.0, 4.0])
    a = jnp.asarray(q @ np.diag(eigs) @ q.T)
    spectrum = hessian_spectrum(lambda th: 0.5 * th @ a @ th, jnp.asarray(rng.normal(size=5)))
    np.testing.assert_allclose(spectrum, eigs, atol=1e-12)


def test_hessian_spectrum_closed_form_non_quadratic_and_matrix_shaped_theta():
    # f = sum_i cos(theta_i): Hessian diag(-cos theta_i), whatever the shape of theta.
    theta = jnp.array([[0.3, 2.0], [1.2, -0.4]])
    spectrum = hessian_spectrum(lambda th: jnp.sum(jnp.cos(th)), theta)
    np.testing.assert_allclose(spectrum, np.sort(-np.cos(np.asarray(theta)).ravel()), atol=1e-13)


@pytest.mark.parametrize(
    "eigs, kind, index",
    [
        ([1.0, 2.0, 3.0], "minimum", 0),
        ([-1.0, -2.0], "maximum", 2),
        ([-1.0, 0.5, 2.0], "saddle", 1),
        ([-1.0, -0.5, 2.0], "saddle", 2),
        ([1.0, 1e-12, 2.0], "degenerate", 0),
        ([-1.0, 0.0, 2.0], "degenerate", 1),
        ([5.0], "minimum", 0),
    ],
)
def test_classify_critical_point_from_matrix_and_from_eigenvalues(eigs, kind, index):
    n = len(eigs)
    q, _ = np.linalg.qr(np.random.default_rng(n).normal(size=(n, n)))
    h = q @ np.diag(eigs) @ q.T
    assert classify_critical_point(h) == (kind, index)
    assert classify_critical_point(np.array(eigs)) == (kind, index)


def test_classify_tolerance_decides_degeneracy():
    assert classify_critical_point(np.array([1e-6, 1.0]), tol=1e-8) == ("minimum", 0)
    assert classify_critical_point(np.array([1e-6, 1.0]), tol=1e-5) == ("degenerate", 0)


def test_classify_monkey_saddle_is_degenerate():
    # x^3 - 3xy^2 has a critical point at 0 with a zero Hessian: the second-order test says nothing.
    h = jax.hessian(lambda v: v[0] ** 3 - 3 * v[0] * v[1] ** 2)(jnp.zeros(2))
    assert classify_critical_point(h) == ("degenerate", 0)


def test_newton_finds_saddle_and_maximum_that_gd_would_flee():
    # f = cos x + cos y on the torus: critical points at (0|pi, 0|pi): max, two saddles, min.
    fn = lambda v: jnp.cos(v[0]) + jnp.cos(v[1])  # noqa: E731
    starts = jnp.array([[0.2, -0.3], [0.2, 3.0], [2.9, 0.1], [3.3, 3.0]])
    theta, gnorm = jax.vmap(lambda s: newton_critical_point(fn, s, n_steps=30))(starts)
    np.testing.assert_allclose(theta, [[0, 0], [0, np.pi], [np.pi, 0], [np.pi, np.pi]], atol=1e-12)
    assert float(jnp.max(gnorm)) < 1e-12
    kinds = [classify_critical_point(hessian_spectrum(fn, t)) for t in theta]
    assert kinds == [("maximum", 2), ("saddle", 1), ("saddle", 1), ("minimum", 0)]


def test_flatness_of_a_quadratic_is_exact():
    h = jnp.diag(jnp.array([4.0, 0.25]))
    fn = lambda v: 1.0 + 0.5 * v @ h @ v  # noqa: E731
    level = 1.0 * np.e
    for i, curvature in enumerate([4.0, 0.25]):
        u = jnp.zeros(2).at[i].set(3.0)  # not normalised on purpose
        want = 2 * np.sqrt(2 * (level - 1.0) / curvature)
        assert abs(flatness(fn, jnp.zeros(2), u, level=level) - want) < 1e-10 * want


def test_flatness_infinite_when_never_reaching_level():
    assert flatness(lambda v: jnp.tanh(v[0]) ** 2, jnp.zeros(1), jnp.ones(1), level=2.0, max_distance=50.0) == float("inf")


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: hessian_spectrum(lambda th: th, jnp.ones(3)), ValueError, "scalar"),
        (lambda: hessian_spectrum(3.0, jnp.ones(3)), TypeError, "callable"),
        (lambda: hessian_spectrum(jnp.sum, jnp.ones(0)), ValueError, "at least one"),
        (lambda: classify_critical_point(np.ones((2, 3))), ValueError, "square"),
        (lambda: classify_critical_point(np.array([[1.0, 2.0], [0.0, 1.0]])), ValueError, "symmetric"),
        (lambda: classify_critical_point(np.array([np.nan, 1.0])), ValueError, "finite"),
        (lambda: classify_critical_point(np.eye(2), tol=-1.0), ValueError, "tol"),
        (lambda: classify_critical_point([object(), object()]), TypeError, "hessian"),
        (lambda: newton_critical_point(jnp.sum, jnp.ones((2, 2))), ValueError, "flat vector"),
        (lambda: newton_critical_point(jnp.sum, jnp.ones(2), n_steps=0), ValueError, "n_steps"),
        (lambda: flatness(jnp.sum, jnp.ones(2), jnp.zeros(2), level=5.0), ValueError, "non-zero"),
        (lambda: flatness(jnp.sum, jnp.ones(2), jnp.ones(3), level=5.0), ValueError, "shape"),
        (lambda: flatness(jnp.sum, jnp.ones(2), jnp.ones(2), level=1.0), ValueError, "level must exceed"),
    ],
)
def test_bad_inputs_get_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_random_fourier_landscape_obeys_morse_theory_on_the_two_torus():
    from math import comb

    from physml_helpers.landscape import random_fourier_landscape, unique_points

    fn = random_fourier_landscape(jax.random.key(1), 2, k_max=3)
    # periodic in each coordinate
    theta = jnp.array([0.4, 1.9])
    assert abs(float(fn(theta + jnp.array([2 * jnp.pi, 0.0]))) - float(fn(theta))) < 1e-12
    starts = jax.random.uniform(jax.random.key(2), (3000, 2), maxval=2 * jnp.pi)
    pts, gnorm = jax.vmap(lambda s: newton_critical_point(fn, s, n_steps=40))(starts)
    pts = unique_points(pts[np.asarray(gnorm) < 1e-9], period=2 * np.pi)
    indices = [classify_critical_point(hessian_spectrum(fn, jnp.asarray(p)))[1] for p in pts]
    counts = np.bincount(indices, minlength=3)
    assert counts[0] - counts[1] + counts[2] == 0  # Euler characteristic of the torus
    assert all(counts[k] >= comb(2, k) for k in range(3))  # Morse inequalities with Betti numbers of T^2


def test_unique_points_with_and_without_period():
    from physml_helpers.landscape import unique_points

    pts = np.array([[0.0, 1.0], [1e-9, 1.0], [2 * np.pi - 1e-9, 1.0], [3.0, 3.0]])
    assert unique_points(pts).shape == (3, 2)
    assert unique_points(pts, period=2 * np.pi).shape == (2, 2)
    with pytest.raises(ValueError, match="2-D"):
        unique_points(np.ones(3))


# Squared-gradient minimisation (Levenberg–Marquardt on grad f = 0) ----------------------------------------------


def test_minimize_gradient_norm_finds_critical_points_of_every_index():
    # f = cos x + cos y: maximum at (0, 0), saddles at (0, pi) and (pi, 0), minimum at (pi, pi), all exact.
    fn = lambda v: jnp.cos(v[0]) + jnp.cos(v[1])  # noqa: E731
    starts = jnp.array([[0.3, -0.4], [0.2, 2.8], [2.7, 0.3], [3.5, 2.9]])
    theta, gnorm = jax.vmap(lambda s: minimize_gradient_norm(fn, s, n_steps=40))(starts)
    np.testing.assert_allclose(theta, [[0, 0], [0, np.pi], [np.pi, 0], [np.pi, np.pi]], atol=1e-12)
    assert float(jnp.max(gnorm)) < 1e-12
    kinds = [classify_critical_point(hessian_spectrum(fn, t)) for t in theta]
    assert kinds == [("maximum", 2), ("saddle", 1), ("saddle", 1), ("minimum", 0)]


def test_minimize_gradient_norm_converges_to_a_degenerate_critical_manifold():
    # f = (x y - 1)^2 / 2 has the critical curve x y = 1 (a zero mode along it) and a saddle at 0. Newton's
    # Hessian is singular on the curve; the damped steps still reach it, to rounding.
    fn = lambda v: 0.5 * (v[0] * v[1] - 1.0) ** 2  # noqa: E731
    theta, gnorm = minimize_gradient_norm(fn, jnp.array([2.0, 0.7]), n_steps=60)
    assert float(gnorm) < 1e-13
    assert abs(float(theta[0] * theta[1]) - 1.0) < 1e-13
    eigs = np.asarray(hessian_spectrum(fn, theta))
    assert abs(eigs[0]) < 1e-12 and eigs[1] > 0.1  # one exact zero mode along the curve


def test_gradient_norm_kernel_only_accepts_steps_that_lower_the_gradient():
    fn = lambda v: jnp.sum(jnp.sin(v) * jnp.cos(2 * v[::-1])) + 0.1 * jnp.sum(v**2)  # noqa: E731
    kernel = gradient_norm_kernel(fn, damping=1.0)
    state = kernel.init(jnp.array([0.4, -1.3, 2.2]))
    norms, accepted = [], []
    for _ in range(30):
        state, info = kernel.step(state)
        norms.append(float(info.grad_norm))
        accepted.append(bool(info.accepted))
    assert all(b <= a for a, b in zip(norms, norms[1:])), "the gradient norm rose"
    assert any(accepted)
    theta, gnorm = minimize_gradient_norm(fn, jnp.array([0.4, -1.3, 2.2]), n_steps=30, damping=1.0)
    np.testing.assert_allclose(theta, state.position, rtol=0, atol=1e-14)  # the wrapper runs the same steps


def test_minimize_gradient_norm_reports_failure_where_there_is_no_critical_point():
    # f = x + y^2 has gradient (1, 2y): |grad f| >= 1 everywhere, so the search must not claim success.
    theta, gnorm = minimize_gradient_norm(lambda v: v[0] + v[1] ** 2, jnp.array([0.3, 0.8]), n_steps=50)
    assert abs(float(gnorm) - 1.0) < 1e-9 and abs(float(theta[1])) < 1e-9


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"n_steps": 0}, ValueError, "n_steps"),
        ({"damping": -1.0}, ValueError, "damping"),
        ({"damping": float("nan")}, ValueError, "damping"),
        ({"damping": "big"}, TypeError, "damping"),
    ],
)
def test_minimize_gradient_norm_rejects_bad_settings(kwargs, error, message):
    with pytest.raises(error, match=message):
        minimize_gradient_norm(lambda v: jnp.sum(v**2), jnp.ones(2), **kwargs)


def test_minimize_gradient_norm_rejects_bad_inputs():
    with pytest.raises(ValueError, match="flat vector"):
        minimize_gradient_norm(lambda v: jnp.sum(v**2), jnp.ones((2, 2)))
    with pytest.raises(ValueError, match="theta0"):
        minimize_gradient_norm(lambda v: jnp.sum(v**2), jnp.array([1.0, jnp.nan]))
    with pytest.raises(TypeError, match="fn"):
        gradient_norm_kernel("not a function")
    with pytest.raises(ValueError, match="fn"):
        minimize_gradient_norm(lambda v: v**2, jnp.ones(2))  # not scalar
