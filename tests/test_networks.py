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


def test_targets_of_the_wrong_shape_are_refused_not_broadcast():
    params = init_mlp(jax.random.key(0), [2, 4, 1])
    x = jax.random.normal(jax.random.key(1), (6, 2))
    y = jax.random.normal(jax.random.key(2), (6,))
    with pytest.raises(ValueError, match=r"y must have the shape of the network's output \(6, 1\).*y\[:, None\]"):
        mse_loss(params, x, y)  # [6] against [6, 1] used to broadcast to a [6, 6] residual: a wrong loss
    residual = mlp(params, x)[:, 0] - y
    assert float(mse_loss(params, x, y[:, None])) == pytest.approx(0.5 * float(jnp.mean(residual**2)), rel=1e-12)
    with pytest.raises(ValueError, match=r"x must have shape \[\.\.\., n_in=2\]"):
        mlp(params, jnp.ones((6, 3)))


def test_adam_kernel_is_what_adam_scan_runs():
    from physml_helpers.networks import adam_kernel, adam_scan

    loss = lambda p: jnp.sum((p["w"] - 3.0) ** 2)  # noqa: E731
    params = {"w": jnp.array([0.0, 1.0])}
    final, history = jax.jit(lambda p: adam_scan(loss, p, lr=0.1, n_steps=5))(params)
    init, step = adam_kernel(loss, lr=0.1, n_steps=5)
    state = init(params)
    for k in range(5):
        state, info = step(state)
        assert float(info.loss) == pytest.approx(float(history[k]), rel=1e-14)
        assert float(info.grad_norm) > 0 and info.aux is None
    np.testing.assert_allclose(state.params["w"], final["w"], rtol=1e-14)
    assert int(state.count) == 5


def test_float32_parameters_stay_float32_through_adam():
    from physml_helpers.networks import adam_scan

    params = init_mlp(jax.random.key(0), [1, 3, 1], dtype=jnp.float32)
    x = jnp.linspace(-1, 1, 8, dtype=jnp.float32)[:, None]
    fitted, history = adam_scan(lambda p: mse_loss(p, x, x**2), params, lr=0.01, n_steps=3)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree_util.tree_leaves(fitted)) and history.dtype == jnp.float32
    assert mlp(params, x).dtype == jnp.float32


def test_a_negative_learning_rate_is_refused_and_a_constant_schedule_is_plain_adam():
    import optax

    from physml_helpers.networks import adam_scan

    loss = lambda p: jnp.sum((p - 1.0) ** 2)  # noqa: E731
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        adam_scan(loss, jnp.zeros(2), lr=-0.1, n_steps=3)  # would ascend
    with pytest.raises(ValueError, match="schedule must be one of"):
        adam_scan(loss, jnp.zeros(2), lr=0.1, n_steps=3, schedule="linear")
    final, _ = adam_scan(loss, jnp.zeros(2), lr=0.1, n_steps=4, schedule="constant")
    opt, p = optax.adam(0.1), jnp.zeros(2)
    state = opt.init(p)
    with jax.numpy_dtype_promotion("standard"):
        for _ in range(4):
            updates, state = opt.update(jax.grad(loss)(p), state, p)
            p = optax.apply_updates(p, updates)
    np.testing.assert_allclose(final, p, rtol=1e-14)
