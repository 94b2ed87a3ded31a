"""The named quantities of a two-layer GD state that a conjecture may use.

A :class:`State` is a loss, a pair ``(W1, W2)`` and a step ``eta``. Each
quantity of :data:`QUANTITIES` is defined once here, by a SymPy symbol (with
assumptions), a one-line definition (the text of ``docs/vocabulary.md``) and
a function computing it; a :class:`State` computes a quantity only when asked
and caches it, and raises :class:`UndefinedQuantity` where it is undefined
(``lambda_n_D`` when ``h < n``, for example). The quantities follow
THEORY.md: structural zeros are decided from shapes (rule 2), eigenvalues of
``P`` and ``Q`` come from singular values of the factors (rule 3).

Public surface: :class:`Quantity`, :class:`State`, :class:`UndefinedQuantity`,
:data:`QUANTITIES`, :data:`SYMBOLS`, :func:`symbols`, :func:`parse`,
:func:`markdown_table`.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import sympy as sp

from lplbounds import certificates
from lplbounds._validation import FloatArray
from lplbounds.exceptions import CertificationWarning
from lplbounds.losses import Loss
from lplbounds.network import LinearNetwork

__all__ = [
    "Quantity",
    "State",
    "UndefinedQuantity",
    "MACHINE_EPSILON",
    "QUANTITIES",
    "SYMBOLS",
    "symbols",
    "parse",
    "markdown_table",
]

logger = logging.getLogger(__name__)


#: float64 machine epsilon, the quantity ``eps``.
MACHINE_EPSILON = float(np.finfo(float).eps)

# Safety factor of drift_rounding over its first-order estimate: each entry of
# W^T W carries at most (length + 2) roundings relative to |W|^T |W|, whose
# Frobenius norm is at most ||W||_F^2; the stepped weights add one more.
DRIFT_ROUNDING_SAFETY = 4.0


class UndefinedQuantity(ValueError):
    """A quantity has no value at this state (for example ``lambda_n_D``, h < n)."""


@dataclass(frozen=True)
class Quantity:
    """One named quantity of a state.

    Attributes
    ----------
    name : str
        The name used in conjectures (a SymPy symbol of that name).
    definition : str
        The mathematical definition, as written in ``docs/vocabulary.md``.
    symbol : sympy.Symbol
        The symbol, with the assumptions the quantity satisfies.
    compute : callable
        ``State -> float``; raises :class:`UndefinedQuantity` where undefined.
    """

    name: str
    definition: str
    symbol: sp.Symbol
    compute: Callable[[State], float]


class State:
    """A loss, a two-layer pair ``W1`` (n x h), ``W2`` (m x h) and a step ``eta``.

    Quantities are computed on first use and cached: ``state["gap"]``,
    ``state.value("gap")``. Matrices shared by several quantities (the local
    state, the next iterate, singular values) are cached too.

    Parameters
    ----------
    loss : Loss
    W1, W2 : arrays of shapes (n, h) and (m, h)
    eta : float
        The step of ``next_gap`` and the other one-step quantities, > 0.
    description : dict, optional
        How the state was drawn (regime, seed, steps, ...), for reports.
    """

    def __init__(
        self,
        loss: Loss,
        W1: Any,
        W2: Any,
        eta: float,
        description: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(loss, Loss):
            raise TypeError(f"loss must be a lplbounds Loss; got {type(loss).__name__}")
        self.network = LinearNetwork.from_pair(W1, W2)
        self.W1, W2_transposed = self.network.factors
        self.W2 = W2_transposed.T
        if loss.shape is not None and loss.shape != (self.network.n, self.network.m):
            raise ValueError(
                f"W1 and W2 must give a product of shape {loss.shape} for this loss; "
                f"got ({self.network.n}, {self.network.m})"
            )
        eta = float(eta)
        if not (math.isfinite(eta) and eta > 0):
            raise ValueError(f"eta must be a finite number > 0; got {eta}")
        self.loss = loss
        self.eta = eta
        self.description: dict[str, Any] = dict(description or {})
        self._values: dict[str, float] = {}

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(n, m, h)``."""
        return self.network.n, self.network.m, self.network.widths[0]

    def value(self, name: str) -> float:
        """Return the quantity ``name`` (computed once, then cached)."""
        if name not in self._values:
            try:
                quantity = QUANTITIES[name]
            except KeyError:
                raise ValueError(
                    f"unknown quantity {name!r}; the vocabulary is {sorted(QUANTITIES)}"
                ) from None
            self._values[name] = float(quantity.compute(self))
        return self._values[name]

    def __getitem__(self, name: str) -> float:
        return self.value(name)

    def computed(self) -> dict[str, float]:
        """Return the quantities computed so far."""
        return dict(self._values)

    # --- Cached matrices shared by several quantities ---------------------------

    @cached_property
    def local(self) -> certificates.LocalState:
        """The library's :class:`~lplbounds.certificates.LocalState` here."""
        return certificates.local_state(self.network, self.loss)

    @cached_property
    def next_local(self) -> certificates.LocalState:
        """The local state after one GD step of size ``eta``."""
        stepped = self.network.stepped(self.local.gradients, self.eta)
        return certificates.local_state(stepped, self.loss)

    @cached_property
    def singular_values_W1(self) -> FloatArray:
        return _singular_values(self.W1)

    @cached_property
    def singular_values_W2(self) -> FloatArray:
        return _singular_values(self.W2)

    @cached_property
    def singular_values_W(self) -> FloatArray:
        return _singular_values(self.local.product)

    @cached_property
    def imbalance_eigenvalues(self) -> FloatArray:
        """Eigenvalues of ``D = W1^T W1 - W2^T W2`` in decreasing order."""
        return _imbalance(self.W1, self.W2)[1]

    def __repr__(self) -> str:
        n, m, h = self.shape
        return f"State(n={n}, m={m}, h={h}, eta={self.eta:.6g}, loss={self.loss!r})"


def _singular_values(matrix: FloatArray) -> FloatArray:
    """Singular values in decreasing order, as float64."""
    return np.asarray(np.linalg.svd(matrix, compute_uv=False), dtype=np.float64)


def _imbalance(W1: FloatArray, W2: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return ``D`` and its eigenvalues in decreasing order."""
    imbalance = W1.T @ W1 - W2.T @ W2
    imbalance = 0.5 * (imbalance + imbalance.T)
    return imbalance, np.linalg.eigvalsh(imbalance)[::-1]


# --- Definitions ------------------------------------------------------------------


def _shape_value(index: int) -> Callable[[State], float]:
    return lambda state: float(state.shape[index])


def _lambda_min_P(state: State) -> float:
    n, _, h = state.shape
    # Rule 2: P = W1 W1^T has rank at most h, so its smallest eigenvalue is
    # exactly 0 when h < n, whatever rounding gives.
    return 0.0 if h < n else float(state.singular_values_W1[n - 1] ** 2)


def _lambda_min_Q(state: State) -> float:
    _, m, h = state.shape
    return 0.0 if h < m else float(state.singular_values_W2[m - 1] ** 2)


def _sigma_min_W(state: State) -> float:
    n, m, h = state.shape
    rank_bound = min(n, m)
    return 0.0 if h < rank_bound else float(state.singular_values_W[rank_bound - 1])


def _lambda_n_D(state: State) -> float:
    n, _, h = state.shape
    if h < n:
        raise UndefinedQuantity(f"lambda_n_D needs h >= n; here h={h} < n={n}")
    return float(state.imbalance_eigenvalues[n - 1])


def _lambda_neg_m_D(state: State) -> float:
    _, m, h = state.shape
    if h < m:
        raise UndefinedQuantity(f"lambda_neg_m_D needs h >= m; here h={h} < m={m}")
    return float(state.imbalance_eigenvalues[h - m])


def _resolved_gap(local: certificates.LocalState) -> float:
    """Return the gap at ``local``, undefined below the loss's rounding floor."""
    floor = local.loss.gap_floor(local.product, local.network.factor_norm_product())
    if local.gap < floor:
        raise UndefinedQuantity(
            f"gap at rounding level: {local.gap:.3g} below the loss's floor "
            f"{floor:.3g} (THEORY rule 1)"
        )
    return local.gap


def _loss_change(state: State) -> float:
    loss, before, after = state.loss, state.local, state.next_local
    # A change measured from a point already at rounding level is noise.
    _resolved_gap(before)
    if loss.gap_by_subtraction:
        # Gaps clipped at 0 near ell_star would hide the change: use values.
        return loss.value(after.product) - loss.value(before.product)
    return after.gap - before.gap


def _certified_step(state: State) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CertificationWarning)
        return certificates.certified_step(state.local).eta


def _majorant_H(state: State) -> float:
    return certificates.majorant(state.local, state.eta, use_curvature=True)


def _majorant_K(state: State) -> float:
    return certificates.majorant(state.local, state.eta, use_curvature=False)


def _drift_norm(state: State) -> float:
    first, second = state.next_local.network.factors
    before, _ = _imbalance(state.W1, state.W2)
    after, _ = _imbalance(first, second.T)
    return float(np.linalg.norm(after - before))


def _drift_formula_norm(state: State) -> float:
    gradient_1, gradient_2 = state.local.gradients  # A = G W2 and B = W1^T G
    formula = gradient_1.T @ gradient_1 - gradient_2 @ gradient_2.T
    return float(state.eta**2 * np.linalg.norm(formula))


def _drift_rounding(state: State) -> float:
    n, m, h = state.shape
    first, second = state.next_local.network.factors
    size_after = float(np.sum(first**2) + np.sum(second**2))
    size_before = state.value("sum_sq_norms")
    step_size_sq = state.eta**2 * state.local.grad_norm_sq
    return (
        DRIFT_ROUNDING_SAFETY
        * (max(n, m, h) + 4)
        * MACHINE_EPSILON
        * (size_before + size_after + step_size_sq)
    )


def _rounding(state: State) -> float:
    return certificates.rounding_allowance(state.local, state.next_local, state.eta)


_POSITIVE = {"positive": True}
_NONNEGATIVE = {"nonnegative": True}
_REAL = {"real": True}

# (name, assumptions, definition, function): the single source of the vocabulary.
_DEFINITIONS: tuple[tuple[str, dict[str, bool], str, Callable[[State], float]], ...] = (
    ("mu", _POSITIVE, "global PL constant of the loss `ell`", lambda s: s.loss.mu),
    ("K", _POSITIVE, "global smoothness constant of `ell`", lambda s: s.loss.K),
    ("n", _POSITIVE, "rows of `W = W1 W2^T`", _shape_value(0)),
    ("m", _POSITIVE, "columns of `W`", _shape_value(1)),
    ("h", _POSITIVE, "hidden width (columns of `W1` and of `W2`)", _shape_value(2)),
    ("eta", _POSITIVE, "the step of the one-step quantities", lambda s: s.eta),
    (
        "eta_cert",
        _NONNEGATIVE,
        "certified step of T4/T9 at the state (`lplbounds.step_size`), 0 at a "
        "stationary point",
        _certified_step,
    ),
    (
        "gap",
        _NONNEGATIVE,
        "`L(W1, W2) - ell_*`, by the loss's stable formula; undefined below the "
        "loss's rounding floor (`Loss.gap_floor`, THEORY rule 1)",
        lambda s: _resolved_gap(s.local),
    ),
    (
        "next_gap",
        _NONNEGATIVE,
        "the gap after one GD step of size `eta` (`W1 - eta G W2`, "
        "`W2 - eta G^T W1`); undefined below the rounding floor like `gap`",
        lambda s: _resolved_gap(s.next_local),
    ),
    (
        "loss_change",
        _REAL,
        "`L(W1+, W2+) - L(W1, W2)` for the step `eta`: the difference of the "
        "stable gaps for least squares, of the loss values otherwise (no "
        "clipping at `ell_*`)",
        _loss_change,
    ),
    (
        "grad_norm",
        _NONNEGATIVE,
        "`||grad L|| = sqrt(||G W2||_F^2 + ||W1^T G||_F^2)`, `G = grad ell(W)`",
        lambda s: math.sqrt(s.local.grad_norm_sq),
    ),
    (
        "loss_grad_norm",
        _NONNEGATIVE,
        "`||G||_F`, the gradient of `ell` at the product",
        lambda s: float(np.linalg.norm(s.local.loss_gradient)),
    ),
    (
        "lambda_min_P",
        _NONNEGATIVE,
        "smallest eigenvalue of `P = W1 W1^T`: `sigma_n(W1)^2` if `h >= n`, "
        "exactly 0 if `h < n`",
        _lambda_min_P,
    ),
    (
        "lambda_max_P",
        _NONNEGATIVE,
        "largest eigenvalue of `P`: `sigma_1(W1)^2`",
        lambda s: float(s.singular_values_W1[0] ** 2),
    ),
    (
        "lambda_min_Q",
        _NONNEGATIVE,
        "smallest eigenvalue of `Q = W2 W2^T`: `sigma_m(W2)^2` if `h >= m`, "
        "exactly 0 if `h < m`",
        _lambda_min_Q,
    ),
    (
        "lambda_max_Q",
        _NONNEGATIVE,
        "largest eigenvalue of `Q`: `sigma_1(W2)^2`",
        lambda s: float(s.singular_values_W2[0] ** 2),
    ),
    (
        "sigma_min_W",
        _NONNEGATIVE,
        "`sigma_min(n,m)(W)`, exactly 0 if `h < min(n, m)`",
        _sigma_min_W,
    ),
    (
        "sigma_max_W",
        _NONNEGATIVE,
        "`sigma_1(W) = ||W||_2`",
        lambda s: float(s.singular_values_W[0]),
    ),
    (
        "lambda_max_D",
        _REAL,
        "`lambda_1(D)`, largest eigenvalue of `D = W1^T W1 - W2^T W2` (h x h)",
        lambda s: float(s.imbalance_eigenvalues[0]),
    ),
    (
        "lambda_min_D",
        _REAL,
        "`lambda_h(D)`, smallest eigenvalue of `D`",
        lambda s: float(s.imbalance_eigenvalues[-1]),
    ),
    (
        "lambda_n_D",
        _REAL,
        "`lambda_n(D)`, n-th largest eigenvalue of `D`; undefined if `h < n`",
        _lambda_n_D,
    ),
    (
        "lambda_neg_m_D",
        _REAL,
        "`lambda_{h-m+1}(D)`, m-th smallest eigenvalue of `D`; undefined if `h < m`",
        _lambda_neg_m_D,
    ),
    (
        "sum_sq_norms",
        _NONNEGATIVE,
        "`||W1||_F^2 + ||W2||_F^2`",
        lambda s: float(np.sum(s.W1**2) + np.sum(s.W2**2)),
    ),
    (
        "mu_local",
        _NONNEGATIVE,
        "local PL constant of T1, `mu (lambda_min_P + lambda_min_Q)`, as the "
        "library computes it (`lplbounds.local_pl_constant`)",
        lambda s: certificates.local_pl(s.network, s.loss.mu),
    ),
    (
        "K_local",
        _POSITIVE,
        "local smoothness constant of T2 at `eta`, "
        "`||G||_2 + K (sqrt(lambda_max_P + lambda_max_Q) + eta grad_norm / 2)^2`",
        lambda s: certificates.local_smoothness(s.local, s.eta),
    ),
    (
        "majorant_H",
        _REAL,
        "`u_H(eta) = <G, E> + <E, H E> / 2` of T9 with the loss's curvature "
        "operator `H` (`K I` if it has none), `E = W+ - W`",
        _majorant_H,
    ),
    (
        "majorant_K",
        _REAL,
        "`u(eta) = <G, E> + K ||E||_F^2 / 2` of T4",
        _majorant_K,
    ),
    (
        "drift_norm",
        _NONNEGATIVE,
        "`||D+ - D||_F`, the imbalance after the step minus before, each "
        "formed from the weights",
        _drift_norm,
    ),
    (
        "drift_formula_norm",
        _NONNEGATIVE,
        "`eta^2 ||A^T A - B B^T||_F` with `A = G W2`, `B = W1^T G` (T6 says it "
        "equals `drift_norm`)",
        _drift_formula_norm,
    ),
    (
        "drift_rounding",
        _NONNEGATIVE,
        "a bound on the float64 rounding of `drift_norm - drift_formula_norm`: "
        "`4 (max(n, m, h) + 4) eps (sum_sq_norms + sum_sq_norms after the step "
        "+ eta^2 grad_norm^2)` (THEORY rule 4)",
        _drift_rounding,
    ),
    (
        "eps",
        _POSITIVE,
        "float64 machine epsilon `2^-52`, for rounding terms in a claim or `atol`",
        lambda s: MACHINE_EPSILON,
    ),
    (
        "rounding",
        _NONNEGATIVE,
        "the library's bound on the float64 rounding of `(next_gap - gap) - "
        "majorant_H` (`certificates.rounding_allowance`)",
        _rounding,
    ),
)

#: Every quantity, by name.
QUANTITIES: Mapping[str, Quantity] = {
    name: Quantity(name, definition, sp.Symbol(name, **assumptions), function)
    for name, assumptions, definition, function in _DEFINITIONS
}

#: The SymPy symbol of every quantity, by name.
SYMBOLS: Mapping[str, sp.Symbol] = {
    name: quantity.symbol for name, quantity in QUANTITIES.items()
}


def symbols(*names: str) -> tuple[sp.Symbol, ...]:
    """Return the symbols of the named quantities, to build a claim in SymPy.

    Examples
    --------
    >>> gap, grad_norm = symbols("gap", "grad_norm")
    >>> grad_norm**2 - gap
    -gap + grad_norm**2
    """
    unknown = [name for name in names if name not in SYMBOLS]
    if unknown:
        raise ValueError(
            f"names not in the vocabulary: {unknown}; known: {sorted(SYMBOLS)}"
        )
    return tuple(SYMBOLS[name] for name in names)


# Names a claim may use besides the vocabulary without calling them.
_CONSTANTS = frozenset({"pi", "E", "oo"})

_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def _check_names(text: str, argument: str) -> None:
    """Raise ValueError naming every bare name of ``text`` outside the vocabulary.

    A name followed by ``(`` is a SymPy function (``sqrt``, ``Max``); any other
    name must be a quantity, or SymPy would read it as a fresh symbol or, for a
    name like ``zeta``, as a function class.
    """
    unknown = sorted(
        {
            match.group()
            for match in _NAME.finditer(text)
            if match.group() not in SYMBOLS
            and match.group() not in _CONSTANTS
            and not text[match.end() :].lstrip().startswith("(")
            and not (match.start() > 0 and text[match.start() - 1].isdigit())
        }
    )
    if unknown:
        raise ValueError(
            f"{argument} uses names outside the vocabulary: {', '.join(unknown)}; "
            f"known names: {', '.join(sorted(SYMBOLS))}"
        )


def parse(expression: str | sp.Expr, argument: str = "expression") -> sp.Expr:
    """Return ``expression`` as a SymPy expression over the vocabulary.

    A string is parsed by :func:`sympy.sympify` with the vocabulary's symbols
    as local names (so ``gap`` is the quantity, not a fresh symbol); numbers
    become SymPy numbers.

    Raises
    ------
    ValueError
        If the expression uses a name outside the vocabulary (all such names
        are listed) or does not parse; ``argument`` names the argument.
    TypeError
        If ``expression`` is neither a string nor a SymPy expression.
    """
    if isinstance(expression, str):
        _check_names(expression, argument)
        try:
            parsed = sp.sympify(expression, locals=dict(SYMBOLS))
        except (sp.SympifyError, SyntaxError, TypeError) as error:
            raise ValueError(
                f"{argument} does not parse as a SymPy expression: {expression!r} "
                f"({error})"
            ) from error
    elif isinstance(expression, (sp.Expr, int, float)):
        parsed = sp.sympify(expression)
    else:
        raise TypeError(
            f"{argument} must be a string or a SymPy expression; "
            f"got {type(expression).__name__}"
        )
    if not isinstance(parsed, sp.Expr):
        raise ValueError(
            f"{argument} must be a scalar expression; got {type(parsed).__name__}"
        )
    unknown = sorted(
        str(symbol)
        for symbol in parsed.free_symbols
        if SYMBOLS.get(str(symbol)) != symbol
    )
    if unknown:
        raise ValueError(
            f"{argument} uses names outside the vocabulary: {', '.join(unknown)}; "
            f"known names: {', '.join(sorted(SYMBOLS))}"
        )
    return parsed


def markdown_table() -> str:
    """Return the vocabulary as the Markdown table of ``docs/vocabulary.md``."""
    lines = ["| name | definition |", "|---|---|"]
    lines += [f"| `{q.name}` | {q.definition} |" for q in QUANTITIES.values()]
    return "\n".join(lines)
