"""Linear networks of any depth and the polynomial of one GD step (T10).

A network is a list of factors ``A_1, ..., A_N`` in product orientation,
``W = A_1 A_2 ... A_N`` with ``A_1`` of shape ``(n, h_1)`` and ``A_N`` of shape
``(h_{N-1}, m)``. The two-layer pair ``(W1, W2)`` of THEORY.md, ``W1`` of shape
``(n, h)`` and ``W2`` of shape ``(m, h)``, is the network ``[W1, W2.T]``.

After one GD step of size ``eta`` the product is
``prod_i (A_i - eta grad_i L) = sum_k eta^k C_k``; this module computes the
layer gradients and the coefficients ``C_k``.

Public surface: :class:`LinearNetwork`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lplbounds import _validation as check
from lplbounds._validation import FloatArray

__all__ = ["LinearNetwork"]


class LinearNetwork:
    """A linear network ``W = A_1 A_2 ... A_N`` of depth ``N >= 2``.

    Parameters
    ----------
    factors : sequence of 2-D arrays
        ``A_1`` of shape ``(n, h_1)``, ..., ``A_N`` of shape ``(h_{N-1}, m)``;
        consecutive shapes must chain.

    Examples
    --------
    >>> import numpy as np
    >>> net = LinearNetwork([np.ones((3, 4)), np.ones((4, 2))])
    >>> net.depth, net.n, net.m, net.widths
    (2, 3, 2, (4,))
    """

    def __init__(self, factors: Sequence[Any]) -> None:
        if isinstance(factors, np.ndarray) or not isinstance(factors, Sequence):
            raise TypeError(
                "factors must be a list or tuple of 2-D arrays A_1, ..., A_N; "
                f"got {type(factors).__name__}"
            )
        if len(factors) < 2:
            raise ValueError(
                f"factors must hold at least 2 matrices; got {len(factors)}"
            )
        arrays = [
            check.as_real_array(f"factors[{i}]", A) for i, A in enumerate(factors)
        ]
        for i in range(len(arrays) - 1):
            if arrays[i].shape[1] != arrays[i + 1].shape[0]:
                raise ValueError(
                    f"factors[{i}] has {arrays[i].shape[1]} columns but "
                    f"factors[{i + 1}] "
                    f"has {arrays[i + 1].shape[0]} rows; the product must chain"
                )
        self.factors: tuple[FloatArray, ...] = tuple(arrays)

    @classmethod
    def _trusted(cls, factors: Sequence[FloatArray]) -> LinearNetwork:
        """Wrap factors already known to be finite, chained float64 matrices."""
        network = cls.__new__(cls)
        network.factors = tuple(factors)
        return network

    @classmethod
    def from_pair(cls, W1: Any, W2: Any) -> LinearNetwork:
        """Build the two-layer network from ``W1`` (n x h) and ``W2`` (m x h)."""
        first, second = check.weight_pair(W1, W2)
        return cls([first, second.T])

    def to_pair(self) -> tuple[FloatArray, FloatArray]:
        """Return ``(W1, W2)`` of a depth-2 network, ``W2`` of shape (m, h)."""
        if self.depth != 2:
            raise ValueError(
                f"to_pair needs a depth-2 network; this one has depth {self.depth}"
            )
        return self.factors[0].copy(), self.factors[1].T.copy()

    @property
    def depth(self) -> int:
        """The number of factors N."""
        return len(self.factors)

    @property
    def n(self) -> int:
        """Rows of the product."""
        return int(self.factors[0].shape[0])

    @property
    def m(self) -> int:
        """Columns of the product."""
        return int(self.factors[-1].shape[1])

    @property
    def widths(self) -> tuple[int, ...]:
        """Hidden widths ``h_1, ..., h_{N-1}``."""
        return tuple(int(A.shape[1]) for A in self.factors[:-1])

    def product(self) -> FloatArray:
        """Return ``W = A_1 A_2 ... A_N``."""
        result = self.factors[0]
        for A in self.factors[1:]:
            result = result @ A
        return result

    def factor_norm_product(self) -> float:
        """Return ``prod_i ||A_i||_F``, a bound on the size of the product."""
        return float(np.prod([np.linalg.norm(A) for A in self.factors]))

    def partial_products(
        self,
    ) -> tuple[list[FloatArray | None], list[FloatArray | None]]:
        """Return ``Left_i = A_1 ... A_{i-1}`` and ``Right_i = A_{i+1} ... A_N``.

        ``None`` stands for the identity (``Left_1`` and ``Right_N``).
        """
        depth = self.depth
        lefts: list[FloatArray | None] = [None] * depth
        rights: list[FloatArray | None] = [None] * depth
        for i in range(1, depth):
            previous = lefts[i - 1]
            lefts[i] = (
                self.factors[i - 1]
                if previous is None
                else previous @ self.factors[i - 1]
            )
        for i in range(depth - 2, -1, -1):
            following = rights[i + 1]
            rights[i] = (
                self.factors[i + 1]
                if following is None
                else self.factors[i + 1] @ following
            )
        return lefts, rights

    def gradients(self, G: FloatArray) -> list[FloatArray]:
        """Return ``grad_i L = Left_i^T G Right_i^T`` for the loss gradient ``G``."""
        lefts, rights = self.partial_products()
        result = []
        for left, right in zip(lefts, rights, strict=True):
            block = G if left is None else left.T @ G
            result.append(block if right is None else block @ right.T)
        return result

    def step_coefficients(
        self, gradients: Sequence[FloatArray], product: FloatArray | None = None
    ) -> list[FloatArray]:
        """Return ``C_0, ..., C_N`` with ``prod_i (A_i - eta g_i) = sum_k eta^k C_k``.

        The factors are multiplied in one at a time, O(N^2) matrix products.
        ``C_0`` is the product ``W``; pass it as ``product`` when it is already
        known, to save its last multiplication.
        """
        coefficients = [self.factors[0], -gradients[0]]
        last = len(self.factors) - 2
        for index, (A, g) in enumerate(
            zip(self.factors[1:], gradients[1:], strict=True)
        ):
            if product is not None and index == last:
                updated = [product]
            else:
                updated = [coefficients[0] @ A]
            for k in range(1, len(coefficients)):
                updated.append(coefficients[k] @ A - coefficients[k - 1] @ g)
            updated.append(-(coefficients[-1] @ g))
            coefficients = updated
        return coefficients

    def stepped(self, gradients: Sequence[FloatArray], eta: float) -> LinearNetwork:
        """Return the network after one GD step ``A_i - eta g_i``."""
        return LinearNetwork._trusted(
            [A - eta * g for A, g in zip(self.factors, gradients, strict=True)]
        )

    def __repr__(self) -> str:
        shapes = " x ".join(str(A.shape) for A in self.factors)
        return f"LinearNetwork(depth={self.depth}, shapes={shapes})"
