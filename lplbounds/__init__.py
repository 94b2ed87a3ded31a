"""lplbounds: certified local PL constants, step sizes and rates for linear networks.

Gradient descent on ``L(W1, W2) = ell(W1 W2^T)``, or on a deeper linear
network, where the loss ``ell`` of the plain linear model is mu-PL and
K-smooth. The library computes the local PL constant (T1, T10), the local
smoothness constant of a step (T2), certified step sizes (T3, T4, T9, T10) and
runs GD with a certificate at every step. See ``docs/theory.md``.

Public surface: :func:`local_pl_constant`, :func:`local_smoothness_constant`,
:func:`step_size`, :func:`majorant`, :func:`gd`, :class:`LinearNetwork`,
:class:`Trajectory`, :class:`CertificationWarning`, :class:`ConstantWarning`
and the modules :mod:`~lplbounds.losses` and :mod:`~lplbounds.symbolic`.
"""

from __future__ import annotations

import logging

from lplbounds import apriori, datasets, losses, schedules, symbolic
from lplbounds.api import (
    gd,
    local_pl_constant,
    local_smoothness_constant,
    majorant,
    step_size,
)
from lplbounds.exceptions import CertificationWarning, ConstantWarning
from lplbounds.network import LinearNetwork
from lplbounds.training import Trajectory

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "gd",
    "local_pl_constant",
    "local_smoothness_constant",
    "majorant",
    "step_size",
    "LinearNetwork",
    "Trajectory",
    "CertificationWarning",
    "ConstantWarning",
    "apriori",
    "datasets",
    "losses",
    "schedules",
    "symbolic",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
