"""Bundled real data sets and the standard setup of a run on them.

The data come from scikit-learn's bundled files (``load_diabetes``,
``load_linnerud``, ``load_breast_cancer``; no download). Every column of X,
and of Y for regression, is z-scored; there is no intercept. Breast-cancer
labels 0 and 1 become -1 and +1 for the ridge-logistic loss.

Public surface: :data:`DATASETS`, :func:`load`, :func:`make_loss`,
:func:`initial_network`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lplbounds import _validation as check
from lplbounds._validation import FloatArray
from lplbounds.losses import LeastSquares, Loss, RidgeLogistic
from lplbounds.network import LinearNetwork

__all__ = ["DATASETS", "load", "make_loss", "initial_network", "zscore"]

#: Dataset names and the loss each one uses.
DATASETS = {
    "diabetes": "least-squares",
    "linnerud": "least-squares",
    "breast-cancer": "ridge-logistic",
}


def zscore(matrix: FloatArray) -> FloatArray:
    """Center every column and divide it by its standard deviation."""
    centered = matrix - matrix.mean(axis=0)
    spread = centered.std(axis=0)
    if np.any(spread == 0):
        raise ValueError("a column is constant and cannot be z-scored")
    return centered / spread


def load(name: str) -> tuple[FloatArray, FloatArray]:
    """Return ``(X, Y)`` of a bundled data set, standardized.

    Parameters
    ----------
    name : {"diabetes", "linnerud", "breast-cancer"}

    Raises
    ------
    ImportError
        When scikit-learn (the ``data`` extra) is not installed.
    """
    check.choice("dataset", name, DATASETS)
    try:
        from sklearn import datasets as sklearn_datasets
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(
            "the bundled data sets need scikit-learn: pip install 'lplbounds[data]'"
        ) from error
    if name == "diabetes":
        bunch: Any = sklearn_datasets.load_diabetes()
        return zscore(bunch.data), zscore(bunch.target[:, None].astype(float))
    if name == "linnerud":
        bunch = sklearn_datasets.load_linnerud()
        return zscore(bunch.data.astype(float)), zscore(bunch.target.astype(float))
    bunch = sklearn_datasets.load_breast_cancer()
    labels = np.where(bunch.target[:, None] == 1, 1.0, -1.0)
    return zscore(bunch.data), labels


def make_loss(name: str, reduction: str = "mean", ridge: float = 1e-2) -> Loss:
    """Return the loss of a bundled data set (least squares or ridge logistic)."""
    X, Y = load(name)
    if DATASETS[name] == "ridge-logistic":
        return RidgeLogistic(X, Y, ridge=ridge, reduction=reduction)
    return LeastSquares(X, Y, reduction=reduction)


def initial_network(
    n: int, m: int, width: int, scale: float, seed: int, depth: int = 2
) -> LinearNetwork:
    """Return the Gaussian initialization used by the command line.

    ``rng = numpy.random.default_rng(seed)``; ``W1 = scale * rng.standard_normal((n,
    width))``, then the middle factors ``(width, width)`` in order, then
    ``W2 = scale * rng.standard_normal((m, width))``, the last factor being
    ``W2.T``. For depth 2 this is the pair ``(W1, W2)``.
    """
    check.positive_integer("n", n)
    check.positive_integer("m", m)
    check.positive_integer("width", width)
    check.positive_integer("depth", depth)
    check.nonnegative_integer("seed", seed)
    if depth < 2:
        raise ValueError(f"depth must be >= 2; got {depth}")
    scale = check.positive_scalar("scale", scale)
    rng = np.random.default_rng(seed)
    factors = [scale * rng.standard_normal((n, width))]
    for _ in range(depth - 2):
        factors.append(scale * rng.standard_normal((width, width)))
    factors.append((scale * rng.standard_normal((m, width))).T)
    return LinearNetwork(factors)
