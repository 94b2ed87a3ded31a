"""Certified GD on diabetes with depth-2, 3 and 4 linear networks, in one figure.

Usage: ``python examples/deep_networks_figure.py [output.png]`` (default
``deep_networks.png`` in the current folder). Width 16, init scale 0.3,
seed 0, rule "certified", tolerance 1e-8, as in docs/deep_networks.md.
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import lplbounds  # noqa: E402
from lplbounds import datasets  # noqa: E402


def main(output: str) -> None:
    loss = datasets.make_loss("diabetes")
    n, m = loss.shape
    figure, axes = plt.subplots(figsize=(7, 4))
    for depth in (2, 3, 4):
        network = datasets.initial_network(
            n, m, width=16, scale=0.3, seed=0, depth=depth
        )
        run = lplbounds.gd(network, loss, rtol=1e-8)
        envelope = run.gap[0] * np.concatenate(
            ([1.0], np.cumprod(run.certified_factor))
        )
        (line,) = axes.semilogy(run.gap, label=f"depth {depth}: {run.steps} steps")
        axes.semilogy(envelope, "--", color=line.get_color(), alpha=0.6)
        violations = run.certificate_violations().size
        summary = f"{run.steps} steps, {run.stop_reason}, {violations} violations"
        print(f"depth {depth}: {summary}")
    axes.set_xlabel("iteration")
    axes.set_ylabel("gap  L - ell*")
    # The dashed certified envelope coincides with the gap for least squares.
    axes.set_title("Certified GD on diabetes: gap and certified envelope (dashed)")
    axes.legend()
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(output, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "deep_networks.png")
