"""Sweeps give the same stored results in this process, on a process pool and on Dask."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cli.main import main
from experiments import executors
from experiments.store import read_runs, read_series
from tests.sweep_helpers import (
    QUICK,
    assert_same_store,
    free_port,
    write,
)


def test_seeds_are_common_across_points(quick_reference: Path) -> None:
    runs = read_runs(quick_reference)
    assert (runs.seed == 3 + runs.replicate).all()
    assert runs.run_id.tolist() == [f"{p:06d}-{r:03d}" for p in range(4) for r in range(2)]
    assert (runs.status == "ok").all() and runs.error.isna().all()
    assert runs.renewal_trip_days.dtype == "int64"
    assert isinstance(runs.enforcement_start[0], dt.date)
    series = read_series(quick_reference)
    assert len(series) == 8 * len(range(0, 181, 7))  # weekly rows of 181 days
    assert set(series.run_id) == set(runs.run_id)


def test_jobs_1_and_2_store_identical_results(
    tmp_path: Path, quick_reference: Path, capsys
) -> None:
    path = write(tmp_path, QUICK)
    assert main(["sweep", str(path), "--jobs", "2", "--out", str(tmp_path / "two")]) == 0
    assert "8 of 8 runs stored" in capsys.readouterr().out
    assert_same_store(quick_reference, tmp_path / "two")


def test_a_dask_cluster_stores_the_same_results(
    tmp_path: Path, quick_reference: Path, dask_cluster: str
) -> None:
    path = write(tmp_path, QUICK)
    assert (
        main(["sweep", str(path), "--scheduler", dask_cluster, "--out", str(tmp_path / "d")]) == 0
    )
    assert_same_store(quick_reference, tmp_path / "d")


def test_unreachable_scheduler_is_one_line_exit_2(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 1.0)
    out = tmp_path / "out"
    address = f"tcp://127.0.0.1:{free_port()}"
    path = write(tmp_path, QUICK)
    assert main(["sweep", str(path), "--scheduler", address, "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"--scheduler {address}: cannot reach a Dask scheduler" in lines[0]
    assert not out.exists()
