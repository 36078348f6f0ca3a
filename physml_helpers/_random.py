"""Gaussian draws for parameter initialisation that compile once per dtype instead of once per shape.

``jax.random.normal(key, shape)`` compiles a new threefry program (a few tenths of a second on a CPU) for every
new shape, and a chapter that initialises networks of several sizes pays that many times. JAX's counter-based
("partitionable") threefry makes the first ``k`` draws of a flat array independent of its length, so drawing a
flat block of a bucketed size and keeping the first ``prod(shape)`` entries returns exactly the numbers
``jax.random.normal(key, shape, dtype)`` would (asserted in ``tests/test_random.py``), from one compiled
program per bucket.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

_MIN_BUCKET = 4096


def _bucket(size: int) -> int:
    return max(_MIN_BUCKET, 1 << max(size - 1, 0).bit_length())


def normal_array(key, shape, dtype, *, divide_by_sqrt=None) -> np.ndarray:
    """``np.asarray(jax.random.normal(key, shape, dtype))``, bit for bit, without a compilation per shape.

    With ``divide_by_sqrt=n`` the draw is divided by ``jnp.sqrt(n)`` in JAX (XLA's float32 division is not
    NumPy's to the last bit, so the division stays in JAX to keep the numbers unchanged). Falls back to
    ``jax.random.normal`` when ``key`` is traced (inside ``jit`` or ``vmap``) or when JAX's threefry is not
    in partitionable mode (where a prefix of a longer draw differs).
    """
    shape = tuple(int(d) for d in shape)
    if isinstance(key, jax.core.Tracer) or not jax.config.jax_threefry_partitionable:
        draw = jax.random.normal(key, shape, dtype)
        return draw if divide_by_sqrt is None else draw / jnp.sqrt(jnp.asarray(divide_by_sqrt, dtype))
    size = math.prod(shape)
    flat = jax.random.normal(key, (_bucket(size),), dtype)
    if divide_by_sqrt is not None:
        flat = flat / jnp.sqrt(jnp.asarray(divide_by_sqrt, dtype))
    return np.asarray(flat)[:size].reshape(shape)


def normal(key, shape, dtype) -> jax.Array:
    """``jax.random.normal(key, shape, dtype)``, bit for bit, compiled once per dtype and bucket of sizes."""
    return jnp.asarray(normal_array(key, shape, dtype))
