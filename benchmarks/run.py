"""Run the lplbounds benchmarks and write docs/benchmarks/.

    python benchmarks/run.py            # full frozen study + speed + overhead
    python benchmarks/run.py --quick    # a one-minute subset of everything
    python benchmarks/run.py --only study|speed|overhead
    python benchmarks/run.py --workers 1

See benchmarks/README.md for how to read the outputs.
"""

from __future__ import annotations

import os

# One BLAS thread per process: the study runs two worker processes on two
# cores, and the overhead timings are per core. Set before NumPy is imported.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import multiprocessing  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import study  # noqa: E402

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks"

# Instances whose whole trajectories are kept for the figures.
TRACED = {
    "ls-kappa=1e3 w=4x s=0.1 seed=0",
    "breast-cancer w=4x s=0.1 seed=0",
    "ls-kappa=1e2 w=4x s=0.1 seed=0",
}


def progress(iterable: Any, total: int, description: str) -> Any:
    """tqdm when installed, else a plain counter on stderr."""
    try:
        from tqdm import tqdm

        yield from tqdm(iterable, total=total, desc=description)
        return
    except ImportError:
        pass
    started = time.perf_counter()
    for done, item in enumerate(iterable, start=1):
        elapsed = time.perf_counter() - started
        print(
            f"\r{description}: {done}/{total} ({elapsed:.0f} s)",
            end="",
            file=sys.stderr,
            flush=True,
        )
        yield item
    print(file=sys.stderr)


def machine_description() -> str:
    """nproc, CPU model, Python and NumPy versions, as Markdown lines."""
    try:
        # nproc honours OMP_NUM_THREADS, which this script sets to 1.
        environment = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
        cores = subprocess.run(
            ["nproc"], capture_output=True, text=True, check=True, env=environment
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        cores = str(os.cpu_count())
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return "\n".join(
        [
            f"- `nproc`: {cores}; CPU model: {model}",
            f"- Python {platform.python_version()}, NumPy {np.__version__}, "
            f"platform {platform.platform()}",
            "- BLAS threads per process: "
            f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')}",
            "- The machine is shared with other jobs: wall times are noisy.",
        ]
    )


def _run_one(instance: study.Instance) -> list[dict[str, Any]]:
    return study.run_instance(instance, trace=instance.label in TRACED)


# --- Study report ----------------------------------------------------------------


def _quantiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    array = np.asarray(values)
    q = np.quantile(array, [0.0, 0.25, 0.5, 0.75, 1.0], method="nearest")
    return " / ".join("inf" if not math.isfinite(v) else f"{v:.2f}" for v in q)


def _median(values: list[float]) -> float:
    if not values:
        return math.nan
    return float(np.quantile(values, 0.5, method="nearest"))


def study_tables(rows: list[dict[str, Any]]) -> str:
    """Markdown tables: per rule, and per family for the ratios."""
    by_instance: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_instance.setdefault(row["instance"], {})[row["rule"]] = row
    lines = [
        "| rule | instances | converged | median iterations | iterations / grid-best"
        " (min / q1 / median / q3 / max) | evaluations / grid total cost (median) |"
        " steps with u(eta) < 0 | violations | median wall time (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for rule in study.RULES:
        runs = [r for i in by_instance.values() if (r := i.get(rule)) is not None]
        if not runs or all(r.get("missing") for r in runs):
            lines.append(f"| {rule} | missing (rule not registered) |||||||")
            continue
        runs = [r for r in runs if not r.get("missing") and not r.get("no_grid_step")]
        ratios, cost_ratios = [], []
        for instance_rows in by_instance.values():
            grid = instance_rows.get("grid-best")
            row = instance_rows.get(rule)
            if row is None or row.get("missing") or grid is None:
                continue
            if grid.get("no_grid_step"):
                continue
            iterations = row["iterations"] if row["converged"] else math.inf
            ratios.append(iterations / grid["iterations"])
            evaluations = row.get("loss_evaluations", 0) + row.get(
                "gradient_evaluations", 0
            )
            if rule == "grid-best":
                evaluations = 2 * grid["grid_evaluations"]
            cost_ratios.append(
                (evaluations if row["converged"] else math.inf)
                / (2 * grid["grid_evaluations"])
            )
        steps = sum(r["iterations"] for r in runs)
        certified = sum(r["certified_steps"] for r in runs)
        lines.append(
            f"| {rule} | {len(runs)} | {sum(r['converged'] for r in runs)} | "
            f"{np.median([r['iterations'] for r in runs]):.0f} | "
            f"{_quantiles(ratios)} | "
            f"{_median(cost_ratios):.3f} | "
            f"{certified}/{steps} | {sum(r['violations'] for r in runs)} | "
            f"{np.median([r['wall_time'] for r in runs]):.3f} |"
        )
    no_grid = sum(
        1 for i in by_instance.values() if i.get("grid-best", {}).get("no_grid_step")
    )
    lines.append("")
    lines.append(
        f"Instances: {len(by_instance)}; on {no_grid} of them no step of the grid "
        "converged within the cap (they are left out of the ratio columns)."
    )

    # Per family: median ratio against grid-best.
    families = sorted({r["family"] for r in rows})
    lines += [
        "",
        "Median of iterations / grid-best iterations, per family (misses count as"
        " infinite; `n/a`: no instance with a converging grid step):",
        "",
        "| rule | " + " | ".join(families) + " |",
        "|---|" + "---|" * len(families),
    ]
    for rule in study.RULES:
        cells = []
        for family in families:
            ratios = []
            for instance_rows in by_instance.values():
                grid = instance_rows.get("grid-best")
                row = instance_rows.get(rule)
                if grid is None or row is None or grid["family"] != family:
                    continue
                if row.get("missing") or grid.get("no_grid_step"):
                    continue
                iterations = row["iterations"] if row["converged"] else math.inf
                ratios.append(iterations / grid["iterations"])
            median = np.quantile(ratios, 0.5, method="nearest") if ratios else None
            cells.append("n/a" if median is None else f"{median:.2f}")
        lines.append(f"| {rule} | " + " | ".join(cells) + " |")

    # The 1e5 family: the gap reached within the cap.
    hard = [r for r in rows if r["family"] == "ls-kappa=1e5" and not r.get("missing")]
    if hard:
        lines += [
            "",
            f"K/mu = 1e5, capped at {study.MAX_STEPS} iterations: median relative gap "
            "reached (gap / gap[0]):",
            "",
            "| rule | median gap / gap[0] | converged |",
            "|---|---|---|",
        ]
        for rule in study.RULES:
            runs = [r for r in hard if r["rule"] == rule and "final_relative_gap" in r]
            if runs:
                lines.append(
                    f"| {rule} | "
                    f"{np.median([r['final_relative_gap'] for r in runs]):.2e} | "
                    f"{sum(r['converged'] for r in runs)}/{len(runs)} |"
                )
    return "\n".join(lines)


def study_figures(rows: list[dict[str, Any]]) -> list[str]:
    """Gap and step size against iterations per rule, for the traced instances."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for label in sorted({r["instance"] for r in rows if r.get("trace")}):
        traced = [r for r in rows if r["instance"] == label and r.get("trace")]
        figure, (gap_axis, eta_axis) = plt.subplots(1, 2, figsize=(12, 4.5))
        for row in traced:
            gaps, etas = row["trace"]
            gap_axis.semilogy(np.asarray(gaps) / gaps[0], label=row["rule"])
            if etas:
                eta_axis.semilogy(etas, label=row["rule"], linewidth=0.8)
        gap_axis.set_xlabel("iteration")
        gap_axis.set_ylabel("gap / gap[0]")
        gap_axis.set_xscale("symlog", linthresh=10)
        gap_axis.set_ylim(1e-10, 1e3)
        eta_axis.set_xlabel("iteration")
        eta_axis.set_ylabel("step size")
        eta_axis.set_xscale("symlog", linthresh=10)
        gap_axis.legend(fontsize=7)
        figure.suptitle(label)
        figure.tight_layout()
        name = "study_" + label.replace(" ", "_").replace("=", "").replace(".", "p")
        path = OUTPUT / f"{name}.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path.name)
    return written


def run_study(quick: bool, workers: int) -> str:
    instances = study.suite(quick=quick)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    if workers > 1:
        with multiprocessing.Pool(workers) as pool:
            results = pool.imap_unordered(_run_one, instances)
            for instance_rows in progress(results, len(instances), "study"):
                rows.extend(instance_rows)
    else:
        for instance in progress(instances, len(instances), "study"):
            rows.extend(_run_one(instance))
    elapsed = time.perf_counter() - started

    figures = study_figures(rows)
    serializable = [{k: v for k, v in r.items() if k != "trace"} for r in rows]
    (OUTPUT / f"study{'_quick' if quick else ''}.json").write_text(
        json.dumps(serializable, indent=1)
    )
    cpu_time = sum(
        {r["instance"]: r.get("instance_cpu_time", 0.0) for r in rows}.values()
    )
    subset = (
        "the quick subset"
        if quick
        else "the frozen suite (K/mu = 1e5 and the data sets: seed 0 only)"
    )
    text = [
        "## Step-size study",
        "",
        f"Suite: {subset}; {len(instances)} instances, {workers} worker processes, "
        f"{elapsed:.0f} s of wall time, {cpu_time:.0f} s of CPU time summed over "
        "the workers (the wall time includes waiting for cores shared with other "
        f"jobs). Stop at gap <= {study.RTOL:g} gap[0] or "
        f"after {study.MAX_STEPS} iterations (a run that does not converge is a "
        "miss, counted as an infinite ratio).",
        "",
        study_tables(rows),
        "",
        "Figures: " + ", ".join(f"[{f}]({f})" for f in figures),
    ]
    return "\n".join(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a one-minute subset")
    parser.add_argument(
        "--only", choices=("study", "speed", "overhead"), help="run one part"
    )
    parser.add_argument("--workers", type=int, default=2, help="processes (study)")
    arguments = parser.parse_args(argv)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    suffix = "_quick" if arguments.quick else ""
    header = f"# Benchmarks{' (quick subset)' if arguments.quick else ''}\n\n"
    header += "Generated by `python benchmarks/run.py"
    header += f"{' --quick' if arguments.quick else ''}`.\n\nMachine:\n\n"
    header += machine_description() + "\n\n"

    parts = (
        ("study", "speed", "overhead") if arguments.only is None else (arguments.only,)
    )
    for part in parts:
        if part == "study":
            body = run_study(arguments.quick, arguments.workers)
        else:
            import speed

            body = speed.run(part, arguments.quick)
        path = OUTPUT / f"{part}{suffix}.md"
        path.write_text(header + body + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
