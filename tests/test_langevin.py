"""physml_helpers.langevin against exact results: the stationary variance of Euler-Maruyama on a
harmonic well, exact enumeration of minibatches, scipy's discrete Lyapunov solver, and the exact
stationary covariance of SGD on a quadratic whose minibatch losses are shifted copies."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.linalg import solve_discrete_lyapunov

from physml_helpers.langevin import lyapunov_covariance, minibatch_noise_covariance, overdamped_langevin, sgd


def _ar1_variance_error(var, n_eff):
    return var * math.sqrt(2.0 / n_eff)


def test_euler_maruyama_stationary_variance_on_harmonic_well():
    k, temperature, dt = 2.0, 0.7, 0.2
    n_chains, n_steps = 4000, 400
    keys = jax.random.split(jax.random.key(0), n_chains)
    x0 = jnp.zeros(n_chains)
    run = jax.vmap(lambda key, x: overdamped_langevin(key, lambda y: k * y, x, dt=dt, temperature=temperature, n_steps=n_steps, record_every=n_steps))
    final = run(keys, x0)[:, -1]
    exact = temperature / (k * (1 - k * dt / 2))  # stationary variance of x' = (1 - k dt) x + sqrt(2 T dt) xi
    # after 400 steps the initial condition is forgotten to (1 - k dt)^800 ~ 1e-78
    var = float(jnp.mean(final**2))
    assert abs(var - exact) < 5 * _ar1_variance_error(exact, n_chains)
    assert abs(exact - temperature / k) > 5 * _ar1_variance_error(exact, n_chains)  # the dt correction is resolved


def test_langevin_shapes_zero_temperature_is_gradient_descent_and_dtype():
    x0 = jnp.array([[1.0, -2.0]])
    path = overdamped_langevin(jax.random.key(1), lambda x: 3 * x, x0, dt=0.1, temperature=0.0, n_steps=7)
    assert path.shape == (8, 1, 2)
    np.testing.assert_allclose(path[-1], 0.7**7 * x0, rtol=1e-13)
    thin = overdamped_langevin(jax.random.key(1), lambda x: 3 * x, x0, dt=0.1, temperature=1.0, n_steps=10, record_every=5)
    assert thin.shape == (3, 1, 2)
    x32 = overdamped_langevin(jax.random.key(1), lambda x: x, jnp.ones(3, jnp.float32), dt=0.1, temperature=1.0, n_steps=4)
    assert x32.dtype == jnp.float32


def test_langevin_is_reproducible_and_keys_matter():
    run = lambda key: overdamped_langevin(key, lambda x: x, jnp.zeros(2), dt=0.1, temperature=1.0, n_steps=20)  # noqa: E731
    np.testing.assert_array_equal(run(jax.random.key(3)), run(jax.random.key(3)))
    assert not np.allclose(run(jax.random.key(3)), run(jax.random.key(4)))


def _regression(m=8, n=3, seed=0):
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.normal(size=(m, n)))
    y = jnp.asarray(rng.normal(size=m))
    loss = lambda w, batch: 0.5 * jnp.mean((batch[0] @ w - batch[1]) ** 2)  # noqa: E731
    return x, y, loss


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_noise_covariance_equals_exact_enumeration_of_minibatches(batch_size):
    x, y, loss = _regression()
    w = jnp.array([0.3, -0.2, 0.5])
    full = jax.grad(loss)(w, (x, y))
    # every ordered minibatch of B independent uniform draws, each with probability 1 / M^B
    grads = np.array([jax.grad(loss)(w, (x[np.array(s)], y[np.array(s)])) for s in itertools.product(range(8), repeat=batch_size)])
    exact = np.mean([np.outer(g - full, g - full) for g in grads], axis=0)
    got = minibatch_noise_covariance(loss, w, (x, y), batch_size=batch_size)
    np.testing.assert_allclose(got, exact, atol=1e-13)


def test_sgd_without_noise_is_gradient_descent():
    # identical examples: every minibatch gradient equals the full gradient
    x, y, loss = _regression()
    x, y = jnp.tile(x[:1], (8, 1)), jnp.tile(y[:1], 8)
    w0 = jnp.zeros(3)
    path = sgd(jax.random.key(0), loss, w0, (x, y), lr=0.1, batch_size=3, n_steps=25)
    w = w0
    for _ in range(25):
        w = w - 0.1 * jax.grad(loss)(w, (x, y))
    np.testing.assert_allclose(path[-1], w, atol=1e-13)
    assert path.shape == (26, 3)


def test_sgd_single_array_data_and_recording():
    data = jnp.linspace(-1, 1, 10)[:, None]
    loss = lambda w, batch: 0.5 * jnp.mean((w[0] - batch[:, 0]) ** 2)  # noqa: E731
    path = sgd(jax.random.key(2), loss, jnp.array([3.0]), data, lr=0.5, batch_size=2, n_steps=40, record_every=10)
    assert path.shape == (5, 1)
    assert abs(float(path[-1, 0])) < 1.0  # pulled into the range of the data


def test_lyapunov_covariance_matches_scipy():
    rng = np.random.default_rng(4)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    h = q @ np.diag([0.2, 1.0, 3.0, 7.0]) @ q.T
    b = rng.normal(size=(4, 4))
    c = b @ b.T
    lr = 0.2
    a = np.eye(4) - lr * h
    want = solve_discrete_lyapunov(a, lr**2 * c)
    np.testing.assert_allclose(lyapunov_covariance(h, c, lr=lr), want, rtol=1e-10, atol=1e-14)


def test_sgd_stationary_covariance_on_shifted_quadratic_ensemble():
    # Example losses l_k(w) = 1/2 (w - c_k)^T H (w - c_k): the minibatch gradient H(w - cbar_mu) has
    # noise -H(cbar_mu - cbar) independent of w, so the Lyapunov covariance is the exact stationary one.
    rng = np.random.default_rng(5)
    h = jnp.asarray([[2.0, 0.6], [0.6, 1.0]])
    centres = jnp.asarray(rng.normal(size=(20, 2)))
    loss = lambda w, c: 0.5 * jnp.mean(jnp.einsum("bi,ij,bj->b", w - c, h, w - c))  # noqa: E731
    w_star = jnp.mean(centres, axis=0)
    lr, batch = 0.3, 4
    c_noise = minibatch_noise_covariance(loss, w_star, centres, batch_size=batch)
    sigma = lyapunov_covariance(h, c_noise, lr=lr)
    n_chains, n_steps = 3000, 200
    keys = jax.random.split(jax.random.key(6), n_chains)
    final = jax.vmap(lambda k: sgd(k, loss, w_star, centres, lr=lr, batch_size=batch, n_steps=n_steps, record_every=n_steps)[-1])(keys)
    emp = np.cov(np.asarray(final - w_star).T, bias=True)
    # standard error of a covariance entry from N independent samples: sqrt((S_ii S_jj + S_ij^2) / N)
    s = np.asarray(sigma)
    err = np.sqrt((np.outer(np.diag(s), np.diag(s)) + s**2) / n_chains)
    assert np.all(np.abs(emp - s) < 5 * err)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: overdamped_langevin(jax.random.key(0), lambda x: x, jnp.ones(2), dt=0.0, temperature=1.0, n_steps=3), ValueError, "dt"),
        (lambda: overdamped_langevin(jax.random.key(0), lambda x: x, jnp.ones(2), dt=0.1, temperature=-1.0, n_steps=3), ValueError, "temperature"),
        (lambda: overdamped_langevin(jax.random.key(0), lambda x: x[:1], jnp.ones(2), dt=0.1, temperature=1.0, n_steps=3), ValueError, "the shape of x0"),
        (lambda: overdamped_langevin(jax.random.key(0), lambda x: x, jnp.ones(2), dt=0.1, temperature=1.0, n_steps=10, record_every=3), ValueError, "multiple"),
        (lambda: overdamped_langevin(7, lambda x: x, jnp.ones(2), dt=0.1, temperature=1.0, n_steps=3), TypeError, "key"),
        (lambda: sgd(jax.random.key(0), lambda w, b: jnp.mean(b), jnp.ones(2), jnp.ones(5), lr=0.1, batch_size=0, n_steps=3), ValueError, "batch_size"),
        (lambda: sgd(jax.random.key(0), lambda w, b: b, jnp.ones(2), jnp.ones(5), lr=0.1, batch_size=2, n_steps=3), ValueError, "scalar"),
        (lambda: sgd(jax.random.key(0), lambda w, b: jnp.sum(w), jnp.ones((2, 2)), jnp.ones(5), lr=0.1, batch_size=2, n_steps=3), ValueError, "flat vector"),
        (lambda: sgd(jax.random.key(0), lambda w, b: jnp.sum(w), jnp.ones(2), (jnp.ones(5), jnp.ones(4)), lr=0.1, batch_size=2, n_steps=3), ValueError, "same number of examples"),
        (lambda: sgd(jax.random.key(0), lambda w, b: jnp.sum(w), jnp.ones(2), jnp.ones(5), lr=-0.1, batch_size=2, n_steps=3), ValueError, "lr"),
        (lambda: minibatch_noise_covariance(lambda w, b: jnp.sum(w), jnp.ones(2), jnp.ones(1), batch_size=1), ValueError, "at least 2"),
        (lambda: lyapunov_covariance(np.diag([1.0, 30.0]), np.eye(2), lr=0.1), ValueError, r"\(0, 2/lr\)"),
        (lambda: lyapunov_covariance(np.diag([-1.0, 3.0]), np.eye(2), lr=0.1), ValueError, "eigenvalue"),
        (lambda: lyapunov_covariance(np.eye(2), np.eye(3), lr=0.1), ValueError, "same shape"),
        (lambda: lyapunov_covariance(np.eye(2), np.array([[1.0, 2.0], [0.0, 1.0]]), lr=0.1), ValueError, "symmetric"),
    ],
)
def test_bad_inputs_get_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_kernel_steps_with_the_documented_keys_reproduce_the_wrappers():
    from physml_helpers.langevin import overdamped_langevin_kernel, sgd_kernel

    key = jax.random.key(11)
    grad = lambda x: 2.0 * x  # noqa: E731
    path = overdamped_langevin(key, grad, jnp.array([1.0, -1.0]), dt=0.01, temperature=0.5, n_steps=8, record_every=4)
    init, step = overdamped_langevin_kernel(grad, dt=0.01, temperature=0.5)
    state = init(jnp.array([1.0, -1.0]))
    for i, k in enumerate(jax.random.split(key, 8)):  # step i gets split(key, n_steps)[i]
        state, info = step(k, state)
        if i % 4 == 3:
            np.testing.assert_allclose(state.position, path[i // 4 + 1], atol=1e-14)
    assert float(info.grad_norm) > 0

    x = jnp.linspace(-1.0, 1.0, 10)
    loss = lambda w, batch: jnp.mean((w[0] * batch - 0.5) ** 2)  # noqa: E731
    sgd_path = sgd(key, loss, jnp.array([0.0]), x, lr=0.1, batch_size=3, n_steps=2)
    init, step = sgd_kernel(loss, x, lr=0.1, batch_size=3)
    state = init(jnp.array([0.0]))
    for k in jax.random.split(key, 2):
        state, info = step(k, state)
    np.testing.assert_allclose(state.position, sgd_path[-1], atol=1e-14)
    assert info.loss.shape == () and float(info.loss) > 0


def test_new_step_sizes_and_temperatures_compile_nothing():
    from compilation import assert_compiles_once

    grad = lambda x: x**3  # noqa: E731
    x0, x1 = jnp.array([0.3, 0.1]), jnp.array([1.3, 1.1])
    assert_compiles_once(
        lambda: overdamped_langevin(jax.random.key(0), grad, x0, dt=0.01, temperature=0.5, n_steps=50),
        second=lambda: overdamped_langevin(jax.random.key(1), grad, x1, dt=0.02, temperature=0.1, n_steps=50))
    data = (jnp.linspace(0.0, 1.0, 20), jnp.linspace(1.0, 2.0, 20))
    loss = lambda w, batch: jnp.mean((w[0] * batch[0] - batch[1]) ** 2)  # noqa: E731
    assert_compiles_once(
        lambda: sgd(jax.random.key(0), loss, jnp.array([0.0]), data, lr=0.1, batch_size=4, n_steps=30),
        second=lambda: sgd(jax.random.key(2), loss, jnp.array([1.0]), data, lr=0.05, batch_size=4, n_steps=30))


def test_float32_in_float32_out():
    x0 = jnp.array([0.3, 0.1], jnp.float32)
    assert overdamped_langevin(jax.random.key(0), lambda x: x, x0, dt=0.01, temperature=0.5, n_steps=4).dtype == jnp.float32
    data = jnp.linspace(0.0, 1.0, 8, dtype=jnp.float32)
    loss = lambda w, batch: jnp.mean((w[0] * batch - 1.0) ** 2)  # noqa: E731
    assert sgd(jax.random.key(0), loss, x0[:1], data, lr=0.1, batch_size=2, n_steps=3).dtype == jnp.float32
    assert minibatch_noise_covariance(loss, x0[:1], data, batch_size=2).dtype == jnp.float32
    h = jnp.eye(2, dtype=jnp.float32)
    assert lyapunov_covariance(h, h, lr=0.1).dtype == jnp.float32


def test_recording_less_often_does_not_change_the_trajectory():
    key, grad = jax.random.key(12), (lambda x: x**3 - x)
    every = overdamped_langevin(key, grad, jnp.array([0.2]), dt=0.01, temperature=0.3, n_steps=100)
    tenth = overdamped_langevin(key, grad, jnp.array([0.2]), dt=0.01, temperature=0.3, n_steps=100, record_every=10)
    np.testing.assert_allclose(tenth, every[::10], atol=1e-14)
    loss = lambda w, batch: jnp.mean((w[0] * batch - 1.0) ** 2)  # noqa: E731
    data = jnp.linspace(0.0, 2.0, 9)
    every = sgd(key, loss, jnp.array([0.0]), data, lr=0.1, batch_size=2, n_steps=20)
    fifth = sgd(key, loss, jnp.array([0.0]), data, lr=0.1, batch_size=2, n_steps=20, record_every=5)
    np.testing.assert_allclose(fifth, every[::5], atol=1e-14)


# ---------------------------------------------------------------------------------------------------
# frozen_noise_sgd: gradient descent plus Gaussian noise of a fixed covariance
# ---------------------------------------------------------------------------------------------------


def test_frozen_noise_stationary_covariance_matches_lyapunov():
    from physml_helpers.langevin import frozen_noise_sgd

    h = jnp.array([[2.0, 0.6], [0.6, 0.8]])
    c = jnp.array([[0.5, -0.3], [-0.3, 0.4]])  # not proportional to h: a tilted stationary covariance
    lr, n_chains = 0.2, 4000
    run = jax.vmap(lambda k: frozen_noise_sgd(k, lambda w: h @ w, jnp.zeros(2), lr=lr, noise_covariance=c,
                                              n_steps=300, record_every=300)[-1])
    final = np.asarray(run(jax.random.split(jax.random.key(30), n_chains)))  # (1 - lr h_min)^600 ~ 1e-15: stationary
    exact = np.asarray(lyapunov_covariance(h, c, lr=lr))
    sample = final.T @ final / n_chains  # the stationary mean is exactly 0
    stderr = np.sqrt((np.outer(np.diag(exact), np.diag(exact)) + exact**2) / n_chains)  # Gaussian fourth moments
    assert np.max(np.abs(sample - exact) / stderr) < 5
    # the continuous-time (alpha -> 0) covariance solves H S + S H = alpha C; at lr = 0.2 the discrete one differs
    cont = solve_discrete_lyapunov(np.eye(2) - lr * np.asarray(h), lr**2 * np.asarray(c))
    np.testing.assert_allclose(exact, cont, rtol=1e-12)


def test_frozen_noise_with_isotropic_covariance_is_overdamped_langevin():
    from physml_helpers.langevin import frozen_noise_sgd

    grad = lambda x: x**3 - x  # noqa: E731
    lr, temperature, key, x0 = 0.01, 0.3, jax.random.key(31), jnp.array([0.2, -0.4])
    frozen = frozen_noise_sgd(key, grad, x0, lr=lr, noise_covariance=(2 * temperature / lr) * jnp.eye(2), n_steps=50)
    langevin = overdamped_langevin(key, grad, x0, dt=lr, temperature=temperature, n_steps=50)
    np.testing.assert_allclose(frozen, langevin, atol=1e-13)


def test_frozen_noise_zero_and_singular_covariance():
    from physml_helpers.langevin import frozen_noise_sgd

    grad = lambda w: jnp.array([1.0, 2.0]) * w  # noqa: E731
    x0 = jnp.array([1.0, 1.0])
    path = frozen_noise_sgd(jax.random.key(32), grad, x0, lr=0.1, noise_covariance=jnp.zeros((2, 2)), n_steps=5)
    np.testing.assert_allclose(path[-1], jnp.array([0.9**5, 0.8**5]), rtol=1e-13)  # gradient descent
    singular = jnp.array([[1.0, 0.0], [0.0, 0.0]])  # noise only along the first axis
    path = frozen_noise_sgd(jax.random.key(33), grad, x0, lr=0.1, noise_covariance=singular, n_steps=5)
    assert abs(float(path[-1, 1]) - 0.8**5) < 1e-13 and abs(float(path[-1, 0]) - 0.9**5) > 1e-6


def test_frozen_noise_kernel_reproduces_the_wrapper_and_compiles_once():
    from compilation import assert_compiles_once

    from physml_helpers.langevin import frozen_noise_sgd, frozen_noise_sgd_kernel

    grad = lambda w: w**3  # noqa: E731
    c = jnp.array([[1.0, 0.2], [0.2, 0.5]])
    key, x0 = jax.random.key(34), jnp.array([0.3, -0.2])
    path = frozen_noise_sgd(key, grad, x0, lr=0.05, noise_covariance=c, n_steps=6, record_every=3)
    init, step = frozen_noise_sgd_kernel(grad, c, lr=0.05)
    state = init(x0)
    for i, k in enumerate(jax.random.split(key, 6)):
        state, info = step(k, state)
        if i % 3 == 2:
            np.testing.assert_allclose(state.position, path[i // 3 + 1], atol=1e-14)
    assert float(info.grad_norm) > 0
    c2, x1 = jnp.array([[2.0, 0.4], [0.4, 1.0]]), jnp.array([-0.3, 0.2])
    assert_compiles_once(
        lambda: frozen_noise_sgd(jax.random.key(0), grad, x0, lr=0.05, noise_covariance=c, n_steps=20),
        second=lambda: frozen_noise_sgd(jax.random.key(1), grad, x1, lr=0.01, noise_covariance=c2, n_steps=20))
    x32 = frozen_noise_sgd(key, grad, x0.astype(jnp.float32), lr=0.05, noise_covariance=c.astype(jnp.float32), n_steps=3)
    assert x32.dtype == jnp.float32


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(noise_covariance=jnp.array([[1.0, 0.0], [0.0, -1.0]])), ValueError, "positive semi-definite"),
        (dict(noise_covariance=jnp.array([[1.0, 0.5], [0.0, 1.0]])), ValueError, "noise_covariance"),
        (dict(noise_covariance=jnp.eye(3)), ValueError, "params.size"),
        (dict(noise_covariance=jnp.eye(2, dtype=jnp.float32)), TypeError, "dtype"),
        (dict(lr=0.0), ValueError, "lr"),
        (dict(grad_fn=3.0), TypeError, "grad_fn"),
        (dict(params=jnp.zeros((2, 1))), ValueError, "params"),
        (dict(n_steps=10, record_every=3), ValueError, "record_every"),
    ],
)
def test_frozen_noise_bad_inputs_get_clear_errors(kwargs, error, message):
    from physml_helpers.langevin import frozen_noise_sgd

    args = dict(grad_fn=lambda w: w, params=jnp.zeros(2), lr=0.1, noise_covariance=jnp.eye(2), n_steps=4)
    args.update(kwargs)
    with pytest.raises(error, match=message):
        frozen_noise_sgd(jax.random.key(0), args.pop("grad_fn"), args.pop("params"), **args)
