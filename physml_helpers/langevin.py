r"""Stochastic gradient descent as Langevin dynamics (chapter 3).

Overdamped Langevin dynamics at temperature :math:`T` (with :math:`k_B = 1`),

.. math:: dx = -\nabla V(x)\,dt + \sqrt{2T}\,dW,

is integrated by Euler–Maruyama. Minibatch SGD,

.. math:: w_{t+1} = w_t - \alpha \nabla L^{\mu_t}(w_t)
        = w_t - \alpha\nabla L(w_t) + \eta_t, \qquad \eta_t = -\alpha\nabla\delta L^{\mu_t}(w_t),

is the same kind of equation with a noise whose covariance :math:`\alpha^2 C(w)` is set by the data.
Near a minimum with Hessian :math:`H` it is an Ornstein–Uhlenbeck process whose stationary covariance
solves the discrete Lyapunov equation
:math:`\Sigma = (I - \alpha H)\Sigma(I - \alpha H)^\top + \alpha^2 C`.

Conventions: ``loss_fn(params, batch)`` returns the mean loss over the examples of ``batch``;
``data`` is an array or a tuple of arrays sharing a leading axis of length M (the examples); a
minibatch is B examples drawn independently and uniformly (with replacement), afresh at every step.
"""

from __future__ import annotations

import numbers
from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v
from physml_helpers._kernels import Kernel, scan_kernel
from physml_helpers.landscape import _check_grad_fn, _theta0

__all__ = [
    "LangevinState", "LangevinInfo", "overdamped_langevin_kernel", "overdamped_langevin",
    "SGDInfo", "sgd_kernel", "sgd", "minibatch_noise_covariance", "lyapunov_covariance",
    "frozen_noise_sgd_kernel", "frozen_noise_sgd",
]


def _check_record(n_steps: int, record_every: int) -> int:
    record_every = _v.count("record_every", record_every, minimum=1)
    if n_steps % record_every:
        raise ValueError(
            f"n_steps must be a multiple of record_every, got n_steps={n_steps}, record_every={record_every}"
        )
    return record_every


def _recorded_path(step, key, x0, n_steps: int, record_every: int):
    """x0 and every record_every-th state of ``n_steps`` steps, float[n_steps // record_every + 1, *x0.shape].
    Traced inside a jit."""
    _, path, _ = scan_kernel(step, x0, n_steps, key, record_every=record_every, record=lambda s: s.position)
    return jnp.concatenate([x0.position[None], path], axis=0)


# ---------------------------------------------------------------------------------------------------
# Overdamped Langevin dynamics
# ---------------------------------------------------------------------------------------------------


class LangevinState(NamedTuple):
    """State of :func:`overdamped_langevin_kernel` and :func:`sgd_kernel`: the current ``position``
    (float[...], the shape of the starting point)."""

    position: jax.Array


class LangevinInfo(NamedTuple):
    r"""What one step of :func:`overdamped_langevin_kernel` saw: ``grad_norm`` = :math:`\lVert\nabla V\rVert`
    at the position the step started from (float[]); it grows without bound when ``dt`` is past the
    stability limit of the deterministic part."""

    grad_norm: jax.Array


@partial(jax.jit, static_argnames=("grad_fn",))
def _langevin_step(key, state: LangevinState, grad_fn, dt, temperature):
    x = state.position
    grad = grad_fn(x).astype(x.dtype)
    noise = jax.random.normal(key, x.shape, x.dtype)
    x = x - dt * grad + jnp.sqrt(2 * temperature * dt) * noise
    return LangevinState(x), LangevinInfo(jnp.linalg.norm(grad))


def overdamped_langevin_kernel(grad_fn: Callable, *, dt: float, temperature: float) -> Kernel:
    r"""Euler–Maruyama for :math:`dx = -\nabla V\,dt + \sqrt{2T}\,dW` as an ``(init, step)`` pair.

    Args:
      grad_fn: callable returning :math:`\nabla V(x)`, same shape as ``x``.
      dt: time step > 0; temperature: :math:`T \ge 0` (both traced: changing them does not recompile).

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(x0) -> LangevinState`` and
      ``step(key, state) -> (LangevinState, LangevinInfo)``.

    Raises:
      TypeError: ``grad_fn`` not callable, ``dt`` or ``temperature`` not numbers; (from ``init``) ``x0``
        not numeric.
      ValueError: ``dt`` not > 0, ``temperature`` < 0; (from ``init``) ``x0`` empty or with an inf or nan
        entry, ``grad_fn`` output shape differs from ``x0``'s; (from ``step``) a batch of keys.
    """
    _v.callable_("grad_fn", grad_fn)
    dt = _v.positive_float("dt", dt)
    temperature = _v.positive_float("temperature", temperature, allow_zero=True)

    def init(x0) -> LangevinState:
        x0 = _theta0(x0, "x0")
        _check_grad_fn(grad_fn, x0, "x0")
        return LangevinState(x0)

    def step(key, state: LangevinState):
        _v.key(key)
        return _langevin_step(key, state, grad_fn=grad_fn, dt=dt, temperature=temperature)

    return Kernel(init, step)


@partial(jax.jit, static_argnames=("grad_fn", "n_steps", "record_every"))
def _langevin(key, grad_fn, x0, dt, temperature, n_steps, record_every):
    step = partial(_langevin_step, grad_fn=grad_fn, dt=dt, temperature=temperature)
    return _recorded_path(step, key, LangevinState(x0), n_steps, record_every)


def overdamped_langevin(
    key, grad_fn: Callable, x0, *, dt: float, temperature: float, n_steps: int, record_every: int = 1
) -> jax.Array:
    r"""Euler–Maruyama for overdamped Langevin dynamics, :math:`x \leftarrow x - \nabla V(x)\,dt + \sqrt{2T\,dt}\,\xi`.

    Runs :func:`overdamped_langevin_kernel` in one ``lax.scan``. On a harmonic well
    :math:`V = \tfrac12 k x^2` the discrete chain is stationary with variance
    :math:`T / (k(1 - k\,dt/2))`, which tends to the Boltzmann value :math:`T/k` as :math:`dt \to 0`.

    Args:
      key: JAX random key; the noise :math:`\xi \sim \mathcal N(0, I)` is fresh at every step.
      grad_fn: callable returning :math:`\nabla V(x)`, same shape as ``x``.
      x0: float[...] initial state.
      dt: time step > 0.
      temperature: :math:`T \ge 0` (0 gives gradient descent with learning rate ``dt``).
      n_steps: number of steps >= 0.
      record_every: keep every this-many-th state (``n_steps`` must be a multiple of it).

    Returns:
      float[n_steps // record_every + 1, *x0.shape]: the states, starting with ``x0``
      (all ``n_steps + 1`` states with the default ``record_every=1``).

    Raises:
      ValueError: non-positive ``dt``, negative ``temperature``, negative counts, ``n_steps`` not a
        multiple of ``record_every``, ``x0`` empty or (when concrete) with an inf or nan entry, ``grad_fn``
        output shape differing from ``x0``'s, a batch of keys.
      TypeError: ``key`` not a typed JAX key, ``grad_fn`` not callable, counts not integers.
    """
    _v.key(key)
    dt = _v.positive_float("dt", dt)
    temperature = _v.positive_float("temperature", temperature, allow_zero=True)
    n_steps = _v.count("n_steps", n_steps)
    record_every = _check_record(n_steps, record_every) if n_steps else 1
    x0 = _theta0(x0, "x0")
    _check_grad_fn(grad_fn, x0, "x0")
    if n_steps == 0:
        return x0[None]
    return _langevin(key, grad_fn, x0, dt, temperature, n_steps, record_every)


# ---------------------------------------------------------------------------------------------------
# Minibatch SGD
# ---------------------------------------------------------------------------------------------------


def _is_number(x) -> bool:
    return isinstance(x, numbers.Number) or (hasattr(x, "shape") and hasattr(x, "dtype") and np.shape(x) == ())


def _as_data(data) -> tuple[tuple[jax.Array, ...], int, bool]:
    """``data`` as a tuple of arrays sharing a leading axis of examples. A list of numbers is one array of examples;
    a tuple (or list) of arrays is several. Non-finite values in concrete data are refused."""
    if isinstance(data, list) and data and all(_is_number(x) for x in data):
        data = np.asarray(data)  # a list of numbers is one array of examples, not a tuple of scalars
    single = not isinstance(data, (tuple, list))
    arrays = (data,) if single else tuple(data)
    if not arrays:
        raise ValueError("data must be an array or a non-empty tuple of arrays, got an empty tuple")
    out = []
    for i, a in enumerate(arrays):
        name = "data" if single else f"data[{i}]"
        if a is None or isinstance(a, (str, bytes)):
            raise TypeError(f"{name} must be array-like, got {type(a).__name__}")
        try:
            a = jnp.asarray(a)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be array-like, got {type(a).__name__}") from err
        if not (jnp.issubdtype(a.dtype, jnp.number) or a.dtype == bool) or jnp.issubdtype(a.dtype, jnp.complexfloating):
            raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
        if a.ndim == 0:
            raise ValueError(f"{name} must have a leading axis of examples, got a scalar")
        _v.finite(name, a, hint="; remove or impute the bad examples")
        out.append(a)
    m = out[0].shape[0]
    for i, a in enumerate(out):
        if a.shape[0] != m:
            raise ValueError(
                f"all data arrays must have the same number of examples; data[0] has {m}, data[{i}] has {a.shape[0]}"
            )
    if m == 0:
        raise ValueError("data must hold at least one example, got 0")
    return tuple(out), m, single


def _check_loss(loss_fn, params, data, single, batch_size):
    batch = tuple(jax.ShapeDtypeStruct((batch_size, *a.shape[1:]), a.dtype) for a in data)
    _v.output_shape("loss_fn", loss_fn, params, batch[0] if single else batch, expected=(),
                    what=" (the mean loss over the batch)")


def _check_params(params):
    params = _v.float_array("params", params, finite=True)
    if params.ndim != 1 or params.size == 0:
        raise ValueError(f"params must be a non-empty flat vector [n], got shape {params.shape}; flatten with "
                         "ravel_pytree")
    return params


class SGDInfo(NamedTuple):
    """What one step of :func:`sgd_kernel` saw, at the position it started from: the minibatch ``loss``
    (float[]) and the norm of the minibatch gradient ``grad_norm`` (float[])."""

    loss: jax.Array
    grad_norm: jax.Array


@partial(jax.jit, static_argnames=("loss_fn", "single", "batch_size"))
def _sgd_step(key, state: LangevinState, loss_fn, data, lr, single, batch_size):
    w = state.position
    idx = jax.random.randint(key, (batch_size,), 0, data[0].shape[0])  # with replacement: O(B) per step
    batch = tuple(a[idx] for a in data)
    loss, grad = jax.value_and_grad(loss_fn)(w, batch[0] if single else batch)
    grad = grad.astype(w.dtype)
    return LangevinState(w - lr * grad), SGDInfo(loss, jnp.linalg.norm(grad))


def sgd_kernel(loss_fn: Callable, data: Any, *, lr: float, batch_size: int) -> Kernel:
    r"""Minibatch SGD :math:`w \leftarrow w - \alpha\nabla L^{\mu}(w)` as an ``(init, step)`` pair.

    Args:
      loss_fn: ``loss_fn(params, batch) -> scalar``, the mean loss over the batch's examples.
      data: an array float[M, ...] or a tuple of such arrays (for example ``(x, y)``).
      lr: learning rate :math:`\alpha > 0` (traced); batch_size: B >= 1.

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(params) -> LangevinState`` (``params`` float[n]) and
      ``step(key, state) -> (LangevinState, SGDInfo)``; each step draws B examples uniformly, with replacement.

    Raises:
      TypeError: ``loss_fn`` not callable, ``data`` not array-like or complex, ``batch_size`` not an integer;
        (from ``step``) ``key`` not a typed JAX key.
      ValueError: bad ``lr`` or ``batch_size``, mismatched data arrays, an inf or nan in ``data``; (from
        ``init``) ``params`` not a non-empty flat vector, with an inf or nan entry, or ``loss_fn`` not scalar on
        a batch.
    """
    _v.callable_("loss_fn", loss_fn)
    lr = _v.positive_float("lr", lr)
    batch_size = _v.count("batch_size", batch_size, minimum=1)
    arrays, _, single = _as_data(data)

    def init(params) -> LangevinState:
        params = _check_params(params)
        _check_loss(loss_fn, params, arrays, single, batch_size)
        return LangevinState(params)

    def step(key, state: LangevinState):
        _v.key(key)
        return _sgd_step(key, state, loss_fn=loss_fn, data=arrays, lr=lr, single=single, batch_size=batch_size)

    return Kernel(init, step)


@partial(jax.jit, static_argnames=("loss_fn", "single", "batch_size", "n_steps", "record_every"))
def _sgd(key, loss_fn, params, data, lr, single, batch_size, n_steps, record_every):
    step = partial(_sgd_step, loss_fn=loss_fn, data=data, lr=lr, single=single, batch_size=batch_size)
    return _recorded_path(step, key, LangevinState(params), n_steps, record_every)


def sgd(
    key,
    loss_fn: Callable,
    params,
    data: Any,
    *,
    lr: float,
    batch_size: int,
    n_steps: int,
    record_every: int = 1,
) -> jax.Array:
    r"""Minibatch stochastic gradient descent, :math:`w \leftarrow w - \alpha\nabla L^{\mu}(w)`.

    Runs :func:`sgd_kernel` in one ``lax.scan``. At every step a fresh minibatch :math:`\mu` of
    ``batch_size`` examples is drawn independently and uniformly from the M examples (with replacement),
    independently of earlier steps, so the iterates form a Markov chain: the setting of the Langevin
    analysis. Epoch-wise shuffling without replacement has slightly smaller noise, by the factor
    (M - B)/(M - 1).

    Args:
      key: JAX random key.
      loss_fn: ``loss_fn(params, batch) -> scalar``, the mean loss over the batch's examples.
      params: float[n] initial parameters (a flat vector; use ``jax.flatten_util.ravel_pytree``).
      data: an array float[M, ...] or a tuple of such arrays (for example ``(x, y)``).
      lr: learning rate :math:`\alpha > 0`.
      batch_size: B >= 1.
      n_steps: number of updates >= 0.
      record_every: keep every this-many-th iterate (``n_steps`` must be a multiple of it).

    Returns:
      float[n_steps // record_every + 1, n]: the iterates, starting with ``params``.

    Raises:
      ValueError: bad learning rate or counts, ``params`` not a non-empty flat vector, an inf or nan in
        ``params`` or ``data`` (checked when concrete), mismatched data arrays, a ``loss_fn`` that fails on a
        batch or is not scalar, a batch of keys.
      TypeError: ``key`` not a typed JAX key, ``loss_fn`` not callable, ``data`` not array-like or complex,
        counts not integers.
    """
    _v.key(key)
    _v.callable_("loss_fn", loss_fn)
    lr = _v.positive_float("lr", lr)
    n_steps = _v.count("n_steps", n_steps)
    record_every = _check_record(n_steps, record_every) if n_steps else 1
    params = _check_params(params)
    arrays, m, single = _as_data(data)
    batch_size = _v.count("batch_size", batch_size, minimum=1)
    _check_loss(loss_fn, params, arrays, single, batch_size)
    if n_steps == 0:
        return params[None]
    return _sgd(key, loss_fn, params, arrays, lr, single, batch_size, n_steps, record_every)


def minibatch_noise_covariance(loss_fn: Callable, params, data: Any, *, batch_size: int) -> jax.Array:
    r"""Covariance of the minibatch gradient, :math:`C = \langle \nabla\delta L^\mu\,\nabla\delta L^{\mu\top}\rangle_\mu`.

    With per-example gradients :math:`g_k` (k = 1..M), their mean :math:`\bar g = \nabla L` and
    population covariance :math:`S = \frac1M\sum_k (g_k - \bar g)(g_k - \bar g)^\top`, a minibatch
    of B examples drawn independently and uniformly (as in :func:`sgd`) has, exactly,

    .. math:: C = S / B .

    The SGD noise :math:`\eta = -\alpha\nabla\delta L^\mu` has covariance :math:`\alpha^2 C`: it
    scales as :math:`\alpha^2/B`, and per unit of gradient-flow time (:math:`\alpha` per step) as
    :math:`\alpha/B`, the "temperature" of SGD.

    Args:
      loss_fn: ``loss_fn(params, batch) -> scalar`` mean loss over the batch (as for :func:`sgd`).
      params: float[n] parameters at which to evaluate the noise.
      data: array float[M, ...] or tuple of arrays with M examples, M >= 2.
      batch_size: B >= 1.

    Returns:
      float[n, n] symmetric positive semi-definite matrix.

    Raises:
      ValueError: as for :func:`sgd` (an inf or nan in ``params`` or ``data`` included), and M < 2.
      TypeError: ``loss_fn`` not callable, ``data`` not array-like, ``batch_size`` not an integer.
    """
    _v.callable_("loss_fn", loss_fn)
    params = _check_params(params)
    arrays, m, single = _as_data(data)
    if m < 2:
        raise ValueError(f"data must hold at least 2 examples to have a covariance, got {m}")
    batch_size = _v.count("batch_size", batch_size, minimum=1)
    _check_loss(loss_fn, params, arrays, single, 1)
    return _noise_cov(loss_fn, params, arrays, single, 1.0 / batch_size)


@partial(jax.jit, static_argnames=("loss_fn", "single"))
def _noise_cov(loss_fn, params, data, single, factor):
    def one(example):
        batch = tuple(a[None] for a in example)
        return jax.grad(loss_fn)(params, batch[0] if single else batch)

    g = jax.vmap(one)(data)
    dg = g - jnp.mean(g, axis=0)
    return factor * (dg.T @ dg) / g.shape[0]


def lyapunov_covariance(hessian, noise_covariance, *, lr: float) -> jax.Array:
    r"""Stationary covariance of SGD linearised about a minimum (an Ornstein–Uhlenbeck process).

    Solves :math:`\Sigma = (I - \alpha H)\,\Sigma\,(I - \alpha H)^\top + \alpha^2 C` in the eigenbasis
    :math:`H = U\operatorname{diag}(h)U^\top`, where it decouples:

    .. math:: \tilde\Sigma_{ij} = \frac{\alpha^2\,\tilde C_{ij}}{1 - (1 - \alpha h_i)(1 - \alpha h_j)},
              \qquad \tilde X = U^\top X U.

    For small :math:`\alpha` this is the continuous Lyapunov equation
    :math:`H\Sigma + \Sigma H = \alpha C`; with :math:`C \propto H` the covariance is isotropic.

    Args:
      hessian: float[n, n] symmetric, with every eigenvalue in :math:`(0, 2/\alpha)` (a minimum
        on which GD with this learning rate is stable).
      noise_covariance: float[n, n] symmetric, C (the minibatch-gradient covariance).
      lr: learning rate :math:`\alpha > 0`.

    Returns:
      float[n, n] the stationary covariance :math:`\Sigma` of the weights.

    Raises:
      ValueError: shapes that are not matching square matrices, asymmetric or non-finite input, a Hessian with
        an eigenvalue outside :math:`(0, 2/\alpha)` (no stationary state exists), or a ``noise_covariance``
        with a negative eigenvalue (beyond rounding: a covariance is positive semi-definite).
      TypeError: inputs not numeric or of two dtypes, ``lr`` not a number.
    """
    lr = _v.positive_float("lr", lr)
    h = _v.square_matrix("hessian", hessian, symmetric=True)
    c = _v.square_matrix("noise_covariance", noise_covariance, symmetric=True)
    if h.dtype != c.dtype:
        raise TypeError(f"hessian and noise_covariance must have one dtype, got {h.dtype} and {c.dtype}")
    if h.shape != c.shape:
        raise ValueError(f"hessian and noise_covariance must have the same shape, got {h.shape} and {c.shape}")
    eigs, u = jnp.linalg.eigh(0.5 * (h + h.T))
    lo, hi = float(eigs[0]), float(eigs[-1])
    if not (lo > 0 and hi < 2 / lr):
        raise ValueError(
            f"every eigenvalue of hessian must lie in (0, 2/lr) = (0, {2 / lr:.6g}) for a stationary state, "
            f"got eigenvalues from {lo:.6g} to {hi:.6g}"
            + ("; this is not a minimum" if lo <= 0 else "; lower lr (gradient descent is unstable there)")
        )
    c_eigs = np.linalg.eigvalsh(np.asarray(0.5 * (c + c.T), np.float64))
    c_scale = max(float(np.max(np.abs(c_eigs))), np.finfo(np.float64).tiny)
    if c_eigs[0] < -_v.symmetry_tolerance(c.dtype) * c_scale:
        raise ValueError(
            f"noise_covariance must be positive semi-definite (a covariance), got an eigenvalue {c_eigs[0]:.6g}"
        )
    a = 1 - lr * eigs
    c_tilde = u.T @ (0.5 * (c + c.T)) @ u
    sigma_tilde = lr**2 * c_tilde / (1 - a[:, None] * a[None, :])
    return u @ sigma_tilde @ u.T


# ---------------------------------------------------------------------------------------------------
# Gaussian noise of a fixed covariance (the frozen-noise stand-in for SGD)
# ---------------------------------------------------------------------------------------------------


def _noise_sqrt(name: str, noise_covariance) -> jax.Array:
    """Symmetric square root U diag(sqrt(c)) U^T of a positive semi-definite [n, n] covariance."""
    c = _v.square_matrix(name, noise_covariance, symmetric=True)
    c64 = np.asarray(c, np.float64)
    eigs, u = np.linalg.eigh(0.5 * (c64 + c64.T))
    scale = max(float(np.max(np.abs(eigs))), np.finfo(np.float64).tiny)
    if eigs[0] < -_v.symmetry_tolerance(c.dtype) * scale:
        raise ValueError(f"{name} must be positive semi-definite (a covariance), got an eigenvalue {eigs[0]:.6g}")
    return jnp.asarray((u * np.sqrt(np.clip(eigs, 0.0, None))) @ u.T, c.dtype)


def _check_noise_matches(name: str, root, params) -> None:
    if root.shape[0] != params.shape[0]:
        raise ValueError(f"{name} must be [n, n] with n = params.size = {params.shape[0]}, got shape {root.shape}")
    if root.dtype != params.dtype:
        raise TypeError(f"{name} and params must have one dtype, got {root.dtype} and {params.dtype}")


@partial(jax.jit, static_argnames=("grad_fn",))
def _frozen_step(key, state: LangevinState, grad_fn, root, lr):
    w = state.position
    grad = grad_fn(w).astype(w.dtype)
    noise = root @ jax.random.normal(key, w.shape, w.dtype)
    return LangevinState(w - lr * grad + lr * noise), LangevinInfo(jnp.linalg.norm(grad))


def frozen_noise_sgd_kernel(grad_fn: Callable, noise_covariance, *, lr: float) -> Kernel:
    r"""Gradient descent plus Gaussian noise of fixed covariance, :math:`w \leftarrow w - \alpha\nabla L(w) + \alpha\,C^{1/2}\xi`,
    as an ``(init, step)`` pair (see :func:`frozen_noise_sgd`).

    Args:
      grad_fn: callable returning :math:`\nabla L(w)`, float[n] -> float[n].
      noise_covariance: float[n, n] symmetric positive semi-definite C (the minibatch-gradient covariance,
        without the factor :math:`\alpha^2`).
      lr: learning rate :math:`\alpha > 0` (traced).

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(params) -> LangevinState`` (``params`` float[n], same dtype as C) and
      ``step(key, state) -> (LangevinState, LangevinInfo)``.

    Raises:
      TypeError: ``grad_fn`` not callable, ``lr`` not a number, C not numeric; (from ``init``) ``params`` of another
        dtype than C; (from ``step``) ``key`` not a typed JAX key.
      ValueError: ``lr`` not > 0, C not square, not symmetric, not positive semi-definite or not finite; (from
        ``init``) ``params`` not a non-empty flat vector of C's size, with an inf or nan, or a ``grad_fn`` output of
        another shape.
    """
    _v.callable_("grad_fn", grad_fn)
    lr = _v.positive_float("lr", lr)
    root = _noise_sqrt("noise_covariance", noise_covariance)

    def init(params) -> LangevinState:
        params = _check_params(params)
        _check_noise_matches("noise_covariance", root, params)
        _check_grad_fn(grad_fn, params, "params")
        return LangevinState(params)

    def step(key, state: LangevinState):
        _v.key(key)
        return _frozen_step(key, state, grad_fn=grad_fn, root=root, lr=lr)

    return Kernel(init, step)


@partial(jax.jit, static_argnames=("grad_fn", "n_steps", "record_every"))
def _frozen(key, grad_fn, params, root, lr, n_steps, record_every):
    step = partial(_frozen_step, grad_fn=grad_fn, root=root, lr=lr)
    return _recorded_path(step, key, LangevinState(params), n_steps, record_every)


def frozen_noise_sgd(
    key, grad_fn: Callable, params, *, lr: float, noise_covariance, n_steps: int, record_every: int = 1
) -> jax.Array:
    r"""Gradient descent with additive Gaussian noise of a fixed covariance: the frozen-noise model of SGD,

    .. math:: w_{t+1} = w_t - \alpha\nabla L(w_t) + \alpha\,C^{1/2}\xi_t, \qquad \xi_t \sim \mathcal N(0, I),

    so the noise has covariance :math:`\alpha^2 C` at every step, whatever :math:`w`. With the minibatch covariance
    :math:`C(w^\star)` of :func:`minibatch_noise_covariance` it keeps the shape of SGD's noise at the minimum and drops
    its dependence on position and its non-Gaussian tails; with :math:`C = (2T/\alpha) I` it is
    :func:`overdamped_langevin` at temperature T and ``dt = lr``. On a quadratic with Hessian H its stationary
    covariance is :func:`lyapunov_covariance` ``(H, C, lr=lr)``.

    Args:
      key: JAX random key.
      grad_fn: callable returning :math:`\nabla L(w)`, float[n] -> float[n].
      params: float[n] initial parameters (a flat vector).
      lr: learning rate :math:`\alpha > 0`.
      noise_covariance: float[n, n] symmetric positive semi-definite C, same dtype as ``params``
        (a singular C is allowed: no noise along its null space).
      n_steps: number of updates >= 0.
      record_every: keep every this-many-th iterate (``n_steps`` must be a multiple of it).

    Returns:
      float[n_steps // record_every + 1, n]: the iterates, starting with ``params``.

    Raises:
      ValueError: ``lr`` not > 0, negative counts, ``n_steps`` not a multiple of ``record_every``, ``params`` not a
        non-empty flat vector or with an inf or nan, C not [n, n], not symmetric, not positive semi-definite or not
        finite, a ``grad_fn`` output of another shape, a batch of keys.
      TypeError: ``key`` not a typed JAX key, ``grad_fn`` not callable, counts not integers, C not numeric or of
        another dtype than ``params``.
    """
    _v.key(key)
    _v.callable_("grad_fn", grad_fn)
    lr = _v.positive_float("lr", lr)
    n_steps = _v.count("n_steps", n_steps)
    record_every = _check_record(n_steps, record_every) if n_steps else 1
    params = _check_params(params)
    root = _noise_sqrt("noise_covariance", noise_covariance)
    _check_noise_matches("noise_covariance", root, params)
    _check_grad_fn(grad_fn, params, "params")
    if n_steps == 0:
        return params[None]
    return _frozen(key, grad_fn, params, root, lr, n_steps, record_every)
