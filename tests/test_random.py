"""The shape-independent Gaussian draw returns exactly what ``jax.random.normal`` returns."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers import _random
from physml_helpers.networks import init_mlp
from physml_helpers.vmc import init_jastrow, init_product, init_rbm, init_symmetric_rbm


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("shape", [(), (1,), (7,), (16, 17), (3, 4, 5), (4096,), (70, 70)])
def test_bit_identical_to_jax_random_normal(shape, dtype):
    key = jax.random.key(11)
    expected = np.asarray(jax.random.normal(key, shape, dtype))
    got = _random.normal(key, shape, dtype)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(np.asarray(got), expected)


def test_traced_key_falls_back_to_jax_random_normal():
    draw = jax.jit(lambda k: _random.normal(k, (5, 3), jnp.float64))(jax.random.key(2))
    np.testing.assert_array_equal(np.asarray(draw), np.asarray(jax.random.normal(jax.random.key(2), (5, 3))))


def test_initialisers_unchanged():
    """The initialisers that use it give the parameters the direct formulas give."""
    key = jax.random.key(5)
    ka, kb, kw = jax.random.split(key, 3)
    rbm = init_rbm(key, 6, alpha=2, scale=0.3)
    np.testing.assert_array_equal(rbm["W"], 0.3 * jax.random.normal(kw, (12, 6)))
    np.testing.assert_array_equal(rbm["a"], 0.3 * jax.random.normal(ka, (6,)))
    np.testing.assert_array_equal(init_product(key, 5, scale=0.2)["a"], 0.2 * jax.random.normal(key, (5,)))
    ka, kk = jax.random.split(key)
    np.testing.assert_array_equal(init_jastrow(key, 5, scale=0.2)["K"], 0.2 * jax.random.normal(kk, (10,)))
    sym = init_symmetric_rbm(key, 8, alpha=2, scale=0.1)
    assert sym["W"].shape == (2, 8)
    for dtype in (jnp.float32, jnp.float64):
        layers = init_mlp(key, [3, 5, 2], dtype=dtype)
        for k, (w, b), n_in in zip(jax.random.split(key, 2), layers, (3, 5)):
            expected = jax.random.normal(k, w.shape, dtype) / jnp.sqrt(jnp.asarray(n_in, dtype))
            np.testing.assert_array_equal(w, expected)
            assert w.dtype == dtype and b.dtype == dtype and not np.any(np.asarray(b))
