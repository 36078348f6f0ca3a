r"""Fixed-step integrators for ordinary differential equations :math:`\dot x = f(x)` (chapters 9, 13, 16).

Each method is an ``(init, step)`` pair (:func:`euler_kernel`, :func:`rk4_kernel`,
:func:`leapfrog_kernel`; see :class:`~physml_helpers.Kernel`) and a convenience function of the same
name that runs it in one :func:`jax.lax.scan` under :func:`jax.jit` and returns every state, an array of
shape ``[n_steps + 1, *x0.shape]`` whose first entry is ``x0``. ``x0`` may have any shape;
``vector_field`` maps an array of that shape to one of the same shape. Compilations are cached per
vector field (the same Python function object: a fresh ``lambda`` on every call compiles every time),
step count and input shape; the step size is traced, so changing it does not recompile.

* :func:`euler`: explicit Euler, first order, :math:`x_{k+1} = x_k + \Delta t\, f(x_k)`.
* :func:`rk4`: the classical fourth-order Runge–Kutta method (local error :math:`O(\Delta t^5)`).
* :func:`leapfrog`: Störmer–Verlet (kick–drift–kick) for :math:`H = p^2/2m + V(q)`; symplectic and
  time-reversible, second order.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from physml_helpers import _validation as _v
from physml_helpers._kernels import Kernel, scan_kernel

__all__ = [
    "ODEState", "LeapfrogState", "IntegratorInfo",
    "euler_step", "rk4_step", "euler_kernel", "rk4_kernel", "leapfrog_kernel", "euler", "rk4", "leapfrog",
]


class ODEState(NamedTuple):
    """State of :func:`euler_kernel` and :func:`rk4_kernel`: the current point ``x`` (float[...])."""

    x: jax.Array


class LeapfrogState(NamedTuple):
    """State of :func:`leapfrog_kernel`: positions ``q`` and momenta ``p``, arrays of one shape."""

    q: jax.Array
    p: jax.Array


class IntegratorInfo(NamedTuple):
    """What one fixed step produced: ``finite`` (bool[]), whether every entry of the new state is finite.
    A fixed-step method has no error estimate; a step that overflows (an unstable step size) is the one
    thing it can report."""

    finite: jax.Array


def _field_output(f, x):
    out = f(x)
    if getattr(out, "shape", None) != x.shape:
        raise ValueError(
            f"f (the vector field) must return an array of the shape of the state x, {x.shape}, "
            f"got {getattr(out, 'shape', type(out).__name__)}"
        )
    return out


def _step_args(f, x, dt):
    """Checks of the traceable one-step functions: static ones always (a callable ``f``, a floating ``x``), value
    ones (finite ``x`` and ``dt``, lists converted) only for concrete arguments."""
    _v.callable_("f", f)
    if _v.is_traced(x):
        if not jnp.issubdtype(x.dtype, jnp.floating):
            raise TypeError(f"x must be an array of real floating numbers, got dtype {x.dtype}")
    else:
        x = _v.float_array("x", x, finite=True, nonempty=True)
    dt = _v.traced_or_real("dt", dt)
    return x, dt


def euler_step(f: Callable, x, dt):
    """One explicit Euler step of ``x' = f(x)``: ``x + dt f(x)``; traceable, for use inside other JAX code.

    Args:
      f: vector field, an array of ``x``'s shape to one of the same shape.
      x: float[...] the state; dt: the step (a number or traced scalar).

    Returns:
      float[...] the new state, the shape and dtype of ``x``.

    Raises:
      TypeError: ``f`` not callable, ``x`` not an array of real numbers, ``dt`` not a number.
      ValueError: ``f(x)`` has a shape other than ``x``'s (a static check, made while tracing too); a concrete
        ``x`` empty or with an inf or nan entry; a concrete ``dt`` not finite.
    """
    x, dt = _step_args(f, x, dt)
    return x + dt * _field_output(f, x)


def rk4_step(f: Callable, x, dt):
    """One classical Runge–Kutta step of ``x' = f(x)``; traceable, the building block of :func:`rk4` for
    integrators written inside other JAX code.

    Args:
      f: vector field, an array of ``x``'s shape to one of the same shape.
      x: float[...] the state; dt: the step (a number or traced scalar).

    Returns:
      float[...] the new state, the shape and dtype of ``x``.

    Raises:
      TypeError: ``f`` not callable, ``x`` not an array of real numbers, ``dt`` not a number.
      ValueError: ``f(x)`` has a shape other than ``x``'s (a static check, made while tracing too); a concrete
        ``x`` empty or with an inf or nan entry; a concrete ``dt`` not finite.
    """
    x, dt = _step_args(f, x, dt)
    k1 = _field_output(f, x)
    k2 = f(x + 0.5 * dt * k1)
    k3 = f(x + 0.5 * dt * k2)
    k4 = f(x + dt * k3)
    return x + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


_STEPS = {"euler": euler_step, "rk4": rk4_step}


@functools.partial(jax.jit, static_argnames=("method", "vector_field"))
def _ode_step(state: ODEState, method, vector_field, dt):
    x = _STEPS[method](vector_field, state.x, dt).astype(state.x.dtype)
    return ODEState(x), IntegratorInfo(jnp.all(jnp.isfinite(x)))


@functools.partial(jax.jit, static_argnames=("method", "vector_field", "n_steps"))
def _integrate(method, vector_field, x0, dt, n_steps):
    step = functools.partial(_ode_step, method=method, vector_field=vector_field, dt=dt)
    _, xs, _ = scan_kernel(step, ODEState(x0), n_steps, record=lambda s: s.x)
    return jnp.concatenate([x0[None], xs], axis=0)


def _check_field(vector_field, x0):
    _v.output_shape("vector_field", vector_field, x0, expected=x0.shape, what=" (the shape of x0)")


def _ode_kernel(method, vector_field, dt) -> Kernel:
    _v.callable_("vector_field", vector_field)
    dt = _v.positive_float("dt", dt)

    def init(x0) -> ODEState:
        x0 = _v.float_array("x0", x0, finite=True, nonempty=True)
        _check_field(vector_field, x0)
        return ODEState(x0)

    return Kernel(init, functools.partial(_ode_step, method=method, vector_field=vector_field, dt=dt))


def euler_kernel(vector_field: Callable, *, dt: float) -> Kernel:
    """Explicit Euler as an ``(init, step)`` pair.

    Args:
      vector_field: ``x -> dx/dt``, a JAX-traceable function of one array.
      dt: step size, > 0 (traced: changing it does not recompile).

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(x0) -> ODEState`` and
      ``step(state) -> (ODEState, IntegratorInfo)``.

    Raises:
      TypeError: ``vector_field`` not callable, ``dt`` not a number; (from ``init``) ``x0`` not numeric.
      ValueError: ``dt`` not > 0; (from ``init``) ``x0`` empty or with an inf or nan entry, ``vector_field``
        output shape differs from ``x0``'s.
    """
    return _ode_kernel("euler", vector_field, dt)


def rk4_kernel(vector_field: Callable, *, dt: float) -> Kernel:
    """The classical fourth-order Runge–Kutta method as an ``(init, step)`` pair.

    Args:
      vector_field: ``x -> dx/dt``, a JAX-traceable function of one array.
      dt: step size, > 0 (traced: changing it does not recompile).

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(x0) -> ODEState`` and
      ``step(state) -> (ODEState, IntegratorInfo)``.

    Raises:
      TypeError: ``vector_field`` not callable, ``dt`` not a number; (from ``init``) ``x0`` not numeric.
      ValueError: ``dt`` not > 0; (from ``init``) ``x0`` empty or with an inf or nan entry, ``vector_field``
        output shape differs from ``x0``'s.
    """
    return _ode_kernel("rk4", vector_field, dt)


def _run(method, vector_field, x0, dt, n_steps):
    _v.callable_("vector_field", vector_field)
    x0 = _v.float_array("x0", x0, finite=True, nonempty=True)
    dt = _v.positive_float("dt", dt)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    _check_field(vector_field, x0)
    return _integrate(method, vector_field, x0, dt, n_steps)


def euler(vector_field: Callable, x0, *, dt: float, n_steps: int) -> jax.Array:
    """Explicit Euler: ``n_steps`` steps of size ``dt`` from ``x0`` (:func:`euler_kernel` in one scan).

    Args:
      vector_field: ``x -> dx/dt``, a JAX-traceable function of one array.
      x0: float[...] initial state, any shape.
      dt: step size, > 0.
      n_steps: number of steps, >= 1.

    Returns:
      float[n_steps + 1, *x0.shape]: all states, starting with ``x0``, in the dtype of ``x0``.

    Raises:
      TypeError: ``vector_field`` not callable, ``x0`` not numeric, ``dt`` not a number, ``n_steps`` not an
        integer.
      ValueError: ``dt`` not > 0, ``n_steps`` < 1, ``x0`` empty or with an inf or nan entry, ``vector_field``
        output shape differing from ``x0``'s.
    """
    return _run("euler", vector_field, x0, dt, n_steps)


def rk4(vector_field: Callable, x0, *, dt: float, n_steps: int) -> jax.Array:
    """Classical fourth-order Runge–Kutta: ``n_steps`` steps of size ``dt`` from ``x0`` (:func:`rk4_kernel`
    in one scan); four evaluations of ``vector_field`` per step.

    Args:
      vector_field: ``x -> dx/dt``, a JAX-traceable function of one array.
      x0: float[...] initial state, any shape.
      dt: step size, > 0.
      n_steps: number of steps, >= 1.

    Returns:
      float[n_steps + 1, *x0.shape]: all states, starting with ``x0``, in the dtype of ``x0``.

    Raises:
      TypeError: ``vector_field`` not callable, ``x0`` not numeric, ``dt`` not a number, ``n_steps`` not an
        integer.
      ValueError: ``dt`` not > 0, ``n_steps`` < 1, ``x0`` empty or with an inf or nan entry, ``vector_field``
        output shape differing from ``x0``'s.
    """
    return _run("rk4", vector_field, x0, dt, n_steps)


@functools.partial(jax.jit, static_argnames=("grad_potential",))
def _leapfrog_step(state: LeapfrogState, grad_potential, dt, mass):
    q, p = state
    p_half = p - 0.5 * dt * grad_potential(q).astype(p.dtype)
    q_next = q + dt * p_half / mass
    p_next = p_half - 0.5 * dt * grad_potential(q_next).astype(p.dtype)
    finite = jnp.all(jnp.isfinite(q_next)) & jnp.all(jnp.isfinite(p_next))
    return LeapfrogState(q_next, p_next), IntegratorInfo(finite)


@functools.partial(jax.jit, static_argnames=("grad_potential", "n_steps"))
def _leapfrog(grad_potential, q0, p0, dt, n_steps, mass):
    step = functools.partial(_leapfrog_step, grad_potential=grad_potential, dt=dt, mass=mass)
    _, (qs, ps), _ = scan_kernel(step, LeapfrogState(q0, p0), n_steps, record=tuple)
    return jnp.concatenate([q0[None], qs], axis=0), jnp.concatenate([p0[None], ps], axis=0)


def _check_mass_values(mass):
    """A mass: an array of real numbers, every (concrete) entry finite and > 0."""
    mass_arr = _v.float_array("mass", mass, finite=True)
    if not _v.is_traced(mass_arr) and not bool(jnp.all(mass_arr > 0)):
        raise ValueError(f"mass must be > 0, got {mass!r}")
    return mass_arr


def _check_mass(mass, q0):
    mass_arr = _check_mass_values(mass)
    try:
        shape = jnp.broadcast_shapes(mass_arr.shape, q0.shape)
    except ValueError:
        shape = None
    if shape != q0.shape:
        raise ValueError(
            f"mass must be a scalar or an array broadcasting against q0 {q0.shape} without enlarging it, got shape "
            f"{mass_arr.shape}"
        )
    return mass_arr.astype(q0.dtype)


def _check_phase_space(grad_potential, q0, p0):
    q0 = _v.float_array("q0", q0, finite=True, nonempty=True)
    p0 = _v.float_array("p0", p0, finite=True, nonempty=True)
    if q0.shape != p0.shape:
        raise ValueError(f"q0 and p0 must have the same shape, got {q0.shape} and {p0.shape}")
    if q0.dtype != p0.dtype:
        raise TypeError(f"q0 and p0 must have one dtype, got {q0.dtype} and {p0.dtype}")
    _v.output_shape("grad_potential", grad_potential, q0, expected=q0.shape, what=" (the shape of q0)")
    return q0, p0


def leapfrog_kernel(grad_potential: Callable, *, dt: float, mass=1.0) -> Kernel:
    r"""Störmer–Verlet (leapfrog, kick–drift–kick) as an ``(init, step)`` pair.

    Args:
      grad_potential: ``q -> dV/dq``, a JAX-traceable function returning an array of the shape of ``q``.
      dt: step size, > 0 (traced).
      mass: the mass :math:`m`, > 0 (a scalar, or an array broadcasting against ``q``).

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(q0, p0) -> LeapfrogState`` and
      ``step(state) -> (LeapfrogState, IntegratorInfo)``.

    Raises:
      TypeError: ``grad_potential`` not callable, ``dt`` or ``mass`` not numbers; (from ``init``) arrays not
        numeric or of different dtypes.
      ValueError: ``dt`` not > 0, a mass <= 0 or not finite; (from ``init``) ``q0``, ``p0`` of different
        shapes, empty or with an inf or nan entry, a ``grad_potential`` output of another shape; (from ``step``)
        a mass not broadcasting against ``q`` (or enlarging it).
    """
    _v.callable_("grad_potential", grad_potential)
    dt = _v.positive_float("dt", dt)
    _check_mass_values(mass)

    def init(q0, p0) -> LeapfrogState:
        return LeapfrogState(*_check_phase_space(grad_potential, q0, p0))

    def step(state: LeapfrogState):
        mass_arr = _check_mass(mass, state.q)
        return _leapfrog_step(state, grad_potential=grad_potential, dt=dt, mass=mass_arr)

    return Kernel(init, step)


def leapfrog(grad_potential: Callable, q0, p0, *, dt: float, n_steps: int, mass=1.0):
    r"""Störmer–Verlet (leapfrog, kick–drift–kick) for :math:`H = p^2/2m + V(q)`.

    One step: :math:`p_{1/2} = p - \tfrac{\Delta t}{2}\nabla V(q)`, :math:`q' = q + \Delta t\,p_{1/2}/m`,
    :math:`p' = p_{1/2} - \tfrac{\Delta t}{2}\nabla V(q')`. The map is symplectic and time-reversible; its
    energy error stays bounded (it conserves a nearby modified Hamiltonian) instead of drifting. Runs
    :func:`leapfrog_kernel` in one scan.

    Args:
      grad_potential: ``q -> dV/dq``, a JAX-traceable function returning an array of the shape of ``q``.
      q0, p0: initial positions and momenta, float arrays of one shape and dtype.
      dt: step size, > 0.
      n_steps: number of steps, >= 1.
      mass: the mass :math:`m`, > 0 (a scalar, or an array broadcasting against ``q0``).

    Returns:
      ``(q, p)``, each float[n_steps + 1, *q0.shape], starting with ``q0`` and ``p0``.

    Raises:
      TypeError: ``grad_potential`` not callable, arrays not numeric or of different dtypes, ``dt`` not a
        number, ``n_steps`` not an integer.
      ValueError: ``q0`` and ``p0`` of different shapes, empty or with an inf or nan entry, ``dt`` not > 0,
        ``n_steps`` < 1, a mass <= 0, not finite or not broadcasting against ``q0`` (or enlarging it), a
        ``grad_potential`` output of another shape.
    """
    _v.callable_("grad_potential", grad_potential)
    q0, p0 = _check_phase_space(grad_potential, q0, p0)
    dt = _v.positive_float("dt", dt)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    return _leapfrog(grad_potential, q0, p0, dt, n_steps, _check_mass(mass, q0))
