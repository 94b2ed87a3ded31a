"""Figures of GD runs (needs matplotlib, the ``plots`` extra).

Public surface: :func:`plot_trajectory`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lplbounds.training import Trajectory

__all__ = ["plot_trajectory"]


def plot_trajectory(trajectory: Trajectory, path: str | Path, title: str = "") -> Path:
    """Plot the gap and its certified envelope, and the step sizes, to ``path``.

    The envelope is ``gap[0] * cumprod(certified_factor)``: the gap the
    per-step certificates guarantee, which the observed gap stays below.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(
            "plots need matplotlib: pip install 'lplbounds[plots]'"
        ) from error

    iterations = np.arange(trajectory.gap.size)
    envelope = trajectory.gap[0] * np.concatenate(
        ([1.0], np.cumprod(trajectory.certified_factor))
    )
    figure: Any
    figure, (gap_axes, step_axes) = plt.subplots(
        2, 1, figsize=(7, 6), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    gap_axes.semilogy(iterations, trajectory.gap, label="observed gap", lw=2)
    gap_axes.semilogy(iterations, envelope, "--", label="certified envelope")
    gap_axes.set_ylabel("gap  L - ell*")
    gap_axes.legend()
    gap_axes.grid(True, which="both", alpha=0.3)
    gap_axes.set_title(title or f"GD, rule {trajectory.rule}")
    step_axes.semilogy(iterations[:-1], trajectory.eta, ".-", ms=3)
    step_axes.set_ylabel("step size eta")
    step_axes.set_xlabel("iteration")
    step_axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    output = Path(path)
    figure.savefig(output, dpi=120)
    plt.close(figure)
    return output
