"""Certified gradient descent on the diabetes data set, two layers.

Trains ``L(W1, W2) = 1/(2N) ||X W1 W2^T - Y||^2`` (diabetes, 442 samples, 10
z-scored features, one target) from a Gaussian start with the certified step
(T9: exact line search for least squares), prints a few iterations, and checks
that every observed decrease respects its certificate.

Run: ``python examples/certified_gd.py`` (needs the ``data`` extra).
"""

from __future__ import annotations

import numpy as np

import lplbounds
from lplbounds import datasets


def main() -> None:
    # The problem: the bundled least-squares loss and the CLI's initialization.
    loss = datasets.make_loss("diabetes")
    n, m = loss.shape
    network = datasets.initial_network(n, m, width=32, scale=0.1, seed=0)
    W1, W2 = network.to_pair()

    # Certified GD to a relative gap of 1e-8.
    run = lplbounds.gd(W1, W2, loss, rule="certified", rtol=1e-8)

    # A few iterations: gap, step, local PL constant, certified vs observed.
    print(f"{loss!r}: {run.steps} steps, stopped: {run.stop_reason}")
    print(" step        gap        eta   mu_local  certified   observed")
    for t in sorted({0, 1, 2, run.steps // 2, run.steps - 1}):
        print(
            f"{t:5d} {run.gap[t]:10.3e} {run.eta[t]:10.4f} {run.mu_local[t]:10.4f}"
            f" {run.certified_factor[t]:10.6f} {run.observed_factor[t]:10.6f}"
        )

    # The certificates: observed <= certified + rounding allowance at every step.
    violations = run.certificate_violations()
    assert violations.size == 0, f"certificate violated at steps {violations}"
    assert np.all(np.diff(run.gap) <= 0), "a certified step increased the gap"
    print(f"all {run.steps} certificates hold; theorems used: {set(run.theorem)}")


if __name__ == "__main__":
    main()
