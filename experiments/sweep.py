"""Run a sweep spec: every (point, replicate) of its design, into a folder store.

design (``experiments.design``) → the run driver (``experiments.runner``) on an executor
(``experiments.executors``) → store (``experiments.store``) → summaries. Replicate r runs
with seed + r at every point (common random numbers), so the difference between two points
is the parameters' effect, not noise.

Runs are written to the store in batches as they finish. On SIGINT or SIGTERM the sweep
stops submitting, lets the runs in flight finish (a second signal abandons them), writes
what finished and returns; ``resume=True`` then runs only what is missing. A run that
raises is stored as failed, with its error, and the others go on; resuming runs failed runs
again (a failure caused by a lost worker or memory should not need a new sweep; a
deterministic one fails again and is stored once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.comparison import mean_interval
from experiments.design import SweepSpec, build_design, iter_runs, load_sweep, run_id
from experiments.errors import StoreUnwritable
from experiments.runner import (
    RunHooks,
    RunTally,
    RunTask,
    abandon,
    chosen_executor,
    drive,
    stop_on_signals,
)
from experiments.store import (
    RunRecord,
    SweepStore,
    check_folder,
    read_runs,
    read_series,
)
from model.files import check_writable
from model.metrics import COMPARED
from model.provenance import provenance

__all__ = [
    "run_sweep",
    "SweepResult",
]
"""The public API (the reference, ``make docs``, documents these)."""


@dataclass(kw_only=True)
class SweepResult(RunTally):
    """What a sweep session did, and its store (read back as DataFrames on demand)."""

    folder: Path
    spec: SweepSpec

    @cached_property
    def runs(self) -> pd.DataFrame:
        """Every stored run (this session and earlier ones), one row each, by run id."""
        return read_runs(self.folder)

    def series(self, run_ids: Sequence[str] | None = None, columns: Sequence[str] | None = None):
        """Stored daily series (sampled every ``series_every_days`` as the spec says).

        ``run_ids``: the runs to read (all when None); ``columns``: the series to read (all
        when None; names as in ``LaborModel.timeseries``).
        """
        return read_series(self.folder, run_ids, columns)

    def summary(self, metrics: Sequence[str] = COMPARED) -> pd.DataFrame:
        """Per point and metric: mean over replicates with a 95% interval.

        ``metrics``: summary metric names (default: those comparisons report).
        """
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
    """Where a sweep is stored unless told: ``out/sweep-NAME``."""
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
    flush_every_runs: int | None = None,
    flush_every_seconds: float | None = None,
    fail_run_ids: Sequence[str] | None = None,
) -> SweepResult:
    """Run a sweep spec into the store at ``out`` (default out/sweep-NAME); see the module doc.

    ``spec`` is a sweep spec file (TOML, e.g. ``scenarios/sweeps/pool_and_trip.toml``) or
    a loaded ``SweepSpec``. ``resume`` finishes the sweep already stored in ``out``
    (stored runs are kept, failed ones run again). Runs execute on ``executor`` if given
    (any ``concurrent.futures.Executor``), else on ``jobs`` local processes (all cores by
    default; 1 = in this process) or the Dask scheduler at ``scheduler`` ("local" starts
    one). ``on_start(total, stored)`` is
    called once, ``on_result(record)`` as each run is stored, ``notify(text)`` for
    messages. Bad input raises an ``InputError`` (a bad spec, folder or argument) before
    anything is written; a disk that fills during the sweep raises ``StoreUnwritable``
    (what was written is kept). ``flush_every_runs`` (runs) and ``flush_every_seconds``
    (seconds) say how often finished runs are written (default: 50 runs or 2 s, the
    runner's cadence). ``fail_run_ids`` makes the named runs raise (for tests of failure
    handling; default: none, or ``LABORFLOW_FAIL_RUN_IDS``).
    """
    spec = spec if isinstance(spec, SweepSpec) else load_sweep(spec)
    points = build_design(spec)
    folder = Path(out) if out is not None else default_out(spec)
    check_folder(folder, spec, resume)  # refuse early; checked again under the folder's lock
    check_writable(folder, "--out")
    hooks = RunHooks.from_env(fail_run_ids)
    say = notify or (lambda text: None)
    with (
        stop_on_signals() as stop,
        chosen_executor(executor, jobs, scheduler) as (ex, slots),
        SweepStore.open(folder, spec, points, resume, provenance(), say) as store,
    ):
        points = store.points  # when resuming: the stored design, whatever scipy does now
        if store.reopened:
            _warn_if_code_changed(store.manifest, say)
        done, failed_before = store.stored()
        if failed_before:
            store.drop_failed()
        result = SweepResult(
            folder=folder, spec=spec, total=len(points) * spec.replicates, stored_before=len(done)
        )
        if on_start:
            on_start(result.total, result.stored_before)
        if failed_before:
            say(f"running the {len(failed_before)} runs that failed before again")
        tasks = _tasks(spec, points, done, hooks)
        drive(ex, tasks, slots, store, result, stop, on_result, say,
              flush_every_runs, flush_every_seconds)  # fmt: skip
        if (stop.forced or result.unwritable) and executor is None:
            abandon(ex)  # runs in flight can no longer be stored: end them now
    if result.unwritable:
        raise StoreUnwritable(result, folder)
    return result


def _warn_if_code_changed(manifest: dict[str, Any], say: Callable[[str], None]) -> None:
    from model.provenance import git_commit

    then, now = manifest.get("provenance", {}).get("git_commit"), git_commit()
    if then != now:
        say(
            f"warning: the sweep was started at commit {then}, the code is now at {now}; "
            "each run row records the commit it ran with"
        )


def _tasks(
    spec: SweepSpec, points: list[dict[str, Any]], done: set[str], hooks: RunHooks
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
        task = RunTask(rid, point, replicate, seed, scenario, points[point],
                       spec.series_every_days)  # fmt: skip
        yield hooks.apply(task)
