r"""Ising spin glasses, their exact ground states, and simulated annealing (chapter 6).

Every model here is an Ising Hamiltonian without fields,

.. math:: H(s) = -\sum_{i<j} J_{ij}\, s_i s_j = -\tfrac12\, s^\top J s, \qquad s_i = \pm 1,

given by a symmetric coupling matrix ``couplings`` ``J`` of shape ``[N, N]`` with zero diagonal:

* the Sherrington–Kirkpatrick (SK) model, every pair coupled, :math:`J_{ij} \sim \mathcal N(0, 1/N)`
  (:func:`sk_couplings`);
* the two-dimensional Edwards–Anderson (EA) model, nearest neighbours of an ``L x L`` lattice coupled,
  site ``(x, y)`` numbered ``i = y L + x`` (:func:`ea_couplings`, :func:`lattice_couplings`);
* the Wishart planted ensemble, whose ground state is known by construction (:func:`wishart_planted`).

Exact ground states come from exhaustive enumeration (:func:`exact_ground_state`, N up to 26, the
global spin flip halving the work) and, for the open-boundary square lattice, from a row-by-row
transfer matrix in the min-sum algebra (:func:`ea_exact_ground_state`, L up to 14). Simulated annealing
and parallel tempering are Metropolis chains run in parallel (``vmap`` over replicas, ``lax.scan`` over
sweeps): :func:`annealing_kernel` is the ``(init, step)`` pair, :func:`simulated_annealing` and
:func:`parallel_tempering` run it over a temperature schedule.
"""

from __future__ import annotations

import csv
import io
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v
from physml_helpers._kernels import Kernel

__all__ = [
    "sk_couplings",
    "ea_couplings",
    "lattice_couplings",
    "vna_ea_instance",
    "load_ea_ground_states",
    "wishart_planted",
    "energy",
    "exact_ground_state",
    "exact_free_energy",
    "ea_exact_ground_state",
    "linear_schedule",
    "AnnealingState",
    "AnnealingInfo",
    "AnnealingResult",
    "TemperingResult",
    "annealing_kernel",
    "simulated_annealing",
    "parallel_tempering",
]

MAX_ENUMERATION = 26  # 2^25 configurations after the spin-flip symmetry: seconds, and 2 GB would be the next step
MAX_TRANSFER = 14  # 2^14 row states: a 16384 x 16384 min-plus product per row


# ---------------------------------------------------------------------------------------------------
# Instances
# ---------------------------------------------------------------------------------------------------


def sk_couplings(key, n: int, *, n_instances: int | None = None, dtype=None) -> jax.Array:
    r"""Couplings of a Sherrington–Kirkpatrick instance: :math:`J_{ij} = J_{ji} \sim \mathcal N(0, 1/N)`.

    Args:
      key: JAX random key.
      n: number of spins, >= 2.
      n_instances: None for one instance, or the number B >= 1 of independent instances to draw at once.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      float[n, n] symmetric couplings with zero diagonal (float[B, n, n] with ``n_instances``).

    Raises:
      TypeError: ``key`` not a typed JAX key, ``n`` or ``n_instances`` not an integer, ``dtype`` not floating.
      ValueError: ``n`` < 2, ``n_instances`` < 1.
    """
    _v.key(key)
    n = _v.count("n", n, minimum=2)
    batch = () if n_instances is None else (_v.count("n_instances", n_instances, minimum=1),)
    dtype = _v.float_dtype("dtype", dtype)
    upper = jnp.triu(jax.random.normal(key, batch + (n, n), dtype), k=1) / np.sqrt(n).astype(dtype)
    return upper + jnp.swapaxes(upper, -1, -2)


def _bond_draws(key, shape, distribution, dtype):
    if distribution == "gaussian":
        return jax.random.normal(key, shape, dtype)
    return jnp.where(jax.random.bernoulli(key, 0.5, shape), 1.0, -1.0).astype(dtype)


def ea_couplings(key, L: int, *, distribution: str = "gaussian", periodic: bool = True, dtype=None) -> jax.Array:
    r"""Couplings of a 2-D Edwards–Anderson instance on an ``L x L`` square lattice.

    Each nearest-neighbour bond gets an independent coupling, standard Gaussian or ±1 with equal
    probability; site ``(x, y)`` is spin ``i = y L + x``.

    Args:
      key: JAX random key.
      L: linear size, >= 2 (>= 3 with ``periodic``, so that no pair is bonded twice).
      distribution: ``"gaussian"`` (:math:`J \sim \mathcal N(0, 1)`) or ``"bimodal"`` (:math:`J = \pm 1`).
      periodic: a torus (True) or open boundaries (False).
      dtype: floating dtype (default: JAX's default float).

    Returns:
      float[L*L, L*L] symmetric couplings with zero diagonal, nonzero only between neighbours.

    Raises:
      TypeError: ``key`` not a typed JAX key, ``L`` not an integer, ``periodic`` not a bool, ``dtype`` not
        floating.
      ValueError: ``L`` too small, unknown ``distribution``.
    """
    _v.key(key)
    periodic = _v.boolean("periodic", periodic)
    L = _v.count("L", L, minimum=3 if periodic else 2)
    distribution = _v.choice("distribution", distribution, ("gaussian", "bimodal"))
    dtype = _v.float_dtype("dtype", dtype)
    kh, kv = jax.random.split(key)
    width = L if periodic else L - 1
    horizontal = _bond_draws(kh, (L, width), distribution, dtype)
    vertical = _bond_draws(kv, (width, L), distribution, dtype)
    return _couplings_from_bonds(horizontal, vertical, L, periodic)


def _couplings_from_bonds(horizontal, vertical, L, periodic):
    dtype = horizontal.dtype
    h, v = np.asarray(horizontal), np.asarray(vertical)
    upper = np.zeros((L * L, L * L), h.dtype)
    y, x = np.nonzero(np.ones(h.shape, bool))
    np.add.at(upper, (y * L + x, y * L + (x + 1) % L), h[y, x])
    y, x = np.nonzero(np.ones(v.shape, bool))
    np.add.at(upper, (y * L + x, ((y + 1) % L) * L + x), v[y, x])
    return jnp.asarray(upper + upper.T, dtype)


def _bonds(horizontal, vertical):
    h = _v.float_array("horizontal", horizontal, ndim=2, finite=True)
    v = _v.float_array("vertical", vertical, ndim=2, finite=True)
    L = h.shape[0]
    if L < 2 or h.shape != (L, L - 1) or v.shape != (L - 1, L):
        raise ValueError(
            f"horizontal must have shape [L, L-1] and vertical [L-1, L] for one L >= 2, got {h.shape} and {v.shape}; "
            "horizontal[y, x] couples (x, y)-(x+1, y), vertical[y, x] couples (x, y)-(x, y+1)"
        )
    if h.dtype != v.dtype:
        raise TypeError(f"horizontal and vertical must have one dtype, got {h.dtype} and {v.dtype}")
    return h, v, L


def lattice_couplings(horizontal, vertical) -> jax.Array:
    r"""The ``[N, N]`` coupling matrix of an open-boundary ``L x L`` lattice given by its bonds.

    Args:
      horizontal: float[L, L-1]; ``horizontal[y, x]`` couples sites ``(x, y)`` and ``(x+1, y)``.
      vertical: float[L-1, L]; ``vertical[y, x]`` couples sites ``(x, y)`` and ``(x, y+1)``.

    Returns:
      float[L*L, L*L] symmetric couplings (site ``(x, y)`` is spin ``y L + x``), for :func:`energy` and the
      annealers.

    Raises:
      TypeError: not arrays of real numbers, or of two dtypes.
      ValueError: shapes that do not fit one ``L``, non-finite entries.
    """
    h, v, L = _bonds(horizontal, vertical)
    return _couplings_from_bonds(h, v, L, False)


def vna_ea_instance(seed: int, L: int = 10) -> tuple[np.ndarray, np.ndarray]:
    r"""The Edwards–Anderson instances benchmarked in Hibat-Allah et al. (2021), regenerated.

    Their instance generator draws, with NumPy's legacy generator seeded by ``seed``, uniform couplings
    ``Jz = uniform(0, 2, size=(L, L, 2)) - 1`` on an open ``L x L`` lattice, ``Jz[x, y, 0]`` coupling
    ``(x, y)-(x+1, y)`` and ``Jz[x, y, 1]`` coupling ``(x, y)-(x, y+1)``. The exact ground-state energies of
    seeds 1 to 25 at ``L = 10`` are shipped with the package (:func:`load_ea_ground_states`).

    Args:
      seed: the instance's seed, an integer >= 0.
      L: linear size, >= 2.

    Returns:
      ``(horizontal, vertical)``: float64 NumPy arrays of shapes ``[L, L-1]`` and ``[L-1, L]`` in the
      convention of :func:`ea_exact_ground_state`.

    Raises:
      TypeError: ``seed`` or ``L`` not integers.
      ValueError: ``seed`` < 0 or ``L`` < 2.
    """
    seed = _v.count("seed", seed)
    L = _v.count("L", L, minimum=2)
    jz = np.random.RandomState(seed).uniform(0, 2, size=(L, L, 2)) - 1  # = np.random.seed(seed); np.random.uniform
    return np.ascontiguousarray(jz[: L - 1, :, 0].T), np.ascontiguousarray(jz[:, : L - 1, 1].T)


def load_ea_ground_states() -> dict[int, float]:
    r"""Published exact ground-state energies per spin of the 25 instances ``vna_ea_instance(seed, 10)``.

    Source: Hibat-Allah et al., Nature Machine Intelligence 3, 952 (2021), repository
    VectorInstitute/VariationalNeuralAnnealing, file ``data/EA/GS_energies_10x10.txt`` (computed there with
    the spin-glass server), shipped as ``physml_helpers/data/ea_10x10_ground_states.csv``.

    Returns:
      ``{seed: energy per spin}`` for seeds 1 to 25, ten decimals as published.

    Raises:
      FileNotFoundError: the data file is missing (a broken install).
    """
    from importlib import resources

    text = resources.files("physml_helpers").joinpath("data/ea_10x10_ground_states.csv").read_text()
    rows = csv.reader(line for line in io.StringIO(text) if line.strip() and not line.startswith("#"))
    header = next(rows)
    if header != ["seed", "energy_per_spin"]:
        raise ValueError(f"unexpected header {header} in ea_10x10_ground_states.csv")
    return {int(seed): float(e) for seed, e in rows}


def wishart_planted(key, n: int, *, alpha: float, dtype=None):
    r"""A Wishart planted instance (Hamze et al. 2020): a spin glass with a known ground state.

    Draw a planted configuration :math:`t`, then :math:`M = \mathrm{round}(\alpha N)` Gaussian columns
    :math:`w_\mu` projected orthogonally to :math:`t`, and set :math:`J = -\tfrac1N W W^\top` with the
    diagonal removed. Then

    .. math:: H(s) = \frac{1}{2N}\sum_\mu \big[(w_\mu\cdot s)^2 - |w_\mu|^2\big] \ge -\frac{1}{2N}\lVert W\rVert_F^2,

    with equality at :math:`s = \pm t`: the planted state is a ground state and its energy is known.

    Args:
      key: JAX random key.
      n: number of spins, >= 2.
      alpha: ratio :math:`M/N` of Gaussian columns to spins, > 0 (small alpha: rugged and hard; large: easy).
      dtype: floating dtype (default: JAX's default float).

    Returns:
      ``(couplings, ground_state, ground_energy)``: float[n, n], float[n] of ±1, float[].

    Raises:
      TypeError: ``key`` not a typed JAX key, ``n`` not an integer, ``alpha`` not a number.
      ValueError: ``n`` < 2, ``alpha`` not > 0 or so small that M = 0.
    """
    _v.key(key)
    n = _v.count("n", n, minimum=2)
    alpha = _v.positive_float("alpha", alpha)
    dtype = _v.float_dtype("dtype", dtype)
    m = int(round(alpha * n))
    if m < 1:
        raise ValueError(f"alpha must give at least one column, alpha * n >= 0.5; got alpha={alpha}, n={n}")
    kt, kw = jax.random.split(key)
    t = jnp.where(jax.random.bernoulli(kt, 0.5, (n,)), 1.0, -1.0).astype(dtype)
    w = jax.random.normal(kw, (n, m), dtype)
    w = w - jnp.outer(t, t @ w) / n  # every column orthogonal to t
    full = -(w @ w.T) / n
    couplings = full - jnp.diag(jnp.diag(full))
    return couplings, t, -jnp.sum(w**2) / (2 * n)


# ---------------------------------------------------------------------------------------------------
# Energies and exact ground states
# ---------------------------------------------------------------------------------------------------


def _couplings(couplings, *, batched=False):
    J = _v.float_array("couplings", couplings, finite=True)
    square = J.ndim >= 2 and J.shape[-1] == J.shape[-2] and J.shape[-1] >= 1
    if not square or J.ndim > (3 if batched else 2):
        want = "[N, N] or a batch [B, N, N]" if batched else "[N, N]"
        raise ValueError(f"couplings must be a square matrix {want}, got shape {J.shape}")
    if not _v.is_traced(J):
        for m in np.asarray(J).reshape((-1,) + J.shape[-2:]):
            _v.check_symmetric("couplings", m, hint="; the Hamiltonian is -1/2 s^T J s with J = J^T")
            if np.any(np.diag(m) != 0):
                raise ValueError("couplings must have a zero diagonal (s_i^2 = 1 would only add a constant), got "
                                 f"a diagonal entry {np.diag(m)[np.diag(m) != 0][0]}")
    return J


def energy(couplings, s) -> jax.Array:
    r"""Ising energy :math:`H(s) = -\sum_{i<j} J_{ij} s_i s_j = -\frac12 s^\top J s`.

    Args:
      couplings: float[N, N] symmetric, zero diagonal.
      s: float[..., N] configurations of ±1 (any batch shape); integers are converted.

    Returns:
      float[...] energies, in the couplings' dtype.

    Raises:
      TypeError: arrays not numeric.
      ValueError: couplings not square, symmetric, zero-diagonal and finite; ``s`` whose last axis is not N,
        or (concrete) with entries other than ±1.
    """
    J = _couplings(couplings)
    s = _v.float_array("s", s)
    if s.ndim < 1 or s.shape[-1] != J.shape[0]:
        raise ValueError(f"s must have shape [..., N] with N = {J.shape[0]} (the couplings' size), got {s.shape}")
    _v.spins("s", s)
    s = s.astype(J.dtype)
    return -0.5 * jnp.einsum("...i,ij,...j->...", s, J, s)


def _bit_configurations(n: int, dtype=np.float64) -> np.ndarray:
    """All 2^n configurations of n spins as ±1, [2^n, n], spin 0 the fastest-changing."""
    idx = np.arange(2**n)[:, None]
    return (1 - 2 * ((idx >> np.arange(n)) & 1)).astype(dtype)


def _enumerate(J: np.ndarray, temperature: float, mode: str):
    """Scan all 2^(N-1) configurations with s_{N-1} = +1 in NumPy, split into a low part (spins 0..l-1) and a
    high part, one block of high configurations at a time (each block one matrix product). mode "min":
    (min energy, index of the minimizer as low + 2^l high); "logz": log sum exp(-E/T) over the half space."""
    n = J.shape[0]
    n_low = min(n - 1, 12)
    n_high = n - 1 - n_low
    block = 2 ** min(n_high, 11)
    s_low = _bit_configurations(n_low, J.dtype)  # [2^l, l]
    e_low = -0.5 * np.einsum("ci,ij,cj->c", s_low, J[:n_low, :n_low], s_low)
    j_hh, j_hl = J[n_low:, n_low:], J[n_low:, :n_low]
    best, where, log_z = np.inf, 0, -np.inf
    for start in range(0, 2**n_high, block):
        index = np.arange(start, start + block)[:, None]
        s_high = np.concatenate([(1 - 2 * ((index >> np.arange(n_high)) & 1)), np.ones((block, 1), int)],
                                axis=1).astype(J.dtype)
        e = (-0.5 * np.einsum("ci,ij,cj->c", s_high, j_hh, s_high))[:, None] + e_low[None, :] \
            - (s_high @ j_hl) @ s_low.T  # [block, 2^l]
        if mode == "min":
            flat = int(np.argmin(e))
            if e.flat[flat] < best:
                best, where = e.flat[flat], start * 2**n_low + flat
        else:
            m = np.max(-e / temperature)
            log_z = np.logaddexp(log_z, m + np.log(np.sum(np.exp(-e / temperature - m))))
    if mode == "min":
        return best, where, n_low
    return log_z


def exact_ground_state(couplings):
    r"""Exact ground state by exhaustive enumeration.

    The energy is even under the global flip :math:`s \to -s`, so only the :math:`2^{N-1}` configurations
    with :math:`s_{N-1} = +1` are visited. They are split into the first ``l`` spins and the rest,
    :math:`H = H_{\rm low} + H_{\rm high} - s_{\rm high}^\top J_{\rm high,low} s_{\rm low}`, so one matrix
    product gives the energies of a whole block of configurations; blocks are scanned.

    Args:
      couplings: float[N, N] symmetric, zero diagonal, 2 <= N <= 26; or a batch float[B, N, N] of instances
        (enumerated one after the other).

    Returns:
      ``(energy, state)``: the ground-state energy float[] and one ground state float[N] of ±1 (its mirror
      image ``-state`` is another), in the couplings' dtype; float[B] and float[B, N] for a batch.

    Raises:
      TypeError: ``couplings`` not numeric.
      ValueError: couplings not square, symmetric, zero-diagonal and finite; N < 2, or N > 26 (2^25
        configurations; use :func:`ea_exact_ground_state` for lattices, or an annealer).
    """
    J = _couplings(couplings, batched=True)
    n = J.shape[-1]
    if not 2 <= n <= MAX_ENUMERATION:
        raise ValueError(f"couplings must have 2 <= N <= {MAX_ENUMERATION} for enumeration (2^(N-1) configurations), "
                         f"got N = {n}; use ea_exact_ground_state for a lattice, or an annealer")
    mats = np.asarray(J).reshape((-1, n, n))
    e0, index = np.zeros(len(mats), mats.dtype), np.zeros(len(mats), np.int64)
    for k, m in enumerate(mats):
        e0[k], index[k], n_low = _enumerate(m, 1.0, "min")
    high, low = np.divmod(index, 2**n_low)
    bits = np.concatenate([(low[:, None] >> np.arange(n_low)) & 1, (high[:, None] >> np.arange(n - 1 - n_low)) & 1],
                          axis=-1)
    states = np.concatenate([1 - 2 * bits, np.ones((len(mats), 1), int)], axis=-1)
    e0 = jnp.asarray(e0.reshape(J.shape[:-2]), J.dtype)
    state = jnp.asarray(states.reshape(J.shape[:-1]), J.dtype)
    return e0, state


def exact_free_energy(couplings, temperature) -> jax.Array:
    r"""Exact free energy :math:`F = -T\ln Z`, :math:`Z = \sum_s e^{-H(s)/T}`, by enumeration.

    Args:
      couplings: float[N, N] symmetric, zero diagonal, 2 <= N <= 26.
      temperature: T > 0.

    Returns:
      float[] the free energy, in the couplings' dtype.

    Raises:
      TypeError: ``couplings`` or ``temperature`` not numeric.
      ValueError: couplings not valid (see :func:`exact_ground_state`), N out of range, T not > 0.
    """
    J = _couplings(couplings)
    T = _v.positive_float("temperature", temperature)
    n = J.shape[0]
    if not 2 <= n <= MAX_ENUMERATION:
        raise ValueError(f"couplings must have 2 <= N <= {MAX_ENUMERATION} for enumeration, got N = {n}")
    log_half = _enumerate(np.asarray(J), T, "logz")
    return jnp.asarray(-T * (log_half + np.log(2.0)), J.dtype)


def ea_exact_ground_state(horizontal, vertical):
    r"""Exact ground state of an open-boundary ``L x L`` Ising spin glass by a row-by-row transfer matrix.

    With rows :math:`r_y \in \{\pm1\}^L`, :math:`H = \sum_y h(r_y) + \sum_y v_y(r_y, r_{y+1})`, so the minimum
    over all rows up to :math:`y` obeys the min-sum (Viterbi) recursion

    .. math:: C_{y+1}(r') = h_{y+1}(r') + \min_r \big[C_y(r) + v_y(r, r')\big],

    :math:`L` steps of a :math:`2^L \times 2^L` min-plus product, then a backtrack. Cost
    :math:`O(L\,4^L)` instead of :math:`2^{L^2}`. Computed in NumPy float64.

    Args:
      horizontal: float[L, L-1]; ``horizontal[y, x]`` couples ``(x, y)-(x+1, y)``.
      vertical: float[L-1, L]; ``vertical[y, x]`` couples ``(x, y)-(x, y+1)``. Energy
        :math:`-\sum J s s` over bonds, as in :func:`energy`.

    Returns:
      ``(energy, spins)``: the ground-state energy (a Python float) and one ground state, int8[L, L]
      indexed ``[y, x]`` (flattened, the spin order of :func:`lattice_couplings`).

    Raises:
      TypeError: not arrays of real numbers.
      ValueError: shapes that do not fit one ``L``, non-finite entries, ``L`` > 14.
    """
    h, v, L = _bonds(horizontal, vertical)
    if L > MAX_TRANSFER:
        raise ValueError(f"L must be <= {MAX_TRANSFER} for the transfer matrix (2^L row states), got L = {L}")
    h = _v.numpy_array("horizontal", horizontal)  # float64 whatever JAX's precision setting
    v = _v.numpy_array("vertical", vertical)
    rows = _bit_configurations(L)  # [2^L, L], row state r has bit x set where spin x is -1
    bits = (1 - rows) / 2
    pairs = rows[:, :-1] * rows[:, 1:]  # [2^L, L-1]
    # s_x s'_x = 1 - 2 bit_x(r XOR r'): the vertical energy of two rows depends on r XOR r' only
    xor = np.arange(2**L)[:, None] ^ np.arange(2**L)[None, :]
    cost = -pairs @ h[0]
    back = []
    for y in range(1, L):
        table = -np.sum(v[y - 1]) + 2 * bits @ v[y - 1]  # vertical energy by r XOR r'
        total = cost[None, :] + table[xor]  # [next row, previous row]
        best = np.argmin(total, axis=1)
        back.append(best)
        cost = total[np.arange(2**L), best] - pairs @ h[y]
    last = int(np.argmin(cost))
    e0 = float(cost[last])
    path = [last]
    for best in reversed(back):
        path.append(int(best[path[-1]]))
    spins = rows[path[::-1]].astype(np.int8)
    return e0, spins


# ---------------------------------------------------------------------------------------------------
# Simulated annealing and parallel tempering
# ---------------------------------------------------------------------------------------------------


def linear_schedule(t_initial: float, n_steps: int, *, t_final: float = 0.0, dtype=None) -> jax.Array:
    r"""The linear annealing schedule :math:`T_k = T_0 + (T_f - T_0)\,k/n`, :math:`k = 1, \dots, n`.

    Args:
      t_initial: :math:`T_0` > 0 (the temperature before the first step).
      n_steps: number of steps n >= 1.
      t_final: :math:`T_f` >= 0 and <= :math:`T_0`, reached at the last step (0: a quench at the end).
      dtype: floating dtype (default: JAX's default float).

    Returns:
      float[n_steps], decreasing.

    Raises:
      TypeError: arguments not numbers, ``n_steps`` not an integer.
      ValueError: ``t_initial`` not > 0, ``t_final`` < 0 or > ``t_initial``, ``n_steps`` < 1.
    """
    t0 = _v.positive_float("t_initial", t_initial)
    tf = _v.positive_float("t_final", t_final, allow_zero=True)
    n = _v.count("n_steps", n_steps, minimum=1)
    if tf > t0:
        raise ValueError(f"t_final must be <= t_initial for annealing, got t_final={tf} > t_initial={t0}")
    dtype = _v.float_dtype("dtype", dtype)
    k = np.arange(1, n + 1)
    return jnp.asarray(t0 + (tf - t0) * k / n, dtype)


class AnnealingState(NamedTuple):
    """State of :func:`annealing_kernel` for ``R`` replicas of ``N`` spins: ``spins`` float[R, N] (±1),
    ``fields`` float[R, N] the local fields :math:`h_i = \\sum_j J_{ij}s_j`, ``energy`` float[R], and the
    lowest energy each replica has visited, ``best_energy`` float[R], with that configuration ``best_spins``."""

    spins: jax.Array
    fields: jax.Array
    energy: jax.Array
    best_energy: jax.Array
    best_spins: jax.Array


class AnnealingInfo(NamedTuple):
    """What one sweep did: ``acceptance`` float[R], the fraction of accepted flips per replica."""

    acceptance: jax.Array


def _uniform_logs(key, shape, dtype):
    return jnp.log(jax.random.uniform(key, shape, dtype))


def _sweep(log_u, state: AnnealingState, couplings, temperature):
    """One Metropolis sweep of every replica (sites in order 0..N-1), at per-replica temperatures float[R];
    ``log_u`` float[N, R] are the logarithms of the uniforms of the acceptance tests (drawn outside, in bulk:
    one random-number kernel per compiled call keeps compilation short)."""
    n = couplings.shape[0]

    def site(carry, inputs):
        s, h, e, acc = carry
        row, onehot, lu = inputs  # J[i], e_i and the uniforms of site i, as scan inputs: no dynamic indexing
        s_i, h_i = s @ onehot, h @ onehot
        d_e = 2 * s_i * h_i
        # log u < -dE/T, written so that T = 0 accepts exactly the moves with dE <= 0
        accept = (d_e <= 0) | (lu * temperature < -d_e)
        flip = jnp.where(accept, -2 * s_i, 0.0)  # change of s_i
        return (s + flip[:, None] * onehot[None, :], h + flip[:, None] * row[None, :], e + jnp.where(accept, d_e, 0.0),
                acc + accept.astype(acc.dtype)), None

    acc0 = jnp.zeros(state.energy.shape, couplings.dtype)
    eye = jnp.eye(n, dtype=couplings.dtype)
    (s, h, e, acc), _ = jax.lax.scan(site, (state.spins, state.fields, state.energy, acc0), (couplings, eye, log_u))
    better = e < state.best_energy
    best_e = jnp.where(better, e, state.best_energy)
    best_s = jnp.where(better[:, None], s, state.best_spins)
    return AnnealingState(s, h, e, best_e, best_s), AnnealingInfo(acc / n)


def _check_spins_for(J, spins):
    s = _v.float_array("spins", spins)
    if s.ndim != 2 or s.shape[1] != J.shape[0] or s.shape[0] < 1:
        raise ValueError(f"spins must have shape [n_replicas, N] with N = {J.shape[0]}, got {s.shape}")
    _v.spins("spins", s)
    return s.astype(J.dtype)


def annealing_kernel(couplings) -> Kernel:
    r"""Metropolis sweeps of many replicas as an ``(init, step)`` pair.

    ``init(spins)`` builds the state from float[R, N] spins; ``step(key, state, temperature)`` makes one sweep
    (N single-flip attempts, sites in order) of every replica, flipping :math:`s_i` with probability
    :math:`\min(1, e^{-\Delta E/T})`, :math:`\Delta E = 2 s_i h_i`, and updating the local fields in
    :math:`O(N)` per accepted flip. ``temperature`` is a scalar or float[R] (one per replica, for parallel
    tempering); ``T = 0`` accepts exactly the moves that do not raise the energy.

    Args:
      couplings: float[N, N] symmetric, zero diagonal.

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(spins) -> AnnealingState`` and
      ``step(key, state, temperature) -> (AnnealingState, AnnealingInfo)``; the step is traceable.

    Raises:
      TypeError: ``couplings`` not numeric.
      ValueError: couplings not square, symmetric, zero-diagonal and finite; (from ``init``) spins not
        [R, N] of ±1.
    """
    J = _couplings(couplings)

    def init(spins) -> AnnealingState:
        s = _check_spins_for(J, spins) if not _v.is_traced(spins) else spins.astype(J.dtype)
        fields = s @ J
        e = -0.5 * jnp.sum(s * fields, axis=-1)
        return AnnealingState(s, fields, e, e, s)

    def step(key, state, temperature):
        t = jnp.broadcast_to(jnp.asarray(temperature, J.dtype), state.energy.shape)
        return _sweep(_uniform_logs(key, (J.shape[0],) + state.energy.shape, J.dtype), state, J, t)

    return Kernel(init, step)


CHUNK = 64  # sweeps per compiled call: one compilation serves every schedule length


def _anneal_chunk_one(key, state, couplings, temperatures, active, sweeps_per_temperature):
    log_u = _uniform_logs(key, (temperatures.shape[0], sweeps_per_temperature, couplings.shape[0])
                          + state.energy.shape, couplings.dtype)

    def one(state, inputs):
        lu, t, on = inputs
        new = state
        for k in range(sweeps_per_temperature):
            new, _ = _sweep(lu[k], new, couplings, jnp.broadcast_to(t, state.energy.shape))
        state = jax.tree_util.tree_map(lambda a, b: jnp.where(on, a, b), new, state)
        return state, (state.energy, state.spins[0])

    return jax.lax.scan(one, state, (log_u, temperatures, active))


@partial(jax.jit, static_argnames=("sweeps_per_temperature",))
def _anneal_chunk(keys, state, couplings, temperatures, active, *, sweeps_per_temperature):
    # vmapped over instances: the replicas of several instances advance in the same scan steps
    return jax.vmap(_anneal_chunk_one, in_axes=(0, 0, 0, None, None, None))(
        keys, state, couplings, temperatures, active, sweeps_per_temperature)


def _initial_spins(key, n_replicas, n, dtype):
    return jnp.where(jax.random.bernoulli(key, 0.5, (n_replicas, n)), 1.0, -1.0).astype(dtype)


class AnnealingResult(NamedTuple):
    """Output of :func:`simulated_annealing`: final ``spins`` float[R, N], their ``energies`` float[R], the
    lowest energy each replica visited ``best_energies`` float[R], the energies after every temperature step
    ``history`` float[n_steps, R], and the configuration of replica 0 after every step ``snapshots``
    float[n_steps, N]."""

    spins: jax.Array
    energies: jax.Array
    best_energies: jax.Array
    history: jax.Array
    snapshots: jax.Array


def _schedule(temperatures, dtype, *, name="temperatures", allow_zero=True):
    t = _v.float_array(name, temperatures, ndim=1, finite=True, nonempty=True)
    if not _v.is_traced(t) and (np.any(np.asarray(t) < 0) or (not allow_zero and np.any(np.asarray(t) == 0))):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got a minimum of {float(np.min(t))}")
    return t.astype(dtype)


def simulated_annealing(key, couplings, *, temperatures, n_replicas: int, sweeps_per_temperature: int = 1,
                        initial=None) -> AnnealingResult:
    r"""Simulated annealing (Kirkpatrick, Gelatt and Vecchi 1983): Metropolis sweeps at decreasing temperature.

    ``n_replicas`` independent runs (``vmap``-style batching over replicas), each starting from random spins
    (or ``initial``) and making ``sweeps_per_temperature`` sweeps at each temperature of the schedule. The
    schedule is run in compiled chunks of 64 temperatures, so schedules of any length share one compilation.
    A zero-length anneal is not allowed: random spins are the T = infinity baseline, drawn directly.

    Args:
      key: JAX random key.
      couplings: float[N, N] symmetric, zero diagonal, or a batch float[B, N, N] of instances annealed side by
        side (every output then gets a leading axis B).
      temperatures: float[n_steps] >= 0, the schedule (see :func:`linear_schedule`).
      n_replicas: number of independent runs R >= 1 (per instance).
      sweeps_per_temperature: sweeps at each temperature, >= 1.
      initial: optional float[R, N] (float[B, R, N] for a batch) starting spins (default: uniformly random).

    Returns:
      :class:`AnnealingResult`. Cost: ``R * n_steps * sweeps_per_temperature * N`` flip attempts.

    Raises:
      TypeError: ``key`` not a typed JAX key, counts not integers, arrays not numeric.
      ValueError: couplings not valid, an empty or negative schedule, counts < 1, ``initial`` not [R, N] ±1.
    """
    _v.key(key)
    J = _couplings(couplings, batched=True)
    batched = J.ndim == 3
    J = J if batched else J[None]
    temps = _schedule(temperatures, J.dtype)
    r = _v.count("n_replicas", n_replicas, minimum=1)
    sweeps = _v.count("sweeps_per_temperature", sweeps_per_temperature, minimum=1)
    n_inst, n_spins = J.shape[0], J.shape[1]
    k_init, k_run = jax.random.split(key)
    if initial is None:
        spins = _initial_spins(k_init, n_inst * r, n_spins, J.dtype).reshape(n_inst, r, n_spins)
    else:
        spins = _v.float_array("initial", initial)
        if spins.shape != ((n_inst, r, n_spins) if batched else (r, n_spins)):
            want = f"[{n_inst}, {r}, {n_spins}]" if batched else f"[{r}, {n_spins}]"
            raise ValueError(f"initial must have shape {want} (n_replicas = {r}), got {spins.shape}")
        _v.spins("initial", spins)
        spins = spins.astype(J.dtype).reshape(n_inst, r, n_spins)
    fields = jnp.einsum("brj,bjk->brk", spins, J)
    e = -0.5 * jnp.sum(spins * fields, axis=-1)
    state = AnnealingState(spins, fields, e, e, spins)
    n = temps.shape[0]
    n_chunks = -(-n // CHUNK)
    padded = jnp.concatenate([temps, jnp.zeros(n_chunks * CHUNK - n, J.dtype)]).reshape(n_chunks, CHUNK)
    active = (np.arange(n_chunks * CHUNK) < n).reshape(n_chunks, CHUNK)
    history, snaps = [], []
    for c, k in enumerate(jax.random.split(k_run, n_chunks)):
        state, (e, s0) = _anneal_chunk(jax.random.split(k, n_inst), state, J, padded[c], jnp.asarray(active[c]),
                                       sweeps_per_temperature=sweeps)
        history.append(e), snaps.append(s0)
    history = jnp.concatenate(history, axis=1)[:, :n]
    snaps = jnp.concatenate(snaps, axis=1)[:, :n]
    out = AnnealingResult(state.spins, state.energy, state.best_energy, history, snaps)
    return out if batched else jax.tree_util.tree_map(lambda a: a[0], out)


class TemperingResult(NamedTuple):
    """Output of :func:`parallel_tempering`: per independent run, the lowest energy any of its replicas
    visited ``best_energies`` float[C] and that configuration ``best_spins`` float[C, N]; the spins at the
    lowest temperature at the end ``spins`` float[C, N] and their ``energies`` float[C]; the swap
    acceptance between neighbouring temperatures ``swap_acceptance`` float[K-1]."""

    best_energies: jax.Array
    best_spins: jax.Array
    spins: jax.Array
    energies: jax.Array
    swap_acceptance: jax.Array


def _tempering(key, couplings, temperatures, *, n_chains, n_sweeps):
    n, k = couplings.shape[0], temperatures.shape[0]
    k_init, k_run = jax.random.split(key)
    s = _initial_spins(k_init, n_chains * k, n, couplings.dtype)
    fields = s @ couplings
    e = -0.5 * jnp.sum(s * fields, axis=-1)
    state = AnnealingState(s, fields, e, e, s)
    # replica r = chain * K + slot; perm[c, j] = which slot of chain c sits at temperature j
    perm0 = jnp.tile(jnp.arange(k), (n_chains, 1))

    def one(carry, inputs):
        state, perm, swaps = carry
        (lu, log_swap), parity = inputs
        slot_temp = jnp.zeros((n_chains, k), couplings.dtype).at[jnp.arange(n_chains)[:, None], perm].set(
            jnp.broadcast_to(temperatures, (n_chains, k)))
        state, _ = _sweep(lu, state, couplings, slot_temp.reshape(-1))
        energies = state.energy.reshape(n_chains, k)[jnp.arange(n_chains)[:, None], perm]  # by temperature
        # swap temperatures j and j+1 for j of the given parity: accept with min(1, exp((b_j - b_j+1)(E_j - E_j+1)))
        betas = 1.0 / temperatures
        j = jnp.arange(k - 1)
        log_ratio = (betas[j] - betas[j + 1]) * (energies[:, j] - energies[:, j + 1])
        do = ((j % 2) == parity)[None, :] & (log_swap < log_ratio)
        new_perm = perm
        new_perm = jnp.where(jnp.pad(do, ((0, 0), (0, 1))), jnp.roll(perm, -1, axis=1), new_perm)
        new_perm = jnp.where(jnp.pad(do, ((0, 0), (1, 0))), jnp.roll(perm, 1, axis=1), new_perm)
        return (state, new_perm, swaps + jnp.sum(do, axis=0).astype(swaps.dtype)), None

    k_flip, k_swap = jax.random.split(k_run)
    randoms = (_uniform_logs(k_flip, (n_sweeps, n, n_chains * k), couplings.dtype),
               _uniform_logs(k_swap, (n_sweeps, n_chains, k - 1), couplings.dtype))
    parities = jnp.arange(n_sweeps) % 2
    (state, perm, swaps), _ = jax.lax.scan(one, (state, perm0, jnp.zeros(k - 1, couplings.dtype)), (randoms, parities))
    best = state.best_energy.reshape(n_chains, k)
    which = jnp.argmin(best, axis=1)
    rows = jnp.arange(n_chains)
    best_spins = state.best_spins.reshape(n_chains, k, n)[rows, which]
    cold = perm[:, 0]
    spins = state.spins.reshape(n_chains, k, n)[rows, cold]
    energies = state.energy.reshape(n_chains, k)[rows, cold]
    attempts = jnp.asarray([(n_sweeps - p + 1) // 2 for p in range(2)], couplings.dtype)[_j_parity(k)]
    return best[rows, which], best_spins, spins, energies, swaps / jnp.maximum(n_chains * attempts, 1.0)


def _j_parity(k):
    return np.arange(k - 1) % 2


def parallel_tempering(key, couplings, *, temperatures, n_sweeps: int, n_chains: int = 1) -> TemperingResult:
    r"""Parallel tempering (replica exchange): one replica per temperature, neighbours swapping temperatures.

    Each sweep updates every replica at its own temperature (:func:`annealing_kernel`), then proposes to swap
    the configurations at temperatures :math:`T_j, T_{j+1}` for every other j (alternating between even and
    odd j), accepting with probability :math:`\min\big(1, e^{(\beta_j - \beta_{j+1})(E_j - E_{j+1})}\big)`,
    which keeps every replica at equilibrium. As an optimizer it returns the lowest energy any replica visited.

    Args:
      key: JAX random key.
      couplings: float[N, N] symmetric, zero diagonal, or a batch float[B, N, N] of instances run side by side
        (every output then gets a leading axis B).
      temperatures: float[K] > 0, K >= 2, increasing (the coldest first).
      n_sweeps: sweeps per replica, >= 1. Cost: ``n_chains * K * n_sweeps * N`` flip attempts.
      n_chains: independent tempering runs C >= 1 (each with its own K replicas).

    Returns:
      :class:`TemperingResult`.

    Raises:
      TypeError: ``key`` not a typed JAX key, counts not integers, arrays not numeric.
      ValueError: couplings not valid; temperatures not > 0, not increasing, or fewer than two; counts < 1.
    """
    _v.key(key)
    J = _couplings(couplings, batched=True)
    temps = _schedule(temperatures, J.dtype, allow_zero=False)
    if temps.shape[0] < 2 or np.any(np.diff(np.asarray(temps)) <= 0):
        raise ValueError(f"temperatures must be at least two, strictly increasing, got {np.asarray(temps)}")
    n_sweeps = _v.count("n_sweeps", n_sweeps, minimum=1)
    n_chains = _v.count("n_chains", n_chains, minimum=1)
    if J.ndim == 2:
        return TemperingResult(*_tempering_jit(key, J, temps, n_chains=n_chains, n_sweeps=n_sweeps))
    keys = jax.random.split(key, J.shape[0])
    return TemperingResult(*_tempering_batch(keys, J, temps, n_chains=n_chains, n_sweeps=n_sweeps))


_tempering_jit = jax.jit(_tempering, static_argnames=("n_chains", "n_sweeps"))


@partial(jax.jit, static_argnames=("n_chains", "n_sweeps"))
def _tempering_batch(keys, couplings, temperatures, *, n_chains, n_sweeps):
    return jax.vmap(partial(_tempering, n_chains=n_chains, n_sweeps=n_sweeps), in_axes=(0, 0, None))(
        keys, couplings, temperatures)
