"""The losses against their definitions: values, gradients, constants, curvature.

Gradients are compared with central finite differences, constants with the
eigenvalues of ``X^T X`` computed here, the curvature operator with the
quadratic upper bound it must give (T9), and the ridge-logistic minimizer
with the PL bound on its error.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lplbounds.losses import LeastSquares, RidgeLogistic
from lplbounds.testing.strategies import (
    dimensions,
    least_squares,
    log_uniform,
    ridge_logistic,
)


def _finite_difference_gradient(loss, W, step=1e-6):
    gradient = np.zeros_like(W)
    for index in np.ndindex(*W.shape):
        shift = np.zeros_like(W)
        shift[index] = step
        gradient[index] = (loss.value(W + shift) - loss.value(W - shift)) / (2 * step)
    return gradient


@st.composite
def loss_and_point(draw):
    n, m, _ = draw(dimensions())
    loss = draw(st.one_of(least_squares(n, m), ridge_logistic(n, m)))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(log_uniform(1e-2, 3.0))
    return loss, scale * np.random.default_rng(seed).standard_normal((n, m))


@given(case=loss_and_point())
def test_gradient_matches_finite_differences(case):
    loss, W = case
    numeric = _finite_difference_gradient(loss, W)
    # Central differences with step h: truncation K h^2 and rounding
    # eps |ell| / h, about 1e-6 relative for these scales.
    scale = max(np.abs(numeric).max(), loss.K * (1 + np.abs(W).max()))
    np.testing.assert_allclose(loss.grad(W), numeric, atol=1e-5 * scale, rtol=0)


@given(case=loss_and_point())
def test_gap_is_value_minus_infimum_and_pl_holds(case):
    loss, W = case
    gap = loss.gap(W)
    # The stable gap agrees with the subtraction up to its rounding (rule 1).
    assert gap == pytest.approx(
        loss.value(W) - loss.ell_star, abs=1e-12 * max(1, loss.value(W))
    )
    gradient = loss.grad(W)
    # PL of ell: ||grad||^2 >= 2 mu gap, tolerance at the rounding of the gap.
    assert np.sum(gradient**2) >= 2 * loss.mu * gap - 2 * loss.mu * 1e-12 * max(
        1, abs(loss.value(W))
    )


@given(
    case=loss_and_point(), seed=st.integers(0, 2**32 - 1), size=log_uniform(1e-3, 3.0)
)
def test_curvature_operator_gives_a_quadratic_upper_bound(case, seed, size):
    """T9 base inequality: ell(W + E) <= ell(W) + <G, E> + <E, H E> / 2 <= K form."""
    loss, W = case
    E = size * np.random.default_rng(seed).standard_normal(W.shape)
    gradient = loss.grad(W)
    with_curvature = (
        loss.value(W) + np.sum(gradient * E) + 0.5 * np.sum(E * loss.curvature(E))
    )
    with_K = loss.value(W) + np.sum(gradient * E) + 0.5 * loss.K * np.sum(E**2)
    slack = 1e-12 * (
        abs(loss.value(W)) + abs(loss.value(W + E)) + loss.K * np.sum(E**2)
    )
    assert loss.value(W + E) <= with_curvature + slack
    assert with_curvature <= with_K + slack
    if isinstance(loss, LeastSquares):
        assert loss.value(W + E) == pytest.approx(with_curvature, abs=slack)


@given(n=st.integers(1, 5), m=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_least_squares_constants_and_conventions(n, m, seed):
    rng = np.random.default_rng(seed)
    samples = n + 5
    X, Y = rng.standard_normal((samples, n)), rng.standard_normal((samples, m))
    summed, mean = LeastSquares(X, Y, reduction="sum"), LeastSquares(X, Y)
    eigenvalues = np.linalg.eigvalsh(X.T @ X)
    assert summed.mu == pytest.approx(eigenvalues[0], rel=1e-10)
    assert summed.K == pytest.approx(eigenvalues[-1], rel=1e-12)
    assert mean.mu == pytest.approx(summed.mu / samples, rel=1e-12)
    assert mean.K == pytest.approx(summed.K / samples, rel=1e-12)
    W = rng.standard_normal((n, m))
    assert mean.value(W) == pytest.approx(summed.value(W) / samples, rel=1e-12)
    np.testing.assert_allclose(mean.grad(W), X.T @ (X @ W - Y) / samples, atol=1e-10)


@given(
    n=st.integers(1, 4),
    m=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
    ridge=log_uniform(1e-3, 1.0),
)
def test_ridge_logistic_constants_minimizer_and_conventions(n, m, seed, ridge):
    rng = np.random.default_rng(seed)
    samples = 12
    X = rng.standard_normal((samples, n))
    Y = np.where(rng.standard_normal((samples, m)) > 0, 1.0, -1.0)
    summed = RidgeLogistic(X, Y, ridge, reduction="sum")
    mean = RidgeLogistic(X, Y, ridge)
    spectral_sq = np.linalg.norm(X, 2) ** 2
    assert mean.mu == summed.mu == ridge
    assert summed.K == pytest.approx(ridge + spectral_sq / 4, rel=1e-12)
    assert mean.K == pytest.approx(ridge + spectral_sq / (4 * samples), rel=1e-12)
    # The minimizer's certificate: by PL, ell(W) - ell* <= ||grad||^2 / (2 mu).
    for loss in (summed, mean):
        gradient = loss.grad(loss.minimizer)
        assert np.sum(gradient**2) / (2 * loss.mu) <= 1e-12 * max(1, abs(loss.ell_star))
        W = loss.minimizer + 0.1 * rng.standard_normal((n, m))
        assert loss.value(W) >= loss.ell_star


def test_rank_deficient_design_is_refused():
    X = np.ones((5, 2))
    with pytest.raises(ValueError, match="full column rank"):
        LeastSquares(X, np.ones((5, 1)))


def test_labels_must_be_plus_or_minus_one():
    with pytest.raises(ValueError, match="labels -1 or \\+1"):
        RidgeLogistic(np.eye(3), np.array([[0.0], [1.0], [1.0]]), ridge=0.1)
