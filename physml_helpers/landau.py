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
* :func:`fit_trajectories`: neural-ODE training, differentiating through the RK4 integration of
  :mod:`physml_helpers.integrators`-style steps inside one ``lax.scan``.
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

from physml_helpers import _validation as _v
from physml_helpers.integrators import rk4_step
from physml_helpers.networks import adam_scan, init_mlp, mlp

__all__ = [
    "landau_rhs", "equilibrium_order_parameter", "simulate", "rollout",
    "init_black_box", "black_box_rhs", "init_landau_model", "landau_model_rhs", "landau_model_tc",
    "fit_trajectories",
]


def landau_rhs(m, T, *, a0: float = 1.0, tc: float = 1.0, b: float = 1.0):
    r""":math:`\dot m = -a_0 (T - T_c)\,m - b\,m^3`, elementwise."""
    return -a0 * (T - tc) * m - b * m**3


def equilibrium_order_parameter(T, *, a0: float = 1.0, tc: float = 1.0, b: float = 1.0):
    r"""The stable fixed point :math:`m^* = \sqrt{\max(0, a_0 (T_c - T)/b)}` (the positive branch)."""
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
    r"""Integrate :math:`\dot m = ` ``rhs(m, T)`` from ``m0`` (any shape; ``T`` broadcast against it) and
    return the states at ``n_obs`` equally spaced times from 0 to ``t_max``, shape ``[n_obs, *m0.shape]``.
    The RK4 step is at most ``dt``."""
    _v.callable_("rhs", rhs)
    m0 = _v.float_array("m0", m0)
    T = jnp.broadcast_to(_v.float_array("T", T), m0.shape).astype(m0.dtype)
    t_max = _v.positive_float("t_max", t_max)
    n_obs = _v.count("n_obs", n_obs, minimum=2)
    dt = _v.positive_float("dt", dt)
    interval = t_max / (n_obs - 1)
    substeps = max(1, int(-(-interval // dt)))
    return _integrate(rhs, m0, T, jnp.asarray(interval / substeps, m0.dtype), substeps, n_obs)


def simulate(key, temperatures, *, n_traj: int = 8, t_max: float = 10.0, n_obs: int = 41, noise: float = 0.01,
             m0_range: tuple[float, float] = (0.05, 1.2), a0: float = 1.0, tc: float = 1.0, b: float = 1.0):
    r"""Noisy relaxation curves of the Landau model.

    For every temperature, ``n_traj`` starting values with :math:`|m_0|` uniform in ``m0_range`` and random
    sign are integrated to ``t_max`` and observed at ``n_obs`` times, with Gaussian noise of standard
    deviation ``noise`` added to every observation (including the first).

    Returns:
      ``(times [n_obs], T [n_T * n_traj], observed [n_obs, n_T * n_traj], clean [n_obs, n_T * n_traj])``.
    """
    _v.key(key)
    temperatures = _v.float_array("temperatures", temperatures).reshape(-1)
    n_traj = _v.count("n_traj", n_traj, minimum=1)
    noise = _v.positive_float("noise", noise, allow_zero=True)
    k_mag, k_sign, k_noise = jax.random.split(key, 3)
    size = temperatures.size * n_traj
    low, high = m0_range
    m0 = jax.random.uniform(k_mag, (size,), minval=low, maxval=high) * jax.random.choice(k_sign, jnp.array([-1.0, 1.0]), (size,))
    T = jnp.repeat(temperatures, n_traj)
    clean = rollout(functools.partial(landau_rhs, a0=a0, tc=tc, b=b), m0, T, t_max=t_max, n_obs=n_obs)
    observed = clean + noise * jax.random.normal(k_noise, clean.shape)
    return jnp.linspace(0.0, t_max, n_obs), T, observed, clean


def init_black_box(key, *, hidden: int = 32, depth: int = 2, dtype=None):
    """Parameters of a network :math:`g_\\theta(m, T)` for :math:`\\dot m`."""
    _v.key(key)
    hidden = _v.count("hidden", hidden, minimum=1)
    depth = _v.count("depth", depth, minimum=1)
    return init_mlp(key, [2, *[hidden] * depth, 1], dtype=dtype)


def black_box_rhs(params, m, T):
    """:math:`\\dot m = g_\\theta(m, T)`, elementwise over arrays of one shape."""
    x = jnp.stack([m.ravel(), T.ravel()], axis=1)
    return mlp(params, x).reshape(m.shape)


def init_landau_model(*, alpha: float = 0.5, tau: float = 0.5, beta: float = 0.5):
    """Initial parameters of the Landau right-hand side: ``log_alpha``, ``tau``, ``log_beta``."""
    return {"log_alpha": jnp.log(_v.positive_float("alpha", alpha)), "tau": jnp.asarray(_v.real("tau", tau)),
            "log_beta": jnp.log(_v.positive_float("beta", beta))}


def landau_model_rhs(params, m, T):
    r""":math:`\dot m = -\alpha (T - \tau)\,m - \beta m^3` with :math:`\alpha = e^{\log\alpha}`, :math:`\beta = e^{\log\beta}`."""
    return -jnp.exp(params["log_alpha"]) * (T - params["tau"]) * m - jnp.exp(params["log_beta"]) * m**3


def landau_model_tc(params) -> float:
    """The model's critical temperature, where its :math:`a(T) = \\alpha (T - \\tau)` changes sign: :math:`\\tau`."""
    return float(params["tau"])


@functools.partial(jax.jit, static_argnames=("rhs", "n_steps", "substeps"))
def _fit(rhs, params, observed, T, interval, lr, n_steps, substeps):
    dt = interval / substeps
    n_obs = observed.shape[0]

    def loss(p):
        f = lambda m, temp: rhs(p, m, temp)
        predicted = _integrate(f, observed[0], T, dt, substeps, n_obs)
        return jnp.mean((predicted - observed) ** 2)

    return adam_scan(loss, params, lr=lr, n_steps=n_steps)


def fit_trajectories(rhs: Callable, params, times, T, observed, *, lr: float = 1e-2, n_steps: int = 1000,
                     dt: float = 0.05):
    r"""Neural-ODE training: fit ``rhs(params, m, T)`` so that its RK4 solutions from the first observation
    of every curve match all observations (mean squared error), by Adam through the integrator.

    Args:
      rhs: :func:`black_box_rhs` or :func:`landau_model_rhs` (or any ``(params, m, T) -> dm/dt``).
      params: initial parameters.
      times: ``[n_obs]`` equally spaced observation times starting at 0.
      T: ``[n_curves]`` temperatures; observed: ``[n_obs, n_curves]``.
      lr: peak learning rate (cosine schedule); n_steps: Adam steps; dt: largest RK4 step.

    Returns:
      ``(params, history)``.
    """
    _v.callable_("rhs", rhs)
    times = _v.float_array("times", times)
    observed = _v.float_array("observed", observed)
    T = _v.float_array("T", T).astype(observed.dtype)
    if observed.ndim != 2 or observed.shape != (times.shape[0], T.shape[0]):
        raise ValueError(f"observed must be [n_obs, n_curves] = [{times.shape[0]}, {T.shape[0]}], got {observed.shape}")
    interval = float(times[1] - times[0])
    if interval <= 0:
        raise ValueError("times must increase")
    substeps = max(1, int(-(-interval // _v.positive_float("dt", dt))))
    lr = _v.positive_float("lr", lr)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    return _fit(rhs, params, observed, T, jnp.asarray(interval, observed.dtype), jnp.asarray(lr, observed.dtype),
                n_steps, substeps)
