"""The Landau model, its integration, and the neural-ODE fit against exact results."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers.integrators import rk4
from physml_helpers.landau import (
    black_box_rhs,
    equilibrium_order_parameter,
    fit_trajectories,
    init_black_box,
    init_landau_model,
    landau_model_rhs,
    landau_model_tc,
    landau_model_tc_error,
    landau_rhs,
    rollout,
    simulate,
)


def test_equilibrium_is_the_stable_fixed_point():
    T = jnp.array([0.2, 0.7, 0.99, 1.0, 1.3])
    m_star = equilibrium_order_parameter(T, a0=2.0, tc=1.0, b=0.5)
    np.testing.assert_allclose(landau_rhs(m_star, T, a0=2.0, tc=1.0, b=0.5), 0.0, atol=1e-12)
    np.testing.assert_allclose(m_star, np.sqrt(np.maximum(0, 2.0 * (1 - np.asarray(T)) / 0.5)), atol=1e-15)
    slope = jax.vmap(jax.grad(lambda m, t: landau_rhs(m, t, a0=2.0, tc=1.0, b=0.5)))(m_star, T)
    assert np.all(np.asarray(slope)[:3] < 0) and np.all(np.asarray(slope)[4:] < 0)  # stable (marginal at T_c)


def test_rollout_matches_the_exact_solution_of_the_cubic_ode():
    # dm/dt = -a m - b m^3 has m(t)^2 = a m0^2 e^{-2at} / (a + b m0^2 (1 - e^{-2at})) for a != 0
    a, b, m0 = 0.4, 1.0, 0.9
    t = np.linspace(0, 10, 21)
    exact = np.sqrt(a * m0**2 * np.exp(-2 * a * t) / (a + b * m0**2 * (1 - np.exp(-2 * a * t))))
    path = rollout(lambda m, T: landau_rhs(m, T, tc=1.0), jnp.array([m0]), jnp.array([1.0 + a]), t_max=10.0, n_obs=21)
    np.testing.assert_allclose(path[:, 0], exact, atol=1e-7)
    generic = rk4(lambda m: landau_rhs(m, 1.0 + a), jnp.array([m0]), dt=0.05, n_steps=200)
    np.testing.assert_allclose(path[-1, 0], generic[-1, 0], atol=1e-12)  # same steps as the generic integrator


def test_simulate_shapes_and_noise():
    times, T, observed, clean = simulate(jax.random.key(0), [0.5, 0.8], n_traj=3, n_obs=11, noise=0.02)
    assert times.shape == (11,) and T.shape == (6,) and observed.shape == clean.shape == (11, 6)
    assert 0.005 < float(jnp.std(observed - clean)) < 0.04
    late = np.abs(np.asarray(clean[-1]))
    np.testing.assert_allclose(late, np.repeat(np.sqrt(1 - np.array([0.5, 0.8])), 3), rtol=0.05)


def test_the_landau_fit_recovers_the_critical_temperature():
    times, T, observed, _ = simulate(jax.random.key(1), jnp.linspace(0.5, 0.9, 4), noise=0.005)
    params, history = fit_trajectories(landau_model_rhs, init_landau_model(), times, T, observed, lr=3e-2, n_steps=600, dt=0.25)
    assert abs(landau_model_tc(params) - 1.0) < 0.02
    assert abs(float(jnp.exp(params["log_alpha"])) - 1.0) < 0.1 and abs(float(jnp.exp(params["log_beta"])) - 1.0) < 0.1
    assert float(history[-1]) < 2 * 0.005**2


def test_black_box_shapes_and_training_progress():
    times, T, observed, _ = simulate(jax.random.key(2), [0.6, 0.8], n_traj=4, n_obs=11)
    params = init_black_box(jax.random.key(3), hidden=8)
    assert black_box_rhs(params, jnp.ones((3, 2)), jnp.ones((3, 2))).shape == (3, 2)
    _, history = fit_trajectories(black_box_rhs, params, times, T, observed, lr=1e-2, n_steps=200, dt=0.5)
    assert float(history[-1]) < 0.5 * float(history[0])


def test_bad_inputs():
    with pytest.raises(ValueError, match="observed must be"):
        fit_trajectories(landau_model_rhs, init_landau_model(), jnp.linspace(0, 1, 5), jnp.ones(3), jnp.ones((4, 3)))
    with pytest.raises(ValueError, match="n_obs must be an integer >= 2"):
        rollout(lambda m, T: -m, jnp.ones(2), 1.0, t_max=1.0, n_obs=1)
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        init_landau_model(alpha=-1.0)
    with pytest.raises(TypeError, match="key must be a JAX random key"):
        simulate(0, [0.5])


def test_observation_times_must_be_an_even_grid_of_at_least_two():
    params = init_landau_model()
    observed = jnp.ones((5, 3))
    uneven = jnp.array([0.0, 0.1, 0.2, 0.4, 0.5])  # the step used to be read from times[1] - times[0] only
    with pytest.raises(ValueError, match="times must be equally spaced"):
        fit_trajectories(landau_model_rhs, params, uneven, jnp.ones(3), observed)
    with pytest.raises(ValueError, match="times must increase"):
        fit_trajectories(landau_model_rhs, params, -jnp.linspace(0, 1, 5), jnp.ones(3), observed)
    with pytest.raises(ValueError, match="at least two observation times"):
        fit_trajectories(landau_model_rhs, params, jnp.zeros(1), jnp.ones(3), jnp.ones((1, 3)))
    # a grid that does not start at 0 is fine: integration starts at the first observation
    times, T, obs, _ = simulate(jax.random.key(0), [0.5], n_traj=2, n_obs=6, t_max=2.0)
    _, history = fit_trajectories(landau_model_rhs, params, times + 3.0, T, obs, n_steps=5)
    _, history0 = fit_trajectories(landau_model_rhs, params, times, T, obs, n_steps=5)
    np.testing.assert_allclose(history, history0, rtol=1e-12)


def test_a_diverging_fit_raises():
    from physml_helpers import ConvergenceError

    times, T, obs, _ = simulate(jax.random.key(1), [0.5], n_traj=2, n_obs=11)
    with pytest.raises(ConvergenceError, match="fit_trajectories diverged.*lower the learning rate"):
        fit_trajectories(landau_model_rhs, init_landau_model(), times, T, obs * 1e3, lr=50.0, n_steps=50)


def test_repeated_calls_compile_nothing_and_float32_stays_float32():
    from compilation import assert_compiles_once

    assert_compiles_once(lambda: simulate(jax.random.key(0), [0.5, 0.9], n_traj=3, n_obs=11)[2],
                         second=lambda: simulate(jax.random.key(1), [0.4, 1.2], n_traj=3, n_obs=11, tc=0.8)[2])
    times, T, obs, _ = simulate(jax.random.key(2), [0.6, 0.8], n_traj=2, n_obs=11)
    obs2 = simulate(jax.random.key(3), [0.6, 0.8], n_traj=2, n_obs=11)[2]
    params = init_landau_model()
    assert_compiles_once(lambda: fit_trajectories(landau_model_rhs, params, times, T, obs, n_steps=10)[1],
                         second=lambda: fit_trajectories(landau_model_rhs, params, times, T, obs2, lr=0.02, n_steps=10)[1])
    assert_compiles_once(lambda: landau_model_tc_error(params, times, T, obs, dt=0.25),
                         second=lambda: landau_model_tc_error(init_landau_model(tau=0.9), times, T, obs2, dt=0.25))
    rhs = lambda m, temp: -m  # noqa: E731
    m0, m1 = jnp.ones(3), jnp.zeros(3)
    assert_compiles_once(lambda: rollout(rhs, m0, 0.5, t_max=1.0, n_obs=4),
                         second=lambda: rollout(rhs, m1, 0.7, t_max=1.0, n_obs=4))
    times32, T32, obs32, clean32 = simulate(jax.random.key(4), jnp.array([0.5], jnp.float32), n_traj=2, n_obs=5)
    assert times32.dtype == T32.dtype == obs32.dtype == clean32.dtype == jnp.float32
    assert rollout(rhs, jnp.ones(2, jnp.float32), 0.5, t_max=1.0, n_obs=3).dtype == jnp.float32


def test_levenberg_marquardt_recovers_the_landau_constants_and_never_increases_the_loss():
    times, T, observed, clean = simulate(jax.random.key(1), jnp.linspace(0.5, 0.9, 4), noise=0.005)
    params, history = fit_trajectories(landau_model_rhs, init_landau_model(), times, T, clean,
                                       optimizer="levenberg-marquardt", n_steps=60, dt=0.05)
    # noise-free curves of the model itself: the exact constants, to the integrator's and solver's precision
    assert abs(landau_model_tc(params) - 1.0) < 1e-6
    np.testing.assert_allclose([float(jnp.exp(params["log_alpha"])), float(jnp.exp(params["log_beta"]))], 1.0, atol=1e-6)
    assert np.all(np.diff(np.asarray(history)) <= 0)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        fit_trajectories(landau_model_rhs, params, times, T, clean, optimizer="sgd")


def test_tc_error_matches_the_scatter_over_noise_draws():
    # Gauss-Newton standard error against the spread of T_c over independent noise draws (noise-free starts,
    # the assumption of the error bar): 24 draws give the spread to about 15%, so the ratio must lie in [0.6, 1.6]
    temps = jnp.array([0.5, 0.6])
    times, T, _, clean = simulate(jax.random.key(0), temps, n_traj=6, noise=0.0)
    estimates, errors = [], []
    for i in range(24):
        noise = 0.01 * jax.random.normal(jax.random.key(100 + i), clean.shape)
        observed = clean + noise.at[0].set(0.0)
        params, _ = fit_trajectories(landau_model_rhs, init_landau_model(), times, T, observed,
                                     optimizer="levenberg-marquardt", n_steps=40, dt=0.25)
        estimates.append(landau_model_tc(params))
        errors.append(landau_model_tc_error(params, times, T, observed, dt=0.25))
    ratio = np.std(estimates, ddof=1) / np.mean(errors)
    assert 0.6 < ratio < 1.6, ratio
    assert abs(np.mean(estimates) - 1.0) < 3 * np.mean(errors) / np.sqrt(24) + 1e-3


def test_hybrid_model_is_the_gradient_flow_of_its_free_energy():
    from physml_helpers.landau import hybrid_model_a, hybrid_model_rhs, hybrid_model_tc, init_hybrid_model

    params = init_hybrid_model(jax.random.key(0), hidden=4, b=0.7)
    m, T = jnp.array([0.3, -0.8, 1.1]), jnp.array([0.6, 1.2, 0.9])
    free_energy = lambda mm, tt: 0.5 * hybrid_model_a(params, tt) * mm**2 + 0.25 * 0.7 * mm**4  # noqa: E731
    expected = -jax.vmap(jax.grad(free_energy))(m, T)
    np.testing.assert_allclose(hybrid_model_rhs(params, m, T), expected, rtol=1e-12)
    np.testing.assert_allclose(hybrid_model_rhs(params, -m, T), -hybrid_model_rhs(params, m, T), rtol=1e-12)
    # a network set by hand to a(T) = T - 1.3 (one unit in its linear range): T_c = 1.3 exactly
    eps = 1e-3
    exact = {"a": [(jnp.array([[eps]]), jnp.array([0.0])), (jnp.array([[1 / eps]]), jnp.array([-1.3]))],
             "log_b": jnp.array(0.0)}
    tc = hybrid_model_tc(exact)
    assert abs(tc - 1.3) < 1e-6  # tanh(eps T)/eps = T - (eps T)^3/3: a shift of order 1e-6
    assert hybrid_model_tc(exact, T_range=(0.0, 1.0)) is None
    with pytest.raises(TypeError, match="init_hybrid_model"):
        hybrid_model_rhs({"a": params["a"]}, m, T)
    with pytest.raises(ValueError, match="T_range must have low < high"):
        hybrid_model_tc(params, T_range=(2.0, 1.0))


def test_simulate_with_a_coefficient_function():
    a_fn = lambda T: jnp.sign(T - 1.0) * jnp.abs(T - 1.0) ** 0.25  # noqa: E731
    _, _, _, clean = simulate(jax.random.key(0), [0.5, 0.8], n_traj=3, t_max=40.0, noise=0.0, a_fn=a_fn)
    np.testing.assert_allclose(np.abs(np.asarray(clean[-1])), np.repeat((1 - np.array([0.5, 0.8])) ** 0.125, 3), rtol=1e-4)
    _, _, _, linear = simulate(jax.random.key(0), [0.5, 0.8], n_traj=3, noise=0.0, a_fn=lambda T: T - 1.0)
    _, _, _, default = simulate(jax.random.key(0), [0.5, 0.8], n_traj=3, noise=0.0)
    np.testing.assert_allclose(linear, default, atol=1e-12)
    with pytest.raises(ValueError, match="a_fn must return"):
        simulate(jax.random.key(0), [0.5], a_fn=lambda T: jnp.ones(3))
    with pytest.raises(TypeError, match="a_fn"):
        simulate(jax.random.key(0), [0.5], a_fn=2.0)


def test_bad_inputs_of_the_hybrid_model_and_the_error_bar():
    from physml_helpers.landau import hybrid_model_a, init_hybrid_model

    with pytest.raises(ValueError, match="hidden must be an integer >= 1"):
        init_hybrid_model(jax.random.key(0), hidden=0)
    with pytest.raises(ValueError, match="b must be a finite number > 0"):
        init_hybrid_model(jax.random.key(0), b=-1.0)
    with pytest.raises(TypeError, match="key must be a JAX random key"):
        init_hybrid_model(0)
    params = init_hybrid_model(jax.random.key(0))
    with pytest.raises(ValueError, match="T must contain only finite numbers"):
        hybrid_model_a(params, jnp.array([0.5, jnp.nan]))
    with pytest.raises(TypeError, match="init_landau_model"):
        landau_model_tc_error(params, jnp.linspace(0, 1, 5), jnp.ones(3), jnp.ones((5, 3)))
    with pytest.raises(ValueError, match="observed must be"):
        landau_model_tc_error(init_landau_model(), jnp.linspace(0, 1, 5), jnp.ones(3), jnp.ones((4, 3)))
