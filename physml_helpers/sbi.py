r"""Simulation-based inference: rejection ABC, neural ratio and neural posterior estimation, calibration.

Chapter 11 infers the parameters :math:`\theta` of a simulator :math:`x \sim p(x\mid\theta)` whose likelihood
is treated as unknown. The estimators here learn from pairs :math:`(\theta_i, x_i)` drawn from the prior and the
simulator:

* :func:`rejection_abc` keeps the parameters whose simulations land nearest the observation;
* :func:`train_ratio_estimator` trains a classifier between joint pairs and shuffled pairs, whose logit is
  :math:`\log r(\theta, x) = \log p(x\mid\theta)/p(x)` (the likelihood-ratio trick);
* :func:`train_posterior_estimator` fits a mixture density network :math:`q(\theta\mid x)` by maximum likelihood.

Validation: the Gaussian-linear task of sbibm, whose posterior :func:`gaussian_linear_posterior` is exact, and
simulation-based calibration (:func:`sbc_ranks`, :func:`rank_uniformity`, :func:`credible_coverage`).

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
                          n_negatives: int = 4, weights=None):
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

    Returns:
      ``(estimator, history)``: a dict of arrays for :func:`log_ratio`, and the loss float[n_steps].

    Raises:
      TypeError: bad key, arrays not real or of different dtypes, sizes not integers.
      ValueError: mismatched shapes, non-finite data, sizes < 1, ``lr`` not > 0, fewer than two simulations
        selected.
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
    net = init_mlp(k_init, [theta.shape[1] + x.shape[1], *hidden, 1], dtype=theta.dtype)
    est = dict(net=net, theta_shift=t_shift, theta_scale=t_scale, x_shift=x_shift, x_scale=x_scale)
    # a random permutation per shuffle, as the argsort of uniforms (compiles several times faster on CPU than
    # jax.random.permutation)
    negatives = jnp.argsort(jax.random.uniform(k_perm, (n_negatives, theta.shape[0])), axis=-1)
    est, history = _fit_ratio(est, theta, x, weights, negatives, jnp.asarray(lr, theta.dtype), n_steps)
    require_finite_history("train_ratio_estimator", history, lr)
    return est, history


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
    lies inside the central interval of probability :math:`\alpha`, i.e. whose rank :math:`r` satisfies
    :math:`(1-\alpha)/2 \le r/L \le (1+\alpha)/2` (in quantiles of the L samples). A calibrated posterior gives
    :math:`\alpha` within binomial error.

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
