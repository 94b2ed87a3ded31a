"""A loss supplied by its value and gradient, with declared constants.

``ell(W) = 1/2 ||A W - B||_F^2`` with an invertible A: a quadratic whose
constants are known in closed form, ``mu = lambda_min(A^T A)`` and
``K = lambda_max(A^T A)``, and whose infimum is 0. The library cannot prove
declared constants: it spot-checks them at sampled points and warns
(``ConstantWarning``) when a check contradicts one, as shown with a
deliberately wrong K.

Run: ``python examples/custom_loss.py``.
"""

from __future__ import annotations

import warnings

import numpy as np

import lplbounds
from lplbounds.exceptions import ConstantWarning
from lplbounds.losses import Custom


def main() -> None:
    # The loss: A is 4 x 4 with known singular values, B any 4 x 2 target.
    rng = np.random.default_rng(0)
    rotation, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    A = rotation @ np.diag([1.0, 1.5, 2.0, 3.0])
    B = rng.standard_normal((4, 2))
    mu, K = 1.0**2, 3.0**2  # extreme eigenvalues of A^T A

    def value(W: np.ndarray) -> float:
        return 0.5 * float(np.sum((A @ W - B) ** 2))

    def grad(W: np.ndarray) -> np.ndarray:
        return A.T @ (A @ W - B)

    def curvature(E: np.ndarray) -> np.ndarray:
        return A.T @ A @ E  # the exact Hessian: T9 is exact line search

    # Correct declarations pass the spot checks silently.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantWarning)
        loss = Custom(
            value, grad, mu=mu, K=K, ell_star=0.0, curvature=curvature, shape=(4, 2)
        )

    # Certified GD on a two-layer network of width 8.
    W1, W2 = 0.3 * rng.standard_normal((4, 8)), 0.3 * rng.standard_normal((2, 8))
    run = lplbounds.gd(W1, W2, loss, rtol=1e-10)
    assert run.certificate_violations().size == 0
    print(
        f"{loss!r}: {run.steps} steps, stopped: {run.stop_reason}, "
        f"gap {run.gap[0]:.3e} -> {run.gap[-1]:.3e}"
    )

    # A wrong declaration (K too small by a factor 2) is caught by the checks.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Custom(value, grad, mu=mu, K=K / 2, ell_star=0.0, shape=(4, 2))
    messages = [str(w.message) for w in caught if w.category is ConstantWarning]
    assert messages, "the under-declared K was not caught"
    print("wrong K caught:", messages[0])


if __name__ == "__main__":
    main()
