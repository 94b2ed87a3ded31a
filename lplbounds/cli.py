"""The ``lplbounds`` command line.

``lplbounds run`` trains a linear network on a bundled data set with a
certified step at every iteration, prints a table, and writes a JSON record
and a plot on request; ``derive`` prints closed forms, ``bound`` the a priori
guarantee (T8) and ``falsify`` searches for counterexamples to a conjecture.
The command line is the only part of the package that prints.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import lplbounds
from lplbounds import certificates, datasets
from lplbounds.training import Trajectory

__all__ = ["main", "build_parser", "SCHEMA_VERSION"]

#: Version of the JSON record written by ``lplbounds run --json``.
SCHEMA_VERSION = 1

# The table shows at most this many iterations, evenly spread, first and last
# always included.
TABLE_ROWS = 20


def _add_problem_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every subcommand that sets up a data set and weights."""
    parser.add_argument(
        "--dataset",
        choices=sorted(datasets.DATASETS),
        default="diabetes",
        help="data set",
    )
    parser.add_argument("--width", type=int, default=32, help="hidden width h")
    parser.add_argument("--depth", type=int, default=2, help="number of factors N >= 2")
    parser.add_argument(
        "--init-scale", type=float, default=0.1, help="scale of the Gaussian init"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the init")
    parser.add_argument(
        "--ridge",
        type=float,
        default=1e-2,
        help="ridge of the logistic loss (breast-cancer only)",
    )
    parser.add_argument(
        "--reduction", choices=["mean", "sum"], default="mean", help="loss convention"
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="lplbounds",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Certified step sizes and rates for GD on linear networks.",
    )
    parser.add_argument("--version", action="version", version=lplbounds.__version__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    subparsers = parser.add_subparsers(dest="command", required=True)

    run = subparsers.add_parser(
        "run",
        help="certified GD on a bundled data set",
        description="Train a linear network with gradient descent on a bundled data "
        "set, with a certified step and its certified factor at every iteration.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_problem_options(run)
    run.add_argument(
        "--rule",
        default="certified",
        type=_rule_argument,
        help=f"step-size rule, one of {', '.join(certificates.rule_names())}; "
        "or a positive number, a constant step certified (or not) step by step",
    )
    run.add_argument(
        "--tol", type=float, default=1e-8, help="relative tolerance on the gap"
    )
    run.add_argument("--max-steps", type=int, default=100_000, help="step budget")
    run.add_argument("--json", type=Path, help="write the JSON record here")
    run.add_argument("--plot", type=Path, help="write a PNG plot here")
    run.set_defaults(handler=_run_command)

    _add_derive_command(subparsers)
    _add_bound_command(subparsers)
    _add_falsify_command(subparsers)
    return parser


def _rule_argument(text: str) -> str | float:
    """A rule name, or a number for a constant step."""
    try:
        return float(text)
    except ValueError:
        return text


def problem_from_options(options: argparse.Namespace) -> tuple[Any, Any]:
    """Return ``(loss, network)`` for the data set and initialization options."""
    loss = datasets.make_loss(
        options.dataset, reduction=options.reduction, ridge=options.ridge
    )
    assert loss.shape is not None
    n, m = loss.shape
    network = datasets.initial_network(
        n, m, options.width, options.init_scale, options.seed, depth=options.depth
    )
    return loss, network


def _format(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.4e}"


def trajectory_table(trajectory: Trajectory, rows: int = TABLE_ROWS) -> str:
    """Return the trajectory as a text table thinned to about ``rows`` rows."""
    steps = trajectory.steps
    shown = sorted(set(np.linspace(0, steps, min(rows, steps + 1)).round().astype(int)))
    header = ("iter", "gap", "eta", "mu_local", "K_local", "certified", "observed")
    lines = ["  ".join(f"{h:>11}" for h in header)]
    for t in shown:
        step_values = (
            (
                trajectory.eta[t],
                trajectory.K_local[t],
                trajectory.certified_factor[t],
                trajectory.observed_factor[t],
            )
            if t < steps
            else (math.nan,) * 4
        )
        cells = [
            f"{t:>11d}",
            _format(trajectory.gap[t]),
            _format(step_values[0]),
            _format(trajectory.mu_local[t]),
            *(_format(v) for v in step_values[1:]),
        ]
        lines.append("  ".join(f"{c:>11}" for c in cells))
    return "\n".join(lines)


def _run_command(options: argparse.Namespace) -> int:
    loss, network = problem_from_options(options)
    trajectory = lplbounds.gd(
        network, loss, rule=options.rule, rtol=options.tol, max_steps=options.max_steps
    )
    violations = trajectory.certificate_violations()

    print(
        f"dataset {options.dataset}: {loss!r}, depth {network.depth}, "
        f"width {options.width}, rule {options.rule}"
    )
    print(trajectory_table(trajectory))
    print(
        f"stopped: {trajectory.stop_reason} after {trajectory.steps} steps, "
        f"gap {trajectory.gap[0]:.4e} -> {trajectory.gap[-1]:.4e} "
        f"({trajectory.gap[-1] / trajectory.gap[0]:.3e} of the start), "
        f"{trajectory.wall_time:.2f} s"
    )
    print(
        f"certificates: {trajectory.steps - violations.size} of {trajectory.steps} "
        "steps with observed factor <= certified factor (within the rounding allowance)"
    )

    if options.json is not None:
        record = {
            "schema_version": SCHEMA_VERSION,
            "lplbounds_version": lplbounds.__version__,
            "options": {
                key: (str(value) if isinstance(value, Path) else value)
                for key, value in vars(options).items()
                if key != "handler"
            },
            "shapes": [list(A.shape) for A in network.factors],
            "mu": loss.mu,
            "K": loss.K,
            "ridge": getattr(loss, "ridge", None),
            "ell_star": loss.ell_star,
            "trajectory": trajectory.to_dict(),
        }
        options.json.write_text(json.dumps(record, indent=1))
        print(f"wrote {options.json}")
    if options.plot is not None:
        from lplbounds.plotting import plot_trajectory

        plot_trajectory(
            trajectory, options.plot, title=f"{options.dataset}, rule {options.rule}"
        )
        print(f"wrote {options.plot}")
    if violations.size:
        print(f"certificate violated at steps {violations.tolist()}", file=sys.stderr)
        return 1
    return 0


# --- derive and bound: closed forms and a priori rates (T5-T8) ---------------------


def _add_derive_command(subparsers: Any) -> None:
    from lplbounds import symbolic

    derive = subparsers.add_parser(
        "derive", help="print a closed form of the theory (LaTeX or text)"
    )
    derive.add_argument(
        "name",
        choices=sorted(symbolic.as_mapping()),
        metavar="name",
        help="expression, e.g. scalar_local_pl, fixed_point_step, iterations, "
        "apriori_rate; one of: " + ", ".join(sorted(symbolic.as_mapping())),
    )
    derive.add_argument(
        "--format", choices=["latex", "text"], default="latex", help="output format"
    )
    derive.set_defaults(handler=_derive_command)


def _derive_command(options: argparse.Namespace) -> int:
    from lplbounds import symbolic

    render = symbolic.latex if options.format == "latex" else symbolic.pretty
    print(render(options.name))
    return 0


def _add_bound_command(subparsers: Any) -> None:
    bound = subparsers.add_parser(
        "bound",
        help="a priori constant step, rate and iteration count (T8)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_problem_options(bound)
    bound.add_argument(
        "--tol", type=float, default=1e-8, help="relative tolerance on the gap"
    )
    bound.add_argument(
        "--verify",
        action="store_true",
        help="also run GD with the constant step and check every step",
    )
    bound.set_defaults(handler=_bound_command)


def _bound_command(options: argparse.Namespace) -> int:
    from lplbounds import apriori

    loss, network = problem_from_options(options)
    if network.depth != 2:
        raise ValueError("lplbounds bound (T8) is derived for depth 2 only")
    W1, W2 = network.to_pair()
    result = apriori.bound_from_weights(W1, W2, loss)
    count = result.iterations(options.tol) if result.mu_lower > 0 else None

    print(f"dataset {options.dataset}: {loss!r}, width {options.width}")
    print(f"gap0          {result.gap0:.6e}")
    print(f"mu_lo         {result.mu_lower:.6e}")
    print(f"S_hi          {result.S_upper:.6e}")
    print(f"K_hi(eta_bar) {result.K_upper:.6e}")
    print(f"drift radius  {result.drift_radius:.6e}")
    print(f"eta_bar       {result.eta:.6e}")
    print(f"factor        {result.rate:.12f}")
    print(f"T({options.tol:g})     {'none (no rate)' if count is None else count}")
    if not options.verify or count is None:
        return 0

    trajectory = lplbounds.gd(
        W1,
        W2,
        loss,
        rule="apriori",
        rtol=options.tol,
        max_steps=count,
        diagnostics=False,
    )
    # A step is outside T8 when its observed factor exceeds the guaranteed one
    # by more than the step's float64 rounding allowance plus the rounding of
    # forming the two factors (a few eps, as they are at most about 1).
    allowance = trajectory.rounding_allowance + 4 * np.finfo(float).eps
    excess = trajectory.observed_factor - result.rate - allowance
    outside = int(np.sum(excess > 0))
    violations = trajectory.certificate_violations()
    ratio = trajectory.gap[-1] / trajectory.gap[0]
    print(
        f"GD with eta_bar: {trajectory.stop_reason} after {trajectory.steps} steps "
        f"(guaranteed <= {count}), gap ratio {ratio:.3e}"
    )
    print(
        f"worst observed factor {np.max(trajectory.observed_factor):.12f}, steps "
        f"above the T8 factor: {outside}, majorant violations: {violations.size}"
    )
    return 1 if outside or violations.size else 0


def _add_falsify_command(subparsers: Any) -> None:
    falsify = subparsers.add_parser(
        "falsify",
        help="search for a counterexample to a conjectured bound",
        description=(
            "Search GD states for a counterexample to 'of >= claim' (--kind lower) "
            "or 'of <= claim' (--kind upper); expressions use the quantities of "
            "docs/vocabulary.md. Exit status 1 when refuted, 0 when not."
        ),
    )
    falsify.add_argument("claim", help='the bound, e.g. "2*mu*gap*lambda_min_P"')
    falsify.add_argument("--of", required=True, help="the bounded expression")
    falsify.add_argument("--kind", choices=["lower", "upper"], default="lower")
    falsify.add_argument("--max-examples", type=int, default=500, help="states tried")
    falsify.add_argument("--seed", type=int, default=0, help="search seed (0)")
    falsify.add_argument(
        "--rtol", type=float, default=1e-8, help="relative tolerance (1e-8)"
    )
    falsify.add_argument(
        "--atol", default="0", help="absolute tolerance, a number or an expression"
    )
    falsify.add_argument(
        "--loss",
        choices=["any", "least-squares", "ridge-logistic"],
        default="any",
        help="loss family searched",
    )
    for size in ("n", "m", "h"):
        falsify.add_argument(f"--{size}", type=int, help=f"fix {size}")
    falsify.add_argument("--save", type=Path, help="write the result as JSON here")
    falsify.set_defaults(handler=_falsify_command)


def _falsify_command(options: argparse.Namespace) -> int:
    from lplbounds.testing import falsify, strategies

    try:
        atol: Any = float(options.atol)
    except ValueError:
        atol = options.atol
    states = strategies.conjecture_states(
        options.n,
        options.m,
        options.h,
        loss_kinds=(
            strategies.LOSS_KINDS if options.loss == "any" else (options.loss,)
        ),
    )
    result = falsify(
        options.claim,
        options.of,
        options.kind,
        max_examples=options.max_examples,
        rtol=options.rtol,
        atol=atol,
        seed=options.seed,
        states=states,
    )
    print(result.summary())
    if options.save is not None:
        result.save(options.save)
        print(f"wrote {options.save}")
    return 1 if result.refuted else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    options = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if options.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        try:
            return int(options.handler(options))
        except BrokenPipeError:
            # The reader of our output (``| head``) closed the pipe: not an error.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the final flush
            return 0
        except (ValueError, TypeError, ImportError, OSError) as error:
            print(f"lplbounds: error: {error}", file=sys.stderr)
            return 2
