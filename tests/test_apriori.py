"""Property tests of the a priori bounds: T5, T6, T7 and the constant step of T8.

Every bound is checked against quantities computed directly from the weights
(singular values of the factors and of the product, eigenvalues of the
imbalance), and T8 on GD runs with the constant step, both through
``lplbounds.gd(..., rule="apriori")`` and through an independent loop written
here from the update rule.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lplbounds
from lplbounds import apriori, certificates, cli
from lplbounds.exceptions import CertificationWarning
from lplbounds.losses import Custom, LeastSquares
from lplbounds.network import LinearNetwork
from lplbounds.testing.strategies import dimensions, least_squares, log_uniform

EPS = float(np.finfo(float).eps)

# Forming a factor rounds too: observed = fl(gap+ / gap) is within eps/2
# relative of the exact ratio, certified = fl(1 + fl(u / gap)) and the T8
# factor fl(1 - fl(mu_lo eta)) within about 1.5 eps absolute of theirs (all
# are at most about 1). The sum is below 2 eps; 4 eps leaves a margin.
# certificates.rounding_allowance covers the rounding of the step and of the
# gaps, not this last one.
FACTOR_FORMATION = 4 * EPS

# Rounding allowance for T5 checks, in units of d eps (||W1||_2^2 + ||W2||_2^2),
# d = max(n, m, h). Both sides carry errors of that order: eigvalsh of the
# explicitly formed D has absolute error about d eps ||D||_2, and
# ||D||_2 <= ||W1||^2 + ||W2||^2; singular values of W1, W2 and W = W1 W2^T
# have absolute error about d eps sigma_1, so squares of them about
# 2 d eps sigma_1^2; every T5 term is 1-Lipschitz in the eigenvalues and
# r(a, sigma^2) moves by at most the error of sigma. 32 covers the sum of
# those few contributions with a margin.
T5_ROUNDING = 32


@st.composite
def weight_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """A pair (W1, W2), with near-singular and rank-deficient products included.

    ``kind`` selects a generic Gaussian pair, a pair whose W1 has one singular
    value shrunk to 1e-9 of the others (a near-singular product), an exactly
    balanced pair (D = 0 when n = m = h is not required: W1 = W2 rotated), or
    a zero second factor.
    """
    n, m, h = draw(dimensions())
    seed = draw(st.integers(0, 2**32 - 1))
    scale_1 = draw(log_uniform(1e-2, 10.0))
    scale_2 = draw(log_uniform(1e-2, 10.0))
    kind = draw(st.sampled_from(["generic", "near-singular", "balanced", "zero"]))
    rng = np.random.default_rng(seed)
    W1 = scale_1 * rng.standard_normal((n, h))
    W2 = scale_2 * rng.standard_normal((m, h))
    if kind == "near-singular":
        U, s, Vt = np.linalg.svd(W1, full_matrices=False)
        s[-1] *= 1e-9
        W1 = (U * s) @ Vt
    elif kind == "balanced" and n == m:
        rotation, _ = np.linalg.qr(rng.standard_normal((n, n)))
        W2 = rotation @ W1
    elif kind == "zero":
        W2 = np.zeros((m, h))
    return W1, W2


def _true_spectra(W1: np.ndarray, W2: np.ndarray) -> dict[str, float]:
    """Eigenvalues of P = W1 W1^T and Q = W2 W2^T from singular values (rule 3)."""
    (n, h), m = W1.shape, W2.shape[0]
    s1 = np.linalg.svd(W1, compute_uv=False)
    s2 = np.linalg.svd(W2, compute_uv=False)
    return {
        "lambda_min_P": float(s1[n - 1] ** 2) if h >= n else 0.0,
        "lambda_min_Q": float(s2[m - 1] ** 2) if h >= m else 0.0,
        "lambda_max_P": float(s1[0] ** 2),
        "lambda_max_Q": float(s2[0] ** 2),
    }


def _t5_tolerance(W1: np.ndarray, W2: np.ndarray) -> float:
    d = max(*W1.shape, W2.shape[0])
    scale = np.linalg.norm(W1, 2) ** 2 + np.linalg.norm(W2, 2) ** 2
    return T5_ROUNDING * d * EPS * float(scale)


@given(weight_pairs())
def test_imbalance_bounds_hold_on_random_weights(pair):
    W1, W2 = pair
    bounds = apriori.weight_bounds(W1, W2)
    true = _true_spectra(W1, W2)
    tolerance = _t5_tolerance(W1, W2)

    assert bounds.lambda_min_P_lower <= true["lambda_min_P"] + tolerance
    assert bounds.lambda_min_Q_lower <= true["lambda_min_Q"] + tolerance
    assert bounds.lambda_max_P_upper >= true["lambda_max_P"] - tolerance
    assert bounds.lambda_max_Q_upper >= true["lambda_max_Q"] - tolerance


@given(weight_pairs())
def test_structural_zeros_come_from_shapes(pair):
    W1, W2 = pair
    (n, h), m = W1.shape, W2.shape[0]
    bounds = apriori.weight_bounds(W1, W2)
    if h < n:
        assert bounds.lambda_min_P_lower == 0.0
    if h < m:
        assert bounds.lambda_min_Q_lower == 0.0


def test_balanced_square_start_gives_twice_sigma_min():
    # D = 0 with n = m = h: T5 gives lambda_min(P), lambda_min(Q) >= sigma_n(W),
    # and both are equal to it (P = Q = (W W^T)^(1/2) for a balanced pair).
    rng = np.random.default_rng(3)
    W1 = rng.standard_normal((3, 3))
    rotation, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    W2 = rotation @ W1
    bounds = apriori.weight_bounds(W1, W2)
    sigma_min = np.linalg.svd(W1 @ W2.T, compute_uv=False)[-1]
    tolerance = _t5_tolerance(W1, W2)
    assert abs(bounds.lambda_min_P_lower - sigma_min) <= tolerance
    assert abs(bounds.lambda_min_Q_lower - sigma_min) <= tolerance


@given(
    st.integers(1, 8),
    st.integers(0, 2**32 - 1),
    log_uniform(1e-2, 10.0),
    log_uniform(1e-2, 10.0),
)
def test_scalar_case_is_exact(h, seed, scale_1, scale_2):
    # n = m = 1: ||w1||^2 + ||w2||^2 = sqrt((l1 - lh)^2 + 4 w^2) (h >= 2) or
    # sqrt(l1^2 + 4 w^2) (h = 1); it is both lambda_min(P) + lambda_min(Q) and S.
    rng = np.random.default_rng(seed)
    w1 = scale_1 * rng.standard_normal((1, h))
    w2 = scale_2 * rng.standard_normal((1, h))
    eigenvalues = np.linalg.eigvalsh(w1.T @ w1 - w2.T @ w2)
    w = float((w1 @ w2.T)[0, 0])
    mu = 0.7
    if h >= 2:
        local_pl = lplbounds.symbolic.numpy_function("scalar_local_pl")(
            mu=mu, lambda_1=eigenvalues[-1], lambda_h=eigenvalues[0], w=w
        )
    else:
        local_pl = lplbounds.symbolic.numpy_function("scalar_local_pl_h1")(
            mu=mu, lambda_1=eigenvalues[0], w=w
        )
    exact = mu * (np.sum(w1**2) + np.sum(w2**2))
    loss = LeastSquares(np.eye(1), np.ones((1, 1)), reduction="sum")
    loss_pl = lplbounds.local_pl_constant(w1, w2, loss) * mu / loss.mu
    # sqrt halves the relative error of its argument, whose terms carry
    # O(h eps) relative error from eigvalsh: 16 h eps relative covers it.
    assert local_pl == pytest.approx(exact, rel=16 * h * EPS, abs=0)
    assert loss_pl == pytest.approx(exact, rel=16 * h * EPS, abs=0)


@given(dimensions(), st.data())
def test_quadratic_growth_brackets_singular_values(shape, data):
    n, m, _ = shape
    loss = data.draw(least_squares(n, m))
    seed = data.draw(st.integers(0, 2**32 - 1))
    scale = data.draw(log_uniform(1e-2, 10.0))
    W = loss.minimizer + scale * np.random.default_rng(seed).standard_normal((n, m))
    star = np.linalg.svd(loss.minimizer, compute_uv=False)
    singular = np.linalg.svd(W, compute_uv=False)
    gap = loss.gap(W)
    radius = np.sqrt(2 * gap / loss.mu)
    lower, upper = apriori.singular_value_bounds(gap, loss.mu, star[-1], star[0])
    # Singular values carry absolute error ~ d eps sigma_1; 16 d eps sigma_1.
    tolerance = 16 * max(n, m) * EPS * max(singular[0], star[0], radius)
    assert np.all(np.abs(singular - star) <= radius + tolerance)
    assert singular[-1] >= lower - tolerance
    assert singular[0] <= upper + tolerance


def test_drift_radius_formula():
    assert apriori.drift_radius(0.25, 3.0, 1.0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="gap"):
        apriori.drift_radius(0.25, 1.0, 3.0)


# --- T8 on GD runs --------------------------------------------------------------------

# Steps per run in the property test (the guarantee is per step).
T8_MAX_STEPS = 150


@st.composite
def apriori_problems(draw: st.DrawFn) -> tuple[LeastSquares, np.ndarray, np.ndarray]:
    n, m, h = draw(dimensions())
    loss = draw(least_squares(n, m, max_condition=1e2))
    seed = draw(st.integers(0, 2**32 - 1))
    scale_1 = draw(log_uniform(1e-2, 3.0))
    scale_2 = draw(log_uniform(1e-2, 3.0))
    rng = np.random.default_rng(seed)
    return (
        loss,
        scale_1 * rng.standard_normal((n, h)),
        scale_2 * rng.standard_normal((m, h)),
    )


def _local_smoothness(W1, W2, loss, eta):
    """K_loc(eta) of T2 written out from its definition."""
    G = loss.grad(W1 @ W2.T)
    grad_norm = np.sqrt(np.sum((G @ W2) ** 2) + np.sum((G.T @ W1) ** 2))
    S = np.linalg.norm(W1, 2) ** 2 + np.linalg.norm(W2, 2) ** 2
    return np.linalg.norm(G, 2) + loss.K * (np.sqrt(S) + eta * grad_norm / 2) ** 2


# Each example runs up to T8_MAX_STEPS GD steps: the CI profile takes a few
# dozen, the thorough profile its full count.
T8_EXAMPLES = (
    settings.default.max_examples if settings.default.max_examples >= 2000 else 60
)


@given(apriori_problems())
@settings(max_examples=T8_EXAMPLES)
def test_constant_step_contracts_at_guaranteed_rate(problem):
    loss, W1, W2 = problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CertificationWarning)
        result = apriori.bound_from_weights(W1, W2, loss)
    eta = result.eta
    D0 = W1.T @ W1 - W2.T @ W2
    gap0 = loss.gap(W1 @ W2.T)
    d = max(*W1.shape, W2.shape[0])

    # Independent loop: the update rule, the gap ratio against the factor, the
    # drift of D measured on the weights, and eta K_loc(eta) <= 1.
    gap = gap0
    largest_scale = 0.0
    for t in range(T8_MAX_STEPS):
        if gap <= 1e-10 * gap0:
            break
        assert eta * _local_smoothness(W1, W2, loss, eta) <= 1 + 8 * d * EPS
        before = certificates.local_state(LinearNetwork.from_pair(W1, W2), loss)
        G = loss.grad(W1 @ W2.T)
        W1, W2 = W1 - eta * G @ W2, W2 - eta * G.T @ W1
        after = certificates.local_state(LinearNetwork.from_pair(W1, W2), loss)
        new_gap = loss.gap(W1 @ W2.T)
        # The allowance bounds the float64 rounding of one step's gap change
        # (derived in certificates.rounding_allowance), relative to the gap.
        allowance = certificates.rounding_allowance(before, after, eta) / gap
        assert new_gap / gap <= result.rate + allowance + FACTOR_FORMATION

        # Rule 4: D is formed with error ~ h eps (||W1||^2 + ||W2||^2), and each
        # float step perturbs the weights by ~ d eps ||W||, moving D by about
        # 2 d eps (||W1||^2 + ||W2||^2); 8 (t + 2) d eps times the largest scale
        # seen bounds the accumulated rounding.
        largest_scale = max(
            largest_scale, np.linalg.norm(W1, 2) ** 2 + np.linalg.norm(W2, 2) ** 2
        )
        drift = np.linalg.norm(W1.T @ W1 - W2.T @ W2 - D0, 2)
        assert drift <= result.drift_radius + 8 * (t + 2) * d * EPS * largest_scale
        gap = new_gap


@given(apriori_problems())
@settings(max_examples=40)
def test_gd_rule_apriori_uses_the_constant_step(problem):
    loss, W1, W2 = problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CertificationWarning)
        result = apriori.bound_from_weights(W1, W2, loss)
        trajectory = lplbounds.gd(
            W1, W2, loss, rule="apriori", rtol=1e-10, max_steps=T8_MAX_STEPS
        )
        step = lplbounds.step_size(W1, W2, loss, "apriori")
    assert trajectory.steps > 0
    assert np.all(trajectory.eta == result.eta)
    assert set(trajectory.theorem) == {"T8"}
    allowance = trajectory.rounding_allowance + FACTOR_FORMATION
    majorant_excess = trajectory.observed_factor - trajectory.certified_factor
    assert np.all(majorant_excess <= allowance)
    assert np.all(trajectory.observed_factor - result.rate <= allowance)
    assert step == result.eta


@pytest.mark.parametrize("dataset", ["diabetes", "linnerud"])
def test_datasets_reach_tolerance_within_guaranteed_count(dataset):
    pytest.importorskip("sklearn")
    from lplbounds import datasets

    loss = datasets.make_loss(dataset)
    W1, W2 = datasets.initial_network(*loss.shape, 32, 0.1, 0).to_pair()
    result = apriori.bound_from_weights(W1, W2, loss)
    count = result.iterations(1e-8)
    assert count is not None
    trajectory = lplbounds.gd(
        W1, W2, loss, rule="apriori", rtol=1e-8, max_steps=count, diagnostics=False
    )
    assert trajectory.stop_reason == "converged"
    assert trajectory.steps <= count
    allowance = trajectory.rounding_allowance + FACTOR_FORMATION
    assert np.all(trajectory.observed_factor - result.rate <= allowance)


# --- The public functions: arguments, warnings, iteration count -----------------------


def _example_arguments():
    return dict(
        mu=0.5,
        K=2.0,
        gap0=0.3,
        imbalance_eigs=[2.0, 0.5, -1.5],
        n=2,
        m=1,
        h=3,
        sigma_min_star=0.8,
        sigma_max_star=1.7,
    )


def test_positional_and_keyword_arguments_agree():
    arguments = _example_arguments()
    positional = apriori.constant_step(*arguments.values())
    assert apriori.constant_step(**arguments) == positional
    reordered = dict(arguments, imbalance_eigs=[-1.5, 2.0, 0.5])
    assert apriori.constant_step(**reordered) == positional


def test_step_solves_the_equation():
    # eta K_hi(eta) <= 1 at eta_bar and > 1 a relative 1e-9 to its right.
    arguments = _example_arguments()
    result = apriori.bound(**arguments)
    assert result.eta * result.K_upper <= 1.0
    bigger = apriori.bound(**arguments)  # deterministic
    assert bigger == result
    f = lplbounds.symbolic.numpy_function("apriori_step_equation")
    s_hi = arguments["sigma_max_star"] + np.sqrt(
        2 * arguments["gap0"] / arguments["mu"]
    )
    right = f(
        K=2.0,
        Delta=0.3,
        eta=result.eta * (1 + 1e-9),
        lambda_1=2.0,
        lambda_h=-1.5,
        s_hi=s_hi,
    )
    assert right > 0


def test_iterations_guarantee_the_tolerance():
    arguments = _example_arguments()
    result = apriori.bound(**arguments)
    for rtol in (1e-1, 1e-4, 1e-8, 1e-12):
        count = apriori.iterations(**arguments, rtol=rtol)
        assert count is not None
        assert result.rate**count <= rtol
        assert result.rate ** (count - 1) > rtol * (1 - 1e-9)


def test_dropping_the_minimizer_weakens_the_bound():
    arguments = _example_arguments()
    with_minimizer = apriori.bound(**arguments)
    s_hi = arguments["sigma_max_star"] + np.sqrt(
        2 * arguments["gap0"] / arguments["mu"]
    )
    without = apriori.bound(**dict(arguments, sigma_min_star=None, sigma_max_star=s_hi))
    assert without.mu_lower <= with_minimizer.mu_lower
    assert without.eta == pytest.approx(with_minimizer.eta, rel=1e-12)


def test_vacuous_rate_warns_and_returns_one():
    # h < n and h < m: both lambda_min(P) and lambda_min(Q) are structurally 0.
    arguments = dict(_example_arguments(), n=4, m=4, h=3)
    with pytest.warns(CertificationWarning, match="mu_lo"):
        assert apriori.rate(**arguments) == 1.0
    with pytest.warns(CertificationWarning, match="mu_lo"):
        assert apriori.iterations(**arguments, rtol=1e-3) is None


def test_vectorized_rates_match_scalar_bound():
    rng = np.random.default_rng(11)
    size = 50
    mu = 10 ** rng.uniform(-2, 0, size)
    K = mu * 10 ** rng.uniform(0, 2, size)
    gap0 = 10 ** rng.uniform(-3, 1, size)
    eigs = rng.standard_normal((size, 4)) * 2
    s_min = rng.uniform(0, 1, size)
    s_max = s_min + rng.uniform(0, 2, size)
    eta, factor = apriori.rates(mu, K, gap0, eigs, 2, 3, 4, s_min, s_max)
    for i in range(size):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CertificationWarning)
            expected = apriori.rate(
                mu[i], K[i], gap0[i], eigs[i], 2, 3, 4, s_min[i], s_max[i]
            )
        assert factor[i] == expected
        assert eta[i] == apriori.constant_step(
            mu[i], K[i], gap0[i], eigs[i], 2, 3, 4, s_min[i], s_max[i]
        )


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"gap0": 0.0}, ValueError, "gap0"),
        ({"mu": 3.0}, ValueError, "K must be >= mu"),
        ({"imbalance_eigs": [1.0, 2.0]}, ValueError, "imbalance_eigs"),
        ({"h": 0}, ValueError, "h"),
        ({"n": 1.5}, TypeError, "n"),
        ({"sigma_max_star": None}, ValueError, "sigma_max_star"),
        ({"sigma_min_star": 2.0}, ValueError, "sigma_min_star"),
        ({"imbalance_eigs": [1.0, np.nan, 0.0]}, ValueError, "imbalance_eigs"),
    ],
)
def test_bad_arguments_are_named(change, error, match):
    with pytest.raises(error, match=match):
        apriori.bound(**dict(_example_arguments(), **change))


def test_rule_needs_depth_two_and_a_minimizer():
    rng = np.random.default_rng(0)
    loss = LeastSquares(rng.standard_normal((10, 3)), rng.standard_normal((10, 2)))
    deep = LinearNetwork(
        [
            rng.standard_normal((3, 4)),
            rng.standard_normal((4, 4)),
            rng.standard_normal((4, 2)),
        ]
    )
    with pytest.raises(ValueError, match="depth 2"):
        lplbounds.step_size(deep, loss, "apriori")
    custom = Custom(loss.value, loss.grad, loss.mu, loss.K, loss.ell_star)
    W1, W2 = rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    with pytest.raises(ValueError, match="minimizer"):
        lplbounds.step_size(W1, W2, custom, "apriori")


def test_rule_computes_the_step_once_per_run(monkeypatch):
    rng = np.random.default_rng(5)
    loss = LeastSquares(rng.standard_normal((12, 3)), rng.standard_normal((12, 2)))
    W1, W2 = 0.5 * rng.standard_normal((3, 6)), 0.5 * rng.standard_normal((2, 6))
    calls = []
    original = apriori.bound_from_weights

    def counting(*args):
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(apriori, "bound_from_weights", counting)
    trajectory = lplbounds.gd(W1, W2, loss, rule="apriori", max_steps=20)
    assert trajectory.steps == 20
    assert len(calls) == 1


# --- Command line ---------------------------------------------------------------------


def test_cli_derive_prints_latex_and_text(capsys):
    for name in ("scalar_local_pl", "fixed_point_step", "iterations"):
        assert cli.main(["derive", name]) == 0
        output = capsys.readouterr().out
        assert "\\" in output
    assert cli.main(["derive", "iterations", "--format", "text"]) == 0
    assert "ceiling" in capsys.readouterr().out


def test_cli_bound_prints_step_rate_and_count(capsys):
    pytest.importorskip("sklearn")
    assert cli.main(["bound", "--dataset", "linnerud", "--verify"]) == 0
    output = capsys.readouterr().out
    for label in ("eta_bar", "factor", "T(1e-08)", "steps above the T8 factor: 0"):
        assert label in output
