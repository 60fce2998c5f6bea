"""The command line as a person uses it: outputs written, bad input explained, nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cli.main import main

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--set", "n_workers=2000", "--set", "n_factories=20"]


def test_run_writes_series_and_summary(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    code = main(
        [
            "run",
            str(ROOT / "scenarios/abrupt_return.toml"),
            "--seed",
            "3",
            "--out",
            str(out),
            *SMALL,
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "abrupt_return (seed 3" in printed and "Factories shut" in printed
    parquet = pd.read_parquet(out / "timeseries.parquet")
    csv = pd.read_csv(out / "timeseries.csv", parse_dates=["date"])
    assert len(parquet) == len(csv) == 1096
    pd.testing.assert_frame_equal(parquet, csv, check_dtype=False)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["seed"] == 3
    assert summary["factories_shut"] == int(parquet.factories_shut.iloc[-1])
    assert (out / "shutdowns.csv").exists()


def test_set_changes_the_run(tmp_path: Path) -> None:
    main(["run", str(ROOT / "scenarios/status_quo.toml"), "--out", str(tmp_path / "a"), *SMALL])
    main(
        [
            "run",
            str(ROOT / "scenarios/status_quo.toml"),
            "--out",
            str(tmp_path / "b"),
            *SMALL,
            "--set",
            "holiday_recall_share=0",
        ]
    )
    a = pd.read_parquet(tmp_path / "a/timeseries.parquet")
    b = pd.read_parquet(tmp_path / "b/timeseries.parquet")
    assert a.nk_away.max() > 2 * b.nk_away.max()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "nope.toml"], "nope.toml: no such scenario file"),
        (["run", "scenarios/status_quo.toml", "--set", "n_workerz=5"], "unknown parameter"),
        (["run", "scenarios/status_quo.toml", "--set", "nk_state_share=1.5"], "out of range"),
        (["run", "scenarios/status_quo.toml", "--set", "end_date=2017-12-01"], "end_date"),
        (["run", "scenarios/status_quo.toml", "--set", "n_workers"], "expected key=value"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(
    tmp_path: Path, capsys, monkeypatch, args: list[str], expected: str
) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "out"
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("laborflow: error: ") and expected in err
    assert len(err.splitlines()) == 1
    assert not out.exists()


def test_out_that_is_a_file_is_refused_and_kept(tmp_path: Path, capsys) -> None:
    target = tmp_path / "taken"
    target.write_text("precious")
    assert main(["run", str(ROOT / "scenarios/status_quo.toml"), "--out", str(target)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert target.read_text() == "precious"


def test_malformed_file_through_the_real_command_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[parameters\n")
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "run", str(bad), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and f"{bad}: not valid TOML" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_scenarios_lists_one_line_each(capsys) -> None:
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(list((ROOT / "scenarios").glob("*.toml")))
    assert any("gradual_return.toml" in line and "Gradual return" in line for line in lines)


def test_params_lists_every_parameter(capsys) -> None:
    from model.parameters import PARAMETERS

    assert main(["params"]) == 0
    out = capsys.readouterr().out
    assert all(p.name in out for p in PARAMETERS)


@pytest.mark.parametrize("port", ["99999", "0", "-1"])
def test_app_port_outside_1_to_65535_is_refused_before_serving(
    port: str, capsys, monkeypatch
) -> None:
    def serve(*args):
        raise AssertionError("the app was started")

    monkeypatch.setattr("os.execve", serve)
    assert main(["app", "--port", port]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"laborflow: error: --port: {port}; allowed: a whole number from 1 to 65535"
