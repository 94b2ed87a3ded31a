"""Losses of the plain linear model with their PL and smoothness constants.

Each loss ``ell(W)``, ``W`` of shape ``(n, m)``, declares its global PL constant
``mu`` and smoothness constant ``K`` (THEORY section 8), its infimum
``ell_star``, a numerically stable gap ``ell(W) - ell_star`` (rule 1 of
section 9) and, where it has one, the curvature operator ``H`` of T9 with
``grad^2 ell <= H <= K I``.

``reduction="mean"`` (the default) divides the sum over the N samples by N;
the ridge term is never divided. ``reduction="sum"`` keeps the sum. The
constants are computed for the chosen convention.

Public surface: :class:`Loss`, :class:`LeastSquares`, :class:`RidgeLogistic`,
:class:`Custom`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from lplbounds import _validation as check
from lplbounds._validation import FloatArray
from lplbounds.exceptions import CertificationWarning

__all__ = ["Loss", "LeastSquares", "RidgeLogistic", "Custom", "REDUCTIONS"]

logger = logging.getLogger(__name__)

REDUCTIONS = ("mean", "sum")

# A gap obtained by subtracting ell_star from the loss is meaningless below this
# fraction of the loss's magnitude (THEORY section 9, rule 1).
GAP_FLOOR_RELATIVE = 1e-12

# Rounding of the weights at every step perturbs the product by a few ulps of
# the factors' magnitude; the gap cannot be resolved below the loss increase
# such a perturbation can cause. 16 ulps leaves room for the few products
# that make one step.
WEIGHT_ROUNDING_ULPS = 16.0

# Newton's method for the ridge-logistic minimizer stops when the PL bound on
# the error of ell_star, ||grad||^2 / (2 ridge), is below this fraction of
# max(1, |ell_star|).
LOGISTIC_MINIMIZER_RTOL = 1e-12
LOGISTIC_NEWTON_MAX_ITERATIONS = 100


class Loss:
    """A mu-PL, K-smooth loss of the plain linear model ``W -> ell(W)``.

    Attributes
    ----------
    mu, K : float
        Global PL and smoothness constants, ``0 < mu <= K``.
    ell_star : float
        The infimum of the loss.
    curvature : callable or None
        ``E -> H E`` with ``grad^2 ell <= H <= K I`` (T9), or None.
    shape : tuple of int or None
        The shape ``(n, m)`` of ``W``, when the loss fixes it.
    """

    mu: float
    K: float
    ell_star: float
    curvature: Callable[[FloatArray], FloatArray] | None = None
    shape: tuple[int, int] | None = None
    # True when gap() subtracts ell_star from the loss value (cancellation).
    gap_by_subtraction: bool = True

    def value(self, W: Any) -> float:
        """Return ``ell(W)``."""
        raise NotImplementedError

    def grad(self, W: Any) -> FloatArray:
        """Return ``grad ell(W)``, an array of the shape of ``W``."""
        raise NotImplementedError

    def gap(self, W: Any) -> float:
        """Return ``ell(W) - ell_star``."""
        return max(self.value(W) - self.ell_star, 0.0)

    def gap_floor(self, W: Any, magnitude: float) -> float:
        """Return the smallest gap that rounding lets this loss resolve at ``W``.

        Parameters
        ----------
        W : array
            The current product.
        magnitude : float
            A bound on the size of the product's rounding, the product of the
            factors' Frobenius norms.
        """
        perturbation = WEIGHT_ROUNDING_ULPS * np.finfo(float).eps * magnitude
        floor = float(0.5 * self.K * perturbation**2)
        if self.gap_by_subtraction:
            scale = max(abs(self.ell_star), abs(self.value(W)))
            floor = max(floor, GAP_FLOOR_RELATIVE * scale)
        return floor

    def _check_W(self, W: Any) -> FloatArray:
        array = check.as_real_array("W", W)
        if self.shape is not None and array.shape != self.shape:
            raise ValueError(f"W must have shape {self.shape}; got {array.shape}")
        return array


def _scale_for(reduction: str, num_samples: int) -> float:
    check.choice("reduction", reduction, REDUCTIONS)
    return float(num_samples) if reduction == "mean" else 1.0


def _data_matrices(X: Any, Y: Any) -> tuple[FloatArray, FloatArray]:
    X_array = check.as_real_array("X", X)
    Y_array = check.as_real_array("Y", Y, ndim=None)
    if Y_array.ndim == 1:
        Y_array = Y_array[:, None]
    if Y_array.ndim != 2:
        raise ValueError(f"Y must be 1- or 2-dimensional; got shape {Y_array.shape}")
    if Y_array.shape[0] != X_array.shape[0]:
        raise ValueError(
            "X and Y must have the same number of rows (samples); "
            f"got X {X_array.shape} and Y {Y_array.shape}"
        )
    return X_array, Y_array


class _DataLoss(Loss):
    """A loss built from data ``X`` (N x n) and ``Y`` (N x m)."""

    X: FloatArray
    Y: FloatArray
    num_samples: int
    reduction: str

    @property
    def n(self) -> int:
        """Columns of X, rows of W."""
        return int(self.X.shape[1])

    @property
    def m(self) -> int:
        """Columns of Y, columns of W."""
        return int(self.Y.shape[1])


class LeastSquares(_DataLoss):
    """Least squares ``1/2 ||X W - Y||_F^2`` (divided by N for the mean).

    Parameters
    ----------
    X : array of shape (N, n)
        Inputs, of full column rank.
    Y : array of shape (N, m) or (N,)
        Targets; a 1-D ``Y`` is one output column.
    reduction : {"mean", "sum"}
        ``"mean"`` divides the sum over samples by N.

    Notes
    -----
    ``mu = lambda_min(X^T X) / N`` and ``K = lambda_max(X^T X) / N`` for the
    mean (without ``/ N`` for the sum); the minimizer
    ``W* = (X^T X)^{-1} X^T Y`` is unique, the gap is computed as
    ``1/2 ||X (W - W*)||_F^2 / N`` without cancellation, and the curvature
    operator ``E -> X^T X E / N`` is exact, so T9 is exact line search.
    The gradient is evaluated as ``X^T X (W - W*) / N``, the same function as
    ``X^T (X W - Y) / N``, in the form that agrees with the gap to rounding.
    """

    gap_by_subtraction = False

    def __init__(self, X: Any, Y: Any, reduction: str = "mean") -> None:
        X_array, Y_array = _data_matrices(X, Y)
        num_samples, n = X_array.shape
        scale = _scale_for(reduction, num_samples)
        singular_values = np.linalg.svd(X_array, compute_uv=False)
        if n > num_samples or singular_values[-1] <= (
            max(X_array.shape) * np.finfo(float).eps * singular_values[0]
        ):
            raise ValueError(
                "X must have full column rank (a least-squares loss is then mu-PL "
                f"with mu > 0); X of shape {X_array.shape} is rank-deficient"
            )
        self.X = X_array
        self.Y = Y_array
        self.reduction = reduction
        self.num_samples = num_samples
        self.shape = (n, Y_array.shape[1])
        self._scale = scale
        self._gram = X_array.T @ X_array / scale
        self.mu = float(singular_values[-1] ** 2 / scale)
        self.K = float(singular_values[0] ** 2 / scale)
        self.minimizer: FloatArray = np.asarray(
            np.linalg.lstsq(X_array, Y_array, rcond=None)[0], dtype=np.float64
        )
        residual = X_array @ self.minimizer - Y_array
        self.ell_star = float(0.5 * np.sum(residual**2) / scale)
        self.curvature = self._curvature

    def value(self, W: Any) -> float:
        W = self._check_W(W)
        return float(0.5 * np.sum((self.X @ W - self.Y) ** 2) / self._scale)

    def grad(self, W: Any) -> FloatArray:
        W = self._check_W(W)
        return self._gram @ (W - self.minimizer)

    def gap(self, W: Any) -> float:
        W = self._check_W(W)
        return float(0.5 * np.sum((self.X @ (W - self.minimizer)) ** 2) / self._scale)

    def _curvature(self, E: FloatArray) -> FloatArray:
        return self._gram @ E

    def __repr__(self) -> str:
        return (
            f"LeastSquares(N={self.num_samples}, n={self.n}, m={self.m}, "
            f"reduction={self.reduction!r}, mu={self.mu:.4g}, K={self.K:.4g})"
        )


def _log_sigmoid_complement(margins: FloatArray) -> FloatArray:
    """Return ``1 / (1 + exp(margins))`` without overflow."""
    return np.exp(-np.logaddexp(0.0, margins))


class RidgeLogistic(_DataLoss):
    """Logistic loss with a ridge term, labels in {-1, +1}.

    ``sum_ij log(1 + exp(-Y_ij (X W)_ij))`` (divided by N for the mean) plus
    ``ridge / 2 ||W||_F^2``.

    Parameters
    ----------
    X : array of shape (N, n)
    Y : array of shape (N, m) or (N,)
        Labels, each -1 or +1.
    ridge : float
        The ridge weight, > 0; it is the PL constant.
    reduction : {"mean", "sum"}

    Notes
    -----
    ``mu = ridge`` and ``K = ridge + ||X||_2^2 / (4 N)`` for the mean (no ``N``
    for the sum). The curvature operator is ``E -> X^T X E / (4 N) + ridge E``
    since the logistic second derivative is at most 1/4. ``ell_star`` and the
    minimizer come from Newton's method with a backtracking line search,
    stopped when ``||grad||_F^2 / (2 ridge) <= 1e-12 max(1, |ell_star|)``,
    which by the PL inequality bounds the error of ``ell_star``.
    """

    def __init__(self, X: Any, Y: Any, ridge: float, reduction: str = "mean") -> None:
        X_array, Y_array = _data_matrices(X, Y)
        if not np.all(np.isin(Y_array, (-1.0, 1.0))):
            raise ValueError("Y must hold labels -1 or +1 only")
        self.ridge = check.positive_scalar("ridge", ridge)
        num_samples, n = X_array.shape
        scale = _scale_for(reduction, num_samples)
        self.X = X_array
        self.Y = Y_array
        self.reduction = reduction
        self.num_samples = num_samples
        self.shape = (n, Y_array.shape[1])
        self._scale = scale
        self._gram = X_array.T @ X_array / scale
        spectral_sq = float(np.linalg.norm(X_array, 2) ** 2)
        self.mu = self.ridge
        self.K = self.ridge + spectral_sq / (4.0 * scale)
        self.curvature = self._curvature
        self.minimizer, self.ell_star = self._newton()

    def _margins(self, W: FloatArray) -> FloatArray:
        return self.Y * (self.X @ W)

    def _value(self, W: FloatArray) -> float:
        data = np.sum(np.logaddexp(0.0, -self._margins(W))) / self._scale
        return float(data + 0.5 * self.ridge * np.sum(W**2))

    def _grad(self, W: FloatArray) -> FloatArray:
        weights = -self.Y * _log_sigmoid_complement(self._margins(W))
        return self.X.T @ weights / self._scale + self.ridge * W

    def value(self, W: Any) -> float:
        return self._value(self._check_W(W))

    def grad(self, W: Any) -> FloatArray:
        return self._grad(self._check_W(W))

    def _curvature(self, E: FloatArray) -> FloatArray:
        return self._gram @ E / 4.0 + self.ridge * E

    def _newton(self) -> tuple[FloatArray, float]:
        n, m = self.n, self.m
        W = np.zeros((n, m))
        value = self._value(W)
        for _ in range(LOGISTIC_NEWTON_MAX_ITERATIONS):
            gradient = self._grad(W)
            if np.sum(gradient**2) / (2 * self.ridge) <= LOGISTIC_MINIMIZER_RTOL * max(
                1.0, abs(value)
            ):
                return W, value

            # The loss separates over the columns of W: one n x n system each.
            probabilities = _log_sigmoid_complement(self._margins(W))
            curvature_weights = probabilities * (1.0 - probabilities)
            direction = np.empty_like(W)
            for j in range(m):
                hessian = (self.X.T * curvature_weights[:, j]) @ self.X / self._scale
                hessian[np.diag_indices(n)] += self.ridge
                direction[:, j] = -np.linalg.solve(hessian, gradient[:, j])

            # Backtracking keeps the iteration monotone far from the minimizer.
            step = 1.0
            slope = float(np.sum(gradient * direction))
            while step > 1e-12:
                candidate = W + step * direction
                candidate_value = self._value(candidate)
                if candidate_value <= value + 1e-4 * step * slope:
                    break
                step /= 2
            if candidate_value >= value:
                break
            W, value = candidate, candidate_value
        warnings.warn(
            "Newton's method did not certify ell_star of the ridge-logistic loss to "
            f"relative accuracy {LOGISTIC_MINIMIZER_RTOL}; gaps near that level are "
            "not reliable",
            CertificationWarning,
            stacklevel=3,
        )
        return W, value

    def __repr__(self) -> str:
        return (
            f"RidgeLogistic(N={self.num_samples}, n={self.n}, m={self.m}, "
            f"ridge={self.ridge:.4g}, reduction={self.reduction!r}, "
            f"mu={self.mu:.4g}, K={self.K:.4g})"
        )


class Custom(Loss):
    """A loss supplied by its value and gradient, with declared constants.

    Parameters
    ----------
    value : callable
        ``W -> ell(W)``, a float.
    grad : callable
        ``W -> grad ell(W)``, an array of the shape of ``W``.
    mu, K : float
        Declared PL and smoothness constants, ``0 < mu <= K``. The library
        cannot prove them; every certificate is conditional on them.
    ell_star : float
        Declared infimum of the loss.
    curvature : callable, optional
        ``E -> H E`` with ``grad^2 ell <= H`` (and ``H <= K I`` for T9 to beat
        T4), or None.
    shape : tuple of int, optional
        The shape ``(n, m)`` of ``W``, checked when given.
    """

    def __init__(
        self,
        value: Callable[[FloatArray], float],
        grad: Callable[[FloatArray], FloatArray],
        mu: float,
        K: float,
        ell_star: float,
        curvature: Callable[[FloatArray], FloatArray] | None = None,
        shape: tuple[int, int] | None = None,
    ) -> None:
        for name, function in (("value", value), ("grad", grad)):
            if not callable(function):
                raise TypeError(
                    f"{name} must be callable; got {type(function).__name__}"
                )
        if curvature is not None and not callable(curvature):
            raise TypeError(
                f"curvature must be callable or None; got {type(curvature).__name__}"
            )
        self.mu, self.K = check.pl_and_smoothness(mu, K)
        self.ell_star = check.real_scalar("ell_star", ell_star)
        self._value_function = value
        self._grad_function = grad
        self.curvature = curvature
        if shape is not None:
            if len(shape) != 2 or any(
                check.positive_integer("shape", size) < 1 for size in shape
            ):
                raise ValueError(
                    f"shape must be a pair of positive integers; got {shape}"
                )
            self.shape = (int(shape[0]), int(shape[1]))

    def value(self, W: Any) -> float:
        W = self._check_W(W)
        return check.real_scalar("value(W)", self._value_function(W))

    def grad(self, W: Any) -> FloatArray:
        W = self._check_W(W)
        gradient = check.as_real_array("grad(W)", self._grad_function(W))
        if gradient.shape != W.shape:
            raise ValueError(
                f"grad(W) must have the shape of W {W.shape}; got {gradient.shape}"
            )
        return gradient

    def __repr__(self) -> str:
        return f"Custom(mu={self.mu:.4g}, K={self.K:.4g}, ell_star={self.ell_star:.6g})"
