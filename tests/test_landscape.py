"""physml_helpers.landscape against exact results: matrix exponentials and (1 - alpha*lambda)^k."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.linalg import expm

from physml_helpers.landscape import gradient_descent, gradient_flow, smoothness_constant


def _quadratic(seed=0, n=4, eigs=(0.5, 1.0, 3.0, 8.0)):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    h = jnp.asarray(q @ np.diag(eigs) @ q.T)
    return h, (lambda th: h @ th), jnp.asarray(rng.normal(size=n))


def test_gradient_descent_matches_linear_recurrence():
    h, grad, theta0 = _quadratic()
    lr, n_steps = 0.2, 60
    path = gradient_descent(grad, theta0, lr=lr, n_steps=n_steps)
    assert path.shape == (n_steps + 1, 4)
    np.testing.assert_array_equal(path[0], theta0)
    lams, u = jnp.linalg.eigh(h)
    k = jnp.arange(n_steps + 1, dtype=jnp.float64)[:, None]
    exact = ((1 - lr * lams) ** k * (u.T @ theta0)) @ u.T
    np.testing.assert_allclose(path, exact, rtol=0, atol=1e-12)


def test_gradient_descent_zero_steps_and_matrix_parameters():
    theta0 = jnp.ones((2, 3))
    path = gradient_descent(lambda th: 2 * th, theta0, lr=0.1, n_steps=0)
    assert path.shape == (1, 2, 3)
    path = gradient_descent(lambda th: 2 * th, theta0, lr=0.1, n_steps=5)
    np.testing.assert_allclose(path[-1], 0.8**5 * theta0, rtol=1e-14)


def test_stability_window_on_quadratic():
    h, grad, theta0 = _quadratic()
    beta = smoothness_constant(h)
    inside = gradient_descent(grad, theta0, lr=0.95 * 2 / beta, n_steps=300)
    outside = gradient_descent(grad, theta0, lr=1.05 * 2 / beta, n_steps=300)
    assert jnp.linalg.norm(inside[-1]) < 1e-6 * jnp.linalg.norm(theta0)
    assert jnp.linalg.norm(outside[-1]) > 1e6 * jnp.linalg.norm(theta0)


def test_gradient_flow_matches_matrix_exponential():
    h, grad, theta0 = _quadratic()
    t, theta = gradient_flow(grad, theta0, t_max=4.0, n_points=81)
    assert t.shape == (81,) and theta.shape == (81, 4)
    assert float(t[0]) == 0.0 and float(t[-1]) == 4.0
    exact = jax.vmap(lambda s: expm(-h * s) @ theta0)(t)
    assert float(jnp.max(jnp.abs(theta - exact))) < 1e-8  # issue asks for well below 1e-6


def test_gradient_flow_energy_decreases_on_nonconvex_landscape():
    energy = lambda th: jnp.sum(th**4 - 2 * th**2) + 0.3 * th[0] * th[1]  # noqa: E731
    _, theta = gradient_flow(jax.grad(energy), jnp.array([0.1, -1.9]), t_max=3.0, n_points=61)
    e = jax.vmap(energy)(theta)
    assert float(jnp.max(jnp.diff(e))) <= 1e-13
    # It comes to rest at a critical point.
    assert float(jnp.linalg.norm(jax.grad(energy)(theta[-1]))) < 1e-4


def test_gradient_flow_convergence_order_is_not_that_of_euler():
    """GD with step dt is first-order accurate; the flow helper must be far better than GD with a tiny step."""
    h, grad, theta0 = _quadratic()
    t, theta = gradient_flow(grad, theta0, t_max=1.0, n_points=2)
    exact = expm(-h) @ theta0
    euler = gradient_descent(grad, theta0, lr=1e-4, n_steps=10_000)[-1]
    assert jnp.linalg.norm(theta[-1] - exact) < 1e-4 * jnp.linalg.norm(euler - exact)


def test_gradient_flow_float32_preserves_dtype():
    theta0 = jnp.array([1.0, -2.0], dtype=jnp.float32)
    # the default rtol = 1e-10 assumes float64: float32 floors it at ~100 eps, and says so
    with pytest.warns(UserWarning, match=r"theta0 is float32.*rtol=1e-10"):
        t, theta = gradient_flow(lambda th: th * jnp.array([1.0, 3.0], jnp.float32), theta0, t_max=1.0, n_points=5)
    assert t.dtype == jnp.float32 and theta.dtype == jnp.float32
    np.testing.assert_allclose(theta[-1], np.array([np.exp(-1.0), -2 * np.exp(-3.0)]), rtol=2e-4)  # tolerances floor at ~100 float32 eps per step
    path = gradient_descent(lambda th: th, theta0, lr=0.1, n_steps=3)
    assert path.dtype == jnp.float32


def test_no_recompilation_on_second_call():
    _, grad, theta0 = _quadratic()
    from physml_helpers import landscape

    gradient_descent(grad, theta0, lr=0.1, n_steps=10)

    before = landscape._descend._cache_size()
    gradient_descent(grad, theta0, lr=0.2, n_steps=10)  # new lr is traced, not static
    assert landscape._descend._cache_size() == before


def test_smoothness_constant_exact():
    h, _, _ = _quadratic(eigs=(-9.0, 1.0, 2.0, 5.0))
    assert smoothness_constant(h) == pytest.approx(9.0, rel=1e-12)
    assert smoothness_constant(np.array([[2.0]])) == 2.0
    # Hessian of a non-quadratic function from jax.hessian: E = sum cosh(theta).
    theta = jnp.array([0.3, -1.2, 2.0])
    assert smoothness_constant(jax.hessian(lambda th: jnp.sum(jnp.cosh(th)))(theta)) == pytest.approx(np.cosh(2.0))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lr": 0.0, "n_steps": 3}, "lr must be a finite number > 0, got 0.0"),
        ({"lr": -0.1, "n_steps": 3}, "lr must be"),
        ({"lr": float("nan"), "n_steps": 3}, "lr must be"),
        ({"lr": 0.1, "n_steps": -1}, "n_steps must be an integer >= 0, got -1"),
    ],
)
def test_gradient_descent_rejects_bad_numbers(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        gradient_descent(lambda th: th, jnp.ones(2), **kwargs)


@pytest.mark.parametrize("n_steps", [2.5, True, "3", None])
def test_a_count_of_the_wrong_kind_is_a_type_error(n_steps):
    with pytest.raises(TypeError, match="n_steps must be an integer"):
        gradient_descent(lambda th: th, jnp.ones(2), lr=0.1, n_steps=n_steps)


def test_gradient_descent_rejects_mismatched_shapes_and_non_callables():
    with pytest.raises(ValueError, match=r"grad_fn must return an array of shape \(2,\).*got \(3,\)"):
        gradient_descent(lambda th: jnp.ones(3), jnp.ones(2), lr=0.1, n_steps=2)
    with pytest.raises(ValueError, match="the shape of theta0"):
        gradient_flow(lambda th: jnp.sum(th), jnp.ones(2), t_max=1.0, n_points=3)
    with pytest.raises(TypeError, match="grad_fn must be a callable"):
        gradient_descent("not a function", jnp.ones(2), lr=0.1, n_steps=2)
    with pytest.raises(TypeError, match="lr must be a real number"):
        gradient_descent(lambda th: th, jnp.ones(2), lr="0.1", n_steps=2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"t_max": 0.0, "n_points": 5}, "t_max must be a finite number > 0"),
        ({"t_max": 1.0, "n_points": 1}, "n_points must be an integer >= 2, got 1"),
        ({"t_max": 1.0, "n_points": 5, "rtol": 0.0}, "rtol must be"),
    ],
)
def test_gradient_flow_rejects_bad_numbers(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gradient_flow(lambda th: th, jnp.ones(2), **kwargs)


@pytest.mark.parametrize(
    "hessian, message",
    [
        (np.ones((2, 3)), r"square matrix \[n, n\], got shape \(2, 3\)"),
        (np.ones(3), r"got shape \(3,\)"),
        (np.zeros((0, 0)), "at least one row"),
        (np.array([[1.0, 2.0], [0.0, 1.0]]), "must be symmetric"),
        (np.array([[np.nan, 0.0], [0.0, 1.0]]), "only finite numbers"),
    ],
)
def test_smoothness_constant_rejects_bad_matrices(hessian, message):
    with pytest.raises(ValueError, match=message):
        smoothness_constant(hessian)


# ---------------------------------------------------------------------------------------------------
# Solvers that stop short say so; kernels; compilation; dtypes
# ---------------------------------------------------------------------------------------------------


def test_gradient_flow_on_a_stiff_landscape_raises_instead_of_returning_a_wrong_state():
    from physml_helpers import ConvergenceError

    stiff = lambda th: jnp.array([1e9 * th[0], 1.0])  # noqa: E731  exact y(t) = y0 - t
    with pytest.raises(ConvergenceError, match="did not reach t = 1.*stiff"):
        gradient_flow(stiff, jnp.array([1.0, 0.0]), t_max=1.0, n_points=2, max_steps=2000)
    # traced, it cannot raise: the rows it could not reach are NaN, never a plausible wrong number
    _, theta = jax.jit(lambda th: gradient_flow(stiff, th, t_max=1.0, n_points=2, max_steps=2000))(jnp.array([1.0, 0.0]))
    assert bool(jnp.all(jnp.isnan(theta[1]))) and bool(jnp.all(theta[0] == jnp.array([1.0, 0.0])))
    # with enough steps the same flow is solved: y(1) = -1 exactly
    _, theta = gradient_flow(lambda th: jnp.array([1e3 * th[0], 1.0]), jnp.array([1.0, 0.0]), t_max=1.0, n_points=2)
    assert float(theta[-1, 1]) == pytest.approx(-1.0, abs=1e-10)


def test_gradient_flow_kernel_reports_its_work_and_matches_the_wrapper():
    from physml_helpers.landscape import gradient_flow_kernel

    h, grad, theta0 = _quadratic()
    init, step = gradient_flow_kernel(grad)
    state = init(theta0)
    for t_target in (0.5, 1.0):
        state, info = step(state, t_target)
        assert bool(info.converged) and int(info.n_accepted) >= 1 and int(info.n_steps) >= int(info.n_accepted)
        assert float(state.time) == t_target
    np.testing.assert_allclose(state.position, expm(-h) @ theta0, atol=1e-8)
    init_c, step_c = gradient_flow_kernel(grad, max_steps=3)
    _, info = step_c(init_c(theta0), 100.0)
    assert not bool(info.converged) and int(info.n_steps) == 3


def test_gradient_descent_kernel_steps_are_the_wrapper_path():
    from physml_helpers.landscape import gradient_descent_kernel

    h, grad, theta0 = _quadratic()
    path = gradient_descent(grad, theta0, lr=0.1, n_steps=5)
    init, step = gradient_descent_kernel(grad, lr=0.1)
    state = init(theta0)
    for k in range(5):
        state, info = step(state)
        assert float(info.grad_norm) == pytest.approx(float(jnp.linalg.norm(h @ path[k])), rel=1e-12)
        np.testing.assert_allclose(state.position, path[k + 1], atol=1e-14)


def test_newton_kernel_converges_quadratically_to_the_critical_point():
    from physml_helpers.landscape import newton_critical_point, newton_kernel

    fn = lambda th: jnp.sum(jnp.cosh(th - 0.3))  # noqa: E731  minimum at 0.3, Newton converges quadratically
    init, step = newton_kernel(fn)
    state, norms = init(jnp.array([1.0, -0.5])), []
    for _ in range(6):
        state, info = step(state)
        norms.append(float(info.grad_norm))
    assert norms[3] < 1e-2 * norms[2] ** 1.8  # quadratic convergence
    theta, gnorm = newton_critical_point(fn, jnp.array([1.0, -0.5]), n_steps=6)
    np.testing.assert_allclose(theta, state.position, atol=1e-14)
    np.testing.assert_allclose(theta, 0.3, atol=1e-12)


def test_repeated_calls_with_the_same_shapes_compile_nothing():
    from compilation import assert_compiles_once

    from physml_helpers.landscape import flatness, newton_critical_point

    h, grad, theta0 = _quadratic()
    fn = lambda th: 0.5 * th @ h @ th  # noqa: E731
    other = theta0 + 1.0
    assert_compiles_once(lambda: gradient_descent(grad, theta0, lr=0.1, n_steps=20),
                         second=lambda: gradient_descent(grad, other, lr=0.05, n_steps=20))
    assert_compiles_once(lambda: gradient_flow(grad, theta0, t_max=1.0, n_points=5),
                         second=lambda: gradient_flow(grad, other, t_max=2.0, n_points=5))
    assert_compiles_once(lambda: newton_critical_point(fn, theta0, n_steps=5),
                         second=lambda: newton_critical_point(fn, other, n_steps=5))
    u = jnp.ones(4)
    assert_compiles_once(lambda: jnp.asarray(flatness(fn, theta0 * 0, u, level=1.0)),
                         second=lambda: jnp.asarray(flatness(fn, theta0 * 0, u, level=2.0)))


def test_float32_in_float32_out():
    from physml_helpers.landscape import hessian_spectrum, newton_critical_point

    theta0 = jnp.array([0.5, -1.0], jnp.float32)
    assert gradient_descent(lambda th: 2 * th, theta0, lr=0.1, n_steps=3).dtype == jnp.float32
    fn = lambda th: jnp.sum(th**2 + 0.1 * th**4)  # noqa: E731
    theta, gnorm = newton_critical_point(fn, theta0, n_steps=5)
    assert theta.dtype == jnp.float32 and gnorm.dtype == jnp.float32
    assert hessian_spectrum(fn, theta0).dtype == jnp.float32
