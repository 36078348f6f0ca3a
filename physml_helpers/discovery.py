r"""Discovering laws from data (chapter 9): power laws, sparse dynamics, conservation laws.

* :func:`power_law_fit` fits :math:`y = C x^n` by least squares on :math:`\ln y = \ln C + n\ln x`, with
  standard errors from the residual scatter.
* :func:`symbolic_search` enumerates small formulas (constants by least squares) and
  :func:`pareto_front` keeps those that no simpler formula fits as well.
* :func:`polynomial_library` and :func:`sindy` identify sparse dynamics :math:`\dot x = \Theta(x)\,\Xi` by
  sequentially thresholded least squares (SINDy).
* :func:`power_law_search` fits products of powers with *continuous* exponents (and an optional offset) to
  every subset of the variables and ranks the models by the Bayesian information criterion.
* :func:`sindy_batch` runs the same thresholded least squares on a batch of problems (for example one per
  noise draw) at once, under ``jax.vmap``, from the normal equations.
* :func:`null_space`, :func:`sparsest_null_vector` and :func:`sparse_null_basis` find the linear
  combinations :math:`c` of features whose changes vanish in every observed event, :math:`A c = 0`: conservation laws.
* :func:`largest_lyapunov_exponent` measures the largest Lyapunov exponent of a flow (Benettin's method), an
  invariant that tells whether an identified model reproduces the chaos of the true one.

All functions but two take and return NumPy arrays (the problems are small and linear-algebraic);
:func:`sindy_batch` and :func:`largest_lyapunov_exponent` compute with JAX.
"""

from __future__ import annotations

import functools
import itertools
from typing import NamedTuple

import numpy as np

from physml_helpers import _validation as _v
from physml_helpers._kernels import ConvergenceError

__all__ = [
    "load_planets", "PowerLawFit", "power_law_fit", "Expression", "symbolic_search", "pareto_front",
    "polynomial_library", "sindy", "null_space", "sparsest_null_vector", "sparse_null_basis",
    "COLLISION_FEATURES", "simulate_collisions", "collision_features", "PowerLawModel", "power_law_search",
    "largest_lyapunov_exponent", "sindy_batch",
]


def load_planets() -> dict:
    """The eight planets' semi-major axes, sidereal periods and masses, shipped with the package.

    Sources (in the file's header): semi-major axes and rates of mean longitude from Standish's JPL table of
    mean orbital elements at J2000 (one fit to the JPL ephemeris over 1800-2050, so ``a_au`` and
    ``period_jpl_days`` are a consistent pair); sidereal periods ``period_days`` from the NASA Planetary
    Fact Sheets (another source); mass ratios from the IAU 2009 system of astronomical constants.

    Returns:
      ``{"planet": list[str], "a_au": float64[8], "period_days": float64[8], "sun_mass_ratio": float64[8],
      "mean_longitude_rate": float64[8], "period_jpl_days": float64[8]}``, Mercury to Neptune.
      ``sun_mass_ratio`` is the Sun's mass over the planet's (with its satellites);
      ``mean_longitude_rate`` is :math:`\\dot L` in degrees per Julian century (36525 days), and
      ``period_jpl_days`` the sidereal period it implies, :math:`P = 360 \\times 36525 / \\dot L` days.

    Raises:
      FileNotFoundError: the data file ``physml_helpers/data/planets.csv`` is missing (a broken install).
    """
    import csv
    from importlib import resources

    text = resources.files("physml_helpers").joinpath("data/planets.csv").read_text()
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    rate = np.array([float(row["mean_longitude_rate_deg_per_cy"]) for row in rows])
    return {
        "planet": [row["planet"] for row in rows],
        "a_au": np.array([float(row["a_au"]) for row in rows]),
        "period_days": np.array([float(row["period_days"]) for row in rows]),
        "sun_mass_ratio": np.array([float(row["sun_mass_ratio"]) for row in rows]),
        "mean_longitude_rate": rate,
        "period_jpl_days": 360.0 * 36525.0 / rate,
    }


class PowerLawFit(NamedTuple):
    """Result of ``power_law_fit(x, y, errors=True)``: the exponent and prefactor with the standard errors
    of the exponent and of the logarithm of the prefactor."""

    exponent: float
    prefactor: float
    exponent_error: float
    log_prefactor_error: float


def power_law_fit(x, y, *, errors: bool = False):
    r"""Least-squares fit of :math:`y \approx C x^n` on logarithmic axes.

    Fits :math:`\ln y = \ln C + n \ln x` by ordinary least squares. The standard errors are the usual ones
    of linear regression with the noise variance estimated from the residuals (``len(x) - 2`` degrees
    of freedom), so they describe the scatter of the data about the best line.

    Args:
      x: positive data float[N], N >= 3, with at least two distinct values.
      y: positive data float[N].
      errors: also return standard errors.

    Returns:
      ``(exponent, prefactor)``, that is :math:`(n, C)` as Python floats; with ``errors=True`` a
      :class:`PowerLawFit` ``(exponent, prefactor, exponent_error, log_prefactor_error)``.

    Raises:
      TypeError: ``x`` or ``y`` not an array of real numbers; ``errors`` not a bool.
      ValueError: ``x`` or ``y`` not 1-D, empty or non-finite; lengths that differ; fewer than 3 points;
        a value <= 0; all ``x`` equal.
    """
    errors = _v.boolean("errors", errors)
    x = _v.numpy_array("x", x, ndim=1)
    y = _v.numpy_array("y", y, ndim=1)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if x.size < 3:
        raise ValueError(f"power_law_fit needs at least 3 points (two parameters and an error estimate), got {x.size}")
    for name, values in (("x", x), ("y", y)):
        if np.any(values <= 0):
            raise ValueError(f"{name} must be positive for a fit on logarithmic axes, got {values[values <= 0][0]:.6g} "
                             f"at index {int(np.argmax(values <= 0))}")
    lx, ly = np.log(x), np.log(y)
    if np.ptp(lx) == 0:
        raise ValueError("x must take at least two distinct values")
    design = np.column_stack([np.ones_like(lx), lx])
    coef, _, _, _ = np.linalg.lstsq(design, ly, rcond=None)
    if not errors:
        return float(coef[1]), float(np.exp(coef[0]))
    residuals = ly - design @ coef
    sigma2 = residuals @ residuals / (x.size - 2)
    cov = sigma2 * np.linalg.inv(design.T @ design)
    return PowerLawFit(float(coef[1]), float(np.exp(coef[0])), float(np.sqrt(cov[1, 1])), float(np.sqrt(cov[0, 0])))


def polynomial_library(x, degree: int, names=None) -> tuple[np.ndarray, list[str]]:
    r"""All monomials of the state variables up to a total degree, the candidate terms of SINDy.

    Args:
      x: states ``[n_samples, n_vars]``.
      degree: largest total degree, >= 1 (degree 0, the constant, is always included).
      names: names of the variables (default ``x0, x1, ...``).

    Returns:
      ``(theta, terms)``: ``theta`` float64[n_samples, n_terms] with
      ``n_terms = binomial(n_vars + degree, degree)``, and the ``n_terms`` term names (``list[str]``), ordered
      by degree and then lexicographically, for example ``["1", "x", "y", "x^2", "x y", "y^2"]``.

    Raises:
      TypeError: ``x`` not an array of real numbers; ``degree`` not an integer; ``names`` not a sequence of
        strings (a single string included).
      ValueError: ``x`` not 2-D, empty or non-finite; ``degree`` < 1; ``names`` of the wrong length.
    """
    x = _v.numpy_array("x", x, ndim=2)
    degree = _v.count("degree", degree, minimum=1)
    n_vars = x.shape[1]
    if isinstance(names, (str, bytes)):
        raise TypeError(f"names must be a sequence of strings, one per column of x, got the string {names!r}; "
                        f"for example {list(names)!r}")
    if names is not None:
        try:
            names = list(names)
        except TypeError:
            raise TypeError(f"names must be a sequence of strings, got {type(names).__name__}") from None
        bad = [n for n in names if not isinstance(n, str)]
        if bad:
            raise TypeError(f"names must be strings, got {bad[0]!r} ({type(bad[0]).__name__})")
    names = names if names is not None else [f"x{i}" for i in range(n_vars)]
    if len(names) != n_vars:
        raise ValueError(f"names must have one entry per column of x ({n_vars}), got {len(names)}")
    columns, terms = [np.ones(x.shape[0])], ["1"]
    for d in range(1, int(degree) + 1):
        for combo in itertools.combinations_with_replacement(range(n_vars), d):
            columns.append(np.prod(x[:, combo], axis=1))
            powers = {i: combo.count(i) for i in sorted(set(combo))}
            terms.append(" ".join(names[i] + (f"^{p}" if p > 1 else "") for i, p in powers.items()))
    return np.column_stack(columns), terms


def sindy(theta, x_dot, *, threshold: float, max_iter: int = 20) -> np.ndarray:
    r"""Sparse regression :math:`\dot X \approx \Theta\,\Xi` by sequentially thresholded least squares.

    Start from the least-squares solution; repeatedly set coefficients with
    :math:`|\Xi_{ij}| <` ``threshold`` to zero and refit each equation on its remaining terms, until the set
    of active terms stops changing (Brunton, Proctor and Kutz, 2016). A round refits on the active terms
    and thresholds again; the result is returned only after a round that removed nothing, so every
    returned coefficient comes from a least-squares fit on exactly the returned support.

    Args:
      theta: library ``[n_samples, n_terms]`` (from :func:`polynomial_library`).
      x_dot: time derivatives ``[n_samples, n_vars]``.
      threshold: coefficients smaller than this in magnitude are removed, > 0.
      max_iter: largest number of threshold-and-refit rounds, >= 1.

    Returns:
      ``xi``: float64[n_terms, n_vars]; column ``j`` holds the coefficients of :math:`\dot x_j`, exactly zero
      for the removed terms.

    Raises:
      TypeError: ``theta`` or ``x_dot`` not an array of real numbers; ``threshold`` not a number;
        ``max_iter`` not an integer.
      ValueError: ``theta`` or ``x_dot`` not 2-D, empty or non-finite; different numbers of samples;
        ``threshold`` not finite and > 0; ``max_iter`` < 1.
      ConvergenceError: the set of active terms was still changing after ``max_iter`` rounds.
    """
    theta = _v.numpy_array("theta", theta, ndim=2)
    x_dot = _v.numpy_array("x_dot", x_dot, ndim=2)
    if theta.shape[0] != x_dot.shape[0]:
        raise ValueError(f"theta and x_dot must have the same number of samples, got {theta.shape[0]} and {x_dot.shape[0]}")
    threshold = _v.positive_float("threshold", threshold)
    max_iter = _v.count("max_iter", max_iter, minimum=1)
    xi = np.linalg.lstsq(theta, x_dot, rcond=None)[0]
    active = np.abs(xi) >= threshold
    for _ in range(int(max_iter)):
        xi = np.zeros_like(xi)
        for j in range(x_dot.shape[1]):
            if active[:, j].any():
                xi[active[:, j], j] = np.linalg.lstsq(theta[:, active[:, j]], x_dot[:, j], rcond=None)[0]
        new_active = active & (np.abs(xi) >= threshold)
        if np.array_equal(new_active, active):
            break
        removed = int(np.count_nonzero(active & ~new_active))
        active = new_active
    else:
        # the last round still removed terms: the support is not settled and xi was fitted on a larger one
        raise ConvergenceError(
            f"sindy did not converge: the set of active terms was still changing after max_iter = {max_iter} "
            f"threshold-and-refit rounds (the last round removed {removed} term(s), {int(active.sum())} remain); "
            f"raise max_iter, or change threshold (now {threshold:g})"
        )
    xi[~active] = 0.0
    return xi


def null_space(A, *, rtol: float = 1e-10) -> np.ndarray:
    r"""Orthonormal rows spanning :math:`\{c : Ac = 0\}`, from the singular value decomposition.

    A singular value counts as zero when it is at most ``rtol`` times the largest one (noisy data need a
    larger ``rtol``, set by the noise level).

    Args:
      A: matrix ``[n_events, n_features]``.
      rtol: relative threshold for zero singular values, > 0.

    Returns:
      float64[nullity, n_features] with orthonormal rows; shape ``[0, n_features]`` when only ``c = 0``
      solves it.

    Raises:
      TypeError: ``A`` not an array of real numbers; ``rtol`` not a number.
      ValueError: ``A`` not 2-D, empty or non-finite; ``rtol`` not in (0, 1).
    """
    A = _v.numpy_array("A", A, ndim=2)
    rtol = _v.positive_float("rtol", rtol)
    if rtol >= 1:
        raise ValueError(f"rtol must be a number in (0, 1), got {rtol!r}")
    return _null_rows(A, rtol * _largest_singular_value(A))


def _largest_singular_value(A: np.ndarray) -> float:
    return float(np.linalg.norm(A, 2)) if A.size else 0.0


def _null_rows(A: np.ndarray, threshold: float) -> np.ndarray:
    """Orthonormal rows spanning the right singular vectors whose singular values are <= threshold."""
    _, s, vt = np.linalg.svd(A, full_matrices=True)
    rank = int(np.sum(s > threshold)) if threshold > 0 else int(np.sum(s > 0))
    return vt[rank:].copy()


def sparsest_null_vector(A, *, rtol: float = 1e-10) -> np.ndarray:
    r"""The null vector of ``A`` with the fewest non-zero entries.

    The first row of :func:`sparse_null_basis`: supports of size 1, 2, ... are searched in turn, and the
    first support whose columns have a null vector gives the answer (ties between supports of one size go
    to the first in lexicographic order). Exhaustive, so meant for tens of features.

    Args:
      A: matrix ``[n_events, n_features]``.
      rtol: relative threshold for zero singular values (see :func:`null_space`).

    Returns:
      ``c``: float64[n_features] with :math:`Ac \approx 0`, scaled so that its largest entry in magnitude
      is exactly ``+1``.

    Raises:
      TypeError: ``A`` not an array of real numbers; ``rtol`` not a number.
      ValueError: ``A`` not 2-D, empty or non-finite; ``rtol`` not in (0, 1); the null space of ``A``
        trivial.
    """
    basis = sparse_null_basis(A, rtol=rtol, max_vectors=1)
    if basis.shape[0] == 0:
        raise ValueError("A has only the trivial null vector c = 0: no conserved combination in these data")
    return basis[0]


def sparse_null_basis(A, *, rtol: float = 1e-10, max_vectors: int | None = None) -> np.ndarray:
    r"""A basis of the null space of ``A`` made of the sparsest null vectors, found greedily.

    When several independent combinations are conserved, "the sparsest null vector" is not enough: the
    null space has a dimension, and any basis of it is as valid as any other. This picks the basis a
    physicist would write down. Supports (sets of columns) of size 1, 2, ... are searched in turn; a
    support whose columns have a null vector (a singular value at most ``rtol`` times the largest singular
    value of the whole of ``A``), and that contains no smaller support found to have one, gives
    a candidate. A candidate is kept when it is independent of those kept so far (smallest singular value
    of the stacked, normalized vectors above :math:`\sqrt{\text{rtol}}`), until there are as many as the
    null space's dimension. Skipping supersets of supports already found keeps measurement noise from
    passing off a known law plus a noise-sized extra coefficient as a new one.

    Args:
      A: matrix ``[n_events, n_features]``.
      rtol: relative threshold for zero singular values (see :func:`null_space`); with noisy data, a value
        inside the gap of the singular values of ``A``.
      max_vectors: stop after this many vectors (default: the dimension of the null space).

    Returns:
      float64[k, n_features], one null vector per row, each scaled so that its largest entry in magnitude is
      ``+1``, in order of increasing support (then lexicographic). Zero rows if the null space is trivial.

    Raises:
      TypeError: ``A`` not an array of real numbers; ``rtol`` not a number; ``max_vectors`` not an integer.
      ValueError: ``A`` not 2-D, empty or non-finite; ``rtol`` not in (0, 1); ``max_vectors`` < 1.
    """
    A = _v.numpy_array("A", A, ndim=2)
    n = A.shape[1]
    wanted = null_space(A, rtol=rtol).shape[0]
    if max_vectors is not None:
        wanted = min(wanted, _v.count("max_vectors", max_vectors, minimum=1))
    threshold = rtol * _largest_singular_value(A)  # one absolute threshold for every support
    kept: list[np.ndarray] = []
    null_supports: list[set] = []
    for k in range(1, n + 1):
        for support in itertools.combinations(range(n), k):
            if len(kept) == wanted:
                return np.array(kept).reshape(wanted, n)
            if any(found <= set(support) for found in null_supports):
                continue
            basis = _null_rows(A[:, support], threshold)
            if basis.shape[0] == 0:
                continue
            null_supports.append(set(support))
            c = np.zeros(n)
            c[list(support)] = basis[0]
            c /= c[np.argmax(np.abs(c))]
            stacked = np.array(kept + [c])
            stacked /= np.linalg.norm(stacked, axis=1, keepdims=True)
            if np.linalg.svd(stacked, compute_uv=False)[-1] > np.sqrt(rtol):
                kept.append(c)
    return np.array(kept).reshape(len(kept), n)


COLLISION_FEATURES = ("p1x", "p2x", "p1y", "p2y", "K1", "K2", "|v1|", "|v2|")


def simulate_collisions(key, n_events: int, *, restitution: float, noise: float = 0.0):
    r"""Random collisions of two smooth disks in the plane, with optional measurement noise.

    Masses are uniform in [0.5, 3], velocity components standard normal, and the direction of the line of
    centres at contact uniform, oriented so that the disks approach. The impulse acts along that line and
    reverses a fraction ``restitution`` of the relative normal velocity, :math:`u_n \to -e\,u_n`: momentum
    is conserved for every :math:`e`, kinetic energy only for :math:`e = 1`; otherwise
    :math:`\tfrac12\mu(1 - e^2)u_n^2` (:math:`\mu` the reduced mass) is lost.

    Args:
      key: JAX random key, as made by ``jax.random.key(seed)``.
      n_events: number of collisions, >= 1.
      restitution: coefficient of restitution in [0, 1].
      noise: standard deviation of Gaussian noise added to every measured velocity component, >= 0.

    Returns:
      ``(masses, before, after)``: masses float64[n_events, 2] and velocities float64[n_events, 2, 2]
      (event, disk, component), NumPy arrays.

    Raises:
      TypeError: ``key`` not a typed JAX key (a legacy ``uint32`` key included); ``n_events`` not an
        integer; ``restitution`` or ``noise`` not a number.
      ValueError: ``key`` a batch of keys; ``n_events`` < 1; ``restitution`` outside [0, 1]; ``noise``
        negative or not finite.
    """
    import jax

    _v.key(key)
    n_events = _v.count("n_events", n_events, minimum=1)
    e = _v.real("restitution", restitution)
    if not 0.0 <= e <= 1.0:
        raise ValueError(f"restitution must lie in [0, 1], got {e}")
    noise = _v.positive_float("noise", noise, allow_zero=True)
    k_m, k_v, k_angle, k_noise = jax.random.split(key, 4)
    m = np.asarray(jax.random.uniform(k_m, (n_events, 2), minval=0.5, maxval=3.0), dtype=float)
    v = np.asarray(jax.random.normal(k_v, (n_events, 2, 2)), dtype=float)
    angle = np.asarray(jax.random.uniform(k_angle, (n_events,), maxval=2 * np.pi), dtype=float)
    normal = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    approach = np.einsum("ni,ni->n", v[:, 0] - v[:, 1], normal)
    normal *= np.where(approach < 0, -1.0, 1.0)[:, None]  # the side on which disk 1 moves towards disk 2
    impulse = (1 + e) * m[:, 0] * m[:, 1] / m.sum(axis=1) * np.abs(approach)
    after = v.copy()
    after[:, 0] -= (impulse / m[:, 0])[:, None] * normal
    after[:, 1] += (impulse / m[:, 1])[:, None] * normal
    if noise > 0:
        errors = noise * np.asarray(jax.random.normal(k_noise, (2, n_events, 2, 2)), dtype=float)
        v, after = v + errors[0], after + errors[1]
    return m, v, after


def collision_features(masses, velocities) -> np.ndarray:
    r"""Per-particle features of two-disk states: momenta, kinetic energies and speeds.

    Args:
      masses: ``[n_events, 2]``.
      velocities: ``[n_events, 2, 2]`` (event, disk, component).

    Returns:
      float64[n_events, 8], columns named by :data:`COLLISION_FEATURES`:
      :math:`p_{1x}, p_{2x}, p_{1y}, p_{2y}, K_1, K_2, |\mathbf v_1|, |\mathbf v_2|`.

    Raises:
      TypeError: ``masses`` or ``velocities`` not an array of real numbers.
      ValueError: ``masses`` not 2-D or ``velocities`` not 3-D, either empty or non-finite; shapes other
        than ``[n, 2]`` and ``[n, 2, 2]``; a mass <= 0.
    """
    m = _v.numpy_array("masses", masses, ndim=2)
    v = _v.numpy_array("velocities", velocities, ndim=3)
    if m.shape[1] != 2 or v.shape != (m.shape[0], 2, 2):
        raise ValueError(f"masses must be [n, 2] and velocities [n, 2, 2], got {m.shape} and {v.shape}")
    if np.any(m <= 0):
        bad = np.argwhere(m <= 0)[0]
        raise ValueError(f"masses must be > 0, got {m[tuple(bad)]:.6g} at index {tuple(int(i) for i in bad)}")
    p = m[:, :, None] * v
    kinetic = 0.5 * m * np.sum(v**2, axis=-1)
    speed = np.linalg.norm(v, axis=-1)
    return np.column_stack([p[:, 0, 0], p[:, 1, 0], p[:, 0, 1], p[:, 1, 1], kinetic[:, 0], kinetic[:, 1],
                            speed[:, 0], speed[:, 1]])


# ---------------------------------------------------------------------------------------------------
# A small symbolic regression: enumerate formulas, fit their constants, keep the Pareto front
# ---------------------------------------------------------------------------------------------------

_DEFAULT_EXPONENTS = (-3.0, -2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0, 3.0)
_UNARY = {"exp": np.exp, "log": np.log, "sin": np.sin, "cos": np.cos}


class Expression(NamedTuple):
    """A fitted formula: its text, complexity (number of symbols), relative RMS error and constants."""

    formula: str
    complexity: int
    error: float
    constants: tuple


def _power_text(name: str, p: float) -> str:
    if p == 1:
        return name
    return f"{name}^{p:g}" if p > 0 else f"{name}^({p:g})"


def _fit(feature, y, offset: bool):
    """Constants minimizing the relative squared error sum(((y - model) / y)^2) of c*f (+ d)."""
    w = 1.0 / np.abs(y)
    columns = [feature] + ([np.ones_like(feature)] if offset else [])
    design = np.column_stack(columns) * w[:, None]
    coef, _, _, _ = np.linalg.lstsq(design, y * w, rcond=None)
    model = np.column_stack(columns) @ coef
    return coef, float(np.sqrt(np.mean(((y - model) / y) ** 2)))


def symbolic_search(variables: dict, y, *, max_complexity: int = 7, exponents=_DEFAULT_EXPONENTS,
                    unary=("exp", "log", "sin", "cos")) -> list[Expression]:
    r"""Enumerate small formulas for ``y`` and fit their constants by least squares.

    The formulas are :math:`c\,f` and :math:`c\,f + d`, where :math:`f` is either a product of powers of
    one or two variables, :math:`x_i^{p}\,x_j^{q}` with exponents from ``exponents``, or a unary function
    of one variable, :math:`g(x_i)` with :math:`g` in ``unary``. The constants minimize the relative
    squared error :math:`\sum_k ((y_k - \hat y_k)/y_k)^2`, so every data point counts equally whatever its
    magnitude. The complexity counts symbols: 1 for each constant, 1 for a variable, 1 more for a power
    other than 1, 1 for a unary function, 1 for each operation joining two parts.

    Args:
      variables: ``{name: values}``, each an array of shape ``[n_samples]``.
      y: target values ``[n_samples]``, non-zero.
      max_complexity: largest complexity kept, >= 2.
      exponents: non-zero powers tried for each variable.
      unary: names of unary functions tried, from ``exp``, ``log``, ``sin``, ``cos``.

    Returns:
      ``list[Expression]``: all formulas up to ``max_complexity`` whose values are finite, sorted by
      complexity and then by error. Pass them to :func:`pareto_front`.

    Raises:
      TypeError: ``variables`` not a non-empty dict; ``y``, a variable's values or ``exponents`` not an
        array of real numbers; ``max_complexity`` not an integer; ``unary`` a single string.
      ValueError: ``y`` or a variable not 1-D, empty or non-finite; a variable of another shape than ``y``;
        ``y`` zero somewhere; ``max_complexity`` < 2; ``exponents`` not 1-D or non-finite; ``unary`` naming
        an unknown function.
    """
    if not isinstance(variables, dict) or not variables:
        raise TypeError(f"variables must be a non-empty dict {{name: array}}, got {type(variables).__name__}")
    y = _v.numpy_array("y", y, ndim=1)
    if np.any(y == 0):
        raise ValueError("y must be non-zero everywhere: the fit uses relative errors")
    data = {}
    for name, values in variables.items():
        arr = _v.numpy_array(f"variables[{name!r}]", values, ndim=1)
        if arr.shape != y.shape:
            raise ValueError(f"variables[{name!r}] must have the shape of y, {y.shape}, got {arr.shape}")
        data[str(name)] = arr
    max_complexity = _v.count("max_complexity", max_complexity, minimum=2)
    if isinstance(unary, str):
        raise TypeError(f"unary must be a sequence of names such as ({unary!r},), got the string {unary!r}")
    unknown = set(unary) - set(_UNARY)
    if unknown:
        raise ValueError(f"unary must name functions from {sorted(_UNARY)}, got unknown {sorted(unknown)}")
    exponents = _v.numpy_array("exponents", exponents, ndim=1, nonempty=False)
    powers = [float(p) for p in exponents if float(p) != 0]

    features = []  # (text, complexity of f, values)
    names = list(data)
    for name in names:
        for p in powers:
            features.append((_power_text(name, p), 1 + (p != 1), data[name] ** p))
        for g in unary:
            with np.errstate(all="ignore"):
                features.append((f"{g}({name})", 2, _UNARY[g](data[name])))
    for a, b in itertools.combinations(names, 2):
        for p, q in itertools.product(powers, powers):
            features.append((f"{_power_text(a, p)} {_power_text(b, q)}", 3 + (p != 1) + (q != 1), data[a] ** p * data[b] ** q))

    found = []
    for text, size, values in features:
        if not np.all(np.isfinite(values)):
            continue
        for offset in (False, True):
            complexity = size + 2 + (2 if offset else 0)  # c * f (+ d)
            if complexity > max_complexity:
                continue
            coef, error = _fit(values, y, offset)
            formula = f"{coef[0]:.6g} * {text}" + (f" + {coef[1]:.6g}" if offset else "")
            found.append(Expression(formula, int(complexity), error, tuple(float(c) for c in coef)))
    return sorted(found, key=lambda e: (e.complexity, e.error))


def pareto_front(expressions) -> list[Expression]:
    """The formulas that fit better than every simpler one: the best of each complexity, kept only if its
    error is lower than the error of all kept formulas of lower complexity. Sorted by complexity.

    Args:
      expressions: an iterable of :class:`Expression` (as returned by :func:`symbolic_search`).

    Returns:
      ``list[Expression]``, strictly increasing in complexity and strictly decreasing in error; empty when
      ``expressions`` is.

    Raises:
      TypeError: ``expressions`` not iterable, or an element of it not an :class:`Expression`.
    """
    try:
        expressions = list(expressions)
    except TypeError:
        raise TypeError(f"expressions must be an iterable of Expression, got {type(expressions).__name__}") from None
    for i, expr in enumerate(expressions):
        if not isinstance(expr, Expression):
            raise TypeError(f"expressions[{i}] must be an Expression (as returned by symbolic_search), "
                            f"got {type(expr).__name__}")
    front = []
    for expr in sorted(expressions, key=lambda e: (e.complexity, e.error)):
        if not front or (expr.complexity > front[-1].complexity and expr.error < front[-1].error):
            front.append(expr)
    return front



# ---------------------------------------------------------------------------------------------------
# Continuous exponents and an information criterion: a search that can return an exponent off any grid
# ---------------------------------------------------------------------------------------------------


class PowerLawModel(NamedTuple):
    r"""A fitted model :math:`y = c\prod_i x_i^{p_i}` (``+ d`` with an offset), from :func:`power_law_search`.

    ``variables`` and ``exponents`` (with standard errors ``exponent_errors``) name the product;
    ``constants`` is ``(c,)`` or ``(c, d)``; ``n_params`` counts every fitted number; ``rss`` is the sum of
    squared relative residuals :math:`\sum_k ((y_k - \hat y_k)/y_k)^2`; ``bic`` the Bayesian information
    criterion; ``chi2_per_dof`` is ``rss / noise**2 / (N - n_params)`` (NaN when no noise level was given).
    """

    formula: str
    variables: tuple
    exponents: tuple
    exponent_errors: tuple
    constants: tuple
    n_params: int
    rss: float
    bic: float
    chi2_per_dof: float


def _projected_fit(logs: np.ndarray, y: np.ndarray, p: np.ndarray, offset: bool):
    """For fixed exponents p, the linear constants (c or c, d) minimizing the relative residuals."""
    f = np.exp(logs @ p) if logs.shape[1] else np.ones_like(y)
    columns = np.column_stack([f, np.ones_like(f)]) if offset else f[:, None]
    beta = np.linalg.lstsq(columns / y[:, None], np.ones_like(y), rcond=None)[0]
    return beta, f, 1.0 - columns @ beta / y


def power_law_search(variables: dict, y, *, noise=None, offset: bool = True,
                     max_variables: int = 3) -> list[PowerLawModel]:
    r"""Fit :math:`y = c\prod_{i\in S} x_i^{p_i}` (and :math:`+\,d`) with real exponents for every subset
    :math:`S` of the variables, and rank the models by the Bayesian information criterion.

    The exponents are not taken from a list: they are fitted, so the search can return :math:`a^{1.47}` as
    readily as :math:`a^{3/2}`. All models minimize the same loss, the sum of squared *relative*
    residuals :math:`\mathrm{RSS} = \sum_k ((y_k - \hat y_k)/y_k)^2` (variable projection: for given
    exponents, :math:`c` and :math:`d` follow by linear least squares; the exponents start from the
    straight-line fit on logarithmic axes and are refined by ``scipy.optimize.least_squares``). A model
    with :math:`k` fitted numbers is charged :math:`k\ln N`:

    .. math::  \mathrm{BIC} = \mathrm{RSS}/\sigma^2 + k\ln N \ \ (\text{noise } \sigma \text{ known}), \qquad
               \mathrm{BIC} = N\ln(\mathrm{RSS}/N) + k\ln N \ \ (\text{otherwise}).

    With a known noise level, ``chi2_per_dof`` near 1 (within a few :math:`\sqrt{2/(N-k)}`) says the model
    explains the data down to the noise; a value far above 1 says that *no* model in the search does,
    whatever the ranking: the law lies outside the grammar.

    Args:
      variables: ``{name: values}``, each positive, of shape ``[N]``.
      y: positive targets ``[N]``.
      noise: relative standard deviation of the measurement errors of ``y``, > 0, or ``None`` (unknown).
      offset: also fit the models with an additive constant :math:`d`.
      max_variables: largest number of variables in one product, >= 1.

    Returns:
      ``list[PowerLawModel]`` sorted by increasing BIC (the first is the preferred model); models with as
      many parameters as data points are left out. ``exponent_errors`` are the standard errors from the
      Jacobian at the optimum (scaled by ``noise`` when given, else by the residual scatter).

    Raises:
      TypeError: ``variables`` not a non-empty dict; ``y`` or a variable not an array of real numbers;
        ``noise`` not a number; ``offset`` not a bool; ``max_variables`` not an integer.
      ValueError: ``y`` or a variable not 1-D, empty, non-finite or not positive; a variable of another
        shape than ``y``; ``noise`` not > 0; ``max_variables`` < 1.
    """
    from scipy.optimize import least_squares

    if not isinstance(variables, dict) or not variables:
        raise TypeError(f"variables must be a non-empty dict {{name: array}}, got {type(variables).__name__}")
    y = _v.numpy_array("y", y, ndim=1)
    if np.any(y <= 0):
        raise ValueError(f"y must be positive (the search fits real powers and relative errors), "
                         f"got {y[y <= 0][0]:.6g} at index {int(np.argmax(y <= 0))}")
    data = {}
    for name, values in variables.items():
        arr = _v.numpy_array(f"variables[{name!r}]", values, ndim=1)
        if arr.shape != y.shape:
            raise ValueError(f"variables[{name!r}] must have the shape of y, {y.shape}, got {arr.shape}")
        if np.any(arr <= 0):
            raise ValueError(f"variables[{name!r}] must be positive for real powers, got {arr[arr <= 0][0]:.6g}")
        data[str(name)] = np.log(arr)
    if noise is not None:
        noise = _v.positive_float("noise", noise)
    offset = _v.boolean("offset", offset)
    max_variables = _v.count("max_variables", max_variables, minimum=1)

    n = y.size
    names = list(data)
    found = []
    for size in range(0, min(max_variables, len(names)) + 1):
        for subset in itertools.combinations(names, size):
            logs = np.column_stack([data[v] for v in subset]) if subset else np.zeros((n, 0))
            for with_offset in ((False, True) if (offset and subset) else (False,)):
                k = 1 + size + with_offset
                if k >= n:
                    continue
                # start from the straight line on logarithmic axes
                design = np.column_stack([np.ones(n), logs])
                p0 = np.linalg.lstsq(design, np.log(y), rcond=None)[0][1:]
                if size:
                    sol = least_squares(lambda p: _projected_fit(logs, y, p, with_offset)[2], p0, method="lm",
                                        xtol=1e-14, ftol=1e-14, gtol=1e-14)
                    p = sol.x
                else:
                    p = p0
                beta, f, resid = _projected_fit(logs, y, p, with_offset)
                rss = float(resid @ resid)
                # Jacobian of the relative residuals in all k parameters (c, exponents, d), for error bars
                jac = [-f / y] + [-beta[0] * f * logs[:, i] / y for i in range(size)]
                if with_offset:
                    jac.append(-1.0 / y)
                jac = np.column_stack(jac)
                scale2 = noise**2 if noise is not None else rss / (n - k)
                cov = scale2 * np.linalg.pinv(jac.T @ jac)
                errs = tuple(float(np.sqrt(max(cov[1 + i, 1 + i], 0.0))) for i in range(size))
                if noise is not None:
                    bic = rss / noise**2 + k * np.log(n)
                    chi2 = rss / noise**2 / (n - k)
                else:
                    bic = n * np.log(max(rss / n, 1e-300)) + k * np.log(n)
                    chi2 = float("nan")
                text = " ".join(f"{v}^{q:.5g}" if q >= 0 else f"{v}^({q:.5g})" for v, q in zip(subset, p))
                formula = f"{beta[0]:.6g}" + (f" * {text}" if text else "") + (f" + {beta[1]:.6g}" if with_offset else "")
                found.append(PowerLawModel(formula, tuple(subset), tuple(float(q) for q in p), errs,
                                           tuple(float(b) for b in beta), int(k), rss, float(bic), float(chi2)))
    return sorted(found, key=lambda m: m.bic)


# ---------------------------------------------------------------------------------------------------
# An invariant of chaotic dynamics: the largest Lyapunov exponent
# ---------------------------------------------------------------------------------------------------


def _lyapunov_chain(vector_field, x0, dt, params, n_steps: int, n_transient: int):
    import jax
    import jax.numpy as jnp

    f = vector_field if params is None else (lambda x: vector_field(x, params))

    def rk4_step(x):
        k1 = f(x)
        k2 = f(x + 0.5 * dt * k1)
        k3 = f(x + 0.5 * dt * k2)
        k4 = f(x + dt * k3)
        return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

    def step(carry, _):
        x, u = carry
        x_new, u_new = jax.jvp(rk4_step, (x,), (u,))  # the step and its linearization applied to u
        norm = jnp.linalg.norm(u_new)
        return (x_new, u_new / norm), jnp.log(norm)

    u0 = jnp.ones_like(x0) / jnp.sqrt(x0.size)
    carry, _ = jax.lax.scan(step, (x0, u0), None, length=n_transient) if n_transient else ((x0, u0), None)
    (x_end, _), logs = jax.lax.scan(step, carry, None, length=n_steps)
    return jnp.sum(logs) / (n_steps * dt), jnp.all(jnp.isfinite(x_end))


def largest_lyapunov_exponent(vector_field, x0, *, dt: float, n_steps: int, n_transient: int = 0, params=None):
    r"""The largest Lyapunov exponent of :math:`\dot{\mathbf x} = \mathbf f(\mathbf x)`, by Benettin's method.

    A tangent vector :math:`\mathbf u` is carried along the trajectory by the linearization of each
    fourth-order Runge–Kutta step (``jax.jvp``) and renormalized after every step; the exponent is the
    mean logarithmic growth per unit time,

    .. math::  \lambda_1 = \frac{1}{n\,\Delta t}\sum_{k=1}^{n} \ln \lVert D\Phi_{\Delta t}\,\mathbf u_{k-1}\rVert .

    The first ``n_transient`` steps (which bring the state onto the attractor and align :math:`\mathbf u`
    with the most unstable direction) are not counted. The whole run is one ``jax.lax.scan`` under
    ``jax.jit``; a batch of starting points runs under ``jax.vmap``, and the spread of their exponents
    gives an error bar, provided the trajectories are independent (start them at random points and let
    the transient decorrelate them; points taken from one trajectory a short time apart follow the same
    orbit and their exponents are nearly equal). With ``params``, the field is called as
    ``vector_field(x, params)`` and ``params`` is traced, so models that differ only in their
    parameters share one compilation. For a linear field :math:`\mathbf f = A\mathbf x` the result is the
    largest real part of the eigenvalues of :math:`A`, up to the :math:`O(\Delta t^4)` error of the step
    and an :math:`O(1/(n\Delta t))` term from the initial direction.

    Args:
      vector_field: ``x -> dx/dt`` (or ``(x, params) -> dx/dt``), JAX-traceable, float[d] to float[d].
      x0: starting point float[d], or a batch float[n_chains, d] of independent starting points.
      dt: time step, > 0.
      n_steps: number of counted steps, >= 1.
      n_transient: steps run first and not counted, >= 0.
      params: optional pytree of arrays passed to ``vector_field`` as its second argument (the same for
        every starting point).

    Returns:
      ``lam``: a JAX array, shape ``[]`` for one starting point or ``[n_chains]`` for a batch, in the
      dtype of ``x0``, in units of 1/time.

    Raises:
      TypeError: ``vector_field`` not callable; ``x0`` not an array of real numbers; ``dt`` not a number;
        ``n_steps`` or ``n_transient`` not an integer.
      ValueError: ``x0`` not 1-D or 2-D, empty or non-finite; ``vector_field`` returning another shape;
        ``dt`` not > 0; ``n_steps`` < 1; ``n_transient`` < 0; a trajectory that left the finite numbers
        (an unstable step or a field that blows up).
    """
    import jax

    vector_field = _v.callable_("vector_field", vector_field)
    x0 = _v.float_array("x0", x0, finite=True, nonempty=True)
    if x0.ndim not in (1, 2):
        raise ValueError(f"x0 must be one starting point [d] or a batch [n_chains, d], got shape {x0.shape}")
    dt = _v.positive_float("dt", dt)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    n_transient = _v.count("n_transient", n_transient, minimum=0)
    point = x0 if x0.ndim == 1 else x0[0]
    out = jax.eval_shape(vector_field, point) if params is None else jax.eval_shape(vector_field, point, params)
    if getattr(out, "shape", None) != point.shape:
        raise ValueError(f"vector_field must return an array of the state's shape {point.shape}, "
                         f"got {getattr(out, 'shape', type(out).__name__)}")
    lam, finite = _lyapunov_compiled(vector_field, n_steps, n_transient, params is None)(x0, x0.dtype.type(dt), params)
    if not bool(np.all(np.asarray(finite))):
        raise ValueError("a trajectory left the finite numbers: reduce dt, or start inside the basin of the "
                         "attractor (the vector field may blow up from these starting points)")
    return lam


@functools.lru_cache(maxsize=32)
def _lyapunov_compiled(vector_field, n_steps, n_transient, no_params):
    import jax

    def one(x0, dt, params):
        return _lyapunov_chain(vector_field, x0, dt, None if no_params else params, n_steps, n_transient)

    def run(x0, dt, params):
        if x0.ndim == 1:
            return one(x0, dt, params)
        return jax.vmap(one, in_axes=(0, None, None))(x0, dt, params)

    return jax.jit(run)


# ---------------------------------------------------------------------------------------------------
# SINDy for a batch of problems (one per noise draw), vectorized with jax.vmap
# ---------------------------------------------------------------------------------------------------


def _stlsq_gram(gram, rhs, threshold, max_iter: int):
    """Sequentially thresholded least squares from the normal equations G xi = b, with a fixed round budget."""
    import jax
    import jax.numpy as jnp

    def refit(active):  # active: bool[n_terms, n_vars]
        def one(mask, b):
            m = mask.astype(gram.dtype)
            # the inactive rows and columns become the identity, so their coefficients solve to exactly 0
            return jnp.linalg.solve(gram * m[:, None] * m[None, :] + jnp.diag(1.0 - m), b * m)
        return jax.vmap(one, in_axes=(1, 1), out_axes=1)(active, rhs)

    xi0 = jnp.linalg.solve(gram, rhs)
    active0 = jnp.abs(xi0) >= threshold

    def cond(carry):
        _, _, done, it = carry
        return (~done) & (it < max_iter)

    def body(carry):
        active, _, _, it = carry
        xi = refit(active)
        new_active = active & (jnp.abs(xi) >= threshold)
        done = jnp.all(new_active == active)
        return new_active, jnp.where(active, xi, 0.0), done, it + 1

    active, xi, done, _ = jax.lax.while_loop(cond, body, (active0, jnp.zeros_like(xi0), jnp.array(False), 0))
    return xi, done


@functools.lru_cache(maxsize=8)
def _stlsq_batched(max_iter: int):
    import jax

    def run(theta, x_dot, threshold):
        gram = _einsum("bnt,bns->bts", theta, theta)
        rhs = _einsum("bnt,bnv->btv", theta, x_dot)
        return jax.vmap(lambda g, b: _stlsq_gram(g, b, threshold, max_iter))(gram, rhs)

    return jax.jit(run)


def _einsum(*args):
    import jax.numpy as jnp

    return jnp.einsum(*args, precision="highest")


def sindy_batch(theta, x_dot, *, threshold: float, max_iter: int = 20):
    r""":func:`sindy` for a batch of independent problems at once (``jax.vmap`` under ``jax.jit``).

    Each problem is solved from its normal equations :math:`G = \Theta^\top\Theta`,
    :math:`b = \Theta^\top\dot X`: the threshold-and-refit rounds act on the small
    ``[n_terms, n_terms]`` matrices only, so a batch of noise draws costs little more than the products
    that form them. The rounds are those of :func:`sindy` (start from least squares, remove coefficients
    below ``threshold``, refit on the survivors, stop after a round that removed nothing), so both return
    the same model up to rounding; the normal equations square the condition number of
    :math:`\Theta`, which float64 absorbs for polynomial libraries of moderate degree.

    Args:
      theta: libraries float[batch, n_samples, n_terms] (one :func:`polynomial_library` per problem).
      x_dot: derivatives float[batch, n_samples, n_vars].
      threshold: coefficients smaller than this in magnitude are removed, > 0.
      max_iter: largest number of threshold-and-refit rounds, >= 1.

    Returns:
      ``(xi, converged)``: NumPy arrays float[batch, n_terms, n_vars] (exact zeros for removed terms) and
      bool[batch], whether the set of active terms had stopped changing within ``max_iter`` rounds (an
      unconverged model is returned as it stands, flagged, rather than raised, so that one bad draw does
      not stop a batch).

    Raises:
      TypeError: ``theta`` or ``x_dot`` not an array of real numbers; ``threshold`` not a number;
        ``max_iter`` not an integer.
      ValueError: ``theta`` or ``x_dot`` not 3-D, empty or non-finite; batch sizes or sample counts that
        differ; ``threshold`` not finite and > 0; ``max_iter`` < 1.
    """
    theta = _v.numpy_array("theta", theta, ndim=3)
    x_dot = _v.numpy_array("x_dot", x_dot, ndim=3)
    if theta.shape[:2] != x_dot.shape[:2]:
        raise ValueError(f"theta [batch, n_samples, n_terms] and x_dot [batch, n_samples, n_vars] must agree in "
                         f"batch and samples, got {theta.shape} and {x_dot.shape}")
    threshold = _v.positive_float("threshold", threshold)
    max_iter = _v.count("max_iter", max_iter, minimum=1)
    xi, done = _stlsq_batched(int(max_iter))(theta, x_dot, threshold)
    return np.asarray(xi, dtype=float), np.asarray(done, dtype=bool)
