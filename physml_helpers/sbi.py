r"""Simulation-based inference: rejection ABC, neural ratio and neural posterior estimation, calibration.

Chapter 11 infers the parameters :math:`\theta` of a simulator :math:`x \sim p(x\mid\theta)` whose likelihood
is treated as unknown. The estimators here learn from pairs :math:`(\theta_i, x_i)` drawn from the prior and the
simulator:

* :func:`rejection_abc` keeps the parameters whose simulations land nearest the observation;
* :func:`train_ratio_estimator` trains a classifier between joint pairs and shuffled pairs, whose logit is
  :math:`\log r(\theta, x) = \log p(x\mid\theta)/p(x)` (the likelihood-ratio trick);
* :func:`train_posterior_estimator` fits a mixture density network :math:`q(\theta\mid x)` by maximum likelihood.

Validation: the Gaussian-linear task of sbibm, whose posterior :func:`gaussian_linear_posterior` is exact; sbibm's
two-moons task, whose reference posterior :func:`two_moons_reference_posterior` is sampled by inverting the
simulator; a binned signal-plus-background spectrum (a resonance search), whose posterior
:func:`spectrum_grid_posterior` follows from the Poisson likelihood on a grid; the two-sample statistic
:func:`mmd_squared`; and simulation-based calibration (:func:`sbc_ranks`, :func:`rank_uniformity`,
:func:`credible_coverage`).

Estimators are dicts of arrays (a network from :mod:`physml_helpers.networks` and the affine standardization
of its inputs), so they pass through ``jit`` and ``vmap``. Training is full-batch Adam
(:func:`physml_helpers.networks.adam_scan`); optional per-simulation ``weights`` (0 or 1) let runs with
different numbers of simulations share one compiled program.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v
from physml_helpers._kernels import require_finite_history
from physml_helpers.networks import adam_scan, init_mlp, mlp

__all__ = [
    "gaussian_linear_prior", "gaussian_linear_simulator", "gaussian_linear_posterior", "gaussian_kl",
    "rejection_abc", "train_ratio_estimator", "log_ratio", "train_posterior_estimator", "mdn_log_prob",
    "mdn_sample", "sbc_ranks", "rank_uniformity", "credible_coverage",
    "two_moons_prior", "two_moons_simulator", "two_moons_invert", "two_moons_reference_posterior", "mmd_squared",
    "spectrum_simulator", "spectrum_grid_posterior",
]


# ----------------------------------------------------------------------------------------------- the task
def gaussian_linear_prior(key, n: int, dim: int, *, prior_var: float = 0.1, dtype=None) -> jax.Array:
    r"""Draws from the prior :math:`\theta \sim \mathcal N(0, \sigma_0^2 \mathbb 1)` of sbibm's Gaussian-linear task.

    Args:
      key: a JAX key.
      n: number of draws, >= 1.
      dim: dimension of :math:`\theta`, >= 1.
      prior_var: :math:`\sigma_0^2`, > 0 (sbibm: 0.1).
      dtype: floating dtype (default: JAX's default float).

    Returns:
      float[n, dim] parameters.

    Raises:
      TypeError: ``key`` not a JAX key, sizes not integers, ``dtype`` not floating.
      ValueError: sizes < 1, ``prior_var`` not > 0.
    """
    _v.key(key)
    n, dim = _v.count("n", n, minimum=1), _v.count("dim", dim, minimum=1)
    prior_var = _v.positive_float("prior_var", prior_var)
    dtype = _v.float_dtype("dtype", dtype)
    return math.sqrt(prior_var) * jax.random.normal(key, (n, dim), dtype)


def gaussian_linear_simulator(key, theta, *, noise_var: float = 0.1) -> jax.Array:
    r"""The Gaussian-linear simulator :math:`x = \theta + \sigma\varepsilon`, :math:`\varepsilon \sim \mathcal N(0, \mathbb 1)`.

    Args:
      key: a JAX key.
      theta: float[n, dim] parameters.
      noise_var: :math:`\sigma^2`, > 0 (sbibm: 0.1).

    Returns:
      float[n, dim] simulated data, in the dtype of ``theta``.

    Raises:
      TypeError: ``key`` not a JAX key, ``theta`` not real.
      ValueError: ``theta`` not 2-D or not finite, ``noise_var`` not > 0.
    """
    _v.key(key)
    theta = _v.float_array("theta", theta, ndim=2, finite=True, nonempty=True)
    noise_var = _v.positive_float("noise_var", noise_var)
    return theta + math.sqrt(noise_var) * jax.random.normal(key, theta.shape, theta.dtype)


def gaussian_linear_posterior(x, *, prior_var: float = 0.1, noise_var: float = 0.1):
    r"""Exact posterior of the Gaussian-linear task, :math:`\mathcal N\big(\tfrac{\sigma_0^2}{\sigma_0^2+\sigma^2}x,\;
    \tfrac{\sigma_0^2\sigma^2}{\sigma_0^2+\sigma^2}\mathbb 1\big)`: :math:`\mathcal N(x/2, 0.05\,\mathbb 1)` for sbibm's values.

    Args:
      x: float[..., dim] observations.
      prior_var: :math:`\sigma_0^2`, > 0.
      noise_var: :math:`\sigma^2`, > 0.

    Returns:
      ``(mean, var)``: float[..., dim] posterior mean, and the posterior variance (a float, the same for every
      coordinate).

    Raises:
      TypeError: ``x`` not real.
      ValueError: ``x`` not finite or empty, variances not > 0.
    """
    x = _v.float_array("x", x, finite=True, nonempty=True)
    prior_var = _v.positive_float("prior_var", prior_var)
    noise_var = _v.positive_float("noise_var", noise_var)
    return x * (prior_var / (prior_var + noise_var)), prior_var * noise_var / (prior_var + noise_var)


def gaussian_kl(mean_p, var_p, mean_q, var_q) -> np.ndarray:
    r"""Kullback–Leibler divergence :math:`\mathrm{KL}(p\,\|\,q)` between Gaussians with diagonal covariances,
    summed over the last axis: :math:`\tfrac12\sum_d\big[\ln(v_q/v_p) + (v_p + (m_p-m_q)^2)/v_q - 1\big]`.

    Args:
      mean_p, var_p, mean_q, var_q: float[..., dim] means and variances (variances > 0); they broadcast.

    Returns:
      float[...] the divergence in nats (a NumPy array).

    Raises:
      TypeError: inputs not real.
      ValueError: non-finite inputs or a variance <= 0.
    """
    mp, vp, mq, vq = (_v.numpy_array(n, a, nonempty=True) for n, a in
                      (("mean_p", mean_p), ("var_p", var_p), ("mean_q", mean_q), ("var_q", var_q)))
    for name, v in (("var_p", vp), ("var_q", vq)):
        if np.any(v <= 0):
            raise ValueError(f"{name} must be > 0, got a minimum of {v.min()}")
    return 0.5 * np.sum(np.log(vq / vp) + (vp + (mp - mq) ** 2) / vq - 1.0, axis=-1)


# ------------------------------------------------------------------------------------------------ two moons
_MOON_SHIFT, _MOON_R, _MOON_SD = 0.25, 0.1, 0.01   # sbibm's values


def two_moons_prior(key, n: int, *, dtype=None) -> jax.Array:
    r"""Draws from the prior of sbibm's two-moons task, uniform on :math:`[-1, 1]^2`.

    Args:
      key: a JAX key.
      n: number of draws, >= 1.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      float[n, 2] parameters.

    Raises:
      TypeError: ``key`` not a JAX key, ``n`` not an integer, ``dtype`` not floating.
      ValueError: ``n`` < 1.
    """
    _v.key(key)
    n = _v.count("n", n, minimum=1)
    dtype = _v.float_dtype("dtype", dtype)
    return jax.random.uniform(key, (n, 2), dtype, -1.0, 1.0)


def _two_moons_map(theta, a, r):
    # the deterministic part of the simulator: a point p on a half ring, shifted by a folded rotation of theta
    p = jnp.stack([r * jnp.cos(a) + _MOON_SHIFT, r * jnp.sin(a)], axis=-1)
    s = math.sqrt(0.5)
    return p + jnp.stack([-jnp.abs(theta[..., 0] + theta[..., 1]) * s, (theta[..., 1] - theta[..., 0]) * s], axis=-1)


@jax.jit
def _two_moons_sim(key, theta):
    k_a, k_r = jax.random.split(key)
    a = jax.random.uniform(k_a, theta.shape[:-1], theta.dtype, -math.pi / 2, math.pi / 2)
    r = _MOON_R + _MOON_SD * jax.random.normal(k_r, theta.shape[:-1], theta.dtype)
    return _two_moons_map(theta, a, r), (a, r)


def two_moons_simulator(key, theta, *, return_latents: bool = False):
    r"""sbibm's two-moons simulator: :math:`a \sim U(-\pi/2, \pi/2)`, :math:`r \sim \mathcal N(0.1, 0.01^2)`,
    :math:`p = (r\cos a + 0.25,\; r\sin a)` and
    :math:`x = p + \big(-|\theta_1+\theta_2|/\sqrt2,\; (\theta_2-\theta_1)/\sqrt2\big)`.

    Args:
      key: a JAX key.
      theta: float[n, 2] parameters.
      return_latents: also return the latent draws ``(a, r)``, each float[n] (to check an inversion).

    Returns:
      float[n, 2] simulated data, in the dtype of ``theta``; with ``return_latents``, the pair ``(x, (a, r))``.

    Raises:
      TypeError: ``key`` not a JAX key, ``theta`` not real, ``return_latents`` not a bool.
      ValueError: ``theta`` not of shape [n, 2] or not finite.
    """
    _v.key(key)
    theta = _v.float_array("theta", theta, ndim=2, finite=True, nonempty=True)
    if theta.shape[1] != 2:
        raise ValueError(f"theta must have shape [n, 2], got {theta.shape}")
    x, latents = _two_moons_sim(key, theta)
    return (x, latents) if _v.boolean("return_latents", return_latents) else x


@jax.jit   # one compiled program per shape rather than a dozen small ones
def _invert(x, a, r, sign):
    s = math.sqrt(0.5)
    u = x - jnp.stack([r * jnp.cos(a) + _MOON_SHIFT, r * jnp.sin(a)], axis=-1)   # u = x - p
    total = -u[..., 0] / s          # |theta_1 + theta_2| >= 0 when the draw is consistent with x
    diff = u[..., 1] / s            # theta_2 - theta_1
    t_sum = sign * total
    theta = jnp.stack([(t_sum - diff) / 2, (t_sum + diff) / 2], axis=-1)
    valid = (total >= 0) & jnp.all(jnp.abs(theta) <= 1, axis=-1)
    return theta, valid


def two_moons_invert(x, a, r, sign):
    r"""Invert the two-moons simulator: given data :math:`x` and its latent draws :math:`(a, r)`, the parameter is
    determined up to the sign of :math:`\theta_1+\theta_2`. With :math:`u = x - p(a, r)`,
    :math:`\theta_1+\theta_2 = \pm\sqrt2\,(-u_1)` and :math:`\theta_2-\theta_1 = \sqrt2\,u_2`.

    Args:
      x: float[..., 2] data.
      a, r: float[...] the simulator's angle and radius (they broadcast against ``x[..., 0]``).
      sign: float[...] +1 or -1, the branch (the sign of :math:`\theta_1+\theta_2`).

    Returns:
      ``(theta, valid)``: float[..., 2] parameters, and bool[...] whether the draw is consistent with ``x``
      (:math:`u_1 \le 0`) and the parameter lies in the prior's box :math:`[-1, 1]^2`.

    Raises:
      TypeError: inputs not real.
      ValueError: ``x`` not ending in 2, non-finite entries, ``sign`` not +1 or -1.
    """
    x = _v.float_array("x", x, finite=True, nonempty=True)
    if x.shape[-1] != 2:
        raise ValueError(f"x must end with dimension 2, got shape {x.shape}")
    a = _v.float_array("a", a, finite=True).astype(x.dtype)
    r = _v.float_array("r", r, finite=True).astype(x.dtype)
    sign = _v.float_array("sign", sign, finite=True).astype(x.dtype)
    if not _v.is_traced(sign) and not bool(np.all(np.abs(np.asarray(sign)) == 1)):
        raise ValueError("sign must be +1 or -1")
    return _invert(x, a, r, sign)


@functools.partial(jax.jit, static_argnames=("n_samples", "n_proposals"))
def _moons_reference(key, x, n_samples, n_proposals):
    k_a, k_r, k_s = jax.random.split(key, 3)
    shape = (*x.shape[:-1], n_proposals)
    a = jax.random.uniform(k_a, shape, x.dtype, -math.pi / 2, math.pi / 2)
    r = _MOON_R + _MOON_SD * jax.random.normal(k_r, shape, x.dtype)
    sign = jnp.where(jax.random.bernoulli(k_s, 0.5, shape), 1.0, -1.0).astype(x.dtype)
    theta, valid = _invert(x[..., None, :], a, r, sign)
    order = jnp.argsort(~valid, axis=-1, stable=True)[..., :n_samples]     # the first n_samples valid proposals
    take = lambda arr: jnp.take_along_axis(arr, order, axis=-1)
    return jnp.stack([take(theta[..., 0]), take(theta[..., 1])], axis=-1), jnp.sum(valid, axis=-1)


def two_moons_reference_posterior(key, x, n_samples: int, *, n_proposals: int | None = None) -> jax.Array:
    r"""Exact samples of the two-moons posterior :math:`p(\theta\mid x)` by inverting the simulator.

    The map :math:`\theta \mapsto x - p` is, on each side of :math:`\theta_1+\theta_2 = 0`, a rotation or a
    reflection (Jacobian 1), so with a uniform prior :math:`p(\theta\mid x) \propto p_P\big(x - g(\theta)\big)` on
    :math:`[-1,1]^2`, where :math:`p_P` is the density of the half-ring point :math:`p`. Sampling :math:`(a, r)`
    from the simulator, a branch with probability 1/2 each, and keeping the parameters that
    :func:`two_moons_invert` calls valid therefore draws from the posterior exactly.

    Args:
      key: a JAX key.
      x: float[..., 2] observations (any leading batch shape).
      n_samples: samples per observation, >= 1.
      n_proposals: proposals per observation (default ``8 * n_samples``); at least ``n_samples`` of them must
        be valid.

    Returns:
      float[..., n_samples, 2] posterior samples.

    Raises:
      TypeError: bad key, ``x`` not real, sizes not integers.
      ValueError: ``x`` not ending in 2 or not finite, sizes < 1, fewer valid proposals than ``n_samples`` (raise
        ``n_proposals``; an observation far outside the simulator's range has almost none).
    """
    _v.key(key)
    x = _v.float_array("x", x, finite=True, nonempty=True)
    if x.shape[-1] != 2:
        raise ValueError(f"x must end with dimension 2, got shape {x.shape}")
    n_samples = _v.count("n_samples", n_samples, minimum=1)
    n_proposals = 8 * n_samples if n_proposals is None else _v.count("n_proposals", n_proposals, minimum=1)
    samples, n_valid = _moons_reference(key, x, n_samples, n_proposals)
    if int(jnp.min(n_valid)) < n_samples:
        raise ValueError(f"only {int(jnp.min(n_valid))} of {n_proposals} proposals were valid for some observation, "
                         f"fewer than n_samples={n_samples}; raise n_proposals")
    return samples


def mmd_squared(a, b, *, bandwidth: float) -> float:
    r"""Unbiased estimate of the squared maximum mean discrepancy between the distributions of two samples, with the
    Gaussian kernel :math:`k(u, v) = e^{-|u-v|^2/2h^2}` (Gretton et al. 2012):
    :math:`\widehat{\mathrm{MMD}}^2 = \overline{k(a, a')} + \overline{k(b, b')} - 2\,\overline{k(a, b)}`, the first two
    averages over distinct pairs. It is zero in expectation when both samples come from one distribution (and can
    then be negative).

    Args:
      a: float[m, d] a sample, m >= 2.
      b: float[n, d] another, n >= 2.
      bandwidth: the kernel width :math:`h`, > 0.

    Returns:
      The estimate (a float).

    Raises:
      TypeError: inputs not real.
      ValueError: not 2-D, different dimensions, fewer than two points, non-finite entries, ``bandwidth`` not > 0.
    """
    a = _v.numpy_array("a", a, ndim=2)
    b = _v.numpy_array("b", b, ndim=2)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must have one dimension, got shapes {a.shape} and {b.shape}")
    if a.shape[0] < 2 or b.shape[0] < 2:
        raise ValueError(f"a and b must hold at least two points each, got shapes {a.shape} and {b.shape}")
    h = _v.positive_float("bandwidth", bandwidth)

    def gram(u, v):
        d2 = np.sum(u**2, 1)[:, None] + np.sum(v**2, 1)[None, :] - 2 * u @ v.T
        return np.exp(-np.maximum(d2, 0.0) / (2 * h * h))

    m, n = a.shape[0], b.shape[0]
    kaa, kbb = gram(a, a), gram(b, b)
    within = lambda k, size: (k.sum() - np.trace(k)) / (size * (size - 1))
    return float(within(kaa, m) + within(kbb, n) - 2 * gram(a, b).mean())


# --------------------------------------------------------------------------------- a binned resonance search
def _check_templates(signal, background, dtype=None):
    signal = _v.numpy_array("signal", signal, ndim=1)
    background = _v.numpy_array("background", background, ndim=1)
    if signal.shape != background.shape:
        raise ValueError(f"signal and background must have one shape [n_bins], got {signal.shape} and {background.shape}")
    if np.any(signal < 0) or np.any(background < 0):
        raise ValueError("signal and background templates must be >= 0 (expected counts per bin)")
    return signal, background


def spectrum_simulator(key, theta, signal, background) -> jax.Array:
    r"""A binned spectrum of Poisson counts with expected counts :math:`\lambda_i = \mu s_i + \beta b_i`: a signal
    template :math:`s` scaled by the signal strength :math:`\mu` on a background template :math:`b` scaled by its
    normalization :math:`\beta`.

    Args:
      key: a JAX key (its bits seed NumPy's Poisson sampler).
      theta: float[n, 2] parameters :math:`(\mu, \beta)`, both >= 0.
      signal: float[n_bins] expected signal counts per bin at :math:`\mu = 1`, >= 0.
      background: float[n_bins] expected background counts per bin at :math:`\beta = 1`, >= 0.

    Returns:
      float[n, n_bins] counts (integers stored in the dtype of ``theta``).

    Raises:
      TypeError: bad key, arrays not real.
      ValueError: wrong shapes, non-finite entries, negative parameters or templates.
    """
    _v.key(key)
    theta = _v.float_array("theta", theta, ndim=2, finite=True, nonempty=True)
    if theta.shape[1] != 2:
        raise ValueError(f"theta must have shape [n, 2] (mu, beta), got {theta.shape}")
    if bool(jnp.any(theta < 0)):
        raise ValueError("theta (mu, beta) must be >= 0")
    signal, background = _check_templates(signal, background)
    lam = np.asarray(theta, np.float64)[:, :1] * signal + np.asarray(theta, np.float64)[:, 1:2] * background
    # NumPy's Poisson sampler, seeded by the key's bits: nothing to compile (JAX's compiles a rejection loop, and
    # only for threefry keys)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel())
    return jnp.asarray(rng.poisson(lam).astype(np.float64), theta.dtype)


def spectrum_grid_posterior(counts, mu_grid, beta_grid, signal, background, *, log_prior=None) -> np.ndarray:
    r"""Exact posterior of :math:`(\mu, \beta)` for binned Poisson counts, on a grid:
    :math:`\log p(\mu, \beta\mid n) = \sum_i \big[n_i\log\lambda_i - \lambda_i\big] + \log p(\mu, \beta) + \text{const}`
    with :math:`\lambda_i = \mu s_i + \beta b_i`, normalized to sum to one over the grid (a uniform prior on the
    grid's box unless ``log_prior`` is given). Computed in float64 NumPy.

    Args:
      counts: float[..., n_bins] observed counts (>= 0), any leading batch shape.
      mu_grid: float[n_mu] grid of signal strengths, >= 0.
      beta_grid: float[n_beta] grid of background normalizations, >= 0.
      signal, background: float[n_bins] templates as in :func:`spectrum_simulator`.
      log_prior: optional float[n_mu, n_beta] log prior density on the grid (up to a constant).

    Returns:
      float[..., n_mu, n_beta] posterior probabilities of the grid points, summing to 1 per observation.

    Raises:
      TypeError: arrays not real.
      ValueError: wrong shapes, non-finite or negative entries, or an observation impossible at every grid point
        (counts in a bin whose expected count is zero everywhere).
    """
    counts = _v.numpy_array("counts", counts)
    mu = _v.numpy_array("mu_grid", mu_grid, ndim=1)
    beta = _v.numpy_array("beta_grid", beta_grid, ndim=1)
    signal, background = _check_templates(signal, background)
    if counts.ndim < 1 or counts.shape[-1] != signal.shape[0]:
        raise ValueError(f"counts must end with the number of bins {signal.shape[0]}, got shape {counts.shape}")
    if np.any(counts < 0) or np.any(mu < 0) or np.any(beta < 0):
        raise ValueError("counts, mu_grid and beta_grid must be >= 0")
    lam = mu[:, None, None] * signal + beta[None, :, None] * background        # [n_mu, n_beta, n_bins]
    n = counts[..., None, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(n > 0, n * np.log(np.where(lam > 0, lam, 1.0)) + np.where(lam > 0, 0.0, -np.inf), 0.0)
    logp = np.sum(term - lam, axis=-1)
    if log_prior is not None:
        log_prior = _v.numpy_array("log_prior", log_prior, ndim=2, finite=False)
        if log_prior.shape != logp.shape[-2:]:
            raise ValueError(f"log_prior must have shape {logp.shape[-2:]}, got {log_prior.shape}")
        logp = logp + log_prior
    top = np.max(logp, axis=(-2, -1), keepdims=True)
    if not np.all(np.isfinite(top)):
        raise ValueError("the counts are impossible at every grid point (a zero expected count with counts > 0)")
    p = np.exp(logp - top)
    return p / p.sum(axis=(-2, -1), keepdims=True)


# ---------------------------------------------------------------------------------------------------- ABC
def rejection_abc(theta, x, x_obs, *, n_accept: int):
    r"""Rejection approximate Bayesian computation: keep the ``n_accept`` parameters whose simulations lie nearest
    (Euclidean distance) to the observation. The tolerance :math:`\epsilon` is the largest accepted distance.

    Args:
      theta: float[n, dim_theta] parameters drawn from the prior.
      x: float[n, dim_x] their simulations.
      x_obs: float[dim_x] the observation.
      n_accept: how many to keep, 1 <= n_accept <= n.

    Returns:
      ``(accepted, epsilon)``: float[n_accept, dim_theta] accepted parameters and the tolerance (a float).

    Raises:
      TypeError: arrays not real, ``n_accept`` not an integer.
      ValueError: wrong dimensions or mismatched lengths, non-finite entries, ``n_accept`` out of range.
    """
    theta = _v.numpy_array("theta", theta, ndim=2)
    x = _v.numpy_array("x", x, ndim=2)
    x_obs = _v.numpy_array("x_obs", x_obs, ndim=1)
    if x.shape[0] != theta.shape[0]:
        raise ValueError(f"theta and x must hold the same number of simulations, got {theta.shape[0]} and {x.shape[0]}")
    if x.shape[1] != x_obs.shape[0]:
        raise ValueError(f"x_obs must have the dimension of x ({x.shape[1]}), got shape {x_obs.shape}")
    n_accept = _v.count("n_accept", n_accept, minimum=1)
    if n_accept > theta.shape[0]:
        raise ValueError(f"n_accept must be at most the number of simulations {theta.shape[0]}, got {n_accept}")
    dist = np.linalg.norm(x - x_obs, axis=1)
    keep = np.argpartition(dist, n_accept - 1)[:n_accept]
    return theta[keep], float(dist[keep].max())


# ---------------------------------------------------------------------------------------- neural estimators
@jax.jit   # one compiled program per shape rather than a dozen small ones
def _standardize(a, w):
    total = jnp.sum(w)
    mean = jnp.sum(w[:, None] * a, axis=0) / total
    std = jnp.sqrt(jnp.sum(w[:, None] * (a - mean) ** 2, axis=0) / total)
    return mean, std


def _check_training_data(theta, x, weights):
    theta = _v.float_array("theta", theta, ndim=2, finite=True, nonempty=True)
    x = _v.float_array("x", x, ndim=2, finite=True, nonempty=True)
    if x.shape[0] != theta.shape[0]:
        raise ValueError(f"theta and x must hold the same number of simulations, got {theta.shape[0]} and {x.shape[0]}")
    if x.dtype != theta.dtype:
        raise TypeError(f"theta and x must have one dtype, got {theta.dtype} and {x.dtype}")
    if weights is None:
        weights = jnp.ones(theta.shape[0], theta.dtype)
    weights = _v.float_array("weights", weights, ndim=1, finite=True).astype(theta.dtype)
    if weights.shape[0] != theta.shape[0]:
        raise ValueError(f"weights must have one entry per simulation ({theta.shape[0]}), got shape {weights.shape}")
    if not _v.is_traced(weights) and (bool(jnp.any(weights < 0)) or float(jnp.sum(weights)) < 2):
        raise ValueError("weights must be >= 0 and select at least two simulations")
    return theta, x, weights


def _check_hidden(hidden):
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__") or len(list(hidden)) < 1:
        raise TypeError(f"hidden must be a sequence of layer widths such as (64, 64), got {hidden!r}")
    return tuple(_v.count(f"hidden[{i}]", h, minimum=1) for i, h in enumerate(hidden))


def _ratio_logit(est, theta, x):
    z = jnp.concatenate([(theta - est["theta_shift"]) / est["theta_scale"], (x - est["x_shift"]) / est["x_scale"]], -1)
    return mlp(est["net"], z)[..., 0]


def _bce_logits(logit, label):
    return jnp.logaddexp(0.0, logit) - label * logit   # -log sigmoid(logit) for label 1, -log(1 - sigmoid) for 0


@functools.partial(jax.jit, static_argnames=("n_steps",))
def _fit_ratio(est, theta, x, weights, negatives, lr, n_steps):
    def loss_fn(e):
        pos = _bce_logits(_ratio_logit(e, theta, x), 1.0)
        neg = jax.vmap(lambda idx: _bce_logits(_ratio_logit(e, theta[idx], x), 0.0))(negatives).mean(axis=0)
        return jnp.sum(weights * (pos + neg)) / jnp.sum(weights)
    return adam_scan(loss_fn, est, lr=lr, n_steps=n_steps)


def train_ratio_estimator(key, theta, x, *, hidden=(64, 64), n_steps: int = 1000, lr: float = 3e-3,
                          n_negatives: int = 4, weights=None, pad_to=None):
    r"""Neural ratio estimation: train a classifier :math:`d = \sigma(f(\theta, x))` to tell joint pairs
    :math:`(\theta_i, x_i)` (label 1) from pairs with a shuffled parameter :math:`(\theta_{\pi(i)}, x_i)` (label 0),
    by full-batch Adam on the binary cross-entropy. At the optimum :math:`d/(1-d) = p(x\mid\theta)/p(x)`, so the
    logit :math:`f` estimates :math:`\log r(\theta, x)` and :math:`p(\theta\mid x) = r\,p(\theta)`.

    The shuffled parameters are other prior draws; they cost no simulation.

    Args:
      key: a JAX key (initialization and the shuffles).
      theta: float[n, dim_theta] prior draws; x: float[n, dim_x] their simulations (one dtype).
      hidden: widths of the tanh hidden layers.
      n_steps: Adam steps, >= 1.
      lr: peak learning rate (cosine decay), > 0.
      n_negatives: shuffles per simulation, >= 1.
      weights: optional float[n] of 0/1 selecting the simulations used (default: all).
      pad_to: optional pair ``(dim_theta, dim_x)`` >= the data's dimensions: train on ``theta`` and ``x`` padded
        with zero columns to these widths, so that tasks of different dimensions share one compiled program.
        The padded inputs' first-layer weights start at zero and get zero gradients, so the fit is the unpadded
        one up to rounding; the returned estimator has the data's own dimensions.

    Returns:
      ``(estimator, history)``: a dict of arrays for :func:`log_ratio`, and the loss float[n_steps].

    Raises:
      TypeError: bad key, arrays not real or of different dtypes, sizes not integers, ``pad_to`` not a pair.
      ValueError: mismatched shapes, non-finite data, sizes < 1, ``lr`` not > 0, fewer than two simulations
        selected, ``pad_to`` smaller than the data's dimensions.
      ConvergenceError: the loss became inf or nan (lower ``lr``).
    """
    _v.key(key)
    theta, x, weights = _check_training_data(theta, x, weights)
    hidden = _check_hidden(hidden)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    n_negatives = _v.count("n_negatives", n_negatives, minimum=1)
    lr = _v.positive_float("lr", lr)
    k_init, k_perm = jax.random.split(key)
    t_shift, t_scale = _standardize(theta, weights)
    x_shift, x_scale = _standardize(x, weights)
    dt, dx = theta.shape[1], x.shape[1]
    net = init_mlp(k_init, [dt + dx, *hidden, 1], dtype=theta.dtype)
    est = dict(net=net, theta_shift=t_shift, theta_scale=t_scale, x_shift=x_shift, x_scale=x_scale)
    # a random permutation per shuffle, as the argsort of uniforms (compiles several times faster on CPU than
    # jax.random.permutation)
    negatives = jnp.argsort(jax.random.uniform(k_perm, (n_negatives, theta.shape[0])), axis=-1)
    if pad_to is not None:
        pt, px = _check_pad_to(pad_to, dt, dx)
        est, theta, x = _pad_ratio(est, theta, x, pt, px)
    est, history = _fit_ratio(est, theta, x, weights, negatives, jnp.asarray(lr, theta.dtype), n_steps)
    if pad_to is not None:
        est = _unpad_ratio(est, dt, dx)
    require_finite_history("train_ratio_estimator", history, lr)
    return est, history


def _check_pad_to(pad_to, dt, dx):
    if isinstance(pad_to, (str, bytes)) or not hasattr(pad_to, "__len__") or len(pad_to) != 2:
        raise TypeError(f"pad_to must be a pair (dim_theta, dim_x), got {pad_to!r}")
    pt = _v.count("pad_to[0]", pad_to[0], minimum=1)
    px = _v.count("pad_to[1]", pad_to[1], minimum=1)
    if pt < dt or px < dx:
        raise ValueError(f"pad_to must be at least the data's dimensions ({dt}, {dx}), got {tuple(pad_to)}")
    return pt, px


def _pad_ratio(est, theta, x, pt, px):
    # zero columns in the data, zero rows in the first layer, shift 0 and scale 1 for the padding (in NumPy:
    # no compilation per shape)
    dt, dx = theta.shape[1], x.shape[1]
    cols = lambda a, w: jnp.asarray(np.pad(np.asarray(a), [(0, 0), (0, w - a.shape[1])]))
    vec = lambda a, w, fill: jnp.asarray(np.pad(np.asarray(a), (0, w - a.shape[0]), constant_values=fill))
    w1 = np.asarray(est["net"][0][0])
    w1_pad = np.zeros((pt + px, w1.shape[1]), w1.dtype)
    w1_pad[:dt], w1_pad[pt:pt + dx] = w1[:dt], w1[dt:]
    net = [(jnp.asarray(w1_pad), est["net"][0][1]), *est["net"][1:]]
    padded = dict(net=net, theta_shift=vec(est["theta_shift"], pt, 0), theta_scale=vec(est["theta_scale"], pt, 1),
                  x_shift=vec(est["x_shift"], px, 0), x_scale=vec(est["x_scale"], px, 1))
    return padded, cols(theta, pt), cols(x, px)


def _unpad_ratio(est, dt, dx):
    pt = est["theta_shift"].shape[0]
    w1 = np.asarray(est["net"][0][0])
    net = [(jnp.asarray(np.concatenate([w1[:dt], w1[pt:pt + dx]])), est["net"][0][1]), *est["net"][1:]]
    cut = lambda a, n: jnp.asarray(np.asarray(a)[:n])
    return dict(net=net, theta_shift=cut(est["theta_shift"], dt), theta_scale=cut(est["theta_scale"], dt),
                x_shift=cut(est["x_shift"], dx), x_scale=cut(est["x_scale"], dx))


def log_ratio(estimator, theta, x) -> jax.Array:
    r"""The learned :math:`\log r(\theta, x) \approx \log p(x\mid\theta) - \log p(x)`; broadcasts over leading axes.

    Args:
      estimator: the dict from :func:`train_ratio_estimator`.
      theta: float[..., dim_theta]; x: float[..., dim_x] (leading axes broadcast).

    Returns:
      float[...] the log ratio.

    Raises:
      TypeError: ``estimator`` not such a dict.
      ValueError: inputs of the wrong last dimension.
    """
    if not isinstance(estimator, dict) or "net" not in estimator or "theta_shift" not in estimator:
        raise TypeError("estimator must be the dict returned by train_ratio_estimator")
    theta, x = jnp.asarray(theta), jnp.asarray(x)
    dt, dx = estimator["theta_shift"].shape[-1], estimator["x_shift"].shape[-1]
    if theta.shape[-1:] != (dt,) or x.shape[-1:] != (dx,):
        raise ValueError(f"theta must end with dimension {dt} and x with {dx}, got shapes {theta.shape} and {x.shape}")
    shape = jnp.broadcast_shapes(theta.shape[:-1], x.shape[:-1])
    theta = jnp.broadcast_to(theta, (*shape, dt))
    x = jnp.broadcast_to(x, (*shape, dx))
    return _ratio_logit(estimator, theta, x)


def _mdn_parts(est, x):
    d = est["theta_shift"].shape[-1]
    out = mlp(est["net"], (x - est["x_shift"]) / est["x_scale"])
    k = out.shape[-1] // (1 + 2 * d)
    logits = jax.nn.log_softmax(out[..., :k], axis=-1)
    means = out[..., k:k + k * d].reshape(*out.shape[:-1], k, d)
    log_std = jnp.clip(out[..., k + k * d:].reshape(*out.shape[:-1], k, d), -7.0, 5.0)
    return logits, means, log_std


def _mdn_log_prob(est, theta, x):
    logits, means, log_std = _mdn_parts(est, x)
    z = (theta - est["theta_shift"]) / est["theta_scale"]
    comp = -0.5 * jnp.sum(((z[..., None, :] - means) / jnp.exp(log_std)) ** 2 + 2 * log_std + math.log(2 * math.pi), -1)
    return jax.nn.logsumexp(logits + comp, axis=-1) - jnp.sum(jnp.log(est["theta_scale"]))


@functools.partial(jax.jit, static_argnames=("n_steps",))
def _fit_mdn(est, theta, x, weights, lr, n_steps):
    def loss_fn(e):
        return -jnp.sum(weights * _mdn_log_prob(e, theta, x)) / jnp.sum(weights)
    return adam_scan(loss_fn, est, lr=lr, n_steps=n_steps)


def train_posterior_estimator(key, theta, x, *, n_components: int = 3, hidden=(64, 64), n_steps: int = 1000,
                              lr: float = 3e-3, weights=None):
    r"""Neural posterior estimation with a mixture density network: a network maps :math:`x` to the weights, means
    and standard deviations of :math:`K` diagonal Gaussians, :math:`q(\theta\mid x) = \sum_k \pi_k(x)\,
    \mathcal N(\theta; \mu_k(x), \mathrm{diag}\,s_k^2(x))`, trained by maximizing :math:`\sum_i \log q(\theta_i\mid x_i)`
    (full-batch Adam). The minimizer over all conditional densities is the posterior, because
    :math:`\mathbb E_{p(x)}\mathrm{KL}(p(\theta\mid x)\,\|\,q(\theta\mid x))` is the loss up to a constant.

    Args:
      key: a JAX key (initialization).
      theta: float[n, dim_theta] prior draws; x: float[n, dim_x] their simulations (one dtype).
      n_components: :math:`K`, >= 1.
      hidden: widths of the tanh hidden layers.
      n_steps: Adam steps, >= 1.
      lr: peak learning rate (cosine decay), > 0.
      weights: optional float[n] of 0/1 selecting the simulations used (default: all).

    Returns:
      ``(estimator, history)``: a dict of arrays for :func:`mdn_log_prob` and :func:`mdn_sample`, and the loss
      (mean negative log density) float[n_steps].

    Raises:
      TypeError: bad key, arrays not real or of different dtypes, sizes not integers.
      ValueError: mismatched shapes, non-finite data, sizes < 1, ``lr`` not > 0, fewer than two simulations
        selected.
      ConvergenceError: the loss became inf or nan (lower ``lr``).
    """
    _v.key(key)
    theta, x, weights = _check_training_data(theta, x, weights)
    hidden = _check_hidden(hidden)
    n_components = _v.count("n_components", n_components, minimum=1)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    lr = _v.positive_float("lr", lr)
    t_shift, t_scale = _standardize(theta, weights)
    x_shift, x_scale = _standardize(x, weights)
    d = theta.shape[1]
    net = init_mlp(key, [x.shape[1], *hidden, n_components * (1 + 2 * d)], dtype=theta.dtype)
    est = dict(net=net, theta_shift=t_shift, theta_scale=t_scale, x_shift=x_shift, x_scale=x_scale)
    est, history = _fit_mdn(est, theta, x, weights, jnp.asarray(lr, theta.dtype), n_steps)
    require_finite_history("train_posterior_estimator", history, lr)
    return est, history


def _check_mdn(estimator):
    if not isinstance(estimator, dict) or "net" not in estimator or "x_scale" not in estimator:
        raise TypeError("estimator must be the dict returned by train_posterior_estimator")


def mdn_log_prob(estimator, theta, x) -> jax.Array:
    r"""The learned posterior density :math:`\log q(\theta\mid x)`; leading axes of ``theta`` and ``x`` broadcast.

    Args:
      estimator: the dict from :func:`train_posterior_estimator`.
      theta: float[..., dim_theta]; x: float[..., dim_x].

    Returns:
      float[...] the log density.

    Raises:
      TypeError: ``estimator`` not such a dict.
      ValueError: inputs of the wrong last dimension.
    """
    _check_mdn(estimator)
    theta, x = jnp.asarray(theta), jnp.asarray(x)
    dt, dx = estimator["theta_shift"].shape[-1], estimator["x_shift"].shape[-1]
    if theta.shape[-1:] != (dt,) or x.shape[-1:] != (dx,):
        raise ValueError(f"theta must end with dimension {dt} and x with {dx}, got shapes {theta.shape} and {x.shape}")
    return _mdn_log_prob(estimator, theta, x)


@functools.partial(jax.jit, static_argnames=("n_samples",))
def _mdn_sample(key, est, x, n_samples):
    logits, means, log_std = _mdn_parts(est, x)
    k_comp, k_norm = jax.random.split(key)
    comp = jax.random.categorical(k_comp, logits, shape=(n_samples, *logits.shape[:-1]))   # [S, ...]
    mu = jnp.take_along_axis(means[None], comp[..., None, None], axis=-2)[..., 0, :]
    sd = jnp.exp(jnp.take_along_axis(log_std[None], comp[..., None, None], axis=-2)[..., 0, :])
    z = mu + sd * jax.random.normal(k_norm, mu.shape, mu.dtype)
    return jnp.moveaxis(est["theta_shift"] + est["theta_scale"] * z, 0, -2)


def mdn_sample(key, estimator, x, n_samples: int) -> jax.Array:
    r"""Exact samples of the learned posterior :math:`q(\theta\mid x)` (pick a component, then a Gaussian draw).

    Args:
      key: a JAX key.
      estimator: the dict from :func:`train_posterior_estimator`.
      x: float[..., dim_x] observations (any leading batch shape).
      n_samples: samples per observation, >= 1.

    Returns:
      float[..., n_samples, dim_theta].

    Raises:
      TypeError: bad key or estimator, ``n_samples`` not an integer.
      ValueError: ``x`` of the wrong last dimension or not finite, ``n_samples`` < 1.
    """
    _v.key(key)
    _check_mdn(estimator)
    n_samples = _v.count("n_samples", n_samples, minimum=1)
    x = _v.float_array("x", x, finite=True, nonempty=True)
    dx = estimator["x_shift"].shape[-1]
    if x.shape[-1:] != (dx,):
        raise ValueError(f"x must end with dimension {dx}, got shape {x.shape}")
    return _mdn_sample(key, estimator, x.astype(estimator["x_shift"].dtype), n_samples)


# ---------------------------------------------------------------------------------------------- calibration
def sbc_ranks(samples, theta_true) -> np.ndarray:
    r"""Ranks of simulation-based calibration (Talts et al. 2018): for each trial, the number of posterior samples
    below the true parameter, per coordinate. If the posterior is right, every rank is uniform on
    :math:`\{0, \dots, L\}` for :math:`L` samples per trial.

    Args:
      samples: float[n_trials, L, dim] posterior samples, each trial for data simulated from its true parameter.
      theta_true: float[n_trials, dim] the parameters the data were simulated from (drawn from the prior).

    Returns:
      int[n_trials, dim] ranks in 0..L.

    Raises:
      TypeError: inputs not real.
      ValueError: wrong dimensions, mismatched shapes or non-finite entries.
    """
    samples = _v.numpy_array("samples", samples, ndim=3)
    theta_true = _v.numpy_array("theta_true", theta_true, ndim=2)
    if samples.shape[0] != theta_true.shape[0] or samples.shape[2] != theta_true.shape[1]:
        raise ValueError(f"samples [n_trials, L, dim] and theta_true [n_trials, dim] do not match: {samples.shape} and "
                         f"{theta_true.shape}")
    return np.sum(samples < theta_true[:, None, :], axis=1)


def rank_uniformity(ranks, n_samples: int, *, n_bins: int = 10):
    r"""Pearson's :math:`\chi^2` test that SBC ranks are uniform on :math:`\{0,\dots,L\}`, with the ranks grouped into
    ``n_bins`` bins of equal probability (L + 1 must be a multiple of ``n_bins``).

    Args:
      ranks: int[n_trials] or int[n_trials, dim] ranks from :func:`sbc_ranks` (each column tested separately).
      n_samples: :math:`L`, the number of posterior samples per trial.
      n_bins: number of bins, >= 2, dividing L + 1.

    Returns:
      ``(counts, chi2, p_value)``: int[n_bins(, dim)] histogram, and float[(dim)] statistic and p-value with
      ``n_bins - 1`` degrees of freedom.

    Raises:
      TypeError: ``ranks`` not numeric, sizes not integers.
      ValueError: ranks outside 0..L, ``n_bins`` < 2 or not dividing L + 1, fewer than 5 trials per bin expected.
    """
    from scipy import stats

    n_samples = _v.count("n_samples", n_samples, minimum=1)
    n_bins = _v.count("n_bins", n_bins, minimum=2)
    ranks = _v.numpy_array("ranks", ranks)
    if ranks.ndim not in (1, 2):
        raise ValueError(f"ranks must be 1-D or 2-D, got shape {ranks.shape}")
    if np.any(ranks < 0) or np.any(ranks > n_samples) or np.any(ranks != np.round(ranks)):
        raise ValueError(f"ranks must be integers in 0..{n_samples}")
    if (n_samples + 1) % n_bins:
        raise ValueError(f"n_bins must divide n_samples + 1 = {n_samples + 1}, got {n_bins}")
    expected = ranks.shape[0] / n_bins
    if expected < 5:
        raise ValueError(f"too few trials for a chi^2 test: {ranks.shape[0]} trials give {expected:.1f} per bin (need >= 5)")
    width = (n_samples + 1) // n_bins
    bins = (ranks // width).astype(int)
    cols = bins if bins.ndim == 2 else bins[:, None]
    counts = np.stack([np.bincount(c, minlength=n_bins) for c in cols.T], axis=-1)
    chi2 = np.sum((counts - expected) ** 2 / expected, axis=0)
    p = stats.chi2.sf(chi2, n_bins - 1)
    if bins.ndim == 1:
        return counts[:, 0], float(chi2[0]), float(p[0])
    return counts, chi2, p


def credible_coverage(ranks, n_samples: int, levels) -> np.ndarray:
    r"""Empirical coverage of central credible intervals from SBC ranks: the fraction of trials whose true parameter
    lies inside the central interval of probability :math:`\alpha`, i.e. whose rank's centred quantile
    :math:`u = (r + \tfrac12)/(L + 1)` satisfies :math:`|u - \tfrac12| \le \alpha/2` (exactly a fraction :math:`\alpha`
    of the :math:`L + 1` ranks when :math:`\alpha(L + 1)` is an integer). A calibrated posterior gives :math:`\alpha`
    within binomial error.

    Args:
      ranks: int[n_trials(, dim)] ranks from :func:`sbc_ranks`.
      n_samples: :math:`L`.
      levels: float[n_levels] credible levels in (0, 1).

    Returns:
      float[n_levels(, dim)] coverages.

    Raises:
      TypeError: inputs not numeric.
      ValueError: ranks outside 0..L, levels outside (0, 1).
    """
    n_samples = _v.count("n_samples", n_samples, minimum=1)
    ranks = _v.numpy_array("ranks", ranks)
    levels = _v.numpy_array("levels", levels, ndim=1)
    if np.any(ranks < 0) or np.any(ranks > n_samples):
        raise ValueError(f"ranks must lie in 0..{n_samples}")
    if np.any(levels <= 0) or np.any(levels >= 1):
        raise ValueError(f"levels must lie in (0, 1), got {levels}")
    u = (ranks + 0.5) / (n_samples + 1)   # the rank's quantile, centred in its cell
    return np.stack([np.mean(np.abs(u - 0.5) <= a / 2, axis=0) for a in levels])
