"""Run a sweep: every (point, replicate) of a design on an executor, into a result store.

design (``experiments.design``) → executor (``experiments.executors``) → store
(``experiments.store``) →
summaries. Each run is a pure function of its scenario and seed, and replicate r runs
with seed + r at every point (common random numbers), so stored results do not depend
on the executor, the number of workers or the order in which runs finish, and the
difference between two points is the parameters' effect, not noise.

Runs are submitted in a bounded window (four per worker slot) and written to the store
in batches as they finish, so the parent's memory stays flat however long the sweep.
On SIGINT or SIGTERM the sweep stops submitting, lets the runs in flight finish (a
second signal abandons them), writes what finished and returns; ``resume=True`` then
runs only what is missing. A run that raises is stored as failed, with its error, and
the others go on; resuming runs failed runs again (a failure caused by a lost worker or
memory should not need a new sweep; a deterministic one fails again and is stored once).

Test hook: the environment variable ``LABORFLOW_FAIL_RUN_IDS`` (run ids separated by
commas, read by the process that drives the sweep) makes those runs raise inside the
worker instead of running the model. It exists so that tests and users can see how a
failing run is stored and resumed, on any executor; it is off when unset.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.comparison import flatten_summary, mean_interval, run_one
from experiments.design import SweepSpec, build_design, iter_runs, load_sweep, run_id
from experiments.executors import open_executor, worker_slots
from experiments.store import (
    RunRecord,
    SweepStore,
    check_folder,
    read_points,
    read_runs,
    read_series,
)
from model.metrics import COMPARED
from model.scenario import Scenario

FAIL_ENV = "LABORFLOW_FAIL_RUN_IDS"
IN_FLIGHT_PER_SLOT = 4
FLUSH_EVERY_RUNS = 200
FLUSH_EVERY_SECONDS = 30.0
SUMMARY_DROPPED = ("scenario", "start_date", "end_date")
"""Summary fields that repeat the scenario (and would clash with swept parameters)."""


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (small: it is pickled to the worker)."""

    run_id: str
    point: int
    replicate: int
    seed: int
    scenario: Scenario
    params: dict[str, Any]
    series_every_days: int = 1
    fail: bool = False


class InjectedFailure(RuntimeError):
    """Raised for run ids listed in LABORFLOW_FAIL_RUN_IDS (a test hook)."""


def execute(task: RunTask) -> RunRecord:
    """Run one task in a worker; any exception becomes a failed record, never a lost run."""
    start = time.perf_counter()
    try:
        if task.fail:
            raise InjectedFailure(f"{FAIL_ENV} asks run {task.run_id} to fail")
        result = run_one(task.scenario, task.seed, task.series_every_days)
        summary = {
            k: v for k, v in flatten_summary(result.summary).items() if k not in SUMMARY_DROPPED
        }
        return _record(task, start, status="ok", summary=summary, series=result.series)
    except Exception as err:
        return failed_record(task, err, traceback.format_exc(), start)


def failed_record(task: RunTask, err: BaseException, tb: str, start: float) -> RunRecord:
    """A failed run's record: error text in one line, the traceback kept for debugging."""
    from model.provenance import git_commit, package_version

    summary = {
        "scenario_hash": task.scenario.hash,
        "version": package_version(),
        "git_commit": git_commit(),
    }
    error = f"{type(err).__name__}: {err}".splitlines()[0]
    return _record(task, start, status="failed", summary=summary, error=error, traceback=tb)


def _record(task: RunTask, start: float, **kwargs: Any) -> RunRecord:
    return RunRecord(
        run_id=task.run_id,
        point=task.point,
        replicate=task.replicate,
        seed=task.seed,
        params=task.params,
        elapsed_s=round(time.perf_counter() - start, 4),
        finished_utc=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **kwargs,
    )


# --- the result -------------------------------------------------------------------------


@dataclass
class SweepResult:
    """What a sweep session did, and its store (read back as DataFrames on demand)."""

    folder: Path
    spec: SweepSpec
    total: int
    stored_before: int
    ok: int = 0
    failed: int = 0
    interrupted: str | None = None  # why the session stopped early, or None
    stopped_by: int | None = None  # the signal that stopped it (SIGINT, SIGTERM), if one did
    failures: list[tuple[str, str]] = field(default_factory=list)  # (run id, error), first few

    @property
    def stored(self) -> int:
        return self.stored_before + self.ok + self.failed

    @property
    def complete(self) -> bool:
        return self.interrupted is None and self.stored == self.total

    @cached_property
    def runs(self) -> pd.DataFrame:
        """Every stored run (this session and earlier ones), one row each, by run id."""
        return read_runs(self.folder)

    def series(self, run_ids: Sequence[str] | None = None, columns: Sequence[str] | None = None):
        """Stored daily series (sampled as the spec says), of all or some runs."""
        return read_series(self.folder, run_ids, columns)

    def summary(self, metrics: Sequence[str] = COMPARED) -> pd.DataFrame:
        """Per point and metric: mean over replicates with a 95% interval."""
        return summarize_sweep(self.runs, self.spec.parameters, metrics)


def summarize_sweep(
    runs: pd.DataFrame, parameters: Sequence[str], metrics: Sequence[str] = COMPARED
) -> pd.DataFrame:
    """Per point and metric: parameter values, runs that succeeded, mean, 95% interval."""
    ok = runs[runs["status"] == "ok"]
    rows = []
    for point, group in ok.groupby("point", sort=True):
        first = group.iloc[0]
        for metric in metrics:
            if metric not in group:
                continue
            values = group[metric].astype(float).dropna().to_numpy()
            if not len(values):
                continue
            mean, lo, hi = mean_interval(values)
            rows.append(
                {
                    "point": point,
                    **{p: first[p] for p in parameters},
                    "metric": metric,
                    "n": len(values),
                    "mean": mean,
                    "lo": lo,
                    "hi": hi,
                }
            )
    return pd.DataFrame(rows)


# --- running ----------------------------------------------------------------------------


def default_out(spec: SweepSpec) -> Path:
    return Path("out") / f"sweep-{spec.name}"


def run_sweep(
    spec: SweepSpec | str | Path,
    out: str | Path | None = None,
    *,
    executor: Executor | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_result: Callable[[RunRecord], None] | None = None,
    notify: Callable[[str], None] | None = None,
    flush_every_runs: int = FLUSH_EVERY_RUNS,
    flush_every_seconds: float = FLUSH_EVERY_SECONDS,
    fail_run_ids: Sequence[str] | None = None,
) -> SweepResult:
    """Run a sweep spec into the store at ``out`` (default out/sweep-NAME); see the module doc.

    Runs execute on ``executor`` if given (any ``concurrent.futures.Executor``), else on
    ``jobs`` local processes (all cores by default; 1 = in this process) or the Dask
    scheduler at ``scheduler`` ("local" starts one). ``on_start(total, stored)`` is
    called once, ``on_result(record)`` as each run is stored, ``notify(text)`` for
    messages. Bad input raises ``SweepError`` (a ``ScenarioError``) before anything is
    written.
    """
    spec = spec if isinstance(spec, SweepSpec) else load_sweep(spec)
    points = build_design(spec)
    folder = Path(out) if out is not None else default_out(spec)
    manifest = check_folder(folder, spec, resume)
    fail = set(_env_fail_ids() if fail_run_ids is None else fail_run_ids)
    say = notify or (lambda text: None)
    if executor is not None:
        chosen = contextlib.nullcontext((executor, worker_slots(executor)))
    else:
        chosen = open_executor(jobs, scheduler)
    with (
        chosen as (ex, slots),
        SweepStore.open(folder, spec, points, manifest, _provenance()) as store,
    ):
        if manifest is not None:
            points = read_points(folder)  # the design of record, whatever scipy does now
            _warn_if_code_changed(manifest, say)
        done, failed_before = store.stored()
        if failed_before:
            store.drop_failed()
        result = SweepResult(folder, spec, len(points) * spec.replicates, len(done))
        if on_start:
            on_start(result.total, result.stored_before)
        if failed_before:
            say(f"running the {len(failed_before)} runs that failed before again")
        tasks = _tasks(spec, points, done, fail)
        with _stop_on_signals() as stop:
            _drive(ex, tasks, slots, store, result, stop, on_result, say,
                   flush_every_runs, flush_every_seconds)  # fmt: skip
            if stop.forced and executor is None:
                _abandon(ex)
    return result


def _env_fail_ids() -> list[str]:
    return [s.strip() for s in os.environ.get(FAIL_ENV, "").split(",") if s.strip()]


def _provenance() -> dict[str, Any]:
    import mesa
    import scipy

    from model.provenance import git_commit, package_version

    return {
        "package": "laborflow",
        "version": package_version(),
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "mesa_version": mesa.__version__,
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,  # LHS and Sobol' points come from scipy
    }


def _warn_if_code_changed(manifest: dict[str, Any], say: Callable[[str], None]) -> None:
    from model.provenance import git_commit

    then, now = manifest.get("provenance", {}).get("git_commit"), git_commit()
    if then != now:
        say(
            f"warning: the sweep was started at commit {then}, the code is now at {now}; "
            "each run row records the commit it ran with"
        )


def _tasks(
    spec: SweepSpec, points: list[dict[str, Any]], done: set[str], fail: set[str]
) -> Iterator[RunTask]:
    """Tasks for the runs not yet stored, made one at a time (memory stays flat)."""
    where = f"{spec.path or spec.name}: design point"
    scenario, current = None, -1
    for point, replicate, seed in iter_runs(spec, points):
        rid = run_id(point, replicate)
        if rid in done:
            continue
        if point != current:
            current = point
            scenario = spec.base.with_overrides(points[point], origin=f"{where} {point}")
        assert scenario is not None
        yield RunTask(rid, point, replicate, seed, scenario, points[point],
                      spec.series_every_days, rid in fail)  # fmt: skip


class _Stop:
    """Counts SIGINT/SIGTERM: the first stops submitting, the second abandons runs in flight."""

    def __init__(self) -> None:
        self.count = 0
        self.signum: int | None = None

    def handle(self, signum: int, frame: Any) -> None:
        self.count += 1
        self.signum = self.signum or signum

    @property
    def requested(self) -> bool:
        return self.count > 0

    @property
    def forced(self) -> bool:
        return self.count > 1


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[_Stop]:
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signals go to the main thread; a caller there keeps its own handling
        return
    previous = {s: signal.signal(s, stop.handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _drive(
    executor: Executor,
    tasks: Iterator[RunTask],
    slots: int,
    store: SweepStore,
    result: SweepResult,
    stop: _Stop,
    on_result: Callable[[RunRecord], None] | None,
    say: Callable[[str], None],
    flush_every_runs: int,
    flush_every_seconds: float,
) -> None:
    """Keep a bounded window of runs in flight; store each as it finishes."""
    window = max(1, IN_FLIGHT_PER_SLOT * slots)
    in_flight: dict[Future, RunTask] = {}
    exhausted = draining = False
    try:
        while True:
            while (
                not (exhausted or stop.requested or result.interrupted) and len(in_flight) < window
            ):
                task = next(tasks, None)
                if task is None:
                    exhausted = True
                    break
                try:
                    in_flight[executor.submit(execute, task)] = task
                except (BrokenExecutor, RuntimeError) as err:
                    result.interrupted = f"the executor stopped working ({err})"
            if stop.requested and not draining:
                draining = True
                for future in in_flight:
                    future.cancel()
                running = sum(not f.done() for f in in_flight)
                say(
                    f"stopping: waiting for {running} runs in flight to finish and be stored "
                    "(signal again to stop now)"
                )
            if stop.forced or not in_flight:
                break
            finished, _ = wait(list(in_flight), timeout=0.25, return_when=FIRST_COMPLETED)
            for future in finished:
                _collect(future, in_flight.pop(future), store, result, stop, on_result)
            store.flush_if_due(flush_every_runs, flush_every_seconds)
    finally:
        store.flush()
    if stop.requested:
        result.stopped_by = stop.signum
        name = signal.Signals(stop.signum).name if stop.signum else "a signal"
        result.interrupted = f"interrupted by {name}"


def _collect(
    future: Future,
    task: RunTask,
    store: SweepStore,
    result: SweepResult,
    stop: _Stop,
    on_result: Callable[[RunRecord], None] | None,
) -> None:
    """Store a finished run; runs cancelled or broken by a stop are left for --resume."""
    if future.cancelled():
        return
    try:
        record = future.result()
    except BrokenExecutor as err:
        result.interrupted = result.interrupted or f"the executor stopped working ({err})"
        return
    except Exception as err:  # lost worker, unpicklable result: the run failed, not the sweep
        record = failed_record(task, err, traceback.format_exc(), time.perf_counter())
        record.elapsed_s = float("nan")
    if record.status != "ok" and (stop.requested or result.interrupted):
        return  # may have been caused by the interruption: run it again on resume
    store.add(record)
    if record.status == "ok":
        result.ok += 1
    else:
        result.failed += 1
        if len(result.failures) < 10:
            result.failures.append((record.run_id, record.error or ""))
    if on_result:
        on_result(record)


def _abandon(executor: Executor) -> None:
    """Stop now: cancel what waits and end local worker processes still running a run."""
    processes = dict(getattr(executor, "_processes", None) or {})  # a ProcessPoolExecutor's
    try:
        executor.shutdown(wait=False, cancel_futures=True)
    except TypeError:  # executors without cancel_futures (Dask's) cancel when not waiting
        executor.shutdown(wait=False)
    for process in processes.values():
        with contextlib.suppress(Exception):
            process.terminate()
