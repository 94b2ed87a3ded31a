"""The SymPy expressions of T1-T4 and T9 against hand-written formulas and mpmath.

Each lambdified NumPy function is compared with the formula typed directly
from THEORY.md and with the mpmath evaluation of the same expression at 50
digits; the closed-form fixed-point step is compared with the library's
safeguarded Newton root.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from lplbounds import certificates, symbolic
from lplbounds.testing.strategies import gd_states, log_uniform

positive = log_uniform(1e-3, 1e3)
nonnegative = st.one_of(st.just(0.0), positive)

# float64 evaluation of a short formula: a few roundings per operation.
FLOAT_RTOL = 1e-13


@given(mu=positive, lmin_P=nonnegative, lmin_Q=nonnegative)
def test_local_pl_expression_is_mu_times_sum_of_smallest_eigenvalues(
    mu, lmin_P, lmin_Q
):
    value = symbolic.numpy_function("local_pl")(
        mu=mu, lambda_min_P=lmin_P, lambda_min_Q=lmin_Q
    )
    assert value == pytest.approx(mu * (lmin_P + lmin_Q), rel=FLOAT_RTOL, abs=0)
    precise = symbolic.evaluate_mpmath(
        "local_pl", digits=50, mu=mu, lambda_min_P=lmin_P, lambda_min_Q=lmin_Q
    )
    assert value == pytest.approx(float(precise), rel=FLOAT_RTOL, abs=0)


@given(K=positive, g=nonnegative, S=nonnegative, G_2=nonnegative, eta=positive)
def test_local_smoothness_and_descent_expressions(K, g, S, G_2, eta):
    K_local = symbolic.numpy_function("local_smoothness")(
        K=K, g=g, S=S, G_2=G_2, eta=eta
    )
    assert K_local == pytest.approx(
        G_2 + K * (np.sqrt(S) + eta * g / 2) ** 2, rel=FLOAT_RTOL
    )
    precise = symbolic.evaluate_mpmath(
        "local_smoothness", K=K, g=g, S=S, G_2=G_2, eta=eta
    )
    assert K_local == pytest.approx(float(precise), rel=FLOAT_RTOL)

    descent = symbolic.numpy_function("descent_bound")(K=K, g=g, S=S, G_2=G_2, eta=eta)
    expected = -eta * (1 - eta * K_local / 2) * g**2
    # Cancellation inside (1 - eta K_loc / 2): compare at the scale of its terms.
    scale = eta * (1 + eta * K_local / 2) * g**2
    assert abs(descent - expected) <= FLOAT_RTOL * scale * 10


@given(
    mu=positive,
    lmin_P=nonnegative,
    lmin_Q=nonnegative,
    K=positive,
    g=nonnegative,
    S=nonnegative,
    G_2=nonnegative,
    eta=positive,
)
def test_one_step_factor_vectorizes_and_matches_mpmath(
    mu, lmin_P, lmin_Q, K, g, S, G_2, eta
):
    arguments = dict(
        mu=mu, lambda_min_P=lmin_P, lambda_min_Q=lmin_Q, K=K, g=g, S=S, G_2=G_2, eta=eta
    )
    factor = symbolic.numpy_function("one_step_factor")
    scalar = factor(**arguments)
    # Arrays mixed with scalars broadcast to the same values, up to the last
    # ulps: vectorized kernels (pow, FMA) may round differently from scalars.
    mixed = factor(**{**arguments, "eta": np.full(3, eta)})
    np.testing.assert_allclose(mixed, np.full(3, scalar), rtol=8 * np.finfo(float).eps)
    precise = float(symbolic.evaluate_mpmath("one_step_factor", **arguments))
    K_local = G_2 + K * (np.sqrt(S) + eta * g / 2) ** 2
    scale = 1 + 2 * mu * (lmin_P + lmin_Q) * eta * (1 + eta * K_local / 2)
    assert abs(scalar - precise) <= FLOAT_RTOL * scale * 10


@given(K=positive, g=positive, S=nonnegative, G_2=nonnegative)
def test_cardano_closed_form_and_newton_agree_on_the_fixed_point_step(K, g, S, G_2):
    """T3: the closed form at 50 digits is the positive root of eta K_loc(eta) = 1."""
    with mpmath.workdps(50):
        closed = symbolic.mpmath_function("fixed_point_step")(
            K=mpmath.mpf(K), g=mpmath.mpf(g), S=mpmath.mpf(S), G_2=mpmath.mpf(G_2)
        )
        residual = (
            closed * (G_2 + K * (mpmath.sqrt(S) + closed * mpmath.mpf(g) / 2) ** 2) - 1
        )
        assert abs(residual) < mpmath.mpf(10) ** -35
        assert closed > 0

    coefficients = [
        float(c)
        for c in symbolic.fixed_point_cubic_coefficient_function()(K, g, S, G_2)
    ]
    assert coefficients[0] == -1.0
    assert all(c >= 0 for c in coefficients[1:])
    root = certificates.solve_increasing_cubic(coefficients)
    assert root == pytest.approx(float(closed), rel=1e-12)


def test_general_majorant_polynomial_reduces_to_the_two_layer_quartic():
    """T10 at N = 2 with C_1 = -M1, C_2 = M2 and H = K I is the T4 quartic."""
    expr, symbols = symbolic.majorant_polynomial(2)
    a1, a2, c11, c12, c22 = symbols
    substituted = expr.subs(
        {
            a1: -(symbolic.grad_norm**2),
            a2: symbolic.inner_G_M2,
            c11: symbolic.K * symbolic.norm_M1_sq,
            c12: -symbolic.K * symbolic.inner_M1_M2,
            c22: symbolic.K * symbolic.norm_M2_sq,
        }
    )
    assert sp.simplify(substituted - symbolic.majorant_K_expr) == 0


@given(problem=gd_states(max_steps=3), multiple=log_uniform(1e-2, 10.0))
def test_majorant_coefficients_agree_with_the_matrix_evaluation(problem, multiple):
    """The monomial coefficients and the E(eta) evaluation give the same u."""
    state = certificates.local_state(problem.network, problem.loss)
    eta = multiple * max(state.gap, 1e-3)
    coefficients = certificates.majorant_coefficients(state)
    monomial = float(np.polynomial.polynomial.polyval(eta, coefficients))
    direct = certificates.majorant(state, eta)
    scale = float(np.polynomial.polynomial.polyval(eta, np.abs(coefficients)))
    # The monomial form rounds at d eps of the sum of its absolute terms, the
    # E-form at its documented majorant_rounding (E is a difference of large
    # terms at large steps).
    dimension = max(problem.network.n, problem.network.m, *problem.network.widths)
    tolerance = 64 * dimension * np.finfo(float).eps * scale
    assert abs(monomial - direct) <= tolerance + certificates.majorant_rounding(
        state, eta
    )


def test_expressions_print_to_latex_and_text():
    assert "\\mu" in symbolic.latex("local_pl")
    assert "lambda_min_P" in symbolic.pretty("local_pl")
    assert "\\sqrt[3]" in symbolic.latex("fixed_point_step")
    with pytest.raises(ValueError, match="name must be one of"):
        symbolic.expression("no-such-expression")


def test_mpmath_keeps_decimal_strings_exact():
    value = symbolic.evaluate_mpmath(
        "local_pl", digits=40, mu="0.1", lambda_min_P="0.2", lambda_min_Q="0.3"
    )
    with mpmath.workdps(40):
        assert abs(value - mpmath.mpf("0.05")) < mpmath.mpf(10) ** -38
