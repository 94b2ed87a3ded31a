"""Gradient descent with a certificate at every step, and its trajectory record.

:func:`run_gd` applies a step-size rule of :mod:`lplbounds.certificates` at
every iterate and records the gap, the step, the local constants (T1, T2,
T10), the certified factor ``1 + u(eta) / gap`` of the majorant the rule used
(T2, T4, T9, T10) and the observed factor ``gap[t+1] / gap[t]``.

Public surface: :class:`Trajectory`, :data:`STOP_REASONS`, :func:`run_gd`.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lplbounds import certificates
from lplbounds._validation import FloatArray
from lplbounds.losses import Loss
from lplbounds.network import LinearNetwork

__all__ = ["Trajectory", "STOP_REASONS", "run_gd"]

logger = logging.getLogger(__name__)

#: Why a run stopped.
STOP_REASONS = ("converged", "rounding", "max_steps", "stationary", "diverged")

_EPS = float(np.finfo(float).eps)

# A run whose gap grows beyond this multiple of the initial gap (possible only
# with an uncertified constant step) is stopped as diverged.
DIVERGENCE_FACTOR = 1e12


@dataclass
class Trajectory:
    """The record of one GD run.

    Arrays indexed by iteration: ``gap`` and ``mu_local`` have length
    ``steps + 1``; ``eta``, ``K_local``, ``certified_factor`` and
    ``observed_factor`` have length ``steps``. ``certified_factor[t]`` is
    ``1 + u(eta[t]) / gap[t]`` for the majorant the rule used, so that
    ``gap[t+1] <= certified_factor[t] * gap[t]`` up to rounding;
    ``observed_factor[t] = gap[t+1] / gap[t]``; ``rounding_allowance[t]`` bounds
    the float64 rounding of that comparison (see
    :func:`lplbounds.certificates.rounding_allowance`, divided by ``gap[t]``).
    ``K_local`` (T2) is NaN for
    depth N >= 3, and both local constants are NaN when diagnostics are off.

    Attributes
    ----------
    rule : str
        The step-size rule, or ``"constant"`` for a given step.
    theorem : list of str
        The result certifying each step (``"T9"``, ``"T4"``, ``"T2"``, ...).
    stop_reason : str
        One of :data:`STOP_REASONS`.
    weights : tuple of arrays or LinearNetwork
        The final weights, in the form the run was given: ``(W1, W2)`` for a
        pair, a :class:`LinearNetwork` otherwise.
    wall_time : float
        Seconds spent in the loop.
    """

    gap: FloatArray
    mu_local: FloatArray
    eta: FloatArray
    K_local: FloatArray
    certified_factor: FloatArray
    observed_factor: FloatArray
    rounding_allowance: FloatArray
    theorem: list[str]
    rule: str
    stop_reason: str
    weights: Any
    network: LinearNetwork
    wall_time: float
    rtol: float

    def __repr__(self) -> str:
        final = f"{self.gap[-1]:.3e}" if self.gap.size else "-"
        return (
            f"Trajectory(rule={self.rule!r}, steps={self.steps}, "
            f"stop_reason={self.stop_reason!r}, gap {self.gap[0]:.3e} -> {final}, "
            f"violations={self.certificate_violations().size})"
        )

    @property
    def steps(self) -> int:
        """The number of GD steps taken."""
        return int(self.eta.size)

    def certificate_violations(self) -> NDArray[np.int64]:
        """Return the steps where ``observed > certified + rounding allowance``."""
        excess = self.observed_factor - self.certified_factor - self.rounding_allowance
        return np.flatnonzero(excess > 0).astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        """Return the trajectory as JSON-ready lists and scalars (no weights)."""

        def listed(array: FloatArray) -> list[float | None]:
            return [float(x) if math.isfinite(x) else None for x in array]

        return {
            "rule": self.rule,
            "stop_reason": self.stop_reason,
            "steps": self.steps,
            "rtol": self.rtol,
            "wall_time": self.wall_time,
            "gap": listed(self.gap),
            "mu_local": listed(self.mu_local),
            "eta": listed(self.eta),
            "K_local": listed(self.K_local),
            "certified_factor": listed(self.certified_factor),
            "observed_factor": listed(self.observed_factor),
            "rounding_allowance": listed(self.rounding_allowance),
            "theorem": list(self.theorem),
        }


def _diagnostics(
    state: certificates.LocalState, eta: float | None
) -> tuple[float, float]:
    mu_local = certificates.local_pl(state.network, state.loss.mu)
    if eta is None or state.network.depth != 2:
        return mu_local, math.nan
    return mu_local, certificates.local_smoothness(state, eta)


def run_gd(
    network: LinearNetwork,
    loss: Loss,
    *,
    rule: str | float,
    rtol: float,
    max_steps: int,
    diagnostics: bool = True,
    as_pair: bool = False,
    initial_state: certificates.LocalState | None = None,
) -> Trajectory:
    """Run gradient descent from ``network`` (arguments already validated).

    ``rule`` is a rule name of :func:`lplbounds.certificates.rule_names` or a
    positive float, a constant step that the best majorant of the loss then
    certifies (or not) step by step. ``initial_state`` is the local state of
    ``network`` when the caller has already formed it.
    """
    started = time.perf_counter()
    if initial_state is None:
        initial_state = certificates.local_state(network, loss)
    state = initial_state
    initial = state
    rule_name = rule if isinstance(rule, str) else "constant"

    gaps = [state.gap]
    mu_locals: list[float] = []
    etas: list[float] = []
    K_locals: list[float] = []
    certified: list[float] = []
    observed: list[float] = []
    allowances: list[float] = []
    theorems: list[str] = []
    stop_reason = "max_steps"

    for _ in range(max_steps + 1):
        # Stopping tests come first so the final iterate is recorded once.
        if state.gap <= rtol * gaps[0]:
            stop_reason = "converged"
            break
        if state.gap <= loss.gap_floor(
            state.product, state.network.factor_norm_product()
        ):
            stop_reason = "rounding"
            break
        if len(etas) == max_steps:
            stop_reason = "max_steps"
            break

        if isinstance(rule, str):
            choice = certificates.choose_step(state, rule, initial)
        else:
            choice = certificates.constant_step_choice(state, rule)
        if choice.eta == 0.0:
            stop_reason = "stationary"
            break

        if diagnostics:
            mu_local, K_local = _diagnostics(state, choice.eta)
        else:
            mu_local, K_local = math.nan, math.nan
        next_state = certificates.local_state(
            state.network.stepped(state.gradients, choice.eta), loss
        )

        mu_locals.append(mu_local)
        K_locals.append(K_local)
        etas.append(choice.eta)
        theorems.append(choice.theorem)
        certified.append(1.0 + choice.majorant / state.gap)
        observed.append(next_state.gap / state.gap)
        # In factor units, plus the roundings of forming the two factors
        # themselves: 1 + u / gap (two operations) and gap+ / gap (one).
        factor_rounding = 2 * _EPS * (2.0 + abs(choice.majorant) / state.gap)
        allowances.append(
            certificates.rounding_allowance(state, next_state, choice.eta) / state.gap
            + factor_rounding
        )
        gaps.append(next_state.gap)
        state = next_state

        if not math.isfinite(state.gap) or state.gap > DIVERGENCE_FACTOR * gaps[0]:
            stop_reason = "diverged"
            break

    mu_locals.append(
        certificates.local_pl(state.network, loss.mu) if diagnostics else math.nan
    )
    wall_time = time.perf_counter() - started
    logger.info(
        "gd rule=%s stopped (%s) after %d steps, gap %.3e -> %.3e, %.3f s",
        rule_name,
        stop_reason,
        len(etas),
        gaps[0],
        gaps[-1],
        wall_time,
    )
    return Trajectory(
        gap=np.array(gaps),
        mu_local=np.array(mu_locals),
        eta=np.array(etas),
        K_local=np.array(K_locals),
        certified_factor=np.array(certified),
        observed_factor=np.array(observed),
        rounding_allowance=np.array(allowances),
        theorem=theorems,
        rule=rule_name,
        stop_reason=stop_reason,
        weights=state.network.to_pair() if as_pair else state.network,
        network=state.network,
        wall_time=wall_time,
        rtol=rtol,
    )
