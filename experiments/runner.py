"""The one run driver: tasks go to an executor, finished runs go to a store.

Sweeps, comparisons, validation, the brief and the app's comparison all run through
``drive``: a bounded window of runs in flight (four per worker slot), each finished run
stored as it comes back, so the parent's memory stays flat however many runs there are. A
run is a pure function of its scenario and seed (``simulate``), so what is stored does not
depend on the executor, the number of workers or the order in which runs finish.

A run that raises is stored as failed, with its error, and the others go on. On SIGINT or
SIGTERM (or when ``should_stop`` says so, for callers off the main thread) no more runs are
submitted, the runs in flight finish and are stored, and ``drive`` returns; a second signal
abandons them.

Test hooks, read by the process that drives the runs and carried in each task, so they
work on any executor; both are off when unset:

- ``LABORFLOW_FAIL_RUN_IDS`` (run ids separated by commas) makes those runs raise inside
  the worker instead of running the model, so that tests and users can see how a failing
  run is stored and resumed.
- ``LABORFLOW_HOLD_RUN_IDS`` with ``LABORFLOW_HOLD_UNTIL=PATH`` makes those runs wait in
  their worker until PATH exists (each first writes its worker's pid to
  ``PATH.RUN_ID.held``), so that a test can stop, kill or fill a sweep at a known point
  without depending on the machine's speed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from experiments.errors import Interrupted, RunsFailed
from experiments.executors import InlineExecutor, abandon, open_executor, worker_slots
from experiments.store import MemoryStore, RunRecord
from model.errors import OutputError
from model.scenario import Scenario

FAIL_ENV = "LABORFLOW_FAIL_RUN_IDS"
HOLD_ENV = "LABORFLOW_HOLD_RUN_IDS"
HOLD_UNTIL_ENV = "LABORFLOW_HOLD_UNTIL"
IN_FLIGHT_PER_SLOT = 4
FLUSH_EVERY_RUNS = 50
FLUSH_EVERY_SECONDS = 2.0
"""Finished runs are written once 50 have gathered or the oldest of them started 2 s ago,
whichever comes first: a kill loses at most about 2 s of finished work per worker (plus
the runs in flight). The parent writes while the workers go on with the runs in flight,
so the more frequent writes cost no measurable throughput (README, "What a sweep
guarantees")."""
SUMMARY_DROPPED = ("scenario", "start_date", "end_date")
"""Summary fields that repeat the scenario (and would clash with swept parameters)."""


def simulate(scenario: Scenario, seed: int, series_every_days: int = 1):
    """Run a scenario to its end date with one seed: (summary, daily series)."""
    from model.model import LaborModel

    model = LaborModel(rng=seed, scenario=scenario)
    model.run_model()
    series = model.timeseries()
    if series_every_days > 1:
        series = series.iloc[::series_every_days].reset_index(drop=True)
    return model.summary(), series


def flatten_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A run's summary as one table row: provenance reduced to what identifies the run."""
    row = {k: v for k, v in summary.items() if k != "provenance"}
    prov = summary["provenance"]
    row.update(
        {
            "scenario_hash": prov["scenario_hash"],
            "version": prov["version"],
            "git_commit": prov["git_commit"],
        }
    )
    return row


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (small: it is pickled to the worker)."""

    run_id: str
    point: int
    replicate: int
    seed: int
    scenario: Scenario
    params: dict[str, Any]  # what identifies the point in the runs table
    series_every_days: int = 1
    fail: bool = False
    hold_until: str | None = None  # test hook: wait for this file before running


class InjectedFailure(RuntimeError):
    """Raised for run ids listed in LABORFLOW_FAIL_RUN_IDS (a test hook)."""


def _env_ids(name: str) -> set[str]:
    return {s.strip() for s in os.environ.get(name, "").split(",") if s.strip()}


def env_fail_ids() -> set[str]:
    return _env_ids(FAIL_ENV)


@dataclass(frozen=True)
class RunHooks:
    """The test hooks in force (see the module doc), read once from the environment."""

    fail: frozenset[str] = frozenset()
    hold: frozenset[str] = frozenset()
    hold_until: str | None = None

    @classmethod
    def from_env(cls, fail: Iterable[str] | None = None) -> RunHooks:
        """Hooks from the environment; ``fail`` (if given) replaces LABORFLOW_FAIL_RUN_IDS."""
        until = os.environ.get(HOLD_UNTIL_ENV) or None
        return cls(
            fail=frozenset(env_fail_ids() if fail is None else fail),
            hold=frozenset(_env_ids(HOLD_ENV)) if until else frozenset(),
            hold_until=until,
        )

    def apply(self, task: RunTask) -> RunTask:
        """The task with the hooks that name it."""
        fail, hold = task.run_id in self.fail, task.run_id in self.hold
        if not (fail or hold):
            return task
        return dataclasses.replace(
            task,
            fail=task.fail or fail,
            hold_until=self.hold_until if hold else task.hold_until,
        )


def _hold(task: RunTask) -> None:
    """Test hook: say where this run waits, then wait until its release file exists."""
    release = Path(str(task.hold_until))
    marker = release.with_name(f"{release.name}.{task.run_id}.held")
    marker.write_text(str(os.getpid()))
    while not release.exists():
        time.sleep(0.05)


def execute(task: RunTask) -> RunRecord:
    """Run one task in a worker; any exception becomes a failed record, never a lost run."""
    start = time.perf_counter()
    try:
        if task.hold_until:
            _hold(task)
        if task.fail:
            raise InjectedFailure(f"{FAIL_ENV} asks run {task.run_id} to fail")
        summary, series = simulate(task.scenario, task.seed, task.series_every_days)
        row = {k: v for k, v in flatten_summary(summary).items() if k not in SUMMARY_DROPPED}
        return _record(task, start, status="ok", summary=row, series=series)
    except Exception as err:
        return failed_record(task, err, traceback.format_exc(), start)


def failed_record(task: RunTask, err: BaseException, tb: str, start: float) -> RunRecord:
    """A failed run's record: error text in one line, the traceback kept for debugging."""
    from model.provenance import provenance

    prov = provenance()
    summary = {
        "scenario_hash": task.scenario.hash,
        "version": prov["version"],
        "git_commit": prov["git_commit"],
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


# --- what a session did -----------------------------------------------------------------


@dataclass(kw_only=True)
class RunTally:
    """What one session of runs did: counts, the first failures, and why it stopped early."""

    total: int
    stored_before: int = 0
    ok: int = 0
    failed: int = 0
    interrupted: str | None = None  # why the session stopped early, or None
    stopped_by: int | None = None  # the signal that stopped it (SIGINT, SIGTERM), if one did
    unwritable: str | None = None  # why finished runs could not be written (a full disk)
    lost: int = 0  # finished runs that a failed write did not store (they run again)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (run id, error), first few

    @property
    def stored(self) -> int:
        return self.stored_before + self.ok + self.failed - self.lost

    @property
    def complete(self) -> bool:
        return self.interrupted is None and self.unwritable is None and self.stored == self.total


class Store(Protocol):
    """Where finished runs go: a folder of Parquet parts, or memory."""

    pending: int  # runs added and not yet written

    def add(self, record: RunRecord) -> None: ...
    def flush_if_due(self, every_runs: int, every_seconds: float) -> bool: ...
    def flush(self) -> None: ...


# --- stopping ---------------------------------------------------------------------------


class Stop:
    """Counts SIGINT/SIGTERM: the first stops submitting, the second abandons runs in flight."""

    def __init__(self, should_stop: Callable[[], bool] | None = None) -> None:
        self.count = 0
        self.signum: int | None = None
        self._should_stop = should_stop

    def handle(self, signum: int, frame: Any) -> None:
        self.count += 1
        self.signum = self.signum or signum

    @property
    def requested(self) -> bool:
        return self.count > 0 or bool(self._should_stop and self._should_stop())

    @property
    def forced(self) -> bool:
        return self.count > 1


@contextlib.contextmanager
def stop_on_signals(should_stop: Callable[[], bool] | None = None) -> Iterator[Stop]:
    """SIGINT and SIGTERM become requests to stop while the block runs (main thread only)."""
    stop = Stop(should_stop)
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signals go to the main thread; a caller there keeps its own handling
        return
    previous = {s: signal.signal(s, stop.handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


# --- driving ----------------------------------------------------------------------------


def drive(
    executor: Executor,
    tasks: Iterator[RunTask],
    slots: int,
    store: Store,
    tally: RunTally,
    stop: Stop,
    on_result: Callable[[RunRecord], None] | None = None,
    say: Callable[[str], None] = lambda text: None,
    flush_every_runs: int | None = None,
    flush_every_seconds: float | None = None,
) -> None:
    """Keep a bounded window of runs in flight; store each as it finishes.

    Finished runs are written when ``flush_every_runs`` have gathered or the oldest of them
    started ``flush_every_seconds`` ago (default: ``FLUSH_EVERY_RUNS``,
    ``FLUSH_EVERY_SECONDS``, read at call time). A write that fails (a full disk) ends the
    session at once: ``tally.unwritable`` says why and ``tally.lost`` how many finished runs
    it cost.
    """
    every_runs = FLUSH_EVERY_RUNS if flush_every_runs is None else flush_every_runs
    every_seconds = FLUSH_EVERY_SECONDS if flush_every_seconds is None else flush_every_seconds
    # Runs in this process finish at submit time: one at a time, each stored before the next.
    window = 1 if isinstance(executor, InlineExecutor) else max(1, IN_FLIGHT_PER_SLOT * slots)
    in_flight: dict[Future, RunTask] = {}
    exhausted = draining = False
    try:
        while True:
            while (
                not (exhausted or stop.requested or tally.interrupted or tally.unwritable)
                and len(in_flight) < window
            ):
                task = next(tasks, None)
                if task is None:
                    exhausted = True
                    break
                try:
                    in_flight[executor.submit(execute, task)] = task
                except (BrokenExecutor, RuntimeError) as err:
                    tally.interrupted = f"the executor stopped working ({err})"
            if (stop.requested or tally.unwritable) and not draining:
                draining = True
                for future in in_flight:
                    future.cancel()
                running = sum(not f.done() for f in in_flight)
                if running and not tally.unwritable:
                    say(
                        f"stopping: waiting for {running} runs in flight to finish and be "
                        "stored (signal again to stop now)"
                    )
            if stop.forced or tally.unwritable or not in_flight:
                break  # (runs in flight cannot be stored where the disk is full)
            finished, _ = wait(list(in_flight), timeout=0.25, return_when=FIRST_COMPLETED)
            for future in finished:
                _collect(future, in_flight.pop(future), store, tally, stop, on_result)
            _write(store, tally, lambda: store.flush_if_due(every_runs, every_seconds))
    finally:
        _write(store, tally, store.flush)
    if stop.requested:
        tally.stopped_by = stop.signum
        if tally.stored < tally.total and not tally.unwritable:  # else: nothing was cut short
            name = signal.Signals(stop.signum).name if stop.signum else "a request to stop"
            tally.interrupted = f"interrupted by {name}"


def _write(store: Store, tally: RunTally, write: Callable[[], Any]) -> None:
    """Write what the store holds; a write that fails ends the session, never silently."""
    if tally.unwritable:
        return
    pending = store.pending
    try:
        write()
    except OutputError as err:
        tally.unwritable = str(err)
        tally.lost += pending


def _collect(
    future: Future,
    task: RunTask,
    store: Store,
    tally: RunTally,
    stop: Stop,
    on_result: Callable[[RunRecord], None] | None,
) -> None:
    """Store a finished run; runs cancelled or broken by a stop are left for --resume."""
    if future.cancelled():
        return
    try:
        record = future.result()
    except BrokenExecutor as err:
        tally.interrupted = tally.interrupted or f"the executor stopped working ({err})"
        return
    except Exception as err:  # lost worker, unpicklable result: the run failed, not the sweep
        record = failed_record(task, err, traceback.format_exc(), time.perf_counter())
        record.elapsed_s = float("nan")
    if record.status != "ok" and (stop.requested or tally.interrupted):
        return  # may have been caused by the interruption: run it again on resume
    store.add(record)
    if record.status == "ok":
        tally.ok += 1
    else:
        tally.failed += 1
        if len(tally.failures) < 10:
            tally.failures.append((record.run_id, record.error or ""))
    if on_result:
        on_result(record)


@contextlib.contextmanager
def chosen_executor(
    executor: Executor | None, jobs: int | None, scheduler: str | None = None
) -> Iterator[tuple[Executor, int]]:
    """The caller's executor as it is, or one opened (and closed) here for ``jobs``."""
    if executor is not None:
        yield executor, worker_slots(executor)
        return
    with open_executor(jobs, scheduler) as opened:
        yield opened


def run_all(
    tasks: Iterable[RunTask],
    *,
    executor: Executor | None = None,
    jobs: int | None = None,
    on_result: Callable[[RunRecord], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[RunRecord]:
    """Run every task and keep the results in memory (nothing is written): the finished
    records, in task order. A failed run raises ``RunsFailed``; a stop raises ``Interrupted``.
    """
    hooks = RunHooks.from_env()
    tasks = [hooks.apply(t) for t in tasks]
    order = {t.run_id: i for i, t in enumerate(tasks)}
    store = MemoryStore()
    tally = RunTally(total=len(tasks))
    with stop_on_signals(should_stop) as stop, chosen_executor(executor, jobs) as (ex, slots):
        drive(ex, iter(tasks), slots, store, tally, stop, on_result)
        if stop.forced and executor is None:
            abandon(ex)
    if tally.interrupted:
        raise Interrupted(tally)
    if tally.failed:
        raise RunsFailed(tally.failures, tally.failed)
    return sorted(store.records, key=lambda r: order[r.run_id])


def records_frame(records: Iterable[RunRecord]) -> pd.DataFrame:
    """One row per run (identity, parameters, metrics), as a folder store's runs table."""
    return pd.DataFrame([r.row() for r in records])
