r"""Two-dimensional U(1) lattice gauge theory (chapter 15).

Links are stored as angles ``theta`` of shape ``[2, L, L]``: ``theta[mu][x]`` is the angle of the link
from site ``x`` to ``x + e_mu``, with ``e_0`` along array axis 0 and ``e_1`` along axis 1, and periodic
boundaries. The link variable is :math:`U_\mu(x) = e^{i\theta_\mu(x)}`.

* :func:`plaquette_angles`: :math:`\theta_P(x) = \theta_0(x) + \theta_1(x + e_0) - \theta_0(x + e_1) - \theta_1(x)`.
* :func:`gauge_transform`: :math:`\theta'_\mu(x) = \theta_\mu(x) + \alpha(x) - \alpha(x + e_\mu)`.
* :func:`average_plaquette`: the mean of :math:`\cos\theta_P`; :func:`exact_average_plaquette`: its exact
  expectation, in infinite volume or on a finite torus.
* :func:`metropolis_kernel`, :func:`metropolis`: local Metropolis updates for the Wilson action
  :math:`S = -\beta\sum_P \cos\theta_P`, vectorized over the links that share no plaquette, as an
  ``(init, step)`` pair and as a run of many sweeps.
* :func:`wilson_loop_angles`: square Wilson loops; :func:`axial_gauge`: a gauge-fixed copy of the links.
* :func:`init_lcnn`, :func:`lcnn_apply`: a lattice gauge-equivariant network (U(1) case);
  :func:`init_cnn`, :func:`cnn_apply`: a plain CNN on the links or on the plaquettes, for comparison.
* :func:`integrated_autocorrelation_time`: :math:`\tau_{\rm int}` of a Monte Carlo time series, for error bars.
* :func:`random_su2`, :func:`su2_gauge_transform`, :func:`su2_wilson_loop`: SU(2) links, their gauge
  transformations and square Wilson loops as ordered matrix products (non-commuting parallel transport).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v
from physml_helpers._kernels import Kernel, scan_kernel

__all__ = [
    "plaquette_angles", "gauge_transform", "average_plaquette", "exact_average_plaquette",
    "WilsonState", "WilsonInfo", "metropolis_kernel", "metropolis", "wilson_loop_angles",
    "init_lcnn", "lcnn_apply", "init_cnn", "cnn_apply", "sample_configurations", "axial_gauge", "LCNN_OFFSETS",
    "AutocorrelationTime", "integrated_autocorrelation_time", "random_su2", "su2_gauge_transform", "su2_wilson_loop",
]


def _links(name: str, theta):
    theta = _v.float_array(name, theta, finite=True)
    if theta.ndim != 3 or theta.shape[0] != 2 or theta.shape[1] != theta.shape[2] or theta.shape[1] < 2:
        batch = "; use jax.vmap for a batch of configurations" if theta.ndim == 4 else ""
        raise ValueError(f"{name} must have shape [2, L, L] with L >= 2, got {theta.shape}{batch}")
    return theta


def _shift(a, mu):
    """a(x + e_mu) on the periodic lattice."""
    return jnp.roll(a, -1, axis=mu)


def _plaquettes(theta):
    return theta[0] + _shift(theta[1], 0) - _shift(theta[0], 1) - theta[1]


def plaquette_angles(theta):
    r"""Plaquette angles :math:`\theta_P(x)`, shape ``[L, L]``, for the plaquette with lower-left corner ``x``.

    Args:
      theta: float[2, L, L] link angles (radians), L >= 2.

    Returns:
      float[L, L] in the dtype of ``theta``, not reduced modulo :math:`2\pi` (only :math:`e^{i\theta_P}`
      is physical).

    Raises:
      TypeError: ``theta`` not an array of real numbers.
      ValueError: ``theta`` not of shape [2, L, L] with L >= 2, or (when concrete) with an inf or nan.
    """
    return _plaquettes(_links("theta", theta))


def gauge_transform(theta, alpha):
    r"""Apply the gauge transformation :math:`\theta'_\mu(x) = \theta_\mu(x) + \alpha(x) - \alpha(x + e_\mu)`.

    Args:
      theta: float[2, L, L] link angles (radians), L >= 2.
      alpha: float[L, L] one angle per site (converted to the dtype of ``theta``).

    Returns:
      float[2, L, L] the transformed link angles, in the dtype of ``theta``.

    Raises:
      TypeError: ``theta`` or ``alpha`` not arrays of real numbers.
      ValueError: ``theta`` not [2, L, L] with L >= 2, ``alpha`` not [L, L]; an inf or nan in either (when
        concrete).
    """
    theta = _links("theta", theta)
    alpha = _v.float_array("alpha", alpha, finite=True).astype(theta.dtype)
    if alpha.shape != theta.shape[1:]:
        raise ValueError(f"alpha must have one angle per site, shape {theta.shape[1:]}, got {alpha.shape}")
    return jnp.stack([theta[mu] + alpha - _shift(alpha, mu) for mu in (0, 1)])


def average_plaquette(theta):
    r"""The average plaquette :math:`\langle\cos\theta_P\rangle` over the lattice.

    Args:
      theta: float[2, L, L] link angles (radians), L >= 2.

    Returns:
      float[] the mean of :math:`\cos\theta_P` over the :math:`L^2` plaquettes, in the dtype of ``theta``.

    Raises:
      TypeError: ``theta`` not an array of real numbers.
      ValueError: ``theta`` not of shape [2, L, L] with L >= 2, or (when concrete) with an inf or nan.
    """
    return jnp.mean(jnp.cos(_plaquettes(_links("theta", theta))))


def exact_average_plaquette(beta: float, *, n_plaquettes: int | None = None) -> float:
    r"""The exact expectation of :math:`\cos\theta_P` for the two-dimensional U(1) Wilson action.

    With the character expansion :math:`e^{\beta\cos\theta} = \sum_n I_n(\beta)\, e^{in\theta}`, the
    integral over every link of a periodic lattice with :math:`V` plaquettes forces all plaquettes into the
    same representation :math:`n`, so :math:`Z \propto \sum_n I_n(\beta)^V` and

    .. math:: \langle\cos\theta_P\rangle = \frac{\sum_n I_n^{V-1}\,(I_{n-1} + I_{n+1})/2}{\sum_n I_n^V},

    which tends to :math:`I_1(\beta)/I_0(\beta)` as :math:`V \to \infty`.

    Args:
      beta: inverse coupling, > 0.
      n_plaquettes: number of plaquettes :math:`V` of the torus (``L * L``), >= 1, or ``None`` for infinite
        volume.

    Returns:
      The exact :math:`\langle\cos\theta_P\rangle`, a Python float (computed in float64 with SciPy).

    Raises:
      TypeError: ``beta`` not a number, ``n_plaquettes`` not an integer.
      ValueError: ``beta`` not a finite number > 0, ``n_plaquettes`` < 1.
    """
    from scipy.special import ive

    beta = _v.positive_float("beta", beta)
    if n_plaquettes is None:
        return float(ive(1, beta) / ive(0, beta))
    volume = _v.count("n_plaquettes", n_plaquettes, minimum=1)
    n = np.arange(-int(4 * beta) - 40, int(4 * beta) + 41)
    ratio = ive(n, beta) / ive(0, beta)   # I_n / I_0 in (0, 1], so the powers cannot overflow
    derivative = 0.5 * (ive(n - 1, beta) + ive(n + 1, beta)) / ive(0, beta)
    return float(np.sum(ratio ** (volume - 1) * derivative) / np.sum(ratio ** volume))


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


class WilsonState(NamedTuple):
    """State of :func:`metropolis_kernel`: the link angles ``theta`` float[2, L, L]."""

    theta: jax.Array


class WilsonInfo(NamedTuple):
    """What one Metropolis sweep of the Wilson action did: ``acceptance`` (float[]), the fraction of links
    whose proposal was accepted, and ``plaquette`` (float[]), the average plaquette after the sweep."""

    acceptance: jax.Array
    plaquette: jax.Array


@jax.jit
def _wilson_sweep(key, state: WilsonState, beta, step_size):
    theta = state.theta
    L = theta.shape[1]
    parity = jnp.arange(L) % 2
    keys = jax.random.split(key, 4)
    accepted = 0
    for i, (mu, par) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        nu = 1 - mu
        mask = parity[None, :] == par if nu == 1 else parity[:, None] == par
        k_prop, k_acc = jax.random.split(keys[i])
        shift = jax.random.uniform(k_prop, (L, L), minval=-1.0, maxval=1.0, dtype=theta.dtype)
        proposal = theta[mu] + step_size * shift
        d_s = _local_action_change(theta, mu, jnp.where(mask, proposal, theta[mu]), beta)
        accept = mask & (jax.random.uniform(k_acc, (L, L), dtype=theta.dtype) < jnp.exp(-d_s))
        theta = theta.at[mu].set(jnp.where(accept, proposal, theta[mu]))
        accepted = accepted + jnp.sum(accept)
    acceptance = (accepted / (2 * L * L)).astype(theta.dtype)
    return WilsonState(theta), WilsonInfo(acceptance, jnp.mean(jnp.cos(_plaquettes(theta))))


def _check_sampler(size_name, size, beta, step_size):
    """Check the arguments shared by :func:`metropolis_kernel`, :func:`metropolis` and
    :func:`sample_configurations`."""
    if size % 2:
        raise ValueError(f"{size_name} must be even for the checkerboard updates, got {size}")
    return _v.positive_float("beta", beta), _v.positive_float("step_size", step_size)


def metropolis_kernel(*, beta: float, step_size: float = 1.5) -> Kernel:
    r"""Metropolis sampling of the Wilson action :math:`S = -\beta\sum_P\cos\theta_P` as an ``(init, step)``
    pair; one step is one sweep over all links.

    A sweep proposes :math:`\theta \to \theta + \delta`, :math:`\delta` uniform in
    [``-step_size``, ``step_size``], once for every link, and accepts with probability
    :math:`\min(1, e^{-\Delta S})`. Links of one direction whose sites have the same parity across that
    direction share no plaquette, so each of the four such sets is updated at once.

    Args:
      beta: inverse coupling, > 0 (traced: changing it does not recompile).
      step_size: half-width of the proposal, > 0.

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(theta) -> WilsonState`` (``theta`` float[2, L, L], L even)
      and ``step(key, state) -> (WilsonState, WilsonInfo)``.

    Raises:
      TypeError: ``beta`` or ``step_size`` not numbers; (from ``init``) ``theta`` not numeric; (from
        ``step``) ``key`` not a typed JAX key.
      ValueError: ``beta`` or ``step_size`` not > 0; (from ``init``) ``theta`` not [2, L, L] with even L, or
        with an inf or nan; (from ``step``) a batch of keys.
    """
    beta = _v.positive_float("beta", beta)
    step_size = _v.positive_float("step_size", step_size)

    def init(theta) -> WilsonState:
        theta = _links("theta", theta)
        _check_sampler("the lattice size L of theta", theta.shape[1], beta, step_size)
        return WilsonState(theta)

    def step(key, state: WilsonState):
        _v.key(key)
        return _wilson_sweep(key, state, beta, step_size)

    return Kernel(init, step)


@functools.partial(jax.jit, static_argnames=("n_sweeps",))
def _run_sweeps(key, theta, beta, step_size, n_sweeps):
    sweep = functools.partial(_wilson_sweep, beta=beta, step_size=step_size)
    state, _, infos = scan_kernel(sweep, WilsonState(theta), n_sweeps, key, record=lambda s: None)
    return state, infos


def metropolis(key, theta, *, beta: float, n_sweeps: int, step_size: float = 1.5):
    r"""Metropolis sampling of the Wilson action :math:`S = -\beta\sum_P\cos\theta_P`: ``n_sweeps`` sweeps of
    :func:`metropolis_kernel` from the links ``theta``, in one ``lax.scan``.

    Args:
      key: JAX random key.
      theta: initial link angles float[2, L, L] with even ``L``.
      beta: inverse coupling, > 0.
      n_sweeps: number of sweeps, >= 1.
      step_size: half-width of the proposal, > 0.

    Returns:
      ``(state, info)``: the final :class:`WilsonState` (``state.theta`` float[2, L, L]) and the
      :class:`WilsonInfo` of every sweep (``info.plaquette`` and ``info.acceptance``, float[n_sweeps]).

    Raises:
      TypeError: ``key`` not a typed JAX key, numbers of the wrong kind, ``theta`` not numeric.
      ValueError: ``theta`` not [2, L, L] with even L or with an inf or nan, ``beta`` or ``step_size`` not > 0,
        ``n_sweeps`` < 1, a batch of keys.
    """
    _v.key(key)
    kernel = metropolis_kernel(beta=beta, step_size=step_size)
    state = kernel.init(theta)
    n_sweeps = _v.count("n_sweeps", n_sweeps, minimum=1)
    return _run_sweeps(key, state.theta, beta, step_size, n_sweeps)


# ---------------------------------------------------------------------------------------------------
# Wilson loops and networks
# ---------------------------------------------------------------------------------------------------

def wilson_loop_angles(theta, size: int):
    r"""Angles of the ``size`` × ``size`` Wilson loops with lower-left corner at every site, ``[L, L]``.

    The loop runs ``size`` links along :math:`e_0`, ``size`` along :math:`e_1`, back along :math:`-e_0`
    and :math:`-e_1`; its angle is the sum of the link angles along the path, which for an abelian group
    equals the sum of the enclosed plaquette angles (the lattice Stokes theorem). Gauge invariant.

    Args:
      theta: float[2, L, L] link angles (radians), L >= 2.
      size: the side R of the loop in lattice units, 1 <= R < L.

    Returns:
      float[L, L] the loop angles, in the dtype of ``theta``, not reduced modulo :math:`2\pi`.

    Raises:
      TypeError: ``theta`` not an array of real numbers, ``size`` not an integer.
      ValueError: ``theta`` not [2, L, L] with L >= 2 or with an inf or nan; ``size`` < 1, or ``size`` >= L (the
        loop would wrap around the torus and no longer enclose a square).
    """
    theta = _links("theta", theta)
    size = _v.count("size", size, minimum=1)
    L = theta.shape[1]
    if size >= L:
        raise ValueError(
            f"size must be smaller than the lattice size L = {L}, got {size}: a loop of side >= L wraps around "
            "the periodic lattice; use a larger lattice or a smaller loop"
        )
    total = jnp.zeros_like(theta[0])
    for k in range(size):
        total = total + jnp.roll(theta[0], -k, axis=0)                                   # bottom edge, +e0
        total = total + jnp.roll(jnp.roll(theta[1], -size, axis=0), -k, axis=1)          # right edge, +e1
        total = total - jnp.roll(jnp.roll(theta[0], -k, axis=0), -size, axis=1)          # top edge, -e0
        total = total - jnp.roll(theta[1], -k, axis=1)                                   # left edge, -e1
    return total


_OFFSETS = [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)]
LCNN_OFFSETS = tuple(_OFFSETS)
"""The offsets ``(y0, y1)`` of the L-CNN's convolution window, in the order of the last axis of its ``conv``
weights: ``params["conv"][part, out_channel, input, k]`` multiplies the input field at ``x + LCNN_OFFSETS[k]``,
with ``part`` 0 (real) or 1 (imaginary) and ``input`` 0 (the plaquette field) or 1 (its conjugate)."""


def _shifted(field, offset):
    """field(x + offset) on the periodic lattice; field [..., L, L]."""
    return jnp.roll(field, (-offset[0], -offset[1]), axis=(-2, -1))


def init_lcnn(key, channels=(8, 6, 4), *, scale: float = 0.3, dtype=None):
    r"""Parameters of a small lattice gauge-equivariant network for U(1): one gauge-covariant convolution
    of the plaquette field followed by bilinear layers, then a trace (real part) and a linear readout.

    ``channels[0]`` is the width of the convolution, each later entry the width of a bilinear layer.
    Weights are normal with standard deviation ``scale`` divided by the square root of the number of
    inputs of a convolution or readout, or by the number of factors of a bilinear layer, so that every
    layer's output starts of order one.

    Args:
      key: JAX random key.
      channels: layer widths ``(C0, C1, ..., Ck)``, each >= 1: C0 channels out of the convolution, then one
        bilinear layer per later entry.
      scale: overall size of the initial weights, > 0.
      dtype: floating dtype of the parameters (default: JAX's default float); use the links' dtype.

    Returns:
      ``{"conv": float[2, C0, 2, 9], "bilinear": [float[2, C_l, C_{l-1} + 1, C_{l-1} + 1], ...],
      "readout": float[Ck + 1]}``, laid out as described in :func:`lcnn_apply`.

    Raises:
      TypeError: ``key`` not a typed JAX key, a width not an integer, ``scale`` not a number, ``dtype`` not
        floating.
      ValueError: ``channels`` empty or not a sequence, a width < 1, ``scale`` not > 0.
    """
    _v.key(key)
    if isinstance(channels, (str, bytes)) or not hasattr(channels, "__len__") or len(channels) < 1:
        raise ValueError(f"channels must be a non-empty sequence of layer widths, got {channels!r}")
    widths = [_v.count("channels", c, minimum=1) for c in channels]
    scale = _v.positive_float("scale", scale)
    dtype = _v.float_dtype("dtype", dtype)
    n_conv_inputs = 2 * len(_OFFSETS)
    shapes = [(2, widths[0], 2, len(_OFFSETS))]
    stds = [scale / n_conv_inputs**0.5]
    for previous, width in zip(widths[:-1], widths[1:]):
        shapes.append((2, width, previous + 1, previous + 1))
        stds.append(scale / (previous + 1))
    shapes.append((widths[-1] + 1,))
    stds.append(scale / (widths[-1] + 1) ** 0.5)
    conv, *bilinear, readout = _normal_arrays(key, shapes, stds, dtype)
    params = {"conv": conv, "bilinear": bilinear, "readout": readout}
    return params


def _normal_arrays(key, shapes, stds, dtype):
    """Independent normal arrays of the given shapes and standard deviations, in ``dtype``, from one draw
    (one compiled sampler instead of one per shape)."""
    sizes = [int(np.prod(shape)) for shape in shapes]
    flat = jax.random.normal(key, (sum(sizes),), dtype)
    pieces = jnp.split(flat, np.cumsum(sizes)[:-1])
    return [std * piece.reshape(shape) for piece, shape, std in zip(pieces, shapes, stds)]


def _complex(pair):
    """A complex array from its real and imaginary parts ``pair[0]``, ``pair[1]`` (complex64 from float32,
    complex128 from float64)."""
    return jax.lax.complex(pair[0], pair[1])


def _check_lcnn_params(params) -> None:
    """Static checks (valid under jit) that ``params`` has the layout of :func:`init_lcnn`, widths chaining."""
    if not isinstance(params, dict) or not all(k in params for k in ("conv", "bilinear", "readout")):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise TypeError(f"params must be the dict {{'conv', 'bilinear', 'readout'}} made by init_lcnn, got {got}")
    conv, bilinear, readout = params["conv"], params["bilinear"], params["readout"]
    if not isinstance(bilinear, (list, tuple)):
        raise TypeError(f"params['bilinear'] must be a list of arrays (one per bilinear layer), got "
                        f"{type(bilinear).__name__}")
    for name, a in [("params['conv']", conv), ("params['readout']", readout)] + \
            [(f"params['bilinear'][{i}]", b) for i, b in enumerate(bilinear)]:
        if not (hasattr(a, "shape") and hasattr(a, "dtype")):
            raise TypeError(f"{name} must be an array, got {type(a).__name__}")
    if len(conv.shape) != 4 or conv.shape[0] != 2 or conv.shape[2] != 2 or conv.shape[3] != len(_OFFSETS):
        raise ValueError(f"params['conv'] must have shape [2, C0, 2, {len(_OFFSETS)}] (see init_lcnn), got "
                         f"{tuple(conv.shape)}")
    width = conv.shape[1]
    for i, layer in enumerate(bilinear):
        if len(layer.shape) != 4 or layer.shape[0] != 2 or layer.shape[2:] != (width + 1, width + 1):
            raise ValueError(
                f"params['bilinear'][{i}] must have shape [2, C_out, {width + 1}, {width + 1}] to follow a layer of "
                f"{width} channels, got {tuple(layer.shape)}: the layer widths of params do not chain; build them "
                "with init_lcnn"
            )
        width = layer.shape[1]
    if tuple(readout.shape) != (width + 1,):
        raise ValueError(f"params['readout'] must have shape ({width + 1},) for a last layer of {width} channels, got "
                         f"{tuple(readout.shape)}")


def _check_cnn_params(params) -> list:
    """Static checks (valid under jit) that ``params`` has the layout of :func:`init_cnn`; returns the offsets."""
    if not isinstance(params, (list, tuple)) or not params or not all(
            isinstance(layer, (list, tuple)) and len(layer) == 2 and all(hasattr(a, "shape") for a in layer)
            for layer in params):
        raise TypeError(f"params must be the list of (W, b) pairs made by init_cnn, got {type(params).__name__}")
    n_offsets = params[0][0].shape[-1] if len(params[0][0].shape) == 3 else None
    if n_offsets not in (len(_KERNELS[2]), len(_KERNELS[3])) or params[0][0].shape[1] not in _CNN_INPUTS.values():
        raise ValueError(f"params[0][0] must have shape [C_out, 4 or 2, 4 or 9] (see init_cnn), got "
                         f"{tuple(params[0][0].shape)}")
    width = params[0][0].shape[1]
    for i, (w, b) in enumerate(params):
        if len(w.shape) != 3 or w.shape[1] != width or w.shape[2] != n_offsets or tuple(b.shape) != (w.shape[0],):
            raise ValueError(
                f"params[{i}] must be (W [C_out, {width}, {n_offsets}], b [C_out]) to follow a layer of {width} "
                f"channels, got W {tuple(w.shape)} and b {tuple(b.shape)}: the layer widths of params do not chain; "
                "build them with init_cnn"
            )
        width = w.shape[0]
    if width != 1:
        raise ValueError(f"params must end in one output channel (as made by init_cnn), got {width}")
    return _KERNELS[2] if n_offsets == len(_KERNELS[2]) else _KERNELS[3]


def _network_links(params, theta, init: str):
    """Check the links and that the network's parameters share their dtype: a float32 network on float64
    links (or the reverse) is refused rather than silently computed in float64."""
    theta = _links("theta", theta)
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves or not all(hasattr(leaf, "dtype") for leaf in leaves):
        raise TypeError(f"params must be the parameters made by {init}, got {type(params).__name__}")
    _v.finite_tree("params", params)
    dtypes = sorted({str(jnp.dtype(leaf.dtype)) for leaf in leaves})
    if dtypes != [str(theta.dtype)]:
        raise TypeError(
            f"the parameters have dtype {', '.join(dtypes)} but theta has dtype {theta.dtype}; make them match, "
            f"e.g. {init}(key, ..., dtype=theta.dtype) or theta.astype(params_dtype)"
        )
    return theta


def lcnn_apply(params, theta):
    r"""The L-CNN's output field ``[L, L]`` for link angles ``theta [2, L, L]``; gauge invariant.

    Layers act on complex fields that transform as :math:`W(x) \to \Omega(x) W(x) \Omega(x)^\dagger`.
    For U(1) the transport :math:`U W U^\dagger` of such a field between sites is the identity, so the
    gauge-covariant convolution is an ordinary convolution of those fields (and of their conjugates);
    bilinear layers multiply fields at the same site (products of loops are loops); the trace is the
    real part.

    Parameters (from :func:`init_lcnn`): ``conv [2, C0, 2, 9]``, laid out as described at
    :data:`LCNN_OFFSETS`; each ``bilinear`` layer ``[2, C_out, C_in + 1, C_in + 1]`` gives output channel
    ``c`` as :math:`\sum_{jk} \gamma_{cjk} W_j W_k`, where the index ``C_in`` stands for the constant field 1;
    ``readout [C + 1]`` weighs the real parts of the last channels, and its last entry is a constant offset.

    Args:
      params: from :func:`init_lcnn`, in the dtype of ``theta``.
      theta: float[2, L, L] link angles (radians), L >= 2.

    Returns:
      float[L, L] the output field, in the dtype of ``theta`` (the layers compute in the matching complex
      dtype).

    Raises:
      TypeError: ``theta`` not an array of real numbers; ``params`` not the dict made by :func:`init_lcnn`, or of
        another dtype than ``theta``.
      ValueError: ``theta`` not of shape [2, L, L] with L >= 2, or (when concrete) with an inf or nan; ``params``
        whose shapes do not chain (a static check), or (when concrete) with an inf or nan.
    """
    _check_lcnn_params(params)
    p = _plaquettes(_network_links(params, theta, "init_lcnn"))
    w = jax.lax.complex(jnp.cos(p), jnp.sin(p))                            # e^{i theta_P}
    inputs = jnp.stack([w, jnp.conj(w)])                                   # [2, L, L]
    stacked = jnp.stack([_shifted(inputs, o) for o in _OFFSETS], axis=-3)  # [2, n_offsets, L, L]
    kernel = _complex(params["conv"])                                      # [C, 2, n_offsets]
    features = jnp.einsum("cio,iokl->ckl", kernel, stacked)
    for layer in params["bilinear"]:
        with_one = jnp.concatenate([features, jnp.ones((1, *features.shape[1:]), features.dtype)])
        features = jnp.einsum("cij,ikl,jkl->ckl", _complex(layer), with_one, with_one)
    with_one = jnp.concatenate([features.real, jnp.ones((1, *features.shape[1:]), features.real.dtype)])
    return jnp.einsum("c,ckl->kl", params["readout"], with_one)


_KERNELS = {2: [(0, 0), (1, 0), (0, 1), (1, 1)], 3: _OFFSETS}
_CNN_INPUTS = {"links": 4, "plaquettes": 2}


def init_cnn(key, hidden: int = 16, depth: int = 2, *, kernel: int = 3, inputs: str = "links", dtype=None):
    r"""Parameters of a plain periodic CNN on the link variables (cos and sin of both link angles, 4 input
    channels) or on the plaquettes (:math:`\cos\theta_P`, :math:`\sin\theta_P`, 2 input channels, exactly
    gauge invariant for U(1)).

    ``depth`` hidden layers of ``hidden`` channels with tanh; every layer is a ``kernel`` × ``kernel``
    convolution (2: the sites x, x + e_0, x + e_1, x + e_0 + e_1 of a plaquette; 3: the 3 × 3 block
    centred on x). :func:`cnn_apply` reads which inputs to use from the shape of the first layer.

    Args:
      key: JAX random key.
      hidden: channels of each hidden layer, >= 1.
      depth: number of hidden layers, >= 1.
      kernel: 2 or 3, the side of the convolution window.
      inputs: ``"links"`` (4 input channels) or ``"plaquettes"`` (2 input channels).
      dtype: floating dtype of the parameters (default: JAX's default float); use the links' dtype.

    Returns:
      A list of ``(W, b)`` pairs, one per layer, with ``W`` float[C_out, C_in, kernel**2] (normal, variance
      1 / (C_in kernel**2)) and ``b`` float[C_out] (zero); 4 or 2 input channels, 1 output channel.

    Raises:
      TypeError: ``key`` not a typed JAX key, ``hidden``, ``depth`` or ``kernel`` not integers, ``dtype`` not
        floating.
      ValueError: ``hidden`` or ``depth`` < 1, ``kernel`` not 2 or 3, ``inputs`` not "links" or "plaquettes".
    """
    _v.key(key)
    hidden = _v.count("hidden", hidden, minimum=1)
    depth = _v.count("depth", depth, minimum=1)
    kernel = _v.integer("kernel", kernel)
    if kernel not in _KERNELS:
        raise ValueError(f"kernel must be 2 or 3, got {kernel!r}")
    n_inputs = _CNN_INPUTS[_v.choice("inputs", inputs, tuple(_CNN_INPUTS))]
    dtype = _v.float_dtype("dtype", dtype)
    n_offsets = len(_KERNELS[kernel])
    sizes = [n_inputs] + [hidden] * depth + [1]
    shapes = [(n_out, n_in, n_offsets) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    weights = _normal_arrays(key, shapes, [1 / (n_in * n_offsets) ** 0.5 for n_in in sizes[:-1]], dtype)
    return [(w, jnp.zeros(w.shape[0], dtype)) for w in weights]


def cnn_apply(params, theta):
    """The plain CNN's output field ``[L, L]``: periodic convolutions with tanh between them, applied to
    the links (cos and sin of both angles) or to the plaquettes (cos and sin of the plaquette angle),
    whichever ``params`` were made for.

    Args:
      params: from :func:`init_cnn` (a list of ``(W, b)`` pairs), in the dtype of ``theta``.
      theta: float[2, L, L] link angles (radians), L >= 2.

    Returns:
      float[L, L] the output field, in the dtype of ``theta``.

    Raises:
      TypeError: ``theta`` not an array of real numbers; ``params`` not the list of pairs made by
        :func:`init_cnn`, or of another dtype than ``theta``.
      ValueError: ``theta`` not of shape [2, L, L] with L >= 2, or (when concrete) with an inf or nan; ``params``
        whose shapes do not chain (a static check), or (when concrete) with an inf or nan.
    """
    offsets = _check_cnn_params(params)
    theta = _network_links(params, theta, "init_cnn")
    if params[0][0].shape[1] == _CNN_INPUTS["links"]:
        x = jnp.concatenate([jnp.cos(theta), jnp.sin(theta)])  # [4, L, L]
    else:
        p = _plaquettes(theta)
        x = jnp.stack([jnp.cos(p), jnp.sin(p)])  # [2, L, L]
    for i, (w, b) in enumerate(params):
        stacked = jnp.stack([_shifted(x, o) for o in offsets], axis=1)  # [C_in, n_offsets, L, L]
        x = jnp.einsum("oik,ikxy->oxy", w, stacked) + b[:, None, None]
        if i < len(params) - 1:
            x = jnp.tanh(x)
    return x[0]


def sample_configurations(key, n_configs: int, *, size: int, beta: float, n_sweeps: int, step_size: float = 1.5,
                          dtype=None):
    r"""Independent configurations of the Wilson action: ``n_configs`` Metropolis chains
    (:func:`metropolis_kernel`) from the cold start :math:`\theta = 0`, run in parallel (``vmap``) for
    ``n_sweeps`` sweeps each.

    Args:
      key: JAX random key.
      n_configs: number of independent chains (configurations), >= 1.
      size: lattice size L, even, >= 2.
      beta: inverse coupling, > 0.
      n_sweeps: sweeps per chain, >= 1.
      step_size: half-width of the proposal, > 0.
      dtype: floating dtype of the links (default: JAX's default float).

    Returns:
      Link angles float[n_configs, 2, size, size].

    Raises:
      TypeError: ``key`` not a typed JAX key, sizes not integers, numbers of the wrong kind.
      ValueError: ``size`` odd or < 2, ``beta`` or ``step_size`` not > 0, counts < 1.
    """
    _v.key(key)
    n_configs = _v.count("n_configs", n_configs, minimum=1)
    size = _v.count("size", size, minimum=2)
    beta, step_size = _check_sampler("size", size, beta, step_size)
    n_sweeps = _v.count("n_sweeps", n_sweeps, minimum=1)
    dtype = _v.float_dtype("dtype", dtype)
    cold = jnp.zeros((2, size, size), dtype)
    return _parallel_chains(jax.random.split(key, n_configs), cold, beta, step_size, n_sweeps)


@functools.partial(jax.jit, static_argnames=("n_sweeps",))
def _parallel_chains(keys, theta, beta, step_size, n_sweeps):
    return jax.vmap(lambda k: _run_sweeps(k, theta, beta, step_size, n_sweeps)[0].theta)(keys)


def axial_gauge(theta):
    r"""Gauge-fix to the axial gauge: :math:`\theta_1(x) = 0` on every link along :math:`e_1` except the last
    column (:math:`x_1 = L - 1`), which keeps the holonomy of each line around the periodic direction.

    The transformation is :math:`\alpha(x_0, x_1) = \sum_{k < x_1} \theta_1(x_0, k)`; plaquettes and all
    Wilson loops are unchanged.

    Args:
      theta: float[2, L, L] link angles (radians), L >= 2.

    Returns:
      float[2, L, L] the gauge-fixed links, in the dtype of ``theta``.

    Raises:
      TypeError: ``theta`` not an array of real numbers.
      ValueError: ``theta`` not of shape [2, L, L] with L >= 2, or (when concrete) with an inf or nan.
    """
    theta = _links("theta", theta)
    alpha = jnp.concatenate([jnp.zeros_like(theta[1][:, :1]), jnp.cumsum(theta[1], axis=1)[:, :-1]], axis=1)
    return gauge_transform(theta, alpha)


# ---------------------------------------------------------------------------------------------------
# Error bars of Monte Carlo averages
# ---------------------------------------------------------------------------------------------------

class AutocorrelationTime(NamedTuple):
    """Result of :func:`integrated_autocorrelation_time`: ``tau`` (the estimate of
    :math:`\tau_{\rm int}`), ``window`` (the summation window W that was used) and ``converged`` (whether a
    self-consistent window was found within the first quarter of the series; if not, ``tau`` is a lower
    bound and the series is too short to trust it)."""

    tau: float
    window: int
    converged: bool


def integrated_autocorrelation_time(series, *, c: float = 6.0) -> AutocorrelationTime:
    r"""The integrated autocorrelation time :math:`\tau_{\rm int} = \tfrac12 + \sum_{t\ge1}\rho(t)` of a time
    series, with Sokal's automatic window: the sum runs to the smallest W with :math:`W \ge c\,\tau(W)`.

    The normalized autocorrelation :math:`\rho(t)` is estimated with the sample mean and the biased
    (divide by N) covariance, computed by FFT. The variance of the mean of N correlated samples is then
    :math:`2\tau_{\rm int}\sigma^2/N`: the error bar is :math:`\sqrt{2\tau_{\rm int}}` times the naive one.
    For a series of independent samples :math:`\tau_{\rm int} = 1/2`; for an AR(1) process with
    coefficient :math:`\phi` it is :math:`(1+\phi)/(2(1-\phi))`.

    Args:
      series: float[N] the measurements in Monte Carlo time order, N >= 20, finite, not constant.
      c: the window factor, > 0 (4 to 10 is usual; larger is less biased and noisier).

    Returns:
      :class:`AutocorrelationTime` ``(tau, window, converged)``, Python numbers (computed in float64 NumPy).

    Raises:
      TypeError: ``series`` not an array of real numbers, ``c`` not a number.
      ValueError: ``series`` not one-dimensional, shorter than 20, with an inf or nan, or constant; ``c`` not > 0.
    """
    x = _v.numpy_array("series", series, ndim=1).astype(np.float64)
    c = _v.positive_float("c", c)
    n = x.size
    if n < 20:
        raise ValueError(f"series must have at least 20 measurements to estimate an autocorrelation time, got {n}")
    x = x - x.mean()
    variance = float(np.dot(x, x)) / n
    if variance == 0.0:
        raise ValueError("series is constant: its autocorrelation is undefined (did the chain ever move?)")
    padded = np.fft.rfft(x, 2 * n)
    rho = np.fft.irfft(padded * np.conj(padded))[:n] / (n * variance)
    tau = 0.5 + np.cumsum(rho[1:])          # tau[W - 1] = 1/2 + sum_{t=1}^{W} rho(t)
    windows = np.arange(1, n)
    ok = np.flatnonzero((windows >= c * tau) & (windows <= n // 4))
    if ok.size:
        w = int(windows[ok[0]])
        return AutocorrelationTime(float(tau[w - 1]), w, True)
    w = n // 4
    return AutocorrelationTime(float(tau[w - 1]), w, False)


# ---------------------------------------------------------------------------------------------------
# SU(2): non-commuting links
# ---------------------------------------------------------------------------------------------------

def random_su2(key, shape, *, dtype=None):
    r"""Haar-random SU(2) matrices :math:`a_0 + i\,\vec a\cdot\vec\sigma` with :math:`a` uniform on the
    unit 3-sphere.

    Args:
      key: JAX random key.
      shape: tuple of ints >= 1, the batch shape (for links, ``(2, L, L)``; for a gauge transformation,
        ``(L, L)``).
      dtype: floating dtype of the real and imaginary parts (default: JAX's default float); the result is
        the matching complex dtype.

    Returns:
      complex[*shape, 2, 2] unitary matrices of determinant 1.

    Raises:
      TypeError: ``key`` not a typed JAX key, ``shape`` not a tuple of integers, ``dtype`` not floating.
      ValueError: ``shape`` with an entry < 1.
    """
    _v.key(key)
    if not isinstance(shape, tuple):
        raise TypeError(f"shape must be a tuple of integers, got {type(shape).__name__}")
    shape = tuple(_v.count("shape", n, minimum=1) for n in shape)
    dtype = _v.float_dtype("dtype", dtype)
    a = jax.random.normal(key, (*shape, 4), dtype)
    a = a / jnp.linalg.norm(a, axis=-1, keepdims=True)
    a0, a1, a2, a3 = (a[..., i] for i in range(4))
    row0 = jnp.stack([jax.lax.complex(a0, a3), jax.lax.complex(a2, a1)], axis=-1)
    row1 = jnp.stack([jax.lax.complex(-a2, a1), jax.lax.complex(a0, -a3)], axis=-1)
    return jnp.stack([row0, row1], axis=-2)


def _su2_links(name, links):
    if not hasattr(links, "shape") or not hasattr(links, "dtype"):
        raise TypeError(f"{name} must be a complex array [2, L, L, 2, 2], got {type(links).__name__}")
    if not jnp.issubdtype(links.dtype, jnp.complexfloating):
        raise TypeError(f"{name} must be complex (SU(2) matrices), got dtype {links.dtype}")
    shape = tuple(links.shape)
    if len(shape) != 5 or shape[0] != 2 or shape[1] != shape[2] or shape[1] < 2 or shape[3:] != (2, 2):
        raise ValueError(f"{name} must have shape [2, L, L, 2, 2] with L >= 2, got {shape}")
    _v.finite(name, links)
    return jnp.asarray(links)


def _dagger(m):
    return jnp.conj(jnp.swapaxes(m, -1, -2))


def su2_gauge_transform(links, omega):
    r"""SU(2) gauge transformation :math:`U_\mu(x) \to \Omega(x)\,U_\mu(x)\,\Omega(x + e_\mu)^\dagger`.

    Args:
      links: complex[2, L, L, 2, 2] link matrices, ``links[mu][x]`` from ``x`` to ``x + e_mu`` (periodic).
      omega: complex[L, L, 2, 2] one SU(2) matrix per site, in the dtype of ``links``.

    Returns:
      complex[2, L, L, 2, 2] the transformed links.

    Raises:
      TypeError: ``links`` or ``omega`` not complex arrays, or of different dtypes.
      ValueError: ``links`` not [2, L, L, 2, 2] with L >= 2, ``omega`` not [L, L, 2, 2]; an inf or nan.
    """
    links = _su2_links("links", links)
    if not hasattr(omega, "shape") or not hasattr(omega, "dtype") or omega.dtype != links.dtype:
        raise TypeError(f"omega must be a complex array of the dtype of links ({links.dtype}), got "
                        f"{getattr(omega, 'dtype', type(omega).__name__)}")
    if tuple(omega.shape) != (*links.shape[1:3], 2, 2):
        raise ValueError(f"omega must have shape {(*links.shape[1:3], 2, 2)} (one matrix per site), got "
                         f"{tuple(omega.shape)}")
    _v.finite("omega", omega)
    return jnp.stack([omega @ links[mu] @ _dagger(jnp.roll(omega, -1, axis=mu)) for mu in (0, 1)])


def su2_wilson_loop(links, size: int):
    r"""The untraced ``size`` × ``size`` Wilson loops :math:`W_R(x)` of SU(2) links, with lower-left corner
    (and base point) at every site: the ordered product of the :math:`4R` links along the boundary,
    :math:`R` steps along :math:`+e_0`, then :math:`+e_1`, :math:`-e_0`, :math:`-e_1` (a step backwards
    contributes :math:`U^\dagger`). ``size=1`` gives the plaquettes. Transforms as
    :math:`W_R(x)\to\Omega(x)W_R(x)\Omega(x)^\dagger`, so :math:`\mathrm{tr}\,W_R` is gauge invariant.

    Args:
      links: complex[2, L, L, 2, 2] link matrices.
      size: the side R of the loop, 1 <= R < L.

    Returns:
      complex[L, L, 2, 2] the loop matrices.

    Raises:
      TypeError: ``links`` not a complex array, ``size`` not an integer.
      ValueError: ``links`` not [2, L, L, 2, 2] with L >= 2 or with an inf or nan; ``size`` < 1 or >= L.
    """
    links = _su2_links("links", links)
    size = _v.count("size", size, minimum=1)
    L = links.shape[1]
    if size >= L:
        raise ValueError(f"size must be smaller than the lattice size L = {L}, got {size}: a larger loop wraps "
                         "around the torus")
    position = (0, 0)
    loop = jnp.broadcast_to(jnp.eye(2, dtype=links.dtype), links.shape[1:])
    for mu, sign in ((0, 1), (1, 1), (0, -1), (1, -1)):
        for _ in range(size):
            if sign > 0:
                step = jnp.roll(links[mu], (-position[0], -position[1]), axis=(0, 1))
                position = tuple(p + (1 if i == mu else 0) for i, p in enumerate(position))
            else:
                position = tuple(p - (1 if i == mu else 0) for i, p in enumerate(position))
                step = _dagger(jnp.roll(links[mu], (-position[0], -position[1]), axis=(0, 1)))
            loop = loop @ step
    return loop
