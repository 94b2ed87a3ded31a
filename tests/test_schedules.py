"""Properties of the certified schedules of :mod:`lplbounds.schedules`.

Every registered schedule must return steps with a certified decrease,
``u(eta) < 0``, and the loss change observed on a real GD step must stay below
``u(eta)`` up to the rounding allowance of
:func:`lplbounds.certificates.rounding_allowance` (T4, T9, T10).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import reference
from hypothesis import given
from hypothesis import strategies as st

from lplbounds import certificates, schedules
from lplbounds.losses import RidgeLogistic
from lplbounds.network import LinearNetwork
from lplbounds.testing.strategies import gd_states

# The rules this module registers; the Dai-Yuan cycle needs at least four
# steps to take both of its Yuan steps, eight cover two cycles.
SCHEDULE_RULES = ("certified-dy",)
STEPS_PER_EXAMPLE = 8


def test_schedules_are_registered() -> None:
    for rule in SCHEDULE_RULES:
        assert rule in certificates.rule_names()


@given(problem=gd_states(depth=st.sampled_from([2, 3]), max_steps=5))
def test_schedule_steps_have_a_certified_decrease(problem) -> None:
    for rule in SCHEDULE_RULES:
        state = certificates.local_state(problem.network, problem.loss)
        initial = state
        for _ in range(STEPS_PER_EXAMPLE):
            if state.grad_norm_sq == 0.0:
                break
            # Below the loss's rounding floor the gap is not resolved (a gap by
            # subtraction is clamped at 0 there); GD stops at it, and so do we.
            floor = problem.loss.gap_floor(
                state.product, state.network.factor_norm_product()
            )
            if state.gap <= floor:
                break
            with warnings.catch_warnings():
                # A fallback warns; its step is checked like any other.
                warnings.simplefilter("ignore")
                choice = certificates.choose_step(state, rule, initial)
            if choice.eta == 0.0:
                break  # no certified step exists at rounding level: none taken

            assert choice.majorant < 0
            assert math.isfinite(choice.eta) and choice.eta > 0
            next_state = certificates.local_state(
                state.network.stepped(state.gradients, choice.eta), problem.loss
            )
            allowance = certificates.rounding_allowance(state, next_state, choice.eta)
            observed = reference.loss_change(
                problem.loss, state.product, next_state.product
            )
            assert observed <= choice.majorant + allowance, (
                rule,
                observed,
                choice.majorant,
                allowance,
            )
            state = next_state


def test_yuan_step_is_shorter_than_both_exact_steps_on_a_quadratic() -> None:
    # Exact line search on f(x) = x^T A x / 2 gives the exact steps a0, a1.
    rng = np.random.default_rng(0)
    A = np.diag(np.logspace(0, 3, 6))
    x = rng.standard_normal(6)
    steps, norms = [], []
    for _ in range(2):
        g = A @ x
        steps.append(float(g @ g / (g @ A @ g)))
        norms.append(float(g @ g))
        x = x - steps[-1] * g
    eta = schedules.yuan_step(steps[0], steps[1], norms[0], norms[1])
    assert 0 < eta <= min(steps)


def test_certified_decrease_is_observed_near_ell_star_of_ridge_logistic():
    # Shrunk by Hypothesis (thorough profile) from the property above. The
    # computed ell_star is an upper bound of inf ell, accurate to 1e-12
    # relative, so the loss may go below it; gap() is then clamped at 0 and a
    # difference of gaps understates the real decrease. The loss change is
    # measured on the values, and the certificate holds.
    X = np.array(
        [
            [0.842848966340684],
            [-0.5203648377682548],
            [0.8220495523119999],
            [0.00955150369874531],
            [-0.01340647498842882],
        ]
    )
    Y = np.array([[1.0], [-1.0], [1.0], [1.0], [1.0]])
    loss = RidgeLogistic(X, Y, ridge=1.0, reduction="sum")
    network = LinearNetwork(
        [np.array([[0.1257302210933933]]), np.array([[-0.1321048632913019]])]
    )
    state = certificates.local_state(network, loss)
    for _ in range(8):
        floor = loss.gap_floor(state.product, state.network.factor_norm_product())
        if state.gap <= floor or state.grad_norm_sq == 0.0:
            break
        choice = certificates.certified_step(state)
        next_state = certificates.local_state(
            state.network.stepped(state.gradients, choice.eta), loss
        )
        allowance = certificates.rounding_allowance(state, next_state, choice.eta)
        change = reference.loss_change(loss, state.product, next_state.product)
        assert change <= choice.majorant + allowance
        state = next_state
