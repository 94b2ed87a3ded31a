"""Tests of the symbolic a priori layer (T5-T8): lambdified forms, mpmath, limits.

The expressions with ``Max`` and ``Piecewise`` parts are evaluated on NumPy
arrays mixed with scalars and compared element by element with scalar calls
and with mpmath at 50 digits; the closed forms and limits are compared with
direct computation.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from lplbounds import apriori, symbolic
from lplbounds.testing.strategies import log_uniform

EPS = float(np.finfo(float).eps)
DIGITS = 50

# Names of the a priori expressions and how to draw their arguments.
APRIORI_NAMES = [
    "positive_root",
    "quadratic_growth_radius",
    "sigma_lower",
    "sigma_upper",
    "drift_radius",
    "lambda_min_P_lower",
    "lambda_min_Q_lower",
    "lambda_max_P_upper",
    "lambda_max_Q_upper",
    "mu_lower",
    "S_upper",
    "K_upper",
    "apriori_step_equation",
    "apriori_mu_lower",
    "apriori_rate",
    "scalar_local_pl",
    "scalar_local_pl_h1",
    "scalar_S",
    "balanced_local_pl",
    "small_gap_factor",
    "small_gap_step",
]

# Indicators take 0 or 1; eigenvalue-like symbols any sign; the rest are >= 0.
INDICATORS = {"chi_P", "chi_Q", "kappa_P", "kappa_Q"}
SIGNED = {"lambda_1", "lambda_n", "lambda_hm", "lambda_h", "a", "w"}
# sigma_max_star > 0 keeps S_hi > 0, the denominator of the small-gap limits.
POSITIVE = {"mu", "K", "eta", "Delta", "sigma_max_star"}


def _argument_names(name: str) -> list[str]:
    return sorted(s.name for s in symbolic.expression(name).free_symbols)


def _draw_value(rng: np.random.Generator, argument: str) -> float:
    if argument in INDICATORS:
        return float(rng.integers(0, 2))
    if argument in SIGNED:
        # Include exact zeros: r(0, c) and Max(0, 0) are branch points.
        return 0.0 if rng.random() < 0.15 else float(rng.normal() * 3)
    if argument in POSITIVE:
        return float(10 ** rng.uniform(-2, 1))
    return 0.0 if rng.random() < 0.15 else float(10 ** rng.uniform(-2, 1))


def _mpmath_value(name: str, values: dict[str, float]) -> mpmath.mpf:
    with mpmath.workdps(DIGITS):
        return symbolic.evaluate_mpmath(name, digits=DIGITS, **values)


# Rounding bound for a float64 evaluation: each expression has at most about
# 60 floating operations (square roots included), each adding at most eps
# relative to the magnitude of the terms it combines. Those terms are either
# of the size of the result (sums and products of same-signed terms, and
# r(a, c) in its rule-7 form has no cancellation) or, where a subtraction
# cancels (lambda - delta, eta K_hi - 1, 1 - q), of the size of the inputs'
# products, at most M^2 with M = max(1, |inputs|). Hence
# |numpy - exact| <= 60 eps (|exact| + M^2); 64 is used.
def _tolerance(values: dict[str, float], exact: float) -> float:
    magnitude = max(1.0, *(abs(v) for v in values.values()))
    return 64 * EPS * (abs(exact) + magnitude**2)


@pytest.mark.parametrize("name", APRIORI_NAMES)
@given(st.integers(0, 2**32 - 1))
def test_lambdified_arrays_match_scalars_and_mpmath(name, seed):
    rng = np.random.default_rng(seed)
    arguments = _argument_names(name)
    size = 6
    # Half of the arguments become arrays, the rest stay Python floats.
    array_arguments = {a for a in arguments if rng.random() < 0.5}
    rows = [{a: _draw_value(rng, a) for a in arguments} for _ in range(size)]
    for a in arguments:
        if a not in array_arguments:
            for row in rows[1:]:
                row[a] = rows[0][a]
    mixed = {
        a: (np.array([row[a] for row in rows]) if a in array_arguments else rows[0][a])
        for a in arguments
    }

    vectorized = symbolic.numpy_function_quiet(name)(**mixed)
    vectorized = np.broadcast_to(np.asarray(vectorized, dtype=float), (size,))
    plain = (
        np.broadcast_to(
            np.asarray(symbolic.numpy_function(name)(**mixed), dtype=float), (size,)
        )
        if _branches_are_safe(rows)
        else vectorized
    )

    # Vectorized NumPy loops, scalar paths and the common-subexpression form
    # may each round an operation differently, so they are compared with the
    # same bound as against the exact value (twice it: both sides err).
    for i, row in enumerate(rows):
        scalar = float(symbolic.numpy_function_quiet(name)(**row))
        exact = float(_mpmath_value(name, row))
        tolerance = _tolerance(row, exact)
        assert math.isfinite(scalar), (name, row)
        assert abs(scalar - exact) <= tolerance, (name, row, scalar, exact)
        assert abs(vectorized[i] - scalar) <= 2 * tolerance, (name, row)
        assert abs(plain[i] - scalar) <= 2 * tolerance, (name, row)


ROOT_CONSTANTS = {"c", "s_lo", "s_hi", "sigma_min_star", "sigma_max_star"}


def _branches_are_safe(rows: list[dict[str, float]]) -> bool:
    # numpy_function (no errstate) is compared too when no untaken branch can
    # divide 0 by 0, i.e. no r(a, 0) with a >= 0 among the rows.
    return all(
        all(value != 0.0 for key, value in row.items() if key in ROOT_CONSTANTS)
        for row in rows
    )


def test_positive_root_keeps_relative_accuracy_for_negative_a():
    # Rule 7: the direct formula returns 0 for r(-1, 1e-20); the exact value is
    # 1e-20 (1 - 1e-20 + ...), so the relative error must be a few eps.
    value = symbolic.numpy_function_quiet("positive_root")(a=-1.0, c=1e-20)
    assert value == pytest.approx(1e-20, rel=4 * EPS)
    assert symbolic.numpy_function_quiet("positive_root")(a=0.0, c=0.0) == 0.0
    assert symbolic.numpy_function_quiet("positive_root")(a=2.5, c=0.0) == 2.5
    assert symbolic.numpy_function_quiet("positive_root")(a=-2.5, c=0.0) == 0.0


def test_positive_root_solves_its_quadratic():
    a, c = symbolic.root_linear, symbolic.root_constant
    root = symbolic.expression("positive_root")
    for branch, _ in root.args:
        assert sp.simplify(branch**2 - a * branch - c) == 0


def test_max_and_piecewise_broadcast_with_scalar_constants():
    # An array in one argument, scalars everywhere else, and branch points.
    f = symbolic.numpy_function_quiet("lambda_min_P_lower")
    lam_n = np.array([-1.0, 0.0, 0.5, 2.0])
    result = f(
        chi_P=1.0, kappa_P=1.0, delta=0.25, lambda_n=lam_n, lambda_h=-1.0, s_lo=0.5
    )
    expected = [max(max(x - 0.25, 0.0), float(_mp_root(-1.25, 0.25))) for x in lam_n]
    np.testing.assert_allclose(result, expected, rtol=4 * EPS, atol=0)
    # All-scalar call returns a scalar; an indicator array switches terms off.
    assert (
        np.ndim(f(chi_P=1, kappa_P=0, delta=0, lambda_n=1.0, lambda_h=-1.0, s_lo=0.5))
        == 0
    )
    off = f(
        chi_P=np.array([0.0, 1.0]),
        kappa_P=1.0,
        delta=0.0,
        lambda_n=3.0,
        lambda_h=-1.0,
        s_lo=0.5,
    )
    np.testing.assert_array_equal(off, [0.0, 3.0])


def _mp_root(a: float, c: float) -> mpmath.mpf:
    with mpmath.workdps(DIGITS):
        a_, c_ = mpmath.mpf(a), mpmath.mpf(c)
        return (a_ + mpmath.sqrt(a_**2 + 4 * c_)) / 2


def test_iterations_is_the_smallest_sufficient_count():
    f = symbolic.numpy_function("iterations")
    for q in (0.5, 0.9, 0.999, 0.999999):
        for rtol in (1e-1, 1e-6, 1e-12):
            count = int(f(rtol=rtol, q=q))
            with mpmath.workdps(DIGITS):
                exact = mpmath.ceil(mpmath.log(1 / mpmath.mpf(rtol)) / -mpmath.log(q))
            assert count == int(exact)
            assert q**count <= rtol * (1 + 1e-12)


def test_balanced_start_and_large_width_limits():
    assert (
        sp.simplify(
            symbolic.expression("balanced_local_pl")
            - 2 * symbolic.mu * symbolic.sigma_lower
        )
        == 0
    )
    limits = symbolic.large_width_limits()
    s1, s2 = sp.Symbol("s_1", positive=True), sp.Symbol("s_2", positive=True)
    assert sp.simplify(limits["mu_lower_over_h"] - symbolic.mu * (s1**2 + s2**2)) == 0
    assert sp.simplify(limits["S_upper_over_h"] - (s1**2 + s2**2)) == 0
    assert sp.simplify(limits["factor"] - (1 - symbolic.mu / symbolic.K)) == 0


def test_large_width_limit_is_approached_numerically():
    # Eigenvalues h s1^2 (n of them) and -h s2^2 (m of them): the T8 factor
    # tends to 1 - mu / K as h grows, and stays above it (it is a bound).
    mu, K, s1, s2 = 0.3, 2.0, 0.4, 0.7
    gaps = []
    for h in (10, 100, 1000, 10000):
        eigs = np.concatenate([[h * s1**2] * 2, [0.0] * (h - 4), [-h * s2**2] * 2])
        factor = apriori.rate(mu, K, 0.1, eigs, 2, 2, h, 0.5, 1.5)
        gaps.append(factor - (1 - mu / K))
    assert all(g >= 0 for g in gaps)
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 1e-2 * gaps[0]


def test_small_gap_limit_is_approached_numerically():
    # As gap0 -> 0 the T8 factor tends to 1 - mu_lo / (K S_hi) at delta = 0
    # with the singular values of W*; the difference is O(sqrt(gap0)).
    values = dict(
        mu=0.4,
        K=3.0,
        lambda_1=2.0,
        lambda_n=1.0,
        lambda_hm=1.0,
        lambda_h=-1.0,
        chi_P=1.0,
        chi_Q=1.0,
        kappa_P=1.0,
        kappa_Q=0.0,
        sigma_min_star=0.6,
        sigma_max_star=1.3,
    )
    limit = float(symbolic.numpy_function_quiet("small_gap_factor")(**values))
    eigs = [2.0, 1.0, -0.5, -1.0]
    differences = []
    for gap0 in (1e-2, 1e-4, 1e-6, 1e-8):
        factor = apriori.rate(0.4, 3.0, gap0, eigs, 2, 3, 4, 0.6, 1.3)
        differences.append(abs(factor - limit))
    ratios = [a / b for a, b in zip(differences, differences[1:])]
    # Halving orders of sqrt(gap0) per factor 100 of gap0: ratio near 10.
    assert all(5 < r < 20 for r in ratios), ratios


@given(
    log_uniform(1e-2, 1.0),
    log_uniform(1.0, 1e2),
    log_uniform(1e-4, 10.0),
    st.lists(st.floats(-5, 5), min_size=4, max_size=4),
    log_uniform(1e-2, 2.0),
    log_uniform(1e-2, 2.0),
)
def test_step_agrees_with_mpmath_root(mu, ratio, gap0, eigs, s_min, spread):
    # eta_bar from the float Newton solve against a 50-digit bisection of the
    # same equation; the float answer is left of the root by STEP_BACKOFF
    # (1e-12) plus a few eps of evaluation, so 1e-11 relative bounds the gap.
    K = mu * ratio
    s_max = s_min + spread
    result = apriori.bound(mu, K, gap0, eigs, 2, 3, 4, s_min, s_max)
    ordered = sorted(eigs, reverse=True)
    with mpmath.workdps(DIGITS):
        rho = mpmath.sqrt(2 * mpmath.mpf(gap0) / mu)
        s_hi = mpmath.mpf(s_max) + rho
        equation = symbolic.mpmath_function("apriori_step_equation")

        def f(x):
            return equation(
                K=mpmath.mpf(K),
                Delta=mpmath.mpf(gap0),
                eta=x,
                lambda_1=mpmath.mpf(ordered[0]),
                lambda_h=mpmath.mpf(ordered[-1]),
                s_hi=s_hi,
            )

        low, high = mpmath.mpf(0), mpmath.mpf(1)
        while f(high) < 0:
            high *= 2
        for _ in range(200):
            middle = (low + high) / 2
            low, high = (middle, high) if f(middle) < 0 else (low, middle)
        root = float(low)
    assert result.eta <= root * (1 + 4 * EPS)
    assert result.eta == pytest.approx(root, rel=1e-11)


def test_new_names_export_to_latex_and_text():
    for name in APRIORI_NAMES + ["iterations", "apriori_step_equation_slope"]:
        assert symbolic.latex(name)
        assert symbolic.pretty(name)
        assert symbolic.expression(name) is symbolic.as_mapping()[name]
    assert symbolic.latex("scalar_local_pl") == (
        r"\mu \sqrt{4 w^{2} + \left(\lambda_{1} - \lambda_{h}\right)^{2}}"
    )


def test_scalar_case_identity_in_high_precision():
    # ||w1||^2 + ||w2||^2 = sqrt((l1 - lh)^2 + 4 (w1.w2)^2) for h = 3, computed
    # with 50-digit eigenvalues of D = w1 w1^T - w2 w2^T.
    rng = np.random.default_rng(2)
    with mpmath.workdps(DIGITS):
        w1 = mpmath.matrix([[mpmath.mpf(float(x))] for x in rng.standard_normal(3)])
        w2 = mpmath.matrix([[mpmath.mpf(float(x))] for x in rng.standard_normal(3)])
        D = w1 * w1.T - w2 * w2.T
        eigenvalues = sorted(mpmath.eigsy(D)[0])
        w = (w1.T * w2)[0, 0]
        value = symbolic.mpmath_function("scalar_S")(
            lambda_1=eigenvalues[-1], lambda_h=eigenvalues[0], w=w
        )
        exact = (w1.T * w1)[0, 0] + (w2.T * w2)[0, 0]
        assert abs(value - exact) <= mpmath.mpf(10) ** (-40) * exact
