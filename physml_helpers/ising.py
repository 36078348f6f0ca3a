r"""The two-dimensional Ising model: exact results that Monte Carlo data are checked against (chapter 8).

Convention of the course: :math:`H = -J\sum_{\langle ij\rangle} s_i s_j` on an :math:`L\times L` torus with
:math:`J = 1` and :math:`k_B = 1`, energy per site :math:`u = \langle H\rangle / N`, :math:`N = L^2`,
coupling :math:`K = J/T`.

* :func:`kaufman_log_partition`, :func:`kaufman_energy`: the exact partition function of the finite torus
  (Kaufman 1949, in the form of Beale 1996) and the energy per site :math:`u = -N^{-1}\,\partial\ln Z/\partial K`,
  differentiated analytically.
* :func:`onsager_energy`, :func:`onsager_magnetization`: the infinite lattice (Onsager 1944; Yang 1952).
* :func:`energy_per_site`, :func:`magnetization`: the observables of one configuration or of a batch.
* :data:`CRITICAL_TEMPERATURE`: :math:`T_c = 2/\ln(1+\sqrt2)`.

The exact formulas are evaluated in NumPy float64 whatever JAX's precision, since they are references.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v

__all__ = [
    "CRITICAL_TEMPERATURE", "kaufman_log_partition", "kaufman_energy", "onsager_energy", "onsager_magnetization",
    "energy_per_site", "magnetization",
]

CRITICAL_TEMPERATURE = 2.0 / math.log(1.0 + math.sqrt(2.0))
_K_MAX = 100.0  # above K = 100 (T < 0.01) every correction to the ground state is below e^{-800}: zero in float64


def _temperatures(temperature) -> np.ndarray:
    """Concrete temperatures as a float64 array (any shape), each finite and > 0."""
    if isinstance(temperature, (str, bytes)) or temperature is None or isinstance(temperature, bool):
        raise TypeError(f"temperature must be a positive number or an array of them, got {temperature!r}")
    if _v.is_traced(temperature):
        raise TypeError("temperature must be concrete (these exact formulas are evaluated in NumPy), not traced")
    try:
        t = np.asarray(temperature)
    except (TypeError, ValueError):
        raise TypeError(f"temperature must be a positive number or an array of them, got {temperature!r}") from None
    if t.dtype == object or t.dtype.kind not in "iuf":
        raise TypeError(f"temperature must hold real numbers, got dtype {t.dtype}")
    t = t.astype(np.float64)
    bad = ~(np.isfinite(t) & (t > 0))
    if np.any(bad):
        raise ValueError(f"temperature must be finite and > 0, got {t[bad].ravel()[:4].tolist()}")
    return t


def _kaufman_terms(K: np.ndarray, L: int):
    """log|Z_i|, sign(Z_i) and d log|Z_i| / dK of Kaufman's four products, stacked on a leading axis of 4.

    ``cosh(gamma_l) = cosh(2K) coth(2K) - cos(pi l / L)`` for ``l = 1..2L-1``; ``gamma_0 = 2K + ln tanh K`` carries
    a sign (negative below T_c), which makes the fourth product negative there.
    """
    K = K[..., None]
    l = np.arange(2 * L)
    c = np.cosh(2 * K) / np.tanh(2 * K)  # cosh^2(2K) / sinh(2K), written so that it overflows later
    dc = 2 * np.cosh(2 * K) * (2 - 1 / np.tanh(2 * K) ** 2)
    arg = c - np.cos(np.pi * l / L)
    gamma = np.arccosh(np.maximum(arg, 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        dgamma = dc / np.sinh(gamma)
    gamma0 = 2 * K[..., 0] + np.log(np.tanh(K[..., 0]))
    gamma[..., 0] = gamma0
    dgamma[..., 0] = 2 + 2 / np.sinh(2 * K[..., 0])
    x = 0.5 * L * gamma
    dx = 0.5 * L * dgamma
    odd, even = x[..., 1::2], x[..., 0::2]
    d_odd, d_even = dx[..., 1::2], dx[..., 0::2]

    def log_cosh(y):
        y = np.abs(y)
        return y + np.log1p(np.exp(-2 * y)) - math.log(2)

    def log_abs_sinh(y):
        y = np.abs(y)
        return y + np.log(-np.expm1(-2 * y)) - math.log(2)

    log_terms, signs, d_terms = [], [], []
    for y, dy in ((odd, d_odd), (even, d_even)):
        log_terms.append(np.sum(math.log(2) + log_cosh(y), axis=-1))
        signs.append(np.ones(y.shape[:-1]))
        d_terms.append(np.sum(np.tanh(y) * dy, axis=-1))
        log_terms.append(np.sum(math.log(2) + log_abs_sinh(y), axis=-1))
        signs.append(np.prod(np.sign(y), axis=-1))
        with np.errstate(divide="ignore", invalid="ignore"):
            d_terms.append(np.sum(dy / np.tanh(y), axis=-1))
    order = [0, 1, 2, 3]  # Z1 = cosh(odd), Z2 = sinh(odd), Z3 = cosh(even), Z4 = sinh(even)
    return (np.stack([log_terms[i] for i in order]), np.stack([signs[i] for i in order]),
            np.stack([d_terms[i] for i in order]))


def _side(L) -> int:
    L = _v.count("L", L, minimum=2)
    if L % 2:
        raise ValueError(f"L must be even (Kaufman's formula as implemented is for an even torus), got {L}")
    return L


def kaufman_log_partition(temperature, L: int) -> np.ndarray:
    r"""Exact :math:`\ln Z` of the :math:`L\times L` Ising torus (Kaufman 1949; Beale 1996).

    .. math:: Z = \tfrac12 (2\sinh 2K)^{N/2} \sum_{i=1}^4 Z_i,\qquad
              Z_{1,2} = \prod_{r=0}^{L-1} 2\{\cosh,\sinh\}\big(\tfrac L2\gamma_{2r+1}\big),\quad
              Z_{3,4} = \prod_{r=0}^{L-1} 2\{\cosh,\sinh\}\big(\tfrac L2\gamma_{2r}\big),

    with :math:`\cosh\gamma_l = \cosh 2K\coth 2K - \cos(\pi l/L)` and :math:`\gamma_0 = 2K + \ln\tanh K`.

    Args:
      temperature: a temperature > 0, or an array of them (any shape).
      L: linear size, an even integer >= 2.

    Returns:
      float64 array of the shape of ``temperature``: :math:`\ln Z`.

    Raises:
      TypeError: ``temperature`` not real numbers (or traced), ``L`` not an integer.
      ValueError: a temperature not finite or <= 0; ``L`` < 2 or odd.
    """
    t = _temperatures(temperature)
    L = _side(L)
    K_true = 1.0 / t
    K = np.minimum(K_true, _K_MAX)
    log_z, sign, _ = _kaufman_terms(K, L)
    top = np.max(log_z, axis=0)
    total = np.sum(sign * np.exp(log_z - top), axis=0)
    log_2sinh = 2 * K + np.log(-np.expm1(-4 * K))  # log(2 sinh 2K) without overflow
    exact = np.log(0.5) + 0.5 * L * L * log_2sinh + top + np.log(total)
    return np.where(K_true > _K_MAX, np.log(2.0) + 2 * L * L * K_true, exact)


def kaufman_energy(temperature, L: int) -> np.ndarray:
    r"""Exact energy per site :math:`u = \langle H\rangle/N = -N^{-1}\,\partial\ln Z/\partial K` of the
    :math:`L\times L` torus, from :func:`kaufman_log_partition` differentiated term by term.

    Args:
      temperature: a temperature > 0, or an array of them (any shape).
      L: linear size, an even integer >= 2.

    Returns:
      float64 array of the shape of ``temperature``: the energy per site (between -2 and 0).

    Raises:
      TypeError: ``temperature`` not real numbers (or traced), ``L`` not an integer.
      ValueError: a temperature not finite or <= 0; ``L`` < 2 or odd.
    """
    t = _temperatures(temperature)
    L = _side(L)
    K = np.minimum(1.0 / t, _K_MAX)  # beyond it u = -2 to double precision
    log_z, sign, d_log = _kaufman_terms(K, L)
    weights = sign * np.exp(log_z - np.max(log_z, axis=0))
    weights = weights / np.sum(weights, axis=0)
    d_log_z = L * L / np.tanh(2 * K) + np.sum(weights * d_log, axis=0)
    return -d_log_z / (L * L)


def onsager_energy(temperature) -> np.ndarray:
    r"""Energy per site of the infinite square lattice (Onsager 1944):

    .. math:: u = -\coth 2K\,\Big[1 + \tfrac2\pi\,(2\tanh^2 2K - 1)\,\mathsf K(k)\Big],\qquad
              k = \frac{2\sinh 2K}{\cosh^2 2K},

    with :math:`\mathsf K` the complete elliptic integral of the first kind; :math:`u(T_c) = -\sqrt2`.

    Args:
      temperature: a temperature > 0, or an array of them (any shape).

    Returns:
      float64 array of the shape of ``temperature``.

    Raises:
      TypeError: ``temperature`` not real numbers (or traced).
      ValueError: a temperature not finite or <= 0.
    """
    from scipy.special import ellipk

    t = _temperatures(temperature)
    K = np.minimum(1.0 / t, _K_MAX)
    k = 2 * np.tanh(2 * K) / np.cosh(2 * K)
    factor = 2 * np.tanh(2 * K) ** 2 - 1
    at_tc = np.abs(factor) < 1e-15  # 0 x (log-divergent K): the product vanishes
    elliptic = ellipk(np.where(at_tc, 0.0, np.minimum(k, 1.0) ** 2))
    return -1 / np.tanh(2 * K) * (1 + np.where(at_tc, 0.0, 2 / np.pi * factor * elliptic))


def onsager_magnetization(temperature) -> np.ndarray:
    r"""Spontaneous magnetization per site of the infinite lattice (Onsager; Yang 1952):
    :math:`m = (1 - \sinh^{-4} 2K)^{1/8}` below :math:`T_c`, zero above.

    Args:
      temperature: a temperature > 0, or an array of them (any shape).

    Returns:
      float64 array of the shape of ``temperature``.

    Raises:
      TypeError: ``temperature`` not real numbers (or traced).
      ValueError: a temperature not finite or <= 0.
    """
    t = _temperatures(temperature)
    with np.errstate(over="ignore"):
        inner = 1 - np.sinh(2 / t) ** -4.0
    return np.where(t < CRITICAL_TEMPERATURE, np.maximum(inner, 0.0) ** 0.125, 0.0)


def _lattice(spins, name="spins"):
    if spins is None or isinstance(spins, (str, bytes)):
        raise TypeError(f"{name} must be an array of ±1 with shape [..., L, L], got {spins!r}")
    s = jnp.asarray(spins)
    if s.ndim < 2 or s.shape[-1] != s.shape[-2] or s.shape[-1] < 2:
        raise ValueError(f"{name} must have shape [..., L, L] with L >= 2, got {s.shape}")
    if not (jnp.issubdtype(s.dtype, jnp.integer) or jnp.issubdtype(s.dtype, jnp.floating)):
        raise TypeError(f"{name} must hold numbers ±1, got dtype {s.dtype}")
    _v.spins(name, s)
    return s


def energy_per_site(spins) -> jax.Array:
    r"""Energy per site :math:`-N^{-1}\sum_{\langle ij\rangle} s_i s_j` of configurations on the torus.

    Args:
      spins: ±1 array of shape ``[..., L, L]`` (integer or floating); traceable.

    Returns:
      array ``[...]`` (floating: the default float for integer spins).

    Raises:
      TypeError: ``spins`` not numeric.
      ValueError: shape not ``[..., L, L]`` with L >= 2; a concrete entry other than ±1.
    """
    s = _lattice(spins)
    s = s.astype(jnp.result_type(float)) if jnp.issubdtype(s.dtype, jnp.integer) else s
    bonds = s * jnp.roll(s, 1, axis=-1) + s * jnp.roll(s, 1, axis=-2)
    return -jnp.mean(bonds, axis=(-2, -1))


def magnetization(spins) -> jax.Array:
    r"""Magnetization per site :math:`N^{-1}\sum_i s_i` (signed; take ``abs`` for :math:`|m|`).

    Args:
      spins: ±1 array of shape ``[..., L, L]`` (integer or floating); traceable.

    Returns:
      array ``[...]`` (floating: the default float for integer spins).

    Raises:
      TypeError: ``spins`` not numeric.
      ValueError: shape not ``[..., L, L]`` with L >= 2; a concrete entry other than ±1.
    """
    s = _lattice(spins)
    s = s.astype(jnp.result_type(float)) if jnp.issubdtype(s.dtype, jnp.integer) else s
    return jnp.mean(s, axis=(-2, -1))
