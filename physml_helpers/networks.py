r"""Small fully connected networks, written out in JAX so every parameter is visible.

Chapter 1 uses a two-layer tanh network on a one-dimensional regression as its non-convex landscape;
later chapters reuse the same pieces. Parameters are a list of ``(W, b)`` pairs; use
``jax.flatten_util.ravel_pytree`` to work with them as one flat vector (for Hessians).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _random, _validation as _v
from physml_helpers._kernels import Kernel, scan_kernel

__all__ = ["init_mlp", "mlp", "mse_loss", "AdamState", "AdamInfo", "adam_kernel", "adam_scan"]


def init_mlp(key: jax.Array, layer_sizes, *, dtype=None) -> list[tuple[jax.Array, jax.Array]]:
    r"""Random parameters for a fully connected network (LeCun-normal weights, zero biases).

    Args:
      key: a JAX PRNG key.
      layer_sizes: sequence of widths ``[n_in, n_hidden, ..., n_out]``, at least two positive ints.
      dtype: floating dtype of the parameters (default: JAX's default float).

    Returns:
      ``[(W_1, b_1), ...]`` with ``W_l``: float[n_{l-1}, n_l] and ``b_l``: float[n_l].

    Raises:
      TypeError: ``key`` not a typed JAX key, a size not an integer, ``dtype`` not floating.
      ValueError: fewer than two sizes, or a size < 1.
    """
    _v.key(key)
    sizes = list(layer_sizes) if not isinstance(layer_sizes, (str, bytes)) and hasattr(layer_sizes, "__iter__") else []
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes must list at least an input and an output width, got {layer_sizes!r}")
    sizes = [_v.count(f"layer_sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes)]
    dtype = _v.float_dtype("dtype", dtype)
    params = []
    for k, (n_in, n_out) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        w = _random.normal_array(k, (n_in, n_out), dtype, divide_by_sqrt=n_in)
        params.append((jnp.asarray(w), jnp.asarray(np.zeros((n_out,), dtype))))
    return params


def _check_layers(params, init: str = "init_mlp", pname: str = "params"):
    """Static checks (valid under jit and vmap) that ``params`` is a list of ``(W, b)`` pairs whose widths chain:
    ``W_l`` [n_{l-1}, n_l], ``b_l`` [n_l], all of one floating dtype. Returns that dtype."""
    if not isinstance(params, (list, tuple)) or not params:
        raise TypeError(f"{pname} must be the non-empty list of (W, b) pairs from {init}, got {type(params).__name__}")
    dtype = None
    width = None
    for i, layer in enumerate(params):
        if not isinstance(layer, (list, tuple)) or len(layer) != 2 or \
                not all(hasattr(a, "shape") and hasattr(a, "dtype") for a in layer):
            raise TypeError(f"{pname}[{i}] must be a pair (W, b) of arrays (from {init}), got {_layer_text(layer)}")
        w, b = layer
        if len(w.shape) != 2 or len(b.shape) != 1 or b.shape[0] != w.shape[1]:
            raise ValueError(
                f"{pname}[{i}] must be a pair (W [n_in, n_out], b [n_out]), got W of shape {tuple(w.shape)} and b of "
                f"shape {tuple(b.shape)}"
            )
        if width is not None and w.shape[0] != width:
            raise ValueError(
                f"{pname}[{i}] has W of shape {tuple(w.shape)}, but the previous layer outputs {width} values: the "
                f"layer widths of {pname} do not chain; build them with {init}"
            )
        width = w.shape[1]
        for a in layer:
            if not jnp.issubdtype(a.dtype, jnp.floating):
                raise TypeError(f"{pname}[{i}] must hold floating arrays, got dtype {a.dtype}")
            if dtype is not None and a.dtype != dtype:
                raise TypeError(f"{pname} must have one dtype, got {dtype} and {a.dtype} ({pname}[{i}])")
            dtype = a.dtype
    return dtype


def _layer_text(layer) -> str:
    if isinstance(layer, (list, tuple)):
        return f"a {type(layer).__name__} of {len(layer)} item(s)"
    return type(layer).__name__


def _as_input(name: str, x, dtype, *, init: str = "init_mlp"):
    """``x`` as an array in the parameters' floating ``dtype``: lists, integers and booleans are converted; a
    floating array of another precision is refused (it would change the network's dtype, or fail under strict
    promotion); concrete inputs must be finite. Only static checks when traced."""
    if not _v.is_traced(x):
        floating = hasattr(x, "dtype") and hasattr(x, "shape") and np.issubdtype(np.dtype(x.dtype), np.floating)
        x = _v.float_array(name, x)  # a NumPy array as JAX would see it (float64 becomes float32 without x64)
        if not floating:  # lists, numbers, integers, booleans: the parameters' dtype
            x = x.astype(dtype)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    if x.dtype != dtype:
        raise TypeError(
            f"{name} has dtype {x.dtype} but the parameters are {dtype}; convert one of them, e.g. "
            f"{name}.astype(jnp.{dtype}) or {init}(..., dtype=jnp.{x.dtype})"
        )
    _v.finite(name, x)
    return x


def _network_input(name: str, x, dtype, n_in: int, *, init: str = "init_mlp"):
    """``x`` as an array [..., n_in] in the parameters' ``dtype`` (see :func:`_as_input`)."""
    x = _as_input(name, x, dtype, init=init)
    shape = x.shape
    if len(shape) < 1 or shape[-1] != n_in:
        raise ValueError(f"{name} must have shape [..., n_in={n_in}] (the last axis holds the inputs), got {shape}")
    return x


def _check_inputs(params, x, name: str = "x", init: str = "init_mlp", pname: str = "params"):
    """The network's parameters and its input: static checks always, finiteness of concrete values."""
    dtype = _check_layers(params, init, pname)
    x = _network_input(name, x, dtype, params[0][0].shape[0], init=init)
    _v.finite_tree(pname, params, hint=f"; re-initialize them ({init}) or lower the learning rate of the fit")
    return x


def _mlp(params, x, *, name: str = "x", init: str = "init_mlp", pname: str = "params"):
    """:func:`mlp` with the names used in messages (the input's, the parameters', the initializer's)."""
    x = _check_inputs(params, x, name, init, pname)
    for w, b in params[:-1]:
        x = jnp.tanh(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def mlp(params, x: jax.Array) -> jax.Array:
    r"""Apply the network: tanh on hidden layers, linear output.

    Args:
      params: list of ``(W, b)`` pairs from :func:`init_mlp`.
      x: float[..., n_in] inputs (any leading batch shape, or none), in the parameters' dtype (lists and
        integer arrays are converted to it).

    Returns:
      float[..., n_out] outputs, in the parameters' dtype.

    Raises:
      TypeError: ``params`` not a list of ``(W, b)`` pairs of one floating dtype; ``x`` not numeric, or a
        floating array of another dtype than the parameters.
      ValueError: ``x`` whose last axis is not n_in, or ``params`` whose layer widths do not chain (static
        checks, made under ``jit`` too); an inf or nan in a concrete ``x`` or ``params``.
    """
    return _mlp(params, x)


def mse_loss(params, x: jax.Array, y: jax.Array) -> jax.Array:
    r"""Half mean squared error, :math:`E = \frac{1}{2n}\sum_i \lVert f(x_i) - y_i\rVert^2`.

    Args:
      params: network parameters.
      x: float[n, n_in] inputs; y: float[n, n_out] targets (lists and integers are converted to the parameters'
        dtype).

    Returns:
      float[] the loss.

    Raises:
      TypeError: as for :func:`mlp`, and ``y`` not numeric or a floating array of another dtype than the
        parameters.
      ValueError: as for :func:`mlp`; ``y`` not of the network output's shape [n, n_out] (for example ``[n]``
        instead of ``[n, 1]``, which would broadcast to an [n, n] residual and a wrong loss); an inf or nan in a
        concrete ``y``.
    """
    out = mlp(params, x)
    y = _as_input("y", y, out.dtype)
    if getattr(y, "shape", None) != out.shape:
        raise ValueError(
            f"y must have the shape of the network's output {out.shape}, got {getattr(y, 'shape', None)}; "
            "for one output use y[:, None]"
        )

    residual = out - y
    return 0.5 * jnp.mean(jnp.sum(residual**2, axis=-1))


class AdamState(NamedTuple):
    """State of :func:`adam_kernel`: the ``params`` (any pytree), optax's ``opt_state`` and the step
    ``count`` (int32[])."""

    params: Any
    opt_state: Any
    count: jax.Array


class AdamInfo(NamedTuple):
    """What one Adam step saw at the parameters it started from: the ``loss`` (float[]), the global
    ``grad_norm`` (float[]) and ``aux`` (the loss function's auxiliary output, or None)."""

    loss: jax.Array
    grad_norm: jax.Array
    aux: Any


def _optax_update(optimizer, grads, opt_state, params):
    """``optimizer.update`` under standard dtype promotion: optax mixes its int32 step counter with Python
    floats (bias corrections, schedules), which JAX's strict promotion mode refuses. The updates keep the
    parameters' dtype either way; the package's own code is checked under strict promotion."""
    with jax.numpy_dtype_promotion("standard"):
        return optimizer.update(grads, opt_state, params)


def _check_loss_fn(loss_fn, params, has_aux: bool) -> None:
    """Static check (valid under jit) that ``loss_fn(params)`` is a scalar, or a pair (scalar, aux) with ``has_aux``;
    and that concrete parameters are finite."""
    _v.finite_tree("params", params)
    out = _v.output_shape("loss_fn", loss_fn, params)
    if has_aux:
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise ValueError(f"loss_fn must return a pair (loss, aux) with has_aux=True, got {_describe_out(out)}; "
                             "pass has_aux=False for a loss alone")
        out = out[0]
    if getattr(out, "shape", None) != ():
        raise ValueError(f"loss_fn must return a scalar loss{' as the first of (loss, aux)' if has_aux else ''}, got "
                         f"{_describe_out(out)}" + ("" if has_aux else "; with auxiliary outputs pass has_aux=True"))


def _describe_out(out) -> str:
    if hasattr(out, "shape"):
        return f"an array of shape {tuple(out.shape)}"
    if isinstance(out, (tuple, list)):
        return f"a {type(out).__name__} of {len(out)}"
    return type(out).__name__


def _check_lr(lr):
    """A concrete learning rate must be finite and > 0 (a traced one is the caller's responsibility)."""
    if _v.is_traced(lr):
        return lr
    return _v.positive_float("lr", lr)


def adam_kernel(loss_fn: Callable, *, lr, n_steps: int, has_aux: bool = False, schedule: str = "cosine") -> Kernel:
    r"""Full-batch Adam as an ``(init, step)`` pair, with a cosine-decaying step (from ``lr`` to 0 over
    ``n_steps``) or a constant one. Traceable: build and run it inside :func:`jax.jit` (``lr`` may be
    traced, ``n_steps`` is static).

    Args:
      loss_fn: ``params -> loss`` (a scalar), or ``params -> (loss, aux)`` with ``has_aux=True``.
      lr: the (peak) learning rate, > 0 (a number, or a traced scalar, which is not checked).
      n_steps: the length of the schedule, >= 1.
      has_aux: whether ``loss_fn`` also returns auxiliary values.
      schedule: ``"cosine"`` (decay to 0 over ``n_steps``) or ``"constant"``.

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(params) -> AdamState`` and
      ``step(state) -> (AdamState, AdamInfo)``.

    Raises:
      TypeError: ``loss_fn`` not callable, ``n_steps`` not an integer, ``has_aux`` not a bool, ``lr`` not a
        number; (from ``init``) ``params`` holding something other than arrays.
      ValueError: ``n_steps`` < 1, a concrete ``lr`` not finite and > 0 (a negative one would ascend), an
        unknown ``schedule``; (from ``init``) ``loss_fn`` failing on ``params`` or not returning a scalar
        (a pair (scalar, aux) with ``has_aux``), an inf or nan in concrete ``params``.
    """
    import optax

    _v.callable_("loss_fn", loss_fn)
    lr = _check_lr(lr)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    has_aux = _v.boolean("has_aux", has_aux)
    schedule = _v.choice("schedule", schedule, ("cosine", "constant"))
    optimizer = optax.adam(optax.cosine_decay_schedule(lr, n_steps) if schedule == "cosine" else lr)

    def init(params) -> AdamState:
        _check_loss_fn(loss_fn, params, has_aux)
        return AdamState(params, optimizer.init(params), jnp.zeros((), jnp.int32))

    def step(state: AdamState):
        value, grads = jax.value_and_grad(loss_fn, has_aux=has_aux)(state.params)
        loss, aux = value if has_aux else (value, None)
        updates, opt_state = _optax_update(optimizer, grads, state.opt_state, state.params)
        info = AdamInfo(loss, optax.tree.norm(grads), aux)
        return AdamState(optax.apply_updates(state.params, updates), opt_state, state.count + 1), info

    return Kernel(init, step)


def adam_scan(loss_fn, params, *, lr, n_steps: int, has_aux: bool = False, schedule: str = "cosine"):
    r"""Minimize ``loss_fn(params)`` by full-batch Adam, as one ``lax.scan`` over :func:`adam_kernel`.

    Meant to be called inside :func:`jax.jit` (``n_steps`` must then be static); the chapters' training
    helpers are thin wrappers around it. It does not raise on a diverged loss (it may be traced); the
    wrappers check the returned history with ``require_finite_history``.

    Args:
      loss_fn: ``params -> loss`` (a scalar), or ``params -> (loss, aux)`` with ``has_aux=True``.
      params: initial parameters (any pytree).
      lr: the (peak) learning rate, > 0 (a number or a traced scalar).
      n_steps: number of Adam steps, >= 1.
      has_aux: whether ``loss_fn`` also returns auxiliary values, recorded at every step.
      schedule: ``"cosine"`` (decay to 0 over ``n_steps``) or ``"constant"``.

    Returns:
      ``(params, history)``: the final parameters and, per step, the loss float[n_steps] (or ``aux``,
      stacked over steps, when ``has_aux``), evaluated before that step's update.

    Raises:
      TypeError: ``loss_fn`` not callable, ``n_steps`` not an integer, ``has_aux`` not a bool, ``params``
        holding something other than arrays.
      ValueError: ``n_steps`` < 1, a concrete ``lr`` not > 0, an unknown ``schedule``, ``loss_fn`` failing on
        ``params`` or not returning a scalar (a pair (scalar, aux) with ``has_aux``), an inf or nan in concrete
        ``params``.
    """
    kernel = adam_kernel(loss_fn, lr=lr, n_steps=n_steps, has_aux=has_aux, schedule=schedule)
    state, _, infos = scan_kernel(kernel.step, kernel.init(params), n_steps, record=lambda s: None)
    return state.params, (infos.aux if has_aux else infos.loss)
