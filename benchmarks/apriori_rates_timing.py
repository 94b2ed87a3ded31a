"""Time the vectorized T8 rate over one million parameter points.

Points from ``numpy.random.default_rng(0)``: ``mu`` log-uniform in
[1e-3, 1], ``K / mu`` log-uniform in [1, 1e3], ``gap0`` log-uniform in
[1e-4, 10], four eigenvalues of the imbalance ``3 N(0, 1)``, ``n, m, h = 2, 3,
4``, ``sigma_min_star`` uniform in [0, 1], ``sigma_max_star`` that plus a
uniform [0, 2]. Target: under 3 s. Run: ``python benchmarks/apriori_rates_timing.py``.
"""

from __future__ import annotations

import time

import numpy as np

from lplbounds import apriori

POINTS = 10**6


def main() -> None:
    rng = np.random.default_rng(0)
    mu = 10 ** rng.uniform(-3, 0, POINTS)
    K = mu * 10 ** rng.uniform(0, 3, POINTS)
    gap0 = 10 ** rng.uniform(-4, 1, POINTS)
    eigenvalues = 3 * rng.standard_normal((POINTS, 4))
    s_min = rng.uniform(0, 1, POINTS)
    s_max = s_min + rng.uniform(0, 2, POINTS)

    # The first call builds the lambdified functions (SymPy); time the second.
    apriori.rates(
        mu[:2], K[:2], gap0[:2], eigenvalues[:2], 2, 3, 4, s_min[:2], s_max[:2]
    )
    started = time.perf_counter()
    eta, factor = apriori.rates(mu, K, gap0, eigenvalues, 2, 3, 4, s_min, s_max)
    elapsed = time.perf_counter() - started

    print(f"{POINTS} points in {elapsed:.2f} s")
    print(
        f"factor < 1 on {np.mean(factor < 1):.1%} of the points; all finite: "
        f"{bool(np.all(np.isfinite(factor)) and np.all(np.isfinite(eta)))}"
    )


if __name__ == "__main__":
    main()
