"""Bounds from the initialization: imbalance (T5), drift (T6), growth (T7), T8.

The imbalance ``D = W1^T W1 - W2^T W2`` changes little under gradient descent
(T6), and the current gap controls the singular values of the product (T7);
through T5 they bound the local PL and smoothness constants along the whole
run from data known at the start. T8 turns those bounds into a constant step
``eta_bar``, a guaranteed per-step factor ``1 - mu_lo eta_bar`` and an
iteration count. Every formula is evaluated through the lambdified
expressions of :mod:`lplbounds.symbolic`; only the root of
``eta K_hi(eta) = 1`` is found numerically (safeguarded Newton).

A time-varying a priori schedule (recomputing ``K_hi`` with the current gap)
is not offered: its validity needs an induction that has not been proved here.

Public surface: :class:`ImbalanceBounds`, :class:`AprioriBound`,
:func:`imbalance_bounds`, :func:`weight_bounds`, :func:`drift_radius`,
:func:`singular_value_bounds`, :func:`bound`, :func:`constant_step`,
:func:`rate`, :func:`iterations`, :func:`rates`, :func:`arguments_from_weights`,
:func:`bound_from_weights`; importing the module registers the step-size rule
``"apriori"``.
"""

from __future__ import annotations

import logging
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from lplbounds import _validation as check
from lplbounds import certificates, symbolic
from lplbounds._validation import FloatArray
from lplbounds.certificates import LocalState, StepChoice
from lplbounds.exceptions import CertificationWarning
from lplbounds.losses import Loss

__all__ = [
    "ImbalanceBounds",
    "AprioriBound",
    "imbalance_bounds",
    "weight_bounds",
    "drift_radius",
    "singular_value_bounds",
    "bound",
    "constant_step",
    "rate",
    "iterations",
    "rates",
    "arguments_from_weights",
    "bound_from_weights",
]

logger = logging.getLogger(__name__)

EPS = float(np.finfo(float).eps)

# Newton's method for eta K_hi(eta) = 1 stops when the step is below this
# fraction of eta: it converges quadratically, so the remaining error is of
# order NEWTON_RTOL^2 relative, far below STEP_BACKOFF.
NEWTON_RTOL = 1e-9
NEWTON_MAX_ITERATIONS = 100

# The Newton iterates approach the root from above (eta K_hi(eta) is convex
# and increasing); the returned step is moved this fraction to the left so
# that the computed eta K_hi(eta) is <= 1. It costs 1e-12 of the rate.
STEP_BACKOFF = 1e-12

# The factor q = 1 - mu_lo eta is computed with an absolute error of at most
# about 1.5 eps (x = mu_lo eta carries a few eps relative, q <= 1); the count
# T(rtol) is computed at q + FACTOR_ROUNDING so it is never too small.
FACTOR_ROUNDING = 2 * EPS

# Singular values from an SVD carry an absolute error of a small multiple of
# eps sigma_1 times the dimension; this multiple widens the T7 interval of a
# computed minimizer.
SVD_ROUNDING_ULPS = 16

# How many initial states the "apriori" rule remembers (one per running GD).
RULE_CACHE_SIZE = 16


# --- T5: bounds through the imbalance ------------------------------------------------


@dataclass(frozen=True)
class ImbalanceBounds:
    """The four bounds of T5 (with a drift radius, those used by T8).

    Attributes
    ----------
    lambda_min_P_lower, lambda_min_Q_lower : float
        Lower bounds on ``lambda_min(W1 W1^T)`` and ``lambda_min(W2 W2^T)``.
    lambda_max_P_upper, lambda_max_Q_upper : float
        Upper bounds on ``lambda_max(W1 W1^T)`` and ``lambda_max(W2 W2^T)``.
    """

    lambda_min_P_lower: float
    lambda_min_Q_lower: float
    lambda_max_P_upper: float
    lambda_max_Q_upper: float

    def local_pl_lower(self, mu: float) -> float:
        """Return ``mu (lambda_min_P_lower + lambda_min_Q_lower) <= mu_loc`` (T1)."""
        return float(
            symbolic.numpy_function("local_pl")(
                mu=mu,
                lambda_min_P=self.lambda_min_P_lower,
                lambda_min_Q=self.lambda_min_Q_lower,
            )
        )

    @property
    def S_upper(self) -> float:
        """Upper bound on ``S = lambda_max(P) + lambda_max(Q)``."""
        return self.lambda_max_P_upper + self.lambda_max_Q_upper


def _dimensions(n: Any, m: Any, h: Any) -> tuple[int, int, int]:
    return (
        check.positive_integer("n", n),
        check.positive_integer("m", m),
        check.positive_integer("h", h),
    )


def _spectrum(imbalance_eigs: Any, h: int) -> FloatArray:
    eigenvalues = check.as_real_array("imbalance_eigs", imbalance_eigs, ndim=1)
    if eigenvalues.size != h:
        raise ValueError(
            f"imbalance_eigs must hold the h = {h} eigenvalues of the h x h "
            f"imbalance; got {eigenvalues.size}"
        )
    return np.sort(eigenvalues)[::-1]


def _structure(
    eigenvalues: FloatArray, n: ArrayLike, m: ArrayLike, h: ArrayLike, s_lo: ArrayLike
) -> dict[str, Any]:
    """Return the spectral and indicator arguments of the T5 expressions.

    ``eigenvalues`` is sorted in decreasing order along its last axis with h
    entries. The indicators are decided from the shapes (THEORY rule 2): an
    ``r`` lower term needs the product's rank to be able to reach n (for P)
    or m (for Q), and a positive lower bound ``s_lo`` on it.
    """
    n_, m_, h_ = np.asarray(n), np.asarray(m), np.asarray(h)
    has_rank_P = h_ >= n_
    has_rank_Q = h_ >= m_
    positive = np.asarray(s_lo) > 0
    size = eigenvalues.shape[-1]
    index_n = np.clip(n_ - 1, 0, size - 1)
    index_hm = np.clip(h_ - m_, 0, size - 1)
    return {
        "lambda_1": eigenvalues[..., 0],
        "lambda_h": eigenvalues[..., -1],
        "lambda_n": np.where(has_rank_P, _take(eigenvalues, index_n), 0.0),
        "lambda_hm": np.where(has_rank_Q, _take(eigenvalues, index_hm), 0.0),
        "chi_P": has_rank_P.astype(float),
        "chi_Q": has_rank_Q.astype(float),
        "kappa_P": (has_rank_P & (n_ <= m_) & positive).astype(float),
        "kappa_Q": (has_rank_Q & (m_ <= n_) & positive).astype(float),
    }


def _take(eigenvalues: FloatArray, index: Any) -> Any:
    if eigenvalues.ndim == 1:
        return eigenvalues[int(index)]
    index = np.asarray(index)
    shape = np.broadcast_shapes(eigenvalues.shape[:-1], index.shape)
    spread = np.broadcast_to(eigenvalues, (*shape, eigenvalues.shape[-1]))
    chosen = np.broadcast_to(index, shape)[..., None]
    return np.take_along_axis(spread, chosen, -1)[..., 0]


def _quiet(name: str, **values: Any) -> Any:
    return symbolic.numpy_function_quiet(name)(**values)


def imbalance_bounds(
    imbalance_eigs: ArrayLike,
    n: int,
    m: int,
    h: int,
    sigma_min: float = 0.0,
    sigma_max: float = 0.0,
    drift: float = 0.0,
) -> ImbalanceBounds:
    """Return the T5 bounds from the spectrum of ``D`` and the product's size.

    Parameters
    ----------
    imbalance_eigs : array of shape (h,)
        Eigenvalues of ``D = W1^T W1 - W2^T W2`` in any order.
    n, m, h : int
        ``W1`` is n x h, ``W2`` is m x h.
    sigma_min : float, default 0
        A lower bound on ``sigma_min(n, m)(W)``, ``W = W1 W2^T`` (0 drops the
        ``r`` lower terms).
    sigma_max : float, default 0
        An upper bound on ``sigma_1(W)``.
    drift : float, default 0
        The eigenvalues of the true ``D`` are within ``drift`` of
        ``imbalance_eigs`` (T6); the bounds take the worst case.

    Notes
    -----
    ``lambda_min(P) >= max([lambda_n(D)]_+, r(lambda_h(D), c_P))`` and the
    symmetric bound for Q, ``lambda_max(P) <= r(lambda_1(D), sigma_1(W)^2)``,
    ``lambda_max(Q) <= r(-lambda_h(D), sigma_1(W)^2)``, with the structural
    zeros decided from n, m, h (T5). Every term is monotone in each eigenvalue
    and in ``c``, so worse inputs give valid, weaker bounds.
    """
    n, m, h = _dimensions(n, m, h)
    eigenvalues = _spectrum(imbalance_eigs, h)
    s_lo = check.nonnegative_scalar("sigma_min", sigma_min)
    s_hi = check.nonnegative_scalar("sigma_max", sigma_max)
    radius = check.nonnegative_scalar("drift", drift)
    if s_lo > s_hi:
        raise ValueError(
            f"sigma_min must be <= sigma_max; got sigma_min={s_lo}, sigma_max={s_hi}"
        )
    spectral = _structure(eigenvalues, n, m, h, s_lo)
    common = {"delta": radius}
    lower_P = _quiet(
        "lambda_min_P_lower",
        **common,
        s_lo=s_lo,
        **{k: spectral[k] for k in ("chi_P", "kappa_P", "lambda_n", "lambda_h")},
    )
    lower_Q = _quiet(
        "lambda_min_Q_lower",
        **common,
        s_lo=s_lo,
        **{k: spectral[k] for k in ("chi_Q", "kappa_Q", "lambda_hm", "lambda_1")},
    )
    upper_P = _quiet(
        "lambda_max_P_upper", **common, s_hi=s_hi, lambda_1=spectral["lambda_1"]
    )
    upper_Q = _quiet(
        "lambda_max_Q_upper", **common, s_hi=s_hi, lambda_h=spectral["lambda_h"]
    )
    return ImbalanceBounds(
        float(lower_P), float(lower_Q), float(upper_P), float(upper_Q)
    )


def weight_bounds(W1: ArrayLike, W2: ArrayLike) -> ImbalanceBounds:
    """Return the T5 bounds at the weights ``W1`` (n x h), ``W2`` (m x h).

    The spectrum of ``D`` comes from ``eigvalsh``; ``c_P`` or ``c_Q`` from the
    smallest singular value of the product when the shapes allow it
    (``sigma_min`` is set to 0 otherwise, THEORY rule 2), ``sigma_1(W)`` from
    its largest.
    """
    first, second = check.weight_pair(W1, W2)
    (n, h), m = first.shape, second.shape[0]
    imbalance = first.T @ first - second.T @ second
    singular = np.linalg.svd(first @ second.T, compute_uv=False)
    structural = h >= min(n, m)
    return imbalance_bounds(
        np.linalg.eigvalsh(imbalance),
        n,
        m,
        h,
        sigma_min=float(singular[-1]) if structural else 0.0,
        sigma_max=float(singular[0]),
    )


# --- T6 and T7 -----------------------------------------------------------------------


def drift_radius(eta_max: float, gap0: float, gap: float = 0.0) -> float:
    """Return the T6 radius ``2 eta_max (gap0 - gap)`` of ``||D_t - D_0||_2``.

    Valid along GD whose every step satisfies ``eta_t K_loc,t(eta_t) <= 1``
    and ``eta_t <= eta_max``, when the gap went from ``gap0`` to ``gap``.
    """
    step = check.nonnegative_scalar("eta_max", eta_max)
    start = check.nonnegative_scalar("gap0", gap0)
    current = check.nonnegative_scalar("gap", gap)
    if current > start:
        raise ValueError(f"gap must be <= gap0; got gap={current}, gap0={start}")
    return float(
        symbolic.numpy_function("drift_radius")(eta=step, Delta=start - current)
    )


def singular_value_bounds(
    gap: float, mu: float, sigma_min_star: float, sigma_max_star: float
) -> tuple[float, float]:
    """Return ``(s_lo, s_hi)`` bracketing the singular values of W (T7).

    With a unique minimizer ``W*``, ``|sigma_i(W) - sigma_i(W*)| <= rho``,
    ``rho = sqrt(2 gap / mu)``: ``s_lo = [sigma_min(W*) - rho]_+`` and
    ``s_hi = sigma_1(W*) + rho``.
    """
    values = {
        "Delta": check.nonnegative_scalar("gap", gap),
        "mu": check.positive_scalar("mu", mu),
        "sigma_min_star": check.nonnegative_scalar("sigma_min_star", sigma_min_star),
        "sigma_max_star": check.nonnegative_scalar("sigma_max_star", sigma_max_star),
    }
    lower = symbolic.numpy_function("sigma_lower")(
        **{k: values[k] for k in ("Delta", "mu", "sigma_min_star")}
    )
    upper = symbolic.numpy_function("sigma_upper")(
        **{k: values[k] for k in ("Delta", "mu", "sigma_max_star")}
    )
    return float(lower), float(upper)


# --- T8: the constant step, its rate and iteration count -----------------------------


@dataclass(frozen=True)
class AprioriBound:
    """The a priori guarantee of T8 for GD with the constant step ``eta``.

    Attributes
    ----------
    eta : float
        ``eta_bar``: ``eta K_hi(eta) <= 1`` with ``delta = 2 eta gap0``.
    rate : float
        ``1 - mu_lower eta``: ``gap[t+1] <= rate gap[t]`` at every step.
    mu_lower, S_upper, K_upper : float
        ``mu_lo``, ``S_hi`` and ``K_hi(eta)`` along the whole run.
    drift_radius : float
        ``2 eta gap0``, the bound on ``||D_t - D_0||_2`` (T6).
    gap0 : float
        The initial gap the bound starts from.
    """

    eta: float
    rate: float
    mu_lower: float
    S_upper: float
    K_upper: float
    drift_radius: float
    gap0: float

    def iterations(self, rtol: float) -> int | None:
        """Return ``T(rtol)``; see :func:`iterations`."""
        return _iterations(self.rate, check.relative_tolerance("rtol", rtol))


def _solve_step(
    K: Any, gap0: Any, lambda_1: Any, lambda_h: Any, s_hi: Any
) -> FloatArray:
    """Return ``eta`` with computed ``eta K_hi(eta) <= 1`` just left of the root.

    ``f(eta) = eta K_hi(eta) - 1`` is increasing and convex in ``eta`` (T8:
    ``r(a, c)`` is convex and increasing in ``a``, and a product of positive
    increasing convex functions is convex), so Newton's method started right
    of the root decreases monotonically onto it. The start ``1 / K_hi`` at
    ``eta = 0`` lies right of the root; ``1 / K_hi(start)`` lies left of it
    and is the safeguard. Converged points leave the iteration.
    """
    arrays = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (K, gap0, lambda_1, lambda_h, s_hi))
    )
    shape = arrays[0].shape
    K_, gap_, top, bottom, s_hi_ = (a.ravel() for a in arrays)
    newton = symbolic.apriori_newton_function()

    def equation(eta: FloatArray, active: Any = slice(None)) -> tuple[Any, Any]:
        with np.errstate(divide="ignore", invalid="ignore"):
            return newton(
                K_[active],
                gap_[active],
                eta,
                top[active],
                bottom[active],
                s_hi_[active],
            )

    start_smoothness = _quiet(
        "K_upper",
        K=K_,
        Delta=gap_,
        eta=0.0,
        S_hi=_quiet("S_upper", delta=0.0, s_hi=s_hi_, lambda_1=top, lambda_h=bottom),
    )
    upper = np.asarray(1.0 / start_smoothness, dtype=float)
    value, slope = equation(upper)
    lower = upper / (value + 1.0)

    eta = upper.copy()
    active = np.arange(eta.size)
    for iteration in range(NEWTON_MAX_ITERATIONS):
        if iteration:
            value, slope = equation(eta[active], active)
        current = eta[active]
        candidate = np.clip(current - value / slope, lower[active], current)
        eta[active] = candidate
        active = active[np.abs(candidate - current) > NEWTON_RTOL * current]
        if active.size == 0:
            break

    chosen = eta * (1.0 - STEP_BACKOFF)
    result = np.where(equation(chosen)[0] <= 0, chosen, lower)
    return np.asarray(result, dtype=float).reshape(shape)


def _evaluate(
    mu: Any,
    K: Any,
    gap0: Any,
    eigenvalues: FloatArray,
    n: Any,
    m: Any,
    h: Any,
    sigma_min_star: Any,
    sigma_max_star: Any,
    unique_minimizer: bool,
) -> dict[str, Any]:
    """Vectorized T8: step, factor and the bounds, arrays broadcasting."""
    if unique_minimizer:
        growth = {"Delta": gap0, "mu": mu}
        s_lo = _quiet("sigma_lower", sigma_min_star=sigma_min_star, **growth)
        s_hi = _quiet("sigma_upper", sigma_max_star=sigma_max_star, **growth)
    else:
        s_lo = np.zeros_like(np.asarray(gap0, dtype=float))
        s_hi = sigma_max_star
    spectral = _structure(eigenvalues, n, m, h, s_lo)

    eta = _solve_step(K, gap0, spectral["lambda_1"], spectral["lambda_h"], s_hi)
    factor = _quiet("apriori_rate", mu=mu, eta=eta, Delta=gap0, s_lo=s_lo, **spectral)
    mu_lower = _quiet(
        "apriori_mu_lower", mu=mu, eta=eta, Delta=gap0, s_lo=s_lo, **spectral
    )
    radius = _quiet("drift_radius", eta=eta, Delta=gap0)
    S_hi = _quiet(
        "S_upper",
        delta=radius,
        s_hi=s_hi,
        lambda_1=spectral["lambda_1"],
        lambda_h=spectral["lambda_h"],
    )
    K_hi = _quiet("K_upper", K=K, Delta=gap0, eta=eta, S_hi=S_hi)
    return {
        "eta": eta,
        "rate": factor,
        "mu_lower": mu_lower,
        "S_upper": S_hi,
        "K_upper": K_hi,
        "drift_radius": radius,
    }


def _check_minimizer(
    sigma_min_star: Any, sigma_max_star: Any
) -> tuple[float, float, bool]:
    if sigma_max_star is None:
        raise ValueError(
            "sigma_max_star is required: sigma_1 of the unique minimizer W* when "
            "sigma_min_star is given, otherwise an upper bound on sigma_1(W_t) "
            "along the whole run"
        )
    upper = check.nonnegative_scalar("sigma_max_star", sigma_max_star)
    if sigma_min_star is None:
        return 0.0, upper, False
    lower = check.nonnegative_scalar("sigma_min_star", sigma_min_star)
    if lower > upper:
        raise ValueError(
            f"sigma_min_star must be <= sigma_max_star; got {lower} and {upper}"
        )
    return lower, upper, True


def bound(
    mu: float,
    K: float,
    gap0: float,
    imbalance_eigs: ArrayLike,
    n: int,
    m: int,
    h: int,
    sigma_min_star: float | None = None,
    sigma_max_star: float | None = None,
) -> AprioriBound:
    """Return the T8 guarantee for GD with the constant step ``eta_bar``.

    Parameters
    ----------
    mu, K : float
        PL and smoothness constants of the loss ``ell``, ``0 < mu <= K``.
    gap0 : float
        The initial gap ``L(W1, W2) - ell_star``, > 0.
    imbalance_eigs : array of shape (h,)
        Eigenvalues of ``D_0 = W1^T W1 - W2^T W2`` at the start, in any order.
    n, m, h : int
        ``W1`` is n x h and ``W2`` is m x h.
    sigma_min_star : float, optional
        ``sigma_min(n, m)`` of the unique minimizer ``W*`` of ``ell``. When
        None (no unique minimizer known) the ``r(.)`` lower terms of T5 are
        dropped.
    sigma_max_star : float
        With ``sigma_min_star``: ``sigma_1(W*)``. Without it: an upper bound
        on ``sigma_1(W_t)`` of the product along the whole run, which the
        caller must justify; the guarantee is conditional on it.

    Returns
    -------
    AprioriBound

    Notes
    -----
    With ``rho = sqrt(2 gap0 / mu)``, ``s_lo = [sigma_min_star - rho]_+``,
    ``s_hi = sigma_max_star + rho`` and ``delta = 2 eta gap0``, T5, T6 and T7
    give ``mu_lo`` and ``S_hi``, and
    ``K_hi(eta) = sqrt(2 K gap0) + K S_hi (1 + eta sqrt(2 K gap0) / 2)^2``.
    ``eta_bar`` solves ``eta K_hi(eta) = 1``. By induction on t, GD with
    ``eta_bar`` satisfies ``eta_bar K_loc,t(eta_bar) <= 1``,
    ``||D_t - D_0||_2 <= 2 eta_bar gap0`` and
    ``gap[t+1] <= (1 - mu_lo eta_bar) gap[t]`` (T8, ``docs/theory.md``).
    """
    mu, K = check.pl_and_smoothness(mu, K)
    gap0 = check.positive_scalar("gap0", gap0)
    n, m, h = _dimensions(n, m, h)
    eigenvalues = _spectrum(imbalance_eigs, h)
    lower, upper, unique = _check_minimizer(sigma_min_star, sigma_max_star)
    result = _evaluate(mu, K, gap0, eigenvalues, n, m, h, lower, upper, unique)
    return AprioriBound(
        **{key: float(value) for key, value in result.items()}, gap0=gap0
    )


def constant_step(
    mu: float,
    K: float,
    gap0: float,
    imbalance_eigs: ArrayLike,
    n: int,
    m: int,
    h: int,
    sigma_min_star: float | None = None,
    sigma_max_star: float | None = None,
) -> float:
    """Return ``eta_bar`` of T8 (arguments as in :func:`bound`).

    Examples
    --------
    >>> eta = constant_step(1.0, 1.0, 0.5, [1.0, -1.0], 1, 1, 2,
    ...                     sigma_min_star=1.0, sigma_max_star=1.0)
    >>> 0 < eta < 1
    True
    """
    return bound(
        mu, K, gap0, imbalance_eigs, n, m, h, sigma_min_star, sigma_max_star
    ).eta


def _warn_vacuous(stacklevel: int, rounding: bool = False) -> None:
    if rounding:
        message = (
            "the a priori factor 1 - mu_lo eta_bar is within rounding of 1; no "
            "iteration count can be guaranteed in float64"
        )
    else:
        message = (
            "the a priori lower bound mu_lo on the local PL constant is 0 (no rate "
            "is guaranteed: the start may be near a saddle, or the imbalance and "
            "the minimizer give no margin); the factor is reported as 1.0"
        )
    warnings.warn(message, CertificationWarning, stacklevel=stacklevel)


def rate(
    mu: float,
    K: float,
    gap0: float,
    imbalance_eigs: ArrayLike,
    n: int,
    m: int,
    h: int,
    sigma_min_star: float | None = None,
    sigma_max_star: float | None = None,
) -> float:
    """Return the guaranteed per-step factor ``1 - mu_lo eta_bar`` (T8).

    Exactly 1.0 with a :class:`CertificationWarning` when ``mu_lo = 0``.
    Arguments as in :func:`bound`.
    """
    result = bound(mu, K, gap0, imbalance_eigs, n, m, h, sigma_min_star, sigma_max_star)
    if result.mu_lower <= 0:
        _warn_vacuous(stacklevel=3)
        return 1.0
    return result.rate


def _iterations(factor: float, rtol: float) -> int | None:
    upper = factor + FACTOR_ROUNDING
    if upper >= 1.0:
        return None
    if factor <= 0.0:
        return 1
    count = symbolic.numpy_function("iterations")(rtol=rtol, q=upper)
    return max(int(count), 1)


def iterations(
    mu: float,
    K: float,
    gap0: float,
    imbalance_eigs: ArrayLike,
    n: int,
    m: int,
    h: int,
    sigma_min_star: float | None = None,
    sigma_max_star: float | None = None,
    *,
    rtol: float,
) -> int | None:
    """Return ``T(rtol) = ceil(log(1 / rtol) / -log(1 - mu_lo eta_bar))`` (T8).

    After ``T(rtol)`` steps of GD with ``eta_bar``, ``gap <= rtol * gap0`` is
    guaranteed. None with a :class:`CertificationWarning` when the factor is
    1 (``mu_lo = 0``). The factor is rounded up by a few ulps first, so the
    count is never too small because of rounding.
    """
    tolerance = check.relative_tolerance("rtol", rtol)
    result = bound(mu, K, gap0, imbalance_eigs, n, m, h, sigma_min_star, sigma_max_star)
    count = None if result.mu_lower <= 0 else result.iterations(tolerance)
    if count is None:
        _warn_vacuous(stacklevel=3, rounding=result.mu_lower > 0)
    return count


def rates(
    mu: ArrayLike,
    K: ArrayLike,
    gap0: ArrayLike,
    imbalance_eigs: ArrayLike,
    n: ArrayLike,
    m: ArrayLike,
    h: ArrayLike,
    sigma_min_star: ArrayLike | None = None,
    sigma_max_star: ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Return ``(eta_bar, 1 - mu_lo eta_bar)`` over arrays of parameters.

    The vectorized form of :func:`bound`: ``imbalance_eigs`` holds the h
    eigenvalues of each point along its last axis (one h per call), and its
    leading axes broadcast against every other argument. Arguments are not
    validated and no warnings are issued; a factor of exactly 1 means no rate.

    Examples
    --------
    >>> import numpy as np
    >>> eta, factor = rates(1.0, 2.0, np.array([0.1, 1.0]), [1.0, -1.0], 1, 1, 2,
    ...                     sigma_min_star=1.0, sigma_max_star=2.0)
    >>> factor.shape
    (2,)
    """
    eigenvalues = np.sort(np.asarray(imbalance_eigs, dtype=float), axis=-1)[..., ::-1]
    if sigma_max_star is None:
        raise ValueError("sigma_max_star is required (see bound)")
    unique = sigma_min_star is not None
    result = _evaluate(
        np.asarray(mu, dtype=float),
        np.asarray(K, dtype=float),
        np.asarray(gap0, dtype=float),
        eigenvalues,
        n,
        m,
        h,
        np.asarray(sigma_min_star if unique else 0.0, dtype=float),
        np.asarray(sigma_max_star, dtype=float),
        unique,
    )
    factor = np.where(result["mu_lower"] > 0, result["rate"], 1.0)
    return np.asarray(result["eta"], dtype=float), np.asarray(factor, dtype=float)


# --- From weights and a loss ---------------------------------------------------------


def arguments_from_weights(W1: ArrayLike, W2: ArrayLike, loss: Loss) -> dict[str, Any]:
    """Return the arguments of :func:`bound` for a start ``(W1, W2)`` and ``loss``.

    The loss must have a unique minimizer (``loss.minimizer``, as
    :class:`~lplbounds.losses.LeastSquares` and
    :class:`~lplbounds.losses.RidgeLogistic` have). A computed minimizer
    ``W_c`` is off by at most ``||grad ell(W_c)||_F / mu`` (PL and quadratic
    growth), which widens ``[sigma_min_star, sigma_max_star]``, together with
    the SVD's rounding; when the gap is computed by subtracting ``ell_star``,
    its error ``||grad ell(W_c)||_F^2 / (2 mu)`` is added to ``gap0``.

    Raises
    ------
    ValueError
        If the loss has no known minimizer, or the shapes do not match.
    """
    if not isinstance(loss, Loss):
        raise TypeError(
            f"loss must be a lplbounds.losses.Loss; got {type(loss).__name__}"
        )
    first = check.as_real_array("W1", W1)
    second = check.as_real_array("W2", W2)
    if first.shape[1] != second.shape[1]:
        raise ValueError(
            "W1 (n x h) and W2 (m x h) must have the same number of columns h; "
            f"got W1 {first.shape} and W2 {second.shape}"
        )
    minimizer = getattr(loss, "minimizer", None)
    if minimizer is None:
        raise ValueError(
            "loss has no known unique minimizer; call lplbounds.apriori.bound with "
            "sigma_min_star=None and an upper bound sigma_max_star on sigma_1 of "
            "the product along the run"
        )
    product = first @ second.T
    if loss.shape is not None and product.shape != loss.shape:
        raise ValueError(
            f"W1 (n x h) and W2 (m x h) must give a product of shape {loss.shape}; "
            f"got {product.shape}"
        )
    n, h = first.shape
    m = second.shape[0]

    residual_gradient = float(np.linalg.norm(loss.grad(minimizer)))
    singular = np.linalg.svd(np.asarray(minimizer), compute_uv=False)
    margin = residual_gradient / loss.mu + SVD_ROUNDING_ULPS * max(n, m) * EPS * float(
        singular[0]
    )
    gap0 = loss.gap(product)
    if loss.gap_by_subtraction:
        gap0 += residual_gradient**2 / (2 * loss.mu)
    return {
        "mu": loss.mu,
        "K": loss.K,
        "gap0": gap0,
        "imbalance_eigs": np.linalg.eigvalsh(first.T @ first - second.T @ second),
        "n": n,
        "m": m,
        "h": h,
        "sigma_min_star": max(float(singular[-1]) - margin, 0.0),
        "sigma_max_star": float(singular[0]) + margin,
    }


def bound_from_weights(W1: ArrayLike, W2: ArrayLike, loss: Loss) -> AprioriBound:
    """Return the T8 guarantee of GD from ``(W1, W2)`` on ``loss`` (see `bound`)."""
    return bound(**arguments_from_weights(W1, W2, loss))


# --- The step-size rule "apriori" ----------------------------------------------------

_RULE_CACHE: OrderedDict[int, tuple[LocalState, AprioriBound]] = OrderedDict()


def _initial_bound(initial: LocalState) -> AprioriBound:
    """Return the T8 bound of the run started at ``initial``, computed once."""
    entry = _RULE_CACHE.get(id(initial))
    if entry is not None and entry[0] is initial:
        _RULE_CACHE.move_to_end(id(initial))
        return entry[1]
    W1, W2 = initial.network.to_pair()
    result = bound_from_weights(W1, W2, initial.loss)
    logger.info(
        "apriori step %.6e, factor %.6e (mu_lo %.4e, K_hi %.4e) from gap0 %.4e",
        result.eta,
        result.rate,
        result.mu_lower,
        result.K_upper,
        result.gap0,
    )
    if result.mu_lower <= 0:
        _warn_vacuous(stacklevel=6)
    _RULE_CACHE[id(initial)] = (initial, result)
    while len(_RULE_CACHE) > RULE_CACHE_SIZE:
        _RULE_CACHE.popitem(last=False)
    return result


def _rule_apriori(state: LocalState, initial: LocalState) -> StepChoice:
    if state.network.depth != 2 or initial.network.depth != 2:
        raise ValueError(
            "rule 'apriori' (T8) is derived for depth 2 only; use rule 'certified' "
            f"for a depth-{state.network.depth} network"
        )
    if state.grad_norm_sq == 0.0 or initial.gap == 0.0:
        warnings.warn(
            "the gradient is zero (a stationary point): no step decreases the loss "
            "and none is certified; returning step 0.0",
            CertificationWarning,
            stacklevel=4,
        )
        return StepChoice(eta=0.0, majorant=0.0, theorem="none")
    eta = _initial_bound(initial).eta
    return StepChoice(eta=eta, majorant=certificates.majorant(state, eta), theorem="T8")


certificates.register_rule("apriori", _rule_apriori)
