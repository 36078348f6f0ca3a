r"""The HP lattice protein on the square lattice: exact enumeration, folding and design (chapter 12).

A chain of :math:`N` monomers, each hydrophobic (H, :math:`h_i = 1`) or polar (P, :math:`h_i = 0`), occupies a
self-avoiding walk; every pair of H monomers that are lattice neighbours but not chain neighbours contributes
:math:`-1` to the energy {Lau and Dill 1989}:

.. math:: E(\text{fold}) = -\sum_{i < j - 1} c_{ij}(\text{fold})\, h_i h_j .

* :func:`count_self_avoiding_walks`: the number of self-avoiding walks of ``n_steps`` bonds from the origin
  (all of them, no symmetry reduction), the series 4, 12, 36, 100, 284, ... (OEIS A001411).
* :func:`enumerate_folds`: every conformation up to the eight lattice symmetries, as contact matrices.
* :func:`fold_energies`: the energy of every conformation for a sequence (or for a relaxed sequence of
  H probabilities, the mean-field energy :math:`-\sum c_{ij} p_i p_j`).
* :func:`design_sequence`: gradient ascent (optax Adam) on the log Boltzmann probability of a target fold
  through the exact partition function, with the sequence relaxed to :math:`p_i = \sigma(\theta_i)`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v

__all__ = ["count_self_avoiding_walks", "enumerate_folds", "fold_energies", "energy_gap", "design_sequence"]

_MOVES = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]])


def _extend(walks):
    """All self-avoiding one-step extensions of walks int[W, k + 1, 2] -> int[W', k + 2, 2]."""
    new = walks[:, -1:, :] + _MOVES[None, :, :]                      # [W, 4, 2]
    hit = np.any(np.all(walks[:, :, None, :] == new[:, None, :, :], axis=-1), axis=1)   # [W, 4]
    w_idx, m_idx = np.nonzero(~hit)
    return np.concatenate([walks[w_idx], new[w_idx, m_idx][:, None, :]], axis=1)


def _walks(n_steps: int, reduced: bool):
    walks = np.zeros((1, 1, 2), dtype=np.int16)
    if reduced:  # first step along +x: divides by the four rotations
        walks = np.array([[[0, 0], [1, 0]]], dtype=np.int16)
        start = 1
    else:
        start = 0
    for _ in range(start, n_steps):
        walks = _extend(walks)
    if reduced:  # the first step off the x axis goes to +y: divides by the reflection y -> -y
        off = walks[:, :, 1] != 0
        first = np.argmax(off, axis=1)
        y_first = walks[np.arange(len(walks)), first, 1]
        walks = walks[(~off.any(axis=1)) | (y_first > 0)]
    return walks


def count_self_avoiding_walks(n_steps: int) -> int:
    """Number of self-avoiding walks of ``n_steps`` bonds from the origin on the square lattice, by exact
    enumeration (every walk counted, no symmetry reduction).

    Args:
      n_steps: number of bonds, 1 <= n_steps <= 14 (the enumeration grows as about 2.64^n).

    Returns:
      int: 4, 12, 36, 100, 284, 780, ... for n_steps = 1, 2, 3, ...

    Raises:
      TypeError: ``n_steps`` not an integer.
      ValueError: ``n_steps`` outside 1..14.
    """
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    if n_steps > 14:
        raise ValueError(f"n_steps must be <= 14 for exact enumeration (memory grows as 2.64^n), got {n_steps}")
    return int(len(_walks(n_steps, reduced=False)))


def enumerate_folds(n_monomers: int):
    r"""Every conformation of a chain of ``n_monomers`` on the square lattice up to rotations and reflections,
    as a contact matrix: ``contacts[f, k] = 1`` when the k-th pair (i, j) with j >= i + 3 is a lattice contact.
    (Straight chains are symmetric under the reflection and counted once.)

    Args:
      n_monomers: chain length, 4 <= n_monomers <= 15.

    Returns:
      ``(contacts, pairs, coords)``: float[F, P] (numpy float64), int[P, 2] the pairs (i, j), and
      int[F, n_monomers, 2] the coordinates of each fold.

    Raises:
      TypeError: not an integer; ValueError: out of range.
    """
    n_monomers = _v.count("n_monomers", n_monomers, minimum=4)
    if n_monomers > 15:
        raise ValueError(f"n_monomers must be <= 15 for exact enumeration, got {n_monomers}")
    coords = _walks(n_monomers - 1, reduced=True)
    pairs = np.array([(i, j) for i in range(n_monomers) for j in range(i + 3, n_monomers)])
    dist = np.abs(coords[:, pairs[:, 0]] - coords[:, pairs[:, 1]]).sum(axis=-1)
    return (dist == 1).astype(np.float64), pairs, coords


def fold_energies(sequence, contacts, pairs):
    r"""Energies :math:`E_f = -\sum_{(i,j)} c_{f,ij}\, h_i h_j` of every fold; traceable in ``sequence``.

    Args:
      sequence: float[N] with 1 for H and 0 for P, or H probabilities in [0, 1] (mean-field energy).
      contacts: float[F, P] from :func:`enumerate_folds`.
      pairs: int[P, 2] from :func:`enumerate_folds`.

    Returns:
      float[F].

    Raises:
      ValueError: a sequence whose length does not fit ``pairs``.
    """
    pairs = np.asarray(pairs)
    if not _v.is_traced(sequence):
        sequence = _v.float_array("sequence", sequence, ndim=1, finite=True)
        if pairs.size and sequence.shape[0] <= pairs.max():
            raise ValueError(f"sequence has {sequence.shape[0]} monomers, the folds {pairs.max() + 1}")
    h = sequence[pairs[:, 0]] * sequence[pairs[:, 1]]
    return -(jnp.asarray(contacts, h.dtype) @ h)


def energy_gap(energies):
    """Ground-state energy, its degeneracy and the gap to the next level of a spectrum.

    Args:
      energies: float[F] (integers for a discrete HP sequence).

    Returns:
      ``(e0, degeneracy, gap)``: floats and an int; the gap is 0 when the ground state is degenerate.

    Raises:
      ValueError: fewer than two energies.
    """
    e = np.sort(np.asarray(_v.numpy_array("energies", energies, ndim=1)))
    if e.size < 2:
        raise ValueError("energies must hold at least two levels")
    e0 = e[0]
    degeneracy = int(np.sum(np.isclose(e, e0)))
    gap = 0.0 if degeneracy > 1 else float(e[1] - e0)
    return float(e0), degeneracy, gap


@functools.partial(jax.jit, static_argnames=("n", "n_steps"))
def _design(key, n, contacts, pair_i, pair_j, target, beta, lr, n_h, n_steps, penalty):
    # the random start and the final sigmoid sit inside the one compiled program
    import optax

    theta0 = 0.1 * jax.random.normal(key, (n,), contacts.dtype)

    opt = optax.adam(lr)

    def objective(theta):
        p = jax.nn.sigmoid(theta)
        e = -(contacts @ (p[pair_i] * p[pair_j]))
        log_prob = -beta * e[target] - jax.scipy.special.logsumexp(-beta * e)
        return -log_prob + penalty * (jnp.sum(p) - n_h) ** 2, log_prob

    def step(carry, _):
        theta, state = carry
        (loss, log_prob), g = jax.value_and_grad(objective, has_aux=True)(theta)
        with jax.numpy_dtype_promotion("standard"):
            upd, state = opt.update(g, state, theta)
        return (optax.apply_updates(theta, upd), state), log_prob

    (theta, _), history = jax.lax.scan(step, (theta0, opt.init(theta0)), None, length=n_steps)
    return jax.nn.sigmoid(theta), history


def design_sequence(key, contacts, pairs, target: int, *, n_hydrophobic: int, beta: float = 2.0,
                    lr: float = 0.1, n_steps: int = 300, penalty: float = 1.0):
    r"""Design an HP sequence for fold ``target`` by gradient ascent on
    :math:`\ln P_\beta(\text{target}) = -\beta E_{\rm target} - \ln\sum_f e^{-\beta E_f}` with the relaxed
    sequence :math:`p = \sigma(\theta)` and a quadratic penalty holding :math:`\sum_i p_i` at ``n_hydrophobic``.

    Args:
      key: a JAX key (the random start of :math:`\theta`).
      contacts, pairs: from :func:`enumerate_folds`.
      target: index of the target fold.
      n_hydrophobic: the number of H monomers wanted, 1 <= n_hydrophobic < N.
      beta: inverse temperature > 0; lr: Adam step > 0; n_steps: >= 1; penalty: >= 0.

    Returns:
      ``(probabilities, log_prob_history)``: float[N] the relaxed sequence (round it to get H/P), and
      float[n_steps] the log probability of the target along the ascent.

    Raises:
      TypeError: bad key or numbers; ValueError: values out of range.
    """
    _v.key(key)
    contacts = _v.float_array("contacts", contacts, ndim=2, finite=True)
    pairs = np.asarray(pairs)
    n = int(pairs.max()) + 1
    target = _v.count("target", target, minimum=0)
    if target >= contacts.shape[0]:
        raise ValueError(f"target must index one of the {contacts.shape[0]} folds, got {target}")
    n_h = _v.count("n_hydrophobic", n_hydrophobic, minimum=1)
    if n_h >= n:
        raise ValueError(f"n_hydrophobic must be < the chain length {n}, got {n_h}")
    beta = _v.positive_float("beta", beta)
    lr = _v.positive_float("lr", lr)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    penalty = _v.positive_float("penalty", penalty, allow_zero=True)
    dt = contacts.dtype.type
    return _design(key, n, contacts, jnp.asarray(pairs[:, 0]), jnp.asarray(pairs[:, 1]), target,
                   dt(beta), dt(lr), dt(n_h), n_steps, dt(penalty))
