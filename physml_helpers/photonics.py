r"""Meshes of Mach–Zehnder interferometers: unitary matrices made of light (chapter 17).

A Mach–Zehnder interferometer (MZI) on neighbouring waveguides ``m`` and ``m + 1`` acts on their two complex field
amplitudes with the matrix of Clements et al. (2016),

.. math:: T(\theta, \phi) = \begin{pmatrix} e^{i\phi}\cos\theta & -\sin\theta \\
                                           e^{i\phi}\sin\theta & \cos\theta \end{pmatrix},

an internal phase :math:`\theta` that sets the splitting ratio and an external phase :math:`\phi` on the input
arm. Clements et al. showed that any :math:`N\times N` unitary is

.. math:: U = D\, T_{K}\cdots T_{2}\,T_{1}, \qquad K = N(N-1)/2,

with :math:`D` a diagonal matrix of output phases and the MZIs arranged in a rectangular mesh of depth :math:`N`
(:func:`clements_decompose`, :func:`clements_compose`). A mesh is stored as a :class:`MeshPhases`: the upper
mode ``m`` of each MZI in the order light meets them, the two phases of each, and the output phases.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _random, _validation as _v

__all__ = ["MeshPhases", "mzi_matrix", "haar_unitary", "clements_decompose", "clements_compose", "mesh_columns",
           "mesh_apply"]


class MeshPhases(NamedTuple):
    """An MZI mesh: ``U = diag(exp(i output_phases)) T_K ... T_1`` with ``T_k = T(theta[k], phi[k])`` on modes
    ``(modes[k], modes[k] + 1)``.

    Attributes:
      modes: int[K] the upper mode of each MZI, in the order the light meets them.
      theta: float[K] internal phases.
      phi: float[K] external phases.
      output_phases: float[N] the phases of the final diagonal.
    """

    modes: np.ndarray
    theta: jax.Array
    phi: jax.Array
    output_phases: jax.Array


def mzi_matrix(theta, phi) -> jax.Array:
    r"""The 2×2 transfer matrix :math:`T(\theta, \phi)` of one MZI (the convention of Clements et al.).

    Args:
      theta: float[...] internal phase (radians).
      phi: float[...] external phase (radians), broadcastable with ``theta``.

    Returns:
      complex[..., 2, 2] the unitary matrices.

    Raises:
      TypeError: ``theta`` or ``phi`` not real arrays.
      ValueError: concrete non-finite phases.
    """
    theta = _v.float_array("theta", theta, finite=True)
    phi = _v.float_array("phi", phi, finite=True)
    return _mzi(theta, phi)


def _mzi(theta, phi):
    theta, phi = jnp.broadcast_arrays(theta, phi)
    c, s = jnp.cos(theta), jnp.sin(theta)
    cos_phi, sin_phi, zero = jnp.cos(phi), jnp.sin(phi), jnp.zeros_like(c)
    as_complex = jax.lax.complex
    return jnp.stack([jnp.stack([as_complex(cos_phi * c, sin_phi * c), as_complex(-s, zero)], -1),
                      jnp.stack([as_complex(cos_phi * s, sin_phi * s), as_complex(c, zero)], -1)], -2)


def haar_unitary(key, n_modes: int, *, dtype=None) -> jax.Array:
    r"""A unitary matrix drawn from the Haar measure: the QR decomposition of a complex Gaussian matrix, with the
    phases of R's diagonal moved into Q (Mezzadri 2007), so that the distribution is exactly uniform.

    Args:
      key: JAX random key.
      n_modes: matrix size N, >= 1.
      dtype: floating dtype of the real and imaginary parts (default: JAX's default float).

    Returns:
      complex[N, N] the unitary.

    Raises:
      TypeError: ``key`` not a typed JAX key, ``n_modes`` not an integer, ``dtype`` not floating.
      ValueError: ``n_modes`` < 1.
    """
    _v.key(key)
    n = _v.count("n_modes", n_modes, minimum=1)
    dtype = _v.float_dtype("dtype", dtype)
    z = _random.normal_array(key, (2, n, n), dtype).astype(np.float64)  # one compilation for every size
    q, r = np.linalg.qr((z[0] + 1j * z[1]) / np.sqrt(2))
    d = np.diagonal(r)
    complex_dtype = np.complex128 if np.dtype(dtype) == np.float64 else np.complex64
    return jnp.asarray((q * (d / np.abs(d))[None, :]).astype(complex_dtype))


def _unitary(name: str, value) -> np.ndarray:
    if value is None or isinstance(value, (str, bytes)) or _v.is_traced(value):
        raise TypeError(f"{name} must be a concrete square matrix of numbers, got {type(value).__name__}")
    u = np.asarray(value)
    if not np.issubdtype(u.dtype, np.number) or u.dtype == bool:
        raise TypeError(f"{name} must hold real or complex numbers, got dtype {u.dtype}")
    if u.ndim != 2 or u.shape[0] != u.shape[1] or u.shape[0] < 1:
        raise ValueError(f"{name} must be a square matrix [N, N] with N >= 1, got shape {u.shape}")
    if not np.all(np.isfinite(u)):
        raise ValueError(f"{name} must contain only finite numbers")
    u = u.astype(np.complex128)
    err = float(np.max(np.abs(u.conj().T @ u - np.eye(u.shape[0]))))
    if err > 1e-8:
        raise ValueError(f"{name} must be unitary, got max |U^dagger U - 1| = {err:.2e} (tolerance 1e-8); an optical "
                         "mesh without loss can only implement unitary matrices")
    return u


def _null_from_right(u, row, m):
    """theta, phi with (U T(theta, phi)^-1)[row, m] = 0, acting on columns m, m + 1."""
    a, b = u[row, m], u[row, m + 1]
    return np.arctan2(abs(a), abs(b)), np.angle(a) - np.angle(b)


def _null_from_left(u, m, col):
    """theta, phi with (T(theta, phi) U)[m + 1, col] = 0, acting on rows m, m + 1."""
    a, b = u[m, col], u[m + 1, col]
    return np.arctan2(abs(b), abs(a)), np.pi + np.angle(b) - np.angle(a)


def _t2(theta, phi):
    c, s, e = np.cos(theta), np.sin(theta), np.exp(1j * phi)
    return np.array([[e * c, -s], [e * s, c]])


def clements_decompose(unitary) -> MeshPhases:
    r"""The Clements decomposition of a unitary into :math:`N(N-1)/2` MZIs and output phases.

    Nulls the entries below the anti-diagonals one by one, alternately multiplying by :math:`T^{-1}` from the
    right (on columns) and by :math:`T` from the left (on rows), until a diagonal :math:`D'` is left; then moves
    every left factor through the diagonal, :math:`T(\theta,\phi)^{-1}D' = D''\,T(\theta, \phi')`, so that all
    MZIs stand in one rectangular mesh followed by output phases (Clements et al. 2016, eq. (5)). Computed in
    float64/complex128 with NumPy.

    Args:
      unitary: complex[N, N] (or real orthogonal) with :math:`\max|U^\dagger U - 1| \le 10^{-8}`, N >= 1.

    Returns:
      :class:`MeshPhases` with K = N(N - 1)/2 MZIs (NumPy arrays), such that ``clements_compose`` returns
      ``unitary`` to rounding.

    Raises:
      TypeError: ``unitary`` not a concrete numeric matrix.
      ValueError: not square, not finite, or not unitary.
    """
    u = _unitary("unitary", unitary).copy()
    n = u.shape[0]
    right, left = [], []  # (mode, theta, phi)
    for i in range(n - 1):
        for j in range(i + 1):
            if i % 2 == 0:
                row, m = n - 1 - j, i - j
                theta, phi = _null_from_right(u, row, m)
                u[:, m:m + 2] = u[:, m:m + 2] @ _t2(theta, phi).conj().T
                right.append((m, theta, phi))
            else:
                col, m = j, n - 2 - i + j
                theta, phi = _null_from_left(u, m, col)
                u[m:m + 2, :] = _t2(theta, phi) @ u[m:m + 2, :]
                left.append((m, theta, phi))
    # now L_K ... L_1 U R_1^-1 ... R_J^-1 = diag: U = L_1^-1 ... L_K^-1 D R_J ... R_1
    alpha = np.angle(np.diag(u)).copy()
    moved = []
    for m, theta, phi in reversed(left):  # L_K^-1 first: T^-1(theta, phi) D = D' T(theta, phi')
        a, b = alpha[m], alpha[m + 1]
        alpha[m], alpha[m + 1] = b - phi + np.pi, b
        moved.append((m, theta, a - b + np.pi))
    # U = D' L'_1 ... L'_K R_J ... R_1 with L'_K moved first: the light meets R_1 .. R_J, then L'_K .. L'_1
    order = right + moved
    modes = np.array([m for m, _, _ in order], dtype=np.int64)
    theta = np.array([t for _, t, _ in order], dtype=np.float64)
    phi = np.mod(np.array([p for _, _, p in order], dtype=np.float64), 2 * np.pi)
    return MeshPhases(modes, theta, phi, np.mod(alpha, 2 * np.pi))


def _check_mesh(mesh, name: str = "mesh"):
    if not isinstance(mesh, MeshPhases):
        raise TypeError(f"{name} must be a MeshPhases (from clements_decompose), got {type(mesh).__name__}")
    modes = mesh.modes
    if _v.is_traced(modes):
        raise TypeError(f"{name}.modes must be a concrete integer array (the mesh layout is fixed), not traced")
    modes = np.asarray(modes)
    if modes.dtype.kind not in "iu" or modes.ndim != 1:
        raise TypeError(f"{name}.modes must be a 1-D integer array, got dtype {modes.dtype}, shape {modes.shape}")
    n = np.shape(mesh.output_phases)
    if len(n) != 1 or n[0] < 1:
        raise ValueError(f"{name}.output_phases must be a vector [N] with N >= 1, got shape {n}")
    n = n[0]
    k = modes.shape[0]
    if np.shape(mesh.theta) != (k,) or np.shape(mesh.phi) != (k,):
        raise ValueError(f"{name}.theta and {name}.phi must have shape ({k},), one per MZI, got "
                         f"{np.shape(mesh.theta)} and {np.shape(mesh.phi)}")
    if k and (modes.min() < 0 or modes.max() > n - 2):
        raise ValueError(f"{name}.modes must be in 0..N-2 = 0..{n - 2} (an MZI couples modes m and m + 1)")
    for field in ("theta", "phi", "output_phases"):
        value = getattr(mesh, field)
        if not jnp.issubdtype(jnp.asarray(value).dtype, jnp.floating):
            raise TypeError(f"{name}.{field} must be a real floating array, got dtype {jnp.asarray(value).dtype}")
        _v.finite(f"{name}.{field}", value)
    return modes, n


@jax.jit
def _compose(modes, theta, phi, output_phases):
    """D T_K ... T_1 as one scan over the MZIs: each step rewrites rows m, m + 1 (m may be traced)."""
    n = output_phases.shape[0]
    wide = any(jnp.asarray(a).dtype == jnp.float64 for a in (theta, phi, output_phases))
    dtype = jnp.complex128 if wide else jnp.complex64
    phases = jax.lax.complex(jnp.cos(output_phases), jnp.sin(output_phases)).astype(dtype)
    if theta.shape[0] == 0:  # a single mode: no MZI
        return jnp.diag(phases)
    t = _mzi(theta, phi).astype(dtype)  # [K, 2, 2]

    def apply(u, inputs):
        m, t_k = inputs
        zero = jnp.zeros_like(m)
        rows = jax.lax.dynamic_slice(u, (m, zero), (2, n))
        return jax.lax.dynamic_update_slice(u, t_k @ rows, (m, zero)), None

    u, _ = jax.lax.scan(apply, jnp.eye(n, dtype=dtype), (jnp.asarray(modes, jnp.int32), t))
    return phases[:, None] * u


def clements_compose(mesh: MeshPhases) -> jax.Array:
    r"""The unitary :math:`U = D\,T_K\cdots T_1` of an MZI mesh. Differentiable in the phases (traceable; the
    layout ``mesh.modes`` must be concrete).

    Args:
      mesh: :class:`MeshPhases`, e.g. from :func:`clements_decompose` (phases may be JAX arrays).

    Returns:
      complex[N, N] the mesh's transfer matrix.

    Raises:
      TypeError: ``mesh`` not a MeshPhases, traced or non-integer ``modes``, non-real phases.
      ValueError: shapes that do not fit, a mode outside 0..N-2, concrete non-finite phases.
    """
    modes, n = _check_mesh(mesh)
    return _compose(modes, jnp.asarray(mesh.theta), jnp.asarray(mesh.phi), jnp.asarray(mesh.output_phases))


def mesh_columns(modes, n_modes: int) -> np.ndarray:
    r"""The column of each MZI when the mesh is drawn as compactly as the order allows: an MZI on modes
    ``(m, m + 1)`` goes one column after the last MZI that touched either mode. The number of columns is the
    optical depth (N for the Clements mesh, 2N - 3 for the triangle of Reck et al.).

    Args:
      modes: int[K] the upper mode of each MZI, in the order the light meets them.
      n_modes: number of modes N, >= 2.

    Returns:
      int64[K] the column of each MZI, starting at 0.

    Raises:
      TypeError: ``modes`` not integers, ``n_modes`` not an integer.
      ValueError: ``modes`` not 1-D or a mode outside 0..N-2, ``n_modes`` < 2.
    """
    n = _v.count("n_modes", n_modes, minimum=2)
    if modes is None or isinstance(modes, (str, bytes)) or _v.is_traced(modes):
        raise TypeError(f"modes must be a concrete integer array, got {type(modes).__name__}")
    m = np.asarray(modes)
    if m.dtype.kind not in "iu":
        raise TypeError(f"modes must hold integers, got dtype {m.dtype}")
    if m.ndim != 1 or (m.size and (m.min() < 0 or m.max() > n - 2)):
        raise ValueError(f"modes must be a vector of integers in 0..N-2 = 0..{n - 2}, got shape {m.shape}")
    last = np.full(n, -1)
    cols = np.empty(m.size, dtype=np.int64)
    for k, mode in enumerate(m):
        cols[k] = max(last[mode], last[mode + 1]) + 1
        last[mode] = last[mode + 1] = cols[k]
    return cols


def mesh_apply(mesh: MeshPhases, fields) -> jax.Array:
    r"""Propagate input field amplitudes through a mesh: :math:`E_{\rm out} = U E_{\rm in}`. Traceable in the
    phases and the fields.

    Args:
      mesh: :class:`MeshPhases` with N modes.
      fields: float or complex [..., N] input amplitudes (a batch of inputs on the leading axes).

    Returns:
      complex[..., N] the output amplitudes; ``abs(out)**2`` is the power a photodetector reads on each port.

    Raises:
      TypeError: ``mesh`` malformed (see :func:`clements_compose`), ``fields`` not numeric.
      ValueError: ``fields`` whose last axis is not N, non-finite concrete fields.
    """
    modes, n = _check_mesh(mesh)
    if fields is None or isinstance(fields, (str, bytes)):
        raise TypeError(f"fields must be an array of amplitudes [..., N], got {type(fields).__name__}")
    x = jnp.asarray(fields)
    if not jnp.issubdtype(x.dtype, jnp.number) or x.dtype == bool:
        raise TypeError(f"fields must hold real or complex numbers, got dtype {x.dtype}")
    if x.ndim < 1 or x.shape[-1] != n:
        raise ValueError(f"fields must have shape [..., N] with N = {n} modes, got {x.shape}")
    _v.finite("fields", x)
    u = _compose(modes, jnp.asarray(mesh.theta), jnp.asarray(mesh.phi), jnp.asarray(mesh.output_phases))
    return jnp.einsum("ij,...j->...i", u, x.astype(u.dtype))
