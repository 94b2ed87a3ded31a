"""Property tests of T10 for networks of depth 2 to 5, and the N = 2 reduction.

The deep reference here multiplies the factors directly: the layer gradients
``Left_i^T G Right_i^T``, the product after a step ``prod_i (A_i - eta g_i)``
and the local PL constant with its structural zeros, without going through
``LinearNetwork.step_coefficients`` or ``certificates``.
"""

from __future__ import annotations

import warnings
from functools import reduce

import numpy as np
import pytest
import reference
from hypothesis import assume, given
from hypothesis import strategies as st

import lplbounds
from lplbounds import certificates
from lplbounds.exceptions import CertificationWarning
from lplbounds.losses import LeastSquares
from lplbounds.testing.strategies import gd_states, log_uniform


def _product(matrices, rows):
    return reduce(np.matmul, matrices) if matrices else np.eye(rows)


def deep_gradients(factors, loss):
    W = _product(factors, factors[0].shape[0])
    G = loss.grad(W)
    result = []
    for i in range(len(factors)):
        left = _product(factors[:i], factors[0].shape[0])
        right = _product(factors[i + 1 :], factors[i].shape[1])
        result.append(left.T @ G @ right.T)
    return G, result


def deep_local_pl(factors, mu):
    n, m = factors[0].shape[0], factors[-1].shape[1]
    total = 0.0
    for i in range(len(factors)):
        left = _product(factors[:i], n)
        right = _product(factors[i + 1 :], factors[i].shape[1])
        # Rank of Left_i is at most the smallest width before it: zero if < n.
        left_rank_ok = all(A.shape[1] >= n for A in factors[:i])
        right_rank_ok = all(A.shape[0] >= m for A in factors[i + 1 :])
        s = np.linalg.svd(left, compute_uv=False)[n - 1] if left_rank_ok else 0.0
        t = np.linalg.svd(right, compute_uv=False)[m - 1] if right_rank_ok else 0.0
        total += s**2 * t**2
    return mu * total


def _dimension(network):
    return max(network.n, network.m, *network.widths)


depths = st.integers(2, 5)


@given(problem=gd_states(depth=depths, max_steps=5))
def test_deep_local_pl_holds_on_gd_states(problem):
    """T10: ``||grad L||^2 >= 2 mu gap sum_i sigma_n(Left_i)^2 sigma_m(Right_i)^2``.

    Checked on states of depth 2 to 5 against the direct partial products."""
    factors, loss = list(problem.network.factors), problem.loss
    mu_local = lplbounds.local_pl_constant(problem.network, loss)
    # Partial products multiplied in another order round differently: term i
    # carries an absolute error of about d eps times its bound
    # prod_{j != i} ||A_j||_2^2 (cancellation can make that large relative to
    # the term itself), so the comparison is absolute at that scale.
    squared_norms = [np.linalg.norm(A, 2) ** 2 for A in factors]
    magnitude = sum(
        float(np.prod(squared_norms[:i] + squared_norms[i + 1 :]))
        for i in range(len(factors))
    )
    dimension = _dimension(problem.network)
    expected = deep_local_pl(factors, loss.mu)
    assert abs(mu_local - expected) <= reference.summation_slack(
        dimension, loss.mu * magnitude
    )

    _, grads = deep_gradients(factors, loss)
    grad_sq = sum(float(np.sum(g**2)) for g in grads)
    gap = loss.gap(problem.network.product())
    # A gap computed as ell - ell_star (rule 1) is exact only to d eps |ell|.
    product = problem.network.product()
    subtraction = loss.value(product) if loss.gap_by_subtraction else 0.0
    slack = reference.summation_slack(
        dimension,
        grad_sq,
        2 * mu_local * gap,
        2 * loss.mu * gap * magnitude,
        2 * mu_local * subtraction,
    )
    assert grad_sq >= 2 * mu_local * gap - slack


@given(problem=gd_states(depth=depths, max_steps=5), multiple=log_uniform(1e-2, 10.0))
def test_deep_majorant_matches_direct_product_and_bounds_the_step(problem, multiple):
    """T10: ``L+ - L <= u(eta) = <G, E> + <E, H E> / 2``, E from the factors."""
    network, loss = problem.network, problem.loss
    factors = list(network.factors)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CertificationWarning)
        eta_cert = lplbounds.step_size(network, loss)
    assume(eta_cert > 0)
    eta = multiple * eta_cert

    G, grads = deep_gradients(factors, loss)
    stepped = [A - eta * g for A, g in zip(factors, grads, strict=True)]
    W, W_next = _product(factors, network.n), _product(stepped, network.n)
    change_matrix = W_next - W
    state = certificates.local_state(network, loss)
    # The library's E(eta) from the step polynomial equals the direct product
    # difference up to the rounding of the products (d eps of their size).
    magnitude = float(
        np.prod(
            [
                np.linalg.norm(A) + eta * np.linalg.norm(g)
                for A, g in zip(factors, grads, strict=True)
            ]
        )
    )
    assert np.linalg.norm(state.step_change(eta) - change_matrix) <= (
        reference.summation_slack(_dimension(network), magnitude) * len(factors)
    )

    for use_curvature in (False, True):
        u = lplbounds.majorant(network, loss, eta, use_curvature=use_curvature)
        operator = loss.curvature if use_curvature else (lambda E: loss.K * E)
        direct = float(
            np.sum(G * change_matrix)
            + 0.5 * np.sum(change_matrix * operator(change_matrix))
        )
        following = certificates.local_state(
            network.stepped(state.gradients, eta), loss
        )
        allowance = certificates.rounding_allowance(state, following, eta)
        assert abs(u - direct) <= allowance
        change = reference.loss_change(loss, W, W_next)
        assert change <= u + allowance


@given(problem=gd_states(depth=st.integers(3, 5), max_steps=0))
def test_deep_certified_gd_keeps_every_certificate(problem):
    """Certified GD at depth 3 to 5: observed <= certified factor at every step."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CertificationWarning)
        run = lplbounds.gd(problem.network, problem.loss, rtol=1e-6, max_steps=100)
    assert run.certificate_violations().size == 0
    assert np.all(run.certified_factor <= 1.0)
    assert all(label.endswith("/T10") for label in run.theorem)
    assert np.all(np.isnan(run.K_local))


@given(problem=gd_states(depth=2, max_steps=3))
def test_two_layer_functions_are_the_depth_two_network(problem):
    """The pair (W1, W2) and LinearNetwork([W1, W2.T]) give the same numbers."""
    W1, W2 = problem.network.to_pair()
    network = lplbounds.LinearNetwork([W1, W2.T])
    loss = problem.loss
    assert lplbounds.local_pl_constant(W1, W2, loss) == lplbounds.local_pl_constant(
        network, loss
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CertificationWarning)
        for rule in ("certified", "certified-K", "fixed-point"):
            assert lplbounds.step_size(W1, W2, loss, rule=rule) == lplbounds.step_size(
                network, loss, rule=rule
            )
        pair_run = lplbounds.gd(W1, W2, loss, max_steps=5)
        network_run = lplbounds.gd(network, loss, max_steps=5)
    np.testing.assert_array_equal(pair_run.gap, network_run.gap)
    assert isinstance(pair_run.weights, tuple)
    assert isinstance(network_run.weights, lplbounds.LinearNetwork)


def test_bottleneck_width_makes_the_deep_pl_term_structurally_zero():
    """Dims (3, 1, 4, 2): Left_3 = A_1 A_2 has rank 1 < n = 3, so its term is 0."""
    rng = np.random.default_rng(3)
    factors = [
        rng.standard_normal((3, 1)),
        rng.standard_normal((1, 4)),
        rng.standard_normal((4, 2)),
    ]
    loss = LeastSquares(rng.standard_normal((10, 3)), rng.standard_normal((10, 2)))
    network = lplbounds.LinearNetwork(factors)
    # Every term needs both sides: i = 1 needs widths (1, 4) >= m = 2 (fails
    # at 1); i = 2 needs width 1 >= n = 3 (fails); i = 3 needs (1, 4) >= 3.
    assert lplbounds.local_pl_constant(network, loss) == 0.0


def test_fixed_point_rule_is_refused_beyond_two_layers():
    rng = np.random.default_rng(0)
    loss = LeastSquares(rng.standard_normal((10, 3)), rng.standard_normal((10, 2)))
    network = lplbounds.LinearNetwork(
        [
            rng.standard_normal((3, 4)),
            rng.standard_normal((4, 4)),
            rng.standard_normal((4, 2)),
        ]
    )
    with pytest.raises(ValueError, match="depth 2 only"):
        lplbounds.step_size(network, loss, rule="fixed-point")
    with pytest.raises(ValueError, match="depth 2 only"):
        lplbounds.local_smoothness_constant(network, loss, 0.1)


def test_a_list_of_factors_is_not_guessed():
    rng = np.random.default_rng(0)
    loss = LeastSquares(rng.standard_normal((10, 3)), rng.standard_normal((10, 2)))
    with pytest.raises(TypeError, match="LinearNetwork"):
        lplbounds.gd([rng.standard_normal((3, 4)), rng.standard_normal((4, 2))], loss)
