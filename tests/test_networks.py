"""physml_helpers.networks: shapes, a hand-computed forward pass, and a gradient check."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from physml_helpers.networks import init_mlp, mlp, mse_loss


def test_shapes_and_dtype():
    params = init_mlp(jax.random.key(0), [3, 5, 2], dtype=jnp.float32)
    assert [(w.shape, b.shape) for w, b in params] == [((3, 5), (5,)), ((5, 2), (2,))]
    assert params[0][0].dtype == jnp.float32
    assert mlp(params, jnp.ones((7, 3), jnp.float32)).shape == (7, 2)


def test_forward_pass_by_hand():
    w1, b1 = jnp.array([[1.0, -2.0]]), jnp.array([0.5, 0.0])
    w2, b2 = jnp.array([[3.0], [1.0]]), jnp.array([0.25])
    x = jnp.array([[0.7]])
    expected = 3 * np.tanh(0.7 + 0.5) + np.tanh(-1.4) + 0.25
    np.testing.assert_allclose(mlp([(w1, b1), (w2, b2)], x), [[expected]], rtol=1e-14)
    np.testing.assert_allclose(mse_loss([(w1, b1), (w2, b2)], x, jnp.array([[1.0]])), 0.5 * (expected - 1) ** 2)


def test_gradients_match_finite_differences():
    params = init_mlp(jax.random.key(1), [1, 4, 1])
    x = jnp.linspace(-1, 1, 5)[:, None]
    check_grads(lambda p: mse_loss(p, x, jnp.sin(x)), (params,), order=2, modes=["rev"])


def test_same_key_same_parameters():
    a = init_mlp(jax.random.key(3), [2, 3, 1])
    b = init_mlp(jax.random.key(3), [2, 3, 1])
    assert all(bool(jnp.all(x == y)) for (x, _), (y, _) in zip(a, b))


@pytest.mark.parametrize("sizes, error", [([3], ValueError), ([], ValueError), ([2, 0, 1], ValueError),
                                          ([2, 1.5, 1], TypeError)])
def test_rejects_bad_sizes(sizes, error):
    with pytest.raises(error, match="layer_sizes"):
        init_mlp(jax.random.key(0), sizes)


def test_adam_scan_minimizes_a_quadratic_and_records_history():
    import jax.numpy as jnp

    from physml_helpers.networks import adam_scan

    target = jnp.array([1.0, -2.0, 0.5])
    params, history = adam_scan(lambda p: jnp.sum((p - target) ** 2), jnp.zeros(3), lr=0.1, n_steps=500)
    assert history.shape == (500,) and float(history[-1]) < 1e-6 < float(history[0])
    assert jnp.allclose(params, target, atol=1e-3)
    _, aux = adam_scan(lambda p: (jnp.sum(p**2), jnp.stack([p[0], p[1]])), jnp.ones(2), lr=0.1, n_steps=10, has_aux=True)
    assert aux.shape == (10, 2)
