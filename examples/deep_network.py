"""Certified gradient descent on a depth-3 linear network (T10).

``L(A1, A2, A3) = ell(A1 A2 A3)`` with least squares on the diabetes data:
the certified step minimizes the degree-6 majorant of the loss change, and
the local PL constant is ``mu sum_i sigma_n(Left_i)^2 sigma_m(Right_i)^2``.

Run: ``python examples/deep_network.py`` (needs the ``data`` extra).
"""

from __future__ import annotations

import lplbounds
from lplbounds import datasets


def main() -> None:
    # A depth-3 network of widths (16, 16) with the CLI's initialization.
    loss = datasets.make_loss("diabetes")
    n, m = loss.shape
    network = datasets.initial_network(n, m, width=16, scale=0.3, seed=1, depth=3)
    print(network, "local PL constant:", lplbounds.local_pl_constant(network, loss))

    # Certified GD; the T2 smoothness constant is a two-layer result (NaN here).
    run = lplbounds.gd(network, loss, rule="certified", rtol=1e-5, max_steps=2000)
    print(f"{run.steps} steps, stopped: {run.stop_reason}")
    for t in (0, run.steps // 2, run.steps - 1):
        print(
            f"step {t:4d}: gap {run.gap[t]:.3e}, eta {run.eta[t]:.4f}, "
            f"certified {run.certified_factor[t]:.6f}, "
            f"observed {run.observed_factor[t]:.6f} ({run.theorem[t]})"
        )

    # Every step is certified by the depth-3 majorant.
    assert run.certificate_violations().size == 0
    assert run.gap[-1] <= run.gap[0]
    print("all certificates hold")


if __name__ == "__main__":
    main()
