"""Tools to test theorems and conjectures on GD trajectories.

:mod:`lplbounds.testing.strategies` holds Hypothesis strategies for shapes,
scales, losses, networks and GD states; they are the ones the project's own
property tests use.
"""

from __future__ import annotations
