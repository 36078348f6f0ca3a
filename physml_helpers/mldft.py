r"""Machine-learned density functionals: non-interacting fermions in a one-dimensional box.

Chapter 11 follows Snyder, Rupp, Hansen, Müller and Burke (Phys. Rev. Lett. 108, 253002, 2012). Spinless,
non-interacting fermions live on :math:`[0, 1]` between hard walls (:math:`\hbar = m = 1`), in a potential made of
Gaussian wells (:func:`gaussian_wells`). :func:`box_grid` discretises the box on ``G`` interior points with spacing
:math:`h = 1/(G+1)`; :func:`solve_box` diagonalises the second-order finite-difference Hamiltonian

.. math:: H_{jk} = -\frac{1}{2h^2}(\delta_{j,k+1} - 2\delta_{jk} + \delta_{j,k-1}) + v(x_j)\,\delta_{jk},

and :func:`fermion_ground_state` fills the lowest ``N`` orbitals and returns the density and the exact kinetic
energy :math:`T_s[n]`. :func:`von_weizsacker` is :math:`T_W[n] = \tfrac18\int n'^2/n\,dx = \tfrac12\int
(\sqrt n')^2\,dx`, exact for one particle. Kernel ridge regression of :math:`T_s[n]` on the densities
(:func:`fit_kernel_ridge`, :func:`kernel_ridge_predict`, hyperparameters by leave-one-out in
:func:`loo_hyperparameters`) gives a machine-learned functional; its functional derivative
(:func:`kernel_ridge_derivative`) is noisy off the data, and :func:`density_descent_kernel` minimises
:math:`E[n] = T[n] + \int v n` with the gradient projected on the local principal components of the nearest
training densities (:func:`local_pca_basis`), as in the paper.

Everything is NumPy: the problem is small (about a hundred grid points, a few hundred densities), and a compiled
JAX program would cost more to compile than to run. Integrals on the grid are :math:`\int f\,dx \approx h\sum_j f_j`
(the walls carry zero density); functional derivatives are
:math:`\delta F/\delta n(x_j) = h^{-1}\,\partial F/\partial n_j`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from physml_helpers import _validation as _v
from physml_helpers._kernels import Kernel

__all__ = [
    "HARTREE_KCAL_MOL", "box_grid", "gaussian_wells", "BoxStates", "solve_box", "GroundState", "fermion_ground_state",
    "von_weizsacker", "von_weizsacker_derivative", "KernelRidge", "gaussian_kernel_matrix", "fit_kernel_ridge",
    "kernel_ridge_predict", "kernel_ridge_derivative", "loo_hyperparameters", "local_pca_basis",
    "DensityDescentState", "DensityDescentInfo", "density_descent_kernel", "density_descent",
]

HARTREE_KCAL_MOL = 627.5095
"""One hartree in kcal/mol (the conversion Snyder et al. report their errors in)."""


def _grid_spacing(h) -> float:
    h = _v.positive_float("h", h)
    if h >= 1:
        raise ValueError(f"h must be the grid spacing 1/(G + 1) < 1 of the unit box, got {h!r}")
    return h


def _densities(name, density, h=None, *, positive=False):
    n = _v.numpy_array(name, density)
    if n.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape [G] or [batch, G], got {n.shape}")
    if n.shape[-1] < 3:
        raise ValueError(f"{name} must have at least 3 grid points, got shape {n.shape}")
    if positive and np.any(n <= 0):
        raise ValueError(f"{name} must be > 0 at every interior grid point, got min {n.min():.3g}")
    if np.any(n < 0):
        raise ValueError(f"{name} must be >= 0 (a density), got min {n.min():.3g}")
    if h is not None and not np.isclose(h, 1.0 / (n.shape[-1] + 1), rtol=1e-9):
        raise ValueError(f"h must be 1/(G + 1) = {1.0 / (n.shape[-1] + 1):.6g} for {name} on G = {n.shape[-1]} "
                         f"interior points, got {h!r}")
    return n


def box_grid(n_points: int):
    r"""The interior points of the unit box :math:`[0, 1]` with hard walls.

    Args:
      n_points: ``G``, the number of interior grid points (at least 3).

    Returns:
      ``(x, h)``: ``x`` float64[G] with :math:`x_j = j h`, :math:`j = 1..G`, and the spacing :math:`h = 1/(G+1)`.

    Raises:
      TypeError: ``n_points`` not an integer.
      ValueError: ``n_points`` < 3.
    """
    g = _v.count("n_points", n_points, minimum=3)
    h = 1.0 / (g + 1)
    return h * np.arange(1, g + 1, dtype=np.float64), h


def gaussian_wells(key, n_samples: int, x, *, n_wells: int = 3, depth=(1.0, 10.0), width=(0.03, 0.1),
                   centre=(0.4, 0.6)) -> np.ndarray:
    r"""Random potentials :math:`v(x) = -\sum_{i=1}^{n_{\rm wells}} a_i \exp[-(x - c_i)^2 / (2 b_i^2)]`.

    Depths :math:`a_i`, widths :math:`b_i` and centres :math:`c_i` are drawn independently and uniformly from the
    given ranges (Snyder et al. 2012 use three wells with :math:`a \in [1, 10]`, :math:`b \in [0.03, 0.1]`,
    :math:`c \in [0.4, 0.6]`, the defaults).

    Args:
      key: a JAX random key (``jax.random.key(seed)``).
      n_samples: number of potentials.
      x: float[G], the grid (from :func:`box_grid`).
      n_wells: wells per potential.
      depth, width, centre: ``(low, high)`` ranges of :math:`a`, :math:`b`, :math:`c`; widths must be > 0.

    Returns:
      float64[n_samples, G], the potentials in hartree.

    Raises:
      TypeError: a bad key or non-integer counts.
      ValueError: a non-positive count, a bad grid, or a range that is not ``low <= high`` (widths > 0).
    """
    import jax

    _v.key(key)
    n_samples = _v.count("n_samples", n_samples, minimum=1)
    n_wells = _v.count("n_wells", n_wells, minimum=1)
    x = _v.numpy_array("x", x, ndim=1)
    ranges = []
    for name, r in (("depth", depth), ("width", width), ("centre", centre)):
        if not isinstance(r, (tuple, list)) or len(r) != 2:
            raise TypeError(f"{name} must be a (low, high) pair, got {r!r}")
        lo, hi = _v.real(f"{name}[0]", r[0]), _v.real(f"{name}[1]", r[1])
        if lo > hi:
            raise ValueError(f"{name} must be (low, high) with low <= high, got {r!r}")
        ranges.append((lo, hi))
    if ranges[1][0] <= 0:
        raise ValueError(f"width must be > 0, got {width!r}")
    u = np.asarray(jax.random.uniform(key, (n_samples, n_wells, 3)), dtype=np.float64)
    lo = np.array([r[0] for r in ranges])
    hi = np.array([r[1] for r in ranges])
    a, b, c = np.moveaxis(lo + (hi - lo) * u, -1, 0)                        # each [n_samples, n_wells]
    return -np.sum(a[..., None] * np.exp(-(x - c[..., None]) ** 2 / (2 * b[..., None] ** 2)), axis=1)


class BoxStates(NamedTuple):
    """The lowest eigenstates of the box Hamiltonian.

    Attributes:
      levels: float64[batch, n_states], the eigenvalues in increasing order (hartree).
      orbitals: float64[batch, n_states, G], normalised as :math:`h\\sum_j \\phi_j^2 = 1`, positive at the
        first interior point.
      h: the grid spacing.
    """

    levels: np.ndarray
    orbitals: np.ndarray
    h: float


def solve_box(potentials, *, n_states: int) -> BoxStates:
    r"""Lowest eigenstates of :math:`-\tfrac12 d^2/dx^2 + v(x)` on :math:`[0, 1]` with hard walls (second-order
    finite differences on the interior points; error :math:`O(h^2)`: for :math:`v = 0` the levels are
    :math:`(1 - \cos n\pi h)/h^2 = n^2\pi^2/2 - n^4\pi^4h^2/24 + \dots`).

    The Hamiltonian is tridiagonal, so each potential is solved by LAPACK's tridiagonal eigensolver for the
    ``n_states`` lowest pairs only, which is several times faster on a CPU than a batched dense ``eigh``.

    Args:
      potentials: float[G] or float[batch, G], :math:`v(x_j)` on the interior points (hartree).
      n_states: number of lowest states to return (1 <= n_states <= G).

    Returns:
      :class:`BoxStates` with a batch axis (of 1 for a single potential).

    Raises:
      TypeError: non-numeric input.
      ValueError: wrong shape, non-finite entries, ``n_states`` out of range.
    """
    from scipy.linalg import eigh_tridiagonal

    v = _v.numpy_array("potentials", potentials)
    if v.ndim not in (1, 2) or v.shape[-1] < 3:
        raise ValueError(f"potentials must have shape [G] or [batch, G] with G >= 3, got {v.shape}")
    v = np.atleast_2d(v)
    g = v.shape[-1]
    n_states = _v.count("n_states", n_states, minimum=1)
    if n_states > g:
        raise ValueError(f"n_states must be <= G = {g}, got {n_states}")
    h = 1.0 / (g + 1)
    off = np.full(g - 1, -0.5 / h**2)
    levels = np.empty((v.shape[0], n_states))
    orbitals = np.empty((v.shape[0], n_states, g))
    for b in range(v.shape[0]):
        w, u = eigh_tridiagonal(1.0 / h**2 + v[b], off, select="i", select_range=(0, n_states - 1))
        levels[b] = w
        orbitals[b] = u.T / np.sqrt(h)
    orbitals *= np.sign(orbitals[..., :1] + (orbitals[..., :1] == 0))
    return BoxStates(levels, orbitals, h)


class GroundState(NamedTuple):
    """The ground state of ``N`` non-interacting spinless fermions.

    Attributes:
      density: float64[batch, G], :math:`n(x_j) = \\sum_{i<N}\\phi_i(x_j)^2`, with :math:`h\\sum_j n_j = N`.
      kinetic: float64[batch], :math:`T_s = \\sum_{i<N}\\varepsilon_i - h\\sum_j v_j n_j` (hartree).
      energy: float64[batch], :math:`E = \\sum_{i<N}\\varepsilon_i`.
      mu: float64[batch], the chemical potential :math:`\\varepsilon_N` (the highest occupied level).
    """

    density: np.ndarray
    kinetic: np.ndarray
    energy: np.ndarray
    mu: np.ndarray


def fermion_ground_state(states: BoxStates, potentials, n_particles: int) -> GroundState:
    r"""Fill the lowest ``n_particles`` orbitals of :func:`solve_box` (spinless fermions, one per orbital).

    Args:
      states: the :class:`BoxStates` of ``potentials``, with at least ``n_particles`` states.
      potentials: float[G] or float[batch, G], the potentials ``states`` was computed for.
      n_particles: ``N`` >= 1.

    Returns:
      :class:`GroundState`.

    Raises:
      TypeError: ``states`` not a :class:`BoxStates`, non-integer ``n_particles``.
      ValueError: too few states, shapes that do not match.
    """
    if not isinstance(states, BoxStates):
        raise TypeError(f"states must be the BoxStates returned by solve_box, got {type(states).__name__}")
    n = _v.count("n_particles", n_particles, minimum=1)
    if n > states.levels.shape[1]:
        raise ValueError(f"n_particles = {n} needs at least {n} states; solve_box gave {states.levels.shape[1]}")
    v = np.atleast_2d(_v.numpy_array("potentials", potentials))
    if v.shape != states.orbitals.shape[::2]:
        raise ValueError(f"potentials must have shape {states.orbitals.shape[::2]} to match states, got {v.shape}")
    density = np.sum(states.orbitals[:, :n] ** 2, axis=1)
    energy = states.levels[:, :n].sum(axis=1)
    return GroundState(density, energy - states.h * np.sum(v * density, axis=1), energy, states.levels[:, n - 1])


def _sqrt_padded(n):
    s = np.sqrt(n)
    pad = np.zeros(s.shape[:-1] + (1,))
    return np.concatenate([pad, s, pad], axis=-1)                    # sqrt(n) = 0 on the walls


def von_weizsacker(density, h) -> np.ndarray:
    r"""The von Weizsäcker functional :math:`T_W[n] = \tfrac18\int n'^2/n\,dx = \tfrac12\int (\sqrt n\,')^2 dx`.

    Discretised as :math:`\tfrac12\sum_{j=0}^{G} (s_{j+1} - s_j)^2/h` with :math:`s = \sqrt n` and :math:`s = 0`
    on the walls. For one particle :math:`s = \phi_1` and, by summation by parts, this equals the finite-difference
    kinetic energy of :func:`fermion_ground_state` to rounding; for more particles :math:`T_W < T_s`.

    Args:
      density: float[G] or float[batch, G], non-negative, on the interior points.
      h: the grid spacing ``1/(G + 1)``.

    Returns:
      float64[] or float64[batch], in hartree.

    Raises:
      TypeError: non-numeric input.
      ValueError: negative or non-finite density, a spacing that does not match the grid.
    """
    h = _grid_spacing(h)
    n = _densities("density", density, h)
    return 0.5 * np.sum(np.diff(_sqrt_padded(n), axis=-1) ** 2, axis=-1) / h


def von_weizsacker_derivative(density, h) -> np.ndarray:
    r"""Functional derivative :math:`\delta T_W/\delta n = -\tfrac12 (\sqrt n)''/\sqrt n` of the discretised
    :func:`von_weizsacker` (:math:`h^{-1}\partial T_W/\partial n_j`). For one particle it equals
    :math:`\varepsilon_1 - v(x)`, the exact derivative from the Euler equation.

    Args:
      density: float[G] or float[batch, G], strictly positive on the interior points.
      h: the grid spacing.

    Returns:
      float64[G] or float64[batch, G] (hartree).

    Raises:
      TypeError: non-numeric input.
      ValueError: a density that is not > 0 everywhere, a spacing that does not match.
    """
    h = _grid_spacing(h)
    n = _densities("density", density, h, positive=True)
    s = _sqrt_padded(n)
    lap = (s[..., 2:] - 2 * s[..., 1:-1] + s[..., :-2]) / h**2
    return -0.5 * lap / s[..., 1:-1]


class KernelRidge(NamedTuple):
    """A fitted kernel ridge regression :math:`T(n) = \\bar T + \\sum_i \\alpha_i k(n, n_i)`.

    Attributes:
      train_densities: float64[M, G].
      weights: float64[M], the :math:`\\alpha_i`.
      offset: the mean training target :math:`\\bar T`.
      sigma: the kernel's length scale.
      ridge: the regularisation :math:`\\lambda`.
      h: the grid spacing (the kernel uses :math:`\\|n - n'\\|^2 = h\\sum_j (n_j - n'_j)^2`).
    """

    train_densities: np.ndarray
    weights: np.ndarray
    offset: float
    sigma: float
    ridge: float
    h: float


def _sqdist(a, b, h):
    d = np.sum(a**2, 1)[:, None] + np.sum(b**2, 1)[None] - 2 * a @ b.T
    return h * np.maximum(d, 0.0)


def gaussian_kernel_matrix(a, b, *, sigma: float, h: float) -> np.ndarray:
    r"""Gaussian kernel between densities, :math:`k(n, n') = \exp(-\|n - n'\|^2 / 2\sigma^2)` with the
    discretised :math:`L^2` norm :math:`\|f\|^2 = h\sum_j f_j^2`.

    Args:
      a: float[A, G] densities.
      b: float[B, G] densities on the same grid.
      sigma: length scale > 0.
      h: the grid spacing.

    Returns:
      float64[A, B].

    Raises:
      TypeError: non-numeric input.
      ValueError: bad shapes, non-positive ``sigma`` or ``h``.
    """
    a = _v.numpy_array("a", a, ndim=2)
    b = _v.numpy_array("b", b, ndim=2)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must be on the same grid, got shapes {a.shape} and {b.shape}")
    sigma = _v.positive_float("sigma", sigma)
    return np.exp(-_sqdist(a, b, _grid_spacing(h)) / (2 * sigma**2))


def _training_set(densities, targets, h):
    n = _densities("densities", densities, h)
    if n.ndim != 2 or n.shape[0] < 2:
        raise ValueError(f"densities must have shape [M, G] with M >= 2, got {n.shape}")
    y = _v.numpy_array("targets", targets, ndim=1)
    if y.shape[0] != n.shape[0]:
        raise ValueError(f"targets must have one entry per density, shape ({n.shape[0]},), got {y.shape}")
    return n, y


def fit_kernel_ridge(densities, targets, *, sigma: float, ridge: float, h: float) -> KernelRidge:
    r"""Kernel ridge regression with the Gaussian :func:`gaussian_kernel_matrix`:
    :math:`\alpha = (K + \lambda\mathbb 1)^{-1}(y - \bar y)`, :math:`T(n) = \bar y + \sum_i\alpha_i k(n, n_i)`.

    Args:
      densities: float[M, G], the training densities (M >= 2).
      targets: float[M], their kinetic energies.
      sigma: kernel length scale > 0.
      ridge: :math:`\lambda` >= 0 (0 interpolates the data exactly when :math:`K` is invertible).
      h: the grid spacing.

    Returns:
      :class:`KernelRidge`.

    Raises:
      TypeError: non-numeric input.
      ValueError: bad shapes, negative densities, non-positive ``sigma``, negative ``ridge``.
    """
    h = _grid_spacing(h)
    n, y = _training_set(densities, targets, h)
    sigma = _v.positive_float("sigma", sigma)
    ridge = _v.positive_float("ridge", ridge, allow_zero=True)
    k = gaussian_kernel_matrix(n, n, sigma=sigma, h=h)
    offset = float(y.mean())
    alpha = np.linalg.solve(k + ridge * np.eye(len(y)), y - offset)
    return KernelRidge(n, alpha, offset, sigma, ridge, h)


def _model(model):
    if not isinstance(model, KernelRidge):
        raise TypeError(f"model must be the KernelRidge returned by fit_kernel_ridge, got {type(model).__name__}")
    return model


def _query(model, density):
    n = _densities("density", density)
    if n.shape[-1] != model.train_densities.shape[1]:
        raise ValueError(f"density must be on the model's grid of G = {model.train_densities.shape[1]} points, "
                         f"got shape {n.shape}")
    return n


def kernel_ridge_predict(model: KernelRidge, density) -> np.ndarray:
    """Evaluate a :class:`KernelRidge` functional.

    Args:
      model: from :func:`fit_kernel_ridge`.
      density: float[G] or float[batch, G].

    Returns:
      float64[] or float64[batch].

    Raises:
      TypeError: ``model`` not a :class:`KernelRidge`, non-numeric density.
      ValueError: a density on another grid, or negative.
    """
    model = _model(model)
    n = _query(model, density)
    k = gaussian_kernel_matrix(np.atleast_2d(n), model.train_densities, sigma=model.sigma, h=model.h)
    out = model.offset + k @ model.weights
    return out if n.ndim == 2 else out[0]


def kernel_ridge_derivative(model: KernelRidge, density) -> np.ndarray:
    r"""Functional derivative of a :class:`KernelRidge` functional,
    :math:`\delta T/\delta n(x) = -\sigma^{-2}\sum_i \alpha_i k(n, n_i)\,[n(x) - n_i(x)]`.

    Args:
      model: from :func:`fit_kernel_ridge`.
      density: float[G] or float[batch, G].

    Returns:
      float64[G] or float64[batch, G] (hartree).

    Raises:
      TypeError: ``model`` not a :class:`KernelRidge`, non-numeric density.
      ValueError: a density on another grid, or negative.
    """
    model = _model(model)
    n = _query(model, density)
    n2 = np.atleast_2d(n)
    w = gaussian_kernel_matrix(n2, model.train_densities, sigma=model.sigma, h=model.h) * model.weights   # [B, M]
    out = -(w.sum(1)[:, None] * n2 - w @ model.train_densities) / model.sigma**2
    return out if n.ndim == 2 else out[0]


def loo_hyperparameters(densities, targets, *, h: float, sigmas, ridges):
    r"""Choose :math:`(\sigma, \lambda)` by leave-one-out cross-validation on a grid, in closed form.

    For kernel ridge regression the leave-one-out residual of point :math:`i` is
    :math:`\alpha_i / [(K + \lambda\mathbb 1)^{-1}]_{ii}`; one eigendecomposition of :math:`K` per
    :math:`\sigma` serves every :math:`\lambda`. (The mean offset is taken from all M points, a negligible leak.)

    Args:
      densities: float[M, G].
      targets: float[M].
      h: the grid spacing.
      sigmas: 1-D array of length scales > 0.
      ridges: 1-D array of :math:`\lambda` > 0.

    Returns:
      ``(sigma, ridge, loo_rmse)``: the best pair and the root-mean-square leave-one-out error float64[S, R].

    Raises:
      TypeError: non-numeric input.
      ValueError: bad shapes, non-positive grid values.
    """
    h = _grid_spacing(h)
    n, y = _training_set(densities, targets, h)
    sigmas = _v.numpy_array("sigmas", sigmas, ndim=1)
    ridges = _v.numpy_array("ridges", ridges, ndim=1)
    for name, arr in (("sigmas", sigmas), ("ridges", ridges)):
        if np.any(arr <= 0):
            raise ValueError(f"{name} must all be > 0, got min {arr.min()!r}")
    d2 = _sqdist(n, n, h)
    yc = y - y.mean()
    rmse = np.empty((len(sigmas), len(ridges)))
    for i, s in enumerate(sigmas):
        lam, u = np.linalg.eigh(np.exp(-d2 / (2 * s**2)))
        uy = u.T @ yc
        for j, r in enumerate(ridges):
            inv = 1.0 / (lam + r)
            alpha = u @ (inv * uy)
            diag = np.einsum("ik,k,ik->i", u, inv, u)
            rmse[i, j] = np.sqrt(np.mean((alpha / diag) ** 2))
    i, j = np.unravel_index(np.argmin(rmse), rmse.shape)
    return float(sigmas[i]), float(ridges[j]), rmse


def local_pca_basis(train_densities, density, *, n_neighbours: int, n_components: int) -> np.ndarray:
    r"""Tangent space of the data manifold near ``density``: the leading principal directions of its
    ``n_neighbours`` nearest training densities (Euclidean distance), centred on their mean.

    Training densities of the same particle number all integrate to ``N``, so every direction returned
    integrates to zero (to rounding): a step along them keeps :math:`\int n\,dx`.

    Args:
      train_densities: float[M, G].
      density: float[G].
      n_neighbours: how many nearest training densities (``n_components < n_neighbours <= M``).
      n_components: how many principal directions (>= 1).

    Returns:
      float64[G, n_components], orthonormal columns (Euclidean).

    Raises:
      TypeError: non-numeric input or non-integer counts.
      ValueError: bad shapes or counts out of range.
    """
    t = _v.numpy_array("train_densities", train_densities, ndim=2)
    n = _v.numpy_array("density", density, ndim=1)
    if n.shape[0] != t.shape[1]:
        raise ValueError(f"density must be on the grid of train_densities (G = {t.shape[1]}), got shape {n.shape}")
    q = _v.count("n_components", n_components, minimum=1)
    m = _v.count("n_neighbours", n_neighbours, minimum=q + 1)
    if m > t.shape[0]:
        raise ValueError(f"n_neighbours must be <= the number of training densities {t.shape[0]}, got {m}")
    near = t[np.argsort(np.sum((t - n) ** 2, axis=1))[:m]]
    _, _, vt = np.linalg.svd(near - near.mean(0), full_matrices=False)
    return vt[:q].T


class DensityDescentState(NamedTuple):
    """State of :func:`density_descent_kernel`.

    Attributes:
      density: float64[G], the current density.
      energy: :math:`E[n] = T_{\\rm ML}[n] + h\\sum_j v_j n_j` at it (hartree).
      n_steps: steps taken.
    """

    density: np.ndarray
    energy: float
    n_steps: int


class DensityDescentInfo(NamedTuple):
    """What one step of :func:`density_descent_kernel` reports.

    Attributes:
      energy: the energy after the step.
      gradient_norm: :math:`\\|P\\,\\delta E/\\delta n\\|` (the norm :math:`h\\sum_j f_j^2`) of the gradient used.
      n_particles: :math:`h\\sum_j n_j` after the step.
      converged: whether ``gradient_norm`` < ``tol``.
    """

    energy: float
    gradient_norm: float
    n_particles: float
    converged: bool


def density_descent_kernel(model: KernelRidge, potential, *, step_size: float, project: bool = True,
                           n_neighbours: int = 20, n_components: int = 4, tol: float = 1e-4) -> Kernel:
    r"""Gradient descent of :math:`E[n] = T_{\rm ML}[n] + \int v\,n\,dx` at fixed :math:`\int n\,dx`.

    With ``project=True`` (Snyder et al. 2012) the gradient :math:`\delta E/\delta n` is projected on the span
    of :func:`local_pca_basis` at the current density, so the density moves along the data manifold; with
    ``project=False`` only its mean is removed (the projection that keeps :math:`\int n`). The step is
    :math:`n \leftarrow n - \eta\,P\,\delta E/\delta n`. Deterministic: ``step(state) -> (state, info)``.

    Args:
      model: the learned functional, from :func:`fit_kernel_ridge`.
      potential: float[G], :math:`v(x_j)`.
      step_size: :math:`\eta` > 0.
      project: project on the local principal components (True) or not.
      n_neighbours, n_components: of :func:`local_pca_basis`.
      tol: gradient-norm threshold reported as ``converged``.

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(density) -> DensityDescentState``.

    Raises:
      TypeError: ``model`` not a :class:`KernelRidge`, non-numeric arguments.
      ValueError: a potential on another grid, non-positive step size or tolerance, bad PCA counts.
    """
    model = _model(model)
    v = _v.numpy_array("potential", potential, ndim=1)
    g = model.train_densities.shape[1]
    if v.shape != (g,):
        raise ValueError(f"potential must have shape ({g},) like the model's densities, got {v.shape}")
    eta = _v.positive_float("step_size", step_size)
    tol = _v.positive_float("tol", tol)
    project = _v.boolean("project", project)
    q = _v.count("n_components", n_components, minimum=1)
    m = _v.count("n_neighbours", n_neighbours, minimum=q + 1)
    if m > model.train_densities.shape[0]:
        raise ValueError(f"n_neighbours must be <= the {model.train_densities.shape[0]} training densities, got {m}")
    h = model.h
    t = model.train_densities
    t2 = np.sum(t**2, axis=1)

    def evaluate(n):
        """Energy, gradient dE/dn and squared distances to the training densities, from one distance computation."""
        d2 = h * np.maximum(t2 + n @ n - 2 * t @ n, 0.0)
        w = np.exp(-d2 / (2 * model.sigma**2)) * model.weights
        e = model.offset + w.sum() + h * v @ n
        return e, -(w.sum() * n - w @ t) / model.sigma**2 + v, d2

    def init(density):
        n = _v.numpy_array("density", density, ndim=1)
        if n.shape != (g,):
            raise ValueError(f"density must have shape ({g},), got {n.shape}")
        return DensityDescentState(n.copy(), float(evaluate(np.maximum(n, 0.0))[0]), 0)

    def step(state):
        n = state.density
        _, grad, d2 = evaluate(np.maximum(n, 0.0))
        if project:                                   # local_pca_basis, sharing the distances computed above
            near = t[np.argpartition(d2, m - 1)[:m]]
            _, _, vt = np.linalg.svd(near - near.mean(0), full_matrices=False)
            grad = vt[:q].T @ (vt[:q] @ grad)
        else:
            grad = grad - grad.mean()
        n = n - eta * grad
        gnorm = float(np.sqrt(h * grad @ grad))
        e = float(evaluate(np.maximum(n, 0.0))[0])
        return DensityDescentState(n, e, state.n_steps + 1), DensityDescentInfo(e, gnorm, float(h * n.sum()),
                                                                               gnorm < tol)

    return Kernel(init, step)


def density_descent(model: KernelRidge, potential, density, *, step_size: float, n_steps: int, project: bool = True,
                    n_neighbours: int = 20, n_components: int = 4, tol: float = 1e-4):
    r"""Run :func:`density_descent_kernel` for ``n_steps`` steps from ``density``.

    Args:
      model, potential, step_size, project, n_neighbours, n_components, tol: as in :func:`density_descent_kernel`.
      density: float[G], the starting density.
      n_steps: number of steps >= 1.

    Returns:
      ``(state, history)``: the final :class:`DensityDescentState`, and a :class:`DensityDescentInfo` of
      NumPy arrays float[n_steps] (``converged`` is the last step's flag: check it before trusting the result).

    Raises:
      TypeError, ValueError: as :func:`density_descent_kernel`; ``n_steps`` < 1.
    """
    kernel = density_descent_kernel(model, potential, step_size=step_size, project=project,
                                    n_neighbours=n_neighbours, n_components=n_components, tol=tol)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    state = kernel.init(density)
    infos = []
    for _ in range(n_steps):
        state, info = kernel.step(state)
        infos.append(info)
    hist = DensityDescentInfo(*(np.array([getattr(i, f) for i in infos]) for f in DensityDescentInfo._fields[:3]),
                              bool(infos[-1].converged))
    return state, hist
