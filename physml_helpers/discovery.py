r"""Discovering laws from data (chapter 9): power laws, sparse dynamics, conservation laws.

* :func:`power_law_fit` fits :math:`y = C x^n` by least squares on :math:`\ln y = \ln C + n\ln x`, with
  standard errors from the residual scatter.
* :func:`symbolic_search` enumerates small formulas (constants by least squares) and
  :func:`pareto_front` keeps those that no simpler formula fits as well.
* :func:`polynomial_library` and :func:`sindy` identify sparse dynamics :math:`\dot x = \Theta(x)\,\Xi` by
  sequentially thresholded least squares (SINDy).
* :func:`null_space`, :func:`sparsest_null_vector` and :func:`sparse_null_basis` find the linear
  combinations :math:`c` of features whose changes vanish in every observed event, :math:`A c = 0`: conservation laws.

All functions take and return NumPy arrays (the problems are small and linear-algebraic).
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from physml_helpers import _validation as _v
from physml_helpers._kernels import ConvergenceError

__all__ = [
    "load_planets", "PowerLawFit", "power_law_fit", "Expression", "symbolic_search", "pareto_front",
    "polynomial_library", "sindy", "null_space", "sparsest_null_vector", "sparse_null_basis",
    "COLLISION_FEATURES", "simulate_collisions", "collision_features",
]


def load_planets() -> dict:
    """The eight planets' semi-major axes, sidereal periods and masses, shipped with the package.

    Sources (in the file's header): semi-major axes from Standish's JPL table of mean orbital elements at
    J2000, sidereal periods from the NASA Planetary Fact Sheets, mass ratios from the IAU 2009 system of
    astronomical constants.

    Returns:
      ``{"planet": list[str], "a_au": float64[8], "period_days": float64[8], "sun_mass_ratio": float64[8]}``,
      Mercury to Neptune, the last being the Sun's mass over the planet's (with its satellites).

    Raises:
      FileNotFoundError: the data file ``physml_helpers/data/planets.csv`` is missing (a broken install).
    """
    import csv
    from importlib import resources

    text = resources.files("physml_helpers").joinpath("data/planets.csv").read_text()
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    return {
        "planet": [row["planet"] for row in rows],
        "a_au": np.array([float(row["a_au"]) for row in rows]),
        "period_days": np.array([float(row["period_days"]) for row in rows]),
        "sun_mass_ratio": np.array([float(row["sun_mass_ratio"]) for row in rows]),
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

