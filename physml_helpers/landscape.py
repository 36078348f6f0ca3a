r"""Descent on an energy landscape: gradient descent, gradient flow and smoothness (chapter 1).

A loss :math:`E(\theta)` is read as a potential energy. Gradient flow is overdamped motion in it,

.. math:: \dot\theta = -\nabla E(\theta), \qquad \frac{dE}{dt} = -\lVert\nabla E\rVert^2 \le 0,

and gradient descent is the forward-Euler discretisation of that flow with step (learning rate)
:math:`\alpha`. On a :math:`\beta`-smooth landscape the step is stable for :math:`0 < \alpha < 2/\beta`.

All functions take a gradient callable ``grad_fn(theta) -> array of theta's shape`` and work for any
parameter shape. Output dtypes follow the input ``theta0``; float64 is the caller's choice
(``setup_notebook(float64=True)``).
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v

__all__ = ["gradient_descent", "gradient_flow", "smoothness_constant"]

GradFn = Callable[[jax.Array], jax.Array]


def _check_grad_fn(grad_fn: GradFn, theta0: jax.Array) -> None:
    """Evaluate ``grad_fn`` abstractly once, so a shape mismatch is reported before tracing."""
    _v.callable_("grad_fn", grad_fn)
    try:
        out = jax.eval_shape(grad_fn, jax.ShapeDtypeStruct(theta0.shape, theta0.dtype))
    except Exception as err:  # any failure here is the caller's function, say so plainly
        raise ValueError(
            f"grad_fn could not be evaluated on an array of shape {theta0.shape} and dtype "
            f"{theta0.dtype}: {type(err).__name__}: {err}"
        ) from err
    if not hasattr(out, "shape") or out.shape != theta0.shape:
        got = getattr(out, "shape", type(out).__name__)
        raise ValueError(
            f"grad_fn must return an array of the same shape as theta0 {theta0.shape}, got {got}; "
            "the gradient of a scalar loss has one entry per parameter"
        )


@partial(jax.jit, static_argnames=("grad_fn", "n_steps"))
def _descend(grad_fn: GradFn, theta0: jax.Array, lr: jax.Array, n_steps: int) -> jax.Array:
    def step(theta, _):
        theta = theta - lr * grad_fn(theta).astype(theta.dtype)
        return theta, theta

    _, path = jax.lax.scan(step, theta0, None, length=n_steps)
    return jnp.concatenate([theta0[None], path], axis=0)


def gradient_descent(grad_fn: GradFn, theta0, *, lr: float, n_steps: int) -> jax.Array:
    r"""Plain gradient descent, :math:`\theta_{k+1} = \theta_k - \alpha\nabla E(\theta_k)`.

    Args:
      grad_fn: callable returning :math:`\nabla E(\theta)`, same shape as ``theta``.
      theta0: float[...] starting parameters (any shape).
      lr: learning rate :math:`\alpha > 0`.
      n_steps: number of updates, an integer >= 0.

    Returns:
      float[n_steps + 1, ...]: the iterates :math:`\theta_0, \dots, \theta_{n}`, starting with
      ``theta0``. Past the stability window the iterates grow without bound and may reach ``inf``;
      that is the physics, not an error.

    Raises:
      ValueError: non-positive or non-finite ``lr``, negative or non-integer ``n_steps``, or a
        ``grad_fn`` whose output shape differs from ``theta0``'s.
      TypeError: ``grad_fn`` not callable, ``theta0`` not numeric.

    Used in chapter 1 (stability window) and later chapters as the deterministic baseline.
    """
    lr = _v.positive_float("lr", lr)
    n_steps = _v.count("n_steps", n_steps)
    theta0 = _v.float_array("theta0", theta0)
    _check_grad_fn(grad_fn, theta0)
    return _descend(grad_fn, theta0, jnp.asarray(lr, theta0.dtype), n_steps)


# Dormand–Prince 5(4) tableau (Dormand & Prince 1980; Hairer, Nørsett & Wanner, table II.5.2).
_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_B5 = _A[6] + (0.0,)
_B4 = (5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40)
_B_ERR = tuple(b5 - b4 for b5, b4 in zip(_B5, _B4))


def _dopri_step(f, y, h):
    """One Dormand–Prince step of dy/dt = f(y): the 5th-order update and its error estimate."""
    ks = []
    for row in _A:
        yi = y
        for a, k in zip(row, ks):
            if a != 0.0:
                yi = yi + h * a * k
        ks.append(f(yi))
    y_new = y
    err = jnp.zeros_like(y)
    for b, e, k in zip(_B5, _B_ERR, ks):
        if b != 0.0:
            y_new = y_new + h * b * k
        if e != 0.0:
            err = err + h * e * k
    return y_new, err


@partial(jax.jit, static_argnames=("grad_fn", "n_points", "max_steps"))
def _flow(grad_fn, theta0, t_max, rtol, atol, n_points, max_steps):
    dtype = theta0.dtype
    f = lambda y: -grad_fn(y).astype(dtype)  # noqa: E731
    t_out = jnp.linspace(0.0, t_max, n_points, dtype=dtype)
    h_min = 16 * jnp.finfo(dtype).eps * t_max

    def advance(carry, t_target):
        y, t, h = carry

        def cond(state):
            y, t, h, n = state
            return (t < t_target) & (n < max_steps)

        def body(state):
            y, t, h, n = state
            remaining = t_target - t
            h_eff = jnp.minimum(h, remaining)
            y_new, err = _dopri_step(f, y, h_eff)
            scale = atol + rtol * jnp.maximum(jnp.abs(y), jnp.abs(y_new))
            err_norm = jnp.sqrt(jnp.mean((err / scale) ** 2))
            accept = (err_norm <= 1.0) | (h_eff <= h_min)
            # Land exactly on the output time rather than a rounding error short of it.
            t_next = jnp.where(h_eff >= remaining, t_target, t + h_eff)
            factor = jnp.clip(0.9 * jnp.where(err_norm > 0, err_norm, 1e-10) ** -0.2, 0.2, 5.0)
            y = jnp.where(accept, y_new, y)
            t = jnp.where(accept, t_next, t)
            h = jnp.maximum(h_eff * factor, h_min)
            return y, t, h, n + 1

        y, t, h, _ = jax.lax.while_loop(cond, body, (y, t, h, 0))
        return (y, t, h), y

    h0 = jnp.maximum(t_max / (8 * (n_points - 1)), h_min)
    _, ys = jax.lax.scan(advance, (theta0, jnp.zeros((), dtype), h0), t_out[1:])
    return t_out, jnp.concatenate([theta0[None], ys], axis=0)


def gradient_flow(
    grad_fn: GradFn,
    theta0,
    *,
    t_max: float,
    n_points: int,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> tuple[jax.Array, jax.Array]:
    r"""Integrate gradient flow :math:`\dot\theta = -\nabla E(\theta)` accurately.

    An adaptive Dormand–Prince 5(4) Runge–Kutta integrator, so the trajectory is the continuous-time
    flow to within the tolerances, not another discretisation like gradient descent. With the default
    tolerances in float64, the error on a quadratic landscape is below 1e-8 relative to the scale of
    ``theta0``. In float32 the tolerances are raised to about 100 machine epsilons.

    Args:
      grad_fn: callable returning :math:`\nabla E(\theta)`, same shape as ``theta``.
      theta0: float[...] initial parameters.
      t_max: final time > 0 (in units where the learning rate is the time step of GD).
      n_points: number of output times >= 2, evenly spaced from 0 to ``t_max``.
      rtol, atol: relative and absolute error tolerances per step, > 0.

    Returns:
      ``(t, theta)`` with ``t``: float[n_points], ``t[0] = 0``, ``t[-1] = t_max``, and
      ``theta``: float[n_points, ...] the flow at those times (``theta[0] = theta0``).

    Raises:
      ValueError: non-positive ``t_max``, ``rtol`` or ``atol``; ``n_points`` < 2 or not an integer;
        ``grad_fn`` output shape differing from ``theta0``'s.
      TypeError: ``grad_fn`` not callable, ``theta0`` not numeric.
    """
    t_max = _v.positive_float("t_max", t_max)
    n_points = _v.count("n_points", n_points, minimum=2)
    rtol = _v.positive_float("rtol", rtol)
    atol = _v.positive_float("atol", atol)
    theta0 = _v.float_array("theta0", theta0)
    _check_grad_fn(grad_fn, theta0)
    eps = float(jnp.finfo(theta0.dtype).eps)
    rtol = max(rtol, 100 * eps)
    atol = max(atol, 100 * eps * float(jnp.max(jnp.abs(theta0))) if theta0.size else atol)
    as_dtype = lambda x: jnp.asarray(x, theta0.dtype)  # noqa: E731
    return _flow(grad_fn, theta0, as_dtype(t_max), as_dtype(rtol), as_dtype(atol), n_points, 1_000_000)


def smoothness_constant(hessian) -> float:
    r"""The smoothness constant :math:`\beta = \max_i |\lambda_i(H)|` of a Hessian matrix.

    For a twice-differentiable loss, :math:`\beta` bounds how fast the gradient can change,
    :math:`\lVert\nabla E(a) - \nabla E(b)\rVert \le \beta\lVert a - b\rVert` over any region where
    the bound holds for every Hessian; gradient descent is stable for :math:`0 < \alpha < 2/\beta`.

    Args:
      hessian: float[n, n] symmetric matrix (for example ``jax.hessian(loss)(theta)`` reshaped).

    Returns:
      The largest absolute eigenvalue, a Python float.

    Raises:
      ValueError: not a square 2-D matrix, empty, not finite, or not symmetric (beyond round-off).
      TypeError: not numeric.
    """
    h = np.asarray(_v.float_array("hessian", hessian), dtype=np.float64)
    if h.ndim != 2 or h.shape[0] != h.shape[1]:
        raise ValueError(f"hessian must be a square 2-D matrix [n, n], got shape {h.shape}")
    if h.shape[0] == 0:
        raise ValueError("hessian must have at least one row, got shape (0, 0)")
    if not np.all(np.isfinite(h)):
        raise ValueError("hessian must be finite, got inf or nan entries")
    asym = float(np.max(np.abs(h - h.T)))
    scale = float(np.max(np.abs(h)))
    if asym > 1e-5 * scale + 1e-12:
        raise ValueError(
            f"hessian must be symmetric, got max |H - H^T| = {asym:.3g} for entries of size "
            f"{scale:.3g}; a Hessian of a smooth scalar function is always symmetric"
        )
    return float(np.max(np.abs(np.linalg.eigvalsh(0.5 * (h + h.T)))))
