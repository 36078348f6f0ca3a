r"""Fixed-step integrators for ordinary differential equations :math:`\dot x = f(x)`.

Each integrator runs its loop with :func:`jax.lax.scan` under :func:`jax.jit`, and returns every state,
an array of shape ``[n_steps + 1, *x0.shape]`` whose first entry is ``x0``. ``x0`` may have any shape;
``vector_field`` maps an array of that shape to one of the same shape. Compilations are cached per
vector field (the same Python function object), step count and input shape.

* :func:`euler`: explicit Euler, first order, :math:`x_{k+1} = x_k + \Delta t\, f(x_k)`.
* :func:`rk4`: the classical fourth-order Runge–Kutta method (local error :math:`O(\Delta t^5)`).
* :func:`leapfrog`: Störmer–Verlet (kick–drift–kick) for :math:`H = p^2/2m + V(q)`; symplectic and
  time-reversible, second order.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp

from physml_helpers import _validation as _v

__all__ = ["euler", "rk4", "rk4_step", "leapfrog"]


def _euler_step(f, x, dt):
    return x + dt * f(x)


def rk4_step(f, x, dt):
    """One classical Runge–Kutta step of ``x' = f(x)``; unchecked and traceable, the building block of
    :func:`rk4` for integrators written inside other JAX code."""
    k1 = f(x)
    k2 = f(x + 0.5 * dt * k1)
    k3 = f(x + 0.5 * dt * k2)
    k4 = f(x + dt * k3)
    return x + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


@functools.partial(jax.jit, static_argnames=("method", "vector_field", "n_steps"))
def _integrate(method, vector_field, x0, dt, n_steps):
    step = {"euler": _euler_step, "rk4": rk4_step}[method]

    def body(x, _):
        x_next = step(vector_field, x, dt)
        return x_next, x_next

    _, xs = jax.lax.scan(body, x0, None, length=n_steps)
    return jnp.concatenate([x0[None], xs], axis=0)


def _checked(vector_field, x0, dt, n_steps):
    _v.callable_("vector_field", vector_field)
    x0 = _v.float_array("x0", x0)
    dt = _v.positive_float("dt", dt)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    out = jax.eval_shape(vector_field, jax.ShapeDtypeStruct(x0.shape, x0.dtype))
    if getattr(out, "shape", None) != x0.shape:
        raise ValueError(
            f"vector_field must return an array of the shape of x0, {x0.shape}, got {getattr(out, 'shape', out)}"
        )
    return x0, dt, n_steps


def euler(vector_field: Callable, x0, *, dt: float, n_steps: int) -> jax.Array:
    """Explicit Euler: ``n_steps`` steps of size ``dt`` from ``x0``.

    Args:
      vector_field: ``x -> dx/dt``, a JAX-traceable function of one array.
      x0: initial state, any shape.
      dt: step size, > 0.
      n_steps: number of steps, >= 1.

    Returns:
      All states, shape ``[n_steps + 1, *x0.shape]``.
    """
    x0, dt, n_steps = _checked(vector_field, x0, dt, n_steps)
    return _integrate("euler", vector_field, x0, dt, n_steps)


def rk4(vector_field: Callable, x0, *, dt: float, n_steps: int) -> jax.Array:
    """Classical fourth-order Runge–Kutta: ``n_steps`` steps of size ``dt`` from ``x0``.

    Four evaluations of ``vector_field`` per step; arguments and return value as for :func:`euler`.
    """
    x0, dt, n_steps = _checked(vector_field, x0, dt, n_steps)
    return _integrate("rk4", vector_field, x0, dt, n_steps)


@functools.partial(jax.jit, static_argnames=("grad_potential", "n_steps"))
def _leapfrog(grad_potential, q0, p0, dt, n_steps, mass):
    def body(carry, _):
        q, p = carry
        p_half = p - 0.5 * dt * grad_potential(q)
        q_next = q + dt * p_half / mass
        p_next = p_half - 0.5 * dt * grad_potential(q_next)
        return (q_next, p_next), (q_next, p_next)

    _, (qs, ps) = jax.lax.scan(body, (q0, p0), None, length=n_steps)
    return jnp.concatenate([q0[None], qs], axis=0), jnp.concatenate([p0[None], ps], axis=0)


def leapfrog(grad_potential: Callable, q0, p0, *, dt: float, n_steps: int, mass: float = 1.0):
    r"""Störmer–Verlet (leapfrog, kick–drift–kick) for :math:`H = p^2/2m + V(q)`.

    One step: :math:`p_{1/2} = p - \tfrac{\Delta t}{2}\nabla V(q)`, :math:`q' = q + \Delta t\,p_{1/2}/m`,
    :math:`p' = p_{1/2} - \tfrac{\Delta t}{2}\nabla V(q')`. The map is symplectic and time-reversible; its
    energy error stays bounded (it conserves a nearby modified Hamiltonian) instead of drifting.

    Args:
      grad_potential: ``q -> dV/dq``, a JAX-traceable function returning an array of the shape of ``q``.
      q0, p0: initial positions and momenta, arrays of one shape.
      dt: step size, > 0.
      n_steps: number of steps, >= 1.
      mass: the mass :math:`m`, > 0 (a scalar, or an array broadcasting against ``q0``).

    Returns:
      ``(q, p)``, each of shape ``[n_steps + 1, *q0.shape]``.
    """
    _v.callable_("grad_potential", grad_potential)
    q0 = _v.float_array("q0", q0)
    p0 = _v.float_array("p0", p0)
    if q0.shape != p0.shape:
        raise ValueError(f"q0 and p0 must have the same shape, got {q0.shape} and {p0.shape}")
    dt = _v.positive_float("dt", dt)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    mass_arr = _v.float_array("mass", mass)
    if not bool(jnp.all(mass_arr > 0)):
        raise ValueError(f"mass must be > 0, got {mass!r}")
    out = jax.eval_shape(grad_potential, jax.ShapeDtypeStruct(q0.shape, q0.dtype))
    if getattr(out, "shape", None) != q0.shape:
        raise ValueError(f"grad_potential must return an array of the shape of q0, {q0.shape}, got {getattr(out, 'shape', out)}")
    return _leapfrog(grad_potential, q0, p0, dt, n_steps, mass_arr.astype(q0.dtype))
