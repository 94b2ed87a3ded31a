"""Search for counterexamples to a conjectured bound on a two-layer GD state.

A conjecture compares two expressions over the quantities of
:mod:`lplbounds.testing.vocabulary`: ``of >= claim`` (``kind="lower"``, the
claim is a lower bound on ``of``) or ``of <= claim`` (``kind="upper"``).
:func:`falsify` draws states with Hypothesis
(:func:`lplbounds.testing.strategies.conjecture_states` by default), looks for
one that violates the conjecture beyond a tolerance, shrinks it to a minimal
example and returns a :class:`FalsifyResult`; :meth:`FalsifyResult.save`
writes the counterexample as JSON and :func:`replay` re-checks it exactly
(float64 values survive JSON unchanged).

Public surface: :class:`Conjecture`, :class:`Counterexample`,
:class:`FalsifyResult`, :class:`ReplayResult`, :func:`falsify`,
:func:`replay`, :data:`KINDS`, :data:`DEFAULT_RTOL`.
"""

from __future__ import annotations

import json
import logging
import math
import random
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import sympy as sp
from hypothesis import find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from lplbounds import _validation as check
from lplbounds.exceptions import CertificationWarning
from lplbounds.losses import LeastSquares, Loss, RidgeLogistic
from lplbounds.testing import vocabulary
from lplbounds.testing.vocabulary import State, UndefinedQuantity

__all__ = [
    "KINDS",
    "DEFAULT_RTOL",
    "DEFAULT_MAX_EXAMPLES",
    "SCHEMA_VERSION",
    "Conjecture",
    "Counterexample",
    "FalsifyResult",
    "ReplayResult",
    "falsify",
    "replay",
]

logger = logging.getLogger(__name__)

#: ``"lower"``: the conjecture is ``of >= claim``; ``"upper"``: ``of <= claim``.
KINDS = ("lower", "upper")

#: Default relative tolerance. The quantities are float64 values computed
#: through SVDs, eigenvalues and a GD step; each carries a relative error of a
#: few hundred machine epsilons on the small problems searched (1e-13), except
#: where cancellation is intrinsic (``next_gap - gap``, ``drift_norm``), which
#: the claim should cover with the ``rounding`` quantity or ``atol``. 1e-8
#: leaves five orders of magnitude between rounding and a reported violation.
DEFAULT_RTOL = 1e-8

#: Default number of states tried.
DEFAULT_MAX_EXAMPLES = 500

#: Version of the JSON record written by :meth:`FalsifyResult.save`.
SCHEMA_VERSION = 1

# The floor of the relative tolerance's scale, so that a claim and a value
# that are both exactly 0 never count as a violation.
TINY = float(np.finfo(float).tiny)

#: A side of a conjecture: text, a SymPy expression or a function of a state.
Expression: TypeAlias = "str | sp.Expr | Callable[[State], float]"


def _describe(expression: Expression) -> str:
    if callable(expression) and not isinstance(expression, sp.Basic):
        name = getattr(expression, "__qualname__", type(expression).__name__)
        return f"<callable {name}>"
    return str(expression)


class Conjecture:
    """A compiled conjecture ``of >= claim`` (lower) or ``of <= claim`` (upper).

    Parameters
    ----------
    claim, of : str, SymPy expression or callable
        Expressions over :data:`lplbounds.testing.vocabulary.QUANTITIES`
        (strings are parsed by :func:`lplbounds.testing.vocabulary.parse`),
        or callables ``State -> float``.
    kind : {"lower", "upper"}
    rtol : float
    atol : float, str, SymPy expression or callable
        The tolerance, see :meth:`violation`; an expression is evaluated at
        each state.

    Notes
    -----
    With ``scale = max(|claim|, |of|, TINY)`` and
    ``tolerance = max(atol, rtol * scale)``, a state violates a lower
    conjecture when ``of < claim - tolerance`` and an upper one when
    ``of > claim + tolerance``. ``TINY`` is the smallest normal float64, so
    two exact zeros never violate.
    """

    def __init__(
        self,
        claim: Expression,
        of: Expression,
        kind: str = "lower",
        rtol: float = DEFAULT_RTOL,
        atol: float | Expression = 0.0,
    ) -> None:
        self.kind = check.choice("kind", kind, KINDS)
        self.rtol = check.nonnegative_scalar("rtol", rtol)
        self.claim_text = _describe(claim)
        self.of_text = _describe(of)
        self._claim, self.claim_names = _compile(claim, "claim")
        self._of, self.of_names = _compile(of, "of")
        self._atol: Callable[[State], float] | None = None
        if isinstance(atol, (int, float)) and not isinstance(atol, bool):
            self.atol: float | str = check.nonnegative_scalar("atol", atol)
        else:
            self._atol, _ = _compile(atol, "atol")
            self.atol = _describe(atol)

    @property
    def statement(self) -> str:
        """The conjecture as text, ``of >= claim`` or ``of <= claim``."""
        relation = ">=" if self.kind == "lower" else "<="
        return f"{self.of_text} {relation} {self.claim_text}"

    def evaluate(self, state: State) -> tuple[float, float]:
        """Return ``(claim, of)`` at ``state``.

        Raises
        ------
        UndefinedQuantity
            When a quantity used is undefined at ``state``, or an expression
            has no finite value there (a domain error, a division by zero).
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CertificationWarning)
            claim_value = self._claim(state)
            of_value = self._of(state)
        return claim_value, of_value

    def absolute_tolerance(self, state: State) -> float:
        """Return ``atol`` at ``state`` (a number, or an expression evaluated there)."""
        if self._atol is None:
            assert isinstance(self.atol, float)
            return self.atol
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CertificationWarning)
            return abs(self._atol(state))

    def violation(
        self, claim_value: float, of_value: float, atol: float | None = None
    ) -> float:
        """Return by how much ``(claim, of)`` violates the conjecture beyond tolerance.

        Positive means violated: ``claim - tolerance - of`` for a lower
        conjecture, ``of - claim - tolerance`` for an upper one, with
        ``tolerance = max(atol, rtol * max(|claim|, |of|, TINY))``; ``atol``
        defaults to the conjecture's number (pass the value of an ``atol``
        expression at the state).
        """
        if atol is None:
            atol = self.atol if isinstance(self.atol, float) else 0.0
        scale = max(abs(claim_value), abs(of_value), TINY)
        tolerance = max(atol, self.rtol * scale)
        if self.kind == "lower":
            return claim_value - tolerance - of_value
        return of_value - claim_value - tolerance

    def check(self, state: State) -> tuple[float, float, float]:
        """Return ``(claim, of, violation)`` at ``state`` (violation > 0: refuted)."""
        claim_value, of_value = self.evaluate(state)
        atol = self.absolute_tolerance(state)
        return claim_value, of_value, self.violation(claim_value, of_value, atol)

    def violated_by(self, state: State) -> bool:
        """Return True when ``state`` violates the conjecture beyond tolerance."""
        return self.check(state)[2] > 0


def _compile(
    expression: Expression, argument: str
) -> tuple[Callable[[State], float], tuple[str, ...]]:
    """Return a function ``State -> float`` and the quantity names it uses."""
    if callable(expression) and not isinstance(expression, sp.Basic):
        function = expression

        def call(state: State) -> float:
            value = float(function(state))
            if not math.isfinite(value):
                raise UndefinedQuantity(f"{argument} is not finite: {value}")
            return value

        return call, ()

    parsed = vocabulary.parse(expression, argument)
    names = tuple(sorted(str(symbol) for symbol in parsed.free_symbols))
    numeric = sp.lambdify(
        [vocabulary.SYMBOLS[name] for name in names], parsed, modules="math"
    )

    def evaluate(state: State) -> float:
        # Only the quantities the expression uses are computed (lazily).
        arguments = [state.value(name) for name in names]
        try:
            value = float(numeric(*arguments))
        except (ValueError, ZeroDivisionError, OverflowError, TypeError) as error:
            raise UndefinedQuantity(f"{argument} has no real value: {error}") from None
        if not math.isfinite(value):
            raise UndefinedQuantity(f"{argument} is not finite: {value}")
        return value

    return evaluate, names


# --- Records ------------------------------------------------------------------


def _loss_record(loss: Loss) -> dict[str, Any]:
    if isinstance(loss, LeastSquares):
        return {
            "kind": "least-squares",
            "X": loss.X.tolist(),
            "Y": loss.Y.tolist(),
            "reduction": loss.reduction,
        }
    if isinstance(loss, RidgeLogistic):
        return {
            "kind": "ridge-logistic",
            "X": loss.X.tolist(),
            "Y": loss.Y.tolist(),
            "ridge": loss.ridge,
            "reduction": loss.reduction,
        }
    return {"kind": type(loss).__name__, "repr": repr(loss)}


def _loss_from_record(record: Mapping[str, Any]) -> Loss:
    kind = record.get("kind")
    if kind == "least-squares":
        return LeastSquares(record["X"], record["Y"], reduction=record["reduction"])
    if kind == "ridge-logistic":
        return RidgeLogistic(
            record["X"],
            record["Y"],
            ridge=record["ridge"],
            reduction=record["reduction"],
        )
    raise ValueError(
        f"the record's loss ({kind!r}) cannot be rebuilt: only least-squares and "
        "ridge-logistic losses are saved with their data"
    )


@dataclass(frozen=True)
class Counterexample:
    """A state violating a conjecture, with everything needed to rebuild it.

    Attributes
    ----------
    shape : tuple of int
        ``(n, m, h)``.
    W1, W2 : arrays of shapes (n, h) and (m, h)
    eta : float
    loss : Loss
    loss_record : dict
        The loss's kind and data (``X``, ``Y``, ``reduction``, ``ridge``).
    claim_value, of_value : float
        The two sides at this state.
    violation : float
        By how much the conjecture fails beyond tolerance (> 0).
    quantities : dict
        Every vocabulary quantity computed while checking it.
    description : dict
        How the state was drawn (regime, scale, seed, steps, eta factor).
    """

    shape: tuple[int, int, int]
    W1: np.ndarray
    W2: np.ndarray
    eta: float
    loss: Loss
    loss_record: dict[str, Any]
    claim_value: float
    of_value: float
    violation: float
    quantities: dict[str, float]
    description: dict[str, Any]

    @classmethod
    def from_state(cls, state: State, conjecture: Conjecture) -> Counterexample:
        claim_value, of_value, violation = conjecture.check(state)
        return cls(
            shape=state.shape,
            W1=state.W1.copy(),
            W2=state.W2.copy(),
            eta=state.eta,
            loss=state.loss,
            loss_record=_loss_record(state.loss),
            claim_value=claim_value,
            of_value=of_value,
            violation=violation,
            quantities=state.computed(),
            description=dict(state.description),
        )

    def state(self) -> State:
        """Return the :class:`~lplbounds.testing.vocabulary.State` it describes."""
        return State(self.loss, self.W1, self.W2, self.eta, self.description)

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": list(self.shape),
            "W1": self.W1.tolist(),
            "W2": self.W2.tolist(),
            "eta": self.eta,
            "loss": self.loss_record,
            "claim_value": self.claim_value,
            "of_value": self.of_value,
            "violation": self.violation,
            "quantities": self.quantities,
            "description": self.description,
        }

    def summary(self) -> str:
        """Return a few lines: shapes, loss, step, the two sides, the weights."""
        n, m, h = self.shape
        drawn = ", ".join(f"{k}={_short(v)}" for k, v in self.description.items())
        quantities = ", ".join(
            f"{name}={value:.6g}" for name, value in sorted(self.quantities.items())
        )
        with np.printoptions(precision=6, suppress=False, linewidth=88):
            weights = f"W1 =\n{self.W1}\nW2 =\n{self.W2}"
        return "\n".join(
            [
                f"n={n}, m={m}, h={h}, eta={self.eta:.6g}, loss {self.loss!r}",
                f"drawn with: {drawn}" if drawn else "drawn with: (given state)",
                f"claim = {self.claim_value:.10g}, of = {self.of_value:.10g}, "
                f"violation beyond tolerance = {self.violation:.3g}",
                f"quantities: {quantities}",
                weights,
            ]
        )


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@dataclass
class FalsifyResult:
    """The outcome of :func:`falsify`.

    Attributes
    ----------
    statement : str
        The conjecture, ``of >= claim`` or ``of <= claim``.
    claim, of, kind : str
    rtol, atol : float
    refuted : bool
        True when a counterexample was found.
    examples : int
        States drawn before the first violation (all of them when none was
        found), skipped ones included.
    skipped : int
        Of those, states where a quantity used was undefined or an expression
        had no finite value; ``skip_reasons`` counts them by reason.
    shrink_evaluations : int
        States evaluated while shrinking the counterexample.
    counterexample : Counterexample or None
    max_examples : int
    seed : int or None
    """

    statement: str
    claim: str
    of: str
    kind: str
    rtol: float
    atol: float | str
    refuted: bool
    examples: int
    skipped: int
    skip_reasons: dict[str, int]
    shrink_evaluations: int
    counterexample: Counterexample | None
    max_examples: int
    seed: int | None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "statement": self.statement,
            "claim": self.claim,
            "of": self.of,
            "kind": self.kind,
            "rtol": self.rtol,
            "atol": self.atol,
            "refuted": self.refuted,
            "examples": self.examples,
            "skipped": self.skipped,
            "skip_reasons": self.skip_reasons,
            "shrink_evaluations": self.shrink_evaluations,
            "max_examples": self.max_examples,
            "seed": self.seed,
            "counterexample": (
                None if self.counterexample is None else self.counterexample.to_dict()
            ),
        }

    def save(self, path: str | Path) -> Path:
        """Write the result as JSON to ``path`` and return the path."""
        target = Path(path)
        target.write_text(json.dumps(self.to_dict(), indent=1))
        logger.info("wrote %s", target)
        return target

    def summary(self) -> str:
        """Return a human-readable report (the command line prints it)."""
        head = (
            f"conjecture: {self.statement} (rtol={self.rtol:g}, atol={self.atol})\n"
            f"{self.examples} states tried, {self.skipped} skipped"
        )
        if self.skip_reasons:
            reasons = "; ".join(f"{r}: {c}" for r, c in self.skip_reasons.items())
            head += f" ({reasons})"
        if self.counterexample is None:
            return f"{head}\nnot refuted: no counterexample found"
        return (
            f"{head}\nREFUTED; minimal counterexample after "
            f"{self.shrink_evaluations} shrinking evaluations:\n"
            f"{self.counterexample.summary()}"
        )


class _Tally:
    """Counts of the search: states tried, skipped, and evaluations while shrinking."""

    def __init__(self) -> None:
        self.examples = 0
        self.skipped = 0
        self.reasons: Counter[str] = Counter()
        self.found = False
        self.shrink_evaluations = 0

    def skip(self, reason: str) -> None:
        if not self.found:
            self.skipped += 1
            self.reasons[reason] += 1


def _skip_reason(error: Exception) -> str:
    text = str(error)
    return text.split(";")[0].split(":")[0] if text else type(error).__name__


def falsify(
    claim: Expression,
    of: Expression,
    kind: str = "lower",
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    rtol: float = DEFAULT_RTOL,
    *,
    atol: float | Expression = 0.0,
    seed: int | None = 0,
    states: st.SearchStrategy[State] | None = None,
) -> FalsifyResult:
    """Search for a state where ``of >= claim`` (lower) or ``of <= claim`` fails.

    Parameters
    ----------
    claim, of : str, SymPy expression or callable
        Expressions over the vocabulary of
        :mod:`lplbounds.testing.vocabulary` (``"gap"``,
        ``"lambda_min_P + lambda_min_Q"``, ...), or callables
        ``State -> float``. Strings are parsed with SymPy; a name outside the
        vocabulary raises ValueError naming it.
    kind : {"lower", "upper"}, default "lower"
        ``"lower"``: the conjecture says ``of >= claim``; ``"upper"``:
        ``of <= claim``.
    max_examples : int, default 500
        States drawn before giving up (shrinking comes on top).
    rtol : float, default :data:`DEFAULT_RTOL`
        Relative tolerance: with ``scale = max(|claim|, |of|, TINY)`` (``TINY``
        the smallest normal float64) and ``tolerance = max(atol, rtol *
        scale)``, a state violates a lower conjecture when
        ``of < claim - tolerance``, an upper one when ``of > claim +
        tolerance``.
    atol : float, str, SymPy expression or callable, default 0
        Absolute floor of the tolerance: a number, or an expression over the
        vocabulary evaluated at each state (its absolute value is used), such
        as ``"rounding"`` or ``"16 * h * eps * sum_sq_norms"`` for a claim
        whose float64 evaluation carries a known rounding.
    seed : int or None, default 0
        Seed of the search; the same seed gives the same states and the same
        counterexample. None draws a fresh seed.
    states : Hypothesis strategy of State, optional
        Where to search; default
        :func:`lplbounds.testing.strategies.conjecture_states` (every regime,
        both losses, ``eta`` log-uniform in ``[0.1, 10]`` times the certified
        step). Restrict it to a case, e.g.
        ``conjecture_states(n=1, m=1, min_h=2)``.

    Returns
    -------
    FalsifyResult
        ``refuted``, the counts ``examples`` and ``skipped``, and the shrunk
        ``counterexample`` (None when none was found).

    Notes
    -----
    States where a quantity used by the conjecture is undefined (``lambda_n_D``
    when ``h < n``), or where an expression has no finite real value, are
    skipped and counted. The search is Hypothesis's :func:`hypothesis.find`:
    the counterexample is minimal in Hypothesis's order (small shapes, small
    seeds, scale 1, few GD steps, ``eta`` near the certified step).
    Not finding a counterexample is evidence, not proof.

    Examples
    --------
    >>> result = falsify("2 * mu * gap * (lambda_min_P + lambda_min_Q)",
    ...                  of="grad_norm**2", kind="lower", max_examples=50)
    >>> result.refuted
    False
    """
    conjecture = Conjecture(claim, of, kind, rtol, atol)
    count = check.positive_integer("max_examples", max_examples)
    if seed is not None:
        seed = int(check.real_scalar("seed", seed))
    if states is None:
        from lplbounds.testing.strategies import conjecture_states

        states = conjecture_states()
    elif not isinstance(states, st.SearchStrategy):
        raise TypeError(
            f"states must be a Hypothesis strategy; got {type(states).__name__}"
        )
    tally = _Tally()

    def violated(state: State) -> bool:
        if tally.found:
            tally.shrink_evaluations += 1
        else:
            tally.examples += 1
        try:
            violation = conjecture.check(state)[2]
        except UndefinedQuantity as error:
            tally.skip(_skip_reason(error))
            return False
        except np.linalg.LinAlgError as error:
            tally.skip(f"linear algebra failed ({error})")
            return False
        if violation > 0:
            tally.found = True
            return True
        return False

    search_settings = settings(
        max_examples=count, database=None, deadline=None, derandomize=False
    )
    generator = None if seed is None else random.Random(seed)
    try:
        found: State | None = find(
            states, violated, settings=search_settings, random=generator
        )
    except NoSuchExample:
        found = None

    counterexample = None
    if found is not None:
        fresh = State(found.loss, found.W1, found.W2, found.eta, found.description)
        counterexample = Counterexample.from_state(fresh, conjecture)
        logger.info("refuted %s: %s", conjecture.statement, counterexample.summary())
    result = FalsifyResult(
        statement=conjecture.statement,
        claim=conjecture.claim_text,
        of=conjecture.of_text,
        kind=conjecture.kind,
        rtol=conjecture.rtol,
        atol=conjecture.atol,
        refuted=counterexample is not None,
        examples=tally.examples,
        skipped=tally.skipped,
        skip_reasons=dict(tally.reasons),
        shrink_evaluations=tally.shrink_evaluations,
        counterexample=counterexample,
        max_examples=count,
        seed=seed,
    )
    if not result.refuted and tally.skipped > tally.examples // 2:
        logger.warning(
            "%d of %d states were skipped for %s; restrict the states searched",
            tally.skipped,
            tally.examples,
            conjecture.statement,
        )
    return result


@dataclass(frozen=True)
class ReplayResult:
    """The outcome of :func:`replay`.

    Attributes
    ----------
    refuted : bool
        True when the saved state still violates the saved conjecture.
    claim_value, of_value : float
        The two sides recomputed now.
    recorded_claim_value, recorded_of_value : float
        The two sides as saved.
    state : State
        The rebuilt state.
    """

    refuted: bool
    claim_value: float
    of_value: float
    recorded_claim_value: float
    recorded_of_value: float
    state: State


def replay(
    path: str | Path,
    claim: Expression | None = None,
    of: Expression | None = None,
    atol: float | Expression | None = None,
) -> ReplayResult:
    """Rebuild a saved counterexample and re-check the conjecture on it.

    Parameters
    ----------
    path : str or Path
        A JSON file written by :meth:`FalsifyResult.save` for a refuted
        conjecture.
    claim, of, atol : optional
        Replace the saved expressions; required for one that was a callable
        (only its name is saved).

    Raises
    ------
    ValueError
        If the file holds no counterexample, a callable side is not supplied,
        or the loss cannot be rebuilt.
    """
    record = json.loads(Path(path).read_text())
    if record.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(
            f"path: unsupported schema_version {record.get('schema_version')!r}; "
            f"expected {SCHEMA_VERSION}"
        )
    saved = record.get("counterexample")
    if saved is None:
        raise ValueError(f"path: {path} holds no counterexample (not refuted)")
    sides: dict[str, Any] = {}
    for name, given in (("claim", claim), ("of", of), ("atol", atol)):
        text = record[name]
        if given is not None:
            sides[name] = given
        elif isinstance(text, str) and text.startswith("<callable"):
            raise ValueError(
                f"{name}: the saved {name} was a callable ({text}); pass it to replay"
            )
        else:
            sides[name] = text
    conjecture = Conjecture(
        sides["claim"], sides["of"], record["kind"], record["rtol"], sides["atol"]
    )
    state = State(
        _loss_from_record(saved["loss"]),
        saved["W1"],
        saved["W2"],
        saved["eta"],
        saved.get("description"),
    )
    claim_value, of_value, violation = conjecture.check(state)
    return ReplayResult(
        refuted=violation > 0,
        claim_value=claim_value,
        of_value=of_value,
        recorded_claim_value=float(saved["claim_value"]),
        recorded_of_value=float(saved["of_value"]),
        state=state,
    )
