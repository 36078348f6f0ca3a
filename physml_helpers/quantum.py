r"""Exact results for quantum spin chains (chapter 7): sparse Hamiltonians, Lanczos, free fermions.

Basis and ordering. A configuration of ``n`` spins-1/2 is a vector :math:`s \in \{+1, -1\}^n` of
:math:`\sigma^z` eigenvalues. Basis state number ``k`` has site ``i`` in the state given by bit
``n - 1 - i`` of ``k``: bit 0 means :math:`s_i = +1` (spin up), bit 1 means :math:`s_i = -1`. This is the
ordering of the Kronecker product :math:`A_0 \otimes A_1 \otimes \dots \otimes A_{n-1}`, with site 0 the
leftmost factor, so a Hamiltonian built here equals the one built from ``numpy.kron`` of Pauli matrices.
:func:`configurations` lists the basis in this order.

Models (periodic chains, :math:`i + n \equiv i`):

* transverse-field Ising, :math:`H = -J\sum_i Z_i Z_{i+1} - h\sum_i X_i`;
* Heisenberg, :math:`H = J\sum_i \mathbf S_i\cdot\mathbf S_{i+1}` with :math:`\mathbf S = \boldsymbol\sigma/2`.

The transverse-field chain is also solved exactly by the Jordan–Wigner transformation,
:func:`tfim_exact_energy`, which gives an independent check of the sparse diagonalization.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from physml_helpers import _validation as _v

__all__ = [
    "configurations",
    "tfim_hamiltonian",
    "heisenberg_hamiltonian",
    "ground_state",
    "tfim_exact_energy",
    "tfim_sector_energies",
    "expectation",
    "basis_index",
    "fidelity",
]

MAX_SITES = 24  # 2^24 states: a sparse matrix of about 3 GB; beyond this, exact diagonalization is not for a laptop


def _sites(n_sites, minimum: int = 2) -> int:
    n = _v.count("n_sites", n_sites, minimum=minimum)
    if n > MAX_SITES:
        raise ValueError(
            f"n_sites must be <= {MAX_SITES} for exact diagonalization (2^n_sites basis states), got {n}"
        )
    return n


def configurations(n_sites: int) -> np.ndarray:
    """All :math:`2^n` spin configurations in basis order.

    Args:
      n_sites: number of spins, 1 <= n_sites <= 24.

    Returns:
      int8[2**n_sites, n_sites] with entries ±1; row ``k`` is basis state ``k`` (module docstring for the
      ordering).

    Raises:
      TypeError: ``n_sites`` not an integer.
      ValueError: ``n_sites`` < 1 or > 24.
    """
    n = _sites(n_sites, minimum=1)
    k = np.arange(2**n)[:, None]
    bits = (k >> (n - 1 - np.arange(n))[None, :]) & 1
    return (1 - 2 * bits).astype(np.int8)


def _bond_terms(n: int):
    """Index arrays for the periodic bonds (i, i+1) and the bit masks of their two sites."""
    sites = np.arange(n)
    right = (sites + 1) % n
    masks_i = 1 << (n - 1 - sites)
    masks_j = 1 << (n - 1 - right)
    return sites, right, masks_i, masks_j


def _assemble(dim: int, rows, cols, vals) -> sp.csr_matrix:
    """A CSR matrix from lists of (row, column, value) arrays; repeated entries are summed."""
    matrix = sp.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(dim, dim)
    ).tocsr()
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix


def tfim_hamiltonian(n_sites: int, *, h: float, J: float = 1.0) -> sp.csr_matrix:
    r"""The periodic transverse-field Ising chain :math:`H = -J\sum_i Z_iZ_{i+1} - h\sum_i X_i`.

    Args:
      n_sites: number of spins, 2 <= n_sites <= 24.
      h: transverse field.
      J: Ising coupling (J > 0 is ferromagnetic).

    Returns:
      Real symmetric ``scipy.sparse.csr_matrix`` of shape ``[2**n, 2**n]``, dtype float64, in the
      :math:`\sigma^z` basis (module docstring for the ordering).

    Raises:
      TypeError: ``n_sites`` not an integer; ``h`` or ``J`` not a real number.
      ValueError: ``n_sites`` < 2 or > 24; ``h`` or ``J`` not finite.
    """
    n = _sites(n_sites)
    h = _v.real("h", h)
    J = _v.real("J", J)
    dim = 2**n
    s = configurations(n).astype(np.float64)
    diagonal = -J * np.sum(s * np.roll(s, -1, axis=1), axis=1)
    rows = [np.arange(dim)]
    cols = [np.arange(dim)]
    vals = [diagonal]
    states = np.arange(dim)
    for i in range(n):  # X_i flips bit of site i
        rows.append(states)
        cols.append(states ^ (1 << (n - 1 - i)))
        vals.append(np.full(dim, -h))
    return _assemble(dim, rows, cols, vals)


def heisenberg_hamiltonian(n_sites: int, *, J: float = 1.0) -> sp.csr_matrix:
    r"""The periodic Heisenberg chain :math:`H = J\sum_i \mathbf S_i\cdot\mathbf S_{i+1}`, :math:`\mathbf S = \boldsymbol\sigma/2`.

    Each bond contributes :math:`J s_is_{i+1}/4` on the diagonal and, when the two spins are antiparallel,
    :math:`J/2` between the configuration and the one with the two spins exchanged
    (:math:`S^xS^x + S^yS^y = (S^+S^- + S^-S^+)/2`).

    Args:
      n_sites: number of spins, 2 <= n_sites <= 24.
      J: exchange coupling (J > 0 is antiferromagnetic).

    Returns:
      Real symmetric ``scipy.sparse.csr_matrix`` of shape ``[2**n, 2**n]``, dtype float64, in the
      :math:`\sigma^z` basis.

    Raises:
      TypeError: ``n_sites`` not an integer; ``J`` not a real number.
      ValueError: ``n_sites`` < 2 or > 24; ``J`` not finite.
    """
    n = _sites(n_sites)
    J = _v.real("J", J)
    dim = 2**n
    s = configurations(n).astype(np.float64)
    diagonal = 0.25 * J * np.sum(s * np.roll(s, -1, axis=1), axis=1)
    rows = [np.arange(dim)]
    cols = [np.arange(dim)]
    vals = [diagonal]
    states = np.arange(dim)
    for i, j, mask_i, mask_j in zip(*_bond_terms(n)):
        antiparallel = s[:, i] != s[:, j]
        rows.append(states[antiparallel])
        cols.append(states[antiparallel] ^ (mask_i | mask_j))
        vals.append(np.full(int(antiparallel.sum()), 0.5 * J))
    return _assemble(dim, rows, cols, vals)


def _real_square(name: str, matrix):
    """A finite, non-empty, real square matrix: a ``scipy.sparse`` matrix is kept sparse (integer or boolean
    entries converted to float64, which ARPACK needs), anything else becomes a float64 NumPy array."""
    if not sp.issparse(matrix):
        dense = _v.numpy_array(name, matrix, ndim=2)
        if dense.shape[0] != dense.shape[1]:
            raise ValueError(f"{name} must be a square matrix [d, d], got shape {dense.shape}")
        return dense
    if len(matrix.shape) != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 1:
        raise ValueError(f"{name} must be a square matrix [d, d] with d >= 1, got shape {matrix.shape}")
    kind = np.dtype(matrix.dtype).kind
    if kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got a sparse matrix of dtype {matrix.dtype}")
    if kind != "f":
        matrix = matrix.astype(np.float64)
    data = matrix.data if getattr(matrix, "format", "") in ("csr", "csc", "coo", "bsr", "dia") else matrix.tocsr().data
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{name} must contain only finite numbers, got inf or nan")
    return matrix


def ground_state(hamiltonian, *, tol: float = 1e-12) -> tuple[float, np.ndarray]:
    r"""Lowest eigenvalue and a normalized eigenvector of a real symmetric (sparse) Hamiltonian.

    Uses Lanczos (ARPACK ``eigsh``) for matrices larger than 64 × 64 and dense ``eigh`` below. The
    phase is fixed so that the component of largest magnitude is positive.

    The matrix must be symmetric up to rounding, :math:`\max|H - H^\top| \le \sqrt{\epsilon}\,\max|H|`
    with :math:`\epsilon` the machine epsilon of its dtype: ``eigh`` reads only one triangle and Lanczos
    assumes symmetry, so a non-symmetric matrix would otherwise give a wrong answer silently.

    Args:
      hamiltonian: real symmetric matrix ``[d, d]``, a ``scipy.sparse`` matrix or anything ``numpy.asarray``
        accepts (a dense one is used in float64).
      tol: relative accuracy asked of Lanczos, > 0.

    Returns:
      ``(energy, state)``: ``energy`` a Python float, the lowest eigenvalue; ``state`` float64[d], the
      eigenvector, of unit norm with its largest-magnitude component positive.

    Raises:
      TypeError: ``hamiltonian`` not an array of real numbers (for example complex) or not a sparse matrix
        of real numbers; ``tol`` not a number.
      ValueError: ``hamiltonian`` not 2-D and square, empty, non-finite, or not symmetric; ``tol`` not
        finite and > 0.
    """
    hamiltonian = _real_square("hamiltonian", hamiltonian)
    tol = _v.positive_float("tol", tol)
    _v.check_symmetric(
        "hamiltonian", hamiltonian,
        hint="; ground_state needs a real symmetric matrix. If the asymmetry is rounding error, pass (H + H.T) / 2; "
             "for a non-symmetric matrix use scipy.linalg.eig or scipy.sparse.linalg.eigs",
    )
    dim = hamiltonian.shape[0]
    if dim <= 64:
        dense = hamiltonian.toarray() if sp.issparse(hamiltonian) else hamiltonian
        values, vectors = np.linalg.eigh(dense)
        energy, state = values[0], vectors[:, 0]
    else:
        start = np.ones(dim) / np.sqrt(dim)  # a fixed start vector: the same answer on every run
        values, vectors = spla.eigsh(hamiltonian, k=1, which="SA", tol=tol, v0=start)
        energy, state = values[0], vectors[:, 0]
    state = state / np.linalg.norm(state)
    if state[np.argmax(np.abs(state))] < 0:
        state = -state
    return float(energy), np.asarray(state, dtype=np.float64)


def expectation(operator, state) -> float:
    r""":math:`\langle\psi|O|\psi\rangle / \langle\psi|\psi\rangle` for a real state vector.

    The operator need not be symmetric (for a non-symmetric one this is the expectation of its symmetric
    part); the state need not be normalized.

    Args:
      operator: real matrix ``[d, d]``, a ``scipy.sparse`` matrix or anything ``numpy.asarray`` accepts.
      state: real vector float[d] (converted to float64), not zero.

    Returns:
      The Rayleigh quotient, a Python float.

    Raises:
      TypeError: ``operator`` or ``state`` not made of real numbers (for example complex).
      ValueError: ``operator`` not 2-D and square, empty or non-finite; ``state`` not 1-D, non-finite, of a
        length other than ``d``, or zero.
    """
    operator = _real_square("operator", operator)
    state = _v.numpy_array("state", state, ndim=1)
    if state.shape != (operator.shape[0],):
        raise ValueError(f"state must have shape ({operator.shape[0]},) to match operator, got {state.shape}")
    norm2 = state @ state
    if norm2 == 0:
        raise ValueError("state must be a non-zero vector, got all zeros")
    return float(state @ (operator @ state) / norm2)


def _sector_momenta(n: int, even_parity: bool) -> np.ndarray:
    """Allowed fermion momenta: antiperiodic (Neveu–Schwarz) for even parity, periodic (Ramond) for odd."""
    m = np.arange(n)
    return 2 * np.pi * (m + 0.5) / n if even_parity else 2 * np.pi * m / n


def _sector_minimum(n: int, h: float, J: float, even_parity: bool) -> float:
    r"""Lowest energy among states of the given fermion parity in the matching boundary-condition sector.

    After Jordan–Wigner, :math:`H = \sum_k 2(h - J\cos k)(n_k - \tfrac12) + \text{pairing}`. Momenta with
    :math:`k \ne -k` pair up into Bogoliubov modes of energy
    :math:`\varepsilon_k = 2\sqrt{h^2 + J^2 - 2hJ\cos k}` whose vacuum (energy :math:`-\varepsilon_k/2` per
    momentum) has even parity and whose quasiparticles each cost :math:`\varepsilon_k` and flip the parity;
    the unpaired momenta :math:`k \in \{0, \pi\}` are plain modes of energy :math:`\pm(h - J\cos k)`.
    """
    k = _sector_momenta(n, even_parity)
    unpaired = np.isclose(np.sin(k), 0.0, atol=1e-12)
    eps = 2 * np.sqrt(np.maximum(h**2 + J**2 - 2 * h * J * np.cos(k[~unpaired]), 0.0))
    base = -0.5 * np.sum(eps)
    single = 2 * (h - J * np.cos(k[unpaired]))  # energy of occupying each unpaired mode, relative to empty
    cheapest_flip = np.min(eps) if eps.size else np.inf
    best = np.inf
    for occupation in range(2 ** len(single)):
        n_occ = np.array([(occupation >> b) & 1 for b in range(len(single))])
        energy = base + np.sum(single * (n_occ - 0.5))
        parity_even = n_occ.sum() % 2 == 0
        if parity_even != even_parity:
            energy += cheapest_flip  # one Bogoliubov quasiparticle restores the required parity
        best = min(best, energy)
    return float(best)


def tfim_sector_energies(n_sites: int, *, h: float, J: float = 1.0) -> tuple[float, float]:
    r"""Lowest energies of the transverse-field chain in its two parity sectors, from free fermions.

    The parity :math:`P = \prod_i X_i` commutes with :math:`H`. In the Jordan–Wigner fermions
    (:math:`X_i = 1 - 2c_i^\dagger c_i`), :math:`P = (-1)^{N_f}`, and the periodic spin chain becomes a
    fermion chain that is antiperiodic for :math:`P = +1` and periodic for :math:`P = -1`.

    Args:
      n_sites: number of spins, >= 2 (no upper limit: the cost does not grow exponentially).
      h: transverse field.
      J: Ising coupling (J > 0 is ferromagnetic).

    Returns:
      ``(E_even, E_odd)``: Python floats, the lowest energy (total, not per site) with :math:`P = +1` and
      with :math:`P = -1`.

    Raises:
      TypeError: ``n_sites`` not an integer; ``h`` or ``J`` not a real number.
      ValueError: ``n_sites`` < 2; ``h`` or ``J`` not finite.
    """
    n = _v.count("n_sites", n_sites, minimum=2)
    h = _v.real("h", h)
    J = _v.real("J", J)
    return _sector_minimum(n, h, J, True), _sector_minimum(n, h, J, False)


def tfim_exact_energy(n_sites: int, *, h: float, J: float = 1.0) -> float:
    r"""Exact ground-state energy (total, not per site) of the periodic transverse-field Ising chain.

    The minimum of the two parity sectors of :func:`tfim_sector_energies`. For :math:`h, J > 0` the
    ground state is in the even sector,
    :math:`E_0 = -\sum_{k = \pm\pi/n, \pm 3\pi/n, \dots} \sqrt{h^2 + J^2 - 2hJ\cos k}`.
    Valid for any ``n_sites >= 2`` (no exponential cost).

    Args:
      n_sites: number of spins, >= 2.
      h: transverse field.
      J: Ising coupling (J > 0 is ferromagnetic).

    Returns:
      The ground-state energy, a Python float.

    Raises:
      TypeError: ``n_sites`` not an integer; ``h`` or ``J`` not a real number.
      ValueError: ``n_sites`` < 2; ``h`` or ``J`` not finite.
    """
    return min(tfim_sector_energies(n_sites, h=h, J=J))


def basis_index(configs) -> np.ndarray:
    """Basis-state numbers of ±1 configurations (the inverse of :func:`configurations`).

    Args:
      configs: ``[..., n]`` with every entry +1 or -1 (any real dtype; a batch may be empty).

    Returns:
      int64[...]: the basis-state number of each configuration, in ``[0, 2**n)``.

    Raises:
      TypeError: ``configs`` not an array of real numbers.
      ValueError: ``configs`` a scalar, with a last axis of length 0, or with an entry other than ±1.
    """
    s = _v.numpy_array("configs", configs, finite=False, nonempty=False)
    if s.ndim < 1 or s.shape[-1] < 1 or not np.all(np.abs(s) == 1):
        raise ValueError(f"configs must be an array [..., n] of ±1 entries, got shape {s.shape}")
    n = s.shape[-1]
    bits = ((1 - s) // 2).astype(np.int64)
    return bits @ (2 ** np.arange(n - 1, -1, -1, dtype=np.int64))


def _numeric(name: str, value) -> np.ndarray:
    """``value`` as a NumPy array of real or complex numbers (states may be complex); TypeError otherwise."""
    if isinstance(value, (str, bytes)) or _v.is_traced(value):
        raise TypeError(f"{name} must be a concrete array of real or complex numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real or complex numbers, got {type(value).__name__}") from None
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must hold real or complex numbers, got dtype {arr.dtype}")
    return arr


def fidelity(state_a, state_b) -> float:
    r"""Fidelity :math:`|\langle a|b\rangle|^2 / (\langle a|a\rangle\langle b|b\rangle)` of two state vectors.

    Args:
      state_a: vector float[d] or complex[d], not necessarily normalized.
      state_b: vector of the same length.

    Returns:
      The fidelity, a Python float in [0, 1].

    Raises:
      TypeError: a state not an array of real or complex numbers.
      ValueError: states not vectors of one length, non-finite, or zero.
    """
    a = _numeric("state_a", state_a)
    b = _numeric("state_b", state_b)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"state_a and state_b must be vectors of one length, got shapes {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("state_a and state_b must contain only finite numbers, got inf or nan")
    norm = np.vdot(a, a).real * np.vdot(b, b).real
    if norm == 0:
        raise ValueError("state_a and state_b must be non-zero vectors")
    return float(np.abs(np.vdot(a, b)) ** 2 / norm)
