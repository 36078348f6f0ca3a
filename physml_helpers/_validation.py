"""Eager input checks shared by the helper modules.

Each raises a ``ValueError`` or ``TypeError`` that names the parameter, what was received and what
was expected, before anything is traced by JAX.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable

import numpy as np


def real(name: str, value: Any) -> float:
    """Return ``value`` as a float after checking it is a finite real number (of any sign)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if hasattr(value, "shape") and np.shape(value) == () and np.isrealobj(value):
            value = float(value)
        else:
            raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def positive_float(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float after checking it is a finite real number > 0 (or >= 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if hasattr(value, "shape") and np.shape(value) == ():
            value = float(value)
        else:
            raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    bound_ok = value >= 0 if allow_zero else value > 0
    if not math.isfinite(value) or not bound_ok:
        expected = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {expected}, got {value!r}")
    return value


def count(name: str, value: Any, *, minimum: int = 0) -> int:
    """Return ``value`` as an int after checking it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})"
        )
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def integer(name: str, value: Any) -> int:
    """Return ``value`` as an int after checking it is an integer (of any sign)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    return int(value)


def callable_(name: str, value: Any) -> Callable:
    if not callable(value):
        raise TypeError(f"{name} must be a callable, got {value!r} ({type(value).__name__})")
    return value


def float_array(name: str, value: Any):
    """Return ``value`` as a JAX array of a floating dtype (integers are promoted)."""
    import jax.numpy as jnp

    try:
        arr = jnp.asarray(value)
    except TypeError as err:
        raise TypeError(f"{name} must be array-like, got {type(value).__name__}: {err}") from None
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        if jnp.issubdtype(arr.dtype, jnp.integer) or arr.dtype == bool:
            arr = arr.astype(jnp.result_type(float))
        else:
            raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr


def key(value: Any) -> None:
    """Check that ``value`` is a JAX random key (new-style ``jax.random.key`` or legacy uint32 ``PRNGKey``)."""
    import jax
    import jax.numpy as jnp

    if not (hasattr(value, "dtype") and (jnp.issubdtype(value.dtype, jax.dtypes.prng_key) or value.dtype == jnp.uint32)):
        raise TypeError(f"key must be a JAX random key (jax.random.key(seed)), got {type(value).__name__}")
