"""Argument checks shared by every public function.

Each helper checks one kind of argument and raises ``TypeError`` (wrong kind)
or ``ValueError`` (wrong value) with a message that names the argument and the
condition it violates, before any work is done.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def as_real_array(name: str, value: Any, *, ndim: int | None = 2) -> FloatArray:
    """Convert ``value`` to a finite float64 array with ``ndim`` dimensions.

    Accepts NumPy arrays and anything with ``__array__`` (PyTorch, JAX, ...)
    holding real integer or floating-point numbers. Rejects booleans, complex
    numbers and objects deliberately: a silent cast would hide a bug.
    """
    array = _real_numbers(name, value)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(
            f"{name} must be a {ndim}-dimensional array; got shape {array.shape}"
        )
    if array.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {array.shape}")
    return _finite_float64(name, array)


def _real_numbers(name: str, value: Any) -> NDArray[Any]:
    """Return ``value`` as an array of real integers or floats, or raise TypeError."""
    if isinstance(value, (str, bytes)):
        raise TypeError(
            f"{name} must be a real number or array; got {type(value).__name__}"
        )
    try:
        array = np.asarray(value)
    except Exception as error:  # noqa: BLE001 - re-raised with the argument's name
        raise TypeError(
            f"{name} must be convertible to a NumPy array: {error}"
        ) from error
    if array.dtype == np.bool_:
        raise TypeError(f"{name} must hold real numbers, not booleans")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real; got complex dtype {array.dtype}")
    if not (
        np.issubdtype(array.dtype, np.integer)
        or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(f"{name} must hold real numbers; got dtype {array.dtype}")
    return array


def _finite_float64(name: str, array: NDArray[Any]) -> FloatArray:
    """Cast a real array to float64, naming NaN, inf and overflow separately."""
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    with np.errstate(over="ignore"):
        result = np.array(array, dtype=np.float64)
    if not np.all(np.isfinite(result)):
        raise ValueError(
            f"{name} must be finite in float64; a value of dtype {array.dtype} "
            "overflows float64"
        )
    return result


def real_values(name: str, value: Any) -> FloatArray | np.float64:
    """Return ``value`` as finite float64 values of any shape (a scalar stays 0-d).

    Used by vectorized evaluators: any number of dimensions and zero sizes are
    accepted; booleans, complex numbers, objects, strings, NaN and inf are not.
    """
    array = _real_numbers(name, value)
    result = _finite_float64(name, array)
    return result if result.ndim else np.float64(result[()])


def squares_representable(name: str, array: FloatArray) -> None:
    """Check that the squared Frobenius norm of ``array`` is finite in float64.

    Local constants square singular values (``sigma_1(W1)^2`` in T2); a factor
    whose square overflows would turn every certificate into inf or NaN.
    """
    largest = np.max(np.abs(array))
    if largest == 0.0:
        return
    with np.errstate(over="ignore"):
        squared_norm = np.sum(np.square(array / largest)) * largest**2
    if not np.isfinite(squared_norm):
        raise ValueError(
            f"{name} is too large for float64: its squared Frobenius norm "
            f"overflows (largest entry {largest:.3e}); rescale the problem"
        )


def boolean(name: str, value: Any) -> bool:
    """Check a flag: a Python or NumPy bool, not anything with a truth value."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False; got {value!r}")


def nonnegative_integer(name: str, value: Any) -> int:
    """Check an integer (not a bool) that is at least 0, such as a seed."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0; got {value}")
    return int(value)


def weight_pair(W1: Any, W2: Any) -> tuple[FloatArray, FloatArray]:
    """Check a two-layer pair: ``W1`` (n x h) and ``W2`` (m x h), same ``h``."""
    first = as_real_array("W1", W1)
    second = as_real_array("W2", W2)
    if first.shape[1] != second.shape[1]:
        raise ValueError(
            "W1 (n x h) and W2 (m x h) must have the same number of columns h; "
            f"got W1 {first.shape} and W2 {second.shape}"
        )
    return first, second


def real_scalar(name: str, value: Any) -> float:
    """Return ``value`` as a finite float, rejecting booleans and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, np.ndarray) and value.ndim == 0:
            return real_scalar(name, value.item())
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite; got {result}")
    return result


def positive_scalar(name: str, value: Any) -> float:
    """Return ``value`` as a finite float that is strictly positive."""
    result = real_scalar(name, value)
    if result <= 0:
        raise ValueError(f"{name} must be > 0; got {result}")
    return result


def nonnegative_scalar(name: str, value: Any) -> float:
    """Return ``value`` as a finite float that is at least 0."""
    result = real_scalar(name, value)
    if result < 0:
        raise ValueError(f"{name} must be >= 0; got {result}")
    return result


def pl_and_smoothness(mu: Any, K: Any) -> tuple[float, float]:
    """Check the global constants of a loss: ``0 < mu <= K``, both finite."""
    mu_value = positive_scalar("mu", mu)
    K_value = positive_scalar("K", K)
    if K_value < mu_value:
        raise ValueError(
            f"K must be >= mu (a K-smooth mu-PL loss); got K={K_value}, mu={mu_value}"
        )
    return mu_value, K_value


def relative_tolerance(name: str, value: Any) -> float:
    """Check a relative tolerance: ``0 < value < 1``."""
    result = positive_scalar(name, value)
    if result >= 1:
        raise ValueError(f"{name} must be < 1 (a relative tolerance); got {result}")
    return result


def positive_integer(name: str, value: Any) -> int:
    """Check a count: an integer (not a bool) that is at least 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1; got {value}")
    return int(value)


def choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    """Check that ``value`` is one of the ``allowed`` strings."""
    options = tuple(allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {options}; got {value!r}")
    if value not in options:
        raise ValueError(f"{name} must be one of {options}; got {value!r}")
    return value
