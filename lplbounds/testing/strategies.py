"""Hypothesis strategies for linear networks, losses and GD states.

Arrays are drawn from a NumPy generator seeded by Hypothesis, so that a
failing example shrinks through its dimensions, scales and seed; every
strategy has explicit bounds. These strategies drive the property tests of
T1-T10 and can drive a user's own conjectures.

Public surface: :func:`dimensions`, :func:`log_uniform`, :func:`least_squares`,
:func:`ridge_logistic`, :func:`losses`, :func:`networks`, :func:`gd_states`,
:class:`Problem`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from lplbounds import certificates
from lplbounds.losses import LeastSquares, Loss, RidgeLogistic
from lplbounds.network import LinearNetwork

__all__ = [
    "Problem",
    "dimensions",
    "log_uniform",
    "least_squares",
    "ridge_logistic",
    "losses",
    "networks",
    "gd_states",
]


@dataclass(frozen=True)
class Problem:
    """A loss, a network and how they were drawn (for reports and replays)."""

    loss: Loss
    network: LinearNetwork
    description: dict[str, Any]


def log_uniform(low: float, high: float) -> st.SearchStrategy[float]:
    """Floats whose base-10 logarithm is uniform on ``[log10 low, log10 high]``."""
    return st.floats(np.log10(low), np.log10(high)).map(lambda e: float(10.0**e))


@st.composite
def dimensions(
    draw: st.DrawFn, max_n: int = 5, max_m: int = 4, max_h: int = 8
) -> tuple[int, int, int]:
    """Draw ``(n, m, h)`` including the structural cases ``h < n``, ``h < m``."""
    n = draw(st.integers(1, max_n))
    m = draw(st.integers(1, max_m))
    h = draw(st.integers(1, max_h))
    return n, m, h


def _design(rng: np.random.Generator, samples: int, n: int, condition: float) -> Any:
    """A design matrix with singular values spread log-uniformly up to ``condition``."""
    left, _ = np.linalg.qr(rng.standard_normal((samples, n)))
    right, _ = np.linalg.qr(rng.standard_normal((n, n)))
    singular = np.logspace(0, np.log10(condition), n)[::-1] * np.sqrt(samples)
    return (left * singular) @ right.T


@st.composite
def least_squares(
    draw: st.DrawFn, n: int, m: int, max_condition: float = 1e3
) -> LeastSquares:
    """A least-squares loss whose N x n design has condition <= ``max_condition``."""
    seed = draw(st.integers(0, 2**32 - 1))
    samples = n + draw(st.integers(0, 6))
    condition = draw(log_uniform(1.0, max_condition))
    reduction = draw(st.sampled_from(["mean", "sum"]))
    noise = draw(st.sampled_from([0.0, 0.1, 1.0]))
    rng = np.random.default_rng(seed)
    X = _design(rng, samples, n, condition)
    Y = X @ rng.standard_normal((n, m)) + noise * rng.standard_normal((samples, m))
    return LeastSquares(X, Y, reduction=reduction)


@st.composite
def ridge_logistic(draw: st.DrawFn, n: int, m: int) -> RidgeLogistic:
    """A ridge-logistic loss with labels from a noisy linear teacher."""
    seed = draw(st.integers(0, 2**32 - 1))
    samples = draw(st.integers(2, 12))
    ridge = draw(log_uniform(1e-3, 1.0))
    reduction = draw(st.sampled_from(["mean", "sum"]))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, n)) * draw(log_uniform(0.1, 10.0))
    teacher = rng.standard_normal((n, m))
    Y = np.where(X @ teacher + 0.5 * rng.standard_normal((samples, m)) >= 0, 1.0, -1.0)
    return RidgeLogistic(X, Y, ridge=ridge, reduction=reduction)


def losses(n: int, m: int) -> st.SearchStrategy[Loss]:
    """Either loss of the library for products of shape ``(n, m)``."""
    return st.one_of(least_squares(n, m), ridge_logistic(n, m))


@st.composite
def networks(
    draw: st.DrawFn,
    n: int,
    m: int,
    depth: int = 2,
    max_width: int = 8,
    min_scale: float = 1e-2,
    max_scale: float = 3.0,
) -> LinearNetwork:
    """A network of the given depth with random widths and a log-uniform scale."""
    seed = draw(st.integers(0, 2**32 - 1))
    widths = [draw(st.integers(1, max_width)) for _ in range(depth - 1)]
    scale = draw(log_uniform(min_scale, max_scale))
    rng = np.random.default_rng(seed)
    shapes = list(zip([n, *widths], [*widths, m], strict=True))
    return LinearNetwork([scale * rng.standard_normal(shape) for shape in shapes])


@st.composite
def gd_states(
    draw: st.DrawFn,
    depth: int | st.SearchStrategy[int] = 2,
    max_steps: int = 10,
    loss_kinds: tuple[str, ...] = ("least-squares", "ridge-logistic"),
) -> Problem:
    """A loss and a network reached after a few certified GD steps.

    Draws the dimensions (structural cases included), a loss of one of
    ``loss_kinds``, an initialization, then takes up to ``max_steps`` steps
    with the ``"certified"`` rule, so states along real trajectories are
    covered, not only random points.
    """
    chosen_depth = draw(depth) if isinstance(depth, st.SearchStrategy) else depth
    n, m, _ = draw(dimensions())
    kind = draw(st.sampled_from(loss_kinds))
    loss = draw(
        least_squares(n, m) if kind == "least-squares" else ridge_logistic(n, m)
    )
    network = draw(networks(n, m, depth=chosen_depth))
    steps = draw(st.integers(0, max_steps))
    for _ in range(steps):
        state = certificates.local_state(network, loss)
        if state.grad_norm_sq == 0.0:
            break
        choice = certificates.certified_step(state)
        if choice.eta == 0.0:
            break
        network = network.stepped(state.gradients, choice.eta)
    description = {"n": n, "m": m, "depth": chosen_depth, "loss": kind, "steps": steps}
    return Problem(loss=loss, network=network, description=description)
