"""Eager input checks shared by every helper module.

Each check runs in Python before anything is traced by JAX and raises an exception that names the
parameter, says what was received and what was expected. The exception types are consistent:

* ``TypeError`` when the *kind* of value is wrong (a string where a number belongs, a float where an
  integer belongs, a legacy ``uint32`` key, something that is not callable);
* ``ValueError`` when the kind is right but the *value* is not (a negative size, a non-finite number, a
  wrong shape, a matrix that is not symmetric, a function whose output has the wrong shape).

Checks that need concrete values (finiteness, symmetry) are skipped for arrays that are being traced
(inside ``jit``, ``vmap`` or ``scan``): shapes and dtypes are still checked there.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable

import numpy as np

__all__ = [
    "real", "positive_float", "count", "integer", "boolean", "choice", "callable_", "key", "is_traced",
    "float_dtype", "float_array", "numpy_array", "square_matrix", "symmetry_tolerance", "check_symmetric", "output_shape",
    "traced_or_real", "finite", "finite_tree", "spins", "rounding_level", "precision_warning", "shape_structs",
]


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _scalar(name: str, value: Any, what: str) -> float:
    """A real number from a Python number or a 0-d real array; TypeError otherwise."""
    if isinstance(value, bool) or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be {what}, got {_describe(value)}")
    if isinstance(value, numbers.Real):
        return float(value)
    if hasattr(value, "shape") and hasattr(value, "dtype") and np.shape(value) == ():
        if is_traced(value):
            raise TypeError(f"{name} must be a concrete number, not a traced value; pass it as a Python number")
        if np.issubdtype(np.dtype(value.dtype), np.bool_) or not np.isrealobj(np.asarray(value)):
            raise TypeError(f"{name} must be {what}, got an array of dtype {value.dtype}")
        return float(value)
    raise TypeError(f"{name} must be {what}, got {_describe(value)}")


def real(name: str, value: Any) -> float:
    """Return ``value`` as a float after checking it is a finite real number (of any sign)."""
    value = _scalar(name, value, "a real number")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def positive_float(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float after checking it is a finite real number > 0 (or >= 0)."""
    value = _scalar(name, value, "a real number")
    bound_ok = value >= 0 if allow_zero else value > 0
    if not math.isfinite(value) or not bound_ok:
        expected = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {expected}, got {value!r}")
    return value


def _integral(name: str, value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        is_int_array = (hasattr(value, "dtype") and np.shape(value) == () and not is_traced(value)
                        and np.issubdtype(np.dtype(value.dtype), np.integer))
        if not is_int_array:
            raise TypeError(f"{name} must be {what}, got {_describe(value)}")
    return int(value)


def count(name: str, value: Any, *, minimum: int = 0) -> int:
    """Return ``value`` as an int after checking it is an integer >= ``minimum``."""
    value = _integral(name, value, f"an integer >= {minimum}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def integer(name: str, value: Any) -> int:
    """Return ``value`` as an int after checking it is an integer (of any sign)."""
    return _integral(name, value, "an integer")


def boolean(name: str, value: Any) -> bool:
    """Return ``value`` after checking it is ``True`` or ``False``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_describe(value)}")
    return bool(value)


def choice(name: str, value: Any, options) -> Any:
    """Return ``value`` after checking it is one of ``options``."""
    if not isinstance(value, (str, int)) or value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}")
    return value


def callable_(name: str, value: Any) -> Callable:
    """Return ``value`` after checking it can be called."""
    if not callable(value):
        raise TypeError(f"{name} must be a callable, got {_describe(value)}")
    return value


def is_traced(value: Any) -> bool:
    """Whether ``value`` is a JAX tracer (an abstract value inside ``jit``, ``vmap``, ``grad`` or ``scan``)."""
    import jax

    return isinstance(value, jax.core.Tracer)


def key(value: Any, *, name: str = "key") -> None:
    """Check that ``value`` is one typed JAX random key, as made by ``jax.random.key(seed)``.

    Legacy ``uint32`` keys (``jax.random.PRNGKey``) are refused: any array of unsigned integers would pass
    as one, so a mistake (a seed array, a state vector) could silently become randomness.
    """
    import jax

    dtype = getattr(value, "dtype", None)
    if dtype is None or not jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if dtype is not None and np.dtype(dtype) == np.uint32:
            raise TypeError(
                f"{name} must be a typed JAX key made by jax.random.key(seed), got a raw uint32 array of shape "
                f"{np.shape(value)}; use jax.random.key(seed), or jax.random.wrap_key_data(old_key)"
            )
        raise TypeError(f"{name} must be a JAX random key made by jax.random.key(seed), got {_describe(value)}")
    if np.shape(value) != ():
        raise ValueError(
            f"{name} must be a single key (shape ()), got a batch of keys of shape {np.shape(value)}; "
            "pass one key, or jax.vmap over the batch"
        )


def float_dtype(name: str, dtype) -> Any:
    """Return a floating dtype: ``dtype``, or JAX's default float (float64 under x64) when it is None.

    Raises:
      TypeError: not a dtype, or not a floating one.
    """
    import jax.numpy as jnp

    if dtype is None:
        return jnp.result_type(float)
    try:
        dtype = jnp.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a floating dtype such as jnp.float32, got {dtype!r}") from None
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"{name} must be a floating dtype such as jnp.float32, got {dtype}")
    return dtype


def _all_finite(arr) -> bool:
    return bool(np.all(np.isfinite(np.asarray(arr))))


def _where_not_finite(arr) -> str:
    """``"nan at index (0, 2)"``: the first non-finite entry of a concrete array, for messages."""
    a = np.asarray(arr)
    bad = ~np.isfinite(a)
    if not bad.any():
        return "inf or nan"
    index = np.unravel_index(int(np.argmax(bad)), a.shape) if a.ndim else ()
    n_bad = int(bad.sum())
    more = f" ({n_bad} non-finite entries in all)" if n_bad > 1 else ""
    return f"{a[index]} at index {tuple(int(i) for i in index)}{more}"


def finite(name: str, arr, *, hint: str = "") -> None:
    """Raise ``ValueError`` if the concrete array ``arr`` has an inf or nan entry (skipped when traced)."""
    if arr is None or is_traced(arr):
        return
    if not _all_finite(arr):
        raise ValueError(f"{name} must contain only finite numbers, got {_where_not_finite(arr)}{hint}")


def finite_tree(name: str, tree, *, hint: str = "") -> None:
    """Check that every leaf of the pytree ``tree`` (a network's parameters) is a real or complex array or number,
    and that the concrete ones are finite. Traced leaves are skipped.

    Raises:
      TypeError: a leaf that is not numeric (a string, None, an object).
      ValueError: an inf or nan in a concrete leaf.
    """
    import jax

    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    if not leaves:
        raise ValueError(f"{name} must contain at least one array, got {_describe(tree)}")
    for path, leaf in leaves:
        where = jax.tree_util.keystr(path)
        if isinstance(leaf, (str, bytes)) or not (isinstance(leaf, numbers.Number) or hasattr(leaf, "dtype")):
            raise TypeError(f"{name} must hold arrays of numbers, got {_describe(leaf)} at {name}{where}")
        if is_traced(leaf):
            continue
        arr = np.asarray(leaf)
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"{name} must hold arrays of numbers, got dtype {arr.dtype} at {name}{where}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(
                f"{name} must contain only finite numbers, got {_where_not_finite(arr)} in {name}{where}{hint}"
            )


def traced_or_real(name: str, value: Any):
    """A coupling of a traceable function: returned unchanged when traced, else checked by :func:`real` (a finite
    real number) and returned as a float."""
    if is_traced(value):
        return value
    return real(name, value)


def spins(name: str, s) -> None:
    """Raise ``ValueError`` unless every entry of the concrete array ``s`` is +1 or -1 (skipped when traced)."""
    if is_traced(s):
        return
    values = np.asarray(s)
    if values.size and not np.all(np.abs(values) == 1):
        seen = np.unique(values[np.abs(values) != 1])[:4]
        hint = ""
        if np.all(np.isin(values, (0, 1))):
            hint = "; these look like 0/1 bits: convert them with s = 1 - 2 * bits"
        raise ValueError(
            f"{name} must hold spins +1 or -1 (sigma^z eigenvalues), got the value(s) {', '.join(map(str, seen))}{hint}"
        )


def float_array(name: str, value: Any, *, ndim: int | None = None, finite: bool = False, nonempty: bool = False):
    """Return ``value`` as a JAX array of a floating dtype (integers and booleans are promoted to the default
    float; floating dtypes are kept).

    Args:
      name: the parameter's name, for messages.
      value: anything ``jnp.asarray`` accepts.
      ndim: required number of dimensions, if given.
      finite: also require every entry to be finite (checked only for concrete arrays).
      nonempty: also require at least one entry (a static check).

    Raises:
      TypeError: not array-like, or complex, string or object dtype.
      ValueError: wrong number of dimensions, non-finite entries with ``finite=True``, no entries with
        ``nonempty=True``.
    """
    import jax.numpy as jnp

    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers, got {_describe(value)}")
    try:
        if isinstance(value, (list, tuple)):  # refuse strings and objects before JAX sees them
            value = np.asarray(value)
            if value.dtype.kind not in "biuf":
                raise TypeError(f"dtype {value.dtype}")
        arr = jnp.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of real numbers, got {type(value).__name__}: {err}") from None
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        if jnp.issubdtype(arr.dtype, jnp.integer) or arr.dtype == bool:
            arr = arr.astype(jnp.result_type(float))
        else:
            raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    if finite and not is_traced(arr) and not _all_finite(arr):
        raise ValueError(f"{name} must contain only finite numbers, got {_where_not_finite(arr)}")
    if nonempty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr


def numpy_array(name: str, value: Any, *, ndim: int | None = None, finite: bool = True,
                nonempty: bool = True) -> np.ndarray:
    """Return ``value`` as a float64 NumPy array, for the helpers that do linear algebra in NumPy.

    Raises:
      TypeError: not convertible to an array of real numbers.
      ValueError: wrong number of dimensions, empty (with ``nonempty``), non-finite (with ``finite``).
    """
    if value is None or isinstance(value, (str, bytes)) or is_traced(value):
        raise TypeError(f"{name} must be a concrete array of real numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
        if arr.dtype == object:
            raise TypeError(f"{name} must be an array of real numbers, got {type(value).__name__}")
        if np.iscomplexobj(arr):
            raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    except (TypeError, ValueError) as err:
        if isinstance(err, TypeError) and str(err).startswith(name):
            raise
        raise TypeError(f"{name} must be an array of real numbers, got {type(value).__name__}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    if nonempty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite numbers, got {_where_not_finite(arr)}")
    return arr


def symmetry_tolerance(dtype) -> float:
    """Relative tolerance for "symmetric up to rounding": the square root of the dtype's machine epsilon
    (1.5e-8 in float64, 3.5e-4 in float32), so a matrix computed with half its digits lost still passes
    while a genuinely asymmetric one does not."""
    dtype = np.dtype(dtype) if np.issubdtype(np.dtype(dtype), np.floating) else np.dtype(np.float64)
    return float(np.sqrt(np.finfo(dtype).eps))


def check_symmetric(name: str, matrix, *, hint: str = "") -> None:
    """Raise ``ValueError`` unless ``max|M - M^T| <= symmetry_tolerance * max|M|`` (dense or scipy sparse)."""
    import scipy.sparse as sp

    if sp.issparse(matrix):
        scale = float(abs(matrix).max()) if matrix.nnz else 0.0
        asym = float(abs(matrix - matrix.T).max()) if matrix.nnz else 0.0
    else:
        m = np.asarray(matrix)
        scale = float(np.max(np.abs(m))) if m.size else 0.0
        asym = float(np.max(np.abs(m - m.T))) if m.size else 0.0
    tol = symmetry_tolerance(matrix.dtype) * scale
    if asym > tol:
        raise ValueError(
            f"{name} must be symmetric, got max |M - M^T| = {asym:.3g} for entries of size up to {scale:.3g} "
            f"(tolerance {tol:.2g}){hint}"
        )


def square_matrix(name: str, value: Any, *, symmetric: bool = False, hint: str = ""):
    """Return ``value`` as a floating JAX array after checking it is a finite, non-empty square matrix
    (and symmetric up to :func:`symmetry_tolerance`, with ``symmetric=True``).

    Raises:
      TypeError: not an array of real numbers.
      ValueError: not 2-D and square, empty, non-finite, or not symmetric.
    """
    arr = float_array(name, value)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square matrix [n, n], got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must have at least one row, got shape {arr.shape}")
    if not is_traced(arr):
        if not _all_finite(arr):
            raise ValueError(f"{name} must contain only finite numbers, got {_where_not_finite(arr)}")
        if symmetric:
            check_symmetric(name, np.asarray(arr), hint=hint)
    return arr


def output_shape(name: str, fn: Callable, *args, expected: tuple | None = None, what: str = ""):
    """Evaluate ``fn(*args)`` abstractly (``jax.eval_shape``, nothing is computed) and check its output shape.

    Args:
      name: the callable's parameter name, for messages.
      fn: the callable.
      *args: example arguments (arrays, or ``jax.ShapeDtypeStruct``), with the shapes the helper will use.
      expected: the required output shape (``()`` for a scalar), or None to only check that it runs.
      what: a phrase describing what the output should be, appended to the message.

    Returns:
      The output's ``ShapeDtypeStruct`` (or pytree of them).

    Raises:
      TypeError: ``fn`` not callable.
      ValueError: ``fn`` fails on such arguments, or its output has another shape.
    """
    import jax

    callable_(name, fn)
    structs = [shape_structs(a) for a in args]
    try:
        out = jax.eval_shape(fn, *structs)
    except Exception as err:  # the caller's function failed: say so plainly, with its own message
        shapes = ", ".join(str(getattr(s, "shape", type(s).__name__)) for s in structs)
        raise ValueError(
            f"{name} could not be evaluated on arguments of shape {shapes}: {type(err).__name__}: {err}"
        ) from err
    if expected is not None:
        got = getattr(out, "shape", None)
        if got != tuple(expected):
            described = "a scalar" if tuple(expected) == () else f"an array of shape {tuple(expected)}"
            got_text = got if got is not None else type(out).__name__
            raise ValueError(f"{name} must return {described}{what}, got {got_text}")
    return out


def shape_structs(tree):
    """The pytree ``tree`` with every array leaf replaced by its ``jax.ShapeDtypeStruct`` (traced leaves too), for
    :func:`jax.eval_shape`; other leaves are kept."""
    import jax

    return jax.tree_util.tree_map(
        lambda a: jax.ShapeDtypeStruct(np.shape(a), a.dtype) if hasattr(a, "dtype") and hasattr(a, "shape") else a, tree
    )


def rounding_level(dtype, scale: float, *, factor: float = 10.0) -> float:
    """``factor`` machine epsilons of ``dtype`` relative to ``scale``: below this, numbers of that size computed in
    that precision cannot be told apart reliably (10 ulps by default)."""
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        return 0.0
    return float(factor * np.finfo(dtype).eps * max(abs(float(scale)), np.finfo(dtype).tiny))


def precision_warning(name: str, dtype, *, tol_name: str, tol: float, level: float, what: str = "") -> None:
    """Warn (``UserWarning``) that a tolerance ``tol`` is below the rounding ``level`` of an array ``name`` of
    ``dtype``, naming the dtype and what to do."""
    import warnings

    warnings.warn(
        f"{name} is {np.dtype(dtype)}, whose rounding level here is about {level:.2g}, above {tol_name}={tol:.3g}"
        f"{what}. Use float64 (physml_helpers.setup_notebook(float64=True), or "
        f'jax.config.update("jax_enable_x64", True), then float64 arrays), or pass a larger {tol_name}',
        UserWarning,
        stacklevel=3,
    )
