"""The command line as a person uses it: outputs written, bad input explained, nothing lost."""

from __future__ import annotations

import errno
import json
import os
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


# --- every argument is checked before any work ------------------------------------------

QUICK_SPEC = ROOT / "scenarios/sweeps/quick_demo.toml"
STATUS_QUO = str(ROOT / "scenarios/status_quo.toml")


def _never(what: str):
    def refuse(*args, **kwargs):
        raise AssertionError(f"{what} before the arguments were checked")

    return refuse


def _one_error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("laborflow: error: "), lines
    return lines[0]


def _too_many_jobs() -> str:
    return str(4 * (os.cpu_count() or 1) + 1)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", STATUS_QUO, "--seed", "-1"], "--seed: -1; allowed: a whole number of at least 0"),
        (
            ["compare", STATUS_QUO, "--seed", "-1"],
            "--seed: -1; allowed: a whole number of at least 0",
        ),
        (
            ["brief", STATUS_QUO, "--seed", "-1"],
            "--seed: -1; allowed: a whole number of at least 0",
        ),
        (
            ["sweep", str(QUICK_SPEC), "--jobs", "JOBS"],
            "--jobs: JOBS; allowed: a whole number from 1 to",
        ),
        (
            ["compare", STATUS_QUO, "--jobs", "JOBS"],
            "--jobs: JOBS; allowed: a whole number from 1 to",
        ),
        (
            ["brief", STATUS_QUO, "--jobs", "JOBS"],
            "--jobs: JOBS; allowed: a whole number from 1 to",
        ),
        (["validate", "--jobs", "JOBS"], "--jobs: JOBS; allowed: a whole number from 1 to"),
        (
            ["sweep", str(QUICK_SPEC), "--scheduler", "local", "--jobs", "JOBS"],
            "--jobs: JOBS; allowed: a whole number from 1 to",
        ),
    ],
    ids=[
        "run seed",
        "compare seed",
        "brief seed",
        "sweep jobs",
        "compare jobs",
        "brief jobs",
        "validate jobs",
        "dask local jobs",
    ],
)
def test_seeds_and_jobs_are_checked_before_any_run_or_pool(
    tmp_path: Path, capsys, monkeypatch, args: list[str], expected: str
) -> None:
    from experiments import executors, runner

    jobs = _too_many_jobs()
    monkeypatch.setattr(executors, "ProcessPoolExecutor", _never("a process pool started"))
    monkeypatch.setattr(runner, "simulate", _never("a run started"))
    monkeypatch.setattr("model.model.LaborModel.run_model", _never("a run started"))
    out = tmp_path / "out"
    args = [a.replace("JOBS", jobs) for a in args]
    assert main([*args, "--out", str(out)]) == 2
    line = _one_error_line(capsys)
    assert expected.replace("JOBS", jobs) in line
    if "--jobs" in args:
        assert f"({4} per core, {os.cpu_count()} cores here)" in line
    assert not out.exists()


DEEP = "[" * 3000 + "]" * 3000


def test_a_file_nested_very_deep_is_one_line(tmp_path: Path, capsys) -> None:
    scenario = tmp_path / "deep.toml"
    scenario.write_text(f"[parameters]\nn_workers = {DEEP}\n")
    spec = tmp_path / "deep_sweep.toml"
    spec.write_text(f"[sweep]\nname = {DEEP}\n")
    for args, where in (
        (["run", str(scenario)], f"{scenario}: not valid TOML: nested too deeply"),
        (["sweep", str(spec)], f"{spec}: not valid TOML: nested too deeply"),
        (["run", STATUS_QUO, "--set", f"n_workers={DEEP}"], "--set n_workers=[[[["),
    ):
        assert main([*args, "--out", str(tmp_path / "out")]) == 2
        assert where in _one_error_line(capsys)
        assert not (tmp_path / "out").exists()


DISCOVER_SPEC = ROOT / "scenarios/sweeps/discover_shutdowns.toml"


@pytest.mark.parametrize(
    ("extra", "spec_edit", "expected"),
    [
        (
            ["--metric", "factories_shutt", "--threshold", "60"],
            None,
            "--metric factories_shutt: not a summary metric (did you mean 'factories_shut'?); "
            "allowed: factories_shut, ",
        ),
        (["--threshold", "nan"], None, "--threshold: nan; allowed: a finite number"),
        (["--threshold", "inf"], None, "--threshold: inf; allowed: a finite number"),
        (
            ["--threshold", "60"],
            ("samples = 64", "samples = 8"),
            "8 runs (8 points x 1 replicates); allowed: a spec with at least 10 runs",
        ),
        (
            ["--threshold", "60"],
            (
                "[parameters]\n",
                '[parameters]\nrepatriation_mode = { values = ["gradual", "abrupt"], '
                'assumption = "t" }\n',
            ),
            "parameters.repatriation_mode: takes values that are not numbers or dates",
        ),
    ],
    ids=["metric", "nan", "inf", "too few runs", "choice axis"],
)
def test_discover_checks_metric_threshold_and_runs_before_running(
    tmp_path: Path, capsys, monkeypatch, extra, spec_edit, expected
) -> None:
    from experiments import runner

    monkeypatch.setattr(runner, "simulate", _never("a run started"))
    text = DISCOVER_SPEC.read_text().replace('base = "../', f'base = "{ROOT}/scenarios/')
    if spec_edit:
        text = text.replace(*spec_edit)
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    out = tmp_path / "out"
    assert main(["discover", str(spec), *extra, "--jobs", "1", "--out", str(out)]) == 2
    assert expected in _one_error_line(capsys)
    assert not out.exists()


# --- an output that cannot be written is refused before the work ------------------------

SMALL_SWEEP = QUICK_SPEC

OUTPUT_COMMANDS = {
    "run": ["run", STATUS_QUO, *SMALL],
    "compare": ["compare", STATUS_QUO, "--replicates", "2", "--jobs", "1", *SMALL],
    "brief": ["brief", STATUS_QUO, "--replicates", "2", "--jobs", "1", *SMALL],
    "sweep": ["sweep", str(SMALL_SWEEP), "--jobs", "1"],
    "validate": ["validate", "--seeds", "1", "--jobs", "1"],
}


def _no_runs(monkeypatch) -> None:
    from experiments import runner

    monkeypatch.setattr(runner, "simulate", _never("a run started"))
    monkeypatch.setattr("model.model.LaborModel.run_model", _never("a run started"))


@pytest.mark.parametrize("command", OUTPUT_COMMANDS)
def test_an_output_under_a_file_is_refused_before_any_run(
    tmp_path: Path, capsys, monkeypatch, command: str
) -> None:
    _no_runs(monkeypatch)
    blocker = tmp_path / "a-file"
    blocker.write_text("precious")
    out = blocker / "results"
    assert main([*OUTPUT_COMMANDS[command], "--out", str(out)]) == 2
    line = _one_error_line(capsys)
    assert f"--out {out}: cannot be created (a part of the path is a file" in line
    assert blocker.read_text() == "precious"


def _refuse_writes_under(monkeypatch, folder: Path, code: int) -> None:
    """What the kernel says for a read-only file system or a full disk, for paths under
    ``folder`` (as root, chmod cannot make a folder unwritable, so it is simulated)."""
    real_open, real_mkdir = os.open, os.mkdir

    def refuse(path, *args, **kwargs):
        if str(path).startswith(str(folder)):
            raise OSError(code, os.strerror(code), str(path))
        return (real_mkdir if refuse.mkdir else real_open)(path, *args, **kwargs)

    def fake_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse.mkdir = False
            return refuse(path, flags, *args, **kwargs)
        return real_open(path, flags, *args, **kwargs)

    def fake_mkdir(path, *args, **kwargs):
        refuse.mkdir = True
        return refuse(path, *args, **kwargs)

    refuse.mkdir = False
    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)


@pytest.mark.parametrize("command", OUTPUT_COMMANDS)
@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.EROFS, "no permission to write there, or a read-only file system"),
        (errno.ENOSPC, "no space left on the disk"),
    ],
    ids=["read-only", "full"],
)
@pytest.mark.parametrize("exists", [True, False], ids=["existing folder", "new folder"])
def test_an_output_that_cannot_be_written_is_refused_before_any_run(
    tmp_path: Path, capsys, monkeypatch, command: str, code: int, reason: str, exists: bool
) -> None:
    _no_runs(monkeypatch)
    disk = tmp_path / "disk"
    disk.mkdir()
    out = disk / "results"
    if exists:
        out.mkdir()
    _refuse_writes_under(monkeypatch, disk, code)
    assert main([*OUTPUT_COMMANDS[command], "--out", str(out)]) == 2
    line = _one_error_line(capsys)
    assert f"--out {out}: cannot be " in line and reason in line
    assert [p.name for p in disk.iterdir()] == (["results"] if exists else [])
    if exists:
        assert not list(out.iterdir())
