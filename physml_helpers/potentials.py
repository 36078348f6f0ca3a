r"""Machine-learned interatomic potentials: Lennard-Jones clusters and a Behler–Parrinello network.

Chapter 11 stands the Lennard-Jones potential in for quantum-chemistry data. :func:`lennard_jones_energy` is the
reference; :func:`symmetry_functions` are Behler–Parrinello's atom-centred descriptors (radial :math:`G^2` and
angular :math:`G^4`), invariant under translations, rotations and permutations of like atoms;
:func:`train_bp_potential` fits a per-atom network :math:`E = \sum_i \varepsilon(G_i)` to energies and forces;
:func:`bp_energy` and :func:`bp_forces` evaluate it (forces by automatic differentiation, so the learned force
field is conservative); :func:`relax` finds a local minimum of any energy function (L-BFGS).

Clusters of different sizes can share one compiled program: pad them to a common number of atoms and pass an atom
``mask`` (True for real atoms). Masked atoms carry no energy, feel no force and are nobody's neighbour, so a padded
cluster gives the energy and forces of the unpadded one (to rounding). :func:`train_bp_potential` pads its data sets
this way internally.
"""

from __future__ import annotations

import functools
import hashlib
import math

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v
from physml_helpers._kernels import ConvergenceError, require_finite_history
from physml_helpers.networks import adam_scan, init_mlp, mlp

__all__ = [
    "lennard_jones_energy", "lennard_jones_forces", "symmetry_functions", "default_descriptor",
    "train_bp_potential", "bp_energy", "bp_forces", "relax",
]


def _positions(name, positions, *, batched=True):
    positions = _v.float_array(name, positions, finite=True, nonempty=True)
    if positions.ndim < 2 or positions.shape[-1] != 3 or (not batched and positions.ndim != 2):
        want = "[..., n_atoms, 3]" if batched else "[n_atoms, 3]"
        raise ValueError(f"{name} must have shape {want}, got {positions.shape}")
    if positions.shape[-2] < 2:
        raise ValueError(f"{name} must hold at least two atoms, got shape {positions.shape}")
    return positions


def _distances(positions, mask=None):
    """Pair distances float[..., n, n] and the mask of real pairs (distinct atoms, both unmasked); the distance of
    every other pair is a safe, gradient-free 1 (sqrt is not differentiable at 0, and a padded atom may sit on a
    real one)."""
    n = positions.shape[-2]
    pair = ~jnp.eye(n, dtype=bool)
    if mask is not None:
        pair = pair & mask[..., :, None] & mask[..., None, :]
    diff = positions[..., :, None, :] - positions[..., None, :, :]
    r2 = jnp.sum(diff**2, axis=-1)
    r = jnp.sqrt(jnp.where(pair, r2, 1.0))
    return r, pair


def _check_mask(mask, positions):
    """None, or a bool array broadcasting against positions' leading axes [..., n_atoms] (checked statically)."""
    if mask is None:
        return None
    try:
        mask = jnp.asarray(mask)
    except (TypeError, ValueError):
        raise TypeError(f"mask must be a boolean array [..., n_atoms], got {type(mask).__name__}") from None
    if mask.dtype != bool:
        raise TypeError(f"mask must be a boolean array (True for real atoms), got dtype {mask.dtype}")
    if mask.ndim < 1 or mask.shape[-1] != positions.shape[-2]:
        raise ValueError(f"mask must end with the number of atoms {positions.shape[-2]}, got shape {mask.shape}")
    try:
        jnp.broadcast_shapes(mask.shape, positions.shape[:-1])
    except ValueError:
        raise ValueError(f"mask of shape {mask.shape} does not broadcast against positions {positions.shape}") from None
    if not _v.is_traced(mask) and np.any(np.sum(np.asarray(mask), axis=-1) < 2):   # NumPy: safe while tracing
        raise ValueError("mask must leave at least two real atoms in every cluster")
    return mask


@jax.jit
def _lj(positions, epsilon, sigma):
    r, off = _distances(positions)
    s6 = (sigma / r) ** 6
    return 0.5 * jnp.sum(jnp.where(off, 4 * epsilon * (s6**2 - s6), 0.0), axis=(-2, -1))


def lennard_jones_energy(positions, *, epsilon: float = 1.0, sigma: float = 1.0) -> jax.Array:
    r"""Lennard-Jones energy :math:`E = \sum_{i<j} 4\varepsilon\big[(\sigma/r_{ij})^{12} - (\sigma/r_{ij})^6\big]`
    of a cluster (no cutoff). The dimer's minimum is at :math:`r = 2^{1/6}\sigma` with energy :math:`-\varepsilon`.

    Args:
      positions: float[..., n_atoms, 3] coordinates (any leading batch shape), n_atoms >= 2.
      epsilon: well depth :math:`\varepsilon`, > 0.
      sigma: length :math:`\sigma`, > 0.

    Returns:
      float[...] energies in units of :math:`\varepsilon`'s.

    Raises:
      TypeError: ``positions`` not real, parameters not numbers.
      ValueError: wrong shape, fewer than two atoms, non-finite entries, parameters not > 0.
    """
    positions = _positions("positions", positions)
    epsilon = _v.positive_float("epsilon", epsilon)
    sigma = _v.positive_float("sigma", sigma)
    return _lj(positions, epsilon, sigma)


def lennard_jones_forces(positions, *, epsilon: float = 1.0, sigma: float = 1.0) -> jax.Array:
    r"""Lennard-Jones forces :math:`F = -\partial E/\partial x` (by automatic differentiation).

    Args:
      positions: float[..., n_atoms, 3] coordinates, n_atoms >= 2.
      epsilon: well depth, > 0.
      sigma: length, > 0.

    Returns:
      float[..., n_atoms, 3] forces.

    Raises:
      TypeError: ``positions`` not real, parameters not numbers.
      ValueError: wrong shape, fewer than two atoms, non-finite entries, parameters not > 0.
    """
    positions = _positions("positions", positions)
    epsilon = _v.positive_float("epsilon", epsilon)
    sigma = _v.positive_float("sigma", sigma)
    return _lj_forces(positions, epsilon, sigma)


@jax.jit
def _lj_forces(positions, epsilon, sigma):
    return -jax.grad(lambda p: jnp.sum(_lj(p, epsilon, sigma)))(positions)


def default_descriptor(*, cutoff: float = 3.0, n_radial: int = 8, dtype=None) -> dict:
    r"""A set of symmetry-function parameters for Lennard-Jones clusters: ``n_radial`` Gaussian shells
    :math:`G^2` centred between 0.85 and 2.6 :math:`\sigma` (width 0.25), and four angular functions :math:`G^4`
    with :math:`\zeta \in \{1, 4\}`, :math:`\lambda = \pm1`, :math:`\eta = 0.3`.

    Args:
      cutoff: cutoff radius :math:`r_c`, > 0.
      n_radial: number of radial shells, >= 1.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      dict of arrays: ``radial_shifts`` [n_radial], ``radial_eta``, ``angular_eta``, ``zetas`` [2], ``cutoff``.

    Raises:
      TypeError: arguments of the wrong kind.
      ValueError: ``cutoff`` not > 0, ``n_radial`` < 1.
    """
    cutoff = _v.positive_float("cutoff", cutoff)
    n_radial = _v.count("n_radial", n_radial, minimum=1)
    dtype = _v.float_dtype("dtype", dtype)
    return dict(radial_shifts=jnp.linspace(0.85, 2.6, n_radial, dtype=dtype), radial_eta=jnp.asarray(8.0, dtype),
                angular_eta=jnp.asarray(0.3, dtype), zetas=jnp.asarray([1.0, 4.0], dtype), cutoff=jnp.asarray(cutoff, dtype))


def _symmetry(positions, d, mask=None):
    r, off = _distances(positions, mask)
    fc = jnp.where(off & (r < d["cutoff"]), 0.5 * (jnp.cos(jnp.pi * r / d["cutoff"]) + 1), 0.0)   # [..., n, n]
    radial = jnp.sum(jnp.exp(-d["radial_eta"] * (r[..., None] - d["radial_shifts"]) ** 2) * fc[..., None], axis=-2)
    diff = positions[..., None, :, :] - positions[..., :, None, :]                                   # r_j - r_i
    cos = jnp.einsum("...ijc,...ikc->...ijk", diff, diff) / (r[..., :, :, None] * r[..., :, None, :])
    weight = (jnp.exp(-d["angular_eta"] * (r[..., :, :, None] ** 2 + r[..., :, None, :] ** 2 + r[..., None, :, :] ** 2))
              * fc[..., :, :, None] * fc[..., :, None, :] * fc[..., None, :, :])                  # zero unless i, j, k distinct
    lam = jnp.asarray([1.0, -1.0], cos.dtype)
    base = jnp.clip(1 + cos[..., None] * lam, 0.0, None)[..., None] ** d["zetas"]               # [..., n, n, n, 2, 2]
    # the sum over ordered pairs (j, k) counts each triplet twice: halve it
    angular = 2.0 ** (1 - d["zetas"]) * 0.5 * jnp.sum(base * weight[..., None, None], axis=(-4, -3))
    g = jnp.concatenate([radial, angular.reshape(*angular.shape[:-2], -1)], axis=-1)
    return g if mask is None else jnp.where(mask[..., None], g, 0.0)


def _check_descriptor(descriptor):
    keys = ("radial_shifts", "radial_eta", "angular_eta", "zetas", "cutoff")
    if not isinstance(descriptor, dict) or any(k not in descriptor for k in keys):
        raise TypeError(f"descriptor must be a dict with keys {keys} (see default_descriptor)")


def symmetry_functions(positions, descriptor, *, mask=None) -> jax.Array:
    r"""Behler–Parrinello atom-centred symmetry functions with the cosine cutoff
    :math:`f_c(r) = \tfrac12[\cos(\pi r/r_c) + 1]` for :math:`r < r_c`:

    .. math:: G^2_i = \sum_{j\ne i} e^{-\eta (r_{ij} - r_s)^2} f_c(r_{ij}),\qquad
       G^4_i = 2^{1-\zeta}\!\!\sum_{j<k;\,j,k\ne i}\!(1 + \lambda\cos\theta_{ijk})^\zeta
       e^{-\eta'(r_{ij}^2 + r_{ik}^2 + r_{jk}^2)} f_c(r_{ij}) f_c(r_{ik}) f_c(r_{jk}).

    Args:
      positions: float[..., n_atoms, 3] coordinates, n_atoms >= 2.
      descriptor: the parameters, a dict as from :func:`default_descriptor`.
      mask: optional bool[..., n_atoms], False for padding atoms (they are nobody's neighbour, and their rows
        are zero); it broadcasts against the leading axes of ``positions``.

    Returns:
      float[..., n_atoms, n_radial + 4]: per atom, the radial functions, then :math:`G^4` for
      :math:`(\lambda, \zeta) = (1, \zeta_1), (1, \zeta_2), (-1, \zeta_1), (-1, \zeta_2)`.

    Raises:
      TypeError: ``positions`` not real, ``descriptor`` not such a dict, ``mask`` not boolean.
      ValueError: wrong shape, fewer than two atoms (or real atoms), non-finite entries, a ``mask`` of the wrong
        shape.
    """
    _check_descriptor(descriptor)
    positions = _positions("positions", positions)
    mask = _check_mask(mask, positions)
    return _symmetry_jit(positions, descriptor, mask)


_symmetry_jit = jax.jit(_symmetry)


def _atom_energies(model, g):
    return mlp(model["net"], (g - model["g_shift"]) / model["g_scale"])[..., 0] + model["e_atom"]


def _bp_energy(model, positions, mask=None):
    e = _atom_energies(model, _symmetry(positions, model["descriptor"], mask))
    return jnp.sum(e if mask is None else jnp.where(mask, e, 0.0), axis=-1)


_bp_energy_jit = jax.jit(_bp_energy)


@jax.jit
def _bp_forces_jit(model, positions, mask=None):
    return -jax.grad(lambda p: jnp.sum(_bp_energy(model, p, mask)))(positions)


def _check_model(model):
    if not isinstance(model, dict) or any(k not in model for k in ("net", "descriptor", "g_shift", "g_scale", "e_atom")):
        raise TypeError("model must be the dict returned by train_bp_potential")


def bp_energy(model, positions, *, mask=None) -> jax.Array:
    r"""Energy of a Behler–Parrinello potential, :math:`E = \sum_i \varepsilon_\phi(G_i)`.

    Args:
      model: the dict from :func:`train_bp_potential`.
      positions: float[..., n_atoms, 3] coordinates (any number of atoms >= 2).
      mask: optional bool[..., n_atoms], False for padding atoms, which then add no energy and are nobody's
        neighbour (a padded cluster has the energy of the unpadded one).

    Returns:
      float[...] energies.

    Raises:
      TypeError: ``model`` not such a dict, ``positions`` not real, ``mask`` not boolean.
      ValueError: wrong shape, fewer than two (real) atoms, non-finite entries, a ``mask`` of the wrong shape.
    """
    _check_model(model)
    positions = _positions("positions", positions)
    return _bp_energy_jit(model, positions, _check_mask(mask, positions))


def bp_forces(model, positions, *, mask=None) -> jax.Array:
    r"""Forces of a Behler–Parrinello potential, :math:`F = -\partial E/\partial x` by automatic differentiation.

    Args:
      model: the dict from :func:`train_bp_potential`.
      positions: float[..., n_atoms, 3] coordinates.
      mask: optional bool[..., n_atoms], False for padding atoms (their forces are zero, and they exert none).

    Returns:
      float[..., n_atoms, 3] forces.

    Raises:
      TypeError: ``model`` not such a dict, ``positions`` not real, ``mask`` not boolean.
      ValueError: wrong shape, fewer than two (real) atoms, non-finite entries, a ``mask`` of the wrong shape.
    """
    _check_model(model)
    positions = _positions("positions", positions)
    return _bp_forces_jit(model, positions, _check_mask(mask, positions))


@jax.jit
def _features_and_jacobian(positions, descriptor, mask):
    one = lambda p, m: _symmetry(p, descriptor, m)
    return jax.vmap(one)(positions, mask), jax.vmap(jax.jacfwd(one))(positions, mask)   # [c, n, f], [c, n, f, n, 3]


_FEATURE_CACHE: dict = {}   # the last data set's features and Jacobians (one entry)


def _cached_features(positions, descriptor, mask):
    # repeated trainings on the same data (say, with and without forces) compute the features and their
    # Jacobians once; the key is the content of the inputs, so different data can never share an entry
    leaves = [np.asarray(positions), np.asarray(mask), *(np.asarray(descriptor[k]) for k in sorted(descriptor))]
    key = hashlib.sha256(b"".join(repr((a.shape, a.dtype.str)).encode() + a.tobytes() for a in leaves)).hexdigest()
    if key not in _FEATURE_CACHE:
        _FEATURE_CACHE.clear()
        _FEATURE_CACHE[key] = _features_and_jacobian(positions, descriptor, mask)
    return _FEATURE_CACHE[key]


@functools.partial(jax.jit, static_argnames=("n_steps",))
def _fit_bp(model, data, force_weight, lr, n_steps):
    g, jac, e_ref, f_ref, mask = data   # all clusters padded to one size; mask [c, n] marks the real atoms
    c, n = g.shape[0], g.shape[1]
    n_real = jnp.sum(mask, axis=-1).astype(g.dtype)
    atom_e = lambda m, gg: jnp.where(mask, _atom_energies(m, gg), 0.0)

    def loss_fn(m):
        e_pred = jnp.sum(atom_e(m, g), axis=-1)
        de_dg = jax.grad(lambda gg: jnp.sum(atom_e(m, gg)))(g)                                   # [c, n, f]
        f_pred = -jnp.matmul(de_dg.reshape(c, 1, -1), jac.reshape(c, -1, 3 * n)).reshape(c, n, 3)   # chain rule
        e_mse = jnp.mean(((e_pred - e_ref) / n_real) ** 2)                                 # per-atom energy error
        f_mse = jnp.sum(jnp.where(mask[..., None], f_pred - f_ref, 0.0) ** 2) / (3 * jnp.sum(n_real))
        return e_mse + force_weight * f_mse, (e_mse, f_mse)
    return adam_scan(loss_fn, model, lr=lr, n_steps=n_steps, has_aux=True)




def train_bp_potential(key, datasets, *, descriptor=None, hidden=(32, 32), force_weight: float = 1.0,
                       n_steps: int = 2000, lr: float = 3e-3):
    r"""Fit a Behler–Parrinello potential to reference energies and forces by full-batch Adam on
    :math:`\overline{(\Delta E/n)^2} + w_F\,\overline{|\Delta F|^2}` (per-atom energy error, force components).

    Symmetry functions and their Jacobians :math:`\partial G_i/\partial x_j` are computed once, so each step
    needs only the network and the chain rule :math:`F_j = -\sum_i (\partial\varepsilon/\partial G_i)
    (\partial G_i/\partial x_j)`. Clusters of different sizes are padded to the largest with masked atoms
    (see :func:`bp_energy`), so all of them go through one compiled program.

    Args:
      key: a JAX key (the network's initialization).
      datasets: a sequence of ``(positions [c, n_atoms, 3], energies [c], forces [c, n_atoms, 3])``, one entry per
        cluster size, one dtype throughout.
      descriptor: symmetry-function parameters (default :func:`default_descriptor` in the data's dtype).
      hidden: widths of the network's tanh hidden layers.
      force_weight: :math:`w_F` >= 0 (0 trains on energies alone).
      n_steps: Adam steps, >= 1.
      lr: peak learning rate (cosine decay), > 0.

    Returns:
      ``(model, history)``: the model dict for :func:`bp_energy`, and float[n_steps, 2], the energy and force
      mean squared errors on the training data at each step.

    Raises:
      TypeError: bad key, arrays not real, a malformed ``datasets`` or ``descriptor``.
      ValueError: inconsistent shapes, non-finite data, ``force_weight`` < 0, ``n_steps`` < 1, ``lr`` not > 0.
      ConvergenceError: the loss became inf or nan (lower ``lr``).
    """
    _v.key(key)
    if isinstance(datasets, (str, bytes)) or not hasattr(datasets, "__iter__"):
        raise TypeError("datasets must be a sequence of (positions, energies, forces) triples")
    datasets = list(datasets)
    if not datasets:
        raise ValueError("datasets must hold at least one (positions, energies, forces) triple")
    checked = []
    for i, item in enumerate(datasets):
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise TypeError(f"datasets[{i}] must be a triple (positions, energies, forces)")
        pos = _positions(f"datasets[{i}] positions", item[0])
        e = _v.float_array(f"datasets[{i}] energies", item[1], ndim=1, finite=True)
        f = _v.float_array(f"datasets[{i}] forces", item[2], finite=True)
        if pos.ndim != 3 or e.shape[0] != pos.shape[0] or f.shape != pos.shape:
            raise ValueError(f"datasets[{i}]: positions [c, n, 3], energies [c] and forces [c, n, 3] do not match: "
                             f"{pos.shape}, {e.shape}, {f.shape}")
        checked.append((pos, e, f))
    dtype = checked[0][0].dtype
    if any(a.dtype != dtype for item in checked for a in item):
        raise TypeError("datasets must have one dtype throughout")
    if descriptor is None:
        descriptor = default_descriptor(dtype=dtype)
    _check_descriptor(descriptor)
    hidden = tuple(_v.count(f"hidden[{i}]", h, minimum=1) for i, h in enumerate(hidden))
    force_weight = _v.positive_float("force_weight", force_weight, allow_zero=True)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    lr = _v.positive_float("lr", lr)

    # pad every cluster to the largest size with masked atoms at the origin (in NumPy: no compilation per shape)
    n_max = max(pos.shape[1] for pos, _, _ in checked)
    pad = lambda a: np.pad(np.asarray(a), [(0, 0), (0, n_max - a.shape[1]), (0, 0)])
    positions = jnp.asarray(np.concatenate([pad(pos) for pos, _, _ in checked]))
    forces = jnp.asarray(np.concatenate([pad(f) for _, _, f in checked]))
    energies_np = np.concatenate([np.asarray(e) for _, e, _ in checked])
    mask_np = np.concatenate([np.broadcast_to(np.arange(n_max) < pos.shape[1], (pos.shape[0], n_max))
                              for pos, _, _ in checked])
    mask = jnp.asarray(mask_np)
    g, jac = _cached_features(positions, descriptor, mask)
    real_g = np.asarray(g)[mask_np]                               # the standardization sees real atoms only
    model = dict(net=init_mlp(key, [g.shape[-1], *hidden, 1], dtype=dtype), descriptor=descriptor,
                 g_shift=jnp.asarray(real_g.mean(axis=0), dtype), g_scale=jnp.asarray(real_g.std(axis=0) + 1e-3, dtype),
                 e_atom=jnp.asarray(np.mean(energies_np / mask_np.sum(axis=-1)), dtype))
    data = (g, jac, jnp.asarray(energies_np), forces, mask)
    model, history = _fit_bp(model, data, jnp.asarray(force_weight, dtype), jnp.asarray(lr, dtype), n_steps)
    history = jnp.stack(history, axis=-1)
    require_finite_history("train_bp_potential", history, lr)
    return model, history


@functools.lru_cache(maxsize=32)
def _value_and_grad(energy_fn):
    # one compiled gradient per energy function (and shape), reused by later relaxations
    return jax.jit(jax.value_and_grad(energy_fn))


def relax(energy_fn, positions, *, gtol: float = 1e-6, max_steps: int = 10_000, value_and_grad=None):
    r"""Relax a cluster to a local minimum of ``energy_fn`` by L-BFGS (SciPy) with JAX gradients, in float64.

    Args:
      energy_fn: ``positions [n_atoms, 3] -> energy`` (a scalar), JAX-traceable.
      positions: float[n_atoms, 3] the starting geometry.
      gtol: stop when the largest force component is below this, > 0.
      max_steps: iteration cap, >= 1.
      value_and_grad: optional ``positions [n_atoms, 3] -> (energy, gradient)`` to use instead of differentiating
        ``energy_fn`` (for instance a program already compiled elsewhere); it must agree with ``energy_fn``.

    Returns:
      ``(positions, energy, max_force)``: the relaxed float64 geometry [n_atoms, 3], its energy and the largest
      remaining force component (floats).

    Raises:
      TypeError: ``energy_fn`` or ``value_and_grad`` not callable, ``positions`` not real.
      ValueError: wrong shape, non-finite entries, ``energy_fn`` not returning a scalar, bad ``gtol``/``max_steps``.
      ConvergenceError: the largest force is still above ``gtol`` when L-BFGS stops.
    """
    from scipy.optimize import minimize

    _v.callable_("energy_fn", energy_fn)
    positions = np.asarray(_positions("positions", positions, batched=False), dtype=np.float64)
    gtol = _v.positive_float("gtol", gtol)
    max_steps = _v.count("max_steps", max_steps, minimum=1)
    _v.output_shape("energy_fn", energy_fn, jnp.asarray(positions), expected=(), what=" (the energy)")
    shape = positions.shape
    if value_and_grad is None:
        value_and_grad = _value_and_grad(energy_fn)
    else:
        _v.callable_("value_and_grad", value_and_grad)

    def fun(flat):
        e, g = value_and_grad(jnp.asarray(flat).reshape(shape))
        return float(e), np.asarray(g, dtype=np.float64).ravel()

    result = minimize(fun, positions.ravel(), jac=True, method="L-BFGS-B",
                      options=dict(maxiter=max_steps, gtol=gtol, ftol=0.0, maxcor=30))
    e, g = fun(result.x)
    max_force = float(np.max(np.abs(g)))
    if max_force > gtol:
        raise ConvergenceError(f"relax stopped after {result.nit} steps with a largest force {max_force:.2g} above "
                               f"gtol={gtol} ({result.message}); raise max_steps or start nearer a minimum")
    return result.x.reshape(shape), e, max_force
