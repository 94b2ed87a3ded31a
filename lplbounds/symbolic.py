"""Symbols and SymPy expressions of the theory, with NumPy and mpmath evaluators.

Every formula the library evaluates is built here once, from symbols that carry
the assumptions of the theory (positive constants, non-negative eigenvalues),
and is turned into fast NumPy functions and high-precision mpmath functions by
``lambdify``. Implements the expressions of T1 (local PL constant), T2 (local
smoothness), T3 (one-step factor and fixed-point step), T4 and T9 (quartic
majorants) and T10 (majorant polynomial of a depth-N network).

Public surface: the symbols below, :data:`EXPRESSIONS`, :func:`expression`,
:func:`numpy_function`, :func:`mpmath_function`, :func:`evaluate_mpmath`,
:func:`latex`, :func:`pretty`, :func:`fixed_point_closed_form`,
:func:`majorant_polynomial` and :func:`majorant_coefficient_function`.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from lplbounds import _validation as _check

__all__ = [
    "mu",
    "K",
    "eta",
    "gap",
    "grad_norm",
    "spectral_norm_G",
    "S",
    "lambda_min_P",
    "lambda_min_Q",
    "inner_G_M2",
    "norm_M1_sq",
    "inner_M1_M2",
    "norm_M2_sq",
    "curv_M1_M1",
    "curv_M1_M2",
    "curv_M2_M2",
    "EXPRESSIONS",
    "DEFAULT_DIGITS",
    "expression",
    "numpy_function",
    "mpmath_function",
    "evaluate_mpmath",
    "latex",
    "pretty",
    "fixed_point_closed_form",
    "majorant_polynomial",
    "majorant_coefficient_function",
    "fixed_point_cubic_coefficient_function",
    "deep_local_pl",
    "deep_local_pl_function",
    "as_mapping",
]

# Digits used by the mpmath path when the caller does not choose: enough to
# confirm a float64 value (16 digits) with a wide margin.
DEFAULT_DIGITS = 50

# --- Symbols (glossary of THEORY.md) -------------------------------------------

mu = sp.Symbol("mu", positive=True)
K = sp.Symbol("K", positive=True)
eta = sp.Symbol("eta", positive=True)
gap = sp.Symbol("Delta", positive=True)
grad_norm = sp.Symbol("g", nonnegative=True)  # ||grad L||, Frobenius
spectral_norm_G = sp.Symbol("G_2", nonnegative=True)  # ||grad ell(W)||_2
S = sp.Symbol("S", nonnegative=True)  # lambda_max(P) + lambda_max(Q)
lambda_min_P = sp.Symbol("lambda_min_P", nonnegative=True)
lambda_min_Q = sp.Symbol("lambda_min_Q", nonnegative=True)

# Inner products of the two-layer step polynomial E = -eta M1 + eta^2 M2 (T4, T9).
inner_G_M2 = sp.Symbol("<G,M2>", real=True)
norm_M1_sq = sp.Symbol("||M1||^2", nonnegative=True)
inner_M1_M2 = sp.Symbol("<M1,M2>", real=True)
norm_M2_sq = sp.Symbol("||M2||^2", nonnegative=True)
curv_M1_M1 = sp.Symbol("c(M1,M1)", nonnegative=True)
curv_M1_M2 = sp.Symbol("c(M1,M2)", real=True)
curv_M2_M2 = sp.Symbol("c(M2,M2)", nonnegative=True)

# --- Expressions ----------------------------------------------------------------

#: T1: local PL constant of the two-layer network.
local_pl_expr = mu * (lambda_min_P + lambda_min_Q)

#: T2: local smoothness constant of a step of size eta.
local_smoothness_expr = spectral_norm_G + K * (sp.sqrt(S) + eta * grad_norm / 2) ** 2

#: T2: guaranteed change of the loss, -eta (1 - eta K_loc / 2) ||grad L||^2.
descent_bound_expr = -eta * (1 - eta * local_smoothness_expr / 2) * grad_norm**2

#: T3: one-step contraction factor of the gap.
one_step_factor_expr = 1 - 2 * local_pl_expr * eta * (
    1 - eta * local_smoothness_expr / 2
)

#: T3: the cubic whose unique positive root is the fixed-point step.
fixed_point_cubic_expr = sp.expand(eta * local_smoothness_expr - 1)

#: T4: the quartic majorant with the global smoothness constant K.
majorant_K_expr = (
    -eta * grad_norm**2
    + eta**2 * inner_G_M2
    + K / 2 * (eta**2 * norm_M1_sq - 2 * eta**3 * inner_M1_M2 + eta**4 * norm_M2_sq)
)

#: T9: the quartic majorant with the loss's curvature operator H.
majorant_H_expr = (
    -eta * grad_norm**2
    + eta**2 * inner_G_M2
    + sp.Rational(1, 2)
    * (eta**2 * curv_M1_M1 - 2 * eta**3 * curv_M1_M2 + eta**4 * curv_M2_M2)
)

#: T3 at the fixed-point step (eta K_loc = 1): 1 - mu_loc / K_loc.
fixed_point_factor_expr = 1 - local_pl_expr / local_smoothness_expr

#: Guaranteed factor from a majorant value u: 1 + u / Delta.
_majorant_value = sp.Symbol("u", real=True)
certified_factor_expr = 1 + _majorant_value / gap


def fixed_point_closed_form() -> sp.Expr:
    """Return the positive root of the fixed-point cubic in closed form (Cardano).

    Returns
    -------
    sympy.Expr
        The unique positive root of ``eta K_loc(eta) = 1`` (T3) as an
        expression in the symbols ``K, g, S, G_2``.

    Notes
    -----
    Write the cubic as ``a3 x^3 + a2 x^2 + a1 x - 1`` with ``a3 = K g^2 / 4``,
    ``a2 = K sqrt(S) g``, ``a1 = G_2 + K S`` and substitute
    ``x = t - a2 / (3 a3)``: ``t^3 + p t + q = 0``. For ``g > 0``,
    ``q = (a2 (2 a2^2 - 9 a3 a1) - 27 a3^2) / (27 a3^3) < 0`` because
    ``2 a2^2 - 9 a3 a1 = K g^2 (2 K S - 9 (G_2 + K S) / 4) < 0``, and the
    discriminant ``q^2 / 4 + p^3 / 27`` is positive (one real root). Cardano's
    root is then ``t = A - p / (3 A)`` with
    ``A = (-q/2 + sqrt(q^2/4 + p^3/27))^(1/3) > 0``: a cube root of a sum of
    positive terms. The textbook form ``A + (-q/2 - sqrt(...))^(1/3)`` takes
    the cube root of a cancelling difference and loses about two thirds of
    the working digits when ``p`` is small. Use this expression for display
    and high-precision checks; in float64 the subtraction ``t - a2 / (3 a3)``
    still cancels when ``g`` is small, so the library solves the cubic by
    safeguarded Newton iteration.
    """
    return _fixed_point_closed_form()


@functools.cache
def _fixed_point_closed_form() -> sp.Expr:
    a3 = K * grad_norm**2 / 4
    a2 = K * sp.sqrt(S) * grad_norm
    a1 = spectral_norm_G + K * S
    p = (3 * a3 * a1 - a2**2) / (3 * a3**2)
    q = (2 * a2**3 - 9 * a3 * a2 * a1 - 27 * a3**2) / (27 * a3**3)
    cube = (-q / 2 + sp.sqrt(q**2 / 4 + p**3 / 27)) ** sp.Rational(1, 3)
    return cube - p / (3 * cube) - a2 / (3 * a3)


#: Named expressions, the vocabulary of :func:`expression`.
EXPRESSIONS: dict[str, sp.Expr] = {
    "local_pl": local_pl_expr,
    "local_smoothness": local_smoothness_expr,
    "descent_bound": descent_bound_expr,
    "one_step_factor": one_step_factor_expr,
    "fixed_point_cubic": fixed_point_cubic_expr,
    "fixed_point_factor": fixed_point_factor_expr,
    "majorant_K": majorant_K_expr,
    "majorant_H": majorant_H_expr,
    "certified_factor": certified_factor_expr,
}


def expression(name: str) -> sp.Expr:
    """Return the named SymPy expression.

    Parameters
    ----------
    name : str
        A key of :data:`EXPRESSIONS`, or ``"fixed_point_step"`` for the
        closed-form root of the fixed-point cubic.

    Raises
    ------
    ValueError
        If ``name`` is not a known expression.
    """
    if name == "fixed_point_step":
        return fixed_point_closed_form()
    try:
        return EXPRESSIONS[name]
    except KeyError:
        known = ", ".join(sorted([*EXPRESSIONS, "fixed_point_step"]))
        raise ValueError(f"name must be one of {known}; got {name!r}") from None


def _ordered_symbols(expr: sp.Expr) -> tuple[sp.Symbol, ...]:
    return tuple(sorted(expr.free_symbols, key=lambda s: s.name))


@functools.cache
def _lambdified(name: str, backend: str) -> tuple[Callable[..., Any], tuple[str, ...]]:
    expr = expression(name)
    symbols = _ordered_symbols(expr)
    function = sp.lambdify(symbols, expr, modules=backend)
    return function, tuple(s.name for s in symbols)


def _nonnegative_arguments(name: str) -> frozenset[str]:
    """Return the names of the expression's symbols declared >= 0 (or > 0)."""
    return frozenset(s.name for s in expression(name).free_symbols if s.is_nonnegative)


def _checked_argument(
    argument: str, value: Any, nonnegative: bool, backend: str
) -> Any:
    """Convert one argument for ``backend``, rejecting values outside its domain.

    Booleans, complex numbers, NaN and inf are rejected; so are negative values
    of a symbol declared positive or non-negative (0 is accepted as the limit
    of a positive symbol, where every expression here is continuous).
    """
    if backend == "mpmath":
        converted = _to_mpf(argument, value)
        negative = bool(converted < 0)
    else:
        converted = _check.real_values(argument, value)
        negative = bool(np.any(converted < 0))
    if nonnegative and negative:
        raise ValueError(
            f"{argument} must be >= 0 (the symbol is declared non-negative or "
            f"positive); got {value!r}"
        )
    return converted


def _keyword_caller(name: str, backend: str) -> Callable[..., Any]:
    function, argument_names = _lambdified(name, backend)
    nonnegative = _nonnegative_arguments(name)

    def call(**values: Any) -> Any:
        missing = [a for a in argument_names if a not in values]
        extra = [a for a in values if a not in argument_names]
        if missing or extra:
            raise ValueError(
                f"expression {name!r} takes arguments {list(argument_names)}; "
                f"missing {missing}, unexpected {extra}"
            )
        return function(
            *(
                _checked_argument(a, values[a], a in nonnegative, backend)
                for a in argument_names
            )
        )

    call.__name__ = f"{name}_{backend}"
    call.__doc__ = f"Evaluate {name!r} with keyword arguments {list(argument_names)}."
    return call


def numpy_function(name: str) -> Callable[..., Any]:
    """Return a vectorized NumPy evaluator of the named expression.

    The evaluator takes the expression's symbols as keyword arguments, named
    as the symbols print (``mu``, ``K``, ``eta``, ``Delta``, ``g``, ``G_2``,
    ``S``, ``lambda_min_P``, ...); arrays broadcast against each other and
    against scalars.

    Examples
    --------
    >>> f = numpy_function("local_pl")
    >>> float(f(mu=0.5, lambda_min_P=1.0, lambda_min_Q=3.0))
    2.0
    """
    return _keyword_caller(name, "numpy")


def mpmath_function(name: str) -> Callable[..., Any]:
    """Return an mpmath evaluator of the named expression (set ``mpmath.mp.dps``)."""
    return _keyword_caller(name, "mpmath")


def evaluate_mpmath(
    name: str, digits: int = DEFAULT_DIGITS, **values: Any
) -> mpmath.mpf:
    """Evaluate the named expression with mpmath at ``digits`` significant digits.

    Inputs are converted inside the working precision, so they are not
    rounded through float64 on the way in: decimal strings (``"0.1"``),
    :class:`decimal.Decimal`, :class:`fractions.Fraction`, SymPy rationals,
    SymPy floats and exact SymPy numbers (``sympy.sqrt(2)``, evaluated to
    ``digits`` plus guard digits) and ``mpmath.mpf`` values of higher
    precision keep every digit the working precision can hold. Python and
    NumPy floats are taken as the binary numbers they are (``0.1`` is then
    ``0.1000000000000000055511151231257827...``).

    Raises
    ------
    TypeError
        For booleans, complex numbers, arrays of more than one value and
        symbolic expressions with free symbols.
    ValueError
        For an unknown ``name``, missing or unexpected arguments, NaN or inf,
        a negative value of a non-negative symbol, or ``digits < 1``.

    Examples
    --------
    >>> str(evaluate_mpmath("local_pl", digits=30, mu="0.1",
    ...                     lambda_min_P="0.2", lambda_min_Q="0"))
    '0.02'
    """
    digits = _check.positive_integer("digits", digits)
    evaluator = mpmath_function(name)
    with mpmath.workdps(digits):
        # A piecewise expression can return a plain 0; the result is an mpf.
        return mpmath.mpf(evaluator(**values))


# Extra digits used when an exact SymPy number (sqrt(2), pi) is evaluated for
# the mpmath path, so that its own rounding stays below the working precision.
SYMPY_GUARD_DIGITS = 10


def _to_mpf(argument: str, value: Any) -> mpmath.mpf:
    """Convert one real scalar to ``mpmath.mpf`` at the working precision."""
    if isinstance(value, np.ndarray):
        if value.ndim != 0:
            raise TypeError(
                f"{argument} must be a scalar for the mpmath path (use "
                f"numpy_function for arrays); got an array of shape {value.shape}"
            )
        value = value.item()
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{argument} must be a real number, not a boolean")
    if isinstance(value, Fraction):
        result = mpmath.mpf(value.numerator) / value.denominator
    elif isinstance(value, sp.Rational):
        result = mpmath.mpf(int(value.p)) / int(value.q)
    elif isinstance(value, sp.Float):
        result = mpmath.mpf(value._mpf_)
    elif isinstance(value, sp.Basic):
        if value.free_symbols or not value.is_number:
            raise TypeError(f"{argument} must be a number; got the expression {value}")
        evaluated = value.evalf(mpmath.mp.dps + SYMPY_GUARD_DIGITS)
        if not isinstance(evaluated, sp.Float):
            raise TypeError(f"{argument} must be real; got {value}")
        result = mpmath.mpf(evaluated._mpf_)
    elif isinstance(value, Decimal):
        result = mpmath.mpf(str(value))
    elif isinstance(value, str):
        try:
            result = mpmath.mpf(value)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"{argument} must be a decimal number; got the string {value!r}"
            ) from error
    elif isinstance(value, numbers.Integral):
        result = mpmath.mpf(int(value))
    elif isinstance(value, mpmath.mpf):
        result = mpmath.mpf(value)
    elif isinstance(value, numbers.Real):
        result = mpmath.mpf(float(value))
    else:
        raise TypeError(
            f"{argument} must be a real number (int, float, Fraction, Decimal, "
            f"decimal string, SymPy number or mpmath.mpf); got {type(value).__name__}"
        )
    if not mpmath.isfinite(result):
        raise ValueError(f"{argument} must be finite; got {value!r}")
    return result


def latex(name: str) -> str:
    """Return the LaTeX source of the named expression."""
    return str(sp.latex(expression(name)))


def pretty(name: str) -> str:
    """Return the named expression as pretty-printed text."""
    return str(sp.pretty(expression(name), use_unicode=False))


# --- Majorant polynomial of any depth (T10; T4 and T9 for depth 2) ----------------


@functools.cache
def majorant_polynomial(depth: int) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """Return the majorant ``u(eta)`` of a depth-``depth`` network symbolically.

    With ``E(eta) = sum_k eta^k C_k`` the change of the product after one GD
    step, ``a_k = <G, C_k>`` and ``c_jk = c(C_j, C_k)`` (``c(E, F) = <E, H F>``,
    ``H = K I`` for T4), the majorant is
    ``u = sum_k a_k eta^k + (1/2) sum_{j,k} c_jk eta^(j+k)`` (T10), a polynomial
    of degree ``2 depth``.

    Returns
    -------
    (expr, symbols)
        The polynomial in ``eta`` and the tuple of its coefficient symbols in
        the order ``a_1..a_N`` then ``c_jk`` for ``j <= k``.
    """
    if depth < 2:
        raise ValueError(f"depth must be at least 2; got {depth}")
    inner = [sp.Symbol(f"a_{k}", real=True) for k in range(1, depth + 1)]
    curvature: dict[tuple[int, int], sp.Symbol] = {}
    for j in range(1, depth + 1):
        for k in range(j, depth + 1):
            curvature[(j, k)] = sp.Symbol(f"c_{j}{k}", real=True)

    def c(j: int, k: int) -> sp.Symbol:
        return curvature[(min(j, k), max(j, k))]

    expr = sum(inner[k - 1] * eta**k for k in range(1, depth + 1))
    expr += sp.Rational(1, 2) * sum(
        c(j, k) * eta ** (j + k)
        for j in range(1, depth + 1)
        for k in range(1, depth + 1)
    )
    return sp.expand(expr), (*inner, *curvature.values())


@functools.cache
def majorant_coefficient_function(depth: int) -> Callable[..., list[Any]]:
    """Return a NumPy function mapping ``(a_1..a_N, c_jk...)`` to the coefficients.

    The result lists the coefficients of ``u(eta)`` in increasing powers of
    ``eta``, from ``eta^0`` (always 0) to ``eta^(2 depth)``.
    """
    expr, symbols = majorant_polynomial(depth)
    coefficients = sp.Poly(expr, eta).all_coeffs()[::-1]
    coefficients += [sp.Integer(0)] * (2 * depth + 1 - len(coefficients))
    return sp.lambdify(symbols, coefficients, modules="numpy")


@functools.cache
def fixed_point_cubic_coefficient_function() -> Callable[..., list[Any]]:
    """Return a NumPy function ``(K, g, S, G_2) -> [c0, ..., c3]`` (low to high)."""
    coefficients = sp.Poly(fixed_point_cubic_expr, eta).all_coeffs()[::-1]
    return sp.lambdify(
        (K, grad_norm, S, spectral_norm_G), coefficients, modules="numpy"
    )


def as_mapping() -> Mapping[str, sp.Expr]:
    """Return every named expression, the closed-form fixed-point step included."""
    return {**EXPRESSIONS, "fixed_point_step": fixed_point_closed_form()}


@functools.cache
def deep_local_pl(depth: int) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """Return the local PL constant of a depth-``depth`` network (T10).

    ``mu sum_i s_i^2 t_i^2`` with ``s_i = sigma_n(Left_i)`` and
    ``t_i = sigma_m(Right_i)``; for depth 2, ``t_1^2 = lambda_min(Q)`` and
    ``s_2^2 = lambda_min(P)`` while ``s_1 = t_2 = 1`` (identities), which is T1.

    Returns
    -------
    (expr, symbols)
        The expression and its symbols ``(mu, s_1, t_1, ..., s_N, t_N)``.
    """
    if depth < 2:
        raise ValueError(f"depth must be at least 2; got {depth}")
    left = [sp.Symbol(f"s_{i}", nonnegative=True) for i in range(1, depth + 1)]
    right = [sp.Symbol(f"t_{i}", nonnegative=True) for i in range(1, depth + 1)]
    expr = mu * sum(s**2 * t**2 for s, t in zip(left, right, strict=True))
    symbols = (mu, *[x for pair in zip(left, right, strict=True) for x in pair])
    return expr, symbols


@functools.cache
def deep_local_pl_function(depth: int) -> Callable[..., Any]:
    """Return a NumPy function ``(mu, s_1, t_1, ..., s_N, t_N) -> mu_loc`` (T10)."""
    expr, symbols = deep_local_pl(depth)
    return sp.lambdify(symbols, expr, modules="numpy")


# --- A priori bounds from the initialization (T5-T8) -----------------------------
#
# Symbols of the spectrum of the imbalance D = W1^T W1 - W2^T W2 (eigenvalues in
# decreasing order), of the drift radius and of the singular values of the
# product, and the expressions of T5 (bounds through the imbalance), T6 (drift
# radius), T7 (quadratic growth) and T8 (the a priori step and rate). The
# structural zeros of T5 (THEORY rule 2) enter as indicator symbols with values
# 0 or 1 decided from the shapes by the caller:
#   chi_P = [h >= n], chi_Q = [h >= m],
#   kappa_P = [h >= n and n <= m and s_lo > 0], kappa_Q = [h >= m and m <= n
#   and s_lo > 0].
# When an indicator is 0 the eigenvalue it multiplies may be any finite
# placeholder (0 is customary): the product is 0 whatever it is.

lambda_1 = sp.Symbol("lambda_1", real=True)  # largest eigenvalue of D
lambda_n = sp.Symbol("lambda_n", real=True)  # n-th largest eigenvalue of D
lambda_hm = sp.Symbol("lambda_hm", real=True)  # lambda_{h-m+1}, m-th smallest
lambda_h = sp.Symbol("lambda_h", real=True)  # smallest eigenvalue of D
drift = sp.Symbol("delta", nonnegative=True)  # drift radius of D (T6)
sigma_lower = sp.Symbol("s_lo", nonnegative=True)  # lower bound, sigma_min(W)
sigma_upper = sp.Symbol("s_hi", nonnegative=True)  # upper bound, sigma_1(W)
sigma_min_star = sp.Symbol("sigma_min_star", nonnegative=True)
sigma_max_star = sp.Symbol("sigma_max_star", nonnegative=True)
has_rank_P = sp.Symbol("chi_P", nonnegative=True)
has_rank_Q = sp.Symbol("chi_Q", nonnegative=True)
uses_root_P = sp.Symbol("kappa_P", nonnegative=True)
uses_root_Q = sp.Symbol("kappa_Q", nonnegative=True)
S_upper = sp.Symbol("S_hi", nonnegative=True)
rtol = sp.Symbol("rtol", positive=True)
factor = sp.Symbol("q", positive=True)  # a per-step contraction factor
product_scalar = sp.Symbol("w", real=True)  # w = w1 . w2 in the scalar case
root_linear = sp.Symbol("a", real=True)
root_constant = sp.Symbol("c", nonnegative=True)


def positive_root(a: sp.Expr, c: sp.Expr) -> sp.Expr:
    """Return ``r(a, c)``, the positive root of ``x^2 - a x - c = 0`` (c >= 0).

    Built as a ``Piecewise`` that follows THEORY rule 7: for ``a < 0`` the
    root is ``2 c / (sqrt(a^2 + 4 c) - a)``, which keeps its relative accuracy
    where ``(a + sqrt(a^2 + 4 c)) / 2`` cancels. ``r(a, 0) = [a]_+``.

    Notes
    -----
    NumPy's lambdified ``Piecewise`` evaluates every branch, so the branch not
    taken may divide 0 by 0 (``a > 0``, ``c = 0``); evaluate inside
    ``numpy.errstate(divide="ignore", invalid="ignore")``. The branch taken
    never does.
    """
    root = sp.sqrt(a**2 + 4 * c)
    return sp.Piecewise(((a + root) / 2, a >= 0), (2 * c / (root - a), True))


def _positive_part(x: sp.Expr) -> sp.Expr:
    return sp.Max(x, 0)


#: T7: radius of quadratic growth, dist(W, argmin ell) <= sqrt(2 Delta / mu).
quadratic_growth_radius_expr = sp.sqrt(2 * gap / mu)

#: T7: lower bound on sigma_min(W) from a unique minimizer.
sigma_lower_expr = _positive_part(sigma_min_star - quadratic_growth_radius_expr)

#: T7: upper bound on sigma_1(W) from a unique minimizer.
sigma_upper_expr = sigma_max_star + quadratic_growth_radius_expr

#: T6: drift radius of the imbalance after GD with constant step eta from gap Delta.
drift_radius_expr = 2 * eta * gap

#: T5 with eigenvalues of D known to within delta: lower bound on lambda_min(P).
lambda_min_P_lower_expr = has_rank_P * sp.Max(
    _positive_part(lambda_n - drift),
    uses_root_P * positive_root(lambda_h - drift, sigma_lower**2),
)

#: T5 with eigenvalues of D known to within delta: lower bound on lambda_min(Q).
lambda_min_Q_lower_expr = has_rank_Q * sp.Max(
    _positive_part(-lambda_hm - drift),
    uses_root_Q * positive_root(-lambda_1 - drift, sigma_lower**2),
)

#: T5 with eigenvalues of D known to within delta: upper bound on lambda_max(P).
lambda_max_P_upper_expr = positive_root(lambda_1 + drift, sigma_upper**2)

#: T5 with eigenvalues of D known to within delta: upper bound on lambda_max(Q).
lambda_max_Q_upper_expr = positive_root(-lambda_h + drift, sigma_upper**2)

#: T8: lower bound mu_lo on the local PL constant along the run.
mu_lower_expr = mu * (lambda_min_P_lower_expr + lambda_min_Q_lower_expr)

#: T8: upper bound S_hi on lambda_max(P) + lambda_max(Q) along the run.
S_upper_expr = lambda_max_P_upper_expr + lambda_max_Q_upper_expr

#: T8: upper bound K_hi(eta) on the local smoothness constant along the run.
K_upper_expr = (
    sp.sqrt(2 * K * gap) + K * S_upper * (1 + eta * sp.sqrt(2 * K * gap) / 2) ** 2
)

#: T8: eta K_hi(eta) - 1 with delta = 2 eta Delta (its root is eta_bar).
apriori_step_equation_expr = (
    eta * K_upper_expr.subs(S_upper, S_upper_expr).subs(drift, drift_radius_expr) - 1
)

#: Derivative in eta of the step equation (for a safeguarded Newton solve).
apriori_step_equation_slope_expr = sp.diff(apriori_step_equation_expr, eta)

#: T8: mu_lo with delta = 2 eta Delta.
apriori_mu_lower_expr = mu_lower_expr.subs(drift, drift_radius_expr)

#: T8: the guaranteed per-step factor 1 - mu_lo eta, delta = 2 eta Delta.
apriori_rate_expr = 1 - eta * apriori_mu_lower_expr

#: T8: steps guaranteeing gap <= rtol gap0 at a per-step factor q < 1.
iterations_expr = sp.ceiling(sp.log(1 / rtol) / -sp.log(factor))

#: T5, exact scalar case (n = m = 1, h >= 2): mu_loc = mu (||w1||^2 + ||w2||^2).
scalar_local_pl_expr = mu * sp.sqrt((lambda_1 - lambda_h) ** 2 + 4 * product_scalar**2)

#: T5, exact scalar case with h = 1 (D is the number w1^2 - w2^2 = lambda_1).
scalar_local_pl_h1_expr = mu * sp.sqrt(lambda_1**2 + 4 * product_scalar**2)

#: T5, exact scalar case (h >= 2): S = ||w1||^2 + ||w2||^2.
scalar_S_expr = sp.sqrt((lambda_1 - lambda_h) ** 2 + 4 * product_scalar**2)

_FULL_RANK = {has_rank_P: 1, has_rank_Q: 1, uses_root_P: 1, uses_root_Q: 1}

#: Balanced start (D = 0, n = m, h >= n, exact product): mu_loc >= 2 mu sigma_min(W).
balanced_local_pl_expr = sp.simplify(
    mu_lower_expr.subs(_FULL_RANK).subs(
        {lambda_1: 0, lambda_n: 0, lambda_hm: 0, lambda_h: 0, drift: 0}
    )
)

#: Gap tending to 0 (delta -> 0, singular values at those of W*): the T8 factor
#: at eta = 1 / K_hi tends to 1 - mu_lo / (K S_hi) evaluated at the limit point.
small_gap_factor_expr = 1 - (
    mu_lower_expr.subs({drift: 0, sigma_lower: sigma_min_star})
    / (K * S_upper_expr.subs({drift: 0, sigma_upper: sigma_max_star}))
)

#: Gap tending to 0: eta_bar tends to 1 / (K S_hi) at the limit point.
small_gap_step_expr = 1 / (
    K * S_upper_expr.subs({drift: 0, sigma_upper: sigma_max_star})
)

_width = sp.Symbol("h", positive=True)
_scale_1 = sp.Symbol("s_1", positive=True)
_scale_2 = sp.Symbol("s_2", positive=True)


@functools.cache
def large_width_limits() -> dict[str, sp.Expr]:
    """Return the large-width limits of mu_lo, S_hi and the T8 factor.

    With Gaussian initialization of scales ``s_1, s_2`` and width
    ``h >> n + m``, the eigenvalues of ``D`` split into about ``n`` near
    ``h s_1^2`` and ``m`` near ``-h s_2^2`` (THEORY section 4). Substituting
    ``lambda_1 = lambda_n = h s_1^2``, ``lambda_hm = lambda_h = -h s_2^2`` and
    ``delta = 0`` (the step shrinks like ``1 / h``, so does ``delta``) and
    ``s_lo = 0`` (the ``r`` lower terms are then at most ``s_lo^2 / (h s^2)``
    and vanish in the limit; dropping them keeps a valid lower bound):

    - ``mu_lo / h -> mu (s_1^2 + s_2^2)``;
    - ``S_hi / h -> s_1^2 + s_2^2``;
    - ``mu_lo / (K S_hi) -> mu / K``, so the factor ``1 - mu_lo / K_hi`` tends
      to the classical ``1 - mu / K`` of GD on ``ell`` itself.

    Returns
    -------
    dict
        Keys ``"mu_lower_over_h"``, ``"S_upper_over_h"`` and ``"factor"``,
        each the limit ``h -> oo`` computed by SymPy.
    """
    spectrum = {
        lambda_1: _width * _scale_1**2,
        lambda_n: _width * _scale_1**2,
        lambda_hm: -_width * _scale_2**2,
        lambda_h: -_width * _scale_2**2,
        drift: 0,
        sigma_lower: 0,
    }
    lower = mu_lower_expr.subs(_FULL_RANK).subs(spectrum)
    upper = S_upper_expr.subs(spectrum)
    return {
        "mu_lower_over_h": sp.limit(lower / _width, _width, sp.oo),
        "S_upper_over_h": sp.limit(upper / _width, _width, sp.oo),
        "factor": sp.limit(1 - lower / (K * upper), _width, sp.oo),
    }


EXPRESSIONS.update(
    {
        "positive_root": positive_root(root_linear, root_constant),
        "quadratic_growth_radius": quadratic_growth_radius_expr,
        "sigma_lower": sigma_lower_expr,
        "sigma_upper": sigma_upper_expr,
        "drift_radius": drift_radius_expr,
        "lambda_min_P_lower": lambda_min_P_lower_expr,
        "lambda_min_Q_lower": lambda_min_Q_lower_expr,
        "lambda_max_P_upper": lambda_max_P_upper_expr,
        "lambda_max_Q_upper": lambda_max_Q_upper_expr,
        "mu_lower": mu_lower_expr,
        "S_upper": S_upper_expr,
        "K_upper": K_upper_expr,
        "apriori_step_equation": apriori_step_equation_expr,
        "apriori_step_equation_slope": apriori_step_equation_slope_expr,
        "apriori_mu_lower": apriori_mu_lower_expr,
        "apriori_rate": apriori_rate_expr,
        "iterations": iterations_expr,
        "scalar_local_pl": scalar_local_pl_expr,
        "scalar_local_pl_h1": scalar_local_pl_h1_expr,
        "scalar_S": scalar_S_expr,
        "balanced_local_pl": balanced_local_pl_expr,
        "small_gap_factor": small_gap_factor_expr,
        "small_gap_step": small_gap_step_expr,
    }
)


__all__ += [
    "lambda_1",
    "lambda_n",
    "lambda_hm",
    "lambda_h",
    "drift",
    "sigma_lower",
    "sigma_upper",
    "sigma_min_star",
    "sigma_max_star",
    "S_upper",
    "rtol",
    "factor",
    "positive_root",
    "large_width_limits",
    "numpy_function_quiet",
    "apriori_newton_function",
]


def numpy_function_quiet(name: str) -> Callable[..., Any]:
    """Return :func:`numpy_function` evaluated with 0/0 in untaken branches muted.

    ``Piecewise`` and ``Max`` lambdify to ``numpy.select`` and
    ``numpy.maximum``, which broadcast arrays against each other and against
    scalars; ``select`` evaluates every branch, and a branch that is not taken
    may divide by zero (see :func:`positive_root`). The result is returned as
    computed: a NaN in it comes from a branch that was taken. The expression
    is lambdified with common-subexpression elimination (the large a priori
    expressions repeat each square root several times), which is the same
    function as :func:`numpy_function` evaluated faster.
    """
    return _quiet_caller(name)


@functools.cache
def _quiet_caller(name: str) -> Callable[..., Any]:
    import numpy as np

    expr = expression(name)
    symbols = _ordered_symbols(expr)
    function = sp.lambdify(symbols, expr, modules="numpy", cse=True)
    argument_names = tuple(s.name for s in symbols)

    def call(**values: Any) -> Any:
        if set(values) != set(argument_names):
            raise ValueError(
                f"expression {name!r} takes arguments {list(argument_names)}; "
                f"got {sorted(values)}"
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            return function(*(values[a] for a in argument_names))

    call.__name__ = f"{name}_numpy_quiet"
    call.__doc__ = f"Evaluate {name!r} with keyword arguments {list(argument_names)}."
    return call


@functools.cache
def apriori_newton_function() -> Callable[..., tuple[Any, Any]]:
    """Return a NumPy function of ``(K, Delta, eta, lambda_1, lambda_h, s_hi)``.

    It evaluates the T8 step equation ``eta K_hi(eta) - 1`` (``delta = 2 eta
    Delta``) and its derivative in ``eta`` together, sharing their common
    subexpressions, for the Newton solve of ``eta_bar``; evaluate it inside
    ``numpy.errstate(divide="ignore", invalid="ignore")`` (see
    :func:`positive_root`).
    """
    arguments = (K, gap, eta, lambda_1, lambda_h, sigma_upper)
    pair = (apriori_step_equation_expr, apriori_step_equation_slope_expr)
    return sp.lambdify(arguments, pair, modules="numpy", cse=True)
