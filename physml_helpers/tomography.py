r"""Tomography of states with signs and phases: measurements in several Pauli bases (chapter 17).

Chapter 7 reconstructed a *positive* state from :math:`\sigma^z` measurements alone
(:func:`physml_helpers.vmc.fit_tomography`). A state with phases needs more: measuring qubit ``i`` along
:math:`x` or :math:`y` reveals the relative phase of configurations that differ at site ``i``. A measurement
basis is a string such as ``"ZXZZ"``, one Pauli letter per qubit. Measuring along :math:`x` (or :math:`y`) is
measuring along :math:`z` after the rotation :math:`u_X = H` (or :math:`u_Y = H S^\dagger`), with

.. math:: H = \tfrac{1}{\sqrt2}\begin{pmatrix}1 & 1\\ 1 & -1\end{pmatrix},\qquad
          S^\dagger = \begin{pmatrix}1 & 0\\ 0 & -i\end{pmatrix},

so the Born probabilities in basis ``b`` are :math:`p_b(k) = |(U_b\psi)_k|^2` with
:math:`U_b = u_{b_0}\otimes\dots\otimes u_{b_{n-1}}`. Outcome ``k`` is numbered like a basis state of
:mod:`physml_helpers.quantum` (site 0 most significant, bit 0 for the eigenvalue +1).

The likelihood of all the counts is evaluated from the dense model vector with the dense :math:`2^n\times2^n`
rotation matrices, so the helpers are for a few qubits (at most 8).
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v
from physml_helpers._kernels import require_finite_history

__all__ = ["single_site_bases", "rotate_to_basis", "measure_in_bases", "basis_nll", "fit_basis_tomography"]

MAX_QUBITS = 8

_ROTATIONS = {
    "Z": np.eye(2, dtype=np.complex128),
    "X": np.array([[1, 1], [1, -1]], dtype=np.complex128) / np.sqrt(2),
    "Y": np.array([[1, -1j], [1, 1j]], dtype=np.complex128) / np.sqrt(2),
}


def single_site_bases(n_qubits: int) -> list[str]:
    r"""The :math:`1 + 2n` bases "all Z" and "X (or Y) on one qubit, Z on the others".

    For a pure state with no zero amplitude they fix the state up to a global phase: basis ``X`` at site ``i``
    measures :math:`\mathrm{Re}\,\psi(r, 0)\psi^*(r, 1)` and basis ``Y`` its imaginary part, for every
    configuration ``r`` of the other qubits, so the phase of every configuration follows from the all-zero one by
    a chain of single flips.

    Args:
      n_qubits: number of qubits, 1 <= n_qubits <= 8.

    Returns:
      list of 1 + 2 n_qubits strings over "XYZ", the first one all "Z".

    Raises:
      TypeError: ``n_qubits`` not an integer.
      ValueError: ``n_qubits`` out of range.
    """
    n = _qubits("n_qubits", n_qubits)
    bases = ["Z" * n]
    for i in range(n):
        for p in "XY":
            bases.append("Z" * i + p + "Z" * (n - i - 1))
    return bases


def _qubits(name: str, value) -> int:
    n = _v.count(name, value, minimum=1)
    if n > MAX_QUBITS:
        raise ValueError(f"{name} must be <= {MAX_QUBITS} (the likelihood uses dense vectors of 2^n entries), got {n}")
    return n


def _bases(bases, n: int | None = None) -> list[str]:
    if isinstance(bases, str):
        raise TypeError(f"bases must be a list of strings such as ['ZZ', 'XZ'], got the single string {bases!r}")
    try:
        items = list(bases)
    except TypeError:
        raise TypeError(f"bases must be a list of strings over 'XYZ', got {type(bases).__name__}") from None
    if not items:
        raise ValueError("bases must not be empty")
    for i, b in enumerate(items):
        if not isinstance(b, str):
            raise TypeError(f"bases[{i}] must be a string over 'XYZ', got {type(b).__name__}")
        if not b or set(b) - set("XYZ"):
            raise ValueError(f"bases[{i}] must be a non-empty string of the letters X, Y, Z, got {b!r}")
        if n is not None and len(b) != n:
            raise ValueError(f"bases[{i}] = {b!r} has {len(b)} letters; the state has {n} qubits")
    _qubits("the number of letters in a basis", len(items[0]))
    if any(len(b) != len(items[0]) for b in items):
        raise ValueError(f"all bases must have the same length, got lengths {sorted({len(b) for b in items})}")
    return items


def _state(name: str, state):
    """A concrete or traced vector of length 2^n (n in 1..8), as a complex JAX array; returns (psi, n)."""
    if state is None or isinstance(state, (str, bytes)):
        raise TypeError(f"{name} must be a state vector (an array of numbers), got {type(state).__name__}")
    try:
        psi = jnp.asarray(state)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a state vector (an array of numbers), got {type(state).__name__}") from None
    if not jnp.issubdtype(psi.dtype, jnp.number) or psi.dtype == bool:
        raise TypeError(f"{name} must hold real or complex numbers, got dtype {psi.dtype}")
    n = int(round(np.log2(psi.size))) if psi.size > 1 else 0
    if psi.ndim != 1 or n < 1 or 2**n != psi.size:
        raise ValueError(f"{name} must be a vector of length 2**n with n >= 1, got shape {psi.shape}")
    _qubits(f"the number of qubits of {name}", n)
    _v.finite(name, psi)
    if not jnp.issubdtype(psi.dtype, jnp.complexfloating):
        psi = psi.astype(jnp.complex64 if psi.dtype == jnp.float32 else jnp.complex128)
    return psi, n


def _rotate(psi, basis: str):
    n = len(basis)
    t = psi.reshape((2,) * n)
    for i, p in enumerate(basis):
        if p != "Z":
            u = jnp.asarray(_ROTATIONS[p], dtype=psi.dtype)
            t = jnp.moveaxis(jnp.tensordot(u, t, axes=([1], [i])), 0, i)
    return t.reshape(-1)


def rotate_to_basis(state, basis: str) -> jax.Array:
    r"""The amplitudes of a state in a Pauli measurement basis, :math:`U_b\psi`; their squared moduli are the
    Born probabilities of the outcomes. Traceable in ``state``.

    Args:
      state: float or complex vector [2**n], 1 <= n <= 8 (need not be normalized).
      basis: string of n letters from "XYZ", one per qubit (site 0 first).

    Returns:
      complex[2**n] the rotated amplitudes (complex64 for float32 input, complex128 otherwise).

    Raises:
      TypeError: ``state`` not numeric, ``basis`` not a string.
      ValueError: ``state`` not of length 2**n, non-finite; ``basis`` of the wrong length or with other letters.
    """
    psi, n = _state("state", state)
    if not isinstance(basis, str):
        raise TypeError(f"basis must be a string over 'XYZ', got {type(basis).__name__}")
    _bases([basis], n)
    return _rotate(psi, basis)


def measure_in_bases(key, state, bases, n_shots: int) -> np.ndarray:
    r"""Simulated projective measurements: ``n_shots`` outcomes in each basis drawn from the Born rule
    :math:`p_b(k) = |(U_b\psi)_k|^2` (``jax.random.categorical``, one split of ``key`` per basis), returned as
    histograms.

    Args:
      key: JAX random key.
      state: float or complex vector [2**n], 1 <= n <= 8, not zero.
      bases: list of strings over "XYZ", each of length n.
      n_shots: measurements per basis, >= 1.

    Returns:
      int64[len(bases), 2**n]: how many times each outcome was seen in each basis (rows sum to ``n_shots``).

    Raises:
      TypeError: ``key`` not a typed JAX key, ``state`` not numeric, ``bases`` not strings, ``n_shots`` not an int.
      ValueError: ``state`` of the wrong length, zero or non-finite; malformed ``bases``; ``n_shots`` < 1.
    """
    _v.key(key)
    psi, n = _state("state", state)
    bases = _bases(bases, n)
    n_shots = _v.count("n_shots", n_shots, minimum=1)
    if not bool(jnp.any(psi != 0)):
        raise ValueError("state must be a non-zero vector")
    rotations = jnp.asarray(_rotation_matrices(bases, psi.dtype))
    return np.asarray(_sample_counts(key, rotations, psi, n_shots)).astype(np.int64)


@partial(jax.jit, static_argnames=("n_shots",))
def _sample_counts(key, rotations, psi, n_shots):
    p = jnp.abs(jnp.einsum("bij,j->bi", rotations, psi)) ** 2
    keys = jax.random.split(key, rotations.shape[0])
    outcomes = jax.vmap(lambda k, pb: jax.random.categorical(k, jnp.log(pb), shape=(n_shots,)))(keys, p)
    return jax.vmap(lambda o: jnp.zeros(p.shape[1], jnp.int32).at[o].add(1))(outcomes)


def _rotation_matrices(bases, dtype=np.complex128) -> np.ndarray:
    """complex[n_bases, 2**n, 2**n]: the dense U_b of every basis."""
    mats = []
    for b in bases:
        u = np.ones((1, 1), dtype=np.complex128)
        for p in b:
            u = np.kron(u, _ROTATIONS[p])
        mats.append(u)
    return np.stack(mats).astype(dtype)


@jax.jit
def _nll(psi, rotations, counts):
    """rotations: complex[B, d, d]; counts: float[B, d]. Outcomes never seen contribute nothing (also where p = 0)."""
    norm = jnp.sum(jnp.abs(psi) ** 2)
    p = jnp.abs(jnp.einsum("bij,j->bi", rotations, psi)) ** 2 / norm
    log_p = jnp.log(jnp.where(counts > 0, p, 1.0))
    return -jnp.sum(counts * log_p) / jnp.sum(counts)


def _counts(counts, n_bases: int, dim: int):
    if counts is None or isinstance(counts, (str, bytes)) or _v.is_traced(counts):
        raise TypeError(f"counts must be a concrete integer array [n_bases, 2**n], got {type(counts).__name__}")
    c = np.asarray(counts)
    if c.dtype.kind not in "iu":
        raise TypeError(f"counts must hold integers (histograms of outcomes), got dtype {c.dtype}")
    if c.shape != (n_bases, dim):
        raise ValueError(f"counts must have shape [n_bases, 2**n] = {(n_bases, dim)}, got {c.shape}")
    if c.min() < 0 or c.sum() == 0:
        raise ValueError("counts must be non-negative with at least one measurement")
    return c


def basis_nll(state, bases, counts) -> jax.Array:
    r"""Negative log-likelihood per measurement of Pauli-basis histograms under a state,

    .. math:: \mathcal L(\psi) = -\frac{1}{\sum_{b,k} N_{bk}}\sum_{b,k} N_{bk}\,
              \ln\frac{|(U_b\psi)_k|^2}{\langle\psi|\psi\rangle}.

    Differentiable in ``state`` (traceable).

    Args:
      state: float or complex vector [2**n] (need not be normalized).
      bases: list of strings over "XYZ", each of length n.
      counts: int[len(bases), 2**n] histograms (from :func:`measure_in_bases`).

    Returns:
      float[] the mean negative log-likelihood (nats per measurement); ``inf`` if an observed outcome has zero
      probability.

    Raises:
      TypeError: ``state`` not numeric, ``bases`` not strings, ``counts`` not integers.
      ValueError: shapes that do not fit, negative or all-zero counts, malformed bases, non-finite state.
    """
    psi, n = _state("state", state)
    bases = _bases(bases, n)
    c = _counts(counts, len(bases), 2**n)
    return _nll(psi, jnp.asarray(_rotation_matrices(bases, psi.dtype)), jnp.asarray(c, dtype=jnp.real(psi).dtype))


@partial(jax.jit, static_argnames=("amplitude_fn", "n_steps"))
def _fit(amplitude_fn, params, rotations, counts, lr, n_steps):
    from physml_helpers.networks import adam_scan

    return adam_scan(lambda p: _nll(amplitude_fn(p), rotations, counts), params, lr=lr, n_steps=n_steps,
                     schedule="cosine")


def fit_basis_tomography(amplitude_fn: Callable, params, bases, counts, *, n_steps: int = 1000, lr: float = 0.02):
    r"""Maximum-likelihood tomography from Pauli-basis histograms: full-batch Adam (cosine-decaying step) on
    :func:`basis_nll` of the model state ``amplitude_fn(params)``, in one ``lax.scan``.

    Compiled once per ``amplitude_fn``, parameter shapes, number of bases and ``n_steps``; new counts, other bases
    or a new learning rate reuse the compilation (pass the same function object, not a fresh lambda). A basis whose
    row of ``counts`` is all zero contributes nothing: zero the rows of the bases to leave out.

    Args:
      amplitude_fn: ``params -> complex[2**n]``, the model's (unnormalized) state vector; real parameters.
      params: initial parameters (a pytree of real arrays).
      bases: list of strings over "XYZ", each of length n.
      counts: int[len(bases), 2**n] histograms (rows of zeros for bases left out), at least one measurement.
      n_steps: Adam steps, >= 1.
      lr: peak learning rate, > 0.

    Returns:
      ``(params, nll)``: the fitted parameters and the training NLL before each step, float[n_steps].

    Raises:
      ConvergenceError: the loss became non-finite (lower ``lr``).
      TypeError: ``amplitude_fn`` not callable, malformed ``bases`` or ``counts``, ``params`` not numeric.
      ValueError: ``amplitude_fn(params)`` not a vector of length 2**n, shapes that do not fit, ``n_steps`` < 1,
        ``lr`` <= 0, non-finite ``params``.
    """
    _v.callable_("amplitude_fn", amplitude_fn)
    _v.finite_tree("params", params)
    bases = tuple(_bases(bases))
    n = len(bases[0])
    _v.output_shape("amplitude_fn", amplitude_fn, params, expected=(2**n,),
                    what=f" (the state vector of the {n} qubits the bases describe)")
    c = _counts(counts, len(bases), 2**n)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    lr = _v.positive_float("lr", lr)
    out = jax.eval_shape(amplitude_fn, _v.shape_structs(params))
    if not jnp.issubdtype(out.dtype, jnp.complexfloating):
        raise TypeError(f"amplitude_fn must return a complex vector (phases are what this fits), got dtype {out.dtype}")
    rotations = jnp.asarray(_rotation_matrices(bases, out.dtype))
    params, history = _fit(amplitude_fn, params, rotations, jnp.asarray(c, dtype=jnp.real(rotations).dtype), lr, n_steps)
    require_finite_history("fit_basis_tomography", history, lr)
    return params, history
