"""Tightness of the a priori rate (T8) and of the per-step certificates (T9).

The frozen suite: 60 least-squares instances, instance ``i`` drawn from
``numpy.random.default_rng(1000 + i)``:

- ``n`` in 1..5, ``m`` in 1..4, ``h`` in 1..12 (uniform; structural cases
  ``h < n`` and ``h < m`` included);
- ``X`` Gaussian, ``N = n + 2..20`` rows; ``Y = X A + 0.1 noise``, ``A``
  Gaussian; the mean-reduced loss (``reduction="mean"``);
- ``W1``, ``W2`` Gaussian with scales drawn log-uniformly in [0.05, 1].

For each instance GD runs with the constant step ``eta_bar`` (rule
``"apriori"``) and with the certified rule, to ``rtol = 1e-8`` or
:data:`MAX_STEPS` steps. Reported per instance: the median over steps of
``log(observed factor) / log(guaranteed factor)`` (1 is exact, larger is
conservative) for T8, and ``log(observed) / log(certified)`` for the
certified rule (T9; for least squares its majorant is an equality, so this
ratio is 1 up to rounding by construction) and for the rule ``certified-K``
(T4, which charges every direction the curvature K); then the median and
quartiles over instances. Instances where T8 guarantees no rate
(``mu_lo = 0``) are counted apart.

Run: ``python benchmarks/apriori_tightness.py``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

import lplbounds
from lplbounds import apriori
from lplbounds.exceptions import CertificationWarning
from lplbounds.losses import LeastSquares

INSTANCES = 60
FIRST_SEED = 1000
MAX_STEPS = 5000
RTOL = 1e-8


def instance(seed: int) -> tuple[LeastSquares, np.ndarray, np.ndarray, dict]:
    """Return the loss and start of instance ``seed`` and its description."""
    rng = np.random.default_rng(seed)
    n, m, h = int(rng.integers(1, 6)), int(rng.integers(1, 5)), int(rng.integers(1, 13))
    samples = n + int(rng.integers(2, 21))
    X = rng.standard_normal((samples, n))
    Y = X @ rng.standard_normal((n, m)) + 0.1 * rng.standard_normal((samples, m))
    scale_1, scale_2 = 10 ** rng.uniform(np.log10(0.05), 0.0, 2)
    W1 = scale_1 * rng.standard_normal((n, h))
    W2 = scale_2 * rng.standard_normal((m, h))
    description = {"n": n, "m": m, "h": h, "N": samples}
    return LeastSquares(X, Y, reduction="mean"), W1, W2, description


def median_log_ratio(observed: np.ndarray, reference: np.ndarray) -> float:
    """Median over steps of ``log(observed) / log(reference)``."""
    usable = (observed > 0) & (observed < 1) & (reference > 0) & (reference < 1)
    if not np.any(usable):
        return float("nan")
    return float(np.median(np.log(observed[usable]) / np.log(reference[usable])))


def main() -> None:
    started = time.perf_counter()
    apriori_ratios, certified_ratios, certified_K_ratios = [], [], []
    vacuous = 0
    steps_apriori, steps_certified, guaranteed_counts = [], [], []
    worst_excess = -np.inf
    for i in range(INSTANCES):
        loss, W1, W2, description = instance(FIRST_SEED + i)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CertificationWarning)
            bound = apriori.bound_from_weights(W1, W2, loss)
            run = lplbounds.gd(
                W1,
                W2,
                loss,
                rule="apriori",
                rtol=RTOL,
                max_steps=MAX_STEPS,
                diagnostics=False,
            )
            certified = lplbounds.gd(
                W1,
                W2,
                loss,
                rule="certified",
                rtol=RTOL,
                max_steps=MAX_STEPS,
                diagnostics=False,
            )
            certified_K = lplbounds.gd(
                W1,
                W2,
                loss,
                rule="certified-K",
                rtol=RTOL,
                max_steps=MAX_STEPS,
                diagnostics=False,
            )
        certified_K_ratios.append(
            median_log_ratio(certified_K.observed_factor, certified_K.certified_factor)
        )
        excess = run.observed_factor - bound.rate - run.rounding_allowance
        worst_excess = max(worst_excess, float(np.max(excess, initial=-np.inf)))
        certified_ratios.append(
            median_log_ratio(certified.observed_factor, certified.certified_factor)
        )
        steps_certified.append(certified.steps)
        if bound.mu_lower <= 0:
            vacuous += 1
            continue
        rate = np.full(run.steps, bound.rate)
        apriori_ratios.append(median_log_ratio(run.observed_factor, rate))
        steps_apriori.append(run.steps)
        guaranteed_counts.append(bound.iterations(RTOL))
        print(
            f"instance {i:2d} {description}: factor {bound.rate:.6f}, "
            f"T8 ratio {apriori_ratios[-1]:.2f}, steps {run.steps} "
            f"({run.stop_reason}), T(1e-8) {guaranteed_counts[-1]}, "
            f"certified ratio {certified_ratios[-1]:.4f} in {certified.steps} steps"
        )

    def summary(values: list[float]) -> str:
        array = np.array([v for v in values if np.isfinite(v)])
        q1, q2, q3 = np.percentile(array, [25, 50, 75])
        return f"median {q2:.3f} (quartiles {q1:.3f}, {q3:.3f}; {array.size} instances)"

    print(f"suite: {INSTANCES} instances, {vacuous} with mu_lo = 0 (no T8 rate)")
    print(f"T8: log(observed)/log(guaranteed) per instance: {summary(apriori_ratios)}")
    print(
        "certified rule: log(observed)/log(certified) per instance: "
        f"{summary(certified_ratios)}"
    )
    print(
        "certified-K rule (T4): log(observed)/log(certified) per instance: "
        f"{summary(certified_K_ratios)}"
    )
    print(f"largest observed - T8 factor - rounding allowance: {worst_excess:.3e}")
    print(f"wall time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
