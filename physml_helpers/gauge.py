r"""Two-dimensional U(1) lattice gauge theory (chapter 15).

Links are stored as angles ``theta`` of shape ``[2, L, L]``: ``theta[mu][x]`` is the angle of the link
from site ``x`` to ``x + e_mu``, with ``e_0`` along array axis 0 and ``e_1`` along axis 1, and periodic
boundaries. The link variable is :math:`U_\mu(x) = e^{i\theta_\mu(x)}`.

* :func:`plaquette_angles`: :math:`\theta_P(x) = \theta_0(x) + \theta_1(x + e_0) - \theta_0(x + e_1) - \theta_1(x)`.
* :func:`gauge_transform`: :math:`\theta'_\mu(x) = \theta_\mu(x) + \alpha(x) - \alpha(x + e_\mu)`.
* :func:`average_plaquette`: the mean of :math:`\cos\theta_P`.
* :func:`metropolis`: local Metropolis updates for the Wilson action
  :math:`S = -\beta\sum_P \cos\theta_P`, vectorized over the links that share no plaquette.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from physml_helpers import _validation as _v

__all__ = ["plaquette_angles", "gauge_transform", "average_plaquette", "metropolis"]


def _links(name: str, theta):
    theta = _v.float_array(name, theta)
    if theta.ndim != 3 or theta.shape[0] != 2 or theta.shape[1] != theta.shape[2] or theta.shape[1] < 2:
        raise ValueError(f"{name} must have shape [2, L, L] with L >= 2, got {theta.shape}")
    return theta


def _shift(a, mu):
    """a(x + e_mu) on the periodic lattice."""
    return jnp.roll(a, -1, axis=mu)


def _plaquettes(theta):
    return theta[0] + _shift(theta[1], 0) - _shift(theta[0], 1) - theta[1]


def plaquette_angles(theta):
    r"""Plaquette angles :math:`\theta_P(x)`, shape ``[L, L]``, for the plaquette with lower-left corner ``x``.

    Args:
      theta: link angles ``[2, L, L]``.

    Returns:
      ``[L, L]``, not reduced modulo :math:`2\pi` (only :math:`e^{i\theta_P}` is physical).
    """
    return _plaquettes(_links("theta", theta))


def gauge_transform(theta, alpha):
    r"""Apply the gauge transformation :math:`\theta'_\mu(x) = \theta_\mu(x) + \alpha(x) - \alpha(x + e_\mu)`.

    Args:
      theta: link angles ``[2, L, L]``.
      alpha: one angle per site, ``[L, L]``.

    Returns:
      Transformed link angles ``[2, L, L]``.
    """
    theta = _links("theta", theta)
    alpha = _v.float_array("alpha", alpha)
    if alpha.shape != theta.shape[1:]:
        raise ValueError(f"alpha must have one angle per site, shape {theta.shape[1:]}, got {alpha.shape}")
    return jnp.stack([theta[mu] + alpha - _shift(alpha, mu) for mu in (0, 1)])


def average_plaquette(theta):
    r"""The average plaquette :math:`\langle\cos\theta_P\rangle` over the lattice."""
    return jnp.mean(jnp.cos(_plaquettes(_links("theta", theta))))


def _local_action_change(theta, mu, new, beta):
    """Per-link change of S = -beta sum cos(theta_P) when theta[mu] is replaced by `new`, which may differ
    from theta[mu] only on a set of links that share no plaquette: each changed link then owns the change
    of its two plaquettes, P(x) and P(x - e_nu)."""
    old_p = _plaquettes(theta)
    trial = theta.at[mu].set(new)
    new_p = _plaquettes(trial)
    nu = 1 - mu
    delta = jnp.cos(new_p) - jnp.cos(old_p)
    return -beta * (delta + jnp.roll(delta, 1, axis=nu))


@functools.partial(jax.jit, static_argnames=("n_sweeps",))
def _metropolis(key, theta, beta, step, n_sweeps):
    L = theta.shape[1]
    parity = jnp.arange(L) % 2

    def sub_update(theta, args):
        key, mu, par = args
        nu = 1 - mu
        mask = jnp.where(nu == 1, parity[None, :] == par, parity[:, None] == par)
        k_prop, k_acc = jax.random.split(key)
        proposal = theta[mu] + step * jax.random.uniform(k_prop, (L, L), minval=-1.0, maxval=1.0, dtype=theta.dtype)
        d_s = _local_action_change(theta, mu, jnp.where(mask, proposal, theta[mu]), beta)
        accept = mask & (jax.random.uniform(k_acc, (L, L), dtype=theta.dtype) < jnp.exp(-d_s))
        new = jnp.where(accept, proposal, theta[mu])
        return theta.at[mu].set(new), jnp.sum(accept)

    def sweep(theta, key):
        keys = jax.random.split(key, 4)
        accepted = 0
        for i, (mu, par) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
            theta, acc = sub_update(theta, (keys[i], mu, par))
            accepted = accepted + acc
        return theta, (jnp.mean(jnp.cos(_plaquettes(theta))), accepted / (2 * L * L))

    theta, (plaquettes, acceptance) = jax.lax.scan(sweep, theta, jax.random.split(key, n_sweeps))
    return theta, plaquettes, acceptance


def metropolis(key, theta, *, beta: float, n_sweeps: int, step: float = 1.5):
    r"""Metropolis sampling of the Wilson action :math:`S = -\beta\sum_P\cos\theta_P`.

    A sweep proposes :math:`\theta \to \theta + \delta`, :math:`\delta` uniform in
    [``-step``, ``step``], once for every link, and accepts with probability :math:`\min(1, e^{-\Delta S})`.
    Links of one direction whose sites have the same parity across that direction share no plaquette, so
    each of the four such sets is updated at once.

    Args:
      key: JAX random key.
      theta: initial link angles ``[2, L, L]`` with even ``L``.
      beta: inverse coupling, > 0.
      n_sweeps: number of sweeps, >= 1.
      step: half-width of the proposal, > 0.

    Returns:
      ``(theta, plaquettes, acceptance)``: the final links, the average plaquette after every sweep
      ``[n_sweeps]``, and the acceptance rate of every sweep ``[n_sweeps]``.
    """
    _v.key(key)
    theta = _links("theta", theta)
    if theta.shape[1] % 2:
        raise ValueError(f"the lattice size L must be even for the checkerboard updates, got L = {theta.shape[1]}")
    beta = _v.positive_float("beta", beta)
    n_sweeps = _v.count("n_sweeps", n_sweeps, minimum=1)
    step = _v.positive_float("step", step)
    return _metropolis(key, theta, jnp.asarray(beta, theta.dtype), jnp.asarray(step, theta.dtype), n_sweeps)
