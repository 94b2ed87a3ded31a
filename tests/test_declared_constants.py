"""Declared constants: spot checks of a Custom loss, and the sum versus mean
convention of the bundled losses (THEORY section 8).

A Custom loss's mu, K, ell_star and curvature are tested at sampled points;
a contradiction is a ConstantWarning naming the constant and the evidence. The
constants of LeastSquares and RidgeLogistic are recomputed here from their
definitions (eigenvalues of X^T X, the spectral norm of X) in both
conventions.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lplbounds
from lplbounds.exceptions import ConstantWarning
from lplbounds.losses import Custom, LeastSquares, RidgeLogistic

RNG = np.random.default_rng(7)
N = 30
X = RNG.standard_normal((N, 3))
Y = RNG.standard_normal((N, 2))
LABELS = np.where(RNG.standard_normal((N, 2)) > 0, 1.0, -1.0)
W1 = 0.4 * RNG.standard_normal((3, 6))
W2 = 0.4 * RNG.standard_normal((2, 6))

# A quadratic ell(W) = 1/2 ||A W - B||_F^2 whose constants are known in closed
# form: A = diag(1, 2, 3) gives mu = 1, K = 9 and ell_star = 0 (A invertible).
A = np.diag([1.0, 2.0, 3.0])
B = RNG.standard_normal((3, 2))


def quadratic_value(W):
    return 0.5 * float(np.sum((A @ W - B) ** 2))


def quadratic_grad(W):
    return A.T @ (A @ W - B)


def quadratic_curvature(E):
    return A.T @ A @ E


def make_quadratic(**overrides):
    declared = {
        "value": quadratic_value,
        "grad": quadratic_grad,
        "mu": 1.0,
        "K": 9.0,
        "ell_star": 0.0,
        "curvature": quadratic_curvature,
        "shape": (3, 2),
        **overrides,
    }
    return Custom(**declared)


def test_correct_declarations_pass_every_spot_check_and_a_run():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantWarning)
        loss = make_quadratic()
        run = lplbounds.gd(W1, W2, loss, rtol=1e-6, max_steps=500)
    assert run.certificate_violations().size == 0


@pytest.mark.parametrize(
    ("overrides", "constant", "evidence"),
    [
        (
            {"K": 4.0},
            "K",
            r"\|\|grad\(A\) - grad\(B\)\|\| / \|\|A - B\|\| = .* > K = 4",
        ),
        (
            {"mu": 3.0},
            "mu",
            r"\|\|grad\(W\)\|\|\^2 = .* < 2 mu \(value\(W\) - ell_star\)",
        ),
        ({"ell_star": 1.0}, "ell_star", r"value\(W\) = .* < ell_star = 1"),
        (
            {"curvature": lambda E: -E},
            "curvature",
            "not positive semidefinite",
        ),
        (
            {"curvature": lambda E: 0.5 * E},
            "curvature",
            "does not dominate the Hessian",
        ),
    ],
    ids=["K-too-small", "mu-too-large", "ell_star-too-high", "H-negative", "H-small"],
)
def test_contradicted_declarations_warn_with_the_constant_and_evidence(
    overrides, constant, evidence
):
    with pytest.warns(ConstantWarning, match=f"declared {constant} .*{evidence}"):
        make_quadratic(**overrides)


def test_without_shape_the_check_runs_once_on_first_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantWarning)
        loss = make_quadratic(K=4.0, shape=None)  # nothing sampled yet
    with pytest.warns(ConstantWarning, match="declared K"):
        loss.grad(np.ones((3, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantWarning)
        loss.grad(np.ones((3, 2)))  # checked already: silent


def test_spot_checks_can_be_turned_off():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantWarning)
        loss = make_quadratic(K=4.0, spot_checks=0)
        loss.grad(np.ones((3, 2)))


def test_gap_warns_when_a_value_is_below_the_declared_infimum():
    loss = make_quadratic(spot_checks=0, ell_star=0.5)
    with pytest.warns(ConstantWarning, match="ell_star=0.5 is contradicted"):
        assert loss.gap(np.linalg.solve(A, B)) == 0.0


@pytest.mark.parametrize("convention", ["mean-declared-as-sum", "sum-declared-as-mean"])
def test_a_custom_loss_in_the_wrong_convention_is_caught(convention):
    """The classic slip of THEORY section 8: constants off by the factor N."""
    mean = LeastSquares(X, Y, "mean")
    total = LeastSquares(X, Y, "sum")
    functions, declared = (
        (mean, total) if convention == "mean-declared-as-sum" else (total, mean)
    )
    constant = "mu" if convention == "mean-declared-as-sum" else "K"
    with pytest.warns(ConstantWarning, match=f"declared {constant} "):
        Custom(
            functions.value,
            functions.grad,
            mu=declared.mu,
            K=declared.K,
            ell_star=functions.ell_star,
            shape=(3, 2),
        )


# --- Sum versus mean ---------------------------------------------------------------


def test_least_squares_constants_follow_the_convention():
    gram_eigenvalues = np.linalg.eigvalsh(X.T @ X)
    total = LeastSquares(X, Y, "sum")
    mean = LeastSquares(X, Y, "mean")
    # Independent definitions: eigenvalues of X^T X, divided by N for the mean.
    assert total.mu == pytest.approx(gram_eigenvalues[0], rel=1e-12)
    assert total.K == pytest.approx(gram_eigenvalues[-1], rel=1e-12)
    assert mean.mu == pytest.approx(gram_eigenvalues[0] / N, rel=1e-12)
    assert mean.K == pytest.approx(gram_eigenvalues[-1] / N, rel=1e-12)
    assert total.mu == pytest.approx(N * mean.mu, rel=1e-14)
    assert total.K == pytest.approx(N * mean.K, rel=1e-14)
    assert total.ell_star == pytest.approx(N * mean.ell_star, rel=1e-12)


def test_ridge_logistic_constants_follow_the_convention():
    ridge = 0.05
    spectral_sq = np.linalg.norm(X, 2) ** 2
    total = RidgeLogistic(X, LABELS, ridge, "sum")
    mean = RidgeLogistic(X, LABELS, ridge, "mean")
    # The ridge term is never divided by N; the data part of K is.
    assert total.mu == mean.mu == ridge
    assert total.K == pytest.approx(ridge + spectral_sq / 4, rel=1e-12)
    assert mean.K == pytest.approx(ridge + spectral_sq / (4 * N), rel=1e-12)
    assert total.K - ridge == pytest.approx(N * (mean.K - ridge), rel=1e-12)


def test_values_gradients_and_curvature_scale_with_the_number_of_samples():
    W = RNG.standard_normal((3, 2))
    E = RNG.standard_normal((3, 2))
    total, mean = LeastSquares(X, Y, "sum"), LeastSquares(X, Y, "mean")
    assert total.value(W) == pytest.approx(N * mean.value(W), rel=1e-12)
    assert total.gap(W) == pytest.approx(N * mean.gap(W), rel=1e-12)
    np.testing.assert_allclose(total.grad(W), N * mean.grad(W), rtol=1e-12)
    np.testing.assert_allclose(total.curvature(E), N * mean.curvature(E), rtol=1e-12)

    ridge = 0.05
    total = RidgeLogistic(X, LABELS, ridge, "sum")
    mean = RidgeLogistic(X, LABELS, ridge, "mean")
    penalty = 0.5 * ridge * np.sum(W**2)
    assert total.value(W) - penalty == pytest.approx(
        N * (mean.value(W) - penalty), rel=1e-12
    )
    np.testing.assert_allclose(
        total.grad(W) - ridge * W, N * (mean.grad(W) - ridge * W), rtol=1e-11
    )
    np.testing.assert_allclose(
        total.curvature(E) - ridge * E, N * (mean.curvature(E) - ridge * E), rtol=1e-12
    )


def test_least_squares_certified_steps_rescale_by_the_number_of_samples():
    """With the sum, ``u_sum(eta) = N u_mean(N eta)``: the step divides by N."""
    total, mean = LeastSquares(X, Y, "sum"), LeastSquares(X, Y, "mean")
    eta_total = lplbounds.step_size(W1, W2, total)
    eta_mean = lplbounds.step_size(W1, W2, mean)
    assert N * eta_total == pytest.approx(eta_mean, rel=1e-9)
    assert lplbounds.majorant(W1, W2, total, eta_total) == pytest.approx(
        N * lplbounds.majorant(W1, W2, mean, eta_mean), rel=1e-9
    )
    assert lplbounds.local_pl_constant(W1, W2, total) == pytest.approx(
        N * lplbounds.local_pl_constant(W1, W2, mean), rel=1e-14
    )
