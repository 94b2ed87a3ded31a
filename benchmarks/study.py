"""Step-size study: certified rules against the steps practitioners use.

The suite (instances, seeds, grid, rule parameters) is frozen in the constants
below; :func:`suite` lists it and :func:`run_instance` runs every rule on one
instance and returns one row per rule.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

import lplbounds
from lplbounds import certificates, datasets
from lplbounds.losses import LeastSquares, Loss
from lplbounds.network import LinearNetwork

try:  # the a priori rule (T8) registers itself when its module is imported
    import lplbounds.apriori  # noqa: F401
except ImportError:  # pragma: no cover - depends on the library version
    pass

# --- The frozen suite ---------------------------------------------------------------

RTOL = 1e-8  # stop at gap <= RTOL * gap[0]
MAX_STEPS = 20_000  # every rule, every instance (the 1e5 family reports its gap)
SYNTHETIC_SHAPE = (100, 10, 3)  # N, n, m
SYNTHETIC_CONDITIONS = (1e1, 1e2, 1e3, 1e5)  # K / mu of the least-squares loss
NOISE = 0.1
WIDTH_MULTIPLIERS = (1, 4, 16)  # width = multiplier * max(n, m)
SCALES = (1e-3, 1e-1, 1.0)
SEEDS = (0, 1, 2)
DATASETS = ("diabetes", "linnerud", "breast-cancer")
# Frozen subsample for the full run: the 1e5 family and the data sets use
# seed 0 only (their runs mostly hit MAX_STEPS and dominate the time).
SUBSAMPLED_SEEDS = (0,)
GRID_MULTIPLIERS = np.logspace(-2, 2, 40)  # times 1 / (K S_0)
ARMIJO_C1 = 1e-4
ARMIJO_SHRINK = 0.5
ARMIJO_GROWTH = 2.0  # the next trial starts at twice the last accepted step
ARMIJO_FIRST_MULTIPLIER = 1e2  # first trial: the grid's largest step
ARMIJO_MAX_HALVINGS = 60
DIVERGENCE_FACTOR = 1e12  # as in lplbounds.training
LIBRARY_RULES = ("certified", "certified-K", "certified-dy", "fixed-point", "apriori")
RULES = (
    *LIBRARY_RULES,
    "1/(K S0)",
    "grid-best",
    "armijo",
    "polyak",
)


@dataclass(frozen=True)
class Instance:
    """One problem of the suite."""

    family: str  # "ls-kappa=1e3" or a data set name
    condition: float  # K / mu (nan for data sets until built)
    width_multiplier: int
    scale: float
    seed: int

    @property
    def label(self) -> str:
        return (
            f"{self.family} w={self.width_multiplier}x s={self.scale:g} "
            f"seed={self.seed}"
        )


def suite(quick: bool = False) -> list[Instance]:
    """Return the frozen list of instances (``quick``: a one-minute subset)."""
    if quick:
        return [
            Instance("ls-kappa=1e2", 1e2, 4, 1e-1, 0),
            Instance("ls-kappa=1e2", 1e2, 1, 1.0, 0),
            Instance("ls-kappa=1e1", 1e1, 16, 1e-3, 0),
            Instance("diabetes", math.nan, 4, 1e-1, 0),
        ]
    instances = []
    for condition in SYNTHETIC_CONDITIONS:
        seeds = SUBSAMPLED_SEEDS if condition > 1e4 else SEEDS
        for multiplier in WIDTH_MULTIPLIERS:
            for scale in SCALES:
                for seed in seeds:
                    family = f"ls-kappa=1e{round(math.log10(condition))}"
                    instances.append(
                        Instance(family, condition, multiplier, scale, seed)
                    )
    for name in DATASETS:
        for multiplier in WIDTH_MULTIPLIERS:
            for scale in SCALES:
                for seed in SUBSAMPLED_SEEDS:
                    instances.append(Instance(name, math.nan, multiplier, scale, seed))
    return instances


def synthetic_loss(condition: float, seed: int) -> LeastSquares:
    """Least squares with ``X = U diag(s) V^T``, ``K / mu = condition`` exactly."""
    samples, n, m = SYNTHETIC_SHAPE
    rng = np.random.default_rng(1000 + seed)
    left, _ = np.linalg.qr(rng.standard_normal((samples, n)))
    right, _ = np.linalg.qr(rng.standard_normal((n, n)))
    singular = np.logspace(0, -0.5 * math.log10(condition), n) * math.sqrt(samples)
    X = (left * singular) @ right.T
    Y = X @ rng.standard_normal((n, m)) + NOISE * rng.standard_normal((samples, m))
    return LeastSquares(X, Y)


def build(instance: Instance) -> tuple[Loss, LinearNetwork]:
    """Return the loss and the initial network of ``instance``."""
    if instance.family.startswith("ls-"):
        loss: Loss = synthetic_loss(instance.condition, instance.seed)
    else:
        loss = datasets.make_loss(instance.family)
    n, m = loss.shape  # type: ignore[misc]
    width = instance.width_multiplier * max(n, m)
    network = datasets.initial_network(n, m, width, instance.scale, instance.seed)
    return loss, network


# --- Rules implemented here ---------------------------------------------------------


def _initial_scale(network: LinearNetwork) -> float:
    first, second = network.factors
    return float(np.linalg.norm(first, 2) ** 2 + np.linalg.norm(second, 2) ** 2)


def _row(rule: str, gaps: list[float], etas: list[float], **extra: Any) -> dict:
    gaps_array = np.asarray(gaps)
    converged = bool(gaps_array[-1] <= RTOL * gaps_array[0])
    return {
        "rule": rule,
        "iterations": len(etas),
        "converged": converged,
        "final_relative_gap": float(gaps_array[-1] / gaps_array[0]),
        **extra,
    }


def _fast_constant_run(
    network: LinearNetwork, loss: Loss, eta: float, max_steps: int
) -> tuple[str, int]:
    """Plain constant-step GD for the grid search; returns (outcome, steps)."""
    first, second = (A.copy() for A in network.factors)
    gap0 = loss.gap(first @ second)
    gap = gap0
    with np.errstate(all="ignore"):
        for step in range(max_steps):
            G = loss.grad(first @ second)
            first, second = first - eta * (G @ second.T), second - eta * (first.T @ G)
            gap = loss.gap(first @ second)
            if gap <= RTOL * gap0:
                return "converged", step + 1
            if not math.isfinite(gap) or gap > DIVERGENCE_FACTOR * gap0:
                return "diverged", step + 1
    return "max_steps", max_steps


def grid_search(network: LinearNetwork, loss: Loss) -> dict[str, Any]:
    """Best constant step among GRID_MULTIPLIERS / (K S_0), with its total cost.

    Steps are tried from the largest down; a run is abandoned once it exceeds
    the best iteration count found so far (the cheapest honest way to run a
    grid), and a diverging run stops when its gap passes 1e12 times the start.
    Each step costs one gradient and one loss evaluation.
    """
    base = 1.0 / (loss.K * _initial_scale(network))
    best_eta, best_steps, total = math.nan, MAX_STEPS, 0
    started = time.perf_counter()
    for multiplier in GRID_MULTIPLIERS[::-1]:
        eta = float(multiplier * base)
        outcome, steps = _fast_constant_run(network, loss, eta, best_steps)
        total += steps + 1
        if outcome == "converged" and (math.isnan(best_eta) or steps <= best_steps):
            best_eta, best_steps = eta, steps
    return {
        "eta": best_eta,
        "multiplier": best_eta / base if math.isfinite(best_eta) else math.nan,
        "evaluations": total,
        "wall_time": time.perf_counter() - started,
    }


def _custom_run(
    network: LinearNetwork, loss: Loss, rule: str, trace: bool
) -> dict[str, Any]:
    """Armijo backtracking or the Polyak step, each step checked against T9."""
    started = time.perf_counter()
    state = certificates.local_state(network, loss)
    base = 1.0 / (loss.K * _initial_scale(network))
    gaps, etas, majorants = [state.gap], [], []
    loss_evaluations = gradient_evaluations = 1
    trial = ARMIJO_FIRST_MULTIPLIER * base
    with np.errstate(all="ignore"):
        while len(etas) < MAX_STEPS and state.gap > RTOL * gaps[0]:
            if state.grad_norm_sq == 0.0:
                break
            if rule == "polyak":
                eta = state.gap / state.grad_norm_sq
            else:
                eta = trial
                for _ in range(ARMIJO_MAX_HALVINGS):
                    candidate = state.network.stepped(state.gradients, eta)
                    loss_evaluations += 1
                    decrease = state.gap - loss.gap(candidate.product())
                    if decrease >= ARMIJO_C1 * eta * state.grad_norm_sq:
                        break
                    eta *= ARMIJO_SHRINK
                trial = ARMIJO_GROWTH * eta
            majorants.append(certificates.majorant(state, eta))
            etas.append(eta)
            state = certificates.local_state(
                state.network.stepped(state.gradients, eta), loss
            )
            loss_evaluations += 1
            gradient_evaluations += 1
            gaps.append(state.gap)
            if not math.isfinite(state.gap) or state.gap > DIVERGENCE_FACTOR * gaps[0]:
                break
    certified = np.asarray(majorants) < 0
    return _row(
        rule,
        gaps,
        etas,
        loss_evaluations=loss_evaluations,
        gradient_evaluations=gradient_evaluations,
        wall_time=time.perf_counter() - started,
        certified_steps=int(certified.sum()),
        violations=0,
        trace=(gaps, etas) if trace else None,
    )


def _library_run(
    network: LinearNetwork, loss: Loss, rule: str | float, name: str, trace: bool
) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trajectory = lplbounds.gd(
            network, loss, rule=rule, rtol=RTOL, max_steps=MAX_STEPS, diagnostics=False
        )
    gaps, etas = list(trajectory.gap), list(trajectory.eta)
    evaluations = trajectory.steps + 1
    return _row(
        name,
        gaps,
        etas,
        loss_evaluations=evaluations,
        gradient_evaluations=evaluations,
        wall_time=trajectory.wall_time,
        certified_steps=int(np.sum(trajectory.certified_factor < 1.0)),
        violations=int(trajectory.certificate_violations().size),
        max_certified_factor=float(np.max(trajectory.certified_factor, initial=0.0)),
        stop_reason=trajectory.stop_reason,
        trace=(gaps, etas) if trace else None,
    )


def run_instance(instance: Instance, trace: bool = False) -> list[dict[str, Any]]:
    """Run every rule of :data:`RULES` on ``instance``; one row per rule."""
    cpu_started = time.process_time()
    loss, network = build(instance)
    meta = {
        "instance": instance.label,
        "family": instance.family,
        "condition": loss.K / loss.mu,
        "width_multiplier": instance.width_multiplier,
        "scale": instance.scale,
        "seed": instance.seed,
    }
    rows = []
    available = certificates.rule_names()
    for rule in LIBRARY_RULES:
        if rule not in available:
            rows.append({"rule": rule, "missing": True})
            continue
        rows.append(_library_run(network, loss, rule, rule, trace))
    heuristic = 1.0 / (loss.K * _initial_scale(network))
    rows.append(_library_run(network, loss, heuristic, "1/(K S0)", trace))
    grid = grid_search(network, loss)
    if math.isfinite(grid["eta"]):
        row = _library_run(network, loss, grid["eta"], "grid-best", trace)
        row.update(
            grid_evaluations=grid["evaluations"],
            grid_wall_time=grid["wall_time"],
            grid_multiplier=grid["multiplier"],
        )
    else:
        row = {
            "rule": "grid-best",
            "iterations": MAX_STEPS,
            "converged": False,
            "no_grid_step": True,
            "grid_evaluations": grid["evaluations"],
            "grid_wall_time": grid["wall_time"],
        }
    rows.append(row)
    rows.append(_custom_run(network, loss, "armijo", trace))
    rows.append(_custom_run(network, loss, "polyak", trace))
    meta["instance_cpu_time"] = time.process_time() - cpu_started
    return [{**meta, **row} for row in rows]
