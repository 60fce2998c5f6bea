"""The sweep store: it survives SIGKILL, resumes to the same rows, keeps failed runs, and
refuses a folder that holds something else."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from cli.main import main
from experiments import runner
from experiments.runner import FAIL_ENV
from experiments.store import read_runs, read_series
from experiments.sweep import run_sweep
from tests.sweep_helpers import (
    DRIVER,
    LONGER,
    QUICK,
    assert_same_store,
    held,
    hold_env,
    longer_run_ids,
    quick_run_ids,
    spec_text,
    tree_digest,
    wait_for,
    write,
)


def test_a_folder_holding_another_sweep_or_other_files_is_refused(
    tmp_path: Path, quick_reference: Path, capsys
) -> None:
    other = write(tmp_path, QUICK.replace("seed = 3", "seed = 9"))
    before = tree_digest(quick_reference)
    for args in ([], ["--resume"]):
        assert main(["sweep", str(other), "--out", str(quick_reference), *args]) == 2
        err = capsys.readouterr().err
        assert "holds another sweep" in err and "nothing was overwritten" in err
    same = write(tmp_path, QUICK, "same.toml")
    assert main(["sweep", str(same), "--out", str(quick_reference)]) == 2
    assert "already holds this sweep" in capsys.readouterr().err
    assert tree_digest(quick_reference) == before
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    assert main(["sweep", str(same), "--out", str(mine)]) == 2
    assert "holds other files (notes.txt" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_sigkill_part_way_then_resume_equals_an_uninterrupted_sweep(
    tmp_path: Path, longer_reference: Path
) -> None:
    path, out, release = write(tmp_path, LONGER), tmp_path / "store", tmp_path / "release"
    proc = subprocess.Popen(  # the second half waits: the sweep cannot end before the kill
        [sys.executable, "-c", DRIVER, str(path), str(out)],
        env=hold_env(release, longer_run_ids(8)),
        start_new_session=True,
    )
    try:
        parts = lambda: len(list((out / "runs").glob("part-*.parquet"))) >= 2  # noqa: E731
        wait_for(parts, "two stored parts", proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver, its pool and forkserver alike
        proc.wait(timeout=30)
    partial = read_runs(out)
    assert 0 < len(partial) < 32 and partial.run_id.is_unique
    result = run_sweep(path, out, jobs=2, resume=True)
    assert result.complete and result.stored_before == len(partial)
    assert result.ok == 32 - len(partial)
    assert_same_store(longer_reference, out)


def test_a_run_that_raises_is_stored_as_failed_while_the_rest_complete(
    tmp_path: Path, quick_reference: Path, monkeypatch, capsys
) -> None:
    path, out = write(tmp_path, QUICK), tmp_path / "store"
    monkeypatch.setenv(FAIL_ENV, "000002-001")
    assert main(["sweep", str(path), "--jobs", "2", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "7 ok, 1 failed" in captured.out and "failed 000002-001: InjectedFailure" in captured.err
    runs = read_runs(out).set_index("run_id")
    failed = runs.loc["000002-001"]
    assert failed.status == "failed" and failed.error.startswith("InjectedFailure: ")
    assert pd.isna(failed.factories_shut) and "Traceback" in failed.traceback
    assert (runs.drop(index="000002-001").status == "ok").all()
    assert "000002-001" not in set(read_series(out).run_id)
    # Resuming runs the failed run again, and stores it once.
    monkeypatch.delenv(FAIL_ENV)
    assert main(["sweep", str(path), "--jobs", "1", "--out", str(out), "--resume"]) == 0
    assert_same_store(quick_reference, out)


def test_resuming_a_complete_sweep_runs_nothing(tmp_path: Path, quick_reference: Path) -> None:
    before = tree_digest(quick_reference)
    result = run_sweep(write(tmp_path, QUICK), quick_reference, jobs=1, resume=True)
    assert result.complete and result.ok == 0 and result.stored_before == 8
    assert tree_digest(quick_reference) == before


def test_python_api_returns_dataframes(quick_reference: Path, tmp_path: Path) -> None:
    result = run_sweep(write(tmp_path, QUICK), quick_reference, jobs=1, resume=True)
    assert isinstance(result.runs, pd.DataFrame) and len(result.runs) == 8
    summary = result.summary(["factories_shut", "peak_labor_gap"])
    assert set(summary.metric) == {"factories_shut", "peak_labor_gap"}
    assert (summary.n == 2).all() and len(summary) == 4 * 2
    assert (summary["lo"] <= summary["mean"]).all() and (summary["mean"] <= summary["hi"]).all()
    gap = result.series(["000001-000"], ["labor_gap"])
    assert list(gap.columns) == ["run_id", "point", "replicate", "date", "labor_gap"]


def test_two_sweeps_started_at_once_on_one_new_folder_never_merge(
    tmp_path: Path, quick_reference: Path, monkeypatch, capsys
) -> None:
    """The folder is checked again under its lock: a sweep that found the folder empty,
    then lost the race to another sweep (a Dask cluster takes seconds to start), is
    refused instead of adding its runs to the other's store."""
    import experiments.sweep as sweep_module

    other = write(tmp_path, QUICK, "other.toml")
    mine = write(tmp_path, QUICK.replace("seed = 3", "seed = 9"), "mine.toml")
    out = tmp_path / "store"
    first_look = sweep_module.check_folder

    def then_the_other_sweep_wins(folder, spec, resume):
        found = first_look(folder, spec, resume)
        if spec.seed == 9:  # my sweep looked first and found nothing; the other now runs
            assert run_sweep(other, out, jobs=1).complete
        return found

    monkeypatch.setattr(sweep_module, "check_folder", then_the_other_sweep_wins)
    assert main(["sweep", str(mine), "--jobs", "1", "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"--out {out}: holds another sweep" in lines[0], lines
    assert_same_store(quick_reference, out)
    assert json.loads((out / "sweep.json").read_text())["spec"]["seed"] == 3


def test_a_folder_another_sweep_is_writing_is_refused(tmp_path: Path, capsys) -> None:
    path, out, release = write(tmp_path, QUICK), tmp_path / "store", tmp_path / "release"
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(path), str(out)],
        env=hold_env(release, quick_run_ids()),
        start_new_session=True,
    )
    try:
        wait_for(lambda: held(release), "a run held", proc)
        before = tree_digest(out)
        assert main(["sweep", str(path), "--jobs", "1", "--out", str(out), "--resume"]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and "another laborflow sweep is writing to this folder" in lines[0]
        assert tree_digest(out) == before
    finally:
        release.touch()
        proc.wait(timeout=120)
    assert proc.returncode == 0 and len(read_runs(out)) == 8


def test_a_disk_that_fills_mid_sweep_keeps_the_stored_runs_and_says_so(
    tmp_path: Path, quick_reference: Path, monkeypatch, capsys
) -> None:
    """The disk fills after two batches: what was flushed stays readable, the message is
    one line with how many runs are kept and how to finish, and --resume completes it."""
    import model.files as files

    path, out = write(tmp_path, QUICK), tmp_path / "store"
    real_fsync, flushed = files._fsync, []

    def fill_up(written: Path) -> None:
        flushed.append(written)
        if len(flushed) > 6:  # sweep.json, points.parquet, then series + runs of 2 batches
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(written))
        real_fsync(written)

    monkeypatch.setattr(files, "_fsync", fill_up)
    monkeypatch.setattr(runner, "FLUSH_EVERY_RUNS", 2)  # batches of 2 runs, whatever the time
    monkeypatch.setattr(runner, "FLUSH_EVERY_SECONDS", 1e9)
    code = main(["sweep", str(path), "--jobs", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("laborflow: error: ")]
    kept = read_runs(out)
    assert len(errors) == 1 and "cannot be written (no space left on the disk)" in errors[0]
    assert len(kept) == 4 and f"; 4 of 8 runs are stored in {out} and kept" in errors[0]
    assert errors[0].endswith(f"laborflow sweep {path} --out {out} --resume")
    assert 0 < len(kept) < 8 and kept.run_id.is_unique
    assert not list(out.rglob(".*.tmp"))
    monkeypatch.setattr(files, "_fsync", real_fsync)  # space again
    assert main(["sweep", str(path), "--jobs", "1", "--out", str(out), "--resume"]) == 0
    assert_same_store(quick_reference, out)


# --- a damaged store on --resume ----------------------------------------------------------


def _store_in_parts(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """The quick sweep stored in 4 parts of 2 runs each: (spec, store)."""
    path, out = write(tmp_path, QUICK), tmp_path / "store"
    with monkeypatch.context() as m:
        m.setattr(runner, "FLUSH_EVERY_RUNS", 2)
        m.setattr(runner, "FLUSH_EVERY_SECONDS", 1e9)
        assert run_sweep(path, out, jobs=1).complete
    assert len(list((out / "runs").glob("part-*.parquet"))) == 4
    return path, out


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garble(path: Path) -> None:
    """Overwrite the middle half of the file: the footer still reads, the data does not.
    (A few bytes might land in a page header's statistics, which no read checks and no
    reader needs: the damage would then be harmless and the test would prove nothing.)"""
    data = bytearray(path.read_bytes())
    lo, hi = len(data) // 4, 3 * len(data) // 4
    data[lo:hi] = bytes(b ^ 0x5A for b in data[lo:hi])
    path.write_bytes(bytes(data))


def _unlink(path: Path) -> None:
    path.unlink()


DAMAGE = {
    "truncated runs part": ("runs", _truncate),
    "garbled runs part": ("runs", _garble),
    "truncated series part": ("series", _truncate),
    "garbled series part": ("series", _garble),
    "lost series part": ("series", _unlink),
}


@pytest.mark.parametrize("case", DAMAGE)
def test_resume_sets_damaged_parts_aside_and_runs_them_again(
    tmp_path: Path, quick_reference: Path, monkeypatch, capsys, case: str
) -> None:
    path, out = _store_in_parts(tmp_path, monkeypatch)
    kind, damage = DAMAGE[case]
    part = sorted((out / kind).glob("part-*.parquet"))[1]
    damage(part)
    damaged_bytes = part.read_bytes() if part.exists() else None
    assert main(["sweep", str(path), "--jobs", "1", "--out", str(out), "--resume"]) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("laborflow: warning: ")]
    assert len(warnings) == 1, err
    assert warnings[0].startswith(f"laborflow: warning: {out}/{kind}/{part.name}: ")
    assert "its runs run again" in warnings[0]
    assert "6 already stored" in err  # the other three parts were kept
    assert_same_store(quick_reference, out)
    if damaged_bytes is not None:  # set aside, never deleted
        assert (out / "damaged" / kind / part.name).read_bytes() == damaged_bytes


def _forget_design_hash(out: Path) -> None:
    """As a store written before sweep.json recorded its design's hash: the proof is then
    the parameters of the stored runs."""
    manifest = json.loads((out / "sweep.json").read_text())
    del manifest["points_hash"]
    (out / "sweep.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("recorded", [True, False], ids=["hash recorded", "older store"])
def test_resume_rebuilds_a_damaged_design_when_it_can_prove_it_the_same(
    tmp_path: Path, quick_reference: Path, monkeypatch, capsys, recorded: bool
) -> None:
    path, out = _store_in_parts(tmp_path, monkeypatch)
    if not recorded:
        _forget_design_hash(out)
    _truncate(out / "points.parquet")
    assert main(["sweep", str(path), "--jobs", "1", "--out", str(out), "--resume"]) == 0
    err = capsys.readouterr().err
    assert f"laborflow: warning: {out}/points.parquet: damaged" in err
    proof = "the design recorded in sweep.json" if recorded else "every stored run"
    assert f"rebuilt from the spec (it matches {proof})" in err
    assert (out / "damaged" / "points.parquet").is_file()
    assert pd.read_parquet(out / "points.parquet").equals(
        pd.read_parquet(quick_reference / "points.parquet")
    )
    assert_same_store(quick_reference, out)


@pytest.mark.parametrize("recorded", [True, False], ids=["hash recorded", "older store"])
def test_a_damaged_design_or_manifest_that_cannot_be_rebuilt_is_one_line(
    tmp_path: Path, monkeypatch, capsys, recorded: bool
) -> None:
    import experiments.sweep as sweep_module

    path, out = _store_in_parts(tmp_path, monkeypatch)
    if not recorded:
        _forget_design_hash(out)
    _truncate(out / "points.parquet")
    before = tree_digest(out)
    real_design = sweep_module.build_design

    def another_scipy(spec):  # a design that no longer matches what the runs were run with
        return [{**p, "renewal_trip_days": 8 - p["renewal_trip_days"]} for p in real_design(spec)]

    with monkeypatch.context() as m:
        m.setattr(sweep_module, "build_design", another_scipy)
        assert main(["sweep", str(path), "--jobs", "1", "--out", str(out), "--resume"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"{out}/points.parquet: damaged" in lines[0], lines
    assert "cannot be rebuilt" in lines[0] and "allowed: " in lines[0]
    assert tree_digest(out) == before
    (out / "sweep.json").write_text((out / "sweep.json").read_text()[:100])
    before = tree_digest(out)
    assert main(["sweep", str(path), "--jobs", "1", "--out", str(out), "--resume"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"{out}/sweep.json: damaged" in lines[0], lines
    assert "allowed: " in lines[0]
    assert tree_digest(out) == before


def test_a_finished_run_is_stored_within_the_flush_period(tmp_path: Path, monkeypatch) -> None:
    """What a kill can lose is bounded: with runs that last longer than the flush period
    (at the default cadence), each run is on disk before the next one starts."""
    text = spec_text(
        'design = "grid"\nreplicates = 1\nseed = 3',
        parameters='[parameters]\nrenewal_trip_days = { values = [1, 4, 7], assumption = "t" }',
    )
    path, out = write(tmp_path, text), tmp_path / "store"
    real_simulate, on_disk_at_start = runner.simulate, []

    def longer_than_the_period(*args):
        on_disk_at_start.append(len(read_runs(out)))
        time.sleep(runner.FLUSH_EVERY_SECONDS + 0.1)  # a floor on the run's length, no more
        return real_simulate(*args)

    monkeypatch.setattr(runner, "simulate", longer_than_the_period)
    assert run_sweep(path, out, jobs=1).complete
    assert on_disk_at_start == [0, 1, 2]
    assert runner.FLUSH_EVERY_SECONDS <= 5  # the bound the README promises
