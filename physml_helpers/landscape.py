r"""Descent on an energy landscape (chapter 1) and its critical points (chapters 2 and 3).

A loss :math:`E(\theta)` is read as a potential energy. Gradient flow is overdamped motion in it,

.. math:: \dot\theta = -\nabla E(\theta), \qquad \frac{dE}{dt} = -\lVert\nabla E\rVert^2 \le 0,

and gradient descent is the forward-Euler discretisation of that flow with step (learning rate)
:math:`\alpha`. On a :math:`\beta`-smooth landscape the step is stable for :math:`0 < \alpha < 2/\beta`.

All functions take a gradient callable ``grad_fn(theta) -> array of theta's shape`` and work for any
parameter shape. Output dtypes follow the input ``theta0``; float64 is the caller's choice
(``setup_notebook(float64=True)``).
"""

from __future__ import annotations

import itertools
from functools import partial
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v
from physml_helpers._kernels import Kernel, require_converged, scan_kernel

__all__ = [
    "DescentState",
    "DescentInfo",
    "gradient_descent_kernel",
    "gradient_descent",
    "FlowState",
    "FlowInfo",
    "gradient_flow_kernel",
    "gradient_flow",
    "newton_kernel",
    "smoothness_constant",
    "hessian_spectrum",
    "classify_critical_point",
    "newton_critical_point",
    "GradientNormState",
    "GradientNormInfo",
    "gradient_norm_kernel",
    "minimize_gradient_norm",
    "flatness",
    "random_fourier_landscape",
    "unique_points",
]

GradFn = Callable[[jax.Array], jax.Array]


def _theta0(theta0, name: str = "theta0") -> jax.Array:
    """A starting point: a non-empty floating array whose entries are finite (checked when concrete, so a NaN in one
    component is refused before it spreads through the whole trajectory)."""
    return _v.float_array(name, theta0, finite=True, nonempty=True)


def _check_grad_fn(grad_fn: GradFn, theta0: jax.Array, name: str = "theta0") -> None:
    """Evaluate ``grad_fn`` abstractly once, so a shape mismatch is reported before tracing."""
    _v.output_shape("grad_fn", grad_fn, theta0, expected=theta0.shape,
                    what=f" (the gradient of a scalar has one entry per parameter: the shape of {name})")


# ---------------------------------------------------------------------------------------------------
# Gradient descent
# ---------------------------------------------------------------------------------------------------


class DescentState(NamedTuple):
    """State of :func:`gradient_descent_kernel` and :func:`newton_kernel`: the current parameters ``position``
    (float[...], the shape of ``theta0``)."""

    position: jax.Array


class DescentInfo(NamedTuple):
    r"""What one step of :func:`gradient_descent_kernel` or :func:`newton_kernel` saw:
    ``grad_norm`` = :math:`\lVert\nabla E\rVert` at the position the step started from (float[])."""

    grad_norm: jax.Array


@partial(jax.jit, static_argnames=("grad_fn",))
def _descent_step(state: DescentState, grad_fn: GradFn, lr) -> tuple[DescentState, DescentInfo]:
    theta = state.position
    grad = grad_fn(theta).astype(theta.dtype)
    return DescentState(theta - lr * grad), DescentInfo(jnp.linalg.norm(grad))


def gradient_descent_kernel(grad_fn: GradFn, *, lr: float) -> Kernel:
    r"""Gradient descent :math:`\theta_{k+1} = \theta_k - \alpha\nabla E(\theta_k)` as an ``(init, step)`` pair.

    Args:
      grad_fn: callable returning :math:`\nabla E(\theta)`, same shape as ``theta``.
      lr: learning rate :math:`\alpha > 0` (traced: changing it does not recompile).

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(theta0) -> DescentState`` and
      ``step(state) -> (DescentState, DescentInfo)``.

    Raises:
      TypeError: ``grad_fn`` not callable; ``lr`` not a number; (from ``init``) ``theta0`` not numeric.
      ValueError: ``lr`` not finite and > 0; (from ``init``) ``theta0`` empty or with an inf or nan entry,
        ``grad_fn`` output shape differs from ``theta0``'s.
    """
    _v.callable_("grad_fn", grad_fn)
    lr = _v.positive_float("lr", lr)

    def init(theta0) -> DescentState:
        theta0 = _theta0(theta0)
        _check_grad_fn(grad_fn, theta0)
        return DescentState(theta0)

    return Kernel(init, partial(_descent_step, grad_fn=grad_fn, lr=lr))


@partial(jax.jit, static_argnames=("grad_fn", "n_steps"))
def _descend(grad_fn: GradFn, theta0: jax.Array, lr, n_steps: int) -> jax.Array:
    step = partial(_descent_step, grad_fn=grad_fn, lr=lr)
    _, path, _ = scan_kernel(step, DescentState(theta0), n_steps, record=lambda s: s.position)
    return jnp.concatenate([theta0[None], path], axis=0)


def gradient_descent(grad_fn: GradFn, theta0, *, lr: float, n_steps: int) -> jax.Array:
    r"""Plain gradient descent, :math:`\theta_{k+1} = \theta_k - \alpha\nabla E(\theta_k)`: runs
    :func:`gradient_descent_kernel` in one ``lax.scan``.

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
      ValueError: non-positive or non-finite ``lr``, negative ``n_steps``, ``theta0`` empty or with an inf or
        nan entry (checked when ``theta0`` is concrete), or a ``grad_fn`` whose output shape differs from
        ``theta0``'s.
      TypeError: ``grad_fn`` not callable, ``theta0`` not numeric, ``n_steps`` not an integer.

    Used in chapter 1 (stability window) and later chapters as the deterministic baseline.
    """
    lr = _v.positive_float("lr", lr)
    n_steps = _v.count("n_steps", n_steps)
    theta0 = _theta0(theta0)
    _check_grad_fn(grad_fn, theta0)
    if n_steps == 0:
        return theta0[None]
    return _descend(grad_fn, theta0, lr, n_steps)


# ---------------------------------------------------------------------------------------------------
# Gradient flow: adaptive Dormand-Prince 5(4)
# ---------------------------------------------------------------------------------------------------

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


class FlowState(NamedTuple):
    """State of :func:`gradient_flow_kernel`: ``position`` (float[...]), the ``time`` it is at (float[]) and
    the trial step ``dt`` for the next attempt (float[], adapted to the error tolerance)."""

    position: jax.Array
    time: jax.Array
    dt: jax.Array


class FlowInfo(NamedTuple):
    """What one call of the :func:`gradient_flow_kernel` step did: ``n_steps`` Runge–Kutta attempts
    (int[]), of which ``n_accepted`` were accepted, and ``converged`` (bool[]): whether the target time
    was reached with every accepted step within tolerance. False means the step cap was hit or the step
    size fell to rounding level (a stiff or singular flow); the position is then not the flow's."""

    n_steps: jax.Array
    n_accepted: jax.Array
    converged: jax.Array


@partial(jax.jit, static_argnames=("grad_fn", "max_steps"))
def _flow_step(state: FlowState, t_target, grad_fn, rtol, atol, max_steps: int):
    dtype = state.position.dtype
    f = lambda y: -grad_fn(y).astype(dtype)  # noqa: E731
    t_target = jnp.asarray(t_target, dtype)
    h_min = 16 * jnp.finfo(dtype).eps * jnp.maximum(jnp.abs(t_target), 1.0)

    def cond(carry):
        _, t, _, n, _, stalled = carry
        return (t < t_target) & (n < max_steps) & ~stalled

    def body(carry):
        y, t, h, n, n_acc, _ = carry
        remaining = t_target - t
        h_eff = jnp.minimum(h, remaining)
        y_new, err = _dopri_step(f, y, h_eff)
        scale = atol + rtol * jnp.maximum(jnp.abs(y), jnp.abs(y_new))
        err_norm = jnp.sqrt(jnp.mean((err / scale) ** 2))
        accept = err_norm <= 1.0
        # A rejected step that cannot shrink any further: the tolerance cannot be met, say so.
        stalled = ~accept & (h_eff <= h_min)
        # Land exactly on the output time rather than a rounding error short of it.
        t_next = jnp.where(h_eff >= remaining, t_target, t + h_eff)
        factor = jnp.clip(0.9 * jnp.where(err_norm > 0, err_norm, 1e-10) ** -0.2, 0.2, 5.0)
        y = jnp.where(accept, y_new, y)
        t = jnp.where(accept, t_next, t)
        h = jnp.maximum(h_eff * factor, h_min)
        return y, t, h, n + 1, n_acc + accept.astype(jnp.int32), stalled

    zero = jnp.zeros((), jnp.int32)
    carry = (state.position, state.time, state.dt, zero, zero, jnp.zeros((), bool))
    y, t, h, n, n_acc, stalled = jax.lax.while_loop(cond, body, carry)
    converged = (t >= t_target) & ~stalled & jnp.all(jnp.isfinite(y))
    return FlowState(y, t, h), FlowInfo(n, n_acc, converged)


def _flow_tolerances(theta0, rtol, atol):
    """Floor the tolerances at about 100 machine epsilons of theta0's dtype."""
    eps = float(jnp.finfo(theta0.dtype).eps)
    scale = float(jnp.max(jnp.abs(theta0))) if theta0.size and not _v.is_traced(theta0) else 1.0
    return max(rtol, 100 * eps), max(atol, 100 * eps * scale)


def _warn_if_floored(theta0, rtol) -> None:
    """Say so when ``rtol`` is below what the dtype of ``theta0`` can meet (float32 with the default 1e-10)."""
    floor = 100 * float(jnp.finfo(theta0.dtype).eps)
    if rtol < floor:
        _v.precision_warning("theta0", theta0.dtype, tol_name="rtol", tol=rtol, level=floor,
                             what="; gradient_flow raises its tolerances to about 100 machine epsilons of the state's "
                                  "dtype, so the trajectory is only that accurate")


def gradient_flow_kernel(grad_fn: GradFn, *, rtol: float = 1e-10, atol: float = 1e-12,
                         max_steps: int = 100_000) -> Kernel:
    r"""Gradient flow :math:`\dot\theta = -\nabla E(\theta)` by adaptive Dormand–Prince 5(4), as an
    ``(init, step)`` pair whose step advances the flow to a requested time.

    Args:
      grad_fn: callable returning :math:`\nabla E(\theta)`, same shape as ``theta``.
      rtol, atol: relative and absolute error tolerances per Runge–Kutta step, > 0 (raised to about 100
        machine epsilons of the state's dtype, below which they cannot be met; ``init`` warns when ``rtol`` is
        raised, as it is for float32 with the default 1e-10).
      max_steps: the most Runge–Kutta attempts one call of ``step`` may make, >= 1.

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(theta0) -> FlowState`` (time 0) and
      ``step(state, t_target) -> (FlowState, FlowInfo)``; check ``info.converged``.

    Raises:
      TypeError: ``grad_fn`` not callable, a tolerance not a number, ``max_steps`` not an integer; (from
        ``step``) ``t_target`` not a number.
      ValueError: tolerances not > 0, ``max_steps`` < 1; (from ``init``) ``theta0`` empty or not finite,
        ``grad_fn`` output shape differs; (from ``step``) a concrete ``t_target`` not finite or before the
        state's time.
    """
    _v.callable_("grad_fn", grad_fn)
    rtol = _v.positive_float("rtol", rtol)
    atol = _v.positive_float("atol", atol)
    max_steps = _v.count("max_steps", max_steps, minimum=1)

    def init(theta0) -> FlowState:
        theta0 = _theta0(theta0)
        _check_grad_fn(grad_fn, theta0)
        _warn_if_floored(theta0, rtol)
        return FlowState(theta0, jnp.zeros((), theta0.dtype), jnp.asarray(1e-3, theta0.dtype))

    def step(state: FlowState, t_target) -> tuple[FlowState, FlowInfo]:
        if not _v.is_traced(t_target):
            t_target = _v.real("t_target", t_target)
            if not _v.is_traced(state.time) and t_target < float(state.time):
                raise ValueError(
                    f"t_target must not be before the state's time {float(state.time):.6g}, got {t_target:.6g}; "
                    "gradient flow runs forward in time (start again from init for an earlier time)"
                )
        r, a = _flow_tolerances(state.position, rtol, atol)
        return _flow_step(state, t_target, grad_fn=grad_fn, rtol=r, atol=a, max_steps=max_steps)

    return Kernel(init, step)


@partial(jax.jit, static_argnames=("grad_fn", "n_points", "max_steps"))
def _flow(grad_fn, theta0, t_max, rtol, atol, n_points, max_steps):
    dtype = theta0.dtype
    t_out = jnp.linspace(0.0, t_max, n_points, dtype=dtype)
    h0 = jnp.asarray(t_max / (8 * (n_points - 1)), dtype)

    def advance(state, t_target):
        state, info = _flow_step(state, t_target, grad_fn=grad_fn, rtol=rtol, atol=atol, max_steps=max_steps)
        return state, (state.position, info)

    _, (ys, infos) = jax.lax.scan(advance, FlowState(theta0, jnp.zeros((), dtype), h0), t_out[1:])
    return t_out, jnp.concatenate([theta0[None], ys], axis=0), infos


def gradient_flow(
    grad_fn: GradFn,
    theta0,
    *,
    t_max: float,
    n_points: int,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_steps: int = 100_000,
) -> tuple[jax.Array, jax.Array]:
    r"""Integrate gradient flow :math:`\dot\theta = -\nabla E(\theta)` accurately.

    An adaptive Dormand–Prince 5(4) Runge–Kutta integrator (:func:`gradient_flow_kernel`), so the
    trajectory is the continuous-time flow to within the tolerances, not another discretisation like
    gradient descent. With the default tolerances in float64, the error on a quadratic landscape is
    below 1e-8 relative to the scale of ``theta0``. The defaults assume float64: the tolerances are raised
    to about 100 machine epsilons of ``theta0``'s dtype (1.2e-5 in float32), with a ``UserWarning`` when that
    raises ``rtol`` (float32 with the default ``rtol``). An explicit method needs steps shorter than about
    3/(largest curvature): a very stiff landscape exhausts ``max_steps``, and a flow that blows up in finite
    time cannot be followed past it; then this function raises instead of returning a state that is not the
    flow's.

    Args:
      grad_fn: callable returning :math:`\nabla E(\theta)`, same shape as ``theta``.
      theta0: float[...] initial parameters.
      t_max: final time > 0 (in units where the learning rate is the time step of GD).
      n_points: number of output times >= 2, evenly spaced from 0 to ``t_max``.
      rtol, atol: relative and absolute error tolerances per step, > 0.
      max_steps: the most Runge–Kutta attempts between two output times, >= 1.

    Returns:
      ``(t, theta)`` with ``t``: float[n_points], ``t[0] = 0``, ``t[-1] = t_max``, and
      ``theta``: float[n_points, ...] the flow at those times (``theta[0] = theta0``). Under ``jit`` or
      ``vmap``, where it cannot raise, the rows after a failed interval are NaN.

    Raises:
      ConvergenceError: an interval needed more than ``max_steps`` attempts, the step size fell to rounding
        level without meeting the tolerance, or the state became non-finite (a flow that blows up).
      ValueError: non-positive ``t_max``, ``rtol`` or ``atol``; ``n_points`` < 2; ``max_steps`` < 1;
        ``theta0`` empty or with an inf or nan entry; ``grad_fn`` output shape differing from ``theta0``'s.
      TypeError: ``grad_fn`` not callable, ``theta0`` not numeric, counts not integers.

    Warns:
      UserWarning: ``rtol`` is below 100 machine epsilons of ``theta0``'s dtype (float32 with the default
        ``rtol``) and is raised to that.
    """
    t_max = _v.positive_float("t_max", t_max)
    n_points = _v.count("n_points", n_points, minimum=2)
    rtol = _v.positive_float("rtol", rtol)
    atol = _v.positive_float("atol", atol)
    max_steps = _v.count("max_steps", max_steps, minimum=1)
    theta0 = _theta0(theta0)
    _check_grad_fn(grad_fn, theta0)
    _warn_if_floored(theta0, rtol)
    rtol, atol = _flow_tolerances(theta0, rtol, atol)
    t, raw, info = _flow(grad_fn, theta0, t_max, rtol, atol, n_points, max_steps)
    ok = jnp.concatenate([jnp.ones(1, bool), jnp.cumprod(info.converged).astype(bool)])
    theta = jnp.where(ok.reshape((-1,) + (1,) * theta0.ndim), raw, jnp.nan)

    def message():
        first = int(np.argmin(np.asarray(info.converged)))
        start = float(np.max(np.abs(np.asarray(raw[first]))))  # the last trusted state
        reached = float(np.max(np.abs(np.asarray(raw[first + 1]))))
        if not np.isfinite(reached) or reached > 1e3 * (1.0 + start):
            growth = (f" max|theta| grew to {reached:.3g} from {start:.3g}: the flow blows up (in finite time, "
                      "for a gradient that grows faster than linearly), and there is no state to return past that.")
        else:
            growth = ""
        return (
            f"gradient_flow did not reach t = {float(t[first + 1]):.6g}: {int(info.n_steps[first])} Runge-Kutta "
            f"attempts ({int(info.n_accepted[first])} accepted) with max_steps={max_steps}.{growth} The landscape is "
            "probably stiff (curvature times the time interval very large) or the flow blows up; raise max_steps, "
            "loosen rtol/atol, shorten t_max, or use gradient_descent with a stable learning rate instead"
        )

    require_converged(info.converged, message)
    return t, theta


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
    h = np.asarray(_v.square_matrix("hessian", hessian, symmetric=True,
                                    hint="; a Hessian of a smooth scalar function is always symmetric"), np.float64)
    return float(np.max(np.abs(np.linalg.eigvalsh(0.5 * (h + h.T)))))


def _scalar_fn_check(name: str, fn, theta: jax.Array) -> None:
    _v.output_shape(name, fn, theta, expected=())


def hessian_spectrum(fn: Callable[[jax.Array], jax.Array], theta) -> jax.Array:
    r"""Sorted eigenvalues of the Hessian :math:`\partial^2 f/\partial\theta_i\partial\theta_j` at ``theta``.

    Args:
      fn: scalar function of ``theta``.
      theta: float[...] point (any shape; the Hessian is taken over all entries, flattened).

    Returns:
      float[theta.size] eigenvalues in ascending order.

    Raises:
      ValueError: ``fn`` fails on ``theta`` or does not return a scalar; ``theta`` empty or with an inf or nan
        entry (checked when concrete).
      TypeError: ``fn`` not callable, ``theta`` not numeric.
    """
    theta = _v.float_array("theta", theta, finite=True)
    if theta.size == 0:
        raise ValueError("theta must have at least one entry, got an empty array")
    _scalar_fn_check("fn", fn, theta)
    n = theta.size
    h = jax.hessian(fn)(theta).reshape(n, n)
    return jnp.linalg.eigvalsh(0.5 * (h + h.T))


_KINDS = ("minimum", "maximum", "saddle", "degenerate")


def classify_critical_point(hessian, *, tol: float = 1e-8) -> tuple[str, int]:
    r"""Classify a critical point by the signs of its Hessian's eigenvalues.

    An eigenvalue with :math:`|\lambda| \le` ``tol`` counts as zero: the second-order test is then
    inconclusive and the point is ``"degenerate"``. Otherwise the point is a ``"minimum"`` (all
    positive), a ``"maximum"`` (all negative) or a ``"saddle"`` (both signs; a strict saddle, since it
    has a direction of negative curvature).

    The default ``tol`` assumes float64. Eigenvalues of a float32 Hessian are only known to about
    ``10 * eps32 * max|lambda|`` (1e-6 for eigenvalues of order 1), so with a smaller ``tol`` a zero eigenvalue
    comes out as a small number of either sign: a ``UserWarning`` says so.

    Args:
      hessian: float[n, n] symmetric matrix, or float[n] its eigenvalues.
      tol: threshold >= 0 below which an eigenvalue counts as zero.

    Returns:
      ``(kind, index)``: ``kind`` one of ``"minimum"``, ``"maximum"``, ``"saddle"``,
      ``"degenerate"``; ``index`` the number of eigenvalues below ``-tol`` (the Morse index).

    Raises:
      ValueError: not a square matrix or vector, empty, not finite, not symmetric; negative ``tol``.
      TypeError: not numeric.

    Warns:
      UserWarning: ``tol`` is below the rounding level of the Hessian's dtype (float32 with the default ``tol``).
    """
    tol = _v.positive_float("tol", tol, allow_zero=True)
    h = _v.float_array("hessian", hessian)
    dtype = h.dtype
    if h.ndim == 2:
        h = np.asarray(_v.square_matrix("hessian", h, symmetric=True,
                                        hint="; a Hessian of a smooth function always is"), np.float64)
        eigs = np.linalg.eigvalsh(0.5 * (h + h.T))
    elif h.ndim == 1 and h.size > 0:
        eigs = _v.numpy_array("hessian eigenvalues", h, ndim=1)
    else:
        raise ValueError(
            f"hessian must be a square matrix [n, n] or a vector of its n eigenvalues, got shape {h.shape}"
        )
    level = _v.rounding_level(dtype, float(np.max(np.abs(eigs))))
    if tol < level:
        _v.precision_warning("hessian", dtype, tol_name="tol", tol=tol, level=level,
                             what=": an eigenvalue that is zero may come out on either side of tol")
    index = int(np.sum(eigs < -tol))
    if np.any(np.abs(eigs) <= tol):
        return "degenerate", index
    if index == 0:
        return "minimum", 0
    if index == eigs.size:
        return "maximum", index
    return "saddle", index


@partial(jax.jit, static_argnames=("fn",))
def _newton_step(state: DescentState, fn) -> tuple[DescentState, DescentInfo]:
    theta = state.position
    grad = jax.grad(fn)(theta)
    return DescentState(theta - jnp.linalg.solve(jax.hessian(fn)(theta), grad)), DescentInfo(jnp.linalg.norm(grad))


def newton_kernel(fn: Callable[[jax.Array], jax.Array]) -> Kernel:
    r"""Newton's iteration on :math:`\nabla f = 0`, :math:`\theta \leftarrow \theta - H(\theta)^{-1}\nabla f(\theta)`,
    as an ``(init, step)`` pair.

    Args:
      fn: scalar function of a flat parameter vector.

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(theta0) -> DescentState`` and
      ``step(state) -> (DescentState, DescentInfo)``; ``info.grad_norm`` is taken before the step.

    Raises:
      TypeError: ``fn`` not callable; (from ``init``) ``theta0`` not numeric.
      ValueError: (from ``init``) ``theta0`` not a non-empty flat vector or with an inf or nan entry, ``fn``
        not scalar on it.
    """
    _v.callable_("fn", fn)

    def init(theta0) -> DescentState:
        theta0 = _theta0(theta0)
        if theta0.ndim != 1:
            raise ValueError(f"theta0 must be a flat vector [n], got shape {theta0.shape}")
        _scalar_fn_check("fn", fn, theta0)
        return DescentState(theta0)

    return Kernel(init, partial(_newton_step, fn=fn))


def newton_critical_point(fn: Callable[[jax.Array], jax.Array], theta0, *, n_steps: int = 50) -> tuple[jax.Array, jax.Array]:
    r"""Newton's method on :math:`\nabla f = 0`, which converges to critical points of any index.

    Gradient descent only finds minima; Newton's iteration (:func:`newton_kernel`)
    :math:`\theta \leftarrow \theta - H(\theta)^{-1}\nabla f(\theta)` is attracted to whichever
    critical point is near, saddles and maxima included, so many random starts sample all kinds.
    The function is jit-compatible and can be ``jax.vmap``-ed over starting points. It does not raise
    when a start fails to converge (from most random starts some do, by design): the returned gradient
    norm is the convergence test, and the caller keeps the starts where it is small.

    Args:
      fn: scalar function of a flat parameter vector.
      theta0: float[n] starting point.
      n_steps: Newton iterations, >= 1.

    Returns:
      ``(theta, grad_norm)``: the final point float[n] and :math:`\lVert\nabla f\rVert` there, float[].
      A start that does not converge returns a large or non-finite ``grad_norm``: filter on it.

    Raises:
      ValueError: ``theta0`` not a non-empty flat vector or (when concrete) with an inf or nan entry, ``fn``
        not scalar on it, ``n_steps`` < 1.
      TypeError: ``fn`` not callable, ``theta0`` not numeric, ``n_steps`` not an integer.
    """
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    kernel = newton_kernel(fn)
    return _newton(fn, kernel.init(theta0).position, n_steps)


@partial(jax.jit, static_argnames=("fn", "n_steps"))
def _newton(fn, theta0, n_steps):
    state, _, _ = scan_kernel(partial(_newton_step, fn=fn), DescentState(theta0), n_steps, record=lambda s: None)
    return state.position, jnp.linalg.norm(jax.grad(fn)(state.position))


class GradientNormState(NamedTuple):
    r"""State of :func:`gradient_norm_kernel`: the current point ``position`` (float[n]) and the Levenberg–Marquardt
    ``damping`` :math:`\mu` (float[], in units of the curvature of ``fn`` squared) for the next step."""

    position: jax.Array
    damping: jax.Array


class GradientNormInfo(NamedTuple):
    r"""What one step of :func:`gradient_norm_kernel` saw: ``grad_norm`` = :math:`\lVert\nabla f\rVert` at the
    position the step started from (float[]) and whether the trial step was ``accepted`` (bool[])."""

    grad_norm: jax.Array
    accepted: jax.Array


# The damping moves by this factor per step and stays within these bounds (units: curvature squared).
_LM_FACTOR, _LM_MIN, _LM_MAX = 3.0, 1e-12, 1e12


@partial(jax.jit, static_argnames=("fn",))
def _gradient_norm_step(state: GradientNormState, fn) -> tuple[GradientNormState, GradientNormInfo]:
    theta, mu = state.position, state.damping
    grad_fn = jax.grad(fn)
    g = grad_fn(theta)
    h = jax.hessian(fn)(theta)
    # Gauss–Newton for the residual g(theta) = grad f, whose Jacobian is the Hessian h: (h^2 + mu) delta = -h g.
    trial = theta - jnp.linalg.solve(h @ h + mu * jnp.eye(theta.size, dtype=theta.dtype), h @ g)
    g_norm = jnp.linalg.norm(g)
    accepted = jnp.linalg.norm(grad_fn(trial)) < g_norm  # False for a non-finite trial
    mu = jnp.where(accepted, mu / _LM_FACTOR, mu * _LM_FACTOR)
    new = GradientNormState(jnp.where(accepted, trial, theta), jnp.clip(mu, _LM_MIN, _LM_MAX).astype(theta.dtype))
    return new, GradientNormInfo(g_norm, accepted)


def gradient_norm_kernel(fn: Callable[[jax.Array], jax.Array], *, damping: float = 1e-2) -> Kernel:
    r"""Minimise :math:`\tfrac12\lVert\nabla f(\theta)\rVert^2` by Levenberg–Marquardt steps, as an ``(init, step)``
    pair: a search for critical points of every index.

    The residual is the gradient :math:`g = \nabla f`, its Jacobian the Hessian :math:`H`, and one step is

    .. math:: \theta \leftarrow \theta - (H^2 + \mu I)^{-1} H g,

    accepted only if it lowers :math:`\lVert\nabla f\rVert`. The damping :math:`\mu` is divided by 3 after an
    accepted step and multiplied by 3 after a rejected one, within [1e-12, 1e12]. Large :math:`\mu` gives short
    steps down :math:`\tfrac12\lVert g\rVert^2`; as :math:`\mu \to 0` the step becomes Newton's step
    :math:`-H^{-1}g` on the directions where :math:`H` is not singular, so the last steps converge quadratically,
    also to degenerate critical points whose zero modes leave :math:`H` singular (where plain Newton fails).
    A minimum of :math:`\lVert\nabla f\rVert^2` need not be a critical point, so the gradient norm, reported in
    ``info``, is the test the caller applies.

    Args:
      fn: scalar function of a flat parameter vector.
      damping: initial damping :math:`\mu > 0`, in units of the curvature of ``fn`` squared.

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(theta0) -> GradientNormState`` and
      ``step(state) -> (GradientNormState, GradientNormInfo)``.

    Raises:
      TypeError: ``fn`` not callable, ``damping`` not a number; (from ``init``) ``theta0`` not numeric.
      ValueError: ``damping`` not finite and > 0; (from ``init``) ``theta0`` not a non-empty flat vector or with an
        inf or nan entry, ``fn`` not scalar on it.

    Used in chapter 2 for the census of a small network's critical points.
    """
    _v.callable_("fn", fn)
    damping = _v.positive_float("damping", damping)

    def init(theta0) -> GradientNormState:
        theta0 = _theta0(theta0)
        if theta0.ndim != 1:
            raise ValueError(f"theta0 must be a flat vector [n], got shape {theta0.shape}")
        _scalar_fn_check("fn", fn, theta0)
        return GradientNormState(theta0, jnp.asarray(damping, theta0.dtype))

    return Kernel(init, partial(_gradient_norm_step, fn=fn))


def minimize_gradient_norm(fn: Callable[[jax.Array], jax.Array], theta0, *, n_steps: int = 100,
                           damping: float = 1e-2) -> tuple[jax.Array, jax.Array]:
    r"""Search for a critical point of any index by minimising :math:`\tfrac12\lVert\nabla f\rVert^2`:
    :func:`gradient_norm_kernel` run for ``n_steps`` in one ``lax.scan``.

    Like :func:`newton_critical_point` it is attracted to saddles and maxima as well as minima; unlike it, every
    accepted step lowers :math:`\lVert\nabla f\rVert`, and it converges to degenerate critical points (Hessian
    with exact zero modes, as at the symmetric points of a neural network's loss). It does not raise when a start
    fails to converge: the returned gradient norm is the convergence test, and the caller keeps the starts
    where it is below a stated tolerance. jit-compatible; ``jax.vmap`` it over starting points.

    Args:
      fn: scalar function of a flat parameter vector.
      theta0: float[n] starting point.
      n_steps: Levenberg–Marquardt steps, >= 1.
      damping: initial damping :math:`\mu > 0` (units: curvature squared).

    Returns:
      ``(theta, grad_norm)``: the final point float[n] and :math:`\lVert\nabla f\rVert` there, float[]. A start
      that runs off towards a critical point at infinity, or stalls, returns a grad_norm that is not small.

    Raises:
      ValueError: ``theta0`` not a non-empty flat vector or (when concrete) with an inf or nan entry, ``fn`` not
        scalar on it, ``n_steps`` < 1, ``damping`` not finite and > 0.
      TypeError: ``fn`` not callable, ``theta0`` not numeric, ``n_steps`` not an integer, ``damping`` not a number.
    """
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    kernel = gradient_norm_kernel(fn, damping=damping)
    state = kernel.init(theta0)
    return _minimize_gradient_norm(fn, state.position, state.damping, n_steps)


@partial(jax.jit, static_argnames=("fn", "n_steps"))
def _minimize_gradient_norm(fn, theta0, damping, n_steps):
    step = partial(_gradient_norm_step, fn=fn)
    state, _, _ = scan_kernel(step, GradientNormState(theta0, damping), n_steps, record=lambda s: None)
    return state.position, jnp.linalg.norm(jax.grad(fn)(state.position))


def flatness(fn: Callable[[jax.Array], jax.Array], theta, direction, *, level: float, max_distance: float = 1e3) -> float:
    r"""Width of the region along a line through ``theta`` where ``fn`` stays below ``level``.

    The distances :math:`s_\pm > 0` at which :math:`f(\theta \pm s\,\hat u) = ` ``level`` are found by
    bracketing and bisection, and the width :math:`s_+ + s_-` is returned. This is the flatness
    :math:`F` of Feng & Tu (2021) when ``level`` is a fixed multiple of the loss at ``theta``. For a
    quadratic :math:`f = f_0 + \tfrac12 h s^2` it equals :math:`2\sqrt{2(\text{level} - f_0)/h}`.

    Args:
      fn: scalar function.
      theta: float[...] point with ``fn(theta) < level``.
      direction: float[...] same shape as ``theta``, non-zero (normalised inside).
      level: the threshold, > ``fn(theta)``.
      max_distance: give up (return ``inf`` for that side) beyond this distance, > 0.

    Returns:
      The width, a Python float (``inf`` if the function stays below ``level`` on one side).

    Raises:
      ValueError: shapes differ, ``theta`` empty, an inf or nan in ``theta`` or ``direction``, zero direction,
        ``fn(theta) >= level`` (or not finite), ``fn`` not scalar, non-positive ``max_distance``.
      TypeError: ``fn`` not callable, arrays not numeric, ``level`` not a number.
    """
    theta = _v.float_array("theta", theta, finite=True, nonempty=True)
    direction = _v.float_array("direction", direction, finite=True)
    if direction.shape != theta.shape:
        raise ValueError(f"direction must have theta's shape {theta.shape}, got {direction.shape}")
    norm = float(jnp.linalg.norm(direction))
    if not norm > 0:
        raise ValueError("direction must be a non-zero vector")
    max_distance = _v.positive_float("max_distance", max_distance)
    level = _v.real("level", level)
    _scalar_fn_check("fn", fn, theta)
    u = direction / norm
    line = lambda s: _along_line(fn, theta, u, jnp.asarray(s, theta.dtype))  # noqa: E731
    f0 = float(line(0.0))
    if not np.isfinite(f0):
        raise ValueError(f"fn must be finite at theta, got fn(theta) = {f0}")
    if not f0 < level:
        raise ValueError(f"level must exceed fn(theta) = {f0:.6g}, got {level:.6g}")

    def side(sign):
        lo, hi = 0.0, 1e-3
        while float(line(sign * hi)) < level:
            lo, hi = hi, 2 * hi
            if hi > max_distance:
                return float("inf")
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if float(line(sign * mid)) < level:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    return side(1.0) + side(-1.0)


@partial(jax.jit, static_argnames=("fn",))
def _along_line(fn, theta, u, s):
    return fn(theta + s * u)


def random_fourier_landscape(key, n: int, *, k_max: int = 1) -> Callable[[jax.Array], jax.Array]:
    r"""A random smooth function on the torus :math:`[0, 2\pi)^n`, a test bed for critical points.

    .. math:: f(\theta) = \sum_{m} a_m \cos(m\cdot\theta + \varphi_m),
              \qquad a_m \sim \mathcal N\big(0, e^{-|m|^2/k_{\max}^2}\big),\ \varphi_m \sim U[0, 2\pi),

    summed over integer vectors :math:`m` with entries in :math:`[-k_{\max}, k_{\max}]`, one of each
    pair :math:`\pm m`. Being periodic, it has finitely many critical points, and by Morse theory
    their indices obey :math:`\sum_k (-1)^k N_k = \chi(T^n) = 0` and :math:`N_k \ge \binom{n}{k}`.

    Args:
      key: JAX random key.
      n: dimension >= 1.
      k_max: largest frequency per coordinate >= 1.

    Returns:
      ``fn(theta: float[n]) -> scalar``, jit- and vmap-compatible; it raises ``ValueError`` for a ``theta`` that
      is not a vector of n entries (a static check), or a concrete one with an inf or nan entry.

    Raises:
      TypeError: ``key`` not a typed JAX key, ``n`` or ``k_max`` not integers.
      ValueError: ``n`` or ``k_max`` < 1, or more than 200 000 Fourier modes.
    """
    _v.key(key)
    n = _v.count("n", n, minimum=1)
    k_max = _v.count("k_max", k_max, minimum=1)
    if (2 * k_max + 1) ** n > 200_000:
        raise ValueError(f"(2 k_max + 1)^n = {(2 * k_max + 1) ** n} Fourier modes is too many; lower n or k_max")
    zero = (0,) * n
    modes = np.array([m for m in itertools.product(range(-k_max, k_max + 1), repeat=n) if m > zero], dtype=float)
    key_a, key_p = jax.random.split(key)
    dtype = jnp.result_type(float)
    m = jnp.asarray(modes, dtype)
    amp = jax.random.normal(key_a, (len(modes),), dtype) * jnp.exp(-0.5 * jnp.sum(m**2, axis=1) / k_max**2)
    phase = jax.random.uniform(key_p, (len(modes),), dtype, maxval=2 * jnp.pi)

    def fn(theta):
        if _v.is_traced(theta):
            if getattr(theta, "shape", None) != (n,):
                raise ValueError(f"theta must be one point of shape ({n},) on the {n}-torus, got shape "
                                 f"{getattr(theta, 'shape', None)}; vmap over a batch")
        else:
            theta = _v.float_array("theta", theta, finite=True)
            if theta.shape != (n,):
                raise ValueError(f"theta must be one point of shape ({n},) on the {n}-torus, got shape {theta.shape}; "
                                 "vmap over a batch")
        return jnp.sum(amp * jnp.cos(m @ theta.astype(dtype) + phase))

    return fn


def unique_points(points, *, tol: float = 1e-6, period: float | None = None) -> np.ndarray:
    r"""Remove duplicates (within ``tol`` in every coordinate) from a set of points.

    Args:
      points: float[N, n] points, for example critical points found from many starts.
      tol: two points closer than this in every coordinate are the same, > 0.
      period: if given, coordinates are periodic with this period (2π on the torus) and points are
        reduced to [0, period) first.

    Returns:
      float[N_unique, n] the distinct points, in order of first appearance.

    The default ``tol`` assumes float64 points: float32 coordinates of order 1 to 2π are only resolved to about
    1e-6, so copies of one point found from different starts differ by more than that. A ``UserWarning`` says
    when ``tol`` is below 10 units in the last place of the points' dtype.

    Raises:
      ValueError: ``points`` not 2-D or not finite; ``tol`` or ``period`` not > 0.
      TypeError: ``points`` not numeric.

    Warns:
      UserWarning: ``tol`` below the resolution of the points' dtype (float32 points with the default ``tol``).
    """
    dtype = getattr(points, "dtype", None)
    pts = _v.numpy_array("points", points, ndim=2, nonempty=False)
    tol = _v.positive_float("tol", tol)
    if period is not None:
        period = _v.positive_float("period", period)
        pts = np.mod(pts, period)
    if dtype is not None and pts.size:
        scale = period if period is not None else float(np.max(np.abs(pts)))
        level = _v.rounding_level(dtype, scale)
        if tol < level:
            _v.precision_warning("points", dtype, tol_name="tol", tol=tol, level=level,
                                 what=": copies of one point may be kept as distinct points")
    kept: list[np.ndarray] = []
    for p in pts:
        for q in kept:
            d = np.abs(p - q)
            if period is not None:
                d = np.minimum(d, period - d)
            if np.all(d < tol):
                break
        else:
            kept.append(p)
    return np.array(kept).reshape(-1, pts.shape[1])
