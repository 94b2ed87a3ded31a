"""The command line's main job on the bundled data sets, end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from lplbounds.cli import SCHEMA_VERSION, main

pytest.importorskip("sklearn")


@pytest.mark.parametrize("dataset", ["diabetes", "linnerud", "breast-cancer"])
def test_run_reaches_the_tolerance_with_every_certificate_kept(
    dataset, tmp_path, capsys
):
    record_path, plot_path = tmp_path / "out.json", tmp_path / "out.png"
    status = main(
        [
            "run",
            "--dataset",
            dataset,
            "--width",
            "32",
            "--init-scale",
            "0.1",
            "--seed",
            "0",
            "--rule",
            "certified",
            "--tol",
            "1e-8",
            "--json",
            str(record_path),
            "--plot",
            str(plot_path),
        ]
    )
    assert status == 0
    assert "stopped: converged" in capsys.readouterr().out
    record = json.loads(record_path.read_text())
    assert record["schema_version"] == SCHEMA_VERSION
    assert record["options"]["dataset"] == dataset
    trajectory = record["trajectory"]
    gap = np.array(trajectory["gap"])
    assert trajectory["stop_reason"] == "converged"
    assert gap[-1] <= 1e-8 * gap[0]
    observed = np.array(trajectory["observed_factor"])
    certified = np.array(trajectory["certified_factor"])
    allowance = np.array(trajectory["rounding_allowance"])
    assert np.all(observed <= certified + allowance)
    assert len(trajectory["eta"]) == len(gap) - 1 == trajectory["steps"]
    assert plot_path.stat().st_size > 0


def test_run_with_depth_three_as_a_module(tmp_path):
    record_path = tmp_path / "deep.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "lplbounds",
            "run",
            "--dataset",
            "linnerud",
            "--depth",
            "3",
            "--width",
            "16",
            "--init-scale",
            "0.3",
            "--json",
            str(record_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    record = json.loads(record_path.read_text())
    assert [tuple(shape) for shape in record["shapes"]] == [(3, 16), (16, 16), (16, 3)]
    assert record["trajectory"]["stop_reason"] == "converged"


def test_bad_option_is_reported_without_a_traceback(capsys):
    assert main(["run", "--dataset", "linnerud", "--rule", "no-such-rule"]) == 2
    assert "rule must be one of" in capsys.readouterr().err
