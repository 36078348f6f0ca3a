"""Fixed-step integrators against exact results for linear systems."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers.integrators import euler, rk4

A = np.array([[0.0, 1.0], [-4.0, -0.3]])  # damped oscillator, omega^2 = 4, gamma = 0.3


def linear(x):
    return jnp.asarray(A) @ x


def test_euler_is_the_matrix_power_of_one_step():
    dt, n = 0.01, 50
    xs = euler(linear, jnp.array([1.0, 0.0]), dt=dt, n_steps=n)
    step = np.eye(2) + dt * A
    expected = np.stack([np.linalg.matrix_power(step, k) @ [1.0, 0.0] for k in range(n + 1)])
    np.testing.assert_allclose(xs, expected, rtol=0, atol=1e-12)


def test_rk4_step_is_the_fourth_order_taylor_polynomial():
    # for a linear field one RK4 step is exactly sum_{j<=4} (h A)^j / j!
    h = 0.1
    xs = rk4(linear, jnp.array([0.3, -1.2]), dt=h, n_steps=1)
    hA = h * A
    taylor = sum(np.linalg.matrix_power(hA, j) / math.factorial(j) for j in range(5))
    np.testing.assert_allclose(xs[1], taylor @ [0.3, -1.2], rtol=0, atol=1e-14)


def test_rk4_global_error_is_fourth_order():
    import scipy.linalg

    exact = scipy.linalg.expm(2.0 * A) @ [1.0, 0.0]
    errors = [np.abs(rk4(linear, jnp.array([1.0, 0.0]), dt=2.0 / n, n_steps=n)[-1] - exact).max() for n in (40, 80, 160)]
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 14) & (ratios < 18)), ratios  # 2^4 = 16 for a fourth-order method


def test_shapes_and_any_state_shape():
    xs = rk4(lambda x: -x, jnp.ones((3, 2)), dt=0.1, n_steps=10)
    assert xs.shape == (11, 3, 2)
    np.testing.assert_allclose(xs[0], 1.0)
    np.testing.assert_allclose(xs[-1], np.exp(-1.0), rtol=1e-6)


def test_bad_inputs():
    with pytest.raises(TypeError, match="vector_field must be a callable"):
        rk4(3.0, jnp.ones(2), dt=0.1, n_steps=2)
    with pytest.raises(ValueError, match="dt must be a finite number > 0"):
        euler(linear, jnp.ones(2), dt=0.0, n_steps=2)
    with pytest.raises(ValueError, match="n_steps must be an integer >= 1"):
        rk4(linear, jnp.ones(2), dt=0.1, n_steps=0)
    with pytest.raises(ValueError, match="shape of x0"):
        rk4(lambda x: x.sum(), jnp.ones(2), dt=0.1, n_steps=2)


def test_leapfrog_conserves_the_modified_energy_of_the_oscillator_exactly():
    # for H = p^2/2 + w^2 q^2/2, kick-drift-kick conserves p^2/2 + w^2 q^2 (1 - (w dt/2)^2) / 2 exactly
    from physml_helpers.integrators import leapfrog

    w, dt = 2.0, 0.1
    q, p = leapfrog(lambda q: w**2 * q, jnp.array([1.0]), jnp.array([0.3]), dt=dt, n_steps=10_000)
    modified = 0.5 * p**2 + 0.5 * w**2 * q**2 * (1 - (w * dt / 2) ** 2)
    np.testing.assert_allclose(modified[:, 0], float(modified[0, 0]), rtol=1e-12)
    energy = 0.5 * p**2 + 0.5 * w**2 * q**2
    assert np.ptp(np.asarray(energy)) < 0.02 * float(energy[0, 0])  # bounded, of order (w dt)^2


def test_leapfrog_is_symplectic_reversible_and_second_order():
    import jax

    from physml_helpers.integrators import leapfrog

    force = lambda q: jnp.sin(q)  # pendulum, V = -cos q
    def step(z):
        q, p = leapfrog(force, z[:1], z[1:], dt=0.3, n_steps=3)
        return jnp.concatenate([q[-1], p[-1]])
    jac = jax.jacfwd(step)(jnp.array([1.2, -0.4]))
    omega = jnp.array([[0.0, 1.0], [-1.0, 0.0]])
    np.testing.assert_allclose(jac.T @ omega @ jac, omega, atol=1e-12)
    q, p = leapfrog(force, jnp.array([1.2]), jnp.array([-0.4]), dt=0.05, n_steps=400)
    q_back, p_back = leapfrog(force, q[-1], -p[-1], dt=0.05, n_steps=400)
    np.testing.assert_allclose([q_back[-1, 0], -p_back[-1, 0]], [1.2, -0.4], atol=1e-11)
    reference = leapfrog(force, jnp.array([1.2]), jnp.array([-0.4]), dt=0.001, n_steps=2000)[0][-1, 0]
    errors = [abs(float(leapfrog(force, jnp.array([1.2]), jnp.array([-0.4]), dt=2.0 / k, n_steps=k)[0][-1, 0] - reference))
              for k in (50, 100)]
    assert 3.5 < errors[0] / errors[1] < 4.5  # second order


def test_leapfrog_bad_inputs():
    from physml_helpers.integrators import leapfrog

    with pytest.raises(ValueError, match="same shape"):
        leapfrog(lambda q: q, jnp.ones(2), jnp.ones(3), dt=0.1, n_steps=2)
    with pytest.raises(ValueError, match="mass must be > 0"):
        leapfrog(lambda q: q, jnp.ones(2), jnp.ones(2), dt=0.1, n_steps=2, mass=0.0)
    with pytest.raises(ValueError, match="grad_potential must return"):
        leapfrog(lambda q: q.sum(), jnp.ones(2), jnp.ones(2), dt=0.1, n_steps=2)


def test_leapfrog_oscillator_orbit_is_the_exact_discrete_rotation():
    # the kick-drift-kick map of H = (p^2 + w^2 q^2)/2 is linear with cos(theta) = 1 - (w h)^2 / 2, so
    # q_k = q0 cos(k theta) + (p0 / (w c)) sin(k theta) with c = sqrt(1 - (w h / 2)^2)   (derived with SymPy below)
    import sympy as sp

    from physml_helpers.integrators import leapfrog

    w_s, h_s = sp.symbols("w h", positive=True)
    kick = sp.Matrix([[1, 0], [-w_s**2 * h_s / 2, 1]])
    M = kick * sp.Matrix([[1, h_s], [0, 1]]) * kick
    assert sp.simplify(M.trace() / 2 - (1 - (w_s * h_s) ** 2 / 2)) == 0
    assert sp.simplify(M.det() - 1) == 0
    w, h, q0, p0 = 1.7, 0.2, 0.4, -0.9
    theta = np.arccos(1 - (w * h) ** 2 / 2)
    c = np.sqrt(1 - (w * h / 2) ** 2)
    k = np.arange(501)
    exact = q0 * np.cos(k * theta) + p0 / (w * c) * np.sin(k * theta)
    q, _ = leapfrog(lambda q: w**2 * q, jnp.array([q0]), jnp.array([p0]), dt=h, n_steps=500)
    np.testing.assert_allclose(q[:, 0], exact, atol=1e-11)


def test_kernels_step_the_same_path_as_the_wrappers_and_report_overflow():
    from physml_helpers.integrators import euler_kernel, leapfrog, leapfrog_kernel, rk4_kernel

    x0 = jnp.array([1.0, 0.0])
    for wrapper, factory in ((euler, euler_kernel), (rk4, rk4_kernel)):
        path = wrapper(linear, x0, dt=0.05, n_steps=4)
        init, step = factory(linear, dt=0.05)
        state = init(x0)
        for k in range(4):
            state, info = step(state)
            np.testing.assert_array_equal(state.x, path[k + 1])
            assert bool(info.finite)
    q, p = leapfrog(lambda q: 4.0 * q, jnp.array([1.0]), jnp.array([0.0]), dt=0.1, n_steps=3)
    init, step = leapfrog_kernel(lambda q: 4.0 * q, dt=0.1)
    state = init(jnp.array([1.0]), jnp.array([0.0]))
    for _ in range(3):
        state, info = step(state)
    np.testing.assert_array_equal(state.q, q[-1])
    np.testing.assert_array_equal(state.p, p[-1])
    init, step = euler_kernel(lambda x: x**2, dt=1.0)  # blows up in finite time
    state = init(jnp.array([10.0]))
    finite = []
    for _ in range(12):
        state, info = step(state)
        finite.append(bool(info.finite))
    assert finite[0] and not finite[-1]


def test_a_new_step_size_compiles_nothing():
    from compilation import assert_compiles_once

    from physml_helpers.integrators import leapfrog

    x0, x1 = jnp.array([1.0, 0.0]), jnp.array([0.5, 0.5])
    for method in (euler, rk4):
        assert_compiles_once(lambda: method(linear, x0, dt=0.01, n_steps=10),
                             second=lambda: method(linear, x1, dt=0.02, n_steps=10))
    grad = lambda q: q**3  # noqa: E731
    assert_compiles_once(lambda: leapfrog(grad, x0, x1, dt=0.01, n_steps=10),
                         second=lambda: leapfrog(grad, x1, x0, dt=0.03, n_steps=10, mass=2.0))


def test_float32_in_float32_out_and_static_shape_checks():
    from physml_helpers.integrators import leapfrog, rk4_step

    x0 = jnp.array([1.0, 0.0], jnp.float32)
    assert rk4(lambda x: -x, x0, dt=0.1, n_steps=2).dtype == jnp.float32
    assert euler(lambda x: -x, x0, dt=0.1, n_steps=2).dtype == jnp.float32
    q, p = leapfrog(lambda q: q, x0, x0, dt=0.1, n_steps=2)
    assert q.dtype == p.dtype == jnp.float32
    with pytest.raises(TypeError, match="one dtype"):
        leapfrog(lambda q: q, x0, x0.astype(jnp.float64), dt=0.1, n_steps=2)
    with pytest.raises(ValueError, match="shape of the state"):
        jax.jit(lambda x: rk4_step(lambda y: y[:1], x, 0.1))(x0)  # a static check: made while tracing too
