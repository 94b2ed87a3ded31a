"""Certified step-size schedules that look beyond one step.

The certified step of T4/T9 is greedy: it minimizes the majorant ``u`` of the
next loss change. For least squares that is exact line search along the GD
direction, which zigzags on ill-conditioned problems. The schedules here take
other steps on some iterations, yet every step they return still has
``u(eta) < 0`` (a certified decrease, T4/T9/T10) and carries its certified
factor ``1 + u(eta) / gap``; see ``docs/schedules.md`` for the guarantee and
its proof.

Rules registered with :func:`lplbounds.certificates.register_rule` at import:

- ``"certified-dy"``: the Dai-Yuan alternation. Two iterations take the
  certified step, the next two take Yuan's step computed from the last two
  certified steps; a Yuan step whose majorant is not negative is replaced by
  the certified step.

Public surface: :data:`YUAN_PERIOD`, :func:`yuan_step`, :func:`dai_yuan_rule`.
"""

from __future__ import annotations

import logging
import math
import weakref
from dataclasses import dataclass

from lplbounds import certificates
from lplbounds.certificates import LocalState, StepChoice

__all__ = ["YUAN_PERIOD", "yuan_step", "dai_yuan_rule"]

logger = logging.getLogger(__name__)

# The Dai-Yuan cycle: iterations t with t mod 4 in {0, 1} take the certified
# step, t mod 4 in {2, 3} Yuan's step (Dai and Yuan 2005 found this period the
# best among the short cycles they tried on quadratics).
YUAN_PERIOD = 4
CERTIFIED_PER_PERIOD = 2


@dataclass
class _History:
    """What a run's schedule remembers: the last certified step and gradient."""

    iteration: int = 0
    last_state_id: int | None = None
    last_certified_eta: float = math.nan
    last_grad_norm_sq: float = math.nan


# One history per run, keyed by the identity of the run's initial state and
# dropped when that state is garbage collected.
_HISTORIES: dict[int, _History] = {}


def _history_of(initial: LocalState) -> _History:
    key = id(initial)
    history = _HISTORIES.get(key)
    if history is None:
        history = _History()
        _HISTORIES[key] = history
        weakref.finalize(initial, _HISTORIES.pop, key, None)
    return history


def yuan_step(
    previous_eta: float,
    eta: float,
    previous_grad_norm_sq: float,
    grad_norm_sq: float,
) -> float:
    """Return Yuan's step from two consecutive exact (certified) steps.

    ``2 / (sqrt((1/a0 - 1/a1)^2 + 4 g1^2 / (a0 g0)^2) + 1/a0 + 1/a1)`` with
    ``a0, a1`` the previous and current exact steps and ``g0^2, g1^2`` the
    squared gradient norms. On a convex quadratic it is at most
    ``min(a0, a1)`` and, after an exact step, it makes the next exact step
    land on the minimizer in the plane of the last two gradients (Yuan 2006).

    Parameters
    ----------
    previous_eta, eta : float
        The certified steps at the previous and current iterate, > 0.
    previous_grad_norm_sq, grad_norm_sq : float
        ``||grad L||^2`` at those iterates, > 0.
    """
    inverse_previous, inverse_current = 1.0 / previous_eta, 1.0 / eta
    coupling = 4.0 * grad_norm_sq / (previous_eta**2 * previous_grad_norm_sq)
    root = math.sqrt((inverse_previous - inverse_current) ** 2 + coupling)
    return 2.0 / (root + inverse_previous + inverse_current)


def dai_yuan_rule(state: LocalState, initial: LocalState) -> StepChoice:
    """The ``"certified-dy"`` rule: certified steps alternated with Yuan steps.

    At iteration ``t`` of a run (counted per ``initial`` state), the certified
    step ``eta_cert`` of T9 (T4 without a curvature operator, T10 appended for
    depth N >= 3) is computed. If ``t mod 4 < 2`` or no previous certified
    step is known, it is taken. Otherwise Yuan's step ``eta_Y`` (from the
    previous and current certified steps, :func:`yuan_step`) is taken when
    ``u(eta_Y) < 0``, and ``eta_cert`` when not.

    Returns
    -------
    StepChoice
        The step, its majorant ``u(eta) < 0`` (a certified decrease) and the
        theorem certifying it.

    Notes
    -----
    Guarantee (``docs/schedules.md``): every step has ``L+ - L <= u(eta) < 0``;
    at least two steps in every four consecutive ones are certified steps, so
    the gap after ``4k`` steps is at most the product of ``2k`` factors of
    T4/T9, each at most the T3 factor at its iterate.
    """
    history = _history_of(initial)
    if history.last_state_id == id(state):
        # The same state asked twice: do not advance the cycle.
        history.iteration -= 1
    certified = certificates.certified_step(state, use_curvature=True)
    phase = history.iteration % YUAN_PERIOD
    choice = certified
    if (
        phase >= CERTIFIED_PER_PERIOD
        and certified.eta > 0
        and history.last_certified_eta > 0
        and history.last_grad_norm_sq > 0
    ):
        eta = yuan_step(
            history.last_certified_eta,
            certified.eta,
            history.last_grad_norm_sq,
            state.grad_norm_sq,
        )
        value = certificates.majorant(state, eta, use_curvature=True)
        if value < 0 and math.isfinite(value):
            choice = StepChoice(eta=eta, majorant=value, theorem=certified.theorem)
        else:
            logger.debug("Yuan step %.3e not certified (u = %.3e)", eta, value)

    history.iteration += 1
    history.last_state_id = id(state)
    history.last_certified_eta = certified.eta
    history.last_grad_norm_sq = state.grad_norm_sq
    return choice


certificates.register_rule("certified-dy", dai_yuan_rule)
