"""Property tests of T1, T2, T3, T4, T6 and T9 on two-layer GD trajectories.

States are drawn by ``gd_states``: random shapes (including ``h < n``,
``h < m``, ``n != m``), scales over orders of magnitude, both losses, then a
few certified GD steps. Every library value is compared with the independent
reference of ``reference.py`` and every inequality is checked on the loss
evaluated at the next iterate.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import reference
from hypothesis import assume, given
from hypothesis import strategies as st

import lplbounds
from lplbounds import certificates
from lplbounds.exceptions import CertificationWarning
from lplbounds.testing.strategies import gd_states, log_uniform


def _pair(problem):
    return problem.network.to_pair()


def _dimension(W1, W2):
    return max(W1.shape[0], W2.shape[0], W1.shape[1])


def _step_change(W1, W2, loss, eta):
    """``L+ - L``, by evaluating the loss at the next iterate."""
    next_1, next_2 = reference.next_iterate(W1, W2, loss, eta)
    return reference.loss_change(loss, W1 @ W2.T, next_1 @ next_2.T), (next_1, next_2)


def _allowance(problem, eta):
    """The library's documented rounding bound on ``(L+ - L) - u(eta)``."""
    state = certificates.local_state(problem.network, problem.loss)
    following = certificates.local_state(
        problem.network.stepped(state.gradients, eta), problem.loss
    )
    return certificates.rounding_allowance(state, following, eta)


def _majorant_rounding(problem, eta):
    state = certificates.local_state(problem.network, problem.loss)
    return certificates.majorant_rounding(state, eta)


def _step_near_certified(problem, multiple):
    """The pair, the loss and a step ``multiple`` times the certified one."""
    eta_cert = _certified_eta(problem)
    assume(eta_cert > 0)
    W1, W2 = _pair(problem)
    return W1, W2, problem.loss, multiple * eta_cert


def _certified_eta(problem):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CertificationWarning)
        W1, W2 = _pair(problem)
        return lplbounds.step_size(W1, W2, problem.loss)


@given(problem=gd_states())
def test_local_pl_constant_matches_reference_and_holds_on_gd_states(problem):
    """T1: ``||grad L||^2 >= 2 mu_loc gap`` with mu_loc from singular values."""
    W1, W2 = _pair(problem)
    loss = problem.loss
    mu_local = lplbounds.local_pl_constant(W1, W2, loss)
    expected = reference.local_pl(W1, W2, loss)
    # Same singular values, different code: agreement to a few ulps.
    assert mu_local == pytest.approx(expected, rel=1e-12, abs=1e-300)

    _, grad_1, grad_2 = reference.gradients(W1, W2, loss)
    grad_sq = float(np.sum(grad_1**2) + np.sum(grad_2**2))
    gap = loss.gap(W1 @ W2.T)
    # Rounding: the inner products (summation_slack) and the smallest squared
    # singular values, which carry an absolute error of about
    # d eps (||W1||_2^2 + ||W2||_2^2); mu is exact to d eps cond(X) <= 1e-10.
    # A gap computed as ell - ell_star (rule 1) is exact only to d eps |ell|.
    spectral = np.linalg.norm(W1, 2) ** 2 + np.linalg.norm(W2, 2) ** 2
    subtraction = loss.value(W1 @ W2.T) if loss.gap_by_subtraction else 0.0
    slack = reference.summation_slack(
        _dimension(W1, W2),
        grad_sq,
        2 * mu_local * gap,
        2 * loss.mu * gap * spectral,
        2 * mu_local * subtraction,
    )
    slack += 2 * mu_local * gap * 1e-10
    assert grad_sq >= 2 * mu_local * gap - slack


@given(problem=gd_states(), multiple=log_uniform(1e-2, 10.0))
def test_descent_lemma_holds_for_any_step(problem, multiple):
    """T2: ``L+ - L <= -eta (1 - eta K_loc(eta) / 2) ||grad L||^2`` for every eta."""
    W1, W2, loss, eta = _step_near_certified(problem, multiple)

    K_local = lplbounds.local_smoothness_constant(W1, W2, loss, eta)
    assert K_local == pytest.approx(
        reference.local_smoothness(W1, W2, loss, eta), rel=1e-12
    )
    _, grad_1, grad_2 = reference.gradients(W1, W2, loss)
    grad_sq = float(np.sum(grad_1**2) + np.sum(grad_2**2))
    bound = -eta * (1 - eta * K_local / 2) * grad_sq
    change, _ = _step_change(W1, W2, loss, eta)
    slack = _allowance(problem, eta) + reference.summation_slack(
        _dimension(W1, W2), bound
    )
    assert change <= bound + slack


@given(problem=gd_states(), multiple=log_uniform(1e-2, 10.0))
def test_one_step_rate_holds_when_eta_K_local_below_two(problem, multiple):
    """T3: ``gap+ <= (1 - 2 mu_loc eta (1 - eta K_loc / 2)) gap`` if eta K_loc < 2."""
    W1, W2, loss, eta = _step_near_certified(problem, multiple)
    K_local = lplbounds.local_smoothness_constant(W1, W2, loss, eta)
    assume(eta * K_local < 2)

    mu_local = lplbounds.local_pl_constant(W1, W2, loss)
    gap = loss.gap(W1 @ W2.T)
    factor = 1 - 2 * mu_local * eta * (1 - eta * K_local / 2)
    change, (next_1, next_2) = _step_change(W1, W2, loss, eta)
    next_gap = loss.gap(next_1 @ next_2.T)
    slack = _allowance(problem, eta) + reference.summation_slack(
        _dimension(W1, W2), factor * gap, 2 * mu_local * gap * 1e-8
    )
    assert next_gap <= factor * gap + slack


@given(problem=gd_states(), multiple=log_uniform(1e-2, 10.0))
def test_quartic_majorant_matches_reference_and_bounds_the_step(problem, multiple):
    """T4: the quartic with K bounds ``L+ - L`` for every eta."""
    W1, W2, loss, eta = _step_near_certified(problem, multiple)
    K = loss.K

    u = lplbounds.majorant(W1, W2, loss, eta, use_curvature=False)
    expected, magnitude = reference.quartic_majorant_with_magnitude(
        W1, W2, loss, eta, lambda E: K * E
    )
    # The reference's monomial form rounds at d eps of the sum of its absolute
    # terms; the library's E-form at its documented majorant_rounding.
    assert abs(u - expected) <= reference.summation_slack(
        _dimension(W1, W2), magnitude
    ) + _majorant_rounding(problem, eta)
    change, _ = _step_change(W1, W2, loss, eta)
    assert change <= u + _allowance(problem, eta)


@given(problem=gd_states(), multiple=log_uniform(1e-2, 10.0))
def test_curvature_majorant_bounds_the_step_and_is_exact_for_least_squares(
    problem, multiple
):
    """T9: ``L+ - L <= u_H(eta)``, with equality for least squares."""
    W1, W2, loss, eta = _step_near_certified(problem, multiple)

    u = lplbounds.majorant(W1, W2, loss, eta)
    expected, magnitude = reference.quartic_majorant_with_magnitude(
        W1, W2, loss, eta, loss.curvature
    )
    assert abs(u - expected) <= reference.summation_slack(
        _dimension(W1, W2), magnitude
    ) + _majorant_rounding(problem, eta)
    change, _ = _step_change(W1, W2, loss, eta)
    allowance = _allowance(problem, eta)
    assert change <= u + allowance
    if problem.description["loss"] == "least-squares":
        assert change >= u - allowance


@given(problem=gd_states())
def test_certified_step_minimizes_the_majorant_and_beats_the_fixed_point_step(problem):
    """T4: u(eta_cert) <= u(eta) on a grid, and <= the T2 bound at any eta."""
    W1, W2 = _pair(problem)
    loss = problem.loss
    for use_curvature, rule in ((False, "certified-K"), (True, "certified")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CertificationWarning)
            eta_cert = lplbounds.step_size(W1, W2, loss, rule=rule)
        assume(eta_cert > 0)
        best = lplbounds.majorant(W1, W2, loss, eta_cert, use_curvature=use_curvature)
        grid = eta_cert * np.geomspace(1e-3, 1e2, 60)
        values = [
            lplbounds.majorant(W1, W2, loss, e, use_curvature=use_curvature)
            for e in grid
        ]
        slack = reference.summation_slack(_dimension(W1, W2), best, *values)
        assert best <= min(values) + slack

        eta_fp = lplbounds.step_size(W1, W2, loss, rule="fixed-point")
        _, grad_1, grad_2 = reference.gradients(W1, W2, loss)
        grad_sq = float(np.sum(grad_1**2) + np.sum(grad_2**2))
        K_local = reference.local_smoothness(W1, W2, loss, eta_fp)
        descent = -eta_fp * (1 - eta_fp * K_local / 2) * grad_sq
        assert best <= descent + reference.summation_slack(
            _dimension(W1, W2), best, descent
        )


@given(problem=gd_states())
def test_fixed_point_step_solves_its_cubic(problem):
    """T3: ``eta_fp K_loc(eta_fp) = 1``, checked against the reference T2 formula."""
    W1, W2 = _pair(problem)
    loss = problem.loss
    _, grad_1, grad_2 = reference.gradients(W1, W2, loss)
    assume(np.sum(grad_1**2) + np.sum(grad_2**2) > 0)
    eta_fp = lplbounds.step_size(W1, W2, loss, rule="fixed-point")
    product = eta_fp * reference.local_smoothness(W1, W2, loss, eta_fp)
    # The cubic is increasing with slope >= 1/eta at the root: a relative
    # error of a few ulps in eta gives a few ulps in the product.
    assert product == pytest.approx(1.0, rel=1e-12)


@given(problem=gd_states(), multiple=log_uniform(1e-2, 10.0))
def test_imbalance_drift_identity_on_gd_steps(problem, multiple):
    """T6: ``D+ - D = eta^2 (A^T A - B B^T)`` exactly (rule 4 tolerance)."""
    W1, W2, loss, eta = _step_near_certified(problem, multiple)
    G, A, _ = reference.gradients(W1, W2, loss)
    B = W1.T @ G
    next_1, next_2 = reference.next_iterate(W1, W2, loss, eta)
    drift = reference.imbalance(next_1, next_2) - reference.imbalance(W1, W2)
    predicted = eta**2 * (A.T @ A - B @ B.T)
    # Rule 4: the four Gram products round at d eps of ||W||_F^2 each.
    scale = sum(np.sum(M**2) for M in (W1, W2, next_1, next_2))
    tolerance = reference.summation_slack(_dimension(W1, W2), scale)
    assert np.linalg.norm(drift - predicted) <= tolerance + reference.summation_slack(
        _dimension(W1, W2), np.linalg.norm(predicted)
    )


@given(problem=gd_states(max_steps=0), steps=st.integers(1, 30))
def test_drift_stays_within_its_radius_with_fixed_point_steps(problem, steps):
    """T6: with eta_t K_loc,t <= 1, ``||D_t - D_0||_2 <= 2 max eta (gap_0 - gap_t)``."""
    W1, W2 = _pair(problem)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CertificationWarning)
        run = lplbounds.gd(W1, W2, problem.loss, rule="fixed-point", max_steps=steps)
    assume(run.steps > 0)
    final_1, final_2 = run.weights
    drift = np.linalg.norm(
        reference.imbalance(final_1, final_2) - reference.imbalance(W1, W2), 2
    )
    radius = 2 * float(np.max(run.eta)) * (run.gap[0] - run.gap[-1])
    scale = sum(np.sum(M**2) for M in (W1, W2, final_1, final_2))
    assert (
        drift
        <= radius + reference.summation_slack(_dimension(W1, W2), scale) * run.steps
    )


@given(
    problem=gd_states(max_steps=0),
    rule=st.sampled_from(["certified", "certified-K", "fixed-point"]),
)
def test_every_gd_step_stays_within_its_certified_factor(problem, rule):
    """T2/T4/T9 along whole runs: observed factor <= certified factor."""
    W1, W2 = _pair(problem)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CertificationWarning)
        run = lplbounds.gd(W1, W2, problem.loss, rule=rule, rtol=1e-6, max_steps=200)
    assert run.certificate_violations().size == 0
    assert np.all(run.certified_factor <= 1.0)
    assert run.gap.size == run.steps + 1 == run.mu_local.size
    if run.steps:
        assert np.all(np.diff(run.gap) <= run.rounding_allowance * run.gap[:-1])


def test_stationary_point_returns_zero_step_with_warning():
    """A factorization of the stored least-squares minimizer has grad L = 0 exactly."""
    from lplbounds.losses import LeastSquares

    X = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    loss = LeastSquares(X, X @ np.array([[1.0], [2.0]]))
    W1, W2 = loss.minimizer, np.ones((1, 1))
    with pytest.warns(CertificationWarning, match="stationary"):
        assert lplbounds.step_size(W1, W2, loss) == 0.0
    assert math.isclose(loss.gap(W1 @ W2.T), 0.0, abs_tol=1e-30)


def test_majorant_through_E_survives_a_huge_step_near_a_stationary_point():
    """Shrunk from the thorough profile: the monomial quartic cancels, E does not.

    Near the minimizer of a 1 x 1 ridge-logistic problem the T4 quartic has a
    critical point near 6e7 (once returned as the certified step, before ties
    accounted for rounding); there its monomial terms are of order 10 while u
    is about -1e-14 (THEORY rule 5). The library evaluates u through E(eta);
    it must agree with u computed in 50-digit arithmetic from the same
    float64 inputs.
    """
    import mpmath

    from lplbounds.losses import RidgeLogistic

    X = np.array([[0.1257302210933933], [-0.1321048632913019]])
    loss = RidgeLogistic(X, np.array([[1.0], [-1.0]]), ridge=1.0)
    W1, W2 = np.array([[0.08989573799049178]]), np.array([[0.7140719695023431]])
    eta = 61754700.37087363
    u = lplbounds.majorant(W1, W2, loss, eta, use_curvature=False)

    with mpmath.workdps(50):
        w1, w2, step = mpmath.mpf(W1[0, 0]), mpmath.mpf(W2[0, 0]), mpmath.mpf(eta)
        G = mpmath.mpf(loss.grad(W1 @ W2.T)[0, 0])
        change = (w1 - step * G * w2) * (w2 - step * G * w1) - w1 * w2
        exact = G * change + mpmath.mpf(loss.K) / 2 * change**2
    # E is a difference of two products of size 0.06 that cancel to 1e-7:
    # float64 keeps about 9 digits of it.
    assert u == pytest.approx(float(exact), rel=1e-6)
    assert u < 0


def test_rounding_noise_at_a_huge_critical_point_does_not_beat_a_tie():
    """Shrunk from the thorough profile: two minima of u of equal value.

    For n = m = h = 1 near a stationary point the T4 quartic has minima near
    2.7 and 2.2e11 with the same value (THEORY rule 5). At the large one E is
    a difference of terms 1e11 times larger than itself, and rounding there
    once made the library return it with a worse u than the small step.
    The small step must win the tie, and its u must not exceed the T2 bound
    at the fixed-point step.
    """
    from lplbounds.losses import RidgeLogistic

    X = np.array(
        [-0.5886990687350848, 0.5842988181143728, 3.1545642362837536,
         -2.732140635626255, -5.522282158427118, 4.504468149817811,
         -2.063385679420882, -4.815471404032616, -7.516311368293596,
         3.052250121430499, -3.062170983638376, -0.052601311042394044]
    )[:, None]  # fmt: skip
    Y = np.array([1, -1, 1, 1, 1, 1, 1, -1, 1, 1, -1, -1], dtype=float)[:, None]
    loss = RidgeLogistic(X, Y, ridge=1.0, reduction="sum")
    W1, W2 = np.array([[0.05994107455548301]]), np.array([[-0.06949882819804401]])

    eta = lplbounds.step_size(W1, W2, loss, rule="certified-K")
    assert eta < 10.0
    best = lplbounds.majorant(W1, W2, loss, eta, use_curvature=False)
    eta_fp = lplbounds.step_size(W1, W2, loss, rule="fixed-point")
    _, grad_1, grad_2 = reference.gradients(W1, W2, loss)
    grad_sq = float(np.sum(grad_1**2) + np.sum(grad_2**2))
    K_local = reference.local_smoothness(W1, W2, loss, eta_fp)
    descent = -eta_fp * (1 - eta_fp * K_local / 2) * grad_sq
    assert best <= descent + reference.summation_slack(1, best, descent)
