"""Evaluation speed of the closed forms, and the overhead of certification.

``run("speed", quick)`` times the lambdified closed forms over 1e6 points
against SymPy substitution, and the vectorized T8 rate. ``run("overhead",
quick)`` times one certified GD step (with its certified factor) against one
plain GD step on the same matrices, profiles where the time goes, and times a
leaner implementation of the same certified step (:func:`lean_certified_step`),
checked against the library's step.
"""

from __future__ import annotations

import cProfile
import io
import math
import pstats
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

import lplbounds
from lplbounds import certificates, symbolic
from lplbounds.losses import LeastSquares
from lplbounds.network import LinearNetwork

POINTS = 1_000_000
SYMPY_SAMPLE = 200
REPEATS = 5  # timings are medians of this many repeats
OVERHEAD_SIZES = (64, 256, 1024)
OVERHEAD_STEPS = {64: 200, 256: 20, 1024: 3}  # GD steps per timed repeat
SEED = 0


def _median_time(function: Callable[[], Any], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


# --- Closed forms -------------------------------------------------------------------


def _closed_form_row(name: str, points: int, sample: int) -> str:
    expr = symbolic.expression(name)
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    rng = np.random.default_rng(SEED)
    values = {s.name: rng.uniform(0.1, 2.0, points) for s in symbols}
    if "eta" in values:
        values["eta"] = rng.uniform(1e-3, 0.1, points)
    function = symbolic.numpy_function(name)
    function(**{k: v[:10] for k, v in values.items()})  # lambdify once (cached)
    vectorized = _median_time(lambda: function(**values))

    def substitute() -> None:
        for i in range(sample):
            expr.subs({s: sp.Float(values[s.name][i]) for s in symbols}).evalf()

    substitution = _median_time(substitute, repeats=3)
    check = function(**{k: v[:5] for k, v in values.items()})
    reference = [
        float(expr.subs({s: sp.Float(values[s.name][i]) for s in symbols}).evalf())
        for i in range(5)
    ]
    agreement = float(np.max(np.abs(np.asarray(check) - reference) / np.abs(reference)))
    per_vectorized = vectorized / points
    per_substituted = substitution / sample
    return (
        f"| `{name}` | {points:.0e} | {vectorized:.3f} | {per_vectorized * 1e9:.1f} | "
        f"{per_substituted * 1e6:.0f} | {per_substituted / per_vectorized:,.0f} | "
        f"{agreement:.1e} |"
    )


def _apriori_rate_row(points: int) -> str:
    try:
        from lplbounds import apriori
    except ImportError:
        return "The a priori module `lplbounds.apriori` is absent: T8 rate not timed."
    if not hasattr(apriori, "rates"):
        return "`lplbounds.apriori.rates` (the vectorized T8 rate) is absent."
    rng = np.random.default_rng(SEED)
    n, m, h = 3, 2, 8
    arguments = {
        "mu": rng.uniform(0.1, 1.0, points),
        "K": rng.uniform(1.0, 10.0, points),
        "gap0": rng.uniform(1e-3, 1.0, points),
        "imbalance_eigs": rng.normal(0.0, 1.0, (points, h)),
        "n": n,
        "m": m,
        "h": h,
        "sigma_min_star": rng.uniform(0.5, 1.0, points),
        "sigma_max_star": rng.uniform(1.0, 2.0, points),
    }
    apriori.rates(
        **{
            k: (v[:10] if isinstance(v, np.ndarray) else v)
            for k, v in arguments.items()
        }
    )
    elapsed = _median_time(lambda: apriori.rates(**arguments), repeats=3)
    _, factor = apriori.rates(**arguments)
    nontrivial = float(np.mean(factor < 1.0))
    return (
        f"Vectorized T8 rate `lplbounds.apriori.rates` over {points:.0e} points "
        f"(n, m, h = {n}, {m}, {h}; random mu, K, gap0, imbalance spectra, "
        f"sigma(W*)): **{elapsed:.2f} s** (median of 3; target < 3 s); "
        f"{100 * nontrivial:.0f}% of the points have a non-trivial rate."
    )


def speed_report(quick: bool) -> str:
    points = 100_000 if quick else POINTS
    sample = 20 if quick else SYMPY_SAMPLE
    lines = [
        "## Evaluation speed of the closed forms",
        "",
        f"NumPy: the lambdified expression over {points:.0e} random points "
        f"(median of {REPEATS}); SymPy: `expr.subs(...).evalf()` on the first "
        f"{sample} points (median of 3). One BLAS thread; the closed forms are "
        "elementwise, so one core.",
        "",
        "| expression | points | NumPy total (s) | NumPy per point (ns) | SymPy per "
        "point (us) | ratio | max relative difference |",
        "|---|---|---|---|---|---|---|",
        _closed_form_row("one_step_factor", points, sample),
        _closed_form_row("fixed_point_step", points, sample),
        "",
        "`fixed_point_step` is the closed-form (Cardano) root; the library's"
        " certified steps use a safeguarded Newton solve instead (THEORY T3).",
        "",
        _apriori_rate_row(points),
    ]
    return "\n".join(lines)


# --- Certification overhead ----------------------------------------------------------


def _problem(size: int) -> tuple[LeastSquares, LinearNetwork]:
    """Least squares with X of shape (2 size, size), n = m = h = size."""
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((2 * size, size))
    Y = X @ rng.standard_normal((size, size)) + 0.1 * rng.standard_normal(
        (2 * size, size)
    )
    loss = LeastSquares(X, Y)
    scale = 1.0 / math.sqrt(size)
    network = LinearNetwork(
        [
            scale * rng.standard_normal((size, size)),
            scale * rng.standard_normal((size, size)),
        ]
    )
    return loss, network


def _plain_steps(
    loss: LeastSquares, network: LinearNetwork, eta: float, steps: int, with_gap: bool
) -> None:
    first, second = network.factors
    for _ in range(steps):
        product = first @ second
        G = loss.grad(product)
        first, second = first - eta * (G @ second.T), second - eta * (first.T @ G)
        if with_gap:
            loss.gap(product)


def lean_certified_step(
    loss: LeastSquares,
    first: np.ndarray,
    second: np.ndarray,
    product: np.ndarray,
    use_curvature: bool,
    polynomial_product: bool,
    gap_from_gradient: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float, float]:
    """One certified step with every matrix product computed once.

    Differences from the library's loop: ``C_0`` is the product already known;
    ``C_1 = -(g_1 A_2 + A_1 g_2)`` and ``C_2 = g_1 g_2`` are formed once; the
    curvature is applied to ``C_1`` and ``C_2`` once, and ``H E(eta)`` for a
    candidate step is ``eta H C_1 + eta^2 H C_2`` (no further products); the
    next product is either recomputed from the stepped factors or taken as
    ``C_0 + eta C_1 + eta^2 C_2`` (``polynomial_product``); with
    ``gap_from_gradient`` the least-squares gap is ``<W - W*, G> / 2`` (``G`` is
    already ``X^T X (W - W*) / N``) instead of ``||X (W - W*)||^2 / (2 N)``.
    Returns the new
    factors and product, ``eta``, ``u(eta)`` and the gap.
    """
    G = loss.grad(product)
    g1 = G @ second.T  # grad of A_1 (n x h)
    g2 = first.T @ G  # grad of A_2 (h x m)
    C1 = -(g1 @ second + first @ g2)
    C2 = g1 @ g2
    if gap_from_gradient:
        gap = 0.5 * float(np.sum((product - loss.minimizer) * G))
    else:
        gap = loss.gap(product)
    grad_norm_sq = float(np.sum(g1 * g1) + np.sum(g2 * g2))
    if use_curvature:
        H1, H2 = loss.curvature(C1), loss.curvature(C2)  # type: ignore[misc]
    else:
        H1, H2 = loss.K * C1, loss.K * C2
    inner = [float(np.sum(G * C1)), float(np.sum(G * C2))]
    cross = [float(np.sum(C1 * H1)), float(np.sum(C1 * H2)), float(np.sum(C2 * H2))]
    coefficients = np.array(
        [float(c) for c in symbolic.majorant_coefficient_function(2)(*inner, *cross)]
    )
    derivative = np.arange(1, coefficients.size) * coefficients[1:]
    derivative = derivative[: np.flatnonzero(derivative)[-1] + 1]
    roots = np.roots(derivative[::-1])
    real = roots.real[np.abs(roots.imag) <= 1e-6 * np.abs(roots)]
    best_eta, best_value = math.nan, math.inf
    for eta in np.sort(real[real > 0]):
        change = eta * C1 + eta**2 * C2
        curved = eta * H1 + eta**2 * H2
        value = float(np.sum(G * change) + 0.5 * np.sum(change * curved))
        if math.isinf(best_value) or value < best_value - 1e-10 * abs(best_value):
            best_eta, best_value = float(eta), value
    eta = best_eta
    del grad_norm_sq
    new_first, new_second = first - eta * g1, second - eta * g2
    if polynomial_product:
        new_product = product + eta * C1 + eta**2 * C2
    else:
        new_product = new_first @ new_second
    return new_first, new_second, new_product, eta, best_value, gap


def _lean_steps(
    loss: LeastSquares,
    network: LinearNetwork,
    steps: int,
    use_curvature: bool,
    polynomial_product: bool,
    gap_from_gradient: bool = False,
) -> None:
    first, second = network.factors
    product = first @ second
    for _ in range(steps):
        first, second, product, *_ = lean_certified_step(
            loss,
            first,
            second,
            product,
            use_curvature,
            polynomial_product,
            gap_from_gradient,
        )


def _lean_agreement(loss: LeastSquares, network: LinearNetwork) -> float:
    """Largest relative difference of (eta, u) between lean and library, 3 steps."""
    first, second = network.factors
    product = first @ second
    worst = 0.0
    for use_curvature in (False, True):
        current = network
        f, s, p = first, second, product
        for _ in range(3):
            state = certificates.local_state(current, loss)
            reference = certificates.certified_step(state, use_curvature)
            f, s, p, eta, value, _ = lean_certified_step(
                loss, f, s, p, use_curvature, False
            )
            worst = max(
                worst,
                abs(eta - reference.eta) / reference.eta,
                abs(value - reference.majorant) / abs(reference.majorant),
            )
            current = current.stepped(state.gradients, reference.eta)
    return worst


def _profile(loss: LeastSquares, network: LinearNetwork, rule: str, steps: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    lplbounds.gd(network, loss, rule=rule, max_steps=steps, diagnostics=False)
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(r"certificates|training|losses|network")
    wanted = (
        "local_state",
        "majorant_coefficients",
        "certified_step",
        "rounding_allowance",
        "run_gd",
        "(majorant)",
        "step_coefficients",
        "(gap)",
        "(grad)",
        "(product)",
        "(gradients)",
        "_curvature",
    )
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (filename, _, function), (_, calls, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        label = f"({function})"
        if any(w.strip("()") == function or w == label for w in wanted) and (
            "lplbounds" in filename
        ):
            rows.append((cumulative, function, calls))
    rows.sort(reverse=True)
    body = [f"| `{f}` | {c} | {t:.3f} | {100 * t / total:.0f}% |" for t, f, c in rows]
    return "\n".join(
        [
            f"Profile of `gd(rule={rule!r}, diagnostics=False)` for {steps} steps "
            f"(cProfile, cumulative time; total {total:.2f} s):",
            "",
            "| function | calls | cumulative (s) | share |",
            "|---|---|---|---|",
            *body,
        ]
    )


def _library_time_per_step(
    loss: LeastSquares, network: LinearNetwork, rule: str, steps: int, diagnostics: bool
) -> float:
    times = []
    for _ in range(REPEATS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trajectory = lplbounds.gd(
                network,
                loss,
                rule=rule,
                max_steps=steps,
                diagnostics=diagnostics,
                rtol=1e-15,
            )
        times.append(trajectory.wall_time / max(trajectory.steps, 1))
    return float(np.median(times))


def _overhead_row(size: int) -> str:
    loss, network = _problem(size)
    steps = OVERHEAD_STEPS[size]
    # A tenth of the first certified step keeps the plain runs finite; the cost
    # of a step does not depend on its size.
    state = certificates.local_state(network, loss)
    eta = 0.1 * certificates.certified_step(state).eta
    plain = _median_time(lambda: _plain_steps(loss, network, eta, steps, False)) / steps
    plain_gap = _median_time(lambda: _plain_steps(loss, network, eta, steps, True))
    per_step = {
        "plain + gap": plain_gap / steps,
        "library T4": _library_time_per_step(
            loss, network, "certified-K", steps, False
        ),
        "library T9": _library_time_per_step(loss, network, "certified", steps, False),
        "library T9, diagnostics": _library_time_per_step(
            loss, network, "certified", steps, True
        ),
        "lean T4": _median_time(lambda: _lean_steps(loss, network, steps, False, False))
        / steps,
        "lean T9": _median_time(lambda: _lean_steps(loss, network, steps, True, False))
        / steps,
        "lean T9, polynomial": _median_time(
            lambda: _lean_steps(loss, network, steps, True, True)
        )
        / steps,
        "lean T4, polynomial, gap from G": _median_time(
            lambda: _lean_steps(loss, network, steps, False, True, True)
        )
        / steps,
        "lean T9, polynomial, gap from G": _median_time(
            lambda: _lean_steps(loss, network, steps, True, True, True)
        )
        / steps,
    }
    cells = [f"{1e3 * t:.2f} ({t / plain:.2f}x)" for t in per_step.values()]
    agreement = _lean_agreement(loss, network)
    return (
        f"| {size} | {1e3 * plain:.2f} | "
        + " | ".join(cells)
        + f" | {agreement:.1e} | {_gap_from_gradient_error(loss, network):.1e} |"
    )


def _gap_from_gradient_error(loss: LeastSquares, network: LinearNetwork) -> float:
    """Relative difference of ``<W - W*, G> / 2`` and the library's gap, 10 steps."""
    worst = 0.0
    current = network
    for _ in range(10):
        state = certificates.local_state(current, loss)
        by_gradient = 0.5 * float(
            np.sum((state.product - loss.minimizer) * state.loss_gradient)
        )
        worst = max(worst, abs(by_gradient - state.gap) / state.gap)
        current = current.stepped(
            state.gradients, certificates.certified_step(state).eta
        )
    return worst


def overhead_report(quick: bool) -> str:
    sizes = (64, 256) if quick else OVERHEAD_SIZES
    lines = [
        "## Certification overhead",
        "",
        "Least squares with X of shape (2 n, n), n = m = h, one BLAS thread. Time "
        "per GD step, median of "
        f"{REPEATS} repeats of a short run. *plain*: `W = W1 W2^T`, `G`, the two "
        "layer gradients and the update (no loss value), and ratios are to it; "
        "*plain + gap*: also the gap at every step; *library*: "
        "`lplbounds.gd(rule=..., diagnostics=False)` per step (the certified step, "
        "its factor, the rounding allowance, the "
        "next state); *library, diagnostics*: the default `diagnostics=True` (SVDs "
        "for mu_local and K_local); *lean*: `lean_certified_step` in "
        "`benchmarks/speed.py` (exact next product), *lean, polynomial*: the next "
        "product taken from the step polynomial; *gap from G*: the gap as "
        "`<W - W*, G> / 2` with no further product. The last two columns: the "
        "largest relative difference of (eta, u) between the lean step and the "
        "library's certified step (3 steps, T4 and T9), and of the gap from G and "
        "the library's gap (10 certified steps).",
        "",
        "| n = m = h | plain (ms) | plain + gap (ms) | library T4 (ms, x plain) | "
        "library T9 | library T9, diagnostics | lean T4 | lean T9 | "
        "lean T9, polynomial | lean T4, polynomial, gap from G | "
        "lean T9, polynomial, gap from G | lean vs library (eta, u) | "
        "gap from G vs library gap |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    profiles = []
    for size in sizes:
        lines.append(_overhead_row(size))
        if size == max(sizes):
            loss, network = _problem(size)
            profiles.append(
                _profile(loss, network, "certified-K", OVERHEAD_STEPS[size])
            )
            profiles.append(_profile(loss, network, "certified", OVERHEAD_STEPS[size]))
    lines += [
        "",
        "Library times are the run's `wall_time` divided by its steps (one "
        "`local_state` at the start is amortized over them). Targets at "
        "n = m = h = 1024: T4 <= 1.5x and T9 <= 2x a plain step.",
        "",
        *("\n\n".join(profiles).splitlines()),
    ]
    return "\n".join(lines)


def run(part: str, quick: bool) -> str:
    """Return the Markdown report of ``part`` ("speed" or "overhead")."""
    if part == "speed":
        return speed_report(quick)
    return overhead_report(quick)
