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
    rhs = lambda m, temp: -m  # noqa: E731
    m0, m1 = jnp.ones(3), jnp.zeros(3)
    assert_compiles_once(lambda: rollout(rhs, m0, 0.5, t_max=1.0, n_obs=4),
                         second=lambda: rollout(rhs, m1, 0.7, t_max=1.0, n_obs=4))
    times32, T32, obs32, clean32 = simulate(jax.random.key(4), jnp.array([0.5], jnp.float32), n_traj=2, n_obs=5)
    assert times32.dtype == T32.dtype == obs32.dtype == clean32.dtype == jnp.float32
    assert rollout(rhs, jnp.ones(2, jnp.float32), 0.5, t_max=1.0, n_obs=3).dtype == jnp.float32
