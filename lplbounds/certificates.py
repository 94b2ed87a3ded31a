"""Local constants, majorants and certified step sizes at one point.

Given a linear network and a loss, :func:`local_state` gathers what every
certificate needs (the loss gradient, the layer gradients, the gap and the
step polynomial ``E(eta) = sum_k eta^k C_k``); the functions below turn it
into the local PL constant (T1, T10), the local smoothness constant (T2), the
majorants of the loss change (T2, T4, T9, T10) and the step-size rules
(fixed-point T3, certified T4/T9/T10). Every closed form is evaluated through
the lambdified expressions of :mod:`lplbounds.symbolic`.

Public surface: :class:`LocalState`, :class:`StepChoice`, :func:`local_state`,
:func:`local_pl`, :func:`local_smoothness`, :func:`fixed_point_step`,
:func:`solve_increasing_cubic`, :func:`majorant`, :func:`majorant_coefficients`,
:func:`certified_step`, :func:`constant_step_choice`, :func:`choose_step`,
:func:`rule_names`, :func:`register_rule`, :func:`majorant_rounding` and
:func:`rounding_allowance` (the float64 rounding bounds of a certificate).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lplbounds import symbolic
from lplbounds._validation import FloatArray
from lplbounds.exceptions import CertificationWarning
from lplbounds.losses import Loss
from lplbounds.network import LinearNetwork

__all__ = [
    "LocalState",
    "StepChoice",
    "rule_names",
    "local_state",
    "local_pl",
    "local_smoothness",
    "majorant",
    "majorant_coefficients",
    "choose_step",
    "certified_step",
    "constant_step_choice",
    "fixed_point_step",
    "solve_increasing_cubic",
    "register_rule",
    "rounding_allowance",
    "majorant_rounding",
]

logger = logging.getLogger(__name__)

# A root of the majorant's derivative counts as real when its imaginary part
# is below this fraction of its modulus: np.roots returns a double root as a
# pair with an imaginary part of about sqrt(eps) relative.
ROOT_IMAGINARY_RTOL = 1e-6

# Two candidate steps whose majorant values agree to this relative accuracy
# tie; the smaller step wins (it moves the imbalance less, THEORY rule 5).
TIE_RTOL = 1e-10

# Safeguarded Newton for the fixed-point cubic stops at this relative change.
FIXED_POINT_RTOL = 4 * np.finfo(float).eps
FIXED_POINT_MAX_ITERATIONS = 200

# Halvings allowed when a certified step falls back to backtracking on u.
FALLBACK_HALVINGS = 200

# Safety factor of the rounding allowance: the error bounds it multiplies are
# first-order estimates (one rounding per operation, summation length d).
ROUNDING_SAFETY = 4.0


@dataclass(frozen=True)
class LocalState:
    """Everything the certificates need at one point ``(network, loss)``.

    Attributes
    ----------
    network, loss
        The point and the loss.
    product : array (n, m)
        ``W = A_1 ... A_N``.
    loss_gradient : array (n, m)
        ``G = grad ell(W)``.
    gradients : list of arrays
        ``grad_i L``, one per factor.
    grad_norm_sq : float
        ``||grad L||^2``, the sum over layers of squared Frobenius norms.
    gap : float
        ``L - ell_star``, computed by the loss's stable formula.
    coefficients : list of arrays
        ``C_0 = W, C_1, ..., C_N`` of the product after a step.
    """

    network: LinearNetwork
    loss: Loss
    product: FloatArray
    loss_gradient: FloatArray
    gradients: list[FloatArray]
    grad_norm_sq: float
    gap: float
    coefficients: list[FloatArray]

    def step_change(self, eta: float) -> FloatArray:
        """Return ``E(eta) = sum_{k>=1} eta^k C_k``."""
        return _polynomial(self.coefficients[1:], eta)


def _polynomial(matrices: list[FloatArray], eta: float) -> FloatArray:
    """Return ``sum_{k>=1} eta^k M_k`` for ``matrices = [M_1, ..., M_N]`` (Horner)."""
    result = matrices[-1]
    for matrix in reversed(matrices[:-1]):
        result = matrix + eta * result
    return eta * result


@dataclass(frozen=True)
class StepChoice:
    """A step size and what certifies it.

    Attributes
    ----------
    eta : float
        The step size (0.0 at a stationary point).
    majorant : float
        ``u(eta)``, the certified bound on the loss change ``L+ - L``.
    theorem : str
        The result certifying it: ``"T2"`` (descent lemma), ``"T4"`` (quartic
        with K), ``"T9"`` (quartic with the curvature operator); for depth
        N >= 3 the same with ``"T10"`` appended.
    """

    eta: float
    majorant: float
    theorem: str


def local_state(
    network: LinearNetwork, loss: Loss, product: FloatArray | None = None
) -> LocalState:
    """Compute the :class:`LocalState` of ``network`` for ``loss``.

    ``product`` is ``W = A_1 ... A_N`` when the caller has already formed it.
    """
    if product is None:
        product = network.product()
    loss_gradient = loss.grad(product)
    gradients = network.gradients(loss_gradient)
    return LocalState(
        network=network,
        loss=loss,
        product=product,
        loss_gradient=loss_gradient,
        gradients=gradients,
        grad_norm_sq=float(sum(np.sum(g * g) for g in gradients)),
        gap=loss.gap(product),
        coefficients=network.step_coefficients(gradients, product),
    )


# --- Local PL constant (T1, T10) --------------------------------------------------


def _smallest_singular_value(matrix: FloatArray | None, required: int) -> float:
    """Return sigma_required(matrix), 1 for the identity (None)."""
    if matrix is None:
        return 1.0
    return float(np.linalg.svd(matrix, compute_uv=False)[required - 1])


def local_pl(network: LinearNetwork, mu: float) -> float:
    """Return the local PL constant ``mu sum_i sigma_n(Left_i)^2 sigma_m(Right_i)^2``.

    Structural zeros are decided from the widths (THEORY rule 2, T10): the
    left term needs every width before layer i to be at least n, the right
    term every width from layer i on to be at least m. For depth 2 this is
    ``mu (lambda_min(P) + lambda_min(Q))`` of T1, with the eigenvalues taken
    from singular values of the factors (rule 3).
    """
    depth, n, m, widths = network.depth, network.n, network.m, network.widths
    lefts, rights = network.partial_products()
    values: list[float] = []
    for i in range(depth):
        left_has_rank = all(h >= n for h in widths[:i])
        right_has_rank = all(h >= m for h in widths[i:])
        values.append(_smallest_singular_value(lefts[i], n) if left_has_rank else 0.0)
        values.append(_smallest_singular_value(rights[i], m) if right_has_rank else 0.0)
    return float(symbolic.deep_local_pl_function(depth)(mu, *values))


# --- Local smoothness (T2) and the fixed-point step (T3) ----------------------------


def _spectral_quantities(state: LocalState) -> dict[str, float]:
    """Return the symbols of T2 at ``state``: K, g, S and G_2 (depth 2 only)."""
    if state.network.depth != 2:
        raise ValueError(
            "the local smoothness constant and the fixed-point step (T2, T3) are "
            f"derived for depth 2 only; this network has depth {state.network.depth}"
        )
    first, second = state.network.factors
    return {
        "K": state.loss.K,
        "g": math.sqrt(state.grad_norm_sq),
        "S": float(np.linalg.norm(first, 2) ** 2 + np.linalg.norm(second, 2) ** 2),
        "G_2": float(np.linalg.norm(state.loss_gradient, 2)),
    }


def local_smoothness(state: LocalState, eta: float) -> float:
    """Return ``K_loc(eta) = ||G||_2 + K (sqrt(S) + eta ||grad L|| / 2)^2`` (T2)."""
    quantities = _spectral_quantities(state)
    return float(symbolic.numpy_function("local_smoothness")(eta=eta, **quantities))


def fixed_point_step(state: LocalState) -> float:
    """Return the unique positive root of ``eta K_loc(eta) = 1`` (T3)."""
    quantities = _spectral_quantities(state)
    coefficients = symbolic.fixed_point_cubic_coefficient_function()(
        quantities["K"], quantities["g"], quantities["S"], quantities["G_2"]
    )
    return solve_increasing_cubic([float(c) for c in coefficients])


def solve_increasing_cubic(coefficients: list[float]) -> float:
    """Return the positive root of ``sum_k c_k eta^k`` with ``c_0 < 0 <= c_k``.

    The polynomial is increasing and convex on ``eta > 0``; Newton's method
    started right of the root decreases monotonically onto it, and a
    bisection bracket guards every step. Returns 0.0 when no coefficient of
    positive degree is positive (no root).
    """
    positive = [(power, c) for power, c in enumerate(coefficients) if power and c > 0]
    if not positive:
        return 0.0

    # Each positive term alone reaches -c_0 at (-c_0/c)^(1/power): the root is below.
    upper = min((-coefficients[0] / c) ** (1.0 / power) for power, c in positive)
    lower = 0.0
    eta = upper
    for _ in range(FIXED_POINT_MAX_ITERATIONS):
        value = sum(c * eta**power for power, c in enumerate(coefficients))
        slope = sum(
            power * c * eta ** (power - 1)
            for power, c in enumerate(coefficients)
            if power
        )
        if value > 0:
            upper = eta
        else:
            lower = eta
        candidate = eta - value / slope if slope > 0 else 0.5 * (lower + upper)
        if not lower < candidate < upper:
            candidate = 0.5 * (lower + upper)
        if abs(candidate - eta) <= FIXED_POINT_RTOL * eta:
            return candidate
        eta = candidate
    return eta


def _descent_bound(state: LocalState, eta: float) -> float:
    """Return the T2 bound ``-eta (1 - eta K_loc(eta) / 2) ||grad L||^2``."""
    quantities = _spectral_quantities(state)
    return float(symbolic.numpy_function("descent_bound")(eta=eta, **quantities))


# --- Majorants (T4, T9, T10) -------------------------------------------------------


def _curvature_operator(
    loss: Loss, use_curvature: bool
) -> tuple[Callable[[FloatArray], FloatArray], str]:
    if use_curvature and loss.curvature is not None:
        return loss.curvature, "T9"
    K = loss.K
    return (lambda E: K * E), "T4"


def majorant(state: LocalState, eta: float, use_curvature: bool = True) -> float:
    """Return ``u(eta) = <G, E> + (1/2) <E, H E>``, evaluated through ``E(eta)``.

    ``H`` is the loss's curvature operator when ``use_curvature`` is true and
    the loss has one (T9), and ``K I`` otherwise (T4); for any depth this is
    the majorant of T10. Evaluating through ``E(eta)`` rather than the
    monomial coefficients keeps the value accurate when ``E`` nearly cancels
    (THEORY rule 5). ``L+ - L <= u(eta)`` for every ``eta``.
    """
    operator, _ = _curvature_operator(state.loss, use_curvature)
    change = state.step_change(eta)
    return float(
        np.sum(state.loss_gradient * change) + 0.5 * np.sum(change * operator(change))
    )


def majorant_coefficients(state: LocalState, use_curvature: bool = True) -> FloatArray:
    """Return the coefficients of ``u(eta)`` in increasing powers of ``eta``.

    ``a_k = <G, C_k>`` and ``c_jk = <C_j, H C_k>`` are fed to the lambdified
    polynomial of :func:`lplbounds.symbolic.majorant_polynomial`.
    """
    moves, curved = _majorant_parts(state, use_curvature)
    return _coefficients_from_parts(state, moves, curved)


def _majorant_parts(
    state: LocalState, use_curvature: bool
) -> tuple[list[FloatArray], list[FloatArray]]:
    """Return the moves ``C_1..C_N`` and their images ``H C_k``."""
    operator, _ = _curvature_operator(state.loss, use_curvature)
    moves = state.coefficients[1:]
    return moves, [operator(C) for C in moves]


def _coefficients_from_parts(
    state: LocalState, moves: list[FloatArray], curved: list[FloatArray]
) -> FloatArray:
    depth = state.network.depth
    inner = [float(np.sum(state.loss_gradient * C)) for C in moves]
    cross = [
        float(np.sum(moves[j] * curved[k]))
        for j in range(depth)
        for k in range(j, depth)
    ]
    function = symbolic.majorant_coefficient_function(depth)
    return np.array([float(c) for c in function(*inner, *cross)])


def _step_magnitude(state: LocalState, eta: float) -> float:
    """Return ``M = prod_i (||A_i||_F + eta ||g_i||_F)``.

    It bounds ``sum_k eta^k ||C_k||_F`` and every product formed along a step.
    """
    return float(
        np.prod(
            [
                np.linalg.norm(A) + eta * np.linalg.norm(g)
                for A, g in zip(state.network.factors, state.gradients, strict=True)
            ]
        )
    )


def majorant_rounding(
    state: LocalState, eta: float, change: FloatArray | None = None
) -> float:
    """Return a bound on the rounding of ``u(eta)`` as the library computes it.

    With ``eps`` the machine epsilon, ``d`` the largest dimension of the
    network (a summation length), ``N`` the depth and ``M`` from
    :func:`_step_magnitude`, two errors enter, each bounded to first order:

    1. the sums forming ``u`` from ``E``: ``d eps (sum |G o E| + K sum E^2 / 2)``;
    2. ``E(eta)`` and ``H E(eta)``, formed from the coefficients ``C_k`` and
       ``H C_k``, are each off by at most ``delta_E <= N d eps M`` (times K
       for the image), which moves ``u`` by at most
       ``(||G||_F + 2 K ||E||_F) delta_E + K delta_E^2`` (``H <= K I``).

    Their sum times :data:`ROUNDING_SAFETY` is returned. Item 2 dominates at
    large steps, where ``E`` is a small difference of large terms.
    """
    eps = float(np.finfo(float).eps)
    network, K = state.network, state.loss.K
    dimension = max(network.n, network.m, *network.widths)
    if change is None:
        change = state.step_change(eta)
    change_norm = float(np.linalg.norm(change))
    summation = float(
        np.sum(np.abs(state.loss_gradient * change)) + 0.5 * K * change_norm**2
    )
    delta_change = network.depth * dimension * eps * _step_magnitude(state, eta)
    gradient_norm = float(np.linalg.norm(state.loss_gradient))
    polynomial = (gradient_norm + 2 * K * change_norm) * delta_change
    polynomial += K * delta_change**2
    return ROUNDING_SAFETY * (dimension * eps * summation + polynomial)


def rounding_allowance(state: LocalState, next_state: LocalState, eta: float) -> float:
    """Return an absolute bound on the rounding in ``(L+ - L) - u(eta)``.

    In exact arithmetic ``L+ - L <= u(eta)``. In float64 the comparison
    carries the rounding of ``u`` itself (:func:`majorant_rounding`) and two
    more errors, bounded to first order with the notation there:

    3. the product of the stepped factors differs from ``W + E(eta)`` by
       ``delta <= d eps M``, which moves the loss by at most
       ``||G+||_F delta + K delta^2 / 2`` with ``||G+||_F <= sqrt(2 K gap+)``
       (K-smoothness), and the rounding of the current product enters the
       current gap the same way;
    4. each gap is a sum of ``s`` non-negative terms (``s`` =
       ``loss.evaluation_terms``), exact to ``s eps (gap + gap+)``, and a gap
       computed as ``ell - ell_star`` also carries ``eps (|ell| + |ell+|)``.

    The sum of the four, each times :data:`ROUNDING_SAFETY`, is returned.
    """
    eps = float(np.finfo(float).eps)
    network, loss = state.network, state.loss
    dimension = max(network.n, network.m, *network.widths)
    delta = dimension * eps * _step_magnitude(state, eta)
    gradient_bound = math.sqrt(2 * loss.K * state.gap) + math.sqrt(
        2 * loss.K * next_state.gap
    )
    total = gradient_bound * delta + loss.K * delta**2
    total += loss.evaluation_terms * eps * (state.gap + next_state.gap)
    if loss.gap_by_subtraction:
        total += eps * (
            abs(loss.value(state.product)) + abs(loss.value(next_state.product))
        )
    return majorant_rounding(state, eta) + ROUNDING_SAFETY * total


def _stationary_choice() -> StepChoice:
    warnings.warn(
        "the gradient is zero (a stationary point): no step decreases the loss "
        "and none is certified; returning step 0.0",
        CertificationWarning,
        stacklevel=4,
    )
    return StepChoice(eta=0.0, majorant=0.0, theorem="none")


def _theorem_label(base: str, depth: int) -> str:
    return base if depth == 2 else f"{base}/T10"


def certified_step(state: LocalState, use_curvature: bool = True) -> StepChoice:
    """Return the step minimizing the majorant ``u`` over ``eta > 0`` (T4, T9, T10).

    The critical points come from the roots of ``u'`` (a polynomial of degree
    ``2N - 1``, lower when leading coefficients vanish); each real positive
    root is ranked by ``u`` evaluated through ``E(eta)``, ties going to the
    smaller step. When no root certifies a decrease the step falls back to the
    fixed-point step (depth 2) or to halving along ``u``, with a
    :class:`CertificationWarning`.
    """
    _, theorem = _curvature_operator(state.loss, use_curvature)
    theorem = _theorem_label(theorem, state.network.depth)
    if state.grad_norm_sq == 0.0:
        return _stationary_choice()

    # H C_k once: u at every candidate is then formed from E and H E as the
    # same polynomials in eta, through E rather than the monomials (rule 5).
    moves, curved = _majorant_parts(state, use_curvature)
    coefficients = _coefficients_from_parts(state, moves, curved)
    derivative = np.arange(1, coefficients.size) * coefficients[1:]
    nonzero = np.flatnonzero(derivative)
    derivative = derivative[: nonzero[-1] + 1]
    roots = np.roots(derivative[::-1]) if derivative.size > 1 else np.array([])
    real_roots = roots.real[np.abs(roots.imag) <= ROOT_IMAGINARY_RTOL * np.abs(roots)]
    candidates = np.sort(real_roots[real_roots > 0])

    # A larger step replaces the best so far only if its majorant is lower
    # beyond the rounding of both values: at a large step E is a small
    # difference of large terms, and rounding noise must not beat an equal
    # minimum at a smaller step (THEORY rule 5: ties go to the smaller step).
    best: StepChoice | None = None
    best_rounding = 0.0
    for eta in candidates:
        change, image = _polynomial(moves, eta), _polynomial(curved, eta)
        value = float(
            np.sum(state.loss_gradient * change) + 0.5 * np.sum(change * image)
        )
        if value >= 0 or not math.isfinite(value):
            continue
        rounding = majorant_rounding(state, float(eta), change)
        margin = rounding + best_rounding + TIE_RTOL * abs(value)
        if best is None or value < best.majorant - margin:
            best = StepChoice(eta=float(eta), majorant=value, theorem=theorem)
            best_rounding = rounding
    if best is not None:
        return best
    return _fallback_step(state, use_curvature, theorem)


def _fallback_step(state: LocalState, use_curvature: bool, theorem: str) -> StepChoice:
    if state.network.depth == 2:
        eta = fixed_point_step(state)
        value = majorant(state, eta, use_curvature)
        reason = "the fixed-point step"
    else:
        # Halve from the minimizer of the quadratic model -eta g^2 + eta^2 c_11 / 2.
        first_move = state.coefficients[1]
        operator, _ = _curvature_operator(state.loss, use_curvature)
        curvature = float(np.sum(first_move * operator(first_move)))
        eta = state.grad_norm_sq / curvature if curvature > 0 else 1.0
        value = majorant(state, eta, use_curvature)
        for _ in range(FALLBACK_HALVINGS):
            if value < 0:
                break
            eta /= 2
            value = majorant(state, eta, use_curvature)
        reason = "halving along the majorant"
    if not value < 0:
        warnings.warn(
            "no step with a certified decrease was found (the gradient is at rounding "
            "level); returning step 0.0",
            CertificationWarning,
            stacklevel=4,
        )
        return StepChoice(eta=0.0, majorant=0.0, theorem="none")
    warnings.warn(
        "the majorant's critical points gave no certified decrease; "
        f"fell back to {reason}",
        CertificationWarning,
        stacklevel=4,
    )
    return StepChoice(eta=eta, majorant=value, theorem=theorem)


def _rule_certified(state: LocalState, initial: LocalState) -> StepChoice:
    return certified_step(state, use_curvature=True)


def _rule_certified_K(state: LocalState, initial: LocalState) -> StepChoice:
    return certified_step(state, use_curvature=False)


def _rule_fixed_point(state: LocalState, initial: LocalState) -> StepChoice:
    if state.network.depth != 2:
        raise ValueError(
            "rule 'fixed-point' (T3) is derived for depth 2 only; use rule "
            f"'certified' for a depth-{state.network.depth} network"
        )
    if state.grad_norm_sq == 0.0:
        return _stationary_choice()
    eta = fixed_point_step(state)
    return StepChoice(eta=eta, majorant=_descent_bound(state, eta), theorem="T2")


#: A rule maps the current state and the run's initial state to a step.
Rule = Callable[[LocalState, LocalState], StepChoice]

_RULE_FUNCTIONS: dict[str, Rule] = {
    "certified": _rule_certified,
    "certified-K": _rule_certified_K,
    "fixed-point": _rule_fixed_point,
}


def register_rule(name: str, function: Rule) -> None:
    """Add a step-size rule (used by :mod:`lplbounds.apriori`)."""
    _RULE_FUNCTIONS[name] = function


def rule_names() -> tuple[str, ...]:
    """Return the names of the registered step-size rules."""
    return tuple(_RULE_FUNCTIONS)


def choose_step(
    state: LocalState, rule: str, initial: LocalState | None = None
) -> StepChoice:
    """Apply the named step-size rule at ``state``.

    Parameters
    ----------
    state : LocalState
        The current point.
    rule : str
        One of :func:`rule_names`.
    initial : LocalState, optional
        The first point of the run, for rules fixed from the start; defaults
        to ``state``.
    """
    try:
        function = _RULE_FUNCTIONS[rule]
    except KeyError:
        raise ValueError(f"rule must be one of {rule_names()}; got {rule!r}") from None
    return function(state, state if initial is None else initial)


def constant_step_choice(state: LocalState, eta: float) -> StepChoice:
    """Certify a given step ``eta`` with the best majorant the loss offers."""
    _, theorem = _curvature_operator(state.loss, True)
    return StepChoice(
        eta=eta,
        majorant=majorant(state, eta, use_curvature=True),
        theorem=_theorem_label(theorem, state.network.depth),
    )
