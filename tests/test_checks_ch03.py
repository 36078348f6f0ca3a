"""Chapter 3's checks accept right answers and explain typical wrong ones."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

from physml_helpers.course.checks import ch03

k, T, dt = sp.symbols("k T dt", positive=True)


def test_em_variance(capsys):
    ch03.check_em_variance(T / (k * (1 - k * dt / 2)))
    assert "correct" in capsys.readouterr().out
    ch03.check_em_variance(2 * T / (k * (2 - k * dt)))  # the same, written differently
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="continuous-time \\(Boltzmann\\) value"):
        ch03.check_em_variance(T / k)
    with pytest.raises(AssertionError, match="symbols k, T and dt"):
        ch03.check_em_variance(T / sp.Symbol("kappa"))


def _noise(key, loss_fn, params, data, batch_size, n_batches, *, divide_by_b=False):
    m = data[0].shape[0]
    idx = jax.random.randint(key, (n_batches, batch_size), 0, m)
    grads = jax.vmap(lambda i: jax.grad(loss_fn)(params, tuple(a[i] for a in data)))(idx)
    dev = grads - jax.grad(loss_fn)(params, data)
    cov = dev.T @ dev / n_batches
    return cov / batch_size if divide_by_b else cov


def test_empirical_noise(capsys):
    ch03.check_empirical_noise(_noise)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="divide by B twice"):
        ch03.check_empirical_noise(lambda *a: _noise(*a, divide_by_b=True))
    with pytest.raises(AssertionError, match="covariance matrix of the minibatch gradient"):
        ch03.check_empirical_noise(lambda *a: jnp.diag(_noise(*a)))


def _lyapunov(H, C, lr, *, noise_factor=None):
    n = H.shape[0]
    a = np.eye(n) - lr * np.asarray(H)
    rhs = (lr**2 if noise_factor is None else noise_factor) * np.asarray(C)
    return np.linalg.solve(np.eye(n * n) - np.kron(a, a), rhs.reshape(-1)).reshape(n, n)


def test_lyapunov(capsys):
    ch03.check_lyapunov(_lyapunov)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="Sigma for n = 2.*Vectorise"):
        ch03.check_lyapunov(lambda H, C, lr: _lyapunov(H, C, lr, noise_factor=lr))  # lr C instead of lr^2 C


def test_temperature(capsys):
    ch03.check_temperature([1.02e-3, 0.98e-3, 1.05e-3], [1.0e-3, 1.01e-3, 1.03e-3])
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="relative to the prediction.*Run long enough"):
        ch03.check_temperature([0.5e-3, 0.98e-3, 1.05e-3], [1.0e-3, 1.01e-3, 1.03e-3])  # a run too short
    with pytest.raises(AssertionError, match="three measured spreads"):
        ch03.check_temperature([1e-3, 1e-3], [1e-3, 1e-3])
