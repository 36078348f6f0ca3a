r"""Principled extrapolation across a phase transition (chapter 16).

Landau theory of a continuous transition: free energy :math:`F(m, T) = \tfrac12 a(T) m^2 + \tfrac14 b m^4`
with :math:`a(T) = a_0 (T - T_c)`, and relaxational dynamics :math:`\dot m = -\partial F/\partial m =
-a(T)\,m - b\,m^3`. Below :math:`T_c` the order parameter relaxes to :math:`\pm\sqrt{a_0(T_c - T)/b}`,
above it to zero.

* :func:`landau_rhs`, :func:`equilibrium_order_parameter`, :func:`simulate`: the exact model and noisy
  observations of relaxation curves.
* :func:`init_black_box`, :func:`black_box_rhs`: a network :math:`\dot m = g_\theta(m, T)`.
* :func:`init_landau_model`, :func:`landau_model_rhs`: the physics-informed right-hand side
  :math:`\dot m = -\alpha (T - \tau)\,m - \beta m^3` with learned :math:`\alpha, \tau, \beta`
  (positivity of :math:`\alpha` and :math:`\beta` by an exponential).
* :func:`init_hybrid_model`, :func:`hybrid_model_rhs`, :func:`hybrid_model_a`, :func:`hybrid_model_tc`: the
  gradient flow of :math:`F = \tfrac12 a_\theta(T) m^2 + \tfrac14 b m^4` with a small network :math:`a_\theta(T)`.
* :func:`fit_trajectories`: neural-ODE training, differentiating through the RK4 integration of
  :mod:`physml_helpers.integrators`-style steps inside one ``lax.scan`` (Adam, or Levenberg-Marquardt).
* :func:`landau_model_tc_error`: the Gauss-Newton standard error of the fitted critical temperature.
* :func:`rollout`: integrate a right-hand side from given starts at given temperatures.

The integrator is the fixed-step RK4 step of :mod:`physml_helpers.integrators`, scanned over the
observation times: the relaxation curves are smooth and short, so adaptive stepping (as in diffrax)
would buy nothing and add a dependency.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from physml_helpers import _validation as _v
from physml_helpers._kernels import require_finite_history
from physml_helpers.integrators import rk4_step
from physml_helpers.networks import _as_input, _check_layers, _mlp, adam_scan, init_mlp

__all__ = [
    "landau_rhs", "equilibrium_order_parameter", "simulate", "rollout",
    "init_black_box", "black_box_rhs", "init_landau_model", "landau_model_rhs", "landau_model_tc",
    "landau_model_tc_error", "init_hybrid_model", "hybrid_model_a", "hybrid_model_rhs", "hybrid_model_tc",
    "fit_trajectories",
]


def landau_rhs(m, T, *, a0: float = 1.0, tc: float = 1.0, b: float = 1.0):
    r""":math:`\dot m = -a_0 (T - T_c)\,m - b\,m^3`, elementwise; traceable.

    Args:
      m: float[...] order parameter; T: temperatures broadcasting against ``m``.
      a0, tc, b: the Landau coefficients :math:`a_0`, :math:`T_c`, :math:`b` (numbers or traced scalars).

    Returns:
      float[...] :math:`\dot m`, the broadcast shape of ``m`` and ``T``.

    Raises:
      TypeError: ``m`` or ``T`` not an array of real numbers; a concrete coefficient not a number.
      ValueError: ``m`` and ``T`` do not broadcast (a static check); an inf or nan in a concrete ``m``, ``T`` or
        coefficient.
    """
    m, T = _state_and_temperature(m, T)
    a0, tc, b = (_v.traced_or_real(name, value) for name, value in (("a0", a0), ("tc", tc), ("b", b)))
    return -a0 * (T - tc) * m - b * m**3


def _real_input(name: str, x):
    """A concrete ``x`` checked (and converted from lists or integers) to a finite floating array; a traced one
    only for its dtype; a Python number is kept as it is (weakly typed), after a finiteness check."""
    if _v.is_traced(x):
        if not jnp.issubdtype(x.dtype, jnp.floating):
            raise TypeError(f"{name} must hold real floating numbers, got dtype {x.dtype}")
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return _v.real(name, x)
    if isinstance(x, (list, tuple)) or not hasattr(x, "dtype") or not jnp.issubdtype(x.dtype, jnp.floating):
        return _v.float_array(name, x, finite=True)
    _v.finite(name, x)
    return x


def _state_and_temperature(m, T, *, same_shape: bool = False):
    """The order parameter and the temperatures of a right-hand side: real, finite when concrete, and of
    broadcasting shapes (or of one shape, with ``same_shape``)."""
    m = _real_input("m", m)
    T = _real_input("T", T)
    shape_m, shape_t = jnp.shape(m), jnp.shape(T)
    if same_shape:
        if shape_m != shape_t:
            raise ValueError(f"m and T must have one shape, got {shape_m} and {shape_t}")
    else:
        try:
            jnp.broadcast_shapes(shape_m, shape_t)
        except ValueError:
            raise ValueError(f"m and T must have broadcasting shapes, got {shape_m} and {shape_t}") from None
    return m, T


def equilibrium_order_parameter(T, *, a0: float = 1.0, tc: float = 1.0, b: float = 1.0):
    r"""The stable fixed point :math:`m^* = \sqrt{\max(0, a_0 (T_c - T)/b)}` (the positive branch).

    Args:
      T: float[...] temperatures.
      a0, tc, b: the Landau coefficients, ``a0`` and ``b`` > 0.

    Returns:
      float[...] :math:`m^*` at each temperature (0 at and above :math:`T_c`).

    Raises:
      TypeError: ``T`` not numeric, a coefficient not a number.
      ValueError: ``a0`` or ``b`` not > 0, ``tc`` not finite, an inf or nan in a concrete ``T``.
    """
    T = _v.float_array("T", T, finite=True)
    a0, b = _v.positive_float("a0", a0), _v.positive_float("b", b)
    tc = _v.real("tc", tc)
    return jnp.sqrt(jnp.maximum(0.0, a0 * (tc - jnp.asarray(T)) / b))


def _integrate(f, m0, T, dt, substeps, n_obs):
    """States at n_obs times spaced substeps * dt apart, starting with m0; shape [n_obs, *m0.shape]."""
    def observe(m, _):
        def inner(m, _):
            return rk4_step(lambda x: f(x, T), m, dt), None
        m, _ = jax.lax.scan(inner, m, None, length=substeps)
        return m, m

    _, ms = jax.lax.scan(observe, m0, None, length=n_obs - 1)
    return jnp.concatenate([m0[None], ms], axis=0)


def rollout(rhs: Callable, m0, T, *, t_max: float, n_obs: int, dt: float = 0.05):
    r"""Integrate :math:`\dot m = ` ``rhs(m, T)`` by RK4 and observe it at equally spaced times.

    Args:
      rhs: ``rhs(m, T) -> dm/dt`` elementwise, an array of ``m``'s shape.
      m0: float[...] starting values (any shape); T: temperatures broadcasting against ``m0``.
      t_max: the last observation time, > 0; n_obs: observation times from 0 to ``t_max``, >= 2.
      dt: the largest RK4 step, > 0 (each interval is split into equal substeps no longer than it).

    Returns:
      float[n_obs, *m0.shape] the states at the observation times, starting with ``m0``.

    Raises:
      TypeError: ``rhs`` not callable, arrays not numeric, ``n_obs`` not an integer.
      ValueError: ``T`` not broadcasting against ``m0``, ``m0`` empty, an inf or nan in ``m0`` or ``T``,
        ``t_max`` or ``dt`` not > 0, ``n_obs`` < 2, ``rhs`` output of another shape.
    """
    _v.callable_("rhs", rhs)
    m0 = _v.float_array("m0", m0, finite=True, nonempty=True)
    T = _v.float_array("T", T, finite=True)
    try:
        T = jnp.broadcast_to(T, m0.shape).astype(m0.dtype)
    except ValueError:
        raise ValueError(f"T must broadcast against m0 {m0.shape}, got shape {T.shape}") from None
    _v.output_shape("rhs", rhs, m0, T, expected=m0.shape, what=" (rhs(m, T) elementwise)")
    t_max = _v.positive_float("t_max", t_max)
    n_obs = _v.count("n_obs", n_obs, minimum=2)
    dt = _v.positive_float("dt", dt)
    interval = t_max / (n_obs - 1)
    substeps = max(1, int(-(-interval // dt)))
    return _rollout(rhs, m0, T, interval / substeps, substeps, n_obs)


@functools.partial(jax.jit, static_argnames=("rhs", "substeps", "n_obs"))
def _rollout(rhs, m0, T, dt, substeps, n_obs):
    return _integrate(rhs, m0, T, dt, substeps, n_obs)


@functools.partial(jax.jit, static_argnames=("substeps", "n_obs"))
def _landau_rollout(m0, T, a0, tc, b, dt, substeps, n_obs):
    """The exact model's curves, compiled once (coefficients traced, unlike a fresh partial per call)."""
    return _integrate(lambda m, temp: landau_rhs(m, temp, a0=a0, tc=tc, b=b), m0, T, dt, substeps, n_obs)


@functools.partial(jax.jit, static_argnames=("a_fn", "substeps", "n_obs"))
def _general_rollout(a_fn, m0, T, b, dt, substeps, n_obs):
    """Curves of the gradient flow with a given coefficient function a(T)."""
    return _integrate(lambda m, temp: -a_fn(temp) * m - b * m**3, m0, T, dt, substeps, n_obs)


def simulate(key, temperatures, *, n_traj: int = 8, t_max: float = 10.0, n_obs: int = 41, noise: float = 0.01,
             m0_range: tuple[float, float] = (0.05, 1.2), a0: float = 1.0, tc: float = 1.0, b: float = 1.0,
             a_fn: Callable | None = None):
    r"""Noisy relaxation curves of the Landau model.

    For every temperature, ``n_traj`` starting values with :math:`|m_0|` uniform in ``m0_range`` and random
    sign are integrated to ``t_max`` and observed at ``n_obs`` times, with Gaussian noise of standard
    deviation ``noise`` added to every observation (including the first).

    Args:
      key: JAX random key.
      temperatures: float[n_T] (any shape, flattened).
      n_traj: curves per temperature, >= 1.
      t_max: last observation time, > 0; n_obs: observation times, >= 2.
      noise: standard deviation of the observation noise, >= 0.
      m0_range: ``(low, high)`` with 0 <= low < high, the range of :math:`|m_0|`.
      a0, tc, b: the Landau coefficients of the simulated model (``a0``, ``b`` > 0).
      a_fn: optional ``a_fn(T) -> a(T)``, elementwise and traceable: data from the gradient flow
        :math:`\dot m = -a(T)\,m - b\,m^3` with this coefficient instead of :math:`a_0 (T - T_c)` (``a0`` and
        ``tc`` are then unused). For example ``lambda T: jnp.sign(T - 1) * jnp.abs(T - 1) ** 0.25`` gives
        :math:`m^* = (1 - T)^{1/8}`, the two-dimensional Ising exponent, with :math:`T_c = 1`.

    Returns:
      ``(times [n_obs], T [n_T * n_traj], observed [n_obs, n_T * n_traj], clean [n_obs, n_T * n_traj])``,
      in the dtype of ``temperatures``.

    Raises:
      TypeError: ``key`` not a typed JAX key, numbers or counts of the wrong kind, ``a_fn`` not callable.
      ValueError: bad counts, negative ``noise``, a bad ``m0_range``, ``a0`` or ``b`` not > 0, ``a_fn`` not
        elementwise (an output of another shape) or not finite at the temperatures.
    """
    _v.key(key)
    temperatures = _v.float_array("temperatures", temperatures, finite=True).reshape(-1)
    if temperatures.size == 0:
        raise ValueError("temperatures must hold at least one temperature")
    n_traj = _v.count("n_traj", n_traj, minimum=1)
    noise = _v.positive_float("noise", noise, allow_zero=True)
    a0, b, tc = _v.positive_float("a0", a0), _v.positive_float("b", b), _v.real("tc", tc)
    if not isinstance(m0_range, (tuple, list)) or len(m0_range) != 2:
        raise ValueError(f"m0_range must be a pair (low, high), got {m0_range!r}")
    low, high = _v.positive_float("m0_range[0]", m0_range[0], allow_zero=True), _v.real("m0_range[1]", m0_range[1])
    if not high > low:
        raise ValueError(f"m0_range must have low < high, got {m0_range!r}")
    dtype = temperatures.dtype
    k_mag, k_sign, k_noise = jax.random.split(key, 3)
    size = temperatures.size * n_traj
    sign = jax.random.choice(k_sign, jnp.array([-1.0, 1.0], dtype), (size,))
    m0 = jax.random.uniform(k_mag, (size,), dtype, minval=low, maxval=high) * sign
    T = jnp.repeat(temperatures, n_traj)
    t_max = _v.positive_float("t_max", t_max)
    n_obs = _v.count("n_obs", n_obs, minimum=2)
    interval = t_max / (n_obs - 1)
    substeps = max(1, int(-(-interval // 0.05)))  # the RK4 step of rollout's default dt
    if a_fn is None:
        clean = _landau_rollout(m0, T, a0, tc, b, interval / substeps, substeps, n_obs)
    else:
        _v.callable_("a_fn", a_fn)
        _v.output_shape("a_fn", a_fn, temperatures, expected=temperatures.shape, what=" (a_fn(T) elementwise)")
        _v.finite("a_fn(temperatures)", jnp.asarray(a_fn(temperatures)), hint="; a(T) must be finite where data are made")
        clean = _general_rollout(a_fn, m0, T, b, interval / substeps, substeps, n_obs)
    observed = clean + noise * jax.random.normal(k_noise, clean.shape, dtype)
    return jnp.linspace(0.0, t_max, n_obs, dtype=dtype), T, observed, clean


def init_black_box(key, *, hidden: int = 32, depth: int = 2, dtype=None):
    """Parameters of a network :math:`g_\\theta(m, T)` for :math:`\\dot m`.

    Args:
      key: JAX random key; hidden, depth: width and number of tanh layers, >= 1; dtype: floating dtype.

    Returns:
      A list of ``(W, b)`` pairs (input 2, output 1).

    Raises:
      TypeError: ``key`` not a typed JAX key, sizes not integers, ``dtype`` not floating.
      ValueError: a size < 1.
    """
    _v.key(key)
    hidden = _v.count("hidden", hidden, minimum=1)
    depth = _v.count("depth", depth, minimum=1)
    return init_mlp(key, [2, *[hidden] * depth, 1], dtype=dtype)


def black_box_rhs(params, m, T):
    """:math:`\\dot m = g_\\theta(m, T)`, elementwise; traceable.

    Args:
      params: from :func:`init_black_box`; m, T: float arrays of one shape.

    Returns:
      float[...] :math:`\\dot m`, the shape of ``m``.

    Raises:
      TypeError: ``params`` not a network from :func:`init_black_box`; ``m`` or ``T`` not numeric, or floating
        arrays of another dtype than the parameters.
      ValueError: ``m`` and ``T`` of different shapes, or ``params`` not taking (m, T) to one number (static
        checks); an inf or nan in a concrete ``m``, ``T`` or ``params``.
    """
    dtype = _check_layers(params, "init_black_box")
    if params[0][0].shape[0] != 2 or params[-1][0].shape[1] != 1:
        raise ValueError(f"params must map (m, T) to one number, input width 2 and output width 1 (as made by "
                         f"init_black_box), got widths {params[0][0].shape[0]} and {params[-1][0].shape[1]}")
    m = _as_input("m", m, dtype, init="init_black_box")
    T = _as_input("T", T, dtype, init="init_black_box")
    if m.shape != T.shape:
        raise ValueError(f"m and T must have one shape, got {m.shape} and {T.shape}")
    x = jnp.stack([m.ravel(), T.ravel()], axis=1)
    return _mlp(params, x, name="(m, T)", init="init_black_box").reshape(m.shape)


def init_landau_model(*, alpha: float = 0.5, tau: float = 0.5, beta: float = 0.5):
    r"""Initial parameters of the Landau right-hand side :func:`landau_model_rhs`.

    The keyword names are kept for compatibility; chapter 16 writes the constants as :math:`\hat a_0 = \alpha`,
    :math:`\hat T_c = \tau` and :math:`\hat b = \beta` (this :math:`\beta` is not the critical exponent).

    Args:
      alpha: initial :math:`\alpha > 0`; tau: initial :math:`\tau`; beta: initial :math:`\beta > 0`.

    Returns:
      ``{"log_alpha": float[], "tau": float[], "log_beta": float[]}`` in JAX's default float.

    Raises:
      TypeError: a value not a number.
      ValueError: ``alpha`` or ``beta`` not > 0, ``tau`` not finite.
    """
    return {"log_alpha": jnp.log(_v.positive_float("alpha", alpha)), "tau": jnp.asarray(_v.real("tau", tau)),
            "log_beta": jnp.log(_v.positive_float("beta", beta))}


def landau_model_rhs(params, m, T):
    r""":math:`\dot m = -\alpha (T - \tau)\,m - \beta m^3` with :math:`\alpha = e^{\log\alpha}`, :math:`\beta = e^{\log\beta}`.

    Args:
      params: from :func:`init_landau_model`; m: float[...]; T: temperatures broadcasting against ``m``.

    Returns:
      float[...] :math:`\dot m`.

    Raises:
      TypeError: ``params`` not the dict of :func:`init_landau_model` (``log_alpha``, ``tau``, ``log_beta``), or
        ``m`` or ``T`` not numeric.
      ValueError: ``m`` and ``T`` do not broadcast (a static check); an inf or nan in a concrete ``m``, ``T`` or
        ``params``.
    """
    _landau_params(params)
    m, T = _state_and_temperature(m, T)
    return -jnp.exp(params["log_alpha"]) * (T - params["tau"]) * m - jnp.exp(params["log_beta"]) * m**3


def _landau_params(params) -> None:
    if not isinstance(params, dict) or not all(k in params for k in ("log_alpha", "tau", "log_beta")):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise TypeError(f"params must be the dict {{'log_alpha', 'tau', 'log_beta'}} made by init_landau_model, got {got}")
    for k in ("log_alpha", "tau", "log_beta"):
        if np.size(params[k]) != 1:
            raise ValueError(f"params[{k!r}] must be a single number, got shape {np.shape(params[k])}")
    _v.finite_tree("params", {k: params[k] for k in ("log_alpha", "tau", "log_beta")},
                   hint="; the fit diverged or the parameters were set by hand")


def landau_model_tc(params) -> float:
    """The model's critical temperature, where its :math:`a(T) = \\alpha (T - \\tau)` changes sign: :math:`\\tau`.

    Args:
      params: from :func:`init_landau_model` (or fitted).

    Returns:
      :math:`\\tau`, a Python float.

    Raises:
      TypeError: ``params`` not the dict of :func:`init_landau_model`.
      ValueError: ``params["tau"]`` not a single finite number.
    """
    _landau_params(params)
    return float(np.asarray(params["tau"]).reshape(()))


def init_hybrid_model(key, *, hidden: int = 8, b: float = 0.5, dtype=None):
    r"""Parameters of the hybrid model :func:`hybrid_model_rhs`: a network :math:`a_\theta(T)` (one hidden layer
    of ``hidden`` tanh units, input and output width 1) and :math:`\log b`.

    Args:
      key: JAX random key; hidden: hidden width, >= 1; b: initial quartic coefficient, > 0;
      dtype: floating dtype (default: JAX's default float).

    Returns:
      ``{"a": [(W, b), (W, b)], "log_b": float[]}``.

    Raises:
      TypeError: ``key`` not a typed JAX key, ``hidden`` not an integer, ``dtype`` not floating.
      ValueError: ``hidden`` < 1, ``b`` not > 0.
    """
    _v.key(key)
    hidden = _v.count("hidden", hidden, minimum=1)
    b = _v.positive_float("b", b)
    layers = init_mlp(key, [1, hidden, 1], dtype=dtype)
    return {"a": layers, "log_b": jnp.log(jnp.asarray(b, layers[0][0].dtype))}


def _hybrid_params(params):
    if not isinstance(params, dict) or set(params) != {"a", "log_b"}:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise TypeError(f"params must be the dict {{'a', 'log_b'}} made by init_hybrid_model, got {got}")
    dtype = _check_layers(params["a"], "init_hybrid_model", "params['a']")
    if params["a"][0][0].shape[0] != 1 or params["a"][-1][0].shape[1] != 1:
        raise ValueError(f"params['a'] must map T to one number (input and output width 1, as made by "
                         f"init_hybrid_model), got widths {params['a'][0][0].shape[0]} and {params['a'][-1][0].shape[1]}")
    if np.size(params["log_b"]) != 1:
        raise ValueError(f"params['log_b'] must be a single number, got shape {np.shape(params['log_b'])}")
    if not _v.is_traced(params["log_b"]):
        _v.finite_tree("params", params, hint="; the fit diverged or the parameters were set by hand")
    return dtype


def hybrid_model_a(params, T):
    r"""The learned Landau coefficient :math:`a_\theta(T)` of the hybrid model; traceable.

    Args:
      params: from :func:`init_hybrid_model` (or fitted); T: float[...] temperatures.

    Returns:
      float[...] :math:`a_\theta(T)`, the shape of ``T``.

    Raises:
      TypeError: ``params`` not the dict of :func:`init_hybrid_model`; ``T`` not numeric, or of another floating
        dtype than the parameters.
      ValueError: ``params`` of the wrong widths; an inf or nan in a concrete ``T`` or ``params``.
    """
    dtype = _hybrid_params(params)
    T = _as_input("T", T, dtype, init="init_hybrid_model")
    return _mlp(params["a"], T.reshape(-1, 1), name="T", init="init_hybrid_model").reshape(T.shape)


def hybrid_model_rhs(params, m, T):
    r"""Gradient flow :math:`\dot m = -\partial F/\partial m = -a_\theta(T)\,m - b\,m^3` of the hybrid free
    energy :math:`F = \tfrac12 a_\theta(T) m^2 + \tfrac14 b m^4`, with :math:`b = e^{\log b}`; traceable.

    Args:
      params: from :func:`init_hybrid_model`; m, T: float arrays of one shape.

    Returns:
      float[...] :math:`\dot m`, the shape of ``m``.

    Raises:
      TypeError: ``params`` not the dict of :func:`init_hybrid_model`; ``m`` or ``T`` not numeric, or of another
        floating dtype than the parameters.
      ValueError: ``m`` and ``T`` of different shapes; an inf or nan in a concrete ``m``, ``T`` or ``params``.
    """
    dtype = _hybrid_params(params)
    m = _as_input("m", m, dtype, init="init_hybrid_model")
    T = _as_input("T", T, dtype, init="init_hybrid_model")
    if m.shape != T.shape:
        raise ValueError(f"m and T must have one shape, got {m.shape} and {T.shape}")
    return -hybrid_model_a(params, T) * m - jnp.exp(params["log_b"]) * m**3


def hybrid_model_tc(params, *, T_range: tuple[float, float] = (0.0, 3.0), n_grid: int = 3001):
    r"""The hybrid model's critical temperature: the lowest temperature in ``T_range`` where
    :math:`a_\theta(T)` changes sign from negative to positive (grid search, then bisection to rounding).

    Args:
      params: from :func:`init_hybrid_model` (or fitted).
      T_range: ``(low, high)``, the temperatures searched, low < high; n_grid: grid points, >= 2.

    Returns:
      :math:`T_c` as a Python float, or None when :math:`a_\theta` does not cross zero upwards in ``T_range``
      (the model predicts no transition there).

    Raises:
      TypeError: ``params`` not the dict of :func:`init_hybrid_model`, ``n_grid`` not an integer.
      ValueError: a bad ``T_range`` or ``n_grid``; an inf or nan in ``params``.
    """
    dtype = _hybrid_params(params)
    if not isinstance(T_range, (tuple, list)) or len(T_range) != 2:
        raise ValueError(f"T_range must be a pair (low, high), got {T_range!r}")
    low, high = _v.real("T_range[0]", T_range[0]), _v.real("T_range[1]", T_range[1])
    if not high > low:
        raise ValueError(f"T_range must have low < high, got {T_range!r}")
    n_grid = _v.count("n_grid", n_grid, minimum=2)
    grid = jnp.linspace(low, high, n_grid, dtype=dtype)
    a = np.asarray(hybrid_model_a(params, grid))
    up = np.nonzero((a[:-1] < 0) & (a[1:] >= 0))[0]
    if up.size == 0:
        return None
    lo, hi = float(grid[up[0]]), float(grid[up[0] + 1])
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if float(hybrid_model_a(params, jnp.asarray(mid, dtype))) < 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def landau_model_tc_error(params, times, T, observed, *, dt: float = 0.05) -> float:
    r"""Standard error of the fitted critical temperature :math:`\tau` of :func:`landau_model_rhs`, from the
    Gauss-Newton covariance :math:`\hat\sigma^2 (J^\top J)^{-1}` of the three parameters, where :math:`J` is the
    Jacobian of all predicted observations (integrated as in :func:`fit_trajectories`) with respect to
    (:math:`\log\alpha, \log\beta, \tau`) and :math:`\hat\sigma^2` the residual sum of squares over
    :math:`N - 3` (N observations after the first of each curve). Meaningful at a least-squares minimum; it
    treats the first observation of each curve, the start of the integration, as exact.

    Args:
      params: fitted parameters of :func:`landau_model_rhs`.
      times: float[n_obs] equally spaced; T: float[n_curves]; observed: float[n_obs, n_curves] (as for
        :func:`fit_trajectories`); dt: largest RK4 step, > 0.

    Returns:
      The standard error of :math:`\tau`, a Python float.

    Raises:
      TypeError: ``params`` not the dict of :func:`init_landau_model`; arrays not numeric.
      ValueError: the shapes or times that :func:`fit_trajectories` refuses.
    """
    _landau_params(params)
    times, T, observed, interval, substeps = _trajectory_data(times, T, observed, dt)
    p = {k: jnp.asarray(params[k], observed.dtype).reshape(()) for k in ("log_alpha", "tau", "log_beta")}
    return float(_tc_error(p, observed, T, interval, substeps))


@functools.partial(jax.jit, static_argnames=("substeps",))
def _tc_error(params, observed, T, interval, substeps):
    flat, unravel = ravel_pytree(params)
    n_obs = observed.shape[0]

    def residuals(x):
        p = unravel(x)
        predicted = _integrate(lambda m, temp: landau_model_rhs(p, m, temp), observed[0], T, interval / substeps,
                               substeps, n_obs)
        return (predicted - observed)[1:].ravel()

    r = residuals(flat)
    J = jax.jacfwd(residuals)(flat)
    sigma2 = jnp.sum(r**2) / (r.size - flat.size)
    cov = sigma2 * jnp.linalg.inv(J.T @ J)
    return unravel(jnp.sqrt(jnp.diag(cov)))["tau"]


@functools.partial(jax.jit, static_argnames=("rhs", "n_steps", "substeps"))
def _fit(rhs, params, observed, T, interval, lr, n_steps, substeps):
    dt = interval / substeps
    n_obs = observed.shape[0]

    def loss(p):
        f = lambda m, temp: rhs(p, m, temp)
        predicted = _integrate(f, observed[0], T, dt, substeps, n_obs)
        return jnp.mean((predicted - observed) ** 2)

    return adam_scan(loss, params, lr=lr, n_steps=n_steps)


@functools.partial(jax.jit, static_argnames=("rhs", "n_steps", "substeps"))
def _fit_lm(rhs, params, observed, T, interval, damping, n_steps, substeps):
    """Levenberg-Marquardt on the residuals of all observations, as one ``lax.scan``: solve
    (J^T J + lambda diag(J^T J)) delta = -J^T r, accept the step if the loss drops (then lambda /= 3), else
    reject it (lambda *= 3). The Jacobian comes from forward-mode differentiation through the integrator."""
    dt = interval / substeps
    n_obs = observed.shape[0]
    flat0, unravel = ravel_pytree(params)

    def residuals(x):
        p = unravel(x)
        predicted = _integrate(lambda m, temp: rhs(p, m, temp), observed[0], T, dt, substeps, n_obs)
        return (predicted - observed).ravel()

    def loss(x):
        return jnp.mean(residuals(x) ** 2)

    eye = jnp.eye(flat0.size, dtype=flat0.dtype)
    tiny = jnp.finfo(flat0.dtype).eps

    def step(carry, _):
        x, lam, current = carry
        r = residuals(x)
        J = jax.jacfwd(residuals)(x)
        H = J.T @ J
        scale = jnp.diag(H) + tiny * jnp.max(jnp.diag(H)) * 1e3
        delta = jnp.linalg.solve(H + lam * scale * eye, -(J.T @ r))
        trial = loss(x + delta)
        better = trial < current  # a nan trial (a singular solve) counts as worse
        x = jnp.where(better, x + delta, x)
        lam = jnp.where(better, lam / 3, lam * 3)
        return (x, lam, jnp.where(better, trial, current)), current

    first = loss(flat0)
    (x, _, _), history = jax.lax.scan(step, (flat0, jnp.asarray(damping, flat0.dtype), first), None,
                                      length=n_steps)
    return unravel(x), history


def _trajectory_data(times, T, observed, dt):
    """Validated observation data: times, temperatures, observations, the interval and the RK4 substeps."""
    times = _v.float_array("times", times, ndim=1, finite=True)
    if times.shape[0] < 2:
        raise ValueError(f"times must hold at least two observation times (a start and one more), got {times.shape[0]}")
    observed = _v.float_array("observed", observed, finite=True)
    if observed.ndim != 2 or observed.shape[0] != times.shape[0] or observed.shape[1] < 1:
        transposed = observed.ndim == 2 and observed.shape[1] == times.shape[0]
        raise ValueError(f"observed must be [n_obs, n_curves] with n_obs = {times.shape[0]} rows (one per time), got "
                         f"{observed.shape}" + ("; it looks transposed: pass observed.T" if transposed else ""))
    T = _v.float_array("T", T, ndim=1, finite=True).astype(observed.dtype)
    if T.shape != (observed.shape[1],):
        raise ValueError(f"T must hold one temperature per curve, n_curves = {observed.shape[1]} (the columns of "
                         f"observed), got shape {T.shape}")
    steps = np.diff(np.asarray(times, np.float64))
    interval = float(steps[0])
    if interval <= 0 or np.any(steps <= 0):
        raise ValueError(f"times must increase, got steps from {steps.min():.6g} to {steps.max():.6g}")
    if np.max(np.abs(steps - interval)) > 1e-6 * interval:
        raise ValueError(
            f"times must be equally spaced (the integrator steps from one observation to the next by a fixed "
            f"interval), got steps from {steps.min():.6g} to {steps.max():.6g}"
        )
    substeps = max(1, int(-(-interval // _v.positive_float("dt", dt))))
    return times, T, observed, interval, substeps


def fit_trajectories(rhs: Callable, params, times, T, observed, *, lr: float = 1e-2, n_steps: int = 1000,
                     dt: float = 0.05, optimizer: str = "adam", damping: float = 1.0):
    r"""Neural-ODE training: fit ``rhs(params, m, T)`` so that its RK4 solutions from the first observation
    of every curve match all observations (mean squared error), through the integrator.

    Two optimizers: ``"adam"`` (reverse-mode gradients through the integrator, cosine schedule peaking at
    ``lr``) and ``"levenberg-marquardt"`` (forward-mode Jacobian of all residuals through the integrator, the
    damped Gauss-Newton step :math:`(J^\top J + \lambda\,\mathrm{diag}\,J^\top J)\,\delta = -J^\top r`,
    :math:`\lambda` divided by 3 after an accepted step and multiplied by 3 after a rejected one). The second
    builds an [n_residuals, n_params] Jacobian, so it suits models of up to a few hundred parameters.

    Args:
      rhs: :func:`black_box_rhs`, :func:`landau_model_rhs`, :func:`hybrid_model_rhs` (or any
        ``(params, m, T) -> dm/dt``).
      params: initial parameters.
      times: float[n_obs] equally spaced, increasing observation times (n_obs >= 2; the first need not be 0).
      T: float[n_curves] temperatures; observed: float[n_obs, n_curves].
      lr: peak learning rate of Adam, > 0 (unused by Levenberg-Marquardt); n_steps: optimizer steps, >= 1;
      dt: largest RK4 step, > 0.
      optimizer: ``"adam"`` or ``"levenberg-marquardt"``; damping: the initial :math:`\lambda` of
        Levenberg-Marquardt, > 0.

    Returns:
      ``(params, history)``: the fitted parameters and the loss before every step, float[n_steps] (for
      Levenberg-Marquardt, the loss of the accepted parameters before each step, never increasing).

    Raises:
      ConvergenceError: the loss became non-finite (lower ``lr`` or ``dt``).
      TypeError: ``rhs`` not callable, arrays not numeric, counts not integers.
      ValueError: fewer than two times, times not increasing and equally spaced (to 1e-6 relative),
        ``observed`` not [n_obs, n_curves], ``T`` not [n_curves], an inf or nan in ``times``, ``observed`` or
        ``T``, bad ``lr``, ``n_steps``, ``dt`` or ``damping``, an unknown ``optimizer``, ``rhs`` failing on
        ``params`` or with an output of another shape.
    """
    _v.callable_("rhs", rhs)
    times, T, observed, interval, substeps = _trajectory_data(times, T, observed, dt)
    lr = _v.positive_float("lr", lr)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    optimizer = _v.choice("optimizer", optimizer, ("adam", "levenberg-marquardt"))
    damping = _v.positive_float("damping", damping)
    _v.output_shape("rhs", rhs, params, observed[0], T, expected=T.shape, what=" (rhs(params, m, T) elementwise)")
    if optimizer == "adam":
        params, history = _fit(rhs, params, observed, T, interval, lr, n_steps, substeps)
    else:
        params, history = _fit_lm(rhs, params, observed, T, interval, damping, n_steps, substeps)
    require_finite_history("fit_trajectories", history, lr)
    return params, history
