"""The public functions: local constants, step sizes and certified GD.

Each function takes either the two-layer pair ``(W1, W2, loss)``, ``W1`` of
shape ``(n, h)`` and ``W2`` of shape ``(m, h)``, or a
:class:`~lplbounds.network.LinearNetwork` of any depth ``(network, loss)``.
They check their arguments, build the local state and delegate to
:mod:`lplbounds.certificates` (T1-T4, T9, T10) and :mod:`lplbounds.training`.

Public surface: :func:`local_pl_constant`, :func:`local_smoothness_constant`,
:func:`step_size`, :func:`gd`, :func:`majorant`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike

from lplbounds import _validation as check
from lplbounds import certificates, training
from lplbounds._validation import FloatArray
from lplbounds.losses import Loss
from lplbounds.network import LinearNetwork
from lplbounds.training import Trajectory

__all__ = [
    "local_pl_constant",
    "local_smoothness_constant",
    "step_size",
    "gd",
    "majorant",
]


def _checked_product(function: str, network: LinearNetwork, loss: Loss) -> FloatArray:
    """Return the product ``W``, raising if it or the gap at it overflows float64."""
    with np.errstate(over="ignore", invalid="ignore"):
        product = network.product()
        if not np.all(np.isfinite(product)):
            raise ValueError(
                f"{function}: the product of the weights overflows float64"
            )
        gap = loss.gap(product)
    if not math.isfinite(gap):
        raise ValueError(
            f"{function}: the loss gap at these weights overflows float64; "
            "rescale the weights or the data"
        )
    return product


def _checked_state(
    function: str, network: LinearNetwork, loss: Loss
) -> certificates.LocalState:
    """Return the local state, formed once, after the overflow checks."""
    product = _checked_product(function, network, loss)
    return certificates.local_state(network, loss, product)


def _network_and_loss(
    function: str, args: tuple[Any, ...], trailing: tuple[str, ...] = ()
) -> tuple[LinearNetwork, Loss, bool, tuple[Any, ...]]:
    """Split ``args`` into a network, a loss, whether a pair was given, and the rest."""
    usage = (
        f"{function}(W1, W2, loss{''.join(', ' + t for t in trailing)}) or "
        f"{function}(network, loss{''.join(', ' + t for t in trailing)})"
    )
    if not args:
        raise TypeError(f"{function} needs weights and a loss: {usage}")
    first = args[0]
    if isinstance(first, LinearNetwork):
        network, rest, as_pair = first, args[1:], False
    elif isinstance(first, (list, tuple)):
        raise TypeError(
            f"{function}: a list or tuple of factors is ambiguous; pass "
            "LinearNetwork(factors) for a network of any depth, or the arrays W1 "
            f"(n x h) and W2 (m x h) as separate arguments: {usage}"
        )
    else:
        if len(args) < 2:
            raise TypeError(f"{function} needs W1, W2 and a loss: {usage}")
        network, rest, as_pair = (
            LinearNetwork.from_pair(args[0], args[1]),
            args[2:],
            True,
        )
    if not rest:
        raise TypeError(f"{function} needs a loss: {usage}")
    loss, rest = rest[0], rest[1:]
    if not isinstance(loss, Loss):
        raise TypeError(
            f"{function}: loss must be a lplbounds.losses.Loss (LeastSquares, "
            f"RidgeLogistic or Custom); got {type(loss).__name__}"
        )
    if len(rest) > len(trailing):
        raise TypeError(
            f"{function} got {len(rest)} extra positional arguments: {usage}"
        )
    if loss.shape is not None and (network.n, network.m) != loss.shape:
        names = "W1 (n x h) and W2 (m x h)" if as_pair else "the network's product"
        raise ValueError(
            f"{function}: {names} must give a product of shape {loss.shape} for this "
            f"loss; got ({network.n}, {network.m})"
        )
    factor_names = (
        ("W1", "W2")
        if as_pair
        else tuple(f"factors[{i}]" for i in range(network.depth))
    )
    for name, factor in zip(factor_names, network.factors, strict=True):
        check.squares_representable(name, factor)
    return network, loss, as_pair, rest


@overload
def local_pl_constant(W1: ArrayLike, W2: ArrayLike, loss: Loss, /) -> float: ...
@overload
def local_pl_constant(network: LinearNetwork, loss: Loss, /) -> float: ...
def local_pl_constant(*args: Any) -> float:
    """Return the local PL constant ``mu_loc`` at the given weights (T1, T10).

    Parameters
    ----------
    W1, W2 : arrays of shapes (n, h) and (m, h)
        The two-layer network ``W = W1 W2^T``; or a single
        :class:`LinearNetwork` of any depth in their place.
    loss : Loss
        A mu-PL, K-smooth loss.

    Returns
    -------
    float
        ``mu (lambda_min(W1 W1^T) + lambda_min(W2 W2^T))`` for two layers,
        ``mu sum_i sigma_n(Left_i)^2 sigma_m(Right_i)^2`` in general, so that
        ``||grad L||^2 >= 2 mu_loc (L - ell_star)``.

    Notes
    -----
    A term is exactly 0 when the widths make it so (``h < n`` for
    ``lambda_min(W1 W1^T)``), whatever tiny value rounding would give.

    Examples
    --------
    >>> import numpy as np
    >>> from lplbounds.losses import LeastSquares
    >>> loss = LeastSquares(np.eye(2), np.ones((2, 1)), reduction="sum")
    >>> round(local_pl_constant(np.eye(2), np.ones((1, 2)), loss), 12)
    3.0
    """
    network, loss, _, _ = _network_and_loss("local_pl_constant", args)
    _checked_product("local_pl_constant", network, loss)
    return certificates.local_pl(network, loss.mu)


@overload
def local_smoothness_constant(
    W1: ArrayLike, W2: ArrayLike, loss: Loss, eta: float, /
) -> float: ...
@overload
def local_smoothness_constant(
    network: LinearNetwork, loss: Loss, eta: float, /
) -> float: ...
@overload
def local_smoothness_constant(
    W1: ArrayLike, W2: ArrayLike, loss: Loss, /, *, eta: float
) -> float: ...
@overload
def local_smoothness_constant(
    network: LinearNetwork, loss: Loss, /, *, eta: float
) -> float: ...
def local_smoothness_constant(*args: Any, eta: float | None = None) -> float:
    """Return the local smoothness constant ``K_loc(eta)`` of a GD step (T2).

    ``K_loc(eta) = ||G||_2 + K (sqrt(S) + eta ||grad L|| / 2)^2`` with
    ``G = grad ell(W1 W2^T)`` and ``S = ||W1||_2^2 + ||W2||_2^2``; then
    ``L+ <= L - eta (1 - eta K_loc(eta) / 2) ||grad L||^2``.

    Parameters
    ----------
    W1, W2 : arrays of shapes (n, h) and (m, h)
        Or a depth-2 :class:`LinearNetwork` in their place.
    loss : Loss
    eta : float
        The step size, > 0.

    Raises
    ------
    ValueError
        For a network of depth N >= 3 (T2 is a two-layer result) or
        ``eta <= 0``.
    """
    network, loss, _, rest = _network_and_loss(
        "local_smoothness_constant", args, ("eta",)
    )
    step = _step_argument("local_smoothness_constant", rest, eta)
    state = _checked_state("local_smoothness_constant", network, loss)
    return certificates.local_smoothness(state, step)


def _step_argument(function: str, rest: tuple[Any, ...], eta: Any) -> float:
    """Return ``eta`` given positionally (in ``rest``) or by keyword, exactly once."""
    if rest and eta is not None:
        raise TypeError(f"{function} got eta both positionally and by keyword")
    if not rest and eta is None:
        raise TypeError(f"{function} needs the step size eta")
    return check.positive_scalar("eta", rest[0] if rest else eta)


def _check_rule(rule: Any) -> str | float:
    if isinstance(rule, str):
        return check.choice("rule", rule, certificates.rule_names())
    raise TypeError(
        f"rule must be one of {certificates.rule_names()}; got {type(rule).__name__}"
    )


@overload
def step_size(
    W1: ArrayLike, W2: ArrayLike, loss: Loss, rule: str = "certified", /
) -> float: ...
@overload
def step_size(
    network: LinearNetwork, loss: Loss, rule: str = "certified", /
) -> float: ...
def step_size(*args: Any, rule: str | None = None) -> float:
    """Return a step size with a certified decrease of the loss.

    Parameters
    ----------
    W1, W2 : arrays of shapes (n, h) and (m, h)
        Or a :class:`LinearNetwork` of any depth in their place.
    loss : Loss
    rule : str, default "certified"
        ``"certified"`` minimizes the majorant with the loss's curvature
        operator (T9) when it has one and with K otherwise (T4);
        ``"certified-K"`` always uses K (T4); ``"fixed-point"`` solves
        ``eta K_loc(eta) = 1`` (T3, depth 2 only); ``"apriori"`` is the
        constant step of T8 computed from these weights as the start.

    Returns
    -------
    float
        The step; 0.0 with a :class:`~lplbounds.exceptions.CertificationWarning`
        at a stationary point.

    Examples
    --------
    >>> import numpy as np
    >>> from lplbounds.losses import LeastSquares
    >>> rng = np.random.default_rng(0)
    >>> loss = LeastSquares(rng.standard_normal((20, 3)), rng.standard_normal((20, 2)))
    >>> W1, W2 = rng.standard_normal((3, 5)), rng.standard_normal((2, 5))
    >>> step_size(W1, W2, loss) > 0
    True
    """
    network, loss, _, rest = _network_and_loss("step_size", args, ("rule",))
    if rest and rule is not None:
        raise TypeError("step_size got rule both positionally and by keyword")
    chosen = _check_rule(rest[0] if rest else ("certified" if rule is None else rule))
    assert isinstance(chosen, str)
    state = _checked_state("step_size", network, loss)
    return certificates.choose_step(state, chosen).eta


@overload
def majorant(
    W1: ArrayLike,
    W2: ArrayLike,
    loss: Loss,
    eta: float,
    /,
    *,
    use_curvature: bool = True,
) -> float: ...
@overload
def majorant(
    network: LinearNetwork, loss: Loss, eta: float, /, *, use_curvature: bool = True
) -> float: ...
@overload
def majorant(
    W1: ArrayLike,
    W2: ArrayLike,
    loss: Loss,
    /,
    *,
    eta: float,
    use_curvature: bool = True,
) -> float: ...
@overload
def majorant(
    network: LinearNetwork, loss: Loss, /, *, eta: float, use_curvature: bool = True
) -> float: ...
def majorant(*args: Any, eta: float | None = None, use_curvature: bool = True) -> float:
    """Return ``u(eta)``, a certified bound on the change of the loss after a step.

    ``L(after one GD step of size eta) - L <= u(eta)`` for every ``eta > 0``
    (T4 with ``use_curvature=False`` or when the loss has no curvature
    operator, T9 otherwise, T10 for depth N >= 3).
    """
    network, loss, _, rest = _network_and_loss("majorant", args, ("eta",))
    step = _step_argument("majorant", rest, eta)
    state = _checked_state("majorant", network, loss)
    flag = check.boolean("use_curvature", use_curvature)
    return certificates.majorant(state, step, flag)


@overload
def gd(
    W1: ArrayLike,
    W2: ArrayLike,
    loss: Loss,
    /,
    *,
    rule: str | float = "certified",
    rtol: float = 1e-8,
    max_steps: int = 100_000,
    diagnostics: bool = True,
) -> Trajectory: ...
@overload
def gd(
    network: LinearNetwork,
    loss: Loss,
    /,
    *,
    rule: str | float = "certified",
    rtol: float = 1e-8,
    max_steps: int = 100_000,
    diagnostics: bool = True,
) -> Trajectory: ...
def gd(
    *args: Any,
    rule: str | float = "certified",
    rtol: float = 1e-8,
    max_steps: int = 100_000,
    diagnostics: bool = True,
) -> Trajectory:
    """Run gradient descent with a certificate at every step.

    Parameters
    ----------
    W1, W2 : arrays of shapes (n, h) and (m, h)
        Or a :class:`LinearNetwork` of any depth in their place.
    loss : Loss
    rule : str or float, default "certified"
        A rule of :func:`step_size`, or a positive float for a constant step
        (then every step is certified, or not, by the loss's best majorant).
    rtol : float, default 1e-8
        Stop when ``gap <= rtol * gap[0]``, ``0 < rtol < 1``.
    max_steps : int, default 100_000
        Stop after this many steps.
    diagnostics : bool, default True
        Record the local constants ``mu_local`` and ``K_local`` (SVDs at every
        step); with False they are NaN and a step costs only matrix products.

    Returns
    -------
    Trajectory
        Gaps, steps, local constants, certified and observed factors, the
        reason for stopping (``converged``, ``rounding`` when the gap reaches
        the loss's rounding floor, ``max_steps``, ``stationary`` or
        ``diverged``) and the final weights in the form given.
    """
    network, loss, as_pair, rest = _network_and_loss("gd", args)
    if isinstance(rule, str):
        _check_rule(rule)
    elif isinstance(rule, bool) or not isinstance(rule, numbers.Real):
        raise TypeError(f"rule must be a rule name or a positive float; got {rule!r}")
    else:
        rule = check.positive_scalar("rule (a constant step)", rule)
    rtol = check.relative_tolerance("rtol", rtol)
    max_steps = check.positive_integer("max_steps", max_steps)
    diagnostics = check.boolean("diagnostics", diagnostics)
    return training.run_gd(
        network,
        loss,
        rule=rule,
        rtol=rtol,
        max_steps=max_steps,
        diagnostics=diagnostics,
        as_pair=as_pair,
        initial_state=_checked_state("gd", network, loss),
    )
