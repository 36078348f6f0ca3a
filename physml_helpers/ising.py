r"""The two-dimensional Ising model: exact results that Monte Carlo data are checked against (chapter 8).

Convention of the course: :math:`H = -J\sum_{\langle ij\rangle} s_i s_j` on an :math:`L\times L` torus with
:math:`J = 1` and :math:`k_B = 1`, energy per site :math:`u = \langle H\rangle / N`, :math:`N = L^2`,
coupling :math:`K = J/T`.

* :func:`kaufman_log_partition`, :func:`kaufman_energy`: the exact partition function of the finite torus
  (Kaufman 1949, in the form of Beale 1996) and the energy per site :math:`u = -N^{-1}\,\partial\ln Z/\partial K`,
  differentiated analytically.
* :func:`onsager_energy`, :func:`onsager_magnetization`: the infinite lattice (Onsager 1944; Yang 1952).
* :func:`energy_per_site`, :func:`magnetization`: the observables of one configuration or of a batch.
* :func:`sample_configurations`: a data set of configurations over a grid of temperatures, every chain of
  every temperature in one compiled program.
* :data:`CRITICAL_TEMPERATURE`: :math:`T_c = 2/\ln(1+\sqrt2)`.
* :func:`wolff_kernel`, :func:`wolff`: Wolff's single-cluster update. The bonds between equal neighbours are
  activated once, independently, with probability :math:`1 - e^{-2\beta}`, and the seed's cluster is grown
  breadth-first through them on the whole lattice at once: the same clusters, with the same probabilities, as
  the sequential algorithm.
* :func:`checkerboard_kernel`, :func:`metropolis`: single-spin-flip Metropolis with a checkerboard update.
  The lattice is stored as its two sublattices (``int8[..., L, L/2]`` each), every bond joins the two, and a
  half-sweep updates one sublattice from its four neighbours on the other: the five possible energy changes
  need one random 32-bit integer per site, compared with precomputed integer thresholds
  (:math:`e^{-4\beta}` and :math:`e^{-8\beta}` scaled by :math:`2^{32}`; a site whose flip does not raise the
  energy flips without one being used). The integers come from :func:`site_bits`, a counter-based hash keyed
  by threefry, because threefry itself for every site costs about four times the rest of the sweep.
* :func:`multispin_kernel`, ``metropolis(..., method="multispin")``: the same checkerboard Metropolis with
  multi-spin coding for L a multiple of 64 (32 spins per ``uint32`` word, :class:`MultispinState`,
  :func:`pack_spins`, :func:`unpack_spins`): a bitwise adder counts antiparallel neighbours, and the Bernoulli
  decisions of 32 spins are drawn at once by a bit-serial comparison of :data:`MULTISPIN_BITS` random words
  from :func:`site_bits` with the binary digits of the acceptance probabilities (truncated to 24 bits).

The exact formulas are evaluated in NumPy float64 whatever JAX's precision, since they are references.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from functools import partial
from typing import NamedTuple

from physml_helpers import _validation as _v
from physml_helpers._kernels import Kernel, scan_kernel

__all__ = [
    "CRITICAL_TEMPERATURE", "kaufman_log_partition", "kaufman_energy", "onsager_energy", "onsager_magnetization",
    "energy_per_site", "magnetization", "CheckerboardState", "SweepInfo", "to_sublattices", "from_sublattices",
    "checkerboard_kernel", "metropolis", "site_bits", "MULTISPIN_BITS", "MultispinState", "pack_spins",
    "unpack_spins", "multispin_kernel", "ClusterInfo", "wolff_kernel", "wolff", "sample_configurations",
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


# ---------------------------------------------------------------------------------------------------
# Checkerboard Metropolis
# ---------------------------------------------------------------------------------------------------


class CheckerboardState(NamedTuple):
    """The lattice as two sublattices: ``black[..., y, j]`` is the spin at ``(y, 2j + y % 2)`` and
    ``white[..., y, j]`` the spin at ``(y, 2j + 1 - y % 2)``, both ``int8[..., L, L/2]``."""

    black: jax.Array
    white: jax.Array


class SweepInfo(NamedTuple):
    """After one sweep: ``energy`` and ``magnetization`` per site and ``acceptance`` (fraction of spins
    flipped), each of the batch shape ``[...]``."""

    energy: jax.Array
    magnetization: jax.Array
    acceptance: jax.Array


def _even_side(spins, name="spins"):
    s = _lattice(spins, name)
    L = s.shape[-1]
    if L % 2:
        raise ValueError(f"{name} must be an L x L lattice with L even (the checkerboard needs a bipartite torus), "
                         f"got L = {L}")
    return s


def to_sublattices(spins) -> CheckerboardState:
    """Split ``[..., L, L]`` configurations (L even) into the :class:`CheckerboardState` layout.

    Args:
      spins: ±1 array of shape ``[..., L, L]``, L even.

    Returns:
      :class:`CheckerboardState` with ``int8[..., L, L/2]`` sublattices.

    Raises:
      TypeError: ``spins`` not numeric.
      ValueError: shape not ``[..., L, L]`` with L even and >= 2; a concrete entry other than ±1.
    """
    return _split(_even_side(spins))


@jax.jit
def _split(s):
    s = s.astype(jnp.int8)
    L = s.shape[-1]
    pairs = s.reshape(*s.shape[:-1], L // 2, 2)
    odd_row = (jnp.arange(L) % 2 == 1)[:, None]
    return CheckerboardState(jnp.where(odd_row, pairs[..., 1], pairs[..., 0]),
                             jnp.where(odd_row, pairs[..., 0], pairs[..., 1]))


def from_sublattices(state: CheckerboardState) -> jax.Array:
    """Reassemble ``int8[..., L, L]`` configurations from a :class:`CheckerboardState`.

    Args:
      state: a :class:`CheckerboardState`.

    Returns:
      int8[..., L, L].

    Raises:
      TypeError: ``state`` not a CheckerboardState.
      ValueError: the two sublattices of different shapes, or not ``[..., L, L/2]``.
    """
    if not isinstance(state, CheckerboardState):
        raise TypeError(f"state must be a CheckerboardState, got {type(state).__name__}")
    black, white = state
    if black.shape != white.shape or black.ndim < 2 or black.shape[-2] != 2 * black.shape[-1]:
        raise ValueError(f"state must hold two sublattices of shape [..., L, L/2], got {black.shape} and {white.shape}")
    return _join(state)


@jax.jit
def _join(state):
    black, white = state
    L = black.shape[-2]
    odd_row = (jnp.arange(L) % 2 == 1)[:, None]
    first, second = jnp.where(odd_row, white, black), jnp.where(odd_row, black, white)
    return jnp.stack([first, second], axis=-1).reshape(*black.shape[:-1], L)


def _neighbour_sum(other, black_site: bool):
    """Sum of the four neighbours (all on the other sublattice) of each site of one sublattice."""
    L = other.shape[-2]
    odd_row = (jnp.arange(L) % 2 == 1)[:, None]
    # a black site in an even row sits at x = 2j: its horizontal neighbours are white j - 1 and j;
    # in an odd row at x = 2j + 1: white j and j + 1 (the white sites mirror this)
    shifted = jnp.where(odd_row == black_site, jnp.roll(other, -1, -1), jnp.roll(other, 1, -1))
    return jnp.roll(other, 1, -2) + jnp.roll(other, -1, -2) + other + shifted


def _thresholds(beta):
    """uint32 thresholds t with P(bits < t) = exp(-4 beta), exp(-8 beta) up to 2^-32."""
    beta = jnp.asarray(beta, jnp.result_type(float))[..., None, None]
    scale = jnp.asarray(2.0**32, beta.dtype)
    cap = jnp.asarray(2.0**32 - 1, beta.dtype)
    t2 = jnp.minimum(jnp.exp(-4 * beta) * scale, cap).astype(jnp.uint32)
    t4 = jnp.minimum(jnp.exp(-8 * beta) * scale, cap).astype(jnp.uint32)
    return t2, t4


def _mix32(x):
    """Chris Wellons' ``triple32`` integer hash (a bijection of uint32; its avalanche bias, 0.021, is the lowest
    found for three multiply-xorshift rounds)."""
    x = x ^ (x >> 17)
    x = x * jnp.uint32(0xED5AD4BB)
    x = x ^ (x >> 11)
    x = x * jnp.uint32(0xAC4C1B51)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x31848BAB)
    return x ^ (x >> 14)


def site_bits(key, shape) -> jax.Array:
    r"""One pseudo-random 32-bit word per site of a batch of 2-D arrays, counter-based and cheap.

    For each 2-D array of the batch, two words :math:`(a, b)` come from ``jax.random.bits(key)`` (threefry);
    the word of site number :math:`i` (row-major) is :math:`h(h(i \oplus a) \oplus b)` with :math:`h` the
    ``triple32`` integer hash. This costs a small fraction of drawing every word from threefry, which
    dominates a Metropolis sweep otherwise. The two hash rounds keyed by 64 random bits make the streams of different
    keys unrelated (a single keyed round over a 32-bit counter would let two streams coincide up to a shift
    with probability about ``N / 2**32``). Within one array the words are distinct (a bijection of the
    site number), a deviation from independence of order ``N / 2**32``. Its statistics (uniformity of every
    bit and byte, correlations between neighbouring sites and between keys) are tested in
    ``tests/test_ising.py``, and every Metropolis test runs on it.

    Args:
      key: JAX random key.
      shape: ``(..., rows, columns)``, at least 2-D, with ``rows * columns < 2**32``.

    Returns:
      uint32 array of ``shape``.

    Raises:
      TypeError: ``key`` not a typed JAX key; ``shape`` not a tuple of integers.
      ValueError: ``shape`` not at least 2-D, or an array of ``2**32`` sites or more.
    """
    _v.key(key)
    if not isinstance(shape, (tuple, list)) or not all(isinstance(n, (int, np.integer)) for n in shape):
        raise TypeError(f"shape must be a tuple of integers, got {shape!r}")
    shape = tuple(int(n) for n in shape)
    if len(shape) < 2 or min(shape) < 1 or shape[-1] * shape[-2] >= 2**32:
        raise ValueError(f"shape must be (..., rows, columns) with positive sizes and rows * columns < 2**32, "
                         f"got {shape}")
    return _site_bits(key, shape)


def _site_bits(key, shape):
    words = jax.random.bits(key, (2, *shape[:-2]), jnp.uint32)[..., None, None]
    site = (jax.lax.broadcasted_iota(jnp.uint32, shape[-2:], 0) * jnp.uint32(shape[-1])
            + jax.lax.broadcasted_iota(jnp.uint32, shape[-2:], 1))
    return _mix32(_mix32(site ^ words[0]) ^ words[1])


def _half_sweep(key, this, other, t2, t4, black_site):
    x = this * _neighbour_sum(other, black_site)  # int8 in {-4, -2, 0, 2, 4}; the energy change is 2x
    bits = _site_bits(key, this.shape)
    flip = (x <= 0) | (bits < jnp.where(x == 2, t2, t4))
    return jnp.where(flip, -this, this), flip


def _plain_sweep(key, state: CheckerboardState, beta):
    """One sweep without the observables (the inner loop of long runs)."""
    t2, t4 = _thresholds(beta)
    k_black, k_white = jax.random.split(key)
    black, _ = _half_sweep(k_black, state.black, state.white, t2, t4, True)
    white, _ = _half_sweep(k_white, state.white, black, t2, t4, False)
    return CheckerboardState(black, white)


def _sweep(key, state: CheckerboardState, beta):
    t2, t4 = _thresholds(beta)
    k_black, k_white = jax.random.split(key)
    black, flip_b = _half_sweep(k_black, state.black, state.white, t2, t4, True)
    white, flip_w = _half_sweep(k_white, state.white, black, t2, t4, False)
    n_sites = 2 * black.shape[-1] * black.shape[-2]
    dtype = jnp.result_type(float)
    bonds = jnp.sum((black * _neighbour_sum(white, True)).astype(jnp.int32), axis=(-2, -1))
    spin_sum = jnp.sum(black.astype(jnp.int32), axis=(-2, -1)) + jnp.sum(white.astype(jnp.int32), axis=(-2, -1))
    flips = jnp.sum(flip_b.astype(jnp.int32), axis=(-2, -1)) + jnp.sum(flip_w.astype(jnp.int32), axis=(-2, -1))
    info = SweepInfo(-bonds.astype(dtype) / n_sites, spin_sum.astype(dtype) / n_sites, flips.astype(dtype) / n_sites)
    return CheckerboardState(black, white), info


def _check_beta(beta):
    if isinstance(beta, (str, bytes, bool)) or beta is None:
        raise TypeError(f"beta must be a number or an array of inverse temperatures, got {beta!r}")
    if not _v.is_traced(beta):
        try:
            values = np.asarray(beta, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"beta must be a number or an array of inverse temperatures, got {beta!r}") from None
        if not np.all(np.isfinite(values) & (values >= 0)):
            raise ValueError(f"beta must be finite and >= 0, got {values.ravel()[:4].tolist()}")
    return beta


def checkerboard_kernel() -> Kernel:
    r"""Checkerboard Metropolis for the 2-D Ising model as an ``(init, step)`` pair.

    ``init(spins)`` takes ±1 configurations ``[..., L, L]`` (L even) and returns a :class:`CheckerboardState`;
    ``step(key, state, beta)`` performs one sweep (both sublattices) at inverse temperature ``beta`` (a number
    or an array broadcastable to the batch shape ``[...]``; traced, so changing it never recompiles) and
    returns ``(state, SweepInfo)``. Detailed balance holds for each half-sweep, since the spins of one
    sublattice do not interact. On the 2x2 torus the chain is not ergodic (both sites of a sublattice share
    their neighbours, so a zero local field flips both together and the states with both sublattices mixed
    are never reached); from 4x4 up the stationary distribution is Boltzmann's (tested by enumeration).

    Returns:
      :class:`~physml_helpers.Kernel`.

    Raises:
      Nothing here: ``init`` raises like :func:`to_sublattices`, ``step`` raises ``ValueError`` for a concrete
      ``beta`` that is negative or not finite.
    """

    def step(key, state, beta):
        _v.key(key)
        return _sweep(key, state, _check_beta(beta))

    return Kernel(init=to_sublattices, step=step)


@partial(jax.jit, static_argnames=("update", "n_updates", "record_every"))
def _run_updates(key, state, beta, update, n_updates, record_every):
    """``n_updates`` applications of ``update(key, state, beta)`` (a sweep or a cluster flip) in one scan."""
    state, _, infos = scan_kernel(lambda k, s: update(k, s, beta), state, n_updates, key,
                                  record_every=record_every, record=lambda s: None)
    return state, infos


def _sweep_keys(key, n_sweeps, record_every):
    """The per-sweep keys of :func:`scan_kernel` (so a run does not depend on how it is recorded)."""
    return jax.random.split(key, n_sweeps).reshape(n_sweeps // record_every, record_every)


def _advance(keys, state, beta):
    """Plain sweeps, one per key."""
    state, _ = jax.lax.scan(lambda s, k: (_plain_sweep(k, s, beta), None), state, keys)
    return state


@partial(jax.jit, static_argnames=("n_sweeps", "record_every"))
def _run_sweeps(key, spins, beta, n_sweeps, record_every):
    """``n_sweeps`` sweeps of ``[..., L, L]`` configurations, the observables computed only at the recorded sweeps
    (the trajectory is that of ``scan_kernel`` with :func:`_sweep`, whatever ``record_every``)."""

    def block(s, keys):
        s = _advance(keys[:-1], s, beta)
        return _sweep(keys[-1], s, beta)

    state, infos = jax.lax.scan(block, _split(spins), _sweep_keys(key, n_sweeps, record_every))
    return _join(state), infos


def _run_counts(name: str, n_updates, record_every):
    """Validated ``(n_updates, record_every)``: both >= 1, the first a multiple of the second."""
    n_updates = _v.count(name, n_updates, minimum=1)
    record_every = _v.count("record_every", record_every, minimum=1)
    if n_updates % record_every:
        raise ValueError(f"{name} must be a multiple of record_every, got {name}={n_updates}, "
                         f"record_every={record_every}")
    return n_updates, record_every


def metropolis(key, spins, *, beta, n_sweeps: int, record_every: int = 1, method: str = "checkerboard"):
    r"""``n_sweeps`` checkerboard Metropolis sweeps in one compiled ``lax.scan``.

    ``method="checkerboard"`` runs :func:`checkerboard_kernel` (int8 spins, any even L);
    ``method="multispin"`` runs :func:`multispin_kernel` (32 spins per word, L a multiple of 64), the same
    Markov chain with its acceptance probabilities truncated to 24 bits and a different random stream, several
    times faster on large lattices.

    Args:
      key: JAX random key.
      spins: ±1 array ``[..., L, L]`` (L even, a batch of lattices allowed; a multiple of 64 for multispin).
      beta: inverse temperature :math:`1/T`, a number or an array broadcastable to the batch shape (one
        temperature per lattice); traced.
      n_sweeps: number of sweeps, >= 1, a multiple of ``record_every``.
      record_every: keep the :class:`SweepInfo` of every this-many-th sweep.
      method: ``"checkerboard"`` or ``"multispin"``.

    Returns:
      ``(spins, info)``: the final configurations ``int8[..., L, L]`` and a :class:`SweepInfo` whose fields
      have shape ``[n_sweeps // record_every, ...]``.

    Raises:
      TypeError: ``key`` not a typed JAX key; ``spins`` or ``beta`` not numeric; sizes not integers.
      ValueError: ``spins`` not ``[..., L, L]`` with L even (a multiple of 64 for multispin), or not ±1;
        ``beta`` negative or not finite; ``n_sweeps`` < 1 or not a multiple of ``record_every``; ``method``
        not one of the options.
    """
    _v.key(key)
    method = _v.choice("method", method, ("checkerboard", "multispin"))
    n_sweeps, record_every = _run_counts("n_sweeps", n_sweeps, record_every)
    spins = _even_side(spins) if method == "checkerboard" else _multispin_side(spins)
    beta = jnp.asarray(_check_beta(beta), jnp.result_type(float))
    run = _run_sweeps if method == "checkerboard" else _run_multispin
    return run(key, spins, beta, n_sweeps, record_every)


# ---------------------------------------------------------------------------------------------------
# Multi-spin coding: 32 spins per uint32 word
# ---------------------------------------------------------------------------------------------------

MULTISPIN_BITS = 24  # random bits per Bernoulli decision of the multi-spin kernel (acceptance error below 2**-24)


class MultispinState(NamedTuple):
    """The lattice packed 32 spins to a ``uint32`` word, as two sublattices ``[..., L, L/64]`` each.

    With ``M = L/32`` words per row, word ``(y, j)`` of the full packing holds the spins at
    ``x = j + k M``, ``k = 0..31``, in bit ``k`` (bit set = spin up). ``M`` is even, so every bit of a word has
    the parity of ``j``, and the word lies on one checkerboard colour: ``black[..., y, i]`` is word
    ``j = 2i + y % 2`` and ``white[..., y, i]`` is word ``j = 2i + 1 - y % 2``.
    """

    black: jax.Array
    white: jax.Array


def _multispin_side(spins, name="spins"):
    s = _lattice(spins, name)
    L = s.shape[-1]
    if L % 64:
        raise ValueError(f"{name} must be an L x L lattice with L a multiple of 64 for multi-spin coding "
                         f"(32 spins per word, an even number of words per row), got L = {L}")
    return s


@jax.jit
def _pack(s):
    L = s.shape[-1]
    M = L // 32
    up = (s > 0).astype(jnp.uint32).reshape(*s.shape[:-1], 32, M)  # [..., y, k, j]: x = j + k M
    words = jnp.sum(up << jnp.arange(32, dtype=jnp.uint32)[:, None], axis=-2, dtype=jnp.uint32)  # [..., y, j]
    pairs = words.reshape(*words.shape[:-1], M // 2, 2)
    odd_row = (jnp.arange(L) % 2 == 1)[:, None]
    return MultispinState(jnp.where(odd_row, pairs[..., 1], pairs[..., 0]),
                          jnp.where(odd_row, pairs[..., 0], pairs[..., 1]))


@jax.jit
def _unpack(state):
    black, white = state
    L = black.shape[-2]
    odd_row = (jnp.arange(L) % 2 == 1)[:, None]
    first, second = jnp.where(odd_row, white, black), jnp.where(odd_row, black, white)
    words = jnp.stack([first, second], axis=-1).reshape(*black.shape[:-1], L // 32)  # [..., y, j]
    bits = (words[..., None, :] >> jnp.arange(32, dtype=jnp.uint32)[:, None]) & jnp.uint32(1)  # [..., y, k, j]
    return (2 * bits.astype(jnp.int8) - 1).reshape(*black.shape[:-1], L)


def pack_spins(spins) -> MultispinState:
    """Pack ``[..., L, L]`` configurations (L a multiple of 64) into the :class:`MultispinState` layout.

    Args:
      spins: ±1 array of shape ``[..., L, L]``, L a multiple of 64.

    Returns:
      :class:`MultispinState` with ``uint32[..., L, L/64]`` sublattices.

    Raises:
      TypeError: ``spins`` not numeric.
      ValueError: shape not ``[..., L, L]`` with L a multiple of 64; a concrete entry other than ±1.
    """
    return _pack(_multispin_side(spins))


def unpack_spins(state: MultispinState) -> jax.Array:
    """Unpack a :class:`MultispinState` into ``int8[..., L, L]`` configurations of ±1.

    Args:
      state: a :class:`MultispinState`.

    Returns:
      int8[..., L, L].

    Raises:
      TypeError: ``state`` not a MultispinState, or its words not uint32.
      ValueError: the two sublattices of different shapes, or not ``[..., L, L/64]``.
    """
    if not isinstance(state, MultispinState):
        raise TypeError(f"state must be a MultispinState, got {type(state).__name__}")
    black, white = state
    if black.dtype != jnp.uint32 or white.dtype != jnp.uint32:
        raise TypeError(f"state must hold uint32 words, got {black.dtype} and {white.dtype}")
    if black.shape != white.shape or black.ndim < 2 or black.shape[-2] != 64 * black.shape[-1]:
        raise ValueError(f"state must hold two sublattices of shape [..., L, L/64], got {black.shape} and "
                         f"{white.shape}")
    return _unpack(state)


def _rotr1(w):
    return (w >> jnp.uint32(1)) | (w << jnp.uint32(31))


def _rotl1(w):
    return (w << jnp.uint32(1)) | (w >> jnp.uint32(31))


def _packed_neighbours(other, black_site: bool):
    """The four neighbour words (all on the other sublattice) of each word of one sublattice: bit k of each is the
    neighbour of the spin in bit k. Horizontally, word j's neighbours are words j - 1 and j + 1 of the full row,
    rotated by one bit where the row wraps (x = L - 1 is bit 31 of word M - 1, next to bit 0 of word 0)."""
    L = other.shape[-2]
    odd_row = (jnp.arange(L) % 2 == 1)[:, None]
    nxt = jnp.concatenate([other[..., 1:], _rotr1(other[..., :1])], axis=-1)  # the word after, wrapped
    prv = jnp.concatenate([_rotl1(other[..., -1:]), other[..., :-1]], axis=-1)  # the word before, wrapped
    shifted = jnp.where(odd_row == black_site, nxt, prv)
    return jnp.roll(other, 1, -2), jnp.roll(other, -1, -2), other, shifted


def _count_antiparallel(this, neighbours):
    """Bitwise adder: per bit lane, the number ``n = s0 + 2 s1 + 4 s2`` (0..4) of neighbours antiparallel to the
    spin, as three bit planes ``(s0, s1, s2)``."""
    a1, a2, a3, a4 = (this ^ n for n in neighbours)
    x0, c0 = a1 ^ a2, a1 & a2
    y0, d0 = a3 ^ a4, a3 & a4
    s0, c1 = x0 ^ y0, x0 & y0  # c1 excludes c0 and d0 (it needs a1 != a2 and a3 != a4)
    return s0, (c0 ^ d0) | c1, c0 & d0


def _probability_bits(beta, n_bits):
    """``floor(p 2^n_bits)`` of p = exp(-4 beta) and exp(-8 beta), most significant bit first, as all-ones or
    all-zeros uint32 words ``[n_bits, ..., 1, 1]``."""
    beta = jnp.asarray(beta, jnp.result_type(float))[..., None, None]
    scale = jnp.asarray(2.0**n_bits, beta.dtype)
    fixed = [jnp.minimum(jnp.floor(jnp.exp(-c * beta) * scale), scale - 1).astype(jnp.uint32) for c in (4, 8)]
    shifts = jnp.arange(n_bits - 1, -1, -1, dtype=jnp.uint32).reshape(-1, *([1] * beta.ndim))
    return [jnp.uint32(0) - ((f[None] >> shifts) & jnp.uint32(1)) for f in fixed]


def _bernoulli_lanes(words, p_one, p_zero, lanes_one, lanes_zero):
    """Per bit lane, 1 with probability p_one in ``lanes_one`` and p_zero in ``lanes_zero`` (0 elsewhere).

    The lane's uniform random number u is the binary fraction whose bit i is the lane's bit of ``words[i]``
    (most significant first); the lane's probability p has bits ``p_one[i]`` or ``p_zero[i]`` (all-ones or
    all-zeros words). ``u < p`` is decided from the least significant bit up: with ``c`` the answer for the bits
    after i, the answer from bit i on is ``p_i > u_i``, or ``c`` where they agree, which is the majority of
    ``(~u_i, p_i, c)``. A loop unrolled by four: a fully unrolled chain compiles very slowly in XLA.
    """
    pad = lambda q: q.reshape(q.shape[0], *([1] * (lanes_one.ndim + 1 - q.ndim)), *q.shape[1:])
    p_one, p_zero, n_bits = pad(p_one), pad(p_zero), words.shape[0]

    def bit(j, c):
        i = n_bits - 1 - j
        a, b = ~words[i], (lanes_one & p_one[i]) | (lanes_zero & p_zero[i])
        return (a & b) | (c & (a | b))

    return jax.lax.fori_loop(0, n_bits, bit, jnp.zeros_like(lanes_one), unroll=4)


def _multispin_half_sweep(key, this, other, p2, p4, black_site):
    s0, s1, s2 = _count_antiparallel(this, _packed_neighbours(other, black_site))
    free = s1 | s2  # two or more antiparallel neighbours: the flip does not raise the energy
    words = _site_bits(key, (p2.shape[0], *this.shape))
    flip = free | _bernoulli_lanes(words, p2, p4, s0 & ~free, ~s0 & ~free)
    return this ^ flip, flip


def _multispin_plain_sweep(key, state, beta):
    p2, p4 = _probability_bits(beta, MULTISPIN_BITS)
    k_black, k_white = jax.random.split(key)
    black, _ = _multispin_half_sweep(k_black, state.black, state.white, p2, p4, True)
    white, _ = _multispin_half_sweep(k_white, state.white, black, p2, p4, False)
    return MultispinState(black, white)


def _popcount(w):
    return jnp.sum(jax.lax.population_count(w).astype(jnp.int32), axis=(-2, -1))


def _multispin_sweep(key, state, beta):
    p2, p4 = _probability_bits(beta, MULTISPIN_BITS)
    k_black, k_white = jax.random.split(key)
    black, flip_b = _multispin_half_sweep(k_black, state.black, state.white, p2, p4, True)
    white, flip_w = _multispin_half_sweep(k_white, state.white, black, p2, p4, False)
    n_sites = 64 * black.shape[-1] * black.shape[-2]
    dtype = jnp.result_type(float)
    # every bond has one black end: sum_bonds s_i s_j = sum over black sites of (4 - 2 n_antiparallel)
    anti = sum(_popcount(black ^ n) for n in _packed_neighbours(white, True))
    bonds = 2 * n_sites - 2 * anti
    spin_sum = 2 * (_popcount(black) + _popcount(white)) - n_sites
    flips = _popcount(flip_b) + _popcount(flip_w)
    info = SweepInfo(-bonds.astype(dtype) / n_sites, spin_sum.astype(dtype) / n_sites, flips.astype(dtype) / n_sites)
    return MultispinState(black, white), info


def multispin_kernel() -> Kernel:
    r"""Checkerboard Metropolis with multi-spin coding (32 spins per ``uint32`` word) as an ``(init, step)`` pair.

    The same Markov chain as :func:`checkerboard_kernel` (a sweep updates the black sites, then the white ones,
    each flipped with probability :math:`\min(1, e^{-\beta\Delta E})`), for ``L`` a multiple of 64, with the
    lattice packed as in :class:`MultispinState`. A half-sweep XORs each word with its four neighbour words
    (antiparallel bonds), adds the four results bitwise into three bit planes (the number ``n`` of antiparallel
    neighbours, 0..4, of every spin of the word at once), flips every spin with ``n >= 2``, and draws the
    Bernoulli decisions of the others, :math:`e^{-4\beta}` for ``n = 1`` and :math:`e^{-8\beta}` for ``n = 0``,
    for all 32 lanes at once: each lane's uniform random number is the binary fraction of bit ``k`` of
    :data:`MULTISPIN_BITS` = 24 random words from :func:`site_bits`, compared most significant bit first with the
    binary expansion of the probability. The probability is truncated to 24 bits: in exact arithmetic every
    acceptance probability is smaller than the exact one by less than :math:`2^{-24} \approx 6\times10^{-8}`; in
    float32, where :math:`e^{-4\beta}` itself is rounded, the truncated value can be one unit of :math:`2^{-24}`
    higher, so the error is below :math:`2^{-24}` in either direction (and at :math:`\beta = 0` the acceptance is
    :math:`1 - 2^{-24}`, not 1). Relative to
    the smaller one, :math:`e^{-8\beta}`, that is the change of :math:`\beta` by at most
    :math:`2^{-24}e^{8\beta}/8`: :math:`2.5\times10^{-7}` at :math:`T_c` (a relative change of
    :math:`6\times10^{-7}`), :math:`2\times10^{-5}` at :math:`T = 1`, where the energy hardly depends on
    :math:`\beta`; far below what the Monte Carlo error bars of the tests and of chapter 8 resolve.

    ``init(spins)`` takes ±1 configurations ``[..., L, L]`` and returns a :class:`MultispinState`;
    ``step(key, state, beta)`` performs one sweep and returns ``(state, SweepInfo)``; ``beta`` is a number or an
    array broadcastable to the batch shape, traced.

    Returns:
      :class:`~physml_helpers.Kernel`.

    Raises:
      Nothing here: ``init`` raises like :func:`pack_spins`, ``step`` raises ``ValueError`` for a concrete
      ``beta`` that is negative or not finite.
    """

    def step(key, state, beta):
        _v.key(key)
        return _multispin_sweep(key, state, _check_beta(beta))

    return Kernel(init=pack_spins, step=step)


@partial(jax.jit, static_argnames=("n_sweeps", "record_every"))
def _run_multispin(key, spins, beta, n_sweeps, record_every):
    """As :func:`_run_sweeps`, on the packed lattice."""

    def block(s, keys):
        s, _ = jax.lax.scan(lambda st, k: (_multispin_plain_sweep(k, st, beta), None), s, keys[:-1])
        return _multispin_sweep(keys[-1], s, beta)

    state, infos = jax.lax.scan(block, _pack(spins), _sweep_keys(key, n_sweeps, record_every))
    return _unpack(state), infos


# ---------------------------------------------------------------------------------------------------
# Wolff cluster updates
# ---------------------------------------------------------------------------------------------------


class ClusterInfo(NamedTuple):
    """After one cluster update: ``energy`` and ``magnetization`` per site and ``cluster_size`` (number of
    spins flipped), each of the batch shape ``[...]``."""

    energy: jax.Array
    magnetization: jax.Array
    cluster_size: jax.Array


_SHIFTS = ((1, -1), (-1, -1), (1, -2), (-1, -2))  # (shift, axis): the four neighbours on the torus


def _wolff_one(key, spins, beta):
    """One Wolff cluster flip of one int8 [L, L] lattice. Every bond between equal spins is made active with
    probability 1 - exp(-2 beta) once, up front; the cluster is the seed's connected component through active
    bonds, grown breadth-first. Each bond is drawn once and independently, so this is Wolff's rule exactly."""
    L = spins.shape[-1]
    k_seed, k_bonds = jax.random.split(key)
    seed = jax.random.randint(k_seed, (), 0, L * L)
    p_add = -jnp.expm1(-2 * beta)
    threshold = jnp.minimum(p_add * jnp.asarray(2.0**32, p_add.dtype),
                            jnp.asarray(2.0**32 - 1, p_add.dtype)).astype(jnp.uint32)
    bits = jax.random.bits(k_bonds, (2, L, L), jnp.uint32)
    right = (spins == jnp.roll(spins, -1, -1)) & (bits[0] < threshold)  # bond (y, x) - (y, x + 1)
    down = (spins == jnp.roll(spins, -1, -2)) & (bits[1] < threshold)  # bond (y, x) - (y + 1, x)

    def grow(carry):
        cluster, frontier = carry
        reached = (jnp.roll(frontier & right, 1, -1) | (right & jnp.roll(frontier, -1, -1))
                   | jnp.roll(frontier & down, 1, -2) | (down & jnp.roll(frontier, -1, -2)))
        new = reached & ~cluster
        return cluster | new, new

    start = (jnp.arange(L * L) == seed).reshape(L, L)
    cluster, _ = jax.lax.while_loop(lambda c: jnp.any(c[1]), grow, (start, start))
    return jnp.where(cluster, -spins, spins), jnp.sum(cluster.astype(jnp.int32))


def _wolff_step(key, spins, beta):
    batch = spins.shape[:-2]
    L = spins.shape[-1]
    flat = spins.reshape(-1, L, L)
    betas = jnp.broadcast_to(jnp.asarray(beta, jnp.result_type(float)), batch).reshape(-1)
    keys = jax.random.split(key, flat.shape[0])
    new, sizes = jax.vmap(_wolff_one)(keys, flat, betas)
    new = new.reshape(spins.shape)
    dtype = jnp.result_type(float)
    s32 = new.astype(jnp.int32)
    bonds = jnp.sum(s32 * jnp.roll(s32, 1, -1) + s32 * jnp.roll(s32, 1, -2), axis=(-2, -1))
    info = ClusterInfo(-bonds.astype(dtype) / (L * L), jnp.sum(s32, axis=(-2, -1)).astype(dtype) / (L * L),
                       sizes.reshape(batch))
    return new, info


def wolff_kernel() -> Kernel:
    r"""Wolff's cluster algorithm for the 2-D Ising model as an ``(init, step)`` pair.

    ``init(spins)`` checks ±1 configurations ``[..., L, L]`` and returns them as int8; ``step(key, spins,
    beta)`` grows one cluster per lattice from a random seed, adding each same-spin neighbour bond with
    probability :math:`1 - e^{-2\beta}`, flips it, and returns ``(spins, ClusterInfo)``. ``beta`` is a number
    or an array broadcastable to the batch shape; traced.

    Returns:
      :class:`~physml_helpers.Kernel`.

    Raises:
      Nothing here: ``init`` raises like :func:`energy_per_site` for bad configurations, ``step`` raises
      ``ValueError`` for a concrete ``beta`` that is negative or not finite.
    """

    def init(spins):
        return _lattice(spins).astype(jnp.int8)

    def step(key, spins, beta):
        _v.key(key)
        return _wolff_step(key, spins, _check_beta(beta))

    return Kernel(init=init, step=step)


def wolff(key, spins, *, beta, n_clusters: int, record_every: int = 1):
    r"""``n_clusters`` Wolff cluster updates of :func:`wolff_kernel` in one compiled ``lax.scan``.

    One cluster update flips on average :math:`\langle|C|\rangle` spins, so ``n_clusters`` updates are worth
    about ``n_clusters * <|C|> / L**2`` sweeps (``info.cluster_size`` reports it).

    Args:
      key: JAX random key.
      spins: ±1 array ``[..., L, L]`` (a batch of lattices allowed), L >= 2.
      beta: inverse temperature, a number or an array broadcastable to the batch shape; traced.
      n_clusters: number of cluster updates, >= 1, a multiple of ``record_every``.
      record_every: keep the :class:`ClusterInfo` of every this-many-th update.

    Returns:
      ``(spins, info)``: final configurations ``int8[..., L, L]`` and a :class:`ClusterInfo` whose fields have
      shape ``[n_clusters // record_every, ...]``.

    Raises:
      TypeError: ``key`` not a typed JAX key; ``spins`` or ``beta`` not numeric; sizes not integers.
      ValueError: ``spins`` not ``[..., L, L]`` of ±1; ``beta`` negative or not finite; ``n_clusters`` < 1 or
        not a multiple of ``record_every``.
    """
    _v.key(key)
    n_clusters, record_every = _run_counts("n_clusters", n_clusters, record_every)
    s = _lattice(spins).astype(jnp.int8)
    beta = _check_beta(beta)
    return _run_updates(key, s, jnp.asarray(beta, jnp.result_type(float)), _wolff_step, n_clusters, record_every)


# ---------------------------------------------------------------------------------------------------
# Data sets over temperatures
# ---------------------------------------------------------------------------------------------------


@partial(jax.jit, static_argnames=("method", "n_samples"))
def _sample(key, spins, beta, method, n_thermalize, n_samples, n_between):
    # one loop body for thermalization and sampling alike (a traced number of updates each): half the program
    # to compile of two separate loops
    if method == "metropolis":
        state = _split(spins)
        update = lambda k, st: _plain_sweep(k, st, beta)
    else:
        state = spins
        update = lambda k, st: _wolff_step(k, st, beta)[0]

    def advance(st, key_and_count):
        k, n = key_and_count
        st = jax.lax.fori_loop(0, n, lambda i, x: update(jax.random.fold_in(k, i), x), st)
        return st, st

    counts = jnp.concatenate([jnp.asarray(n_thermalize, jnp.int32)[None],
                              jnp.full((n_samples,), n_between, jnp.int32)])
    _, samples = jax.lax.scan(advance, state, (jax.random.split(key, n_samples + 1), counts))
    samples = _join(samples) if method == "metropolis" else samples
    return jnp.moveaxis(samples[1:], 0, 1)  # [n_temperatures, n_samples, n_chains, L, L]


def sample_configurations(key, L: int, temperatures, *, n_chains: int, n_samples: int, n_thermalize: int,
                          n_between: int, method: str = "metropolis", start: str = "random"):
    r"""Equilibrium configurations of the :math:`L\times L` torus at each of several temperatures.

    ``n_chains`` independent chains per temperature, all run together (one compiled program), each
    thermalized for ``n_thermalize`` updates and then sampled every ``n_between`` updates. An update is a
    checkerboard sweep (``method="metropolis"``) or one cluster flip (``method="wolff"``). Successive samples
    of one chain are correlated unless ``n_between`` exceeds the autocorrelation time; chains are independent.

    Args:
      key: JAX random key.
      L: linear size, an even integer >= 2 (even for the checkerboard; Wolff allows any L >= 2).
      temperatures: 1-D array of temperatures > 0.
      n_chains: chains per temperature, >= 1.
      n_samples: samples kept per chain, >= 1.
      n_thermalize: updates before the first sample, >= 0.
      n_between: updates between samples, >= 1.
      method: ``"metropolis"`` or ``"wolff"``.
      start: ``"random"`` (infinite temperature) or ``"ordered"`` (all up).

    Returns:
      int8[n_temperatures, n_samples, n_chains, L, L].

    Raises:
      TypeError: ``key`` not a typed JAX key; sizes not integers; ``temperatures`` not numbers.
      ValueError: ``L`` < 2 (or odd for Metropolis); a temperature not finite or <= 0; counts out of range;
        ``method`` or ``start`` not one of the options.
    """
    _v.key(key)
    method = _v.choice("method", method, ("metropolis", "wolff"))
    start = _v.choice("start", start, ("random", "ordered"))
    L = _v.count("L", L, minimum=2)
    if method == "metropolis" and L % 2:
        raise ValueError(f"L must be even for method='metropolis' (a bipartite torus), got {L}")
    t = _temperatures(temperatures)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"temperatures must be a non-empty 1-D array, got shape {t.shape}")
    n_chains = _v.count("n_chains", n_chains, minimum=1)
    n_samples = _v.count("n_samples", n_samples, minimum=1)
    n_thermalize = _v.count("n_thermalize", n_thermalize, minimum=0)
    n_between = _v.count("n_between", n_between, minimum=1)
    k_start, k_run = jax.random.split(key)
    shape = (t.size, n_chains, L, L)
    if start == "random":
        spins = jnp.where(jax.random.bernoulli(k_start, 0.5, shape), 1, -1).astype(jnp.int8)
    else:
        spins = jnp.ones(shape, jnp.int8)
    beta = jnp.asarray(1.0 / t, jnp.result_type(float))[:, None]
    return _sample(k_run, spins, beta, method, n_thermalize, n_samples, n_between)
