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
from physml_helpers._kernels import require_finite_history
from physml_helpers.networks import _mlp, _optax_update, adam_scan, init_mlp

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

    Args:
      x: float[...] angles on the ring (radians), any shape; integers are converted to the default float.
      fold: :math:`k`, the order of the rotation symmetry, >= 1.

    Returns:
      float[...] :math:`g(x)`, the shape and dtype of ``x``.

    Raises:
      TypeError: ``x`` not an array of real numbers, ``fold`` not an integer.
      ValueError: ``fold`` < 1; an inf or nan in a concrete ``x``.
    """
    fold = _v.count("fold", fold, minimum=1)
    x = _v.float_array("x", x, finite=True)
    return jnp.exp(2.0 * (jnp.cos(fold * x) - 1.0)) + 0.3 * jnp.exp(1.5 * (jnp.cos(2 * fold * x - 1.0) - 1.0))


def _grid(n_points: int, dtype):
    """The grid angles x_j = 2 pi j / n, float[n_points] in ``dtype``."""
    return 2 * jnp.pi * jnp.arange(n_points, dtype=dtype) / n_points


def translated_profiles(shifts, *, n_points: int = 32, amplitudes=None, fold: int = 1):
    r"""Signals :math:`a_i\,g(x_j - \varepsilon_i)` on ``n_points`` grid points :math:`x_j = 2\pi j/n`.

    Args:
      shifts: float[n] angles :math:`\varepsilon_i` (radians); their dtype sets the output's.
      n_points: grid points on the ring, >= 4.
      amplitudes: float[n] :math:`a_i` (default 1), converted to the dtype of ``shifts``.
      fold: order of the profile's rotation symmetry, >= 1 (see :func:`ring_profile`).

    Returns:
      float[n, n_points] the signals, in the dtype of ``shifts``.

    Raises:
      TypeError: ``shifts`` or ``amplitudes`` not arrays of real numbers, ``n_points`` or ``fold`` not integers.
      ValueError: ``shifts`` not 1-D or empty, ``amplitudes`` not of the shape of ``shifts``, an inf or nan in
        either (when concrete), ``n_points`` < 4, ``fold`` < 1.
    """
    shifts = _v.float_array("shifts", shifts, finite=True, nonempty=True)
    if shifts.ndim != 1:
        raise ValueError(f"shifts must be a 1-D array of angles, got shape {shifts.shape}")
    n_points = _v.count("n_points", n_points, minimum=4)
    if amplitudes is None:
        a = jnp.ones_like(shifts)
    else:
        a = _v.float_array("amplitudes", amplitudes, finite=True).astype(shifts.dtype)
    if a.shape != shifts.shape:
        raise ValueError(f"amplitudes must have the shape of shifts, {shifts.shape}, got {a.shape}")
    grid = _grid(n_points, shifts.dtype)
    return a[:, None] * ring_profile(grid[None, :] - shifts[:, None], fold=fold)


def translation_generator(signals):
    r"""The generator of translations, :math:`G f = -\partial_x f`, by the spectral derivative.

    :math:`\frac{d}{d\varepsilon} f(x - \varepsilon) = -f'(x - \varepsilon)`. Exact (to rounding) for
    signals whose Fourier series on the grid stops below the Nyquist frequency; that mode, which has no
    unambiguous derivative, is set to zero.

    Args:
      signals: float[..., n_points] samples at :math:`x_j = 2\pi j / n`; integers are converted to the
        default float.

    Returns:
      float[..., n_points] :math:`G f`, in the (floating) dtype of ``signals``.

    Raises:
      TypeError: ``signals`` not an array of real numbers.
      ValueError: ``signals`` a scalar or empty; an inf or nan in concrete ``signals``.
    """
    f = _v.float_array("signals", signals, finite=True)
    if f.ndim < 1 or f.size == 0:
        raise ValueError(f"signals must have shape [..., n_points] with n_points >= 1, got {f.shape}")
    n = f.shape[-1]
    k = jnp.arange(n // 2 + 1, dtype=f.dtype)    # the wavenumbers of the rfft, in the signals' precision
    if n % 2 == 0:
        k = k.at[-1].set(0.0)
    ik = jax.lax.complex(jnp.zeros_like(k), k)   # i k, complex64 for float32 signals, complex128 for float64
    return -jnp.fft.irfft(ik * jnp.fft.rfft(f, axis=-1), n=n, axis=-1).astype(f.dtype)


def orbit_frames(key, n_samples: int, *, frame_step: float = 0.05, n_points: int = 32, fold: int = 1,
                 amplitude_range: tuple[float, float] | None = None):
    r"""Short "movies" along the orbit: frames at :math:`\varepsilon - h`, :math:`\varepsilon`,
    :math:`\varepsilon + h` for random :math:`\varepsilon`.

    Args:
      key: JAX random key.
      n_samples: number of movies, >= 1.
      frame_step: the shift :math:`h` between frames (radians), > 0.
      n_points: grid points on the ring, >= 4.
      fold: order of the profile's rotation symmetry, >= 1.
      amplitude_range: ``(low, high)`` with ``0 < low <= high``, to draw a uniform random amplitude per
        movie (default: amplitude 1).

    Returns:
      ``(frames, shifts, amplitudes)``: frames float[3, n_samples, n_points] (before, at, after), the
      angles :math:`\varepsilon` float[n_samples] in :math:`[0, 2\pi)` and the amplitudes float[n_samples],
      all in JAX's default float.

    Raises:
      TypeError: ``key`` not a typed JAX key, counts not integers, numbers of the wrong kind.
      ValueError: ``n_samples`` < 1, ``frame_step`` not > 0, ``n_points`` < 4, ``fold`` < 1,
        ``amplitude_range`` not a pair ``0 < low <= high``.
    """
    _v.key(key)
    n_samples = _v.count("n_samples", n_samples, minimum=1)
    h = _v.positive_float("frame_step", frame_step)
    k_shift, k_amp = jax.random.split(key)
    shifts = jax.random.uniform(k_shift, (n_samples,), maxval=2 * jnp.pi)
    if amplitude_range is None:
        amplitudes = jnp.ones_like(shifts)
    else:
        if isinstance(amplitude_range, (str, bytes)) or not hasattr(amplitude_range, "__len__") \
                or len(amplitude_range) != 2:
            raise ValueError(f"amplitude_range must be a pair (low, high), got {amplitude_range!r}")
        low, high = (_v.positive_float("amplitude_range", v) for v in amplitude_range)
        if low > high:
            raise ValueError(f"amplitude_range must be (low, high) with low <= high, got {amplitude_range!r}")
        amplitudes = jax.random.uniform(k_amp, (n_samples,), shifts.dtype, minval=low, maxval=high)
    frames = jnp.stack([translated_profiles(shifts + d, n_points=n_points, amplitudes=amplitudes, fold=fold)
                        for d in (-h, 0.0, h)])
    return frames, shifts, amplitudes


# ---------------------------------------------------------------------------------------------------
# The autoencoder
# ---------------------------------------------------------------------------------------------------

def init_autoencoder(key, n_in: int, n_latent: int, *, hidden: int = 32, depth: int = 2, dtype=None) -> dict:
    """Parameters of an MLP autoencoder (tanh hidden layers) and of a latent generator matrix.

    Args:
      key: JAX random key.
      n_in: data dimension, >= 1.
      n_latent: latent dimension, >= 1.
      hidden: width of the hidden layers, >= 1.
      depth: hidden layers in each of encoder and decoder, >= 0.
      dtype: floating dtype of every parameter (default: JAX's default float); use the data's dtype.

    Returns:
      ``{"encoder": [(W, b), ...], "decoder": [(W, b), ...], "generator": float[n_latent, n_latent]}``:
      the encoder maps float[..., n_in] to float[..., n_latent], the decoder back (see
      :func:`~physml_helpers.networks.init_mlp`), and the generator :math:`A` starts at zero.

    Raises:
      TypeError: ``key`` not a typed JAX key, sizes not integers, ``dtype`` not floating.
      ValueError: ``n_in``, ``n_latent`` or ``hidden`` < 1, ``depth`` < 0.
    """
    _v.key(key)
    n_in = _v.count("n_in", n_in, minimum=1)
    n_latent = _v.count("n_latent", n_latent, minimum=1)
    hidden = _v.count("hidden", hidden, minimum=1)
    depth = _v.count("depth", depth, minimum=0)
    dtype = _v.float_dtype("dtype", dtype)
    k_enc, k_dec = jax.random.split(key)
    return {
        "encoder": init_mlp(k_enc, [n_in, *[hidden] * depth, n_latent], dtype=dtype),
        "decoder": init_mlp(k_dec, [n_latent, *[hidden] * depth, n_in], dtype=dtype),
        "generator": jnp.zeros((n_latent, n_latent), dtype),
    }


def _network(params, part: str):
    """``params[part]`` of an autoencoder's parameters, or a TypeError naming ``params``."""
    if not isinstance(params, dict) or part not in params:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise TypeError(f"params must be the dict {{'encoder', 'decoder', 'generator'}} made by init_autoencoder or "
                        f"train_autoencoder, got {got}")
    return params[part]


def encode(params: dict, x):
    """Latent codes of signals, :math:`z = E(x)`.

    Args:
      params: from :func:`init_autoencoder` or :func:`train_autoencoder`.
      x: float[..., n_in] signals, in the parameters' dtype (integers are converted to it).

    Returns:
      float[..., n_latent] the latent codes, in the parameters' dtype.

    Raises:
      TypeError: ``params`` not an autoencoder's, or ``x`` not numeric or a floating array of another dtype
        than the parameters (float32 against float64).
      ValueError: the last axis of ``x`` is not n_in (a static check, made under ``jit`` too); an inf or nan in
        a concrete ``x`` or in the parameters.
    """
    return _mlp(_network(params, "encoder"), x, name="x", init="init_autoencoder", pname="params['encoder']")


def decode(params: dict, z):
    """Signals decoded from latent codes, :math:`x = D(z)`.

    Args:
      params: from :func:`init_autoencoder` or :func:`train_autoencoder`.
      z: float[..., n_latent] latent codes, in the parameters' dtype (integers are converted to it).

    Returns:
      float[..., n_in] the decoded signals, in the parameters' dtype.

    Raises:
      TypeError: ``params`` not an autoencoder's, or ``z`` not numeric or a floating array of another dtype
        than the parameters.
      ValueError: the last axis of ``z`` is not n_latent (a static check, made under ``jit`` too); an inf or nan
        in a concrete ``z`` or in the parameters.
    """
    return _mlp(_network(params, "decoder"), z, name="z", init="init_autoencoder", pname="params['decoder']")


def _losses(params, frames, frame_step):
    before, x, after = frames
    z = encode(params, x)
    reconstruction = jnp.mean((decode(params, z) - x) ** 2) / jnp.mean(x**2)
    velocity = (encode(params, after) - encode(params, before)) / (2 * frame_step)
    linear = jnp.mean((velocity - z @ params["generator"].T) ** 2) / jnp.mean(velocity**2)
    return reconstruction, linear


def train_autoencoder(key, frames, *, n_latent: int, frame_step: float, linearity_weight: float = 0.0,
                      n_steps: int = 2000, lr: float = 3e-3, hidden: int = 32, depth: int = 2,
                      gradient_diagnostics: bool = False):
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
      frames: float[3, n, n_points] from :func:`orbit_frames` (before, at, after); their dtype is the
        dtype of the parameters and of the whole computation.
      n_latent: latent dimension, >= 1.
      frame_step: the shift :math:`h` between frames, > 0.
      linearity_weight: :math:`\lambda`, >= 0 (0: a plain autoencoder).
      n_steps: Adam steps, >= 1.
      lr: peak learning rate of the cosine schedule, > 0.
      hidden: width of the hidden layers, >= 1.
      depth: hidden layers in each of encoder and decoder, >= 0.
      gradient_diagnostics: also record, per step, the norm of the loss gradient :math:`\lVert g_t\rVert` and
        the cosine between consecutive gradients, :math:`g_t\cdot g_{t-1}/(\lVert g_t\rVert\lVert g_{t-1}\rVert)`
        (0 at the first step). A cosine near -1 while the gradient grows is the signature of a step-size
        instability: the iterate overshoots back and forth along a sharp direction (chapter 1). Same
        optimizer and schedule; the run is recorded through a separate loop.

    Returns:
      ``(params, history)``: trained parameters (as from :func:`init_autoencoder`, in the dtype of
      ``frames``) and ``history`` float[n_steps, 2] holding the reconstruction and linearity terms before
      each step; with ``gradient_diagnostics``, float[n_steps, 4], the gradient norm and the cosine between
      consecutive gradients in columns 2 and 3.

    Raises:
      ConvergenceError: a loss became inf or nan (the optimizer diverged; lower ``lr``).
      TypeError: ``key`` not a typed JAX key, ``frames`` not numeric, counts not integers, numbers of the
        wrong kind, ``gradient_diagnostics`` not True or False.
      ValueError: ``frames`` not [3, n, n_points] or not finite, ``frame_step`` or ``lr`` not > 0,
        ``linearity_weight`` < 0, ``n_steps``, ``n_latent`` or ``hidden`` < 1, ``depth`` < 0.
    """
    _v.key(key)
    frames = _v.float_array("frames", frames, finite=True)
    if frames.ndim != 3 or frames.shape[0] != 3:
        raise ValueError(f"frames must have shape [3, n_samples, n_points] (before, at, after), got {frames.shape}")
    h = _v.positive_float("frame_step", frame_step)
    weight = _v.positive_float("linearity_weight", linearity_weight, allow_zero=True)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    lr = _v.positive_float("lr", lr)
    gradient_diagnostics = _v.boolean("gradient_diagnostics", gradient_diagnostics)
    dtype = frames.dtype
    params = init_autoencoder(key, frames.shape[-1], n_latent, hidden=hidden, depth=depth, dtype=dtype)
    train = _train_with_gradients if gradient_diagnostics else _train
    params, history = train(params, frames, jnp.asarray(h, dtype), jnp.asarray(weight, dtype),
                            jnp.asarray(lr, dtype), n_steps)
    require_finite_history("train_autoencoder", history, lr)
    return params, history


@functools.partial(jax.jit, static_argnames=("n_steps",))
def _train(params, frames, h, weight, lr, n_steps):
    def objective(p):
        rec, lin = _losses(p, frames, h)
        return rec + weight * lin, jnp.stack([rec, lin])

    return adam_scan(objective, params, lr=lr, n_steps=n_steps, has_aux=True)


@functools.partial(jax.jit, static_argnames=("n_steps",))
def _train_with_gradients(params, frames, h, weight, lr, n_steps):
    """:func:`_train` (the same Adam and cosine schedule as :func:`~physml_helpers.networks.adam_kernel`), also
    recording the gradient norm and the cosine between consecutive gradients."""
    import optax
    from jax.flatten_util import ravel_pytree

    optimizer = optax.adam(optax.cosine_decay_schedule(lr, n_steps))

    def objective(p):
        rec, lin = _losses(p, frames, h)
        return rec + weight * lin, jnp.stack([rec, lin])

    def step(carry, _):
        p, opt_state, g_prev = carry
        (_, terms), grads = jax.value_and_grad(objective, has_aux=True)(p)
        g = ravel_pytree(grads)[0]
        norm, norm_prev = jnp.linalg.norm(g), jnp.linalg.norm(g_prev)
        cosine = jnp.where(norm * norm_prev > 0, (g @ g_prev) / jnp.maximum(norm * norm_prev, jnp.finfo(g.dtype).tiny),
                           jnp.zeros((), g.dtype))
        updates, opt_state = _optax_update(optimizer, grads, opt_state, p)
        return (optax.apply_updates(p, updates), opt_state, g), jnp.concatenate([terms, jnp.stack([norm, cosine])])

    carry = (params, optimizer.init(params), jnp.zeros_like(ravel_pytree(params)[0]))
    (params, _, _), history = jax.lax.scan(step, carry, None, length=n_steps)
    return params, history


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
      z: float[n, d] latent codes.
      z_dot: float[n, d] their velocities along the orbit.

    Returns:
      :class:`GeneratorFit` ``(A, b, residual)``: NumPy float64 ``A`` float[d, d] and ``b`` float[d], and the
      relative residual (a float). The fit is done in float64 whatever the inputs' dtype.

    Raises:
      TypeError: ``z`` or ``z_dot`` not an array of real numbers.
      ValueError: ``z`` not 2-D, ``z_dot`` not of its shape, or no more than d + 1 samples (A and b are
        then not determined); an inf or nan in either; ``z_dot`` all zero (no motion to fit).
    """
    z = _v.numpy_array("z", z, ndim=2)
    z_dot = _v.numpy_array("z_dot", z_dot)
    if z_dot.shape != z.shape:
        raise ValueError(f"z and z_dot must both have shape [n, d], got {z.shape} and {z_dot.shape}")
    if z.shape[0] <= z.shape[1] + 1:
        raise ValueError(f"z must have more samples than d + 1 = {z.shape[1] + 1} to fit A and b, got {z.shape[0]}")
    if not np.any(z_dot):
        raise ValueError("z_dot must not be all zero: the relative residual of a fit to no motion is undefined")
    design = np.column_stack([z, np.ones(len(z))])
    coef, *_ = np.linalg.lstsq(design, z_dot, rcond=None)
    residual = float(np.linalg.norm(z_dot - design @ coef) / np.linalg.norm(z_dot))
    return GeneratorFit(coef[:-1].T, coef[-1], residual)


def latent_velocities(encoder: Callable, x, generator: Callable = translation_generator):
    r"""Exact latent velocities :math:`\dot z = J_E(x)\,G x` by forward-mode differentiation.

    Args:
      encoder: ``x float[n_in] -> z float[d]`` (for example ``functools.partial(encode, params)``).
      x: float[n, n_in] signals.
      generator: the symmetry's generator in data space, ``x -> G x``, float[n, n_in] to float[n, n_in]
        in the dtype of ``x`` (default: :func:`translation_generator`).

    Returns:
      ``(z, z_dot)``, each float[n, d], in the encoder's output dtype.

    Raises:
      TypeError: ``encoder`` or ``generator`` not callable, ``x`` not numeric, or (from :func:`jax.jvp`)
        ``generator`` returning another dtype than ``x``'s.
      ValueError: ``x`` not 2-D or empty, an inf or nan in ``x``, or ``generator(x)`` not of the shape of ``x``;
        ``encoder`` failing on one signal.
    """
    _v.callable_("encoder", encoder)
    _v.callable_("generator", generator)
    x = _v.float_array("x", x, finite=True, nonempty=True)
    if x.ndim != 2:
        raise ValueError(f"x must be a batch of signals [n, n_in], got shape {x.shape}")
    _v.output_shape("generator", generator, x, expected=x.shape, what=" (G x, the shape of x)")
    _v.output_shape("encoder", encoder, x[0], what=" (encoder(x) for one signal x of shape [n_in])")
    tangents = generator(x)
    return jax.vmap(lambda xi, ti: jax.jvp(encoder, (xi,), (ti,)))(x, tangents)


def consistency_residual(decoder: Callable, z, A, b=None, generator: Callable = translation_generator) -> float:
    r"""Does the decoder carry the latent generator to the data-space generator?

    Relative residual :math:`\lVert J_D(z)(Az + b) - G\,D(z)\rVert / \lVert G\,D(z)\rVert` over all
    codes (norms summed over the batch). 0 when decoding commutes with the symmetry,
    :math:`D(e^{\varepsilon A}\cdot z) = T_\varepsilon D(z)`, to first order in :math:`\varepsilon`.

    Args:
      decoder: ``z float[d] -> x float[n_in]``.
      z: float[n, d] latent codes.
      A: float[d, d] the latent generator (converted to the dtype of ``z``).
      b: float[d] the offset (default zero; converted to the dtype of ``z``).
      generator: ``x -> G x`` in data space (default: :func:`translation_generator`).

    Returns:
      The relative residual, a Python float.

    Raises:
      TypeError: ``decoder`` or ``generator`` not callable, ``z``, ``A`` or ``b`` not numeric.
      ValueError: ``z`` not [n, d] with n >= 1, ``A`` not [d, d], ``b`` not [d]; an inf or nan in any of them;
        ``generator`` giving zero on every decoded signal (the relative residual is then undefined).
    """
    _v.callable_("decoder", decoder)
    _v.callable_("generator", generator)
    z = _v.float_array("z", z, finite=True, nonempty=True)
    A = _v.float_array("A", A, finite=True).astype(z.dtype)
    if z.ndim != 2 or A.shape != (z.shape[1], z.shape[1]):
        raise ValueError(f"z must be [n, d] and A [d, d], got {z.shape} and {A.shape}")
    if b is None:
        b = jnp.zeros(z.shape[1], z.dtype)
    else:
        b = _v.float_array("b", b, finite=True).astype(z.dtype)
        if b.shape != (z.shape[1],):
            raise ValueError(f"b must be [d] = [{z.shape[1]}], got {b.shape}")
    velocity = z @ A.T + b
    x, pushed = jax.vmap(lambda zi, vi: jax.jvp(decoder, (zi,), (vi,)))(z, velocity)
    target = generator(x)
    norm = float(jnp.linalg.norm(target))
    if not norm > 0:
        raise ValueError("generator must not vanish on every decoded signal: the relative residual |J_D v - G D(z)| / "
                         f"|G D(z)| is undefined (|G D(z)| = {norm})")
    return float(jnp.linalg.norm(pushed - target) / norm)
