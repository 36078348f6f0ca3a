"""physml_helpers.rbm against exact results: enumeration, the marginal against a brute-force sum over hidden
units, the gradient against finite differences, CD with many Gibbs steps against the exact gradient, the KL
divergence; bad input."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers import rbm


def _params(seed=0, nv=4, nh=3, scale=0.5):
    p = rbm.init_rbm(jax.random.key(seed), nv, nh, scale=scale)
    return p._replace(visible_bias=0.3 * jnp.arange(nv, dtype=jnp.float64) / nv, hidden_bias=-0.2 * jnp.ones(nh))


def test_all_spin_states():
    s = rbm.all_spin_states(3)
    assert s.shape == (8, 3) and len({tuple(r) for r in np.asarray(s)}) == 8


def test_marginal_against_brute_force_sum_over_hidden():
    p = _params()
    W, a, b = (np.asarray(x) for x in p)
    v_all = np.asarray(rbm.all_spin_states(4))
    h_all = np.array(list(itertools.product([-1.0, 1.0], repeat=3)))
    log_w = np.array([np.log(np.sum(np.exp(v @ W @ h_all.T + a @ v + h_all @ b))) for v in v_all])
    want = log_w - np.log(np.sum(np.exp(log_w)))
    assert np.allclose(rbm.exact_log_probs(p), want, atol=1e-12)
    assert np.allclose(rbm.visible_log_weight(p, v_all) - rbm.visible_log_weight(p, v_all)[0], log_w - log_w[0], atol=1e-12)


def test_exact_gradient_against_finite_differences():
    p = _params(1)
    data = rbm.all_spin_states(4)[jnp.array([0, 3, 3, 7, 12])]
    ll = lambda q: jnp.mean(rbm.exact_log_probs(q)[jnp.array([0, 3, 3, 7, 12])])
    g = rbm.exact_gradient(p, data)
    for field in ("weights", "visible_bias", "hidden_bias"):
        x = getattr(p, field)
        for idx in np.ndindex(*x.shape):
            h = 1e-6
            up = ll(p._replace(**{field: x.at[idx].add(h)}))
            down = ll(p._replace(**{field: x.at[idx].add(-h)}))
            assert float(getattr(g, field)[idx]) == pytest.approx(float((up - down) / (2 * h)), abs=1e-8)
    weights = jnp.array([0.2, 0.4, 0.2, 0.2])
    g_w = rbm.exact_gradient(p, data[jnp.array([0, 1, 3, 4])], weights)
    g_u = rbm.exact_gradient(p, data)
    assert np.allclose(g_w.weights, g_u.weights, atol=1e-12)  # the same empirical distribution


def test_cd_with_long_chains_approaches_the_exact_gradient():
    p = _params(2, scale=0.3)
    data = jnp.tile(rbm.all_spin_states(4)[:5], (400, 1))
    exact = rbm.exact_gradient(p, data)
    cd = jax.vmap(lambda k: rbm.cd_gradient(k, p, data, 30))(jax.random.split(jax.random.key(3), 20))
    se = np.asarray(cd.weights).std(axis=0, ddof=1) / np.sqrt(20)
    assert np.all(np.abs(np.asarray(cd.weights).mean(axis=0) - np.asarray(exact.weights)) < 5 * se + 1e-12)


def test_training_lowers_kl_and_masks_freeze_units():
    target = rbm.exact_log_probs(_params(4, scale=1.0))
    states = rbm.all_spin_states(4)
    p0 = rbm.init_rbm(jax.random.key(5), 4, 3, scale=0.1)
    mask = jnp.array([1.0, 1.0, 0.0])
    p = rbm.train_rbm(jax.random.key(6), p0, states, lr=0.2, n_steps=500, data_weights=jnp.exp(target), hidden_mask=mask)
    assert float(rbm.kl_divergence(target, rbm.exact_log_probs(p))) < 0.5 * float(rbm.kl_divergence(target, rbm.exact_log_probs(p0)))
    assert np.all(p.weights[:, 2] == 0) and p.hidden_bias[2] == 0
    assert float(rbm.kl_divergence(target, target)) == pytest.approx(0.0, abs=1e-14)


def test_tracking_kl_follows_train_rbm_and_records_the_exact_kl():
    target = rbm.exact_log_probs(_params(4, scale=1.0))
    states = rbm.all_spin_states(4)
    p0 = rbm.init_rbm(jax.random.key(5), 4, 3, scale=0.1)
    common = dict(lr=0.2, data_weights=jnp.exp(target))
    p, kl = rbm.train_rbm_tracking_kl(jax.random.key(6), p0, states, target, n_steps=60, record_every=20, **common)
    assert kl.shape == (3,)
    for j in range(3):  # exact gradients are deterministic: the record after 20 (j + 1) steps is that of a 20 (j + 1)-step run
        pj = rbm.train_rbm(jax.random.key(6), p0, states, n_steps=20 * (j + 1), **common)
        assert float(kl[j]) == pytest.approx(float(rbm.kl_divergence(target, rbm.exact_log_probs(pj))), rel=1e-12)
    np.testing.assert_allclose(p.weights, pj.weights, rtol=1e-12)
    # CD: same trajectory as train_rbm with the same key
    data = states[jnp.array([0, 3, 5, 5, 9, 12, 15, 15])]
    p_cd, kl_cd = rbm.train_rbm_tracking_kl(jax.random.key(7), p0, data, target, lr=0.1, n_steps=30, record_every=10,
                                            method="cd", k=2)
    np.testing.assert_allclose(p_cd.weights, rbm.train_rbm(jax.random.key(7), p0, data, lr=0.1, n_steps=30, method="cd",
                                                           k=2).weights, rtol=1e-12)
    assert float(kl_cd[-1]) == pytest.approx(float(rbm.kl_divergence(target, rbm.exact_log_probs(p_cd))), rel=1e-12)
    with pytest.raises(ValueError, match="multiple of record_every"):
        rbm.train_rbm_tracking_kl(jax.random.key(6), p0, states, target, n_steps=50, record_every=20, **common)
    with pytest.raises(ValueError, match="reference_log_probs"):
        rbm.train_rbm_tracking_kl(jax.random.key(6), p0, states, target[:8], n_steps=40, record_every=20, **common)


def test_bad_input():
    p = _params()
    with pytest.raises(ValueError, match="n must be <= 20"):
        rbm.all_spin_states(21)
    with pytest.raises(TypeError, match="RBMParams"):
        rbm.exact_log_probs((1, 2, 3))
    with pytest.raises(ValueError, match="spins"):
        rbm.exact_gradient(p, jnp.zeros((2, 4)))
    with pytest.raises(ValueError, match="n_visible"):
        rbm.visible_log_weight(p, jnp.ones((2, 5)))
    with pytest.raises(ValueError, match="k must be"):
        rbm.cd_gradient(jax.random.key(0), p, jnp.ones((2, 4)), 0)
    with pytest.raises(ValueError, match="normalized"):
        rbm.kl_divergence(jnp.zeros(4), jnp.zeros(4))
    with pytest.raises(ValueError, match="method"):
        rbm.training_kernel(jnp.ones((2, 4)), lr=0.1, method="pcd")
    with pytest.raises(ValueError, match="data_weights"):
        rbm.training_kernel(jnp.ones((2, 4)), lr=0.1, method="cd", data_weights=jnp.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="sum to 1"):
        rbm.exact_gradient(p, jnp.ones((2, 4)), jnp.array([0.5, 0.6]))
