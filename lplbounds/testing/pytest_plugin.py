"""A pytest plugin: assert a conjecture on GD states in two lines.

Registered as the ``pytest11`` entry point ``lplbounds``, it provides the
fixture ``conjecture``::

    def test_my_bound(conjecture):
        conjecture.holds("2 * mu * gap * lambda_min_P", of="grad_norm**2")

which runs :func:`lplbounds.testing.falsify` and fails the test with the
shrunk counterexample when one is found. The option
``--conjecture-examples N`` sets the default number of states tried.

Public surface: :class:`ConjectureChecker`, the fixture ``conjecture``.
"""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["ConjectureChecker", "conjecture", "pytest_addoption"]

#: Default number of states tried per conjecture in a test: small enough that
#: a suite of conjectures runs in seconds.
DEFAULT_EXAMPLES = 200


class ConjectureChecker:
    """The object behind the ``conjecture`` fixture."""

    def __init__(self, max_examples: int = DEFAULT_EXAMPLES) -> None:
        self.max_examples = max_examples

    def holds(self, claim: Any, of: Any, kind: str = "lower", **options: Any) -> Any:
        """Fail the test if ``falsify(claim, of, kind, **options)`` refutes it.

        Returns the :class:`~lplbounds.testing.falsify.FalsifyResult` otherwise.
        """
        from lplbounds.testing.falsify import falsify

        options.setdefault("max_examples", self.max_examples)
        result = falsify(claim, of, kind, **options)
        if result.refuted:
            pytest.fail(result.summary(), pytrace=False)
        return result

    def fails(self, claim: Any, of: Any, kind: str = "lower", **options: Any) -> Any:
        """Fail the test unless the conjecture is refuted; return the result."""
        from lplbounds.testing.falsify import falsify

        options.setdefault("max_examples", self.max_examples)
        result = falsify(claim, of, kind, **options)
        if not result.refuted:
            pytest.fail(
                f"expected a counterexample, found none:\n{result.summary()}",
                pytrace=False,
            )
        return result


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lplbounds")
    group.addoption(
        "--conjecture-examples",
        type=int,
        default=DEFAULT_EXAMPLES,
        help=f"states tried per conjecture by the fixture (default {DEFAULT_EXAMPLES})",
    )


@pytest.fixture
def conjecture(request: pytest.FixtureRequest) -> ConjectureChecker:
    """Check conjectures: ``conjecture.holds(claim, of=..., kind=...)``."""
    return ConjectureChecker(int(request.config.getoption("--conjecture-examples")))
