r"""Random symmetric matrices as models of Hessians (chapter 2).

The Gaussian orthogonal ensemble (GOE) used throughout is

.. math:: H = (A + A^\top)/\sqrt{2}, \qquad A_{ij} \sim \mathcal N(0, 1) \text{ independent},

so off-diagonal entries have variance 1 and diagonal entries variance 2, and the joint density of
the eigenvalues is :math:`\propto \prod_{i<j}|\lambda_i - \lambda_j|\,\prod_i e^{-\lambda_i^2/4}`.
For large :math:`n` the spectrum of :math:`H` fills :math:`[-2\sqrt n, 2\sqrt n]` with Wigner's
semicircle density.

The probability that all :math:`n` eigenvalues are positive is computed exactly from de Bruijn's
Pfaffian formula, and estimated by sampling, so the two can be compared (Dean & Majumdar 2006:
:math:`\ln P_n \approx -\theta n^2` with :math:`\theta = \ln 3 / 4`).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v

__all__ = [
    "goe_matrices",
    "sign_definite_count",
    "goe_sign_definite_probability",
    "semicircle_density",
]

_MAX_EXACT_N = 10  # beyond this the moment matrices lose too many digits in float64


def goe_matrices(key, n: int, n_samples: int, *, dtype=None) -> jax.Array:
    r"""Sample GOE matrices :math:`H = (A + A^\top)/\sqrt 2`.

    Args:
      key: JAX random key.
      n: matrix size, >= 1.
      n_samples: number of matrices, >= 1.
      dtype: floating dtype (default: JAX's default float, float64 under x64).

    Returns:
      float[n_samples, n, n] symmetric matrices; off-diagonal variance 1, diagonal variance 2.

    Raises:
      ValueError: ``n`` or ``n_samples`` not an integer >= 1.
      TypeError: ``key`` not a JAX key, ``dtype`` not floating.
    """
    _v.key(key)
    n = _v.count("n", n, minimum=1)
    n_samples = _v.count("n_samples", n_samples, minimum=1)
    a = jax.random.normal(key, (n_samples, n, n), _v.float_dtype("dtype", dtype))
    return (a + jnp.swapaxes(a, -1, -2)) / jnp.sqrt(jnp.asarray(2.0, a.dtype))


def _goe_entries_to_matrices(z, n: int):
    """Symmetric [n, n, batch] matrices from [n(n+1)/2, batch] standard normals, in the order of
    ``numpy.triu_indices(n)``: the off-diagonal entries as they are (variance 1), the diagonal ones times
    sqrt(2) (variance 2): the GOE of :func:`goe_matrices`."""
    rows, cols = np.triu_indices(n)
    scale = np.where(rows == cols, np.sqrt(2.0), 1.0)[:, None]
    z = z * jnp.asarray(scale, z.dtype)
    h = jnp.zeros((n, n, z.shape[1]), z.dtype)
    return h.at[rows, cols].set(z).at[cols, rows].set(z)


@partial(jax.jit, static_argnames=("n", "chunk", "n_chunks"))
def _count_chunks(key, n: int, chunk: int, n_chunks: int, n_samples, dtype_probe):
    n_entries = n * (n + 1) // 2

    def one(_, start):
        # matrix i comes from its own key, fold_in(key, i): the same matrices whatever the chunk size
        index = start + jnp.arange(chunk, dtype=jnp.uint32)
        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(index)
        z = jax.vmap(lambda k: jax.random.normal(k, (n_entries,), dtype_probe.dtype), out_axes=1)(keys)
        h = _goe_entries_to_matrices(z, n)
        # Sylvester: H is positive (negative) definite iff every pivot of Gaussian elimination
        # without pivoting is positive (negative). Vectorised over the last axis, the batch.
        pos = jnp.ones(chunk, bool)
        neg = jnp.ones(chunk, bool)
        for _ in range(n):
            p = h[0, 0]
            pos &= p > 0
            neg &= p < 0
            h = h[1:, 1:] - h[1:, 0][:, None] * h[0, 1:][None, :] / p
        valid = index < n_samples  # the last chunk may run past n_samples
        return None, jnp.sum((pos | neg) & valid)

    starts = jnp.arange(n_chunks, dtype=jnp.uint32) * jnp.uint32(chunk)
    _, counts = jax.lax.scan(one, None, starts)
    return jnp.sum(counts)


def sign_definite_count(key, n: int, n_samples: int, *, chunk: int = 200_000, dtype=None) -> int:
    r"""Count GOE matrices whose eigenvalues all share one sign, out of ``n_samples`` draws.

    Sign-definiteness is decided by the pivots of Gaussian elimination (Sylvester's criterion),
    which is several times faster than computing eigenvalues; the matrices are generated and
    tested ``chunk`` at a time so memory stays bounded.

    Matrix ``i`` (``0 <= i < n_samples``) is drawn from its own key, ``jax.random.fold_in(key, i)``: its
    ``n(n+1)/2`` independent entries are ``jax.random.normal(fold_in(key, i), (n * (n + 1) // 2,), dtype)``
    in the order of ``numpy.triu_indices(n)``, the diagonal ones multiplied by :math:`\sqrt 2` (the GOE of
    :func:`goe_matrices`). So the count depends on ``key``, ``n``, ``n_samples`` and ``dtype`` only, never
    on ``chunk``, which only sets the memory used; and the first ``m`` matrices are the same whatever
    ``n_samples >= m``.

    Args:
      key: JAX random key.
      n: matrix size, >= 1.
      n_samples: number of matrices, >= 1 (any number: the last chunk is partly used when ``chunk`` does not
        divide it).
      chunk: matrices per vectorised batch, >= 1 (memory about ``2 n^2 chunk`` floats; no effect on the result).
      dtype: floating dtype of the sampled entries.

    Returns:
      The number of sign-definite matrices, a Python int. The fraction ``count / n_samples`` estimates
      :math:`P_n = 2\,P(\text{all }\lambda_i > 0)`, with binomial standard error
      :math:`\sqrt{P(1-P)/n_{\rm samples}}`.

    Raises:
      ValueError: non-positive sizes, a batch of keys, more than 2**31 samples.
      TypeError: ``key`` not a typed JAX key, sizes not integers, ``dtype`` not floating.
    """
    _v.key(key)
    n = _v.count("n", n, minimum=1)
    n_samples = _v.count("n_samples", n_samples, minimum=1)
    if n_samples > 2**31:
        raise ValueError(f"n_samples must be at most 2**31 (one uint32 fold_in index per matrix), got {n_samples}")
    chunk = _v.count("chunk", chunk, minimum=1)
    chunk = min(chunk, n_samples)
    n_chunks = -(-n_samples // chunk)
    probe = jnp.zeros((), _v.float_dtype("dtype", dtype))
    return int(_count_chunks(key, n, chunk, n_chunks, jnp.asarray(n_samples, jnp.uint32), probe))


def goe_sign_definite_probability(n: int) -> float:
    r"""Exact probability that all eigenvalues of an n×n GOE matrix share one sign.

    Computed as :math:`2\,Z_n^{+}/Z_n`, where :math:`Z_n^{+}` and :math:`Z_n` integrate the joint
    eigenvalue density over :math:`(0,\infty)^n` and :math:`\mathbb R^n`. For the orthogonal
    ensemble each is a Pfaffian (de Bruijn 1955) of the matrix

    .. math:: a_{jk} = \iint \operatorname{sign}(y - x)\, x^j y^k\, w(x) w(y)\,dx\,dy,
              \qquad w(x) = e^{-x^2/4},

    bordered by the single moments :math:`\int x^j w(x)\,dx` when n is odd. The inner integrals
    are incomplete gamma functions; the outer ones use Gauss–Legendre quadrature, converged to
    about 1e-10 relative for n <= 10.

    Args:
      n: matrix size, 1 <= n <= 10 (beyond that the monomial moment matrices are too
        ill-conditioned for float64).

    Returns:
      The probability, a Python float (1.0 for n = 1, (2 - sqrt 2)/2 for n = 2).

    Raises:
      ValueError: ``n`` not an integer in 1..10.
    """
    n = _v.count("n", n, minimum=1)
    if n > _MAX_EXACT_N:
        raise ValueError(
            f"n must be <= {_MAX_EXACT_N} for the exact Pfaffian evaluation in float64, got {n}; "
            "for larger n use the asymptotic law ln P ~ -(ln 3 / 4) n^2"
        )
    return float(2.0 * np.exp(_log_prob_all_positive(n)))


def _log_prob_all_positive(n: int, n_nodes: int = 400) -> float:
    from scipy import special

    # Substitute x = 2u so the weight is exp(-u^2); the basis u^k differs from x^k by constant
    # factors that cancel in the ratio of the two Pfaffians.
    k = np.arange(n)
    half = 0.5 * special.gamma((k + 1) / 2)  # int_0^inf u^k e^{-u^2} du

    def from_zero(u):  # int_0^u t^k e^{-t^2} dt for u >= 0, shape [len(u), n]
        return half[None, :] * special.gammainc((k[None, :] + 1) / 2, u[:, None] ** 2)

    cutoff = np.sqrt(2 * n + 60.0)  # e^{-u^2} u^(2n) is below 1e-25 past this
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    parity = (-1.0) ** k

    def pfaffian_matrix(u, wu, cumulative, total):
        f = u[:, None] ** k[None, :] * np.exp(-(u**2))[:, None] * wu[:, None]
        a = f.T @ (total[None, :] - 2.0 * cumulative)
        a = 0.5 * (a - a.T)
        if n % 2:
            a = np.block([[a, total[:, None]], [-total[None, :], np.zeros((1, 1))]])
        return a

    u = 0.5 * cutoff * (nodes + 1)
    a_pos = pfaffian_matrix(u, 0.5 * cutoff * weights, from_zero(u), half)
    nodes2, weights2 = np.polynomial.legendre.leggauss(2 * n_nodes)
    v = cutoff * nodes2
    below = np.where(v[:, None] >= 0, 1.0, -parity[None, :]) * from_zero(np.abs(v))
    a_all = pfaffian_matrix(v, cutoff * weights2, parity[None, :] * half[None, :] + below, (1 + parity) * half)
    _, log_pos = np.linalg.slogdet(a_pos)
    _, log_all = np.linalg.slogdet(a_all)
    return 0.5 * (log_pos - log_all)  # Pf^2 = det


def semicircle_density(x, *, n: int) -> jax.Array:
    r"""Wigner's semicircle, the large-n eigenvalue density of an n×n GOE matrix.

    .. math:: \rho(x) = \frac{\sqrt{4n - x^2}}{2\pi n} \quad (|x| \le 2\sqrt n), \qquad 0 \text{ outside}.

    Args:
      x: float[...] eigenvalue positions.
      n: matrix size >= 1 (sets the radius :math:`2\sqrt n`).

    Returns:
      float[...] the normalised density at ``x``.

    Raises:
      ValueError: ``n`` < 1; an inf or nan in a concrete ``x``.
      TypeError: ``x`` not numeric, ``n`` not an integer.
    """
    n = _v.count("n", n, minimum=1)
    x = _v.float_array("x", x, finite=True)
    return jnp.sqrt(jnp.clip(4.0 * n - x**2, 0.0, None)) / (2 * jnp.pi * n)
