"""Hostile inputs to every public function: each is rejected with a message
that names the argument and the violated condition, or accepted deliberately
with the same result as its clean float64 equivalent. None yields a silent
number.

Categories, for every public function: shape (ndim, dimensions that must
agree, zero sizes), dtype (bool, complex, object, str rejected; integers,
float32 and ``__array__`` objects accepted), NaN and inf in every array
argument, overflow, and the domain of every scalar (mu, K, eta, rtol,
max_steps, rule names, reduction, ridge, flags, digits, seeds).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import lplbounds
from lplbounds import datasets, symbolic
from lplbounds.losses import Custom, LeastSquares, RidgeLogistic


class ArrayBox:
    """The smallest object NumPy converts through ``__array__``."""

    def __init__(self, data):
        self._data = np.asarray(data)

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)


RNG = np.random.default_rng(20240601)
X = RNG.standard_normal((20, 3))
Y = RNG.standard_normal((20, 2))
LABELS = np.where(RNG.standard_normal((20, 2)) > 0, 1.0, -1.0)
W1 = 0.5 * RNG.standard_normal((3, 5))
W2 = 0.5 * RNG.standard_normal((2, 5))
LOSS = LeastSquares(X, Y)


def quadratic_value(W):
    return 0.5 * float(np.sum(W**2))


def quadratic_grad(W):
    return W.copy()


# Every two-layer public function, called with (W1, W2, loss); gd with few steps.
PAIR_FUNCTIONS = {
    "local_pl_constant": lambda a, b, loss: lplbounds.local_pl_constant(a, b, loss),
    "local_smoothness_constant": lambda a, b, loss: lplbounds.local_smoothness_constant(
        a, b, loss, eta=0.1
    ),
    "step_size": lambda a, b, loss: lplbounds.step_size(a, b, loss),
    "majorant": lambda a, b, loss: lplbounds.majorant(a, b, loss, eta=0.1),
    "gd": lambda a, b, loss: lplbounds.gd(a, b, loss, max_steps=3).gap[-1],
}
PAIR_IDS = list(PAIR_FUNCTIONS)


def network_call(name, factors, loss):
    """The same functions, called with a LinearNetwork (depth 2 or more)."""
    network = lplbounds.LinearNetwork(factors)
    if name == "local_smoothness_constant":
        return lplbounds.local_smoothness_constant(network, loss, eta=0.1)
    if name == "majorant":
        return lplbounds.majorant(network, loss, eta=0.1)
    if name == "gd":
        return lplbounds.gd(network, loss, max_steps=3).gap[-1]
    return getattr(lplbounds, name)(network, loss)


# --- Shapes -------------------------------------------------------------------


@pytest.mark.parametrize("name", PAIR_IDS)
@pytest.mark.parametrize(
    ("first", "second", "pattern"),
    [
        (W1[:, 0], W2, r"W1 must be a 2-dimensional array"),
        (W1, W2[None], r"W2 must be a 2-dimensional array"),
        (W1, W2[:, :4], r"same number of columns h"),
        (np.ones((4, 5)), W2, r"product of shape \(3, 2\)"),
        (W1, np.ones((3, 5)), r"product of shape \(3, 2\)"),
        (np.ones((3, 0)), np.ones((2, 0)), r"W1 must not be empty"),
        (np.ones((0, 5)), W2, r"W1 must not be empty"),
    ],
    ids=["W1-1d", "W2-3d", "h-mismatch", "n-mismatch", "m-mismatch", "h-0", "n-0"],
)
def test_pair_functions_reject_bad_shapes(name, first, second, pattern):
    with pytest.raises(ValueError, match=pattern):
        PAIR_FUNCTIONS[name](first, second, LOSS)


@pytest.mark.parametrize("name", PAIR_IDS)
def test_pair_functions_reject_a_list_of_factors_as_ambiguous(name):
    with pytest.raises(TypeError, match="ambiguous"):
        getattr(lplbounds, name)([W1, W2.T], LOSS)


@pytest.mark.parametrize("name", PAIR_IDS)
def test_network_functions_reject_a_product_of_the_wrong_shape(name):
    factors = [np.ones((4, 5)), np.ones((5, 2))]
    with pytest.raises(ValueError, match=r"product of shape \(3, 2\)"):
        network_call(name, factors, LOSS)


@pytest.mark.parametrize(
    ("factors", "error", "pattern"),
    [
        (np.ones((2, 3, 3)), TypeError, "list or tuple"),
        ((A for A in [W1, W2.T]), TypeError, "list or tuple"),
        ([W1], ValueError, "at least 2 matrices"),
        ([W1, np.ones((4, 2))], ValueError, "must chain"),
        ([W1, W2.T[None]], ValueError, r"factors\[1\] must be a 2-dimensional"),
        ([W1, np.ones((5, 0))], ValueError, r"factors\[1\] must not be empty"),
    ],
    ids=["ndarray", "generator", "one-factor", "no-chain", "3d-factor", "empty"],
)
def test_linear_network_rejects_bad_factor_lists(factors, error, pattern):
    with pytest.raises(error, match=pattern):
        lplbounds.LinearNetwork(factors)


# --- Dtypes -------------------------------------------------------------------

REJECTED_DTYPES = [
    (lambda A: A > 0, "booleans"),
    (lambda A: A.astype(complex), "complex"),
    (lambda A: A.astype(object), "dtype object"),
    (lambda A: A.astype(str), "real numbers"),
]
REJECTED_IDS = ["bool", "complex", "object", "str"]


@pytest.mark.parametrize("name", PAIR_IDS)
@pytest.mark.parametrize(("convert", "pattern"), REJECTED_DTYPES, ids=REJECTED_IDS)
@pytest.mark.parametrize("argument", ["W1", "W2"])
def test_pair_functions_reject_non_real_dtypes(name, convert, pattern, argument):
    first = convert(W1) if argument == "W1" else W1
    second = convert(W2) if argument == "W2" else W2
    with pytest.raises(TypeError, match=f"{argument} must .*{pattern}"):
        PAIR_FUNCTIONS[name](first, second, LOSS)


@pytest.mark.parametrize("convert", [c for c, _ in REJECTED_DTYPES], ids=REJECTED_IDS)
def test_linear_network_rejects_non_real_dtypes(convert):
    with pytest.raises(TypeError, match=r"factors\[0\] must"):
        lplbounds.LinearNetwork([convert(W1), W2.T])


@pytest.mark.parametrize("name", PAIR_IDS)
def test_integer_float32_and_array_protocol_inputs_match_float64(name):
    """Accepted deliberately: the values are converted to float64 exactly."""
    first = np.round(4 * W1)  # integers, exactly representable
    second = np.round(4 * W2) / 8
    expected = PAIR_FUNCTIONS[name](first, second, LOSS)
    assert math.isfinite(expected)
    assert PAIR_FUNCTIONS[name](first.astype(np.int64), second, LOSS) == expected
    assert PAIR_FUNCTIONS[name](first, second.astype(np.float32), LOSS) == expected
    assert PAIR_FUNCTIONS[name](ArrayBox(first), ArrayBox(second), LOSS) == expected
    assert network_call(name, [ArrayBox(first), second.T], LOSS) == expected


@pytest.mark.parametrize("module", ["torch", "jax.numpy"])
def test_framework_tensors_are_accepted_through_the_array_protocol(module):
    framework = pytest.importorskip(module)
    first, second = framework.asarray(W1), framework.asarray(W2)
    expected = lplbounds.local_pl_constant(W1, W2, LOSS)
    assert lplbounds.local_pl_constant(first, second, LOSS) == expected


# --- NaN, inf and overflow -------------------------------------------------------


@pytest.mark.parametrize("name", PAIR_IDS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("argument", ["W1", "W2"])
def test_pair_functions_reject_non_finite_weights(name, bad, argument):
    first, second = W1.copy(), W2.copy()
    (first if argument == "W1" else second)[1, 2] = bad
    with pytest.raises(ValueError, match=f"{argument} must be finite"):
        PAIR_FUNCTIONS[name](first, second, LOSS)


@pytest.mark.parametrize("name", PAIR_IDS)
def test_pair_functions_reject_weights_whose_squares_overflow(name):
    with pytest.raises(ValueError, match="W1 is too large for float64"):
        PAIR_FUNCTIONS[name](1e200 * W1, W2, LOSS)


@pytest.mark.parametrize("name", PAIR_IDS)
def test_pair_functions_reject_a_gap_that_overflows(name):
    # Squares of the factors are finite (1e300) but the gap is about 1e600.
    with pytest.raises(ValueError, match="overflows float64"):
        PAIR_FUNCTIONS[name](1e150 * W1, 1e150 * W2, LOSS)


def test_weights_beyond_float64_range_are_named():
    big = np.full((3, 5), np.longdouble(10) ** 400)
    if not np.isfinite(big).all():  # pragma: no cover - longdouble is float64 here
        pytest.skip("longdouble has no wider exponent range on this platform")
    with pytest.raises(ValueError, match="W1 must be finite in float64"):
        lplbounds.local_pl_constant(big, W2, LOSS)


def test_linear_network_rejects_non_finite_factors():
    bad = W2.T.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"factors\[1\] must be finite"):
        lplbounds.LinearNetwork([W1, bad])


# --- Scalars: eta, rule, rtol, max_steps, flags, loss ----------------------------

ETA_FUNCTIONS = ["local_smoothness_constant", "majorant"]


@pytest.mark.parametrize("name", ETA_FUNCTIONS)
@pytest.mark.parametrize(
    ("eta", "error", "pattern"),
    [
        (0.0, ValueError, "eta must be > 0"),
        (-0.1, ValueError, "eta must be > 0"),
        (math.nan, ValueError, "eta must be finite"),
        (math.inf, ValueError, "eta must be finite"),
        ("0.1", TypeError, "eta must be a real number"),
        (0.1 + 0j, TypeError, "eta must be a real number"),
        (True, TypeError, "eta must be a real number"),
        (np.array([0.1]), TypeError, "eta must be a real number"),
    ],
    ids=["zero", "negative", "nan", "inf", "str", "complex", "bool", "array"],
)
def test_eta_domain(name, eta, error, pattern):
    with pytest.raises(error, match=pattern):
        getattr(lplbounds, name)(W1, W2, LOSS, eta)


@pytest.mark.parametrize("name", ETA_FUNCTIONS)
def test_eta_accepts_numpy_scalars_with_the_same_result(name):
    function = getattr(lplbounds, name)
    expected = function(W1, W2, LOSS, 0.125)
    assert function(W1, W2, LOSS, np.float32(0.125)) == expected
    assert function(W1, W2, LOSS, np.array(0.125)) == expected


@pytest.mark.parametrize("name", ETA_FUNCTIONS)
def test_eta_missing_or_given_twice(name):
    function = getattr(lplbounds, name)
    with pytest.raises(TypeError, match="needs the step size eta"):
        function(W1, W2, LOSS)
    with pytest.raises(TypeError, match="both positionally and by keyword"):
        function(W1, W2, LOSS, 0.1, eta=0.1)


def test_local_smoothness_is_two_layer_only():
    network = lplbounds.LinearNetwork([W1, np.eye(5), W2.T])
    with pytest.raises(ValueError, match="depth 2 only"):
        lplbounds.local_smoothness_constant(network, LOSS, eta=0.1)


@pytest.mark.parametrize(
    ("rule", "error", "pattern"),
    [
        ("no-such-rule", ValueError, "rule must be one of"),
        ("Certified", ValueError, "rule must be one of"),
        (0.1, TypeError, "rule must be one of"),
        (None, TypeError, "rule must be"),
    ],
    ids=["unknown", "case", "float", "none"],
)
def test_step_size_rule_names(rule, error, pattern):
    with pytest.raises(error, match=pattern):
        lplbounds.step_size(W1, W2, LOSS, rule)


def test_step_size_fixed_point_rule_is_two_layer_only():
    network = lplbounds.LinearNetwork([W1, np.eye(5), W2.T])
    with pytest.raises(ValueError, match="depth 2 only"):
        lplbounds.step_size(network, LOSS, "fixed-point")


@pytest.mark.parametrize(
    ("rule", "error", "pattern"),
    [
        ("no-such-rule", ValueError, "rule must be one of"),
        (0.0, ValueError, r"rule \(a constant step\) must be > 0"),
        (-1.0, ValueError, r"rule \(a constant step\) must be > 0"),
        (math.nan, ValueError, r"rule \(a constant step\) must be finite"),
        (math.inf, ValueError, r"rule \(a constant step\) must be finite"),
        (True, TypeError, "rule must be a rule name or a positive float"),
        (None, TypeError, "rule must be a rule name or a positive float"),
        (0.1j, TypeError, "rule must be a rule name or a positive float"),
    ],
    ids=["unknown", "zero", "negative", "nan", "inf", "bool", "none", "complex"],
)
def test_gd_rule_domain(rule, error, pattern):
    with pytest.raises(error, match=pattern):
        lplbounds.gd(W1, W2, LOSS, rule=rule, max_steps=2)


def test_gd_constant_step_accepts_numpy_floats():
    expected = lplbounds.gd(W1, W2, LOSS, rule=0.125, max_steps=3).gap
    for step in (np.float64(0.125), np.float32(0.125)):
        np.testing.assert_array_equal(
            lplbounds.gd(W1, W2, LOSS, rule=step, max_steps=3).gap, expected
        )


@pytest.mark.parametrize(
    ("rtol", "error", "pattern"),
    [
        (0.0, ValueError, "rtol must be > 0"),
        (-1e-8, ValueError, "rtol must be > 0"),
        (1.0, ValueError, "rtol must be < 1"),
        (2.0, ValueError, "rtol must be < 1"),
        (math.nan, ValueError, "rtol must be finite"),
        ("1e-8", TypeError, "rtol must be a real number"),
        (True, TypeError, "rtol must be a real number"),
    ],
    ids=["zero", "negative", "one", "two", "nan", "str", "bool"],
)
def test_gd_rtol_domain(rtol, error, pattern):
    with pytest.raises(error, match=pattern):
        lplbounds.gd(W1, W2, LOSS, rtol=rtol)


@pytest.mark.parametrize(
    ("max_steps", "error", "pattern"),
    [
        (0, ValueError, "max_steps must be >= 1"),
        (-3, ValueError, "max_steps must be >= 1"),
        (2.0, TypeError, "max_steps must be an integer"),
        (True, TypeError, "max_steps must be an integer"),
        ("3", TypeError, "max_steps must be an integer"),
        (math.inf, TypeError, "max_steps must be an integer"),
    ],
    ids=["zero", "negative", "float", "bool", "str", "inf"],
)
def test_gd_max_steps_domain(max_steps, error, pattern):
    with pytest.raises(error, match=pattern):
        lplbounds.gd(W1, W2, LOSS, max_steps=max_steps)


def test_gd_max_steps_accepts_numpy_integers():
    assert lplbounds.gd(W1, W2, LOSS, max_steps=np.int64(2), rtol=1e-15).steps == 2


@pytest.mark.parametrize("flag", ["no", 1, None, np.array([True])])
def test_flags_must_be_booleans(flag):
    with pytest.raises(TypeError, match="diagnostics must be True or False"):
        lplbounds.gd(W1, W2, LOSS, diagnostics=flag, max_steps=2)
    with pytest.raises(TypeError, match="use_curvature must be True or False"):
        lplbounds.majorant(W1, W2, LOSS, 0.1, use_curvature=flag)


@pytest.mark.parametrize("name", PAIR_IDS)
@pytest.mark.parametrize("loss", ["least-squares", None, X], ids=["str", "none", "X"])
def test_loss_must_be_a_loss(name, loss):
    with pytest.raises(TypeError, match="loss must be a lplbounds.losses.Loss"):
        PAIR_FUNCTIONS[name](W1, W2, loss)


@pytest.mark.parametrize("name", PAIR_IDS)
def test_missing_and_extra_positional_arguments(name):
    function = getattr(lplbounds, name)
    with pytest.raises(TypeError, match="needs"):
        function()
    with pytest.raises(TypeError, match="needs"):
        function(W1)
    with pytest.raises(TypeError, match="extra positional"):
        function(W1, W2, LOSS, 0.1, 0.2)


# --- Losses: LeastSquares and RidgeLogistic ----------------------------------------


def least_squares(X_, Y_, reduction="mean"):
    return LeastSquares(X_, Y_, reduction)


def ridge_logistic(X_, Y_, reduction="mean"):
    labels = Y_ if Y_ is not Y else LABELS
    return RidgeLogistic(X_, labels, 0.1, reduction)


DATA_LOSSES = [least_squares, ridge_logistic]
DATA_IDS = ["LeastSquares", "RidgeLogistic"]


@pytest.mark.parametrize("make", DATA_LOSSES, ids=DATA_IDS)
@pytest.mark.parametrize(
    ("X_", "Y_", "pattern"),
    [
        (X[:, 0], Y, "X must be a 2-dimensional array"),
        (X[None], Y, "X must be a 2-dimensional array"),
        (X, Y[:, :, None], "Y must be 1- or 2-dimensional"),
        (X, Y[:5], "same number of rows"),
        (X[:0], Y[:0], "X must not be empty"),
        (X[:, :0], Y, "X must not be empty"),
        (X, Y[:, :0], "Y must not be empty"),
    ],
    ids=["X-1d", "X-3d", "Y-3d", "rows", "N-0", "n-0", "m-0"],
)
def test_data_losses_reject_bad_shapes(make, X_, Y_, pattern):
    with pytest.raises(ValueError, match=pattern):
        make(X_, Y_)


@pytest.mark.parametrize("make", DATA_LOSSES, ids=DATA_IDS)
@pytest.mark.parametrize(("convert", "pattern"), REJECTED_DTYPES, ids=REJECTED_IDS)
@pytest.mark.parametrize("argument", ["X", "Y"])
def test_data_losses_reject_non_real_dtypes(make, convert, pattern, argument):
    X_ = convert(X) if argument == "X" else X
    Y_ = convert(Y) if argument == "Y" else Y
    with pytest.raises(TypeError, match=f"{argument} must .*{pattern}"):
        make(X_, Y_)


@pytest.mark.parametrize("make", DATA_LOSSES, ids=DATA_IDS)
@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
@pytest.mark.parametrize("argument", ["X", "Y"])
def test_data_losses_reject_non_finite_data(make, bad, argument):
    X_, Y_ = X.copy(), (Y if make is least_squares else LABELS).copy()
    (X_ if argument == "X" else Y_)[3, 1] = bad
    with pytest.raises(ValueError, match=f"{argument} must be finite"):
        make(X_, Y_)


@pytest.mark.parametrize("make", DATA_LOSSES, ids=DATA_IDS)
@pytest.mark.parametrize("reduction", ["avg", "Mean", "", None, 1])
def test_reduction_names(make, reduction):
    error = TypeError if not isinstance(reduction, str) else ValueError
    with pytest.raises(error, match="reduction must be"):
        make(X, Y, reduction)


@pytest.mark.parametrize("make", DATA_LOSSES, ids=DATA_IDS)
def test_data_losses_accept_integers_and_array_protocol(make):
    X_int = np.round(3 * X)
    labels = Y if make is least_squares else LABELS
    expected = make(X_int, labels)
    for X_, Y_ in [(X_int.astype(np.int32), labels), (ArrayBox(X_int), labels)]:
        loss = make(X_, ArrayBox(Y_))
        assert (loss.mu, loss.K, loss.ell_star) == (
            expected.mu,
            expected.K,
            expected.ell_star,
        )


def test_least_squares_rejects_rank_deficient_and_wide_inputs():
    with pytest.raises(ValueError, match="X must have full column rank"):
        LeastSquares(np.ones((20, 3)), Y)
    with pytest.raises(ValueError, match="X must have full column rank"):
        LeastSquares(X[:2], Y[:2])


@pytest.mark.parametrize("make", DATA_LOSSES, ids=DATA_IDS)
def test_data_losses_reject_data_whose_constants_overflow(make):
    with pytest.raises(ValueError, match="X is too large for float64"):
        make(1e200 * X, Y)


def test_least_squares_rejects_data_whose_constants_underflow():
    with pytest.raises(ValueError, match="X is too small for float64"):
        LeastSquares(1e-200 * X, Y)


def test_least_squares_rejects_targets_whose_loss_overflows():
    with pytest.raises(ValueError, match="Y is too large for float64"):
        LeastSquares(X, 1e300 * Y)


@pytest.mark.parametrize(
    ("ridge", "error", "pattern"),
    [
        (0.0, ValueError, "ridge must be > 0"),
        (-1.0, ValueError, "ridge must be > 0"),
        (math.nan, ValueError, "ridge must be finite"),
        (math.inf, ValueError, "ridge must be finite"),
        ("0.1", TypeError, "ridge must be a real number"),
        (True, TypeError, "ridge must be a real number"),
        (np.array([0.1]), TypeError, "ridge must be a real number"),
    ],
    ids=["zero", "negative", "nan", "inf", "str", "bool", "array"],
)
def test_ridge_domain(ridge, error, pattern):
    with pytest.raises(error, match=pattern):
        RidgeLogistic(X, LABELS, ridge)


@pytest.mark.parametrize("labels", [(LABELS > 0) * 1.0, 2 * LABELS, 0.5 * LABELS])
def test_ridge_logistic_labels_must_be_plus_or_minus_one(labels):
    with pytest.raises(ValueError, match="Y must hold labels -1 or \\+1 only"):
        RidgeLogistic(X, labels, 0.1)


def test_ridge_logistic_accepts_integer_labels():
    expected = RidgeLogistic(X, LABELS, 0.1)
    loss = RidgeLogistic(X, LABELS.astype(np.int8), 0.1)
    assert loss.ell_star == expected.ell_star


@pytest.mark.parametrize("make", DATA_LOSSES, ids=DATA_IDS)
def test_loss_methods_check_W(make):
    loss = make(X, Y)
    bad_values = [
        (np.ones((3, 3)), ValueError, r"W must have shape \(3, 2\)"),
        (np.ones(6), ValueError, "W must be a 2-dimensional array"),
        (np.full((3, 2), np.nan), ValueError, "W must be finite"),
        (np.ones((3, 2), dtype=complex), TypeError, "W must be real"),
        (np.ones((3, 2), dtype=bool), TypeError, "W must hold real numbers"),
    ]
    for method in (loss.value, loss.grad, loss.gap):
        for W, error, pattern in bad_values:
            with pytest.raises(error, match=pattern):
                method(W)


# --- Losses: Custom -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "error", "pattern"),
    [
        ({"value": 1.0}, TypeError, "value must be callable"),
        ({"grad": None}, TypeError, "grad must be callable"),
        ({"curvature": 2.0}, TypeError, "curvature must be callable or None"),
        ({"mu": 0.0}, ValueError, "mu must be > 0"),
        ({"mu": -1.0}, ValueError, "mu must be > 0"),
        ({"mu": math.nan}, ValueError, "mu must be finite"),
        ({"K": math.inf}, ValueError, "K must be finite"),
        ({"mu": 2.0, "K": 1.0}, ValueError, "K must be >= mu"),
        ({"mu": "1"}, TypeError, "mu must be a real number"),
        ({"K": True}, TypeError, "K must be a real number"),
        ({"ell_star": math.nan}, ValueError, "ell_star must be finite"),
        ({"ell_star": -math.inf}, ValueError, "ell_star must be finite"),
        ({"ell_star": 1j}, TypeError, "ell_star must be a real number"),
        ({"shape": 3}, TypeError, "shape must be a pair of positive integers"),
        ({"shape": (3,)}, TypeError, "shape must be a pair of positive integers"),
        ({"shape": (3, 0)}, ValueError, r"shape\[1\] must be >= 1"),
        ({"shape": (3.0, 2)}, TypeError, r"shape\[0\] must be an integer"),
        ({"shape": "ab"}, TypeError, "shape must be a pair of positive integers"),
        ({"spot_checks": -1}, ValueError, "spot_checks must be >= 0"),
        ({"spot_checks": 1.5}, TypeError, "spot_checks must be an integer"),
    ],
    ids=lambda v: str(v) if not isinstance(v, dict) else "-".join(map(str, v)),
)
def test_custom_rejects_bad_declarations(arguments, error, pattern):
    declared = {
        "value": quadratic_value,
        "grad": quadratic_grad,
        "mu": 1.0,
        "K": 1.0,
        "ell_star": 0.0,
        **arguments,
    }
    with pytest.raises(error, match=pattern):
        Custom(**declared)


@pytest.mark.parametrize(
    ("value", "grad", "error", "pattern"),
    [
        (lambda W: math.nan, quadratic_grad, ValueError, r"value\(W\) must be finite"),
        (lambda W: "1", quadratic_grad, TypeError, r"value\(W\) must be a real"),
        (lambda W: np.ones(2), quadratic_grad, TypeError, r"value\(W\) must be a real"),
        (
            quadratic_value,
            lambda W: W * np.inf,
            ValueError,
            r"grad\(W\) must be finite",
        ),
        (quadratic_value, lambda W: W + 0j, TypeError, r"grad\(W\) must be real"),
        (quadratic_value, lambda W: W.T, ValueError, r"grad\(W\) must have the shape"),
    ],
    ids=["value-nan", "value-str", "value-array", "grad-inf", "grad-complex", "grad-T"],
)
def test_custom_rejects_bad_callable_results(value, grad, error, pattern):
    loss = Custom(value, grad, mu=1.0, K=1.0, ell_star=0.0, spot_checks=0)
    W = np.ones((3, 2))
    with pytest.raises(error, match=pattern):
        loss.grad(W) if "grad" in pattern else loss.value(W)


def test_custom_spot_check_reports_a_failing_callable_with_its_cause():
    def value(W):
        if W.shape != (3, 2):
            raise ValueError("only 3 x 2")
        return math.nan

    with pytest.raises(ValueError, match=r"spot check .* value\(W\) must be finite"):
        Custom(value, quadratic_grad, mu=1.0, K=1.0, ell_star=0.0, shape=(3, 2))


# --- Symbolic evaluators ------------------------------------------------------------

LOCAL_PL_ARGUMENTS = {"mu": 1, "lambda_min_P": 2, "lambda_min_Q": 3}


@pytest.mark.parametrize(
    ("argument", "value", "error", "pattern"),
    [
        ("mu", math.nan, ValueError, "mu must be finite"),
        ("mu", math.inf, ValueError, "mu must be finite"),
        ("mu", "nan", ValueError, "mu must be finite"),
        ("mu", -1, ValueError, "mu must be >= 0"),
        ("lambda_min_P", "-0.5", ValueError, "lambda_min_P must be >= 0"),
        ("mu", True, TypeError, "mu must be a real number, not a boolean"),
        ("mu", 1j, TypeError, "mu must be a real number"),
        ("mu", np.array([1.0, 2.0]), TypeError, "mu must be a scalar"),
        ("mu", "abc", ValueError, "mu must be a decimal number"),
        ("mu", [1.0], TypeError, "mu must be a real number"),
        ("mu", __import__("sympy").Symbol("x"), TypeError, "mu must be a number"),
        ("mu", __import__("sympy").I, TypeError, "mu must be real"),
    ],
    ids=[
        "nan",
        "inf",
        "str-nan",
        "negative",
        "negative-str",
        "bool",
        "complex",
        "array",
        "bad-str",
        "list",
        "symbol",
        "imaginary",
    ],
)
def test_evaluate_mpmath_rejects_bad_values(argument, value, error, pattern):
    with pytest.raises(error, match=pattern):
        symbolic.evaluate_mpmath("local_pl", **{**LOCAL_PL_ARGUMENTS, argument: value})


def test_evaluate_mpmath_name_arguments_and_digits():
    with pytest.raises(ValueError, match="name must be one of"):
        symbolic.evaluate_mpmath("no_such_expression", mu=1)
    with pytest.raises(ValueError, match="missing .*lambda_min_P"):
        symbolic.evaluate_mpmath("local_pl", mu=1)
    with pytest.raises(ValueError, match="unexpected .*'nu'"):
        symbolic.evaluate_mpmath("local_pl", nu=1, **LOCAL_PL_ARGUMENTS)
    for digits, error in [(0, ValueError), (-5, ValueError), (1.5, TypeError)]:
        with pytest.raises(error, match="digits must be"):
            symbolic.evaluate_mpmath("local_pl", digits=digits, **LOCAL_PL_ARGUMENTS)
    with pytest.raises(TypeError, match="digits must be an integer"):
        symbolic.evaluate_mpmath("local_pl", digits=True, **LOCAL_PL_ARGUMENTS)


@pytest.mark.parametrize(
    ("value", "error", "pattern"),
    [
        (np.nan, ValueError, "mu must be finite"),
        (np.array([1.0, np.inf]), ValueError, "mu must be finite"),
        (-1.0, ValueError, "mu must be >= 0"),
        (np.array([1.0, -1.0]), ValueError, "mu must be >= 0"),
        (1j, TypeError, "mu must be real; got complex"),
        ("1", TypeError, "mu must be a real number or array"),
        (True, TypeError, "mu must hold real numbers, not booleans"),
        (np.array([1.0], dtype=object), TypeError, "mu must hold real numbers"),
    ],
    ids=["nan", "inf", "negative", "negative-entry", "complex", "str", "bool", "obj"],
)
def test_numpy_function_rejects_bad_values(value, error, pattern):
    function = symbolic.numpy_function("local_pl")
    with pytest.raises(error, match=pattern):
        function(**{**LOCAL_PL_ARGUMENTS, "mu": value})


def test_numpy_function_shapes_broadcast_or_fail_loudly():
    function = symbolic.numpy_function("local_pl")
    with pytest.raises(ValueError, match="broadcast"):
        function(mu=np.ones(2), lambda_min_P=np.ones(3), lambda_min_Q=1.0)
    empty = function(mu=np.ones(0), lambda_min_P=1.0, lambda_min_Q=1.0)
    assert empty.shape == (0,)
    grid = function(mu=np.ones((2, 1)), lambda_min_P=np.arange(3), lambda_min_Q=1)
    np.testing.assert_array_equal(grid, np.tile(np.arange(3) + 1.0, (2, 1)))
    with pytest.raises(ValueError, match="name must be one of"):
        symbolic.numpy_function("no_such_expression")


def test_real_symbols_accept_negative_values():
    """Inner products such as <G, M2> are real, of either sign."""
    arguments = {
        "eta": 0.5,
        "g": 1.0,
        "<G,M2>": -2.0,
        "K": 1.0,
        "||M1||^2": 1.0,
        "<M1,M2>": -1.0,
        "||M2||^2": 1.0,
    }
    value = symbolic.numpy_function("majorant_K")(**arguments)
    expected = -0.5 + 0.25 * -2.0 + 0.5 * (0.25 + 2 * 0.125 * 1.0 + 0.0625)
    assert value == pytest.approx(expected, rel=1e-15)


# --- datasets.initial_network -------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "error", "pattern"),
    [
        ({"n": 0}, ValueError, "n must be >= 1"),
        ({"m": -1}, ValueError, "m must be >= 1"),
        ({"n": 2.0}, TypeError, "n must be an integer"),
        ({"width": 0}, ValueError, "width must be >= 1"),
        ({"width": True}, TypeError, "width must be an integer"),
        ({"depth": 1}, ValueError, "depth must be >= 2"),
        ({"depth": 2.5}, TypeError, "depth must be an integer"),
        ({"scale": 0.0}, ValueError, "scale must be > 0"),
        ({"scale": math.nan}, ValueError, "scale must be finite"),
        ({"scale": "0.1"}, TypeError, "scale must be a real number"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
        ({"seed": "a"}, TypeError, "seed must be an integer"),
        ({"seed": 1.0}, TypeError, "seed must be an integer"),
    ],
    ids=lambda v: "-".join(f"{k}={v[k]}" for k in v) if isinstance(v, dict) else "",
)
def test_initial_network_domain(arguments, error, pattern):
    declared = {"n": 3, "m": 2, "width": 4, "scale": 0.1, "seed": 0, **arguments}
    with pytest.raises(error, match=pattern):
        datasets.initial_network(**declared)


def test_initial_network_is_reproducible_and_shaped():
    first = datasets.initial_network(3, 2, 4, 0.1, 7, depth=3)
    second = datasets.initial_network(3, 2, 4, 0.1, np.int64(7), depth=3)
    assert [A.shape for A in first.factors] == [(3, 4), (4, 4), (4, 2)]
    for A, B in zip(first.factors, second.factors, strict=True):
        np.testing.assert_array_equal(A, B)
