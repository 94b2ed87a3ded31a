"""Degenerate but legal inputs: the saddle at zero weights, widths below the
dimensions, a gap already at rounding level, and majorants whose derivative
has a vanishing or tiny leading coefficient or no usable root.

Each case returns a documented value (a step of 0.0, a structural zero, a stop
reason) with a CertificationWarning where nothing can be certified, never a
division by zero or a NaN.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lplbounds
from lplbounds.exceptions import CertificationWarning, ConstantWarning
from lplbounds.losses import Custom, LeastSquares

RNG = np.random.default_rng(11)
N, n, m = 25, 3, 2
X = RNG.standard_normal((N, n))
Y = RNG.standard_normal((N, m))
LOSS = LeastSquares(X, Y)
RULES = ["certified", "certified-K", "fixed-point"]


def only_certification_warnings(caught):
    """No NumPy divide/invalid warning slipped out beside the documented ones."""
    return all(issubclass(w.category, CertificationWarning) for w in caught)


# --- The saddle W1 = W2 = 0 -------------------------------------------------------


@pytest.mark.parametrize("h", [1, 2, 5])
def test_zero_weights_have_local_pl_constant_zero(h):
    assert lplbounds.local_pl_constant(np.zeros((n, h)), np.zeros((m, h)), LOSS) == 0.0


@pytest.mark.parametrize("rule", RULES)
def test_zero_weights_give_no_certified_step_but_a_warning(rule):
    zeros1, zeros2 = np.zeros((n, 4)), np.zeros((m, 4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        step = lplbounds.step_size(zeros1, zeros2, LOSS, rule)
    assert step == 0.0
    assert any("stationary point" in str(w.message) for w in caught)
    assert only_certification_warnings(caught)


def test_gd_stops_at_the_saddle_with_reason_stationary():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = lplbounds.gd(np.zeros((n, 4)), np.zeros((m, 4)), LOSS)
    assert run.stop_reason == "stationary"
    assert run.steps == 0
    assert run.mu_local.tolist() == [0.0]
    assert np.isfinite(run.gap).all()
    assert caught and only_certification_warnings(caught)


def test_majorant_and_local_smoothness_at_the_saddle():
    """At W = 0 no step moves the product: u(eta) = 0, K_loc = ||G||_2."""
    zeros1, zeros2 = np.zeros((n, 4)), np.zeros((m, 4))
    assert lplbounds.majorant(zeros1, zeros2, LOSS, 0.3) == 0.0
    G = LOSS.grad(np.zeros((n, m)))
    assert lplbounds.local_smoothness_constant(
        zeros1, zeros2, LOSS, 0.3
    ) == pytest.approx(np.linalg.norm(G, 2), rel=1e-14)


def test_one_zero_factor_is_not_stationary_and_the_majorant_is_quadratic():
    """W1 = 0: M2 = G W2 W1^T G = 0, so u is a convex quadratic in eta and the
    certified step is its vertex ``||G W2||^2 / <G W2 W2^T, H G W2 W2^T>``."""
    W2 = RNG.standard_normal((m, 4))
    W1 = np.zeros((n, 4))
    G = LOSS.grad(np.zeros((n, m)))
    M1 = G @ W2 @ W2.T  # P G + G Q with P = 0
    H_M1 = X.T @ X @ M1 / N  # least-squares curvature, mean convention
    expected = np.sum((G @ W2) ** 2) / np.sum(M1 * H_M1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step = lplbounds.step_size(W1, W2, LOSS)
    assert step == pytest.approx(expected, rel=1e-12)
    assert lplbounds.local_pl_constant(W1, W2, LOSS) == pytest.approx(
        LOSS.mu * np.linalg.svd(W2, compute_uv=False)[-1] ** 2, rel=1e-12
    )


# --- Widths below the dimensions ---------------------------------------------------


def test_width_below_both_dimensions_gives_a_structural_zero():
    W1, W2 = RNG.standard_normal((n, 1)), RNG.standard_normal((m, 1))
    assert lplbounds.local_pl_constant(W1, W2, LOSS) == 0.0


def test_width_below_n_only_keeps_the_W2_term():
    h = 2  # h < n = 3, h >= m = 2
    W1, W2 = RNG.standard_normal((n, h)), RNG.standard_normal((m, h))
    expected = LOSS.mu * np.linalg.eigvalsh(W2 @ W2.T)[0]
    assert lplbounds.local_pl_constant(W1, W2, LOSS) == pytest.approx(
        expected, rel=1e-12
    )


@pytest.mark.parametrize("h", [1, 2])
def test_gd_with_a_narrow_width_is_certified_at_every_step(h):
    W1, W2 = 0.5 * RNG.standard_normal((n, h)), 0.5 * RNG.standard_normal((m, h))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = lplbounds.gd(W1, W2, LOSS, rtol=1e-6, max_steps=300)
    assert run.certificate_violations().size == 0
    # A rank-h product cannot reach the full-rank minimizer: the gap stays
    # positive, and every certified step decreased it.
    assert np.all(np.diff(run.gap) <= 0)
    assert run.stop_reason in ("max_steps", "converged", "rounding")


# --- A gap at rounding level ------------------------------------------------------


def test_gd_from_the_exact_minimizer_has_converged_in_zero_steps():
    W1 = LOSS.minimizer.copy()  # n x m, h = m
    W2 = np.eye(m)
    assert LOSS.gap(W1 @ W2.T) == 0.0
    run = lplbounds.gd(W1, W2, LOSS)
    assert (run.stop_reason, run.steps) == ("converged", 0)


def test_gd_from_a_rounding_level_gap_stops_with_reason_rounding():
    # A shift of 1e-17 of the largest entry is below the 16-ulp floor of the product.
    W1 = LOSS.minimizer + 1e-17 * np.abs(LOSS.minimizer).max()
    run = lplbounds.gd(W1, np.eye(m), LOSS)
    assert 0 < run.gap[0]
    assert (run.stop_reason, run.steps) == ("rounding", 0)


def test_gd_driven_to_rounding_level_stops_there_without_violations():
    W1, W2 = 0.3 * RNG.standard_normal((n, 6)), 0.3 * RNG.standard_normal((m, 6))
    run = lplbounds.gd(W1, W2, LOSS, rtol=1e-300, max_steps=20_000)
    assert run.stop_reason == "rounding"
    assert run.certificate_violations().size == 0


def test_a_loss_computed_by_subtraction_stops_at_its_relative_floor():
    """Custom gaps are ``value - ell_star``: below 1e-12 of the value, rounding."""
    offset = 1e6

    def value(W):
        return offset + 0.5 * float(np.sum(W**2))

    loss = Custom(value, lambda W: W.copy(), mu=1.0, K=1.0, ell_star=offset)
    W1 = np.full((n, m), 1e-4)  # gap 3e-8, below 1e-12 * 1e6 = 1e-6
    run = lplbounds.gd(W1, np.eye(m), loss)
    assert (run.stop_reason, run.steps) == ("rounding", 0)


# --- Majorants with a tiny, vanishing or useless leading coefficient ---------------


def test_tiny_leading_coefficient_still_gives_the_minimizer_of_the_majorant():
    """W1 of size 1e-8: ||M2||^2 is about 1e-16 of the other coefficients."""
    W1, W2 = 1e-8 * RNG.standard_normal((n, 4)), RNG.standard_normal((m, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step = lplbounds.step_size(W1, W2, LOSS)
    best = lplbounds.majorant(W1, W2, LOSS, step)
    assert best < 0
    grid = np.linspace(1e-3, 10, 400) * step
    values = np.array([lplbounds.majorant(W1, W2, LOSS, eta) for eta in grid])
    # The grid cannot beat the minimizer beyond the rounding of u (|u| eps d).
    assert values.min() >= best - 1e-12 * abs(best)
    # And the majorant bounds the true change of the loss at that step.
    G = LOSS.grad(W1 @ W2.T)
    after = (W1 - step * G @ W2) @ (W2 - step * G.T @ W1).T
    assert LOSS.gap(after) - LOSS.gap(W1 @ W2.T) <= best + 1e-12 * abs(best)


def test_no_usable_critical_point_falls_back_to_the_fixed_point_step():
    """A curvature operator H = 0 (which does not dominate the Hessian) makes
    ``u(eta) = -eta g^2 + eta^2 <G, M2>`` with ``<G, M2> < 0`` at this point:
    ``u`` decreases forever, ``u'`` has no positive root, and the certified
    rule falls back to the fixed-point step of T2/T3, which uses only K."""
    target = 2.0

    def value(W):
        return 0.5 * float(np.sum((W - target) ** 2))

    def grad(W):
        return W - target

    with pytest.warns(ConstantWarning, match="declared curvature"):
        loss = Custom(
            value,
            grad,
            mu=1.0,
            K=1.0,
            ell_star=0.0,
            curvature=lambda E: 0 * E,
            shape=(1, 1),
        )
    W1, W2 = np.ones((1, 1)), np.ones((1, 1))  # G = -1, M2 = G w2 w1 G = 1: <G,M2> < 0
    with pytest.warns(CertificationWarning, match="fell back to the fixed-point step"):
        step = lplbounds.step_size(W1, W2, loss)
    assert step == lplbounds.step_size(W1, W2, loss, "fixed-point")
    assert step > 0
