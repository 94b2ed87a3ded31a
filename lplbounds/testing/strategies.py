"""Hypothesis strategies for linear networks, losses and GD states.

Arrays are drawn from a NumPy generator seeded by Hypothesis, so that a
failing example shrinks through its dimensions, scales and seed; every
strategy has explicit bounds. These strategies drive the property tests of
T1-T10 and the conjecture search of :func:`lplbounds.testing.falsify`, and
can drive a user's own tests.

Shapes: :func:`dimensions` (structural cases ``h < n``, ``h < m`` included).
Scales: :func:`log_uniform`, :func:`scales`. Imbalance regimes
(:data:`REGIMES`): :func:`pair_weights`. Losses: :func:`least_squares`,
:func:`ridge_logistic`, :func:`losses`. Networks and states:
:func:`networks`, :func:`gd_states` (any depth), :func:`pair_states` (two
layers, a chosen regime), :func:`conjecture_states` (a
:class:`~lplbounds.testing.vocabulary.State` with a step ``eta``), and the
record :class:`Problem`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from lplbounds import certificates
from lplbounds._validation import FloatArray
from lplbounds.exceptions import CertificationWarning
from lplbounds.losses import LeastSquares, Loss, RidgeLogistic
from lplbounds.network import LinearNetwork
from lplbounds.testing.vocabulary import State

__all__ = [
    "Problem",
    "REGIMES",
    "LOSS_KINDS",
    "ETA_FACTOR_RANGE",
    "dimensions",
    "log_uniform",
    "scales",
    "least_squares",
    "ridge_logistic",
    "losses",
    "networks",
    "pair_weights",
    "gd_states",
    "pair_states",
    "conjecture_states",
]

#: Imbalance regimes of a two-layer initialization (see :func:`pair_weights`).
REGIMES = ("balanced", "one-sided", "mixed", "near-singular")

#: Loss families the strategies draw.
LOSS_KINDS = ("least-squares", "ridge-logistic")

#: ``eta`` of a conjecture state is the certified step times a factor drawn
#: log-uniformly from this range: from a tenth of the certified step (cautious
#: steps) to ten times it (steps whose majorant is positive, even divergent).
ETA_FACTOR_RANGE = (0.1, 10.0)

# Scales of the Gaussian initialization: from nearly the saddle at 0 to
# products far larger than the data's minimizer.
MIN_SCALE = 1e-2
MAX_SCALE = 3.0

# One-sided start: the small layer is this many orders of magnitude smaller.
ONE_SIDED_ORDERS = (1.0, 3.0)

# Near-singular product: the smallest singular direction of the product is
# shrunk by a factor 10^-k with k in this range.
NEAR_SINGULAR_ORDERS = (3.0, 8.0)


@dataclass(frozen=True)
class Problem:
    """A loss, a network and how they were drawn (for reports and replays)."""

    loss: Loss
    network: LinearNetwork
    description: dict[str, Any]


def log_uniform(low: float, high: float) -> st.SearchStrategy[float]:
    """Floats whose base-10 logarithm is uniform on ``[log10 low, log10 high]``.

    The exponent shrinks towards 0 when the range contains it (the value 1).
    """
    return st.floats(np.log10(low), np.log10(high)).map(lambda e: float(10.0**e))


def scales(low: float = MIN_SCALE, high: float = MAX_SCALE) -> st.SearchStrategy[float]:
    """Initialization scales, log-uniform on ``[low, high]``."""
    return log_uniform(low, high)


def _size(draw: st.DrawFn, fixed: int | None, low: int, high: int, name: str) -> int:
    if fixed is not None:
        if isinstance(fixed, bool) or not isinstance(fixed, int) or fixed < 1:
            raise ValueError(
                f"{name} must be a positive integer or None; got {fixed!r}"
            )
        return fixed
    if high < low:
        raise ValueError(f"max_{name} must be >= {low}; got {high}")
    return draw(st.integers(low, high))


@st.composite
def dimensions(
    draw: st.DrawFn,
    max_n: int = 5,
    max_m: int = 4,
    max_h: int = 8,
    *,
    n: int | None = None,
    m: int | None = None,
    h: int | None = None,
    min_h: int = 1,
) -> tuple[int, int, int]:
    """Draw ``(n, m, h)`` including the structural cases ``h < n``, ``h < m``.

    Each of ``n``, ``m``, ``h`` may be fixed; otherwise it is drawn from
    ``1..max_n``, ``1..max_m``, ``min_h..max_h``. Sizes shrink towards 1
    (``min_h`` for the width).
    """
    rows = _size(draw, n, 1, max_n, "n")
    columns = _size(draw, m, 1, max_m, "m")
    width = _size(draw, h, min_h, max_h, "h")
    return rows, columns, width


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


def _orthonormal_columns(rng: np.random.Generator, rows: int, columns: int) -> Any:
    """A ``rows x columns`` matrix with orthonormal columns (``columns <= rows``)."""
    basis, _ = np.linalg.qr(rng.standard_normal((rows, columns)))
    return basis


@st.composite
def pair_weights(
    draw: st.DrawFn,
    n: int,
    m: int,
    h: int,
    regime: str | None = None,
    min_scale: float = MIN_SCALE,
    max_scale: float = MAX_SCALE,
) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
    """Draw ``W1`` (n x h) and ``W2`` (m x h) in an imbalance regime.

    Regimes (:data:`REGIMES`), each with a log-uniform scale ``s``:

    ``"balanced"``
        ``W1 = U sqrt(S) R``, ``W2 = V sqrt(S) R`` with orthonormal ``U``,
        ``V``, orthonormal rows ``R`` and ``k = min(n, m, h)`` positive
        singular values: the imbalance ``D`` is 0 up to rounding.
    ``"one-sided"``
        Gaussian layers, one of them ``10^-k`` smaller, ``k`` in
        :data:`ONE_SIDED_ORDERS`: ``D`` is nearly semidefinite.
    ``"mixed"``
        Gaussian layers with scales ``s`` and ``s r``, ``r`` log-uniform on
        ``[1/10, 10]``: ``D`` has eigenvalues of both signs.
    ``"near-singular"``
        Gaussian layers, then the product's weakest direction is shrunk by
        ``10^-k``, ``k`` in :data:`NEAR_SINGULAR_ORDERS` (on the left of
        ``W1`` when ``n <= m``, else on the left of ``W2``), so that
        ``sigma_min_W`` is tiny.

    Returns ``(W1, W2, description)``; ``regime=None`` draws the regime.
    """
    chosen = draw(st.sampled_from(REGIMES)) if regime is None else regime
    if chosen not in REGIMES:
        raise ValueError(f"regime must be one of {REGIMES} or None; got {chosen!r}")
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(scales(min_scale, max_scale))
    rng = np.random.default_rng(seed)
    description: dict[str, Any] = {"regime": chosen, "scale": scale, "seed": seed}

    if chosen == "balanced":
        rank = min(n, m, h)
        singular = scale**2 * np.sqrt(n + m) * rng.uniform(0.2, 1.0, rank)
        rows = _orthonormal_columns(rng, h, rank).T
        root = np.sqrt(singular)[:, None] * rows
        W1 = _orthonormal_columns(rng, n, rank) @ root
        W2 = _orthonormal_columns(rng, m, rank) @ root
        return W1, W2, description

    W1 = scale * rng.standard_normal((n, h))
    W2 = scale * rng.standard_normal((m, h))
    if chosen == "one-sided":
        orders = draw(st.floats(*ONE_SIDED_ORDERS))
        small_side = draw(st.sampled_from(["W2", "W1"]))
        description.update(orders=orders, small=small_side)
        if small_side == "W1":
            W1 = W1 * 10.0**-orders
        else:
            W2 = W2 * 10.0**-orders
    elif chosen == "mixed":
        ratio = draw(log_uniform(0.1, 10.0))
        description["ratio"] = ratio
        W2 = W2 * ratio
    else:
        orders = draw(st.floats(*NEAR_SINGULAR_ORDERS))
        description["orders"] = orders
        side, size = (W1, n) if n <= m else (W2, m)
        direction = rng.standard_normal((size, 1))
        direction /= np.linalg.norm(direction)
        side -= (1.0 - 10.0**-orders) * direction @ (direction.T @ side)
    return W1, W2, description


def _gd_steps(network: LinearNetwork, loss: Loss, steps: int) -> LinearNetwork:
    """Take up to ``steps`` certified GD steps (fewer at a stationary point)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CertificationWarning)
        for _ in range(steps):
            state = certificates.local_state(network, loss)
            if state.grad_norm_sq == 0.0:
                break
            choice = certificates.certified_step(state)
            if choice.eta == 0.0:
                break
            network = network.stepped(state.gradients, choice.eta)
    return network


@st.composite
def pair_states(
    draw: st.DrawFn,
    n: int | None = None,
    m: int | None = None,
    h: int | None = None,
    *,
    min_h: int = 1,
    max_n: int = 4,
    max_m: int = 4,
    max_h: int = 6,
    regimes: Sequence[str] = REGIMES,
    loss_kinds: Sequence[str] = LOSS_KINDS,
    max_steps: int = 5,
) -> Problem:
    """A two-layer problem in an imbalance regime, after a few certified GD steps.

    Draws ``(n, m, h)`` with :func:`dimensions` (any of them may be fixed), a
    loss of one of ``loss_kinds``, weights of one of ``regimes`` with
    :func:`pair_weights`, then ``0..max_steps`` steps of the ``"certified"``
    rule. ``description`` records every choice.
    """
    for kind in loss_kinds:
        if kind not in LOSS_KINDS:
            raise ValueError(
                f"loss_kinds must be drawn from {LOSS_KINDS}; got {kind!r}"
            )
    for regime in regimes:
        if regime not in REGIMES:
            raise ValueError(f"regimes must be drawn from {REGIMES}; got {regime!r}")
    if not loss_kinds or not regimes:
        raise ValueError("loss_kinds and regimes must not be empty")
    rows, columns, width = draw(
        dimensions(max_n, max_m, max_h, n=n, m=m, h=h, min_h=min_h)
    )
    kind = draw(st.sampled_from(list(loss_kinds)))
    loss = draw(
        least_squares(rows, columns)
        if kind == "least-squares"
        else ridge_logistic(rows, columns)
    )
    regime = draw(st.sampled_from(list(regimes)))
    W1, W2, weights = draw(pair_weights(rows, columns, width, regime))
    steps = draw(st.integers(0, max_steps))
    network = _gd_steps(LinearNetwork.from_pair(W1, W2), loss, steps)
    description = {
        "n": rows,
        "m": columns,
        "h": width,
        "depth": 2,
        "loss": kind,
        "steps": steps,
        **weights,
    }
    return Problem(loss=loss, network=network, description=description)


@st.composite
def conjecture_states(
    draw: st.DrawFn,
    n: int | None = None,
    m: int | None = None,
    h: int | None = None,
    *,
    min_h: int = 1,
    max_n: int = 4,
    max_m: int = 4,
    max_h: int = 6,
    regimes: Sequence[str] = REGIMES,
    loss_kinds: Sequence[str] = LOSS_KINDS,
    max_steps: int = 5,
    eta_factors: tuple[float, float] = ETA_FACTOR_RANGE,
) -> State:
    """A :class:`~lplbounds.testing.vocabulary.State`: a problem and a step ``eta``.

    The problem comes from :func:`pair_states` (same arguments). ``eta`` is
    the certified step at the state (``lplbounds.step_size``, T4/T9) times a
    factor drawn log-uniformly from ``eta_factors`` (default
    :data:`ETA_FACTOR_RANGE`, ``[0.1, 10]``); the factor shrinks towards 1,
    the certified step itself. At a stationary point, where no step is
    certified, ``1 / K`` takes the certified step's place.
    """
    low, high = eta_factors
    if not 0 < low <= high:
        raise ValueError(f"eta_factors must satisfy 0 < low <= high; got {eta_factors}")
    problem = draw(
        pair_states(
            n,
            m,
            h,
            min_h=min_h,
            max_n=max_n,
            max_m=max_m,
            max_h=max_h,
            regimes=regimes,
            loss_kinds=loss_kinds,
            max_steps=max_steps,
        )
    )
    factor = draw(log_uniform(low, high))
    W1, W2 = problem.network.to_pair()
    state = State(problem.loss, W1, W2, eta=1.0)
    certified = state.value("eta_cert")
    base = certified if certified > 0 else 1.0 / problem.loss.K
    description = {**problem.description, "eta_factor": factor}
    return State(problem.loss, W1, W2, eta=factor * base, description=description)
