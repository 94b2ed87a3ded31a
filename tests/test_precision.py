"""The mpmath path (THEORY rule 6): every closed form evaluates at a chosen
number of digits, exact inputs stay exact on the way in, and a float64 value
of the library is confirmed to many digits.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

import lplbounds
from lplbounds import symbolic
from lplbounds.losses import LeastSquares

NAMES = sorted(symbolic.as_mapping())


def exact_inputs(name, seed):
    """Random rationals for every symbol, non-negative where the symbol is."""
    rng = np.random.default_rng(seed)
    values = {}
    for symbol in symbolic.expression(name).free_symbols:
        numerator = int(rng.integers(1, 60))
        if not symbol.is_nonnegative and rng.random() < 0.5:
            numerator = -numerator
        values[symbol.name] = Fraction(numerator, int(rng.integers(1, 60)))
    return values


@pytest.mark.parametrize("name", NAMES)
def test_every_closed_form_evaluates_at_chosen_precision(name):
    values = exact_inputs(name, seed=len(name))
    low = symbolic.evaluate_mpmath(name, digits=30, **values)
    high = symbolic.evaluate_mpmath(name, digits=80, **values)
    assert isinstance(low, mpmath.mpf) and mpmath.isfinite(high)
    # 30 digits agree with 80 digits to about 28 (a few guard digits of loss).
    with mpmath.workdps(80):
        assert abs(low - high) <= mpmath.mpf(10) ** -26 * max(1, abs(high))
    # And float64 agrees with both: the NumPy path is the same formula.
    floats = {key: float(value) for key, value in values.items()}
    float_value = float(symbolic.numpy_function(name)(**floats))
    assert float_value == pytest.approx(float(high), rel=1e-9, abs=1e-12)


def test_exact_sympy_expression_matches_the_mpmath_evaluation():
    """Independent route: SymPy substitutes the rationals and evaluates itself."""
    name = "one_step_factor"
    values = exact_inputs(name, seed=3)
    substitutions = {
        s: sp.Rational(values[s.name].numerator, values[s.name].denominator)
        for s in symbolic.expression(name).free_symbols
    }
    exact = symbolic.expression(name).subs(substitutions)
    expected = sp.N(exact, 60)
    got = symbolic.evaluate_mpmath(name, digits=60, **values)
    assert abs(sp.Float(mpmath.nstr(got, 60), 60) - expected) < sp.Float(
        10
    ) ** -55 * abs(expected)


def third_at_90_digits():
    with mpmath.workdps(90):
        return mpmath.mpf(1) / 3


THIRD_AS = {
    "Fraction": lambda: Fraction(1, 3),
    "sympy.Rational": lambda: sp.Rational(1, 3),
    "sympy.Float at 70 digits": lambda: sp.Float("0." + "3" * 70, 70),
    "mpmath.mpf at 90 digits": third_at_90_digits,
    "decimal string": lambda: "0." + "3" * 70,
    "Decimal": lambda: Decimal("0." + "3" * 70),
}


@pytest.mark.parametrize("kind", list(THIRD_AS))
def test_exact_and_high_precision_inputs_are_not_rounded_through_float64(kind):
    """mu = 1/3, lambda_min_P = 3: mu_loc = 1 to every digit asked for."""
    third = THIRD_AS[kind]()
    result = symbolic.evaluate_mpmath(
        "local_pl", digits=60, mu=third, lambda_min_P=3, lambda_min_Q=0
    )
    with mpmath.workdps(60):
        assert abs(result - 1) <= mpmath.mpf(10) ** -59
    # A float input is the binary number it is: 1/3 rounded to 53 bits.
    rounded = symbolic.evaluate_mpmath(
        "local_pl", digits=60, mu=1 / 3, lambda_min_P=3, lambda_min_Q=0
    )
    with mpmath.workdps(60):
        assert 1e-18 < abs(rounded - 1) < 1e-15


def test_exact_sympy_numbers_are_evaluated_to_the_working_precision():
    root_two = sp.sqrt(2)
    result = symbolic.evaluate_mpmath(
        "local_pl", digits=70, mu=root_two, lambda_min_P=root_two, lambda_min_Q=0
    )
    with mpmath.workdps(70):
        assert abs(result - 2) <= mpmath.mpf(10) ** -68


def test_the_fixed_point_step_is_confirmed_by_its_closed_form_at_50_digits():
    """The library's float64 Newton root against Cardano's formula in mpmath."""
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((40, 4)), rng.standard_normal((40, 3))
    loss = LeastSquares(X, Y)
    W1, W2 = 0.3 * rng.standard_normal((4, 8)), 0.3 * rng.standard_normal((3, 8))
    step = lplbounds.step_size(W1, W2, loss, "fixed-point")

    # The symbols of T2, recomputed here from their definitions.
    G = X.T @ (X @ (W1 @ W2.T) - Y) / 40
    quantities = {
        "K": loss.K,
        "g": float(np.sqrt(np.sum((G @ W2) ** 2) + np.sum((W1.T @ G) ** 2))),
        "S": float(np.linalg.norm(W1, 2) ** 2 + np.linalg.norm(W2, 2) ** 2),
        "G_2": float(np.linalg.norm(G, 2)),
    }
    closed_form = symbolic.evaluate_mpmath("fixed_point_step", digits=50, **quantities)
    assert step == pytest.approx(float(closed_form), rel=1e-12)
    residual = symbolic.evaluate_mpmath(
        "fixed_point_cubic", digits=50, eta=closed_form, **quantities
    )
    with mpmath.workdps(50):
        assert abs(residual) <= mpmath.mpf(10) ** -45


def test_mpmath_function_respects_the_callers_precision():
    function = symbolic.mpmath_function("local_pl")
    with mpmath.workdps(40):
        value = function(mu=mpmath.mpf(1) / 7, lambda_min_P=7, lambda_min_Q=0)
        assert abs(value - 1) <= mpmath.mpf(10) ** -39
