r"""Hidden symmetries in latent spaces (chapter 10): data on a ring, an autoencoder, the latent generator.

The data are "one-dimensional images": a profile sampled at ``n_points`` equally spaced points of a
ring, translated by an angle :math:`\varepsilon`, :math:`f_\varepsilon(x) = a\,g(x - \varepsilon)`. The
translation group acts on data space linearly, with generator :math:`G = -\partial_x`
(:func:`translation_generator`, exact for signals band-limited to the grid).

* :func:`ring_profile`, :func:`translated_profiles`, :func:`orbit_frames`: the data, as single signals
  or as frames of short "movies" along the orbit.
* :func:`init_autoencoder`, :func:`encode`, :func:`decode`, :func:`train_autoencoder`: an MLP
  autoencoder trained with optax, optionally with a term asking that the latent velocity along the
  orbit be linear, :math:`\dot z = A z`, with :math:`A` learned.
* :func:`fit_generator`, :func:`latent_velocities`, :func:`consistency_residual`: the diagnostics. Fit
  :math:`\dot z \approx A z + b` and report the relative residual; carry :math:`A z + b` through the
  decoder's Jacobian and compare with :math:`G` applied to the decoded signal.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v
from physml_helpers.networks import adam_scan, init_mlp, mlp

__all__ = [
    "ring_profile", "translated_profiles", "translation_generator", "orbit_frames",
    "init_autoencoder", "encode", "decode", "train_autoencoder",
    "GeneratorFit", "fit_generator", "latent_velocities", "consistency_residual",
]


# ---------------------------------------------------------------------------------------------------
# Data on a ring
# ---------------------------------------------------------------------------------------------------

def ring_profile(x, *, fold: int = 1):
    r"""The chapter's pattern on the ring: two smooth bumps of different height, width and position,

    :math:`g(x) = e^{2(\cos kx - 1)} + 0.3\,e^{1.5(\cos(2kx - 1) - 1)}` with :math:`k` = ``fold``; no
    reflection symmetry, and a rotation symmetry of order ``fold`` (period :math:`2\pi/k`).
    """
    fold = _v.count("fold", fold, minimum=1)
    x = jnp.asarray(x)
    return jnp.exp(2.0 * (jnp.cos(fold * x) - 1.0)) + 0.3 * jnp.exp(1.5 * (jnp.cos(2 * fold * x - 1.0) - 1.0))


def _grid(n_points: int):
    return 2 * jnp.pi * jnp.arange(n_points) / n_points


def translated_profiles(shifts, *, n_points: int = 32, amplitudes=None, fold: int = 1):
    r"""Signals :math:`a_i\,g(x_j - \varepsilon_i)` on ``n_points`` grid points :math:`x_j = 2\pi j/n`.

    Args:
      shifts: angles :math:`\varepsilon_i`, shape ``[n]``.
      n_points: grid points on the ring, >= 4.
      amplitudes: :math:`a_i`, shape ``[n]`` (default 1).
      fold: order of the profile's rotation symmetry (see :func:`ring_profile`).

    Returns:
      ``[n, n_points]``.
    """
    shifts = _v.float_array("shifts", shifts)
    if shifts.ndim != 1:
        raise ValueError(f"shifts must be a 1-D array of angles, got shape {shifts.shape}")
    n_points = _v.count("n_points", n_points, minimum=4)
    a = jnp.ones_like(shifts) if amplitudes is None else _v.float_array("amplitudes", amplitudes)
    if a.shape != shifts.shape:
        raise ValueError(f"amplitudes must have the shape of shifts, {shifts.shape}, got {a.shape}")
    return a[:, None] * ring_profile(_grid(n_points)[None, :] - shifts[:, None], fold=fold)


def translation_generator(signals):
    r"""The generator of translations, :math:`G f = -\partial_x f`, by the spectral derivative.

    :math:`\frac{d}{d\varepsilon} f(x - \varepsilon) = -f'(x - \varepsilon)`. Exact (to rounding) for
    signals whose Fourier series on the grid stops below the Nyquist frequency; that mode, which has no
    unambiguous derivative, is set to zero.

    Args:
      signals: ``[..., n_points]``, samples at :math:`x_j = 2\pi j / n`.

    Returns:
      ``[..., n_points]``.
    """
    f = jnp.asarray(signals)
    n = f.shape[-1]
    k = jnp.fft.rfftfreq(n, 1.0 / n)
    if n % 2 == 0:
        k = k.at[-1].set(0.0)
    return -jnp.fft.irfft(1j * k * jnp.fft.rfft(f, axis=-1), n=n, axis=-1).astype(f.dtype)


def orbit_frames(key, n_samples: int, *, frame_step: float = 0.05, n_points: int = 32, fold: int = 1,
                 amplitude_range: tuple[float, float] | None = None):
    r"""Short "movies" along the orbit: frames at :math:`\varepsilon - h`, :math:`\varepsilon`,
    :math:`\varepsilon + h` for random :math:`\varepsilon`.

    Args:
      key: JAX random key.
      n_samples: number of movies, >= 1.
      frame_step: the shift :math:`h` between frames, > 0.
      n_points: grid points on the ring.
      fold: order of the profile's rotation symmetry.
      amplitude_range: ``(low, high)`` to draw a random amplitude per movie (default: amplitude 1).

    Returns:
      ``(frames, shifts, amplitudes)``: frames ``[3, n_samples, n_points]`` (before, at, after),
      the angles :math:`\varepsilon` ``[n_samples]`` and the amplitudes ``[n_samples]``.
    """
    _v.key(key)
    n_samples = _v.count("n_samples", n_samples, minimum=1)
    h = _v.positive_float("frame_step", frame_step)
    k_shift, k_amp = jax.random.split(key)
    shifts = jax.random.uniform(k_shift, (n_samples,), maxval=2 * jnp.pi)
    if amplitude_range is None:
        amplitudes = jnp.ones((n_samples,))
    else:
        low, high = (_v.positive_float("amplitude_range", v) for v in amplitude_range)
        amplitudes = jax.random.uniform(k_amp, (n_samples,), minval=low, maxval=high)
    frames = jnp.stack([translated_profiles(shifts + d, n_points=n_points, amplitudes=amplitudes, fold=fold)
                        for d in (-h, 0.0, h)])
    return frames, shifts, amplitudes


# ---------------------------------------------------------------------------------------------------
# The autoencoder
# ---------------------------------------------------------------------------------------------------

def init_autoencoder(key, n_in: int, n_latent: int, *, hidden: int = 32, depth: int = 2) -> dict:
    """Parameters of an MLP autoencoder (tanh hidden layers) and of a latent generator matrix.

    Args:
      key: JAX random key.
      n_in: data dimension; n_latent: latent dimension; hidden: width of hidden layers;
      depth: hidden layers in each of encoder and decoder.

    Returns:
      ``{"encoder": [...], "decoder": [...], "generator": zeros[n_latent, n_latent]}``.
    """
    _v.key(key)
    n_in = _v.count("n_in", n_in, minimum=1)
    n_latent = _v.count("n_latent", n_latent, minimum=1)
    hidden = _v.count("hidden", hidden, minimum=1)
    depth = _v.count("depth", depth, minimum=0)
    k_enc, k_dec = jax.random.split(key)
    return {
        "encoder": init_mlp(k_enc, [n_in, *[hidden] * depth, n_latent]),
        "decoder": init_mlp(k_dec, [n_latent, *[hidden] * depth, n_in]),
        "generator": jnp.zeros((n_latent, n_latent)),
    }


def encode(params: dict, x):
    """Latent codes ``[..., n_latent]`` of signals ``[..., n_in]``."""
    return mlp(params["encoder"], x)


def decode(params: dict, z):
    """Signals ``[..., n_in]`` decoded from latent codes ``[..., n_latent]``."""
    return mlp(params["decoder"], z)


def _losses(params, frames, frame_step):
    before, x, after = frames
    z = encode(params, x)
    reconstruction = jnp.mean((decode(params, z) - x) ** 2) / jnp.mean(x**2)
    velocity = (encode(params, after) - encode(params, before)) / (2 * frame_step)
    linear = jnp.mean((velocity - z @ params["generator"].T) ** 2) / jnp.mean(velocity**2)
    return reconstruction, linear


def train_autoencoder(key, frames, *, n_latent: int, frame_step: float, linearity_weight: float = 0.0,
                      n_steps: int = 2000, lr: float = 3e-3, hidden: int = 32, depth: int = 2):
    r"""Train an autoencoder on the middle frames, full batch, with Adam and a cosine-decaying step.

    The loss is the relative reconstruction error
    :math:`\langle\lVert D(E(x)) - x\rVert^2\rangle / \langle\lVert x\rVert^2\rangle`, plus, with
    ``linearity_weight`` :math:`\lambda > 0`, :math:`\lambda` times the relative misfit of the latent
    velocity to a linear law, :math:`\langle\lVert \dot z - A z\rVert^2\rangle / \langle\lVert\dot z\rVert^2\rangle`,
    with :math:`\dot z = (E(x_{+}) - E(x_{-}))/2h` from the neighbouring frames and :math:`A` learned with
    the networks. Nothing about the symmetry is used beyond the frames themselves. The whole loop is one
    :func:`jax.lax.scan`.

    Args:
      key: JAX random key (initialization).
      frames: ``[3, n, n_points]`` from :func:`orbit_frames`.
      n_latent: latent dimension, >= 1.
      frame_step: the shift :math:`h` between frames.
      linearity_weight: :math:`\lambda`, >= 0 (0: a plain autoencoder).
      n_steps, lr, hidden, depth: optimization and network sizes.

    Returns:
      ``(params, history)``: trained parameters and ``history`` of shape ``[n_steps, 2]`` holding the
      reconstruction and linearity terms at each step.
    """
    frames = _v.float_array("frames", frames)
    if frames.ndim != 3 or frames.shape[0] != 3:
        raise ValueError(f"frames must have shape [3, n_samples, n_points] (before, at, after), got {frames.shape}")
    h = _v.positive_float("frame_step", frame_step)
    weight = _v.positive_float("linearity_weight", linearity_weight, allow_zero=True)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    lr = _v.positive_float("lr", lr)
    params = init_autoencoder(key, frames.shape[-1], n_latent, hidden=hidden, depth=depth)
    params = jax.tree_util.tree_map(lambda p: p.astype(frames.dtype), params)
    dtype = frames.dtype
    return _train(params, frames, jnp.asarray(h, dtype), jnp.asarray(weight, dtype), jnp.asarray(lr, dtype), n_steps)


@functools.partial(jax.jit, static_argnames=("n_steps",))
def _train(params, frames, h, weight, lr, n_steps):
    def objective(p):
        rec, lin = _losses(p, frames, h)
        return rec + weight * lin, jnp.stack([rec, lin])

    return adam_scan(objective, params, lr=lr, n_steps=n_steps, has_aux=True)


# ---------------------------------------------------------------------------------------------------
# Diagnostics
# ---------------------------------------------------------------------------------------------------

class GeneratorFit(NamedTuple):
    """Least-squares fit :math:`\\dot z \\approx A z + b` and its relative residual."""

    A: np.ndarray
    b: np.ndarray
    residual: float


def fit_generator(z, z_dot) -> GeneratorFit:
    r"""Fit the latent velocity by an affine law, :math:`\dot z \approx A z + b`, by least squares.

    A linear action of a one-parameter group moves :math:`z` by :math:`\dot z = A(z - z_0)`; the offset
    :math:`b = -A z_0` allows the orbit to be centred anywhere. The residual is
    :math:`\lVert \dot Z - Z A^\top - b\rVert_F / \lVert \dot Z\rVert_F`: 0 for an exactly linear action,
    about 1 when the law explains nothing.

    Args:
      z: latent codes ``[n, d]``; z_dot: their velocities along the orbit ``[n, d]``.

    Returns:
      :class:`GeneratorFit` ``(A [d, d], b [d], residual)``.
    """
    z = np.asarray(z, dtype=float)
    z_dot = np.asarray(z_dot, dtype=float)
    if z.ndim != 2 or z_dot.shape != z.shape:
        raise ValueError(f"z and z_dot must both have shape [n, d], got {z.shape} and {z_dot.shape}")
    if z.shape[0] <= z.shape[1] + 1:
        raise ValueError(f"need more samples than d + 1 = {z.shape[1] + 1} to fit A and b, got {z.shape[0]}")
    design = np.column_stack([z, np.ones(len(z))])
    coef, *_ = np.linalg.lstsq(design, z_dot, rcond=None)
    residual = float(np.linalg.norm(z_dot - design @ coef) / np.linalg.norm(z_dot))
    return GeneratorFit(coef[:-1].T, coef[-1], residual)


def latent_velocities(encoder: Callable, x, generator: Callable = translation_generator):
    r"""Exact latent velocities :math:`\dot z = J_E(x)\,G x` by forward-mode differentiation.

    Args:
      encoder: ``x [n_in] -> z [d]`` (for example ``functools.partial(encode, params)``).
      x: signals ``[n, n_in]``.
      generator: the symmetry's generator in data space, ``x -> G x``.

    Returns:
      ``(z, z_dot)``, each ``[n, d]``.
    """
    _v.callable_("encoder", encoder)
    _v.callable_("generator", generator)
    x = _v.float_array("x", x)
    tangents = generator(x)
    return jax.vmap(lambda xi, ti: jax.jvp(encoder, (xi,), (ti,)))(x, tangents)


def consistency_residual(decoder: Callable, z, A, b=None, generator: Callable = translation_generator) -> float:
    r"""Does the decoder carry the latent generator to the data-space generator?

    Relative residual :math:`\lVert J_D(z)(Az + b) - G\,D(z)\rVert / \lVert G\,D(z)\rVert` over all
    codes (norms summed over the batch). 0 when decoding commutes with the symmetry,
    :math:`D(e^{\varepsilon A}\cdot z) = T_\varepsilon D(z)`, to first order in :math:`\varepsilon`.

    Args:
      decoder: ``z [d] -> x [n_in]``.
      z: latent codes ``[n, d]``.
      A: ``[d, d]``; b: ``[d]`` (default zero).
      generator: ``x -> G x`` in data space.

    Returns:
      The relative residual, a float.
    """
    _v.callable_("decoder", decoder)
    _v.callable_("generator", generator)
    z = _v.float_array("z", z)
    A = jnp.asarray(A, z.dtype)
    if z.ndim != 2 or A.shape != (z.shape[1], z.shape[1]):
        raise ValueError(f"z must be [n, d] and A [d, d], got {z.shape} and {A.shape}")
    b = jnp.zeros(z.shape[1], z.dtype) if b is None else jnp.asarray(b, z.dtype)
    velocity = z @ A.T + b
    x, pushed = jax.vmap(lambda zi, vi: jax.jvp(decoder, (zi,), (vi,)))(z, velocity)
    target = generator(x)
    return float(jnp.linalg.norm(pushed - target) / jnp.linalg.norm(target))
