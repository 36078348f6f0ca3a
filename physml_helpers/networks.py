r"""Small fully connected networks, written out in JAX so every parameter is visible.

Chapter 1 uses a two-layer tanh network on a one-dimensional regression as its non-convex landscape;
later chapters reuse the same pieces. Parameters are a list of ``(W, b)`` pairs; use
``jax.flatten_util.ravel_pytree`` to work with them as one flat vector (for Hessians).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from physml_helpers import _validation as _v

__all__ = ["init_mlp", "mlp", "mse_loss", "adam_scan"]


def init_mlp(key: jax.Array, layer_sizes, *, dtype=None) -> list[tuple[jax.Array, jax.Array]]:
    r"""Random parameters for a fully connected network (LeCun-normal weights, zero biases).

    Args:
      key: a JAX PRNG key.
      layer_sizes: sequence of widths ``[n_in, n_hidden, ..., n_out]``, at least two positive ints.
      dtype: floating dtype of the parameters (default: JAX's default float).

    Returns:
      ``[(W_1, b_1), ...]`` with ``W_l``: float[n_{l-1}, n_l] and ``b_l``: float[n_l].

    Raises:
      ValueError: fewer than two sizes, or a size that is not a positive integer.
    """
    sizes = list(layer_sizes) if not isinstance(layer_sizes, (str, bytes)) else []
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes must list at least an input and an output width, got {layer_sizes!r}")
    sizes = [_v.count(f"layer_sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes)]
    dtype = jnp.result_type(float) if dtype is None else dtype
    params = []
    for k, (n_in, n_out) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        w = jax.random.normal(k, (n_in, n_out), dtype) / jnp.sqrt(jnp.asarray(n_in, dtype))
        params.append((w, jnp.zeros((n_out,), dtype)))
    return params


def mlp(params, x: jax.Array) -> jax.Array:
    r"""Apply the network: tanh on hidden layers, linear output.

    Args:
      params: list of ``(W, b)`` pairs from :func:`init_mlp`.
      x: float[batch, n_in] inputs.

    Returns:
      float[batch, n_out] outputs.
    """
    for w, b in params[:-1]:
        x = jnp.tanh(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def mse_loss(params, x: jax.Array, y: jax.Array) -> jax.Array:
    r"""Half mean squared error, :math:`E = \frac{1}{2n}\sum_i \lVert f(x_i) - y_i\rVert^2`.

    Args:
      params: network parameters.
      x: float[n, n_in] inputs; y: float[n, n_out] targets.

    Returns:
      float[] the loss.
    """
    residual = mlp(params, x) - y
    return 0.5 * jnp.mean(jnp.sum(residual**2, axis=-1))


def adam_scan(loss_fn, params, *, lr, n_steps: int, has_aux: bool = False):
    r"""Minimize ``loss_fn(params)`` by full-batch Adam with a cosine-decaying step, as one ``lax.scan``.

    Meant to be called inside :func:`jax.jit` (``n_steps`` must then be static); later chapters' training
    helpers are thin wrappers around it.

    Args:
      loss_fn: ``params -> loss`` (a scalar), or ``params -> (loss, aux)`` with ``has_aux=True``.
      params: initial parameters (any pytree).
      lr: peak learning rate of the cosine schedule (a number or a traced scalar).
      n_steps: number of Adam steps.
      has_aux: whether ``loss_fn`` also returns auxiliary values, recorded at every step.

    Returns:
      ``(params, history)``: the final parameters and, per step, the loss (or ``aux`` when ``has_aux``).
    """
    import optax

    optimizer = optax.adam(optax.cosine_decay_schedule(lr, n_steps))

    def step(carry, _):
        p, state = carry
        (value, grads) = jax.value_and_grad(loss_fn, has_aux=has_aux)(p)
        record = value[1] if has_aux else value
        updates, state = optimizer.update(grads, state, p)
        return (optax.apply_updates(p, updates), state), record

    (params, _), history = jax.lax.scan(step, (params, optimizer.init(params)), None, length=n_steps)
    return params, history
