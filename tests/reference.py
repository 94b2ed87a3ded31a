"""Independent two-layer reference written directly from THEORY.md (T1, T2, T4, T9).

Nothing here goes through lplbounds.network or lplbounds.certificates: the
gradients, the next iterate, the quartic majorant and the local constants are
computed from the formulas of THEORY sections 0-3 with plain matrix algebra,
so the library can be compared against them.
"""

from __future__ import annotations

import numpy as np

EPS = float(np.finfo(float).eps)


def gradients(W1, W2, loss):
    """Return ``G, grad_W1 = G W2, grad_W2 = G^T W1`` (THEORY section 0)."""
    G = loss.grad(W1 @ W2.T)
    return G, G @ W2, G.T @ W1


def next_iterate(W1, W2, loss, eta):
    """One GD step on the pair."""
    _, grad_1, grad_2 = gradients(W1, W2, loss)
    return W1 - eta * grad_1, W2 - eta * grad_2


def quartic_majorant(W1, W2, loss, eta, curvature):
    """Return ``u(eta)`` of T4/T9 from its five coefficients (THEORY section 3).

    ``curvature`` is ``E -> H E``; with ``H = K I`` this is T4.
    """
    return quartic_majorant_with_magnitude(W1, W2, loss, eta, curvature)[0]


def quartic_majorant_with_magnitude(W1, W2, loss, eta, curvature):
    """Return ``u(eta)`` and the sum of the absolute values of its terms.

    The monomial form cancels badly when its terms are large and ``u`` is
    small (large eta near a stationary point, THEORY rule 5); its rounding is
    bounded by ``d eps`` times this magnitude, each inner product counted by
    the absolute values of its entrywise products.
    """
    G, A, _ = gradients(W1, W2, loss)
    B = W1.T @ G
    P, Q = W1 @ W1.T, W2 @ W2.T
    M1 = P @ G + G @ Q
    M2 = A @ B
    grad_sq = np.sum(A**2) + np.sum(B**2)

    def c(E, F):
        return float(np.sum(E * curvature(F)))

    def c_abs(E, F):
        return float(np.sum(np.abs(E * curvature(F))))

    value = (
        -eta * grad_sq
        + eta**2 * float(np.sum(G * M2))
        + 0.5 * (eta**2 * c(M1, M1) - 2 * eta**3 * c(M1, M2) + eta**4 * c(M2, M2))
    )
    magnitude = (
        eta * grad_sq
        + eta**2 * float(np.sum(np.abs(G * M2)))
        + 0.5
        * (eta**2 * c_abs(M1, M1) + 2 * eta**3 * c_abs(M1, M2) + eta**4 * c_abs(M2, M2))
    )
    return value, magnitude


def loss_change(loss, W, W_next):
    """``L+ - L`` from the loss at both points.

    Least squares differences its cancellation-free gaps; a loss whose gap is
    ``ell - ell_star`` differences its values, since ``gap`` is clipped at 0
    and would hide a real change within the uncertainty of ``ell_star``.
    """
    if loss.gap_by_subtraction:
        return loss.value(W_next) - loss.value(W)
    return loss.gap(W_next) - loss.gap(W)


def local_pl(W1, W2, loss):
    """T1 with structural zeros from the shapes: ``mu (lmin(P) + lmin(Q))``."""
    n, h = W1.shape
    m = W2.shape[0]
    lmin_P = np.linalg.svd(W1, compute_uv=False)[n - 1] ** 2 if h >= n else 0.0
    lmin_Q = np.linalg.svd(W2, compute_uv=False)[m - 1] ** 2 if h >= m else 0.0
    return loss.mu * (lmin_P + lmin_Q)


def local_smoothness(W1, W2, loss, eta):
    """T2: ``||G||_2 + K (sqrt(S) + eta ||grad L|| / 2)^2``."""
    G, A, grad_2 = gradients(W1, W2, loss)
    grad_norm = np.sqrt(np.sum(A**2) + np.sum(grad_2**2))
    S = np.linalg.norm(W1, 2) ** 2 + np.linalg.norm(W2, 2) ** 2
    return np.linalg.norm(G, 2) + loss.K * (np.sqrt(S) + eta * grad_norm / 2) ** 2


def imbalance(W1, W2):
    """``D = W1^T W1 - W2^T W2``."""
    return W1.T @ W1 - W2.T @ W2


def summation_slack(dimension, *terms):
    """Rounding bound of a sum of computed terms: ``64 d eps sum |terms|``.

    Each term is an inner product or a short chain of matrix products over
    at most ``d`` entries, with a first-order error of ``d eps`` times the
    sum of absolute values; 64 covers the chain of a few such operations.
    """
    return 64 * dimension * EPS * sum(abs(float(t)) for t in terms)
