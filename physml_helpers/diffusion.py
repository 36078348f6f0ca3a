r"""Diffusion models as Ornstein–Uhlenbeck processes run backwards (chapter 12).

The forward (noising) process is the overdamped Langevin dynamics of chapter 3 in the potential
:math:`|x|^2/2` at unit temperature, :math:`dx = -x\,dt + \sqrt2\,dW`, whose solution from :math:`x_0` is
:math:`x_t = e^{-t}x_0 + \sqrt{1 - e^{-2t}}\,\xi`. For a Gaussian-mixture target every noised density is again
a Gaussian mixture, so its score :math:`\nabla\log p_t` is exact (:func:`mixture_score`). Samples are made by
integrating backwards either the reverse SDE :math:`dx = [x + 2 s(x, t)]\,d\tau + \sqrt2\,d\bar W` or the
probability-flow ODE :math:`dx = [x + s(x, t)]\,d\tau` (:func:`sample`), with any score
``score_fn(x, t, params)``. :func:`denoising_loss` is the denoising score-matching objective and
:func:`mmd` a two-sample statistic.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from physml_helpers import _validation as _v

__all__ = ["Mixture", "noise_std", "forward_noise", "mixture_log_density", "mixture_score", "mixture_sample",
           "denoising_loss", "sample", "mmd"]


class Mixture(NamedTuple):
    """An isotropic Gaussian mixture: ``means`` float[K, d], ``log_weights`` float[K] (normalized), common
    standard deviation ``std`` float[]."""

    means: jax.Array
    log_weights: jax.Array
    std: jax.Array


def _check_mixture(mixture):
    if not isinstance(mixture, Mixture):
        raise TypeError(f"mixture must be a Mixture(means, log_weights, std), got {type(mixture).__name__}")
    if _v.is_traced(mixture.means):
        return mixture
    means = _v.float_array("mixture.means", mixture.means, ndim=2, finite=True, nonempty=True)
    logw = _v.float_array("mixture.log_weights", mixture.log_weights, ndim=1)
    if logw.shape[0] != means.shape[0]:
        raise ValueError(f"mixture.log_weights must have {means.shape[0]} entries, got {logw.shape[0]}")
    std = _v.positive_float("mixture.std", mixture.std)
    return Mixture(means, logw, jnp.asarray(std, means.dtype))


def noise_std(t):
    r"""Standard deviation :math:`\sqrt{1 - e^{-2t}}` of the noise added by the OU process up to time ``t``.

    Args:
      t: float[...] times, >= 0.

    Returns:
      float[...] of the shape of ``t``.

    Raises:
      TypeError: ``t`` not real.
    """
    t = t if _v.is_traced(t) else _v.float_array("t", t)
    return jnp.sqrt(-jnp.expm1(-2.0 * t))


def forward_noise(key, x0, t):
    r"""Sample :math:`x_t = e^{-t}x_0 + \sqrt{1 - e^{-2t}}\,\xi` exactly (no time steps).

    Args:
      key: a JAX key.
      x0: float[B, d] clean points.
      t: float[] or float[B] times, >= 0.

    Returns:
      ``(x_t, xi)``: float[B, d] noised points and the standard normal noise used.

    Raises:
      TypeError: bad key or arrays.
      ValueError: ``x0`` not 2-D, ``t`` negative.
    """
    _v.key(key)
    x0 = _v.float_array("x0", x0, ndim=2, finite=True)
    t = _v.float_array("t", t)
    if not _v.is_traced(t) and bool(jnp.any(t < 0)):
        raise ValueError("t must be >= 0")
    return _forward(key, x0, jnp.broadcast_to(t, x0.shape[:1]).astype(x0.dtype))


@jax.jit
def _forward(key, x0, t):
    t = t[:, None]
    xi = jax.random.normal(key, x0.shape, x0.dtype)
    return jnp.exp(-t) * x0 + noise_std(t) * xi, xi


def _component_terms(x, t, mixture):
    decay = jnp.exp(-t)
    var = decay**2 * mixture.std**2 + (1.0 - decay**2)
    diff = x[..., None, :] - decay * mixture.means          # [..., K, d]
    d = x.shape[-1]
    log_comp = mixture.log_weights - 0.5 * jnp.sum(diff**2, axis=-1) / var - 0.5 * d * jnp.log(2 * jnp.pi * var)
    return log_comp, diff, var


def mixture_log_density(x, t, mixture: Mixture):
    r"""Log density of the OU-noised mixture at time ``t``: each component
    :math:`\mathcal N(e^{-t}\mu_k, (e^{-2t}s^2 + 1 - e^{-2t})I)`; traceable.

    Args:
      x: float[..., d] points.
      t: float[] time, >= 0 (``t = 0`` is the target).
      mixture: the :class:`Mixture` at ``t = 0``.

    Returns:
      float[...] log densities.

    Raises:
      TypeError: ``mixture`` not a Mixture; ValueError: its arrays inconsistent.
    """
    mixture = _check_mixture(mixture)
    log_comp, _, _ = _component_terms(x, t, mixture)
    return jax.scipy.special.logsumexp(log_comp, axis=-1)


def mixture_score(x, t, mixture: Mixture):
    r"""Exact score :math:`\nabla_x\log p_t(x) = -\sum_k \gamma_k(x)\,(x - e^{-t}\mu_k)/v_t` with the
    responsibilities :math:`\gamma_k` and the common variance :math:`v_t = e^{-2t}s^2 + 1 - e^{-2t}`; traceable.

    Args:
      x: float[..., d]; t: float[] time; mixture: :class:`Mixture`.

    Returns:
      float[..., d] the score.

    Raises:
      TypeError: ``mixture`` not a Mixture; ValueError: its arrays inconsistent.
    """
    mixture = _check_mixture(mixture)
    log_comp, diff, var = _component_terms(x, t, mixture)
    resp = jax.nn.softmax(log_comp, axis=-1)
    return -jnp.sum(resp[..., None] * diff, axis=-2) / var


def mixture_sample(key, mixture: Mixture, n: int):
    """Draw ``n`` exact samples of the mixture.

    Args:
      key: a JAX key; mixture: :class:`Mixture`; n: number of samples, >= 1.

    Returns:
      float[n, d].

    Raises:
      TypeError: bad key or mixture; ValueError: ``n`` < 1.
    """
    _v.key(key)
    mixture = _check_mixture(mixture)
    n = _v.count("n", n, minimum=1)
    return _mixture_sample(key, mixture, n)


@functools.partial(jax.jit, static_argnames=("n",))
def _mixture_sample(key, mixture, n):
    k_c, k_x = jax.random.split(key)
    comp = jax.random.categorical(k_c, mixture.log_weights, shape=(n,))
    noise = jax.random.normal(k_x, (n, mixture.means.shape[1]), mixture.means.dtype)
    return mixture.means[comp] + mixture.std * noise


def denoising_loss(score_fn: Callable, params, key, x0, *, t_min: float, t_max: float):
    r"""Denoising score matching: :math:`\mathbb E\,\lVert \sigma_t s_\theta(x_t, t) + \xi\rVert^2` with
    :math:`t` uniform in ``[t_min, t_max]``; minimized by the exact score (weighting :math:`\sigma_t^2`).
    Traceable (call inside ``jit``; checks are static).

    Args:
      score_fn: ``(x [B, d], t [B], params) -> [B, d]``.
      params: the network's parameters (any pytree).
      key: a JAX key.
      x0: float[B, d] clean data.
      t_min, t_max: 0 < t_min < t_max.

    Returns:
      float[] the Monte Carlo loss.

    Raises:
      TypeError: ``score_fn`` not callable; ValueError: ``t_min``/``t_max`` out of order.
    """
    _v.callable_("score_fn", score_fn)
    if not (0 < t_min < t_max):
        raise ValueError(f"need 0 < t_min < t_max, got t_min={t_min}, t_max={t_max}")
    k_t, k_x = jax.random.split(key)
    t = jax.random.uniform(k_t, x0.shape[:1], x0.dtype, t_min, t_max)
    sigma = noise_std(t)[:, None]
    xi = jax.random.normal(k_x, x0.shape, x0.dtype)
    xt = jnp.exp(-t)[:, None] * x0 + sigma * xi
    return jnp.mean(jnp.sum((sigma * score_fn(xt, t, params) + xi) ** 2, axis=-1))


@functools.partial(jax.jit, static_argnames=("score_fn", "geometric"))
def _sample(score_fn, stochastic, geometric, key, params, x_start, t_max, t_min, n_steps):
    # stochastic is a traced bool: the SDE and the ODE share one compiled program

    def time(i):
        frac = jnp.asarray(i, t_max.dtype) / jnp.asarray(n_steps, t_max.dtype)
        if geometric:
            return t_max * (t_min / t_max) ** frac
        return t_max + (t_min - t_max) * frac

    def body(i, carry):
        x, k = carry
        t, t_next = time(i), time(i + 1)
        h = t - t_next
        s = score_fn(x, jnp.full(x.shape[:1], t, x.dtype), params)
        k_next, sub = jax.random.split(k)
        x_sde = x + h * (x + 2.0 * s) + jnp.sqrt(2.0 * h) * jax.random.normal(sub, x.shape, x.dtype)
        x_ode = x + h * (x + s)
        return jnp.where(stochastic, x_sde, x_ode), jnp.where(stochastic, k_next, k)

    return jax.lax.fori_loop(0, n_steps, body, (x_start, key))[0]


def sample(key, score_fn: Callable, params, x_start, *, t_max: float, t_min: float, n_steps: int,
           method: str = "sde", schedule: str = "geometric"):
    r"""Integrate backwards from ``t_max`` to ``t_min`` in ``n_steps`` Euler(–Maruyama) steps.

    ``method="sde"``: :math:`x \leftarrow x + h(x + 2s) + \sqrt{2h}\,z`; ``"ode"`` (probability flow):
    :math:`x \leftarrow x + h(x + s)`, with :math:`h` the length of the step. The steps are equal in
    :math:`\ln t` (``schedule="geometric"``: short where the score changes fast, near :math:`t = 0`) or in
    :math:`t` (``"uniform"``). ``n_steps``, ``t_max``, ``t_min`` and the method are traced (one compilation per
    ``score_fn`` and schedule).

    Args:
      key: a JAX key (unused by ``"ode"`` but required).
      score_fn: ``(x [B, d], t [B], params) -> [B, d]`` (the same function object reuses the compilation).
      params: pytree passed to ``score_fn``.
      x_start: float[B, d] points drawn from the stationary law N(0, I) (or :math:`p_{t_{max}}`).
      t_max: > t_min; t_min: > 0 for the geometric schedule, >= 0 for the uniform one; n_steps: >= 1;
      method: ``"sde"`` or ``"ode"``; schedule: ``"geometric"`` or ``"uniform"``.

    Returns:
      float[B, d] the samples at ``t_min``.

    Raises:
      TypeError: bad key, ``score_fn`` not callable, arrays not real.
      ValueError: bad shapes or ranges, unknown method or schedule, or a non-finite result.
    """
    _v.key(key)
    _v.callable_("score_fn", score_fn)
    x_start = _v.float_array("x_start", x_start, ndim=2, finite=True, nonempty=True)
    t_max = _v.positive_float("t_max", t_max)
    schedule = _v.choice("schedule", schedule, ("geometric", "uniform"))
    t_min = _v.positive_float("t_min", t_min, allow_zero=schedule == "uniform")
    if t_min >= t_max:
        raise ValueError(f"t_min must be < t_max, got {t_min} >= {t_max}")
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    method = _v.choice("method", method, ("sde", "ode"))
    _v.output_shape("score_fn", score_fn, x_start, jnp.zeros(x_start.shape[:1], x_start.dtype), params,
                    expected=x_start.shape, what=" (the shape of x_start)")
    dtype = x_start.dtype.type
    out = _sample(score_fn, jnp.asarray(method == "sde"), schedule == "geometric", key, params, x_start, dtype(t_max), dtype(t_min),
                  jnp.int32(n_steps))
    if not bool(jnp.all(jnp.isfinite(out))):
        raise ValueError("the samples left the finite numbers: use more steps")
    return out


@jax.jit
def _mmd(x, y, bandwidth):
    def k(a, b):
        d2 = jnp.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)
        return jnp.exp(-d2 / (2 * bandwidth**2))

    n, m = x.shape[0], y.shape[0]
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    sxx = (jnp.sum(kxx) - jnp.trace(kxx)) / (n * (n - 1))
    syy = (jnp.sum(kyy) - jnp.trace(kyy)) / (m * (m - 1))
    return sxx + syy - 2 * jnp.mean(kxy)


def mmd(x, y, *, bandwidth: float):
    r"""Unbiased squared maximum mean discrepancy with a Gaussian kernel of width ``bandwidth``:
    :math:`\mathrm{MMD}^2 = \mathbb E k(x,x') + \mathbb E k(y,y') - 2\mathbb E k(x,y)`, zero in mean when the two
    samples come from one distribution.

    Args:
      x: float[n, d]; y: float[m, d] (n, m >= 2); bandwidth: > 0.

    Returns:
      float[] the estimate (may be slightly negative).

    Raises:
      TypeError: arrays not real; ValueError: shapes, sizes or bandwidth out of range.
    """
    x = _v.float_array("x", x, ndim=2, finite=True)
    y = _v.float_array("y", y, ndim=2, finite=True)
    if x.shape[1] != y.shape[1] or x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError(f"x and y must be [n, d] and [m, d] with n, m >= 2, got {x.shape} and {y.shape}")
    bandwidth = _v.positive_float("bandwidth", bandwidth)
    return _mmd(x, y, x.dtype.type(bandwidth))
