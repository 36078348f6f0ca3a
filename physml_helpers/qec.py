r"""Decoding quantum error-correcting codes under independent bit flips (chapter 17).

A code is given by its parity checks for bit flips (the Z-type stabilizers), ``check_matrix``
:math:`H \in \{0,1\}^{m\times n}`, the supports of its X-type stabilizers (bit flips that act trivially),
and a logical Z operator :math:`L_Z` (the parity that a logical bit flip changes). An error :math:`e\in\{0,1\}^n`
(X on the qubits where :math:`e_i = 1`) has the syndrome :math:`s = He` mod 2. Every error is
:math:`e = e_0(s) + g + c\,L_X` with :math:`e_0(s)` a fixed *pure error* of syndrome :math:`s`, :math:`g` a
product of X stabilizers and :math:`c \in \{0, 1\}` the *logical class*; the decoder must guess :math:`c` from
:math:`s`. With flip probability :math:`p` per qubit the maximum-likelihood decoder picks the class of larger

.. math::

   P(s, c) = \sum_{g} p^{|e_0(s) + g + cL_X|}(1 - p)^{n - |e_0(s) + g + cL_X|},

and :func:`weight_enumerator` counts, for every syndrome and class, the errors of each weight, so that exact
logical error rates of any decoder that reads only the syndrome are polynomials in :math:`p`.

Codes: the repetition code and the rotated surface code of odd distance :math:`d` (:math:`n = d^2` data
qubits, :math:`(d^2 - 1)/2` checks of each type). Minimum-weight perfect matching is PyMatching's.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from physml_helpers import _validation as _v

__all__ = [
    "Code",
    "repetition_code",
    "rotated_surface_code",
    "syndromes",
    "logical_classes",
    "pure_errors",
    "weight_enumerator",
    "logical_error_rate",
    "ml_decoder_table",
    "matching_decoder_table",
    "sample_errors",
]

MAX_ENUMERATION = 2**26  # errors enumerated by weight_enumerator; d = 5 needs 2^25


class Code(NamedTuple):
    """A stabilizer code against bit flips.

    Attributes:
      check_matrix: uint8[m, n], the Z-type checks (each row: the qubits one check reads).
      x_stabilizers: uint8[k, n], the X-type stabilizers (bit-flip patterns that do nothing).
      logical_z: uint8[n], a logical Z; an error flips the logical bit iff its overlap with it is odd.
      logical_x: uint8[n], a logical X (a bit-flip pattern with zero syndrome that flips the logical bit).
      distance: the code distance d.
      coords: int[n, 2], (row, column) of each data qubit, for plots.
    """

    check_matrix: np.ndarray
    x_stabilizers: np.ndarray
    logical_z: np.ndarray
    logical_x: np.ndarray
    distance: int
    coords: np.ndarray


def _distance(distance, maximum: int) -> int:
    d = _v.count("distance", distance, minimum=3)
    if d % 2 == 0:
        raise ValueError(f"distance must be odd (3, 5, ...), got {d}")
    if d > maximum:
        raise ValueError(f"distance must be <= {maximum}, got {d}")
    return d


def repetition_code(distance: int) -> Code:
    r"""The bit-flip repetition code: checks :math:`Z_iZ_{i+1}`, logical X on all qubits, logical Z on qubit 0.

    Args:
      distance: odd number of qubits d, 3 to 101.

    Returns:
      :class:`Code` with d - 1 checks and no X stabilizers.

    Raises:
      TypeError: ``distance`` not an integer.
      ValueError: ``distance`` even or outside 3..101.
    """
    d = _distance(distance, 101)
    h = np.zeros((d - 1, d), np.uint8)
    h[np.arange(d - 1), np.arange(d - 1)] = 1
    h[np.arange(d - 1), np.arange(1, d)] = 1
    lz = np.zeros(d, np.uint8)
    lz[0] = 1
    coords = np.stack([np.zeros(d, int), np.arange(d)], axis=1)
    return Code(h, np.zeros((0, d), np.uint8), lz, np.ones(d, np.uint8), d, coords)


def rotated_surface_code(distance: int) -> Code:
    r"""The rotated surface code on a d x d grid of data qubits.

    Faces between four qubits alternate between Z-type (row + column of the face odd) and X-type checks;
    weight-two Z checks sit on the left and right edges, X checks on the top and bottom. A logical X is a
    column of bit flips, a logical Z a row.

    Args:
      distance: odd d, 3 to 11.

    Returns:
      :class:`Code` with n = d^2 qubits (qubit ``r * d + c`` at row r, column c) and (d^2 - 1)/2 checks of each type.

    Raises:
      TypeError: ``distance`` not an integer.
      ValueError: ``distance`` even or outside 3..11.
    """
    d = _distance(distance, 11)
    n = d * d

    def face(i, j):  # the data qubits at the corners of face (i, j), inside the grid
        row = np.zeros(n, np.uint8)
        for r, c in ((i, j), (i, j + 1), (i + 1, j), (i + 1, j + 1)):
            if 0 <= r < d and 0 <= c < d:
                row[r * d + c] = 1
        return row

    z_checks, x_checks = [], []
    for i in range(-1, d):
        for j in range(-1, d):
            inside_i, inside_j = 0 <= i < d - 1, 0 <= j < d - 1
            is_z = (i + j) % 2 == 1
            if inside_i and inside_j:
                (z_checks if is_z else x_checks).append(face(i, j))
            elif inside_i and not inside_j and is_z:  # left and right edges: Z checks
                z_checks.append(face(i, j))
            elif inside_j and not inside_i and not is_z:  # top and bottom edges: X checks
                x_checks.append(face(i, j))
    lz = np.zeros(n, np.uint8)
    lz[:d] = 1  # row 0
    lx = np.zeros(n, np.uint8)
    lx[::d] = 1  # column 0
    coords = np.stack(np.divmod(np.arange(n), d), axis=1)
    return Code(np.array(z_checks), np.array(x_checks), lz, lx, d, coords)


def _check_code(code) -> Code:
    if not isinstance(code, Code):
        raise TypeError(f"code must be a Code from repetition_code or rotated_surface_code, got {type(code).__name__}")
    return code


def _errors(name: str, code: Code, errors) -> np.ndarray:
    if errors is None or isinstance(errors, (str, bytes)):
        raise TypeError(f"{name} must be an array of 0/1 bit flips, got {type(errors).__name__}")
    arr = np.asarray(errors)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise TypeError(f"{name} must hold integers 0/1 (or booleans), got dtype {arr.dtype}")
    n = code.check_matrix.shape[1]
    if arr.ndim < 1 or arr.shape[-1] != n:
        raise ValueError(f"{name} must have last axis n = {n} (one entry per data qubit), got shape {arr.shape}")
    if np.any((arr != 0) & (arr != 1)):
        raise ValueError(f"{name} must contain only 0 and 1")
    return arr.astype(np.uint8)


def syndromes(code: Code, errors) -> np.ndarray:
    r"""Syndromes :math:`s = He` mod 2.

    Args:
      code: a :class:`Code`.
      errors: {0,1}[..., n] bit-flip patterns.

    Returns:
      uint8[..., m].

    Raises:
      TypeError: ``code`` not a Code, ``errors`` not integers.
      ValueError: ``errors`` of the wrong length or not 0/1.
    """
    code = _check_code(code)
    e = _errors("errors", code, errors)
    return ((e.astype(np.int64) @ code.check_matrix.T.astype(np.int64)) % 2).astype(np.uint8)


def logical_classes(code: Code, errors) -> np.ndarray:
    r"""Whether each error flips the logical bit *relative to the pure error of its syndrome*: the class
    :math:`c` in :math:`e = e_0(s) + g + cL_X` (module docstring), the label a decoder must predict.

    Args:
      code: a :class:`Code`.
      errors: {0,1}[..., n] bit-flip patterns.

    Returns:
      uint8[...], 0 or 1.

    Raises:
      TypeError: ``code`` not a Code, ``errors`` not integers.
      ValueError: ``errors`` of the wrong length or not 0/1.
    """
    code = _check_code(code)
    e = _errors("errors", code, errors)
    e0 = pure_errors(code)[_index(syndromes(code, e))]
    return (((e ^ e0).astype(np.int64) @ code.logical_z.astype(np.int64)) % 2).astype(np.uint8)


def _index(s: np.ndarray) -> np.ndarray:
    """Syndrome bits -> integer (first check = most significant bit)."""
    m = s.shape[-1]
    return (s.astype(np.int64) << np.arange(m - 1, -1, -1)).sum(-1)


def _gf2_solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One solution x of a x = b over GF(2) (a: [m, n] of full row rank)."""
    m, n = a.shape
    aug = np.concatenate([a % 2, b[:, None] % 2], axis=1).astype(np.uint8)
    pivots, row = [], 0
    for col in range(n):
        hit = np.nonzero(aug[row:, col])[0]
        if hit.size == 0:
            continue
        r = row + hit[0]
        aug[[row, r]] = aug[[r, row]]
        for other in range(m):
            if other != row and aug[other, col]:
                aug[other] ^= aug[row]
        pivots.append(col)
        row += 1
        if row == m:
            break
    if np.any(aug[row:, -1]):
        raise ValueError("the checks are not independent: this syndrome is not reachable")
    x = np.zeros(n, np.uint8)
    for r, col in enumerate(pivots):
        x[col] = aug[r, -1]
    return x


def pure_errors(code: Code) -> np.ndarray:
    r"""A fixed error :math:`e_0(s)` for every syndrome, built as the sum of one solution per check.

    Args:
      code: a :class:`Code` with at most 20 checks.

    Returns:
      uint8[2**m, n]; row ``k`` has the syndrome whose bits spell ``k`` (first check most significant),
      and :math:`L_Z\cdot e_0(s) = 0` for every row.

    Raises:
      TypeError: ``code`` not a Code.
      ValueError: more than 20 checks.
    """
    code = _check_code(code)
    h = code.check_matrix
    m, n = h.shape
    if m > 20:
        raise ValueError(f"pure_errors tabulates 2^m syndromes; m = {m} checks is too many (at most 20)")
    unit = []
    for k in range(m):  # one error with syndrome = unit vector k, chosen with even overlap with L_Z
        t = _gf2_solve(h, np.eye(m, dtype=np.uint8)[k])
        if int(t.astype(np.int64) @ code.logical_z) % 2:
            t ^= code.logical_x
        unit.append(t)
    unit = np.array(unit, dtype=np.uint8).reshape(m, n)
    bits = ((np.arange(2**m)[:, None] >> np.arange(m - 1, -1, -1)) & 1).astype(np.int64)
    return ((bits @ unit.astype(np.int64)) % 2).astype(np.uint8)


def weight_enumerator(code: Code) -> np.ndarray:
    r"""Counts :math:`A[s, c, w]` of the errors of weight :math:`w` in syndrome :math:`s` and class :math:`c`,
    by enumerating all :math:`2^n` errors as :math:`e_0(s) + g + cL_X` (module docstring).

    Args:
      code: a :class:`Code` with :math:`2^n \le 2^{26}` (the distance-5 surface code has :math:`2^{25}`).

    Returns:
      int64[2**m, 2, n + 1]; the entries sum to :math:`2^n`.

    Raises:
      TypeError: ``code`` not a Code.
      ValueError: too many qubits to enumerate, or X stabilizers that are not independent.
    """
    code = _check_code(code)
    m, n = code.check_matrix.shape
    if 2**n > MAX_ENUMERATION:
        raise ValueError(f"weight_enumerator enumerates 2^n errors; n = {n} qubits is too many (at most 26)")
    k = code.x_stabilizers.shape[0]
    if m + k + 1 != n:
        raise ValueError(f"expected m + k + 1 = n independent generators, got m = {m}, k = {k}, n = {n}")
    weights = 1 << np.arange(n - 1, -1, -1, dtype=np.int64)
    as_int = lambda rows: (rows.astype(np.int64) * weights).sum(-1)  # noqa: E731
    gen = as_int(code.x_stabilizers.reshape(k, n))
    group = np.zeros(1, np.int64)
    for g in gen:  # all 2^k products of X stabilizers
        group = np.concatenate([group, group ^ g])
    if np.unique(group).size != group.size:
        raise ValueError("the X stabilizers are not independent")
    e0 = as_int(pure_errors(code))
    lx = int(as_int(code.logical_x[None])[0])
    out = np.zeros((2**m, 2, n + 1), np.int64)
    for c in (0, 1):
        for start in range(0, 2**m, 256):  # blocks of syndromes keep the memory at 256 x 2^k integers
            errs = (e0[start:start + 256, None] ^ (c * lx)) ^ group[None, :]
            w = np.bitwise_count(errs)
            block = out[start:start + 256, c]
            np.add.at(block, (np.arange(block.shape[0])[:, None], w), 1)
    return out


def _probabilities(enumerator: np.ndarray, p: float) -> np.ndarray:
    n = enumerator.shape[-1] - 1
    w = np.arange(n + 1)
    return enumerator @ (p**w * (1 - p) ** (n - w))  # P(s, c)


def _enumerator(enumerator) -> np.ndarray:
    arr = np.asarray(enumerator)
    if arr.ndim != 3 or arr.shape[1] != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"enumerator must be the int[2**m, 2, n + 1] array of weight_enumerator, got {arr.shape}")
    return arr


def _probability(p) -> float:
    p = _v.real("p", p)
    if not 0 <= p <= 0.5:
        raise ValueError(f"p must be a flip probability in [0, 0.5], got {p}")
    return p


def ml_decoder_table(enumerator, p: float) -> np.ndarray:
    r"""The maximum-likelihood class for every syndrome, :math:`\hat c(s) = \arg\max_c P(s, c)`.

    Args:
      enumerator: int[2**m, 2, n + 1] from :func:`weight_enumerator`.
      p: flip probability in [0, 0.5].

    Returns:
      uint8[2**m] (ties go to class 0).

    Raises:
      TypeError: ``p`` not a number.
      ValueError: ``enumerator`` mis-shaped, ``p`` outside [0, 0.5].
    """
    prob = _probabilities(_enumerator(enumerator), _probability(p))
    return (prob[:, 1] > prob[:, 0]).astype(np.uint8)


def logical_error_rate(enumerator, p: float, decoder_table=None) -> float:
    r"""Exact logical error rate :math:`\sum_s P(s, c \ne \hat c(s))` of a decoder that reads only the syndrome.

    Args:
      enumerator: int[2**m, 2, n + 1] from :func:`weight_enumerator`.
      p: flip probability in [0, 0.5].
      decoder_table: {0,1}[2**m], the class the decoder guesses for each syndrome; default: maximum likelihood.

    Returns:
      The probability that the decoded state carries a logical bit flip (a float).

    Raises:
      TypeError: ``p`` not a number, ``decoder_table`` not integers.
      ValueError: ``enumerator`` mis-shaped, ``p`` outside [0, 0.5], ``decoder_table`` of the wrong length or not 0/1.
    """
    enum = _enumerator(enumerator)
    p = _probability(p)
    prob = _probabilities(enum, p)
    if decoder_table is None:
        return float(np.minimum(prob[:, 0], prob[:, 1]).sum())
    table = np.asarray(decoder_table)
    if not (np.issubdtype(table.dtype, np.integer) or table.dtype == bool):
        raise TypeError(f"decoder_table must hold integers 0/1, got dtype {table.dtype}")
    if table.shape != (enum.shape[0],) or np.any((table != 0) & (table != 1)):
        raise ValueError(f"decoder_table must be 0/1 of shape ({enum.shape[0]},), got shape {table.shape}")
    return float(prob[np.arange(enum.shape[0]), 1 - table.astype(np.int64)].sum())


def matching_decoder_table(code: Code) -> np.ndarray:
    r"""The class guessed by minimum-weight perfect matching (PyMatching, unit weights) for every syndrome.

    Args:
      code: a :class:`Code` with at most 20 checks.

    Returns:
      uint8[2**m]: for each syndrome, the class of PyMatching's correction relative to the pure error.

    Raises:
      TypeError: ``code`` not a Code.
      ValueError: more than 20 checks.
    """
    import pymatching

    code = _check_code(code)
    m = code.check_matrix.shape[0]
    if m > 20:
        raise ValueError(f"matching_decoder_table decodes all 2^m syndromes; m = {m} is too many (at most 20)")
    matching = pymatching.Matching(code.check_matrix)
    all_s = ((np.arange(2**m)[:, None] >> np.arange(m - 1, -1, -1)) & 1).astype(np.uint8)
    correction = matching.decode_batch(all_s).astype(np.uint8)
    return (((correction ^ pure_errors(code)).astype(np.int64) @ code.logical_z.astype(np.int64)) % 2).astype(np.uint8)


def sample_errors(key, code: Code, p: float, n_samples: int) -> np.ndarray:
    r"""Independent bit flips with probability ``p`` on every data qubit.

    Args:
      key: a JAX key.
      code: a :class:`Code`.
      p: flip probability in [0, 0.5].
      n_samples: number of error patterns, >= 1.

    Returns:
      uint8[n_samples, n].

    Raises:
      TypeError: ``key`` not a JAX key, ``code`` not a Code, ``p`` not a number, ``n_samples`` not an integer.
      ValueError: ``p`` outside [0, 0.5], ``n_samples`` < 1.
    """
    import jax

    _v.key(key)
    code = _check_code(code)
    p = _probability(p)
    n_samples = _v.count("n_samples", n_samples, minimum=1)
    n = code.check_matrix.shape[1]
    return np.asarray(jax.random.bernoulli(key, p, (n_samples, n))).astype(np.uint8)
