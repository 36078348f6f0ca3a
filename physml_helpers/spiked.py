r"""The spiked Wigner model: the BBP transition and approximate message passing (chapter 5).

.. math:: Y = \frac{\lambda}{N}\,x x^\top + \frac{W}{\sqrt N},

with W from the Gaussian orthogonal ensemble of :mod:`physml_helpers.randommatrix` (off-diagonal variance 1,
diagonal variance 2), so the noise spectrum fills :math:`[-2, 2]`, and a spike with :math:`|x|^2 \approx N`.
For :math:`\lambda > 1` the top eigenvalue detaches to :math:`\lambda + 1/\lambda` and the top eigenvector has
squared overlap :math:`1 - 1/\lambda^2` with :math:`x/\sqrt N` (Baik–Ben Arous–Péché); below, the top
eigenvalue sticks to 2 and the overlap vanishes.

For a Rademacher spike (:math:`x_i = \pm1`), AMP with the posterior-mean denoiser :math:`\tanh` is

.. math:: u^{t+1} = Y f_t - b_t f_{t-1}, \quad f_t = \tanh(\gamma_t u^t / \mu_t), \quad
   b_t = \frac1N\sum_i f_t'(u^t_i),

and its state evolution is :math:`q_{t+1} = \mathbb E_z \tanh(\lambda^2 q_t + \lambda\sqrt{q_t}\,z)` for the
squared overlap q of :math:`f_t` with x (Deshpande–Montanari; Lesieur et al.).
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v
from physml_helpers._kernels import Kernel, scan_kernel
from physml_helpers.randommatrix import goe_matrices

__all__ = [
    "spiked_wigner", "bbp_top_eigenvalue", "bbp_overlap", "rademacher_state_evolution", "SpikedAMPState",
    "SpikedAMPInfo", "spiked_amp_kernel", "spiked_amp",
]


def spiked_wigner(key, n: int, snr, *, prior: str = "rademacher", dtype=None):
    r"""Draw :math:`Y = (\lambda/N) x x^\top + W/\sqrt N` and its spike x.

    Args:
      key: JAX random key.
      n: size N >= 2.
      snr: signal-to-noise ratio :math:`\lambda >= 0` (may be traced: vmap over it).
      prior: ``"rademacher"`` (:math:`x_i = \pm1`) or ``"gaussian"`` (:math:`x_i \sim \mathcal N(0, 1)`).
      dtype: floating dtype (default: JAX's default float).

    Returns:
      ``(Y, x)``: float[N, N] symmetric; float[N] spike.

    Raises:
      TypeError: a bad key, non-integer n, non-real snr or a non-floating dtype.
      ValueError: n < 2, snr < 0, unknown prior.
    """
    _v.key(key)
    n = _v.count("n", n, minimum=2)
    lam = snr if _v.is_traced(snr) else _v.positive_float("snr", snr, allow_zero=True)
    prior = _v.choice("prior", prior, ("rademacher", "gaussian"))
    dtype = _v.float_dtype("dtype", dtype)
    k_w, k_x = jax.random.split(key)
    W = goe_matrices(k_w, n, 1, dtype=dtype)[0]
    if prior == "rademacher":
        x = jax.random.rademacher(k_x, (n,), dtype=dtype)
    else:
        x = jax.random.normal(k_x, (n,), dtype)
    return lam / n * jnp.outer(x, x) + W / jnp.sqrt(jnp.asarray(n, dtype)), x


def bbp_top_eigenvalue(snr) -> jax.Array:
    r"""Large-N top eigenvalue of the spiked Wigner matrix: :math:`\lambda + 1/\lambda` above 1, the edge 2 below.

    Args:
      snr: float[...] values of :math:`\lambda >= 0`.

    Returns:
      float[...].

    Raises:
      TypeError: non-real input.
      ValueError: negative or non-finite snr.
    """
    lam = _snr_array(snr)
    safe = jnp.where(lam > 1, lam, 1.0)
    return jnp.where(lam > 1, safe + 1 / safe, 2.0)


def bbp_overlap(snr) -> jax.Array:
    r"""Large-N squared overlap of the top eigenvector with the spike: :math:`\max(0, 1 - 1/\lambda^2)`.

    Args:
      snr: float[...] values of :math:`\lambda >= 0`.

    Returns:
      float[...] in [0, 1).

    Raises:
      TypeError: non-real input.
      ValueError: negative or non-finite snr.
    """
    lam = _snr_array(snr)
    safe = jnp.where(lam > 1, lam, 1.0)
    return jnp.where(lam > 1, 1 - 1 / safe**2, 0.0)


def _snr_array(snr):
    lam = _v.float_array("snr", snr, finite=True)
    if not _v.is_traced(lam) and bool(jnp.any(lam < 0)):
        raise ValueError(f"snr must be >= 0, got {np.asarray(lam)}")
    return lam


def rademacher_state_evolution(snr, n_iter: int, *, q0: float = 1e-3) -> np.ndarray:
    r"""State evolution of Bayes-optimal AMP for a ±1 spike: :math:`q_{t+1} = \mathbb E_z\tanh(\lambda^2 q_t + \lambda\sqrt{q_t} z)`.

    Args:
      snr: :math:`\lambda >= 0`.
      n_iter: number of iterations >= 1.
      q0: starting squared overlap in [0, 1].

    Returns:
      float64[n_iter + 1]: :math:`q_0, q_1, \dots` (Gauss–Hermite quadrature, 120 nodes).

    Raises:
      TypeError: non-real input or non-integer n_iter.
      ValueError: snr < 0, n_iter < 1, q0 outside [0, 1].
    """
    lam = _v.positive_float("snr", snr, allow_zero=True)
    n_iter = _v.count("n_iter", n_iter, minimum=1)
    q = _v.real("q0", q0)
    if not 0 <= q <= 1:
        raise ValueError(f"q0 must lie in [0, 1], got {q}")
    z, w = np.polynomial.hermite_e.hermegauss(120)
    w = w / math.sqrt(2 * math.pi)
    out = [q]
    for _ in range(n_iter):
        q = max(float(np.sum(w * np.tanh(lam**2 * q + lam * math.sqrt(q) * z))), 0.0)  # rounding can dip below 0
        out.append(q)
    return np.array(out)


class SpikedAMPState(NamedTuple):
    """AMP state: the current field ``u`` float[N] and the previous denoised estimate ``f_prev`` float[N]."""

    u: jax.Array
    f_prev: jax.Array


class SpikedAMPInfo(NamedTuple):
    """Per iteration: ``estimate`` float[N] (the denoised f_t) and ``gamma`` (the estimated SNR of the field)."""

    estimate: jax.Array
    gamma: jax.Array


def spiked_amp_kernel(Y) -> Kernel:
    r"""Bayes-optimal AMP for a Rademacher spike, with the field's signal and noise estimated from the data.

    The field :math:`u^t \approx \mu_t x + \sigma_t z` has noise variance :math:`\sigma_t^2 = |f_{t-1}|^2/N`
    and :math:`\mu_t^2 = |u^t|^2/N - \sigma_t^2`; the denoiser is :math:`f_t = \tanh(\mu_t u^t/\sigma_t^2)`.
    Neither the spike nor :math:`\lambda` is used.

    Args:
      Y: float[N, N] symmetric observation.

    Returns:
      ``Kernel(init, step)``: ``init(f0)`` from an initial estimate float[N] (for example random signs,
      independent of Y) sets :math:`u^1 = Y f_0`; ``step(state) -> (state, SpikedAMPInfo)``.

    Raises:
      TypeError: non-real input.
      ValueError: Y not square, symmetric and finite.
    """
    Y = _v.square_matrix("Y", Y, symmetric=True)
    n = Y.shape[0]

    def init(f0):
        f0 = _v.float_array("f0", f0, ndim=1, finite=True).astype(Y.dtype)
        if f0.shape[0] != n:
            raise ValueError(f"f0 must have length N = {n}, got {f0.shape[0]}")
        return SpikedAMPState(Y @ f0, f0)

    def step(state):
        sigma2 = jnp.mean(state.f_prev**2)
        mu2 = jnp.maximum(jnp.mean(state.u**2) - sigma2, 1e-12 * sigma2)
        gamma = jnp.sqrt(mu2) / sigma2
        f = jnp.tanh(gamma * state.u)
        b = gamma * jnp.mean(1 - f**2)
        u = Y @ f - b * state.f_prev
        return SpikedAMPState(u, f), SpikedAMPInfo(f, mu2 / sigma2)

    return Kernel(init, step)


def spiked_amp(key, Y, n_iter: int):
    r"""Run :func:`spiked_amp_kernel` from random signs for ``n_iter`` iterations.

    Args:
      key: JAX random key (the random start, independent of Y).
      Y: float[N, N] symmetric observation.
      n_iter: iterations >= 1 (static).

    Returns:
      ``(estimate, info)``: float[N] final denoised estimate and the stacked :class:`SpikedAMPInfo`
      (``info.estimate`` is float[n_iter, N]).

    Raises:
      TypeError: a bad key or non-real input.
      ValueError: see :func:`spiked_amp_kernel`; n_iter < 1.
    """
    _v.key(key)
    n_iter = _v.count("n_iter", n_iter, minimum=1)
    Y = _v.square_matrix("Y", Y, symmetric=True)
    f0 = jax.random.rademacher(key, (Y.shape[0],), dtype=Y.dtype)
    info = _amp_run(Y, f0, n_iter)
    return info.estimate[-1], info


@partial(jax.jit, static_argnums=2)
def _amp_run(Y, f0, n_iter):
    # one compilation per shape and n_iter, shared by every call
    kernel = spiked_amp_kernel(Y)
    _, _, info = scan_kernel(kernel.step, kernel.init(f0), n_iter, record=lambda st: ())
    return info
