r"""Matrix product states as generative models: the MPS Born machine (chapter 17).

A matrix product state (MPS) of ``n`` sites with local dimension ``d`` and bond dimension ``D`` assigns to a
configuration :math:`x = (x_1, \dots, x_n)`, :math:`x_k \in \{0, \dots, d-1\}`, the amplitude

.. math:: \psi(x) = e_0^\top A^{(1)}[x_1] A^{(2)}[x_2] \cdots A^{(n)}[x_n]\, e_0,

a product of :math:`D\times D` matrices closed by the unit vector :math:`e_0` at both ends (open boundaries).
All tensors are stored as one array ``float[n, D, d, D]``, so a contraction is one ``lax.scan`` over sites. The
Born machine of Han et al. (2018) is the distribution :math:`p(x) = \psi(x)^2/Z` with
:math:`Z = \sum_x \psi(x)^2` computed exactly by contracting transfer matrices, :math:`O(n d D^3)` operations
instead of a sum over :math:`d^n` configurations.

Basis order. Dense vectors (:func:`mps_to_dense`, :func:`data_state`) list configurations with site 0 as the
most significant digit, the order of :func:`physml_helpers.quantum.configurations` (with bit 0 ↔ :math:`s = +1`).

Entanglement. The Schmidt rank of a state across the cut between sites ``k`` and ``k + 1`` is the rank of the
vector reshaped into a :math:`d^{k+1}\times d^{n-k-1}` matrix; an MPS of bond dimension ``D`` has every Schmidt
rank at most ``D``, and any state whose ranks are all at most ``D`` is an MPS of bond dimension ``D``
(:func:`schmidt_ranks`).
"""

from __future__ import annotations

import itertools
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _random, _validation as _v
from physml_helpers._kernels import require_finite_history

__all__ = [
    "bars_and_stripes",
    "data_state",
    "schmidt_ranks",
    "init_mps",
    "mps_amplitudes",
    "mps_log_norm",
    "mps_log_prob",
    "mps_nll",
    "mps_to_dense",
    "fit_mps_born",
]

MAX_DENSE_SITES = 20  # d**n entries in a dense vector: 2**20 doubles is 8 MB


def bars_and_stripes(rows: int, cols: int) -> np.ndarray:
    r"""All bars-and-stripes images of a ``rows`` × ``cols`` grid, flattened row by row.

    An image is a bar pattern (every column constant) or a stripe pattern (every row constant); the empty and the
    full image are both, so there are :math:`2^{\text{rows}} + 2^{\text{cols}} - 2` distinct images (14 for 3×3).

    Args:
      rows: number of rows, 1 <= rows <= 5.
      cols: number of columns, 1 <= cols <= 5.

    Returns:
      int32[K, rows * cols] of 0/1 pixels, each image once, sorted by their basis index (site 0 most significant).

    Raises:
      TypeError: ``rows`` or ``cols`` not an integer.
      ValueError: ``rows`` or ``cols`` outside 1..5.
    """
    rows = _v.count("rows", rows, minimum=1)
    cols = _v.count("cols", cols, minimum=1)
    for name, value in (("rows", rows), ("cols", cols)):
        if value > 5:
            raise ValueError(f"{name} must be <= 5 (a grid of at most 25 pixels), got {value}")
    images = set()
    for bits in itertools.product((0, 1), repeat=cols):  # bars: columns constant
        images.add(tuple(np.tile(bits, rows)))
    for bits in itertools.product((0, 1), repeat=rows):  # stripes: rows constant
        images.add(tuple(np.repeat(bits, cols)))
    return np.array(sorted(images), dtype=np.int32)


def _configs(name: str, value, local_dim: int, n_sites: int | None = None) -> np.ndarray:
    """A concrete int array [M, n] of digits 0..local_dim-1 (M >= 1)."""
    if value is None or isinstance(value, (str, bytes)) or _v.is_traced(value):
        raise TypeError(f"{name} must be a concrete integer array [M, n_sites], got {type(value).__name__}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold integers 0..{local_dim - 1}, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have shape [M, n_sites] with M >= 1, got {arr.shape}")
    if n_sites is not None and arr.shape[1] != n_sites:
        raise ValueError(f"{name} must have {n_sites} columns (one per MPS site), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)) or arr.min() < 0 or arr.max() >= local_dim:
        hint = "; these look like ±1 spins: convert with x = (1 - s) // 2" if np.all(np.abs(arr) == 1) else ""
        raise ValueError(f"{name} must hold integers 0..{local_dim - 1}, got values in "
                         f"[{arr.min()}, {arr.max()}]{hint}")
    return arr.astype(np.int32)


def data_state(data, *, local_dim: int = 2) -> np.ndarray:
    r"""The data state :math:`|\Phi\rangle = \sum_x \sqrt{\hat p(x)}\,|x\rangle` of a data set, with :math:`\hat p`
    its empirical distribution (the uniform superposition of the distinct patterns when each appears once).

    Args:
      data: int[M, n] patterns with digits 0..local_dim-1, n <= 20 / log2(local_dim).
      local_dim: number of values per site, >= 2.

    Returns:
      float64[local_dim**n] the normalized state, in the basis order of this module.

    Raises:
      TypeError: ``data`` not an integer array, ``local_dim`` not an integer.
      ValueError: ``data`` not [M, n] with M >= 1 and digits in range, ``local_dim`` < 2, too many sites.
    """
    d = _v.count("local_dim", local_dim, minimum=2)
    x = _configs("data", data, d)
    n = x.shape[1]
    if d**n > 2**MAX_DENSE_SITES:
        raise ValueError(f"data has {n} sites: a dense vector of {d}^{n} entries is too large (at most 2^20)")
    index = x @ (d ** np.arange(n - 1, -1, -1, dtype=np.int64))
    counts = np.bincount(index, minlength=d**n).astype(np.float64)
    return np.sqrt(counts / counts.sum())


def schmidt_ranks(state, *, local_dim: int = 2, rtol: float = 1e-10) -> np.ndarray:
    r"""Schmidt ranks of a state vector across every cut of a chain.

    The rank across the cut after site ``k`` (``k = 0 .. n-2``) is the number of singular values of the state
    reshaped to ``[d**(k+1), d**(n-k-1)]`` above ``rtol`` times the largest one. It is the smallest bond dimension an
    exact MPS needs at that bond.

    Args:
      state: real or complex vector of length ``local_dim**n``, n >= 2, not zero.
      local_dim: dimension of one site, >= 2.
      rtol: relative threshold for a singular value to count, in (0, 1).

    Returns:
      int64[n - 1]: the Schmidt rank at each cut.

    Raises:
      TypeError: ``state`` not numeric, ``local_dim`` not an integer, ``rtol`` not a number.
      ValueError: ``state`` not a vector of length local_dim**n with n >= 2, non-finite or zero; ``rtol`` not in
        (0, 1).
    """
    d = _v.count("local_dim", local_dim, minimum=2)
    rtol = _v.positive_float("rtol", rtol)
    if rtol >= 1:
        raise ValueError(f"rtol must be in (0, 1), got {rtol}")
    if state is None or isinstance(state, (str, bytes)) or _v.is_traced(state):
        raise TypeError(f"state must be a concrete vector of numbers, got {type(state).__name__}")
    psi = np.asarray(state)
    if not np.issubdtype(psi.dtype, np.number):
        raise TypeError(f"state must hold real or complex numbers, got dtype {psi.dtype}")
    n = int(round(np.log(psi.size) / np.log(d))) if psi.size > 1 else 0
    if psi.ndim != 1 or n < 2 or d**n != psi.size:
        raise ValueError(f"state must be a vector of length local_dim**n = {d}**n with n >= 2, got shape {psi.shape}")
    if not np.all(np.isfinite(psi)) or not np.any(psi != 0):
        raise ValueError("state must be a finite, non-zero vector")
    ranks = []
    for k in range(1, n):
        sv = np.linalg.svd(psi.reshape(d**k, d ** (n - k)), compute_uv=False)
        ranks.append(int(np.sum(sv > rtol * sv[0])))
    return np.array(ranks, dtype=np.int64)


def init_mps(key, n_sites: int, bond_dim: int, *, local_dim: int = 2, scale: float = 0.1, dtype=None) -> jax.Array:
    r"""MPS tensors near the uniform state: :math:`A^{(k)}[x] = \mathbb 1/\sqrt d + \text{scale}\cdot\xi/\sqrt D`
    with :math:`\xi` standard normal, so that every configuration starts with nearly the same probability.

    Args:
      key: JAX random key.
      n_sites: number of sites, >= 2.
      bond_dim: bond dimension D, >= 1.
      local_dim: values per site d, >= 2.
      scale: size of the random part, >= 0.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      float[n_sites, D, d, D] the tensors.

    Raises:
      TypeError: ``key`` not a typed JAX key, sizes not integers, ``dtype`` not floating.
      ValueError: sizes out of range, ``scale`` negative or not finite.
    """
    _v.key(key)
    n = _v.count("n_sites", n_sites, minimum=2)
    D = _v.count("bond_dim", bond_dim, minimum=1)
    d = _v.count("local_dim", local_dim, minimum=2)
    scale = _v.positive_float("scale", scale, allow_zero=True)
    dtype = _v.float_dtype("dtype", dtype)
    noise = _random.normal(key, (n, D, d, D), dtype)
    eye = jnp.broadcast_to(jnp.eye(D, dtype=dtype)[None, :, None, :], (n, D, d, D))
    return eye / float(np.sqrt(d)) + float(scale / np.sqrt(D)) * noise


def _check_tensors(tensors, name: str = "tensors"):
    """Static checks (valid under jit/vmap): float[n, D, d, D] with n >= 2, d >= 2. Returns (n, D, d)."""
    shape = getattr(tensors, "shape", None)
    dtype = getattr(tensors, "dtype", None)
    if shape is None or dtype is None:
        raise TypeError(f"{name} must be an array float[n_sites, D, d, D] from init_mps, got {type(tensors).__name__}")
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"{name} must be a floating array, got dtype {dtype}")
    if len(shape) != 4 or shape[1] != shape[3] or shape[0] < 2 or shape[2] < 2 or shape[1] < 1:
        raise ValueError(f"{name} must have shape [n_sites >= 2, D, d >= 2, D] (from init_mps), got {tuple(shape)}")
    _v.finite(name, tensors)
    return shape[0], shape[1], shape[2]


def _sweep_amplitudes(tensors, x):
    """Amplitudes float[M] of configurations x int[M, n], with per-site rescaling: returns (psi_scaled, log_scale)."""
    m = x.shape[0]
    v0 = jnp.zeros((m, tensors.shape[1]), tensors.dtype).at[:, 0].set(1)
    one_hot = jax.nn.one_hot(x.T, tensors.shape[2], dtype=tensors.dtype)  # [n, M, d]: selects A[x_k]

    def site(carry, inputs):
        v, log_c = carry
        a, o = inputs
        v = jnp.einsum("mi,ixj,mx->mj", v, a, o)
        c = jnp.max(jnp.abs(v), axis=1)
        c = jnp.where(c > 0, c, 1)
        return (v / c[:, None], log_c + jnp.log(c)), None

    (v, log_c), _ = jax.lax.scan(site, (v0, jnp.zeros(m, tensors.dtype)), (tensors, one_hot))
    return v[:, 0], log_c


def mps_amplitudes(tensors, configs) -> jax.Array:
    r"""Amplitudes :math:`\psi(x)` of configurations under an MPS (unnormalized), by a product of matrices.

    Args:
      tensors: float[n, D, d, D] from :func:`init_mps`.
      configs: int[M, n] digits 0..d-1.

    Returns:
      float[M] the amplitudes.

    Raises:
      TypeError: ``tensors`` not a floating array; ``configs`` not an integer array.
      ValueError: shapes that do not fit, digits out of range, non-finite ``tensors``.
    """
    n, _, d = _check_tensors(tensors)
    return _amplitudes(tensors, jnp.asarray(_configs("configs", configs, d, n)))


@jax.jit
def _amplitudes(tensors, x):
    psi, log_c = _sweep_amplitudes(tensors, x)
    return psi * jnp.exp(log_c)


@jax.jit
def _log_norm(tensors):
    D = tensors.shape[1]
    e0 = jnp.zeros((D, D), tensors.dtype).at[0, 0].set(1)

    def site(carry, a):
        env, log_c = carry
        env = jnp.einsum("ij,ixk,jxl->kl", env, a, a)  # sum over x of A[x]^T env A[x]
        c = jnp.max(jnp.abs(env))
        return (env / c, log_c + jnp.log(c)), None

    (env, log_c), _ = jax.lax.scan(site, (e0, jnp.zeros((), tensors.dtype)), tensors)
    return jnp.log(env[0, 0]) + log_c


def mps_log_norm(tensors) -> jax.Array:
    r""":math:`\ln Z = \ln\sum_x \psi(x)^2`, by contracting the transfer matrices
    :math:`E \mapsto \sum_x A[x]^\top E A[x]` from the left, rescaled at each site (no overflow for long chains).

    Args:
      tensors: float[n, D, d, D] from :func:`init_mps`.

    Returns:
      float[] the log-normalization.

    Raises:
      TypeError: ``tensors`` not a floating array.
      ValueError: ``tensors`` not of shape [n >= 2, D, d >= 2, D], or non-finite.
    """
    _check_tensors(tensors)
    return _log_norm(tensors)


@jax.jit
def _log_prob(tensors, x):
    psi, log_c = _sweep_amplitudes(tensors, x)
    return 2 * (jnp.log(jnp.abs(psi)) + log_c) - _log_norm(tensors)


def mps_log_prob(tensors, configs) -> jax.Array:
    r"""Born log-probabilities :math:`\ln p(x) = \ln\psi(x)^2 - \ln Z` of configurations.

    Args:
      tensors: float[n, D, d, D] from :func:`init_mps`.
      configs: int[M, n] digits 0..d-1.

    Returns:
      float[M] the log-probabilities (``-inf`` where :math:`\psi(x) = 0`).

    Raises:
      TypeError: ``tensors`` not a floating array; ``configs`` not an integer array.
      ValueError: shapes that do not fit, digits out of range, non-finite ``tensors``.
    """
    n, _, d = _check_tensors(tensors)
    return _log_prob(tensors, jnp.asarray(_configs("configs", configs, d, n)))


def mps_nll(tensors, data) -> jax.Array:
    r"""Negative log-likelihood per pattern of a data set under the Born machine,
    :math:`\mathcal L = \ln Z - \frac1M\sum_m \ln\psi(x_m)^2`. It is at least the entropy of the data's empirical
    distribution (:math:`\ln K` for K distinct patterns seen once each), with equality only when the Born
    distribution equals it.

    Args:
      tensors: float[n, D, d, D] from :func:`init_mps`.
      data: int[M, n] patterns, digits 0..d-1.

    Returns:
      float[] the mean negative log-likelihood (nats).

    Raises:
      TypeError: ``tensors`` not a floating array; ``data`` not an integer array.
      ValueError: shapes that do not fit, digits out of range, non-finite ``tensors``.
    """
    n, _, d = _check_tensors(tensors)
    return -jnp.mean(_log_prob(tensors, jnp.asarray(_configs("data", data, d, n))))


def mps_to_dense(tensors) -> jax.Array:
    r"""The MPS as a dense vector of all :math:`d^n` amplitudes (unnormalized), for small chains and tests.

    Args:
      tensors: float[n, D, d, D] from :func:`init_mps`, with :math:`d^n \le 2^{20}`.

    Returns:
      float[d**n] the amplitudes, in the basis order of this module.

    Raises:
      TypeError: ``tensors`` not a floating array.
      ValueError: ``tensors`` of the wrong shape, non-finite, or with too many sites for a dense vector.
    """
    n, _, d = _check_tensors(tensors)
    if d**n > 2**MAX_DENSE_SITES:
        raise ValueError(f"a dense vector of {d}^{n} entries is too large (at most 2^20); use mps_log_norm")
    return _dense(tensors)


@jax.jit
def _dense(tensors):
    psi = tensors[0][0]  # [d, D]: the left boundary e_0 picks row 0
    for k in range(1, tensors.shape[0]):
        psi = jnp.einsum("ai,ixj->axj", psi, tensors[k]).reshape(-1, tensors.shape[1])
    return psi[:, 0]


def _bond_mask(n, D, d, bond_dim, dtype):
    keep = (jnp.arange(D) < bond_dim).astype(dtype)
    return jnp.broadcast_to(keep[:, None, None] * keep[None, None, :], (n, D, d, D))


@partial(jax.jit, static_argnames=("n_steps",))
def _fit_masked(tensors, data, bond_dims, lr, n_steps):
    from physml_helpers.networks import adam_scan

    n, D, d, _ = tensors.shape

    def fit_one(bond_dim):
        mask = _bond_mask(n, D, d, bond_dim, tensors.dtype)
        loss = lambda t: -jnp.mean(_log_prob(t * mask, data))
        params, history = adam_scan(loss, tensors * mask, lr=lr, n_steps=n_steps, schedule="cosine")
        return params * mask, history

    return jax.vmap(fit_one)(bond_dims)


def fit_mps_born(tensors, data, *, bond_dims, n_steps: int = 2000, lr: float = 0.02):
    r"""Train MPS Born machines by maximum likelihood (full-batch Adam, cosine-decaying step, exact :math:`Z`),
    one for each bond dimension in ``bond_dims``, all in one compiled program.

    A bond dimension :math:`D' < D` is imposed by zeroing every tensor entry with a bond index :math:`\ge D'`:
    the machines share the initial tensors (truncated) and the optimizer; only their bond dimension differs.
    They are trained side by side with ``jax.vmap``, so adding a bond dimension does not recompile.

    Args:
      tensors: float[n, D, d, D] initial tensors from :func:`init_mps`, D >= max(bond_dims).
      data: int[M, n] training patterns, digits 0..d-1.
      bond_dims: sequence of bond dimensions, each in 1..D.
      n_steps: Adam steps, >= 1.
      lr: peak learning rate, > 0.

    Returns:
      ``(tensors, nll)``: float[len(bond_dims), n, D, d, D] the trained tensors (zero beyond each bond dimension)
      and float[len(bond_dims), n_steps] the training NLL before each step.

    Raises:
      ConvergenceError: the loss became non-finite (lower ``lr``).
      TypeError: ``tensors`` not a floating array, ``data`` not integer, sizes not integers.
      ValueError: shapes that do not fit, digits out of range, a bond dimension outside 1..D, ``n_steps`` < 1,
        ``lr`` <= 0.
    """
    n, D, d = _check_tensors(tensors)
    x = _configs("data", data, d, n)
    if isinstance(bond_dims, (str, bytes)) or not hasattr(bond_dims, "__iter__"):
        raise TypeError(f"bond_dims must be a sequence of integers, got {type(bond_dims).__name__}")
    dims = [_v.count(f"bond_dims[{i}]", b, minimum=1) for i, b in enumerate(bond_dims)]
    if not dims or max(dims) > D:
        raise ValueError(f"bond_dims must be a non-empty list of integers in 1..{D} (the tensors' D), got {dims}")
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    lr = _v.positive_float("lr", lr)
    out, history = _fit_masked(tensors, jnp.asarray(x), jnp.asarray(dims), lr, n_steps)
    require_finite_history("fit_mps_born", history.T, lr)
    return out, history
