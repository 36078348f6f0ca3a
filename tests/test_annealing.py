"""Variational classical annealing (chapter 6): the autoregressive model is normalized and sampled exactly, the
REINFORCE gradient is unbiased, the variational free energy bounds the exact one, and annealing finds small ground
states."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers.annealing import (VCAInfo, autoregressive_log_prob, autoregressive_sample, init_autoregressive,
                                      variational_annealing, vca_kernel, vca_schedule)
from physml_helpers.quantum import configurations
from physml_helpers.spinglass import energy, exact_free_energy, exact_ground_state, sk_couplings


@pytest.mark.parametrize("n_hidden", [0, 7])
def test_probabilities_sum_to_one(n_hidden):
    params = init_autoregressive(jax.random.key(0), 9, n_hidden=n_hidden, scale=0.7)
    p = np.exp(np.asarray(autoregressive_log_prob(params, configurations(9))))
    assert abs(p.sum() - 1) < 1e-12


def test_prefix_gives_the_exact_marginal():
    params = init_autoregressive(jax.random.key(11), 7, n_hidden=6, scale=0.8)
    s = jnp.asarray(configurations(7), jnp.float64)
    p = np.exp(np.asarray(autoregressive_log_prob(params, s))).reshape(8, 16)  # first 3 spins x last 4
    marginal = np.exp(np.asarray(autoregressive_log_prob(params, s[::16], prefix=3)))
    assert np.allclose(p.sum(axis=1), marginal, atol=1e-14)
    with pytest.raises(ValueError, match="prefix"):
        autoregressive_log_prob(params, s, prefix=8)


def test_conditionals_are_autoregressive():
    params = init_autoregressive(jax.random.key(1), 6, n_hidden=5, scale=1.0)
    from physml_helpers.annealing import _logits

    s = jnp.asarray(configurations(6), jnp.float64)
    jac = jax.vmap(jax.jacfwd(lambda x: _logits(params, x)))(s)  # [configs, output i, input j]
    assert np.all(np.abs(np.asarray(jac)[:, np.triu_indices(6)[0], np.triu_indices(6)[1]]) == 0)  # j >= i


def test_samples_follow_the_model():
    params = init_autoregressive(jax.random.key(2), 5, n_hidden=4, scale=0.8)
    s, logp = autoregressive_sample(jax.random.key(3), params, 40000)
    assert np.allclose(np.asarray(logp), np.asarray(autoregressive_log_prob(params, s)), atol=1e-12)
    index = ((1 - np.asarray(s)) // 2).astype(int) @ (2 ** np.arange(4, -1, -1))  # configurations() order
    freq = np.bincount(index, minlength=32) / 40000
    p = np.exp(np.asarray(autoregressive_log_prob(params, configurations(5))))
    z = (freq - p) / np.sqrt(p * (1 - p) / 40000)
    assert np.max(np.abs(z)) < 4.5  # 32 frequencies: 4.5 standard errors is a 2e-4 chance for each


def test_reinforce_gradient_is_unbiased():
    # the gradient of F = sum_s p(s) (E(s) + T ln p(s)) computed exactly against the mean of many REINFORCE estimates
    n, T = 5, 0.8
    J = sk_couplings(jax.random.key(4), n)
    params = init_autoregressive(jax.random.key(5), n, n_hidden=3, scale=0.5)
    s_all = jnp.asarray(configurations(n), jnp.float64)
    e_all = energy(J, s_all)

    def exact_f(p):
        logp = autoregressive_log_prob(p, s_all)
        return jnp.sum(jnp.exp(logp) * (e_all + T * logp))

    want = jax.grad(exact_f)(params)["b"]
    kernel = vca_kernel(J, n_samples=64, lr=1e-3)
    from physml_helpers.annealing import _log_prob

    def estimate(key):
        s, logp = autoregressive_sample(key, params, 64)
        f_loc = energy(J, s) + T * logp
        w = f_loc - f_loc.mean()
        return jax.grad(lambda p: jnp.mean(w * _log_prob(p, s)))(params)["b"] * 64 / 63  # unbiased with the baseline
    grads = np.stack([np.asarray(estimate(k)) for k in jax.random.split(jax.random.key(6), 300)])
    err = grads.std(axis=0, ddof=1) / np.sqrt(len(grads))
    assert np.all(np.abs(grads.mean(axis=0) - np.asarray(want)) < 4.5 * err)
    assert kernel.init(params).params is params


def test_variational_free_energy_bounds_the_exact_one_and_annealing_finds_the_ground_state():
    n = 10
    J = sk_couplings(jax.random.key(7), n)
    e0, _ = exact_ground_state(J)
    params = init_autoregressive(jax.random.key(8), n, n_hidden=8)
    temps = vca_schedule(1.0, 100, n_warmup=50, n_train=3)
    trained, history = variational_annealing(jax.random.key(9), J, params, temperatures=temps, n_samples=32, lr=0.02)
    assert isinstance(history, VCAInfo) and history.energy.shape == temps.shape
    s, _ = autoregressive_sample(jax.random.key(10), trained, 500)
    assert np.mean(np.asarray(energy(J, s)) < float(e0) + 1e-9) > 0.5
    s_all = jnp.asarray(configurations(n), jnp.float64)
    e_all = energy(J, s_all)
    for p in (params, trained):
        logp = autoregressive_log_prob(p, s_all)
        for T in (0.3, 1.0, 3.0):
            f_var = float(jnp.sum(jnp.exp(logp) * (e_all + T * logp)))
            assert f_var >= float(exact_free_energy(J, T)) - 1e-12


def test_schedule_layout():
    t = np.asarray(vca_schedule(2.0, 4, n_warmup=3, n_train=2))
    assert np.allclose(t, [2, 2, 2, 1.5, 1.5, 1.0, 1.0, 0.5, 0.5, 0.0, 0.0])


@pytest.mark.parametrize("call, error, match", [
    (lambda: init_autoregressive(jax.random.key(0), 1), ValueError, "n_sites"),
    (lambda: init_autoregressive(jax.random.key(0), 4, n_hidden=-1), ValueError, "n_hidden"),
    (lambda: autoregressive_log_prob({"b": jnp.zeros(3)}, jnp.ones(3)), TypeError, "init_autoregressive"),
    (lambda: autoregressive_log_prob(init_autoregressive(jax.random.key(0), 4), jnp.ones(5)), ValueError, "shape"),
    (lambda: autoregressive_log_prob(init_autoregressive(jax.random.key(0), 3), jnp.zeros(3)), ValueError, "spins"),
    (lambda: autoregressive_sample(jax.random.key(0), init_autoregressive(jax.random.key(0), 3), 0), ValueError,
     "n_samples"),
    (lambda: vca_schedule(0.0, 5, n_warmup=1), ValueError, "t_initial"),
    (lambda: vca_kernel(np.zeros((3, 3)), n_samples=1), ValueError, "n_samples"),
    (lambda: variational_annealing(jax.random.key(0), np.zeros((4, 4)), init_autoregressive(jax.random.key(0), 3),
                                   temperatures=[1.0]), ValueError, "N = 3"),
    (lambda: variational_annealing(jax.random.key(0), np.zeros((3, 3)), init_autoregressive(jax.random.key(0), 3),
                                   temperatures=[1.0], lr=-1.0), ValueError, "lr"),
])
def test_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()
