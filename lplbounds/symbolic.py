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
from collections.abc import Callable, Mapping
from typing import Any

import mpmath
import sympy as sp

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
        expression in ``mu``-free symbols ``K, g, S, G_2``.

    Notes
    -----
    With ``a3 = K g^2 / 4``, ``a2 = K sqrt(S) g`` and ``a1 = G_2 + K S`` the
    discriminant of ``a3 x^3 + a2 x^2 + a1 x - 1`` is negative whenever
    ``g > 0`` (the terms ``4 a2^3 - 18 a3 a2 a1`` and ``a1^2 (a2^2 - 4 a3 a1)``
    are both negative), so the cubic has one real root and Cardano's formula
    with real cube roots gives it. For display and high-precision checks only:
    in float64 it loses accuracy when ``g`` is small, so the library solves the
    cubic by safeguarded Newton iteration instead.
    """
    return _fixed_point_closed_form()


@functools.cache
def _fixed_point_closed_form() -> sp.Expr:
    a3 = K * grad_norm**2 / 4
    a2 = K * sp.sqrt(S) * grad_norm
    a1 = spectral_norm_G + K * S
    a0 = sp.Integer(-1)
    # Depressed cubic t^3 + p t + q = 0 with x = t - a2 / (3 a3).
    p = (3 * a3 * a1 - a2**2) / (3 * a3**2)
    q = (2 * a2**3 - 9 * a3 * a2 * a1 + 27 * a3**2 * a0) / (27 * a3**3)
    root_disc = sp.sqrt(q**2 / 4 + p**3 / 27)
    t = sp.real_root(-q / 2 + root_disc, 3) + sp.real_root(-q / 2 - root_disc, 3)
    return t - a2 / (3 * a3)


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


def _keyword_caller(name: str, backend: str) -> Callable[..., Any]:
    function, argument_names = _lambdified(name, backend)

    def call(**values: Any) -> Any:
        missing = [a for a in argument_names if a not in values]
        extra = [a for a in values if a not in argument_names]
        if missing or extra:
            raise ValueError(
                f"expression {name!r} takes arguments {list(argument_names)}; "
                f"missing {missing}, unexpected {extra}"
            )
        return function(*(values[a] for a in argument_names))

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

    Inputs are converted with ``mpmath.mpf`` inside the working precision, so
    strings such as ``"0.1"`` and ``fractions.Fraction`` values stay exact on
    the way in, unlike float literals.

    Examples
    --------
    >>> str(evaluate_mpmath("local_pl", digits=30, mu="0.1",
    ...                     lambda_min_P="0.2", lambda_min_Q="0"))
    '0.02'
    """
    if not isinstance(digits, int) or isinstance(digits, bool) or digits < 1:
        raise ValueError(f"digits must be a positive integer; got {digits!r}")
    with mpmath.workdps(digits):
        converted = {key: _to_mpf(value) for key, value in values.items()}
        result = mpmath_function(name)(**converted)
        return +result


def _to_mpf(value: Any) -> Any:
    from fractions import Fraction

    if isinstance(value, Fraction):
        return mpmath.mpf(value.numerator) / value.denominator
    if isinstance(value, sp.Rational):
        return mpmath.mpf(int(value.p)) / int(value.q)
    return mpmath.mpf(value)


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
