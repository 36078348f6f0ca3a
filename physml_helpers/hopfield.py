r"""The Hopfield network as an Ising model (chapter 5).

Patterns :math:`\xi^\mu \in \{\pm1\}^N`, :math:`\mu = 1..P`, are stored in Hebbian couplings

.. math:: J_{ij} = \frac1N \sum_\mu \xi_i^\mu \xi_j^\mu \quad (i \ne j), \qquad J_{ii} = 0,

and a state :math:`s \in \{\pm1\}^N` has the energy :math:`E(s) = -\tfrac12 s^\top J s`. Single spins are
updated one at a time in a random order (asynchronous dynamics): at temperature :math:`T = 0` a spin aligns
with its local field :math:`h_i = \sum_j J_{ij} s_j` (and keeps its value when :math:`h_i = 0`), which never
raises :math:`E`; at :math:`T > 0` Glauber (heat-bath) dynamics sets :math:`s_i = +1` with probability
:math:`(1 + \tanh(h_i/T))/2`, which samples :math:`e^{-E/T}`. The overlap with pattern :math:`\mu` is
:math:`m_\mu = \xi^\mu\cdot s/N`.

Closed forms used to test simulations: the Mattis (Curie–Weiss) overlap :math:`m = \tanh(m/T)` for one
pattern, the one-step error probability :math:`\tfrac12\operatorname{erfc}(1/\sqrt{2\alpha})`, and the
zero-temperature retrieval solution of Amit, Gutfreund and Sompolinsky (AGS, 1985).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v
from physml_helpers._kernels import Kernel, scan_kernel

__all__ = [
    "hebbian_couplings", "energy", "overlaps", "GlauberState", "GlauberInfo", "glauber_kernel", "glauber",
    "zero_temperature_dynamics", "mattis_overlap", "one_step_error_probability", "ags_retrieval",
    "ags_capacity",
]


def _patterns(name, patterns):
    arr = _v.float_array(name, patterns, ndim=2, nonempty=True)
    _v.spins(name, arr)
    return arr


def _state(name, s, n):
    arr = _v.float_array(name, s, nonempty=True)
    if arr.shape[-1] != n:
        raise ValueError(f"{name} must have last dimension N = {n} (the number of neurons), got shape {arr.shape}")
    _v.spins(name, arr)
    return arr


def _couplings(name, couplings):
    arr = _v.float_array(name, couplings, ndim=2, finite=True, nonempty=True)
    if arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square [N, N] matrix, got shape {arr.shape}")
    return arr


def hebbian_couplings(patterns) -> jax.Array:
    r"""Hebbian couplings :math:`J = \frac1N \sum_\mu \xi^\mu \xi^{\mu\top}` with zero diagonal.

    Args:
      patterns: float[P, N] of +1/-1, one stored pattern per row.

    Returns:
      float[N, N], symmetric, zero diagonal, dtype of ``patterns`` (integers become the default float).

    Raises:
      TypeError: not a real array.
      ValueError: not two-dimensional, empty, or entries other than +1 and -1.
    """
    xi = _patterns("patterns", patterns)
    n = xi.shape[1]
    J = xi.T @ xi / n
    return J * (1 - jnp.eye(n, dtype=J.dtype))


def energy(couplings, s) -> jax.Array:
    r"""Ising energy :math:`E(s) = -\tfrac12 s^\top J s` (batched over leading axes of ``s``).

    Args:
      couplings: float[N, N] symmetric couplings.
      s: float[..., N] states of +1/-1.

    Returns:
      float[...], the energy of each state.

    Raises:
      TypeError: not real arrays.
      ValueError: ``couplings`` not square or not finite, ``s`` of the wrong length or not +1/-1.
    """
    J = _couplings("couplings", couplings)
    s = _state("s", s, J.shape[0])
    return -0.5 * jnp.einsum("...i,ij,...j->...", s, J, s)


def overlaps(patterns, s) -> jax.Array:
    r"""Overlaps :math:`m_\mu = \xi^\mu \cdot s / N` of states with every pattern.

    Args:
      patterns: float[P, N] of +1/-1.
      s: float[..., N] of +1/-1.

    Returns:
      float[..., P], each in [-1, 1].

    Raises:
      TypeError: not real arrays.
      ValueError: wrong shapes or entries other than +1/-1.
    """
    xi = _patterns("patterns", patterns)
    s = _state("s", s, xi.shape[1])
    return s @ xi.T / xi.shape[1]


class GlauberState(NamedTuple):
    """State of asynchronous dynamics: spins ``s`` float[N] and overlaps ``m = xi s / N`` float[P]."""

    s: jax.Array
    m: jax.Array


class GlauberInfo(NamedTuple):
    """What one sweep did: ``flips`` (number of spins that changed) and ``energy`` after the sweep."""

    flips: jax.Array
    energy: jax.Array


def _pattern_energy(xi, m):
    # E = -1/2 sum_{i != j} J_ij s_i s_j = -(N/2)|m|^2 + sum_{i,mu} xi_{mu i}^2 / (2N)
    n = xi.shape[1]
    return -0.5 * n * jnp.sum(m**2) + 0.5 * jnp.sum(xi**2) / n


def glauber_kernel(patterns, temperature) -> Kernel:
    r"""Asynchronous single-spin dynamics of the Hebbian network, one step = one sweep of N updates.

    The local field is computed from the overlaps, :math:`h_i = \sum_\mu \xi_i^\mu m_\mu - s_i\sum_\mu(\xi_i^\mu)^2/N`
    (the Hebbian :math:`J s` without the diagonal), so an update costs O(P), not O(N), and no N x N matrix
    is stored. Each sweep visits the spins in a fresh random order. At ``temperature > 0`` an update is a
    heat-bath (Glauber) move, :math:`P(s_i = +1) = \tfrac12[1 + \tanh(h_i/T)]`, which leaves
    :math:`e^{-E/T}` invariant; at ``temperature = 0`` the spin takes the sign of :math:`h_i` and keeps its
    value when :math:`h_i = 0`, so :math:`E` never increases. ``temperature`` may be traced (vmap over it);
    rows of zeros in ``patterns`` are inactive, so loads can be batched with one padded shape.

    Args:
      patterns: float[P, N] stored patterns (+1/-1, or 0 in padding rows).
      temperature: T >= 0 (a concrete number is checked; a traced one is used as is).

    Returns:
      ``Kernel(init, step)``: ``init(s)`` with ``s`` float[N] of +1/-1 builds a :class:`GlauberState`;
      ``step(key, state) -> (state, GlauberInfo)``.

    Raises:
      TypeError: non-real input.
      ValueError: patterns not two-dimensional or with entries other than +1, -1 and 0; a negative temperature.
    """
    xi = _v.float_array("patterns", patterns, ndim=2, nonempty=True)
    if not _v.is_traced(xi):
        values = np.asarray(xi)
        if not np.all(np.isin(values, (-1.0, 0.0, 1.0))):
            raise ValueError("patterns must hold +1/-1 (or 0 in padding rows), got other values")
    if not _v.is_traced(temperature):
        temperature = _v.positive_float("temperature", temperature, allow_zero=True)
    n = xi.shape[1]

    def init(s):
        s = _state("s", s, n).astype(xi.dtype)
        return GlauberState(s, xi @ s / n)

    def step(key, state):
        k_order, k_accept = jax.random.split(key)
        order = jnp.argsort(jax.random.uniform(k_order, (n,)))  # a random order (one sort: cheap to compile)
        u = jax.random.uniform(k_accept, (n,), dtype=xi.dtype)
        t = jnp.asarray(temperature, xi.dtype)
        m, new = _sweep(xi, state.s, state.m, order, lambda h, s_old, ui: jnp.where(
            t > 0, jnp.where(ui < 0.5 * (1 + jnp.tanh(h / jnp.where(t > 0, t, 1.0))), 1.0, -1.0), _align(h, s_old)), u)
        s = state.s.at[order].set(new)
        return GlauberState(s, m), GlauberInfo(jnp.sum(s != state.s), _pattern_energy(xi, m))

    return Kernel(init, step)


def glauber(key, patterns, s0, temperature, n_sweeps: int, *, record_every: int = 1):
    r"""Run :func:`glauber_kernel` for ``n_sweeps`` sweeps from ``s0``; traceable (vmap over keys, states, T).

    Args:
      key: JAX random key.
      patterns: float[P, N] stored patterns.
      s0: float[N] initial spins (+1/-1).
      temperature: T >= 0.
      n_sweeps: number of sweeps (static), a multiple of ``record_every``.
      record_every: record every this many sweeps.

    Returns:
      ``(s_final, overlaps, info)``: float[N]; float[n_sweeps // record_every, P] overlaps after each recorded
      sweep; :class:`GlauberInfo` of those sweeps (flips and energy, stacked).

    Raises:
      TypeError: a bad key or non-real input.
      ValueError: see :func:`glauber_kernel`; ``n_sweeps`` not a positive multiple of ``record_every``.
    """
    _v.key(key)
    n_sweeps = _v.count("n_sweeps", n_sweeps, minimum=1)
    record_every = _v.count("record_every", record_every, minimum=1)
    if n_sweeps % record_every:
        raise ValueError(f"n_sweeps ({n_sweeps}) must be a multiple of record_every ({record_every})")
    kernel = glauber_kernel(patterns, temperature)
    state, history, info = scan_kernel(kernel.step, kernel.init(s0), n_sweeps, key, record_every=record_every,
                                       record=lambda st: st.m)
    return state.s, history, info


def zero_temperature_dynamics(key, patterns, s0, *, max_sweeps: int = 50):
    r"""Asynchronous T = 0 dynamics of the Hebbian network for ``max_sweeps`` sweeps, every update recorded.

    Every single-spin update's energy is returned, so the claim that :math:`E` never increases can be
    checked on each of them; ``converged`` says whether some sweep flipped no spin (a fixed point).

    Args:
      key: JAX random key (the update order).
      patterns: float[P, N] stored patterns (+1/-1, or 0 in padding rows).
      s0: float[N] initial spins.
      max_sweeps: number of sweeps (static).

    Returns:
      ``(s_final, energies, converged)``: float[N]; float[max_sweeps * N + 1] energy before the first and
      after every single-spin update; bool.

    Raises:
      TypeError: a bad key or non-real input.
      ValueError: see :func:`glauber_kernel`; max_sweeps < 1.
    """
    _v.key(key)
    max_sweeps = _v.count("max_sweeps", max_sweeps, minimum=1)
    kernel = glauber_kernel(patterns, 0.0)
    xi = jnp.asarray(patterns).astype(jnp.result_type(patterns, float))
    n = xi.shape[1]
    state0 = kernel.init(s0)

    def sweep(carry, k):
        state, done = carry
        order = jnp.argsort(jax.random.uniform(k, (n,)))
        m, new, energies = _sweep(xi, state.s, state.m, order, lambda h, s_old, _: _align(h, s_old), None,
                                  record_energy=True)
        s = state.s.at[order].set(new)
        return (GlauberState(s, m), done | jnp.all(s == state.s)), energies

    (state, done), energies = jax.lax.scan(sweep, (state0, jnp.asarray(False)), jax.random.split(key, max_sweeps))
    e0 = _pattern_energy(xi, state0.m)
    return state.s, jnp.concatenate([e0[None], energies.reshape(-1)]), done


def _align(h, s_old):
    # T = 0: follow the field, keep the spin on a tie (so the energy never rises)
    return jnp.where(h > 0, 1.0, jnp.where(h < 0, -1.0, s_old))


def _sweep(xi, s, m, order, rule, u, *, record_energy=False):
    """One sweep in the given order. Each spin is visited once, so its old value is its value at the start of
    the sweep: the scan carries only the overlaps m (no scatter into s inside the loop, which is slow under vmap)."""
    n = xi.shape[1]
    cols, olds = xi[:, order].T, s[order]
    us = jnp.zeros(n, xi.dtype) if u is None else u

    constant = 0.5 * jnp.sum(xi**2) / n  # the diagonal term of the energy, computed once per sweep

    def update(m, inputs):
        col, s_old, ui = inputs
        h = col @ m - (col @ col / n) * s_old
        new = rule(h, s_old, ui).astype(xi.dtype)
        m = m + (new - s_old) * col / n
        return m, ((new, constant - 0.5 * n * jnp.sum(m**2)) if record_energy else new)

    m, out = jax.lax.scan(update, m, (cols, olds, us))
    return (m, *out) if record_energy else (m, out)


def mattis_overlap(temperature, *, tol: float = 1e-13) -> float:
    r"""The positive solution of the Curie–Weiss (Mattis) equation :math:`m = \tanh(m/T)`.

    Args:
      temperature: T > 0 (units with :math:`J = \frac1N\xi\xi^\top`, so :math:`T_c = 1`).
      tol: absolute tolerance of the root.

    Returns:
      m in [0, 1): 0 for T >= 1.

    Raises:
      TypeError: not a real number.
      ValueError: T <= 0 or not finite.
    """
    from scipy.optimize import brentq

    t = _v.positive_float("temperature", temperature)
    tol = _v.positive_float("tol", tol)
    if t >= 1:
        return 0.0
    return float(brentq(lambda m: m - math.tanh(m / t), 1e-12 if t > 0.999 else 1e-6, 1.0, xtol=tol))


def one_step_error_probability(alpha) -> jax.Array:
    r"""Probability that a spin of a stored pattern is unstable, :math:`\tfrac12\operatorname{erfc}(1/\sqrt{2\alpha})`.

    The crosstalk field of :math:`P - 1 \approx \alpha N` other patterns is Gaussian with variance
    :math:`\alpha`, and the signal is 1.

    Args:
      alpha: float[...] loads P/N > 0.

    Returns:
      float[...] probabilities.

    Raises:
      TypeError: non-real input.
      ValueError: a load <= 0 or not finite.
    """
    a = _v.float_array("alpha", alpha, finite=True)
    if not _v.is_traced(a) and bool(jnp.any(a <= 0)):
        raise ValueError(f"alpha must be > 0 (a load P/N), got {np.asarray(a)}")
    return 0.5 * jax.scipy.special.erfc(1 / jnp.sqrt(2 * a))


def _ags_alpha_of_y(y):
    from scipy.special import erf

    return 0.5 * (erf(y) / y - 2 / math.sqrt(math.pi) * math.exp(-y * y)) ** 2


def ags_capacity() -> tuple[float, float]:
    r"""The AGS zero-temperature capacity and the retrieval overlap there.

    With :math:`y = m/\sqrt{2\alpha r}` the replica-symmetric T = 0 equations reduce to
    :math:`\sqrt{2\alpha} = \operatorname{erf}(y)/y - \tfrac{2}{\sqrt\pi}e^{-y^2}`, :math:`m = \operatorname{erf}(y)`;
    the capacity is the largest :math:`\alpha` with a solution.

    Returns:
      ``(alpha_c, m_c)``, about (0.138, 0.967).

    Raises:
      Nothing (no input).
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import erf

    res = minimize_scalar(lambda y: -_ags_alpha_of_y(y), bounds=(0.5, 3.0), method="bounded",
                          options={"xatol": 1e-12})
    return float(_ags_alpha_of_y(res.x)), float(erf(res.x))


def ags_retrieval(alpha) -> float:
    r"""The AGS retrieval overlap m at T = 0 and load ``alpha`` (NaN above the capacity).

    Args:
      alpha: load P/N > 0.

    Returns:
      m = erf(y) for the retrieval branch (the largest solution y); NaN if ``alpha`` exceeds :func:`ags_capacity`.

    Raises:
      TypeError: not a real number.
      ValueError: alpha <= 0.
    """
    from scipy.optimize import brentq, minimize_scalar
    from scipy.special import erf

    a = _v.positive_float("alpha", alpha)
    res = minimize_scalar(lambda y: -_ags_alpha_of_y(y), bounds=(0.5, 3.0), method="bounded", options={"xatol": 1e-12})
    if a > _ags_alpha_of_y(res.x):
        return float("nan")
    y = brentq(lambda y: _ags_alpha_of_y(y) - a, res.x, 1e6, xtol=1e-14)
    return float(erf(y))
