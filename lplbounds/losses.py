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
from lplbounds.exceptions import CertificationWarning, ConstantWarning

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

# Spot checks of a Custom loss's declared constants: this many random points
# (and as many random pairs), drawn from a generator with a fixed seed so that
# a warning is reproducible. Eight points cost sixteen gradient evaluations.
SPOT_CHECK_POINTS = 8
SPOT_CHECK_SEED = 0

# Random points rarely probe the PL inequality where it is tight (near the
# minimizer, along the flattest direction); gradient descent with step 1/K
# goes there. The PL check also runs along this many such steps from the
# last sampled point.
SPOT_CHECK_DESCENT_STEPS = 24

# A spot check reports a contradiction only beyond this relative margin: the
# compared quantities are sums of a few products, accurate to a few ulps, so
# 1e-6 leaves nine orders of magnitude for rounding while any declared
# constant that is wrong by more than a millionth is caught.
SPOT_CHECK_RTOL = 1e-6


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
    # A bound on |ell_star - inf ell| when ell_star is computed, not known.
    ell_star_uncertainty: float = 0.0

    @property
    def evaluation_terms(self) -> int:
        """How many terms are summed to evaluate the loss (a rounding length)."""
        return 1

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
            floor = max(floor, GAP_FLOOR_RELATIVE * scale, self.ell_star_uncertainty)
        return floor

    def _check_W(self, W: Any) -> FloatArray:
        array = check.as_real_array("W", W)
        if self.shape is not None and array.shape != self.shape:
            raise ValueError(f"W must have shape {self.shape}; got {array.shape}")
        return array


def _scale_for(reduction: str, num_samples: int) -> float:
    check.choice("reduction", reduction, REDUCTIONS)
    return float(num_samples) if reduction == "mean" else 1.0


def _squared_or_inf(value: float) -> float:
    """Return ``value ** 2``, inf instead of an OverflowError."""
    with np.errstate(over="ignore"):
        return float(np.float64(value) ** 2)


def _check_constants_representable(mu: float, K: float, data: str) -> None:
    """Reject data whose constants overflow or underflow float64."""
    if not np.isfinite(K):
        raise ValueError(
            f"{data} is too large for float64: the smoothness constant K overflows; "
            f"rescale {data}"
        )
    if not mu > 0:
        raise ValueError(
            f"{data} is too small for float64: the PL constant mu underflows to "
            f"{mu}; rescale {data}"
        )


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

    @property
    def evaluation_terms(self) -> int:
        """Entries summed in the loss: one per sample and output (N m)."""
        return int(self.Y.size)


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
        self.mu = _squared_or_inf(float(singular_values[-1])) / scale
        self.K = _squared_or_inf(float(singular_values[0])) / scale
        _check_constants_representable(self.mu, self.K, "X")
        self._gram = X_array.T @ X_array / scale
        self.minimizer: FloatArray = np.asarray(
            np.linalg.lstsq(X_array, Y_array, rcond=None)[0], dtype=np.float64
        )
        with np.errstate(over="ignore", invalid="ignore"):
            residual = X_array @ self.minimizer - Y_array
            self.ell_star = float(0.5 * np.sum(residual**2) / scale)
        if not (np.all(np.isfinite(self.minimizer)) and np.isfinite(self.ell_star)):
            raise ValueError(
                "Y is too large for float64 at this X: the minimizer or the least "
                "loss overflows; rescale Y"
            )
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
        spectral_sq = _squared_or_inf(float(np.linalg.norm(X_array, 2)))
        self.mu = self.ridge
        self.K = self.ridge + spectral_sq / (4.0 * scale)
        _check_constants_representable(self.mu, self.K, "X")
        self._gram = X_array.T @ X_array / scale
        self.curvature = self._curvature
        self.minimizer, self.ell_star = self._newton()
        # Newton stops once the PL bound on the error of ell_star is below this.
        self.ell_star_uncertainty = LOGISTIC_MINIMIZER_RTOL * max(
            1.0, abs(self.ell_star)
        )

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
    spot_checks : int, default 8
        Number of random points (and of random pairs) at which the declared
        constants are tested; 0 turns the checks off.

    Warns
    -----
    ConstantWarning
        When a spot check contradicts a declared constant (see Notes).

    Notes
    -----
    The declared constants are spot-checked at ``spot_checks`` random points,
    at construction when ``shape`` is given, otherwise on the first call of
    :meth:`value`, :meth:`grad` or :meth:`gap` (around the point of that
    call). At points ``W`` and pairs ``(A, B)`` the checks are
    ``value(W) >= ell_star`` (infimum), ``||grad W||^2 >= 2 mu (value(W) -
    ell_star)`` (PL), ``||grad A - grad B|| <= K ||A - B||`` (smoothness) and,
    with a curvature operator, ``<E, H E> >= 0`` and
    ``<grad B - grad A, B - A> <= <B - A, H (B - A)>`` (``H`` dominates the
    Hessian on the segment). A contradiction beyond a relative margin of
    1e-6 is reported as a :class:`~lplbounds.exceptions.ConstantWarning`
    naming the constant and the evidence. Passing checks prove nothing; they
    catch typical slips such as a factor N between a sum and a mean. Later
    calls of :meth:`gap` also warn when ``value(W) < ell_star``.

    Examples
    --------
    >>> import numpy as np
    >>> quadratic = Custom(lambda W: 0.5 * float(np.sum(W**2)), lambda W: W,
    ...                    mu=1.0, K=1.0, ell_star=0.0, shape=(3, 2))
    >>> quadratic.gap(np.ones((3, 2)))
    3.0
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
        spot_checks: int = SPOT_CHECK_POINTS,
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
        self._spot_checks = check.nonnegative_integer("spot_checks", spot_checks)
        self._spot_checked = self._spot_checks == 0
        if shape is not None:
            self.shape = _check_shape(shape)
            self._run_spot_checks(np.zeros(self.shape))

    def value(self, W: Any) -> float:
        W = self._check_W(W)
        self._first_use(W)
        return self._evaluate(W)

    def grad(self, W: Any) -> FloatArray:
        W = self._check_W(W)
        self._first_use(W)
        return self._gradient(W)

    def gap(self, W: Any) -> float:
        W = self._check_W(W)
        self._first_use(W)
        loss_value = self._evaluate(W)
        if loss_value < self.ell_star - _rounding_margin(loss_value, self.ell_star):
            warnings.warn(
                f"ell_star={self.ell_star:.17g} is contradicted: value(W) = "
                f"{loss_value:.17g} is below the declared infimum; the gap is "
                "reported as 0",
                ConstantWarning,
                stacklevel=2,
            )
        return max(loss_value - self.ell_star, 0.0)

    def _evaluate(self, W: FloatArray) -> float:
        return check.real_scalar("value(W)", self._value_function(W))

    def _gradient(self, W: FloatArray) -> FloatArray:
        gradient = check.as_real_array("grad(W)", self._grad_function(W))
        if gradient.shape != W.shape:
            raise ValueError(
                f"grad(W) must have the shape of W {W.shape}; got {gradient.shape}"
            )
        return gradient

    def _first_use(self, W: FloatArray) -> None:
        if not self._spot_checked:
            self._run_spot_checks(W)

    def _run_spot_checks(self, center: FloatArray) -> None:
        """Test the declared constants at random points around ``center``."""
        self._spot_checked = True
        rng = np.random.default_rng(SPOT_CHECK_SEED)
        scale = max(1.0, float(np.linalg.norm(center)) / np.sqrt(center.size))
        points = [center] + [
            center + scale * rng.standard_normal(center.shape)
            for _ in range(self._spot_checks - 1)
        ]
        try:
            values = [self._evaluate(W) for W in points]
            gradients = [self._gradient(W) for W in points]
            path_values, path_gradients = self._descent_path(
                points[-1], values[-1], gradients[-1]
            )
        except (TypeError, ValueError) as error:
            raise ValueError(
                "the spot check of the declared constants evaluated value or grad "
                f"at a random point of shape {center.shape} and it failed: {error} "
                "(pass spot_checks=0 to skip the check)"
            ) from error

        # Infimum and PL inequality at every point and along the descent path.
        for loss_value, gradient in zip(
            values + path_values, gradients + path_gradients, strict=True
        ):
            margin = _rounding_margin(loss_value, self.ell_star)
            if loss_value < self.ell_star - margin:
                _warn_constant(
                    "ell_star",
                    f"value(W) = {loss_value:.17g} < ell_star = {self.ell_star:.17g}",
                )
                break
            grad_sq = float(np.sum(gradient**2))
            required = 2.0 * self.mu * (loss_value - self.ell_star)
            if grad_sq < (1.0 - SPOT_CHECK_RTOL) * required - 2.0 * self.mu * margin:
                _warn_constant(
                    "mu",
                    f"||grad(W)||^2 = {grad_sq:.6g} < 2 mu (value(W) - ell_star) = "
                    f"{required:.6g} at a sampled W (the largest mu this point "
                    f"allows is {grad_sq / (2 * (loss_value - self.ell_star)):.6g})",
                )
                break

        # Smoothness and curvature on pairs (consecutive sampled points).
        for index in range(len(points) - 1):
            difference = points[index + 1] - points[index]
            gradient_change = gradients[index + 1] - gradients[index]
            distance = float(np.linalg.norm(difference))
            ratio = float(np.linalg.norm(gradient_change)) / distance
            if ratio > (1.0 + SPOT_CHECK_RTOL) * self.K:
                _warn_constant(
                    "K",
                    f"||grad(A) - grad(B)|| / ||A - B|| = {ratio:.6g} > K = "
                    f"{self.K:.6g} at a sampled pair",
                )
                break
            if self.curvature is not None and self._curvature_contradicted(
                difference, gradient_change
            ):
                break

    def _descent_path(
        self, start: FloatArray, start_value: float, start_gradient: FloatArray
    ) -> tuple[list[float], list[FloatArray]]:
        """Return values and gradients along GD steps of size 1/K from ``start``."""
        values: list[float] = []
        gradients: list[FloatArray] = []
        W, loss_value, gradient = start, start_value, start_gradient
        for _ in range(SPOT_CHECK_DESCENT_STEPS if self._spot_checks else 0):
            if loss_value - self.ell_star <= _rounding_margin(
                loss_value, self.ell_star
            ):
                break
            W = W - gradient / self.K
            try:
                next_value, gradient = self._evaluate(W), self._gradient(W)
            except (TypeError, ValueError):
                # An under-declared K can make the path blow up; the pair
                # check reports K, and the path is only an extra probe.
                break
            if next_value > loss_value:
                break
            loss_value = next_value
            values.append(loss_value)
            gradients.append(gradient)
        return values, gradients

    def _curvature_contradicted(
        self, difference: FloatArray, gradient_change: FloatArray
    ) -> bool:
        assert self.curvature is not None
        image = check.as_real_array("curvature(E)", self.curvature(difference))
        if image.shape != difference.shape:
            raise ValueError(
                f"curvature(E) must have the shape of E {difference.shape}; "
                f"got {image.shape}"
            )
        quadratic = float(np.sum(difference * image))
        secant = float(np.sum(difference * gradient_change))
        size = self.K * float(np.sum(difference**2))
        if quadratic < -SPOT_CHECK_RTOL * size:
            _warn_constant(
                "curvature",
                f"<E, H E> = {quadratic:.6g} < 0 at a sampled E: H is not positive "
                "semidefinite",
            )
            return True
        if secant > quadratic + SPOT_CHECK_RTOL * size:
            _warn_constant(
                "curvature",
                f"<grad(B) - grad(A), B - A> = {secant:.6g} > <B - A, H (B - A)> = "
                f"{quadratic:.6g} at a sampled pair: H does not dominate the Hessian",
            )
            return True
        return False

    def __repr__(self) -> str:
        return f"Custom(mu={self.mu:.4g}, K={self.K:.4g}, ell_star={self.ell_star:.6g})"


def _check_shape(shape: Any) -> tuple[int, int]:
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise TypeError(
            f"shape must be a pair of positive integers (n, m); got {shape!r}"
        )
    return (
        check.positive_integer("shape[0]", shape[0]),
        check.positive_integer("shape[1]", shape[1]),
    )


def _rounding_margin(loss_value: float, ell_star: float) -> float:
    """Return the margin below which ``value - ell_star`` is rounding (rule 1)."""
    return GAP_FLOOR_RELATIVE * max(abs(loss_value), abs(ell_star))


def _warn_constant(constant: str, evidence: str) -> None:
    message = f"the declared {constant} is contradicted by a spot check: {evidence}"
    warnings.warn(message, ConstantWarning, stacklevel=5)
