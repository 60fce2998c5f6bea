"""Sweeps: specs and designs, identical results on any executor, a store that survives
SIGKILL and SIGTERM and resumes to the same rows, failed runs stored, bad input refused."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from cli.main import main
from experiments import executors
from experiments.design import build_design, load_sweep
from experiments.runner import FAIL_ENV
from experiments.store import VOLATILE_COLUMNS, read_runs, read_series
from experiments.sweep import run_sweep
from model.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
BIN = Path(sys.executable).parent

TINY = """
[fixed]
n_workers = { value = 500, assumption = "test: a tiny model" }
n_factories = { value = 5, assumption = "test: a tiny model" }
end_date = { value = 2018-06-30, assumption = "test: half a year" }
"""

SMALL = """
[fixed]
n_workers = { value = 2000, assumption = "test: a small town" }
n_factories = { value = 20, assumption = "test: a small town" }
end_date = { value = 2018-12-31, assumption = "test: one year" }
"""

AXES = """
[parameters]
renewal_trip_days = { range = [1, 7], assumption = "test: an integer range" }
cn_jobseekers_per_nk_worker = { range = [0.1, 0.5], assumption = "test: a float range" }
enforcement_start = { range = [2018-03-01, 2018-05-31], assumption = "test: a date range" }
"""


def spec_text(sweep: str, fixed: str = TINY, parameters: str = AXES, base: str = "status_quo.toml"):
    return f'[sweep]\nbase = "{SCENARIOS / base}"\n{textwrap.dedent(sweep)}\n{fixed}\n{parameters}'


QUICK = spec_text(
    """
    name = "quick"
    design = "lhs"
    samples = 4
    replicates = 2
    seed = 3
    series_every_days = 7
    """
)
"""8 tiny runs: integer, float and date ranges, weekly series."""

LONGER = spec_text(
    """
    name = "longer"
    design = "lhs"
    samples = 16
    replicates = 2
    seed = 5
    series_every_days = 30
    """,
    fixed=SMALL,
)
"""32 small runs: long enough (several seconds) to be interrupted part-way."""


def write(folder: Path, text: str, name: str = "spec.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def stored(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and series of a store, without the columns that differ between sessions."""
    return read_runs(folder).drop(columns=list(VOLATILE_COLUMNS)), read_series(folder)


def assert_same_store(a: Path, b: Path) -> None:
    runs_a, series_a = stored(a)
    runs_b, series_b = stored(b)
    assert runs_a.run_id.is_unique and runs_b.run_id.is_unique
    pd.testing.assert_frame_equal(runs_a, runs_b)
    pd.testing.assert_frame_equal(series_a, series_b)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def quick_reference(tmp_path_factory) -> Path:
    """The quick sweep run in this process (--jobs 1): the result every other must equal."""
    tmp = tmp_path_factory.mktemp("quick")
    result = run_sweep(write(tmp, QUICK), tmp / "store", jobs=1)
    assert result.complete and result.ok == 8
    return tmp / "store"


@pytest.fixture(scope="module")
def longer_reference(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("longer")
    result = run_sweep(write(tmp, LONGER), tmp / "store", jobs=2)
    assert result.complete and result.ok == 32
    return tmp / "store"


# --- specs and designs --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", sorted((SCENARIOS / "sweeps").glob("*.toml")), ids=lambda p: p.stem
)
def test_example_specs_load_and_every_point_is_valid(path: Path) -> None:
    spec = load_sweep(path)
    points = build_design(spec)
    assert points and all(set(p) == set(spec.parameters) for p in points)
    assert all(axis.source for axis in spec.axes)
    text = path.read_text()
    for axis in spec.axes:  # every varied number says where it comes from
        line = next(ln for ln in text.splitlines() if ln.startswith(f"{axis.name} ="))
        assert "source =" in line or "assumption =" in line


def test_lhs_rounds_integers_and_dates_and_depends_only_on_the_seed(tmp_path: Path) -> None:
    spec = load_sweep(write(tmp_path, QUICK.replace("samples = 4", "samples = 70")))
    points = build_design(spec)
    trips = [p["renewal_trip_days"] for p in points]
    assert all(isinstance(t, int) for t in trips) and set(trips) == set(range(1, 8))
    assert sorted(trips) == sorted(t for t in range(1, 8) for _ in range(10))  # LHS strata
    starts = [p["enforcement_start"] for p in points]
    assert all(dt.date(2018, 3, 1) <= d <= dt.date(2018, 5, 31) for d in starts)
    assert all(0.1 <= p["cn_jobseekers_per_nk_worker"] <= 0.5 for p in points)
    assert build_design(spec) == points
    other = load_sweep(write(tmp_path, QUICK.replace("seed = 3", "seed = 4"), "other.toml"))
    assert build_design(other) != build_design(load_sweep(write(tmp_path, QUICK, "q.toml")))


def test_grid_takes_values_and_levels(tmp_path: Path) -> None:
    axes = """
    [parameters]
    renewal_trip_days = { range = [1, 3], levels = 5, assumption = "test" }
    holiday_departure = { values = ["03-20", "03-25"], assumption = "test" }
    nk_state_share = { range = [0.5, 0.9], levels = 3, assumption = "test" }
    """
    spec = load_sweep(
        write(tmp_path, spec_text("design = 'grid'", parameters=textwrap.dedent(axes)))
    )
    points = build_design(spec)
    assert len(points) == 3 * 2 * 3  # integer levels 1, 1.5, 2, 2.5, 3 round to 1, 2, 3
    assert {p["renewal_trip_days"] for p in points} == {1, 2, 3}
    assert {p["nk_state_share"] for p in points} == {0.5, 0.7, 0.9}
    assert points[0] == {
        "renewal_trip_days": 1,
        "holiday_departure": "03-20",
        "nk_state_share": 0.5,
    }


def test_sobol_points_from_scipy(tmp_path: Path) -> None:
    text = QUICK.replace('design = "lhs"', 'design = "sobol"').replace("samples = 4", "samples = 8")
    points = build_design(load_sweep(write(tmp_path, text)))
    assert len(points) == 8 and len({p["cn_jobseekers_per_nk_worker"] for p in points}) == 8


BAD_SPECS = [
    (
        "unknown parameter",
        QUICK.replace("renewal_trip_days =", "renewal_trip_dayz ="),
        "parameters.renewal_trip_dayz: unknown parameter (did you mean 'renewal_trip_days'?)",
    ),
    (
        "empty range",
        QUICK.replace("[1, 7]", "[3, 3]"),
        "parameters.renewal_trip_days.range: [3, 3] is empty",
    ),
    ("inverted range", QUICK.replace("[0.1, 0.5]", "[0.5, 0.1]"), "[0.5, 0.1] is inverted"),
    (
        "out of range",
        QUICK.replace("[0.1, 0.5]", "[-1, 0.5]"),
        "-1.0 is out of range; allowed: a number from 0 to 100",
    ),
    (
        "sobol not a power of two",
        QUICK.replace('"lhs"', '"sobol"').replace("samples = 4", "samples = 6"),
        "6 is not a power of two",
    ),
    (
        "no such design",
        QUICK.replace('"lhs"', '"random"'),
        "sweep.design: 'random' is not a design",
    ),
    (
        "replicates < 1",
        QUICK.replace("replicates = 2", "replicates = 0"),
        "sweep.replicates: 0; allowed: a whole number of at least 1",
    ),
    ("no samples", QUICK.replace("samples = 4", ""), "sweep.samples: missing"),
    ("a scenario file", (SCENARIOS / "status_quo.toml").read_text(), "is a scenario file"),
    (
        "fixed and varied",
        QUICK + 'n_workers = { values = [400, 600], assumption = "t" }\n',
        "parameters.n_workers: also set in [fixed]",
    ),
    (
        "no base file",
        QUICK.replace("status_quo.toml", "no_such.toml"),
        "no_such.toml' does not exist (looked for",
    ),
    (
        "range on a choice",
        QUICK + 'repatriation_mode = { range = ["none", "abrupt"], assumption = "t" }\n',
        "has no range; allowed: values",
    ),
    (
        "no source",
        QUICK.replace(', assumption = "test: a float range"', ""),
        "needs exactly one of 'source'",
    ),
    (
        "grid without levels",
        QUICK.replace('"lhs"', '"grid"'),
        "levels: None; allowed: a whole number of at least 2",
    ),
    ("unknown sweep key", QUICK.replace("seed = 3", "sead = 3"), "sweep.sead: unknown key"),
    (
        "a point that breaks a cross-field rule",
        spec_text(
            "design = 'grid'",
            fixed=TINY.replace("2018-06-30", "2020-06-30")
            + 'repatriation_mode = { value = "abrupt", assumption = "t" }\n'
            + 'repatriation_start = { value = 2019-12-22, assumption = "t" }\n',
            parameters="[parameters]\nrepatriation_end = "
            '{ values = [2019-12-28, 2020-03-01], assumption = "t" }\n',
        ),
        "design point 1 (repatriation_end=2020-03-01): repatriation_end: an abrupt return spans",
    ),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD_SPECS, ids=[c[0] for c in BAD_SPECS])
def test_bad_spec_is_one_line_exit_2_and_nothing_written(
    case: str, text: str, message: str, tmp_path: Path, capsys
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=None) as err:
        build_design(load_sweep(path))
    assert message in str(err.value)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "1"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("laborflow: error: ") and message in lines[0]
    assert not out.exists()


def test_replicates_and_jobs_below_one_are_refused(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, QUICK)
    assert main(["sweep", str(path), "--out", str(tmp_path / "o"), "--jobs", "0"]) == 2
    assert "--jobs: 0; allowed: a whole number of at least 1" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


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


def test_unreachable_scheduler_is_one_line_exit_2(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 1.0)
    out = tmp_path / "out"
    address = f"tcp://127.0.0.1:{free_port()}"
    path = write(tmp_path, QUICK)
    assert main(["sweep", str(path), "--scheduler", address, "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"--scheduler {address}: cannot reach a Dask scheduler" in lines[0]
    assert not out.exists()


# --- results do not depend on the executor --------------------------------------------------


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


@pytest.fixture
def dask_cluster():
    """A Dask scheduler and one single-threaded worker on 127.0.0.1, killed afterwards."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    common = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    procs = [
        subprocess.Popen(
            [
                BIN / "dask",
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
            ],
            **common,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.2)
        procs.append(
            subprocess.Popen(
                [
                    BIN / "dask",
                    "worker",
                    address,
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                ],  # fmt: skip
                **common,
            )
        )
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)


def test_a_dask_cluster_stores_the_same_results(
    tmp_path: Path, quick_reference: Path, dask_cluster: str
) -> None:
    path = write(tmp_path, QUICK)
    assert (
        main(["sweep", str(path), "--scheduler", dask_cluster, "--out", str(tmp_path / "d")]) == 0
    )
    assert_same_store(quick_reference, tmp_path / "d")


# --- interruptions, failures, resume --------------------------------------------------------


DRIVER = """
import sys
from experiments.sweep import run_sweep
run_sweep(sys.argv[1], sys.argv[2], jobs=2, flush_every_runs=2, flush_every_seconds=0.2)
"""


def test_sigkill_part_way_then_resume_equals_an_uninterrupted_sweep(
    tmp_path: Path, longer_reference: Path
) -> None:
    path, out = write(tmp_path, LONGER), tmp_path / "store"
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(path), str(out)], start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while len(list((out / "runs").glob("part-*.parquet"))) < 2:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver, its pool and forkserver alike
        proc.wait(timeout=30)
    partial = read_runs(out)
    assert 0 < len(partial) < 32 and partial.run_id.is_unique
    result = run_sweep(path, out, jobs=2, resume=True)
    assert result.complete and result.stored_before == len(partial)
    assert result.ok == 32 - len(partial)
    assert_same_store(longer_reference, out)


def test_sigterm_stores_what_finished_and_says_how_to_resume(
    tmp_path: Path, longer_reference: Path
) -> None:
    path, out = write(tmp_path, LONGER), tmp_path / "store"
    cmd = [BIN / "laborflow", "sweep", str(path), "--jobs", "2", "--out", str(out)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(iter(proc.stderr.readline, "")))
    reader.start()
    deadline = time.monotonic() + 120
    while not any("already stored, writing to" in line for line in err):  # runs have started
        assert proc.poll() is None and time.monotonic() < deadline, "".join(err)
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    reader.join(timeout=30)
    text = "".join(err)
    assert proc.returncode == 128 + signal.SIGTERM, text
    assert "interrupted by SIGTERM" in text and f"--out {out} --resume" in text
    partial = read_runs(out)
    assert len(partial) < 32 and partial.run_id.is_unique
    assert not list(out.rglob(".*.tmp"))
    done = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{len(partial)} already stored" in done.stderr
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
