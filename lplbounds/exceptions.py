"""Warning categories of lplbounds.

``CertificationWarning`` marks a result the library could not certify (a
stationary point, a fallback step, an a priori bound that is vacuous);
``ConstantWarning`` marks a declared constant of a loss that a spot check
contradicts. Both are ``RuntimeWarning`` subclasses, so they can be filtered
or turned into errors with the ``warnings`` module.
"""

from __future__ import annotations

__all__ = ["CertificationWarning", "ConstantWarning"]


class CertificationWarning(RuntimeWarning):
    """A bound or step could not be certified; a conservative value is returned."""


class ConstantWarning(RuntimeWarning):
    """A declared constant (mu, K, ell_star) is contradicted by a spot check."""
