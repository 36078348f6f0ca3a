r"""Chaos and its forecast by a reservoir computer (chapter 12).

* :func:`lorenz_rhs`: the Lorenz-63 vector field :math:`\dot x = \sigma(y - x)`, :math:`\dot y = x(\rho - z) - y`,
  :math:`\dot z = xy - \beta z`; its divergence is the constant :math:`-(\sigma + 1 + \beta)`, so the Lyapunov
  exponents sum to it exactly.
* :func:`lyapunov_spectrum`: every Lyapunov exponent of a flow by Benettin's method (tangent vectors carried
  by the linearized fourth-order Runge–Kutta step of :func:`physml_helpers.integrators.rk4_step`,
  re-orthonormalized by a QR decomposition after every step); :func:`map_lyapunov_exponent` the largest
  exponent of a discrete map (used for a reservoir running on its own).
* An echo-state network {Jaeger and Haas 2004; Pathak et al. 2017, 2018}: :func:`init_reservoir` draws a
  sparse random recurrent matrix scaled to a chosen spectral radius, :func:`drive_reservoir` runs it on an
  input series, :func:`fit_readout` fits the only trained part, a linear readout, by ridge regression, and
  :func:`forecast` closes the loop (the readout's output becomes the next input). :func:`valid_time` is the
  first time the normalized forecast error exceeds a threshold.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v
from physml_helpers.integrators import rk4_step

__all__ = [
    "lorenz_rhs", "lyapunov_spectrum", "map_lyapunov_exponent", "Reservoir", "init_reservoir", "reservoir_features",
    "drive_reservoir", "fit_readout", "forecast", "valid_time",
]


def lorenz_rhs(x, sigma: float = 10.0, rho: float = 28.0, beta: float = 8.0 / 3.0):
    r"""The Lorenz-63 vector field {Lorenz 1963}; traceable.

    .. math:: \dot x = \sigma(y - x),\quad \dot y = x(\rho - z) - y,\quad \dot z = xy - \beta z .

    Args:
      x: float[..., 3] the state(s) (x, y, z).
      sigma, rho, beta: the parameters (default: the classic 10, 28, 8/3).

    Returns:
      float[..., 3] the time derivative, the dtype of ``x``.

    Raises:
      ValueError: the last axis of ``x`` is not of length 3.
    """
    if _v.is_traced(x):
        arr = x
    else:
        arr = _v.float_array("x", x, finite=True, nonempty=True)
    if arr.shape[-1:] != (3,):
        raise ValueError(f"x must have a last axis of length 3 (x, y, z), got shape {arr.shape}")
    a, b, c = arr[..., 0], arr[..., 1], arr[..., 2]
    return jnp.stack([sigma * (b - a), a * (rho - c) - b, a * b - beta * c], axis=-1).astype(arr.dtype)


@functools.partial(jax.jit, static_argnames=("vector_field", "n_steps", "n_transient"))
def _spectrum(vector_field, x0, dt, n_steps, n_transient):
    d = x0.shape[0]

    def step(carry, _):
        x, q = carry
        flow = lambda y: rk4_step(vector_field, y, dt)  # noqa: E731
        x_new, push = jax.linearize(flow, x)
        q_new, r = jnp.linalg.qr(jax.vmap(push, in_axes=1, out_axes=1)(q))
        signs = jnp.sign(jnp.diag(r))
        return (x_new, q_new * signs), jnp.log(jnp.abs(jnp.diag(r)))

    q0 = jnp.eye(d, dtype=x0.dtype)
    carry = (x0, q0)
    if n_transient:
        carry, _ = jax.lax.scan(step, carry, None, length=n_transient)
    (x_end, _), logs = jax.lax.scan(step, carry, None, length=n_steps)
    return jnp.sum(logs, axis=0) / (n_steps * dt), jnp.all(jnp.isfinite(x_end))


def lyapunov_spectrum(vector_field: Callable, x0, *, dt: float, n_steps: int, n_transient: int = 0):
    r"""All Lyapunov exponents of :math:`\dot{\mathbf x} = \mathbf f(\mathbf x)` by Benettin's QR method.

    :math:`d` tangent vectors follow the linearized RK4 step (``jax.linearize``); after each step a QR
    decomposition re-orthonormalizes them, and :math:`\lambda_i = \frac{1}{n\Delta t}\sum_k \ln |R^{(k)}_{ii}|`.
    Their sum is the time average of :math:`\nabla\cdot\mathbf f` (exactly :math:`-(\sigma + 1 + \beta)` for
    Lorenz-63), up to the RK4 error of the step.

    Args:
      vector_field: ``x -> dx/dt``, traceable, float[d] to float[d] (the same function object reuses the
        compilation).
      x0: float[d] starting point, or float[B, d] a batch of independent starting points (run under vmap).
      dt: step, > 0.
      n_steps: counted steps, >= 1.
      n_transient: steps run first and not counted, >= 0.

    Returns:
      float[d] (float[B, d] for a batch) the exponents in decreasing order, in 1/time.

    Raises:
      TypeError: ``vector_field`` not callable, ``x0`` not real, ``dt`` not a number, counts not integers.
      ValueError: ``x0`` not 1-D or 2-D or not finite, ``dt`` <= 0, ``n_steps`` < 1, ``n_transient`` < 0, the field
        returning another shape, or the trajectory leaving the finite numbers.
    """
    _v.callable_("vector_field", vector_field)
    x0 = _v.float_array("x0", x0, finite=True, nonempty=True)
    if x0.ndim not in (1, 2):
        raise ValueError(f"x0 must be one point [d] or a batch [B, d], got shape {x0.shape}")
    dt = _v.positive_float("dt", dt)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    n_transient = _v.count("n_transient", n_transient, minimum=0)
    point = x0 if x0.ndim == 1 else x0[0]
    _v.output_shape("vector_field", vector_field, point, expected=point.shape, what=" (the shape of a state)")
    step = x0.dtype.type(dt)
    run = lambda x: _spectrum(vector_field, x, step, n_steps, n_transient)  # noqa: E731
    lam, finite = run(x0) if x0.ndim == 1 else jax.vmap(run)(x0)
    if not bool(jnp.all(finite)):
        raise ValueError("the trajectory left the finite numbers: reduce dt or start on the attractor")
    return lam


class Reservoir(NamedTuple):
    """An echo-state network: recurrent matrix ``w`` (float[n, n]), input matrix ``w_in`` (float[n, d]) and
    bias ``bias`` (float[n]). The state obeys :math:`r_{t+1} = \\tanh(W r_t + W_{\\rm in} u_t + b)`."""

    w: jax.Array
    w_in: jax.Array
    bias: jax.Array


def init_reservoir(key, n_inputs: int, n_reservoir: int, *, spectral_radius: float, input_scale: float = 0.1,
                   degree: float = 3.0, bias_scale: float = 0.0, dtype=None) -> Reservoir:
    r"""Draw a random reservoir in the manner of Pathak et al.: a sparse Erdős–Rényi recurrent matrix
    (mean degree ``degree``, uniform weights) rescaled to the given spectral radius, and an input matrix
    with one nonzero uniform entry in ``[-input_scale, input_scale]`` per row.

    Args:
      key: a JAX key.
      n_inputs: dimension d of the input, >= 1.
      n_reservoir: number of reservoir units n, >= 2.
      spectral_radius: largest modulus of the eigenvalues of ``w``, > 0.
      input_scale: scale of the input weights, > 0.
      degree: mean number of nonzero entries per row of ``w``, > 0.
      bias_scale: the bias entries are uniform in ``[-bias_scale, bias_scale]``, >= 0.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      :class:`Reservoir`.

    Raises:
      TypeError: ``key`` not a JAX key, counts not integers, scales not numbers.
      ValueError: counts or scales out of range.
    """
    _v.key(key)
    n_inputs = _v.count("n_inputs", n_inputs, minimum=1)
    n_reservoir = _v.count("n_reservoir", n_reservoir, minimum=2)
    spectral_radius = _v.positive_float("spectral_radius", spectral_radius)
    input_scale = _v.positive_float("input_scale", input_scale)
    degree = _v.positive_float("degree", degree)
    bias_scale = _v.positive_float("bias_scale", bias_scale, allow_zero=True)
    dtype = _v.float_dtype("dtype", dtype)
    w, w_in, bias = _draw(key, n_inputs, n_reservoir, dtype, min(1.0, degree / n_reservoir), input_scale, bias_scale)
    radius = np.max(np.abs(np.linalg.eigvals(np.asarray(w, dtype=np.float64))))
    if radius == 0:
        raise ValueError("the random recurrent matrix is nilpotent; increase degree or change the key")
    return Reservoir((w * (spectral_radius / radius)).astype(dtype), w_in, bias)


@functools.partial(jax.jit, static_argnames=("n_inputs", "n_reservoir", "dtype"))
def _draw(key, n_inputs, n_reservoir, dtype, density, input_scale, bias_scale):
    k_mask, k_w, k_in, k_col, k_b = jax.random.split(key, 5)
    shape = (n_reservoir, n_reservoir)
    w = jnp.where(jax.random.uniform(k_mask, shape) < density, jax.random.uniform(k_w, shape, minval=-1.0, maxval=1.0), 0.0)
    cols = jax.random.randint(k_col, (n_reservoir,), 0, n_inputs)
    vals = jax.random.uniform(k_in, (n_reservoir,), minval=-1.0, maxval=1.0) * input_scale
    w_in = jax.nn.one_hot(cols, n_inputs) * vals[:, None]
    bias = jax.random.uniform(k_b, (n_reservoir,), minval=-1.0, maxval=1.0) * bias_scale
    return w.astype(dtype), w_in.astype(dtype), bias.astype(dtype)


def reservoir_features(r):
    """The readout's features: the state and its square, ``[r, r**2]`` (the square breaks the odd symmetry
    of tanh, which the Lorenz attractor does not share in z); traceable.

    Args:
      r: float[..., n] reservoir states.

    Returns:
      float[..., 2 n].

    Raises:
      ValueError: ``r`` has no axes.
    """
    if not _v.is_traced(r):
        r = _v.float_array("r", r)
    if r.ndim == 0:
        raise ValueError("r must have a last axis (the reservoir units), got a scalar")
    return jnp.concatenate([r, r * r], axis=-1)


def _check_reservoir(res):
    if not isinstance(res, Reservoir):
        raise TypeError(f"reservoir must be a Reservoir from init_reservoir, got {type(res).__name__}")


@jax.jit
def _drive(res, inputs, r0):
    def step(r, u):
        r = jnp.tanh(res.w @ r + res.w_in @ u + res.bias)
        return r, r

    return jax.lax.scan(step, r0, inputs)[1]


def drive_reservoir(reservoir: Reservoir, inputs, r0=None):
    r"""Run the reservoir open-loop on an input series: :math:`r_{t+1} = \tanh(W r_t + W_{\rm in} u_t + b)`.

    Args:
      reservoir: a :class:`Reservoir`.
      inputs: float[T, d] the inputs :math:`u_0, \dots, u_{T-1}`.
      r0: float[n] the starting state (default zeros).

    Returns:
      float[T, n]: :math:`r_1, \dots, r_T` (row t has seen the inputs up to :math:`u_t`).

    Raises:
      TypeError: ``reservoir`` not a Reservoir, inputs not real.
      ValueError: ``inputs`` not 2-D with d columns, not finite; ``r0`` of the wrong shape.
    """
    _check_reservoir(reservoir)
    inputs = _v.float_array("inputs", inputs, ndim=2, finite=True, nonempty=True)
    n, d = reservoir.w_in.shape
    if inputs.shape[1] != d:
        raise ValueError(f"inputs must have {d} columns (the reservoir's input dimension), got shape {inputs.shape}")
    r0 = jnp.zeros(n, inputs.dtype) if r0 is None else _v.float_array("r0", r0, ndim=1, finite=True)
    if r0.shape != (n,):
        raise ValueError(f"r0 must have shape ({n},), got {r0.shape}")
    return _drive(reservoir, inputs, r0)


def fit_readout(states, targets, *, ridge: float):
    r"""Ridge regression of the readout: :math:`W_{\rm out} = Y^\top \Phi (\Phi^\top\Phi + \lambda I)^{-1}` with
    :math:`\Phi` the features (:func:`reservoir_features`) of ``states``.

    Args:
      states: float[T, n] reservoir states.
      targets: float[T, d] what each state should predict.
      ridge: :math:`\lambda`, >= 0.

    Returns:
      float[d, 2 n] the readout matrix.

    Raises:
      TypeError: arrays not real, ridge not a number.
      ValueError: wrong shapes, non-finite entries, ridge < 0.
    """
    states = _v.float_array("states", states, ndim=2, finite=True, nonempty=True)
    targets = _v.float_array("targets", targets, ndim=2, finite=True, nonempty=True)
    if targets.shape[0] != states.shape[0]:
        raise ValueError(f"targets must have one row per state, got {targets.shape[0]} rows for {states.shape[0]} states")
    ridge = _v.positive_float("ridge", ridge, allow_zero=True)
    phi = reservoir_features(states)
    gram = phi.T @ phi + ridge * jnp.eye(phi.shape[1], dtype=phi.dtype)
    return jnp.linalg.solve(gram, phi.T @ targets).T


@functools.partial(jax.jit, static_argnames=("n_steps",))
def _forecast(res, w_out, r0, n_steps):
    def step(r, _):
        u = w_out @ reservoir_features(r)
        r = jnp.tanh(res.w @ r + res.w_in @ u + res.bias)
        return r, w_out @ reservoir_features(r)

    return jax.lax.scan(step, r0, None, length=n_steps)[1]


def forecast(reservoir: Reservoir, w_out, r0, *, n_steps: int):
    r"""Closed-loop forecast: the readout :math:`\hat u_t = W_{\rm out}\,\phi(r_t)` is fed back as the input.

    Args:
      reservoir: a :class:`Reservoir`.
      w_out: float[d, 2 n] from :func:`fit_readout`.
      r0: float[n] (or float[B, n] for a batch of starts) the state synchronized with the true series, whose
        readout predicts the next point.
      n_steps: number of steps, >= 1.

    Returns:
      float[n_steps, d] (or float[B, n_steps, d]) the predictions :math:`\hat u_{t+1}, \dots`, the first
      being the readout of the state after feeding back :math:`\hat u_t = W_{\rm out}\phi(r_0)`.

    Raises:
      TypeError: ``reservoir`` not a Reservoir; arrays not real.
      ValueError: shapes that do not match, ``n_steps`` < 1.
    """
    _check_reservoir(reservoir)
    n, d = reservoir.w_in.shape
    w_out = _v.float_array("w_out", w_out, ndim=2, finite=True)
    if w_out.shape != (d, 2 * n):
        raise ValueError(f"w_out must have shape ({d}, {2 * n}), got {w_out.shape}")
    r0 = _v.float_array("r0", r0, finite=True)
    if r0.shape[-1:] != (n,) or r0.ndim not in (1, 2):
        raise ValueError(f"r0 must have shape ({n},) or (batch, {n}), got {r0.shape}")
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    if r0.ndim == 1:
        return _forecast(reservoir, w_out, r0, n_steps)
    return jax.vmap(_forecast, in_axes=(None, None, 0, None))(reservoir, w_out, r0, n_steps)


@functools.partial(jax.jit, static_argnames=("map_fn", "n_steps"))
def _map_lyap(map_fn, x0, n_steps):
    def step(carry, _):
        x, u = carry
        x_new, u_new = jax.jvp(map_fn, (x,), (u,))
        norm = jnp.linalg.norm(u_new)
        return (x_new, u_new / norm), jnp.log(norm)

    u0 = jnp.ones_like(x0) / jnp.sqrt(x0.size)
    _, logs = jax.lax.scan(step, (x0, u0), None, length=n_steps)
    return logs


def map_lyapunov_exponent(map_fn: Callable, x0, *, n_steps: int, n_transient: int = 0):
    r"""Largest Lyapunov exponent of a map :math:`x_{k+1} = F(x_k)`, per iteration:
    :math:`\frac1n\sum_k \ln\lVert DF\,u_k\rVert` with the tangent vector renormalized every step.

    Args:
      map_fn: ``x -> F(x)``, traceable, float[d] to float[d].
      x0: float[d] starting point.
      n_steps: counted iterations, >= 1.
      n_transient: iterations not counted, >= 0.

    Returns:
      float[] the exponent per iteration (divide by the time step for a rate).

    Raises:
      TypeError: ``map_fn`` not callable, ``x0`` not real, counts not integers.
      ValueError: ``x0`` not 1-D or not finite, the map returning another shape, counts out of range.
    """
    _v.callable_("map_fn", map_fn)
    x0 = _v.float_array("x0", x0, ndim=1, finite=True, nonempty=True)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    n_transient = _v.count("n_transient", n_transient, minimum=0)
    _v.output_shape("map_fn", map_fn, x0, expected=x0.shape, what=" (the shape of x0)")
    logs = _map_lyap(map_fn, x0, n_transient + n_steps)
    return jnp.mean(logs[n_transient:])


def valid_time(prediction, truth, *, threshold: float = 0.4, scale=None):
    r"""The number of steps before the normalized error :math:`\lVert \hat u_t - u_t\rVert / s` first exceeds
    ``threshold``, with :math:`s` the root-mean-square norm of ``truth`` about its mean (or ``scale``).

    Args:
      prediction, truth: float[..., T, d] of one shape.
      threshold: > 0.
      scale: optional positive number :math:`s`.

    Returns:
      int[...] the number of leading steps with error below the threshold (T if it never exceeds it).

    Raises:
      TypeError: arrays not real.
      ValueError: shapes differ, fewer than 2 axes, threshold or scale not > 0.
    """
    prediction = _v.float_array("prediction", prediction)
    truth = _v.float_array("truth", truth)
    if prediction.shape != truth.shape or truth.ndim < 2:
        raise ValueError(f"prediction and truth must have one shape [..., T, d], got {prediction.shape} and {truth.shape}")
    threshold = _v.positive_float("threshold", threshold)
    if scale is None:
        flat = truth.reshape(-1, truth.shape[-1])
        scale = jnp.sqrt(jnp.mean(jnp.sum((flat - flat.mean(axis=0)) ** 2, axis=-1)))
    else:
        scale = _v.positive_float("scale", scale)
    return _valid(prediction, truth, jnp.asarray(scale, truth.dtype), jnp.asarray(threshold, truth.dtype))


@jax.jit
def _valid(prediction, truth, scale, threshold):
    bad = jnp.linalg.norm(prediction - truth, axis=-1) / scale > threshold
    return jnp.where(bad.any(axis=-1), jnp.argmax(bad, axis=-1), truth.shape[-2])
