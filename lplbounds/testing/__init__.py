"""Tools to test theorems and conjectures on GD trajectories.

:mod:`lplbounds.testing.strategies` holds Hypothesis strategies for shapes,
scales, imbalance regimes, losses, networks and GD states (the ones the
project's own property tests use); :mod:`lplbounds.testing.vocabulary` the
named quantities of a state a conjecture may use;
:func:`falsify` searches for a counterexample to a conjectured bound and
:func:`replay` re-checks a saved one. :mod:`lplbounds.testing.pytest_plugin`
gives tests the ``conjecture`` fixture. Hypothesis is required
(``pip install lplbounds[test]``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Conjecture",
    "FalsifyResult",
    "ReplayResult",
    "falsify",
    "replay",
    "QUANTITIES",
    "State",
    "UndefinedQuantity",
]

try:
    # The function falsify must be bound after its module is imported: the
    # import of the submodule lplbounds.testing.falsify sets the attribute too.
    from lplbounds.testing.falsify import (
        Conjecture,
        FalsifyResult,
        ReplayResult,
        falsify,
        replay,
    )
    from lplbounds.testing.vocabulary import QUANTITIES, State, UndefinedQuantity
except ModuleNotFoundError as error:
    if error.name != "hypothesis":
        raise
    _MISSING = error

    def __getattr__(name: str) -> Any:
        raise ImportError(
            f"lplbounds.testing.{name} needs Hypothesis: pip install lplbounds[test]"
        ) from _MISSING
