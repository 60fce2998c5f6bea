"""Robustness ensembles: every scenario in many plausible worlds, and what holds across them.

A comparison's 95% intervals cover the randomness of its seeds at one set of assumptions;
the larger uncertainty is in the assumptions. Exploratory modelling (Bankes 1993) and robust
decision making (Lempert, Popper and Bankes 2003) judge a policy by how it does across many
plausible worlds and ask under which conditions a conclusion flips. So an ensemble:

- draws N plausible worlds: a Latin hypercube (``scipy.stats.qmc``, scrambled with the seed)
  over the plausible range, or set of values, that the first scenario gives each parameter
  (policy parameters excluded: they are what the scenarios differ in). Which parameters
  vary is read from the scenario's records, never listed here, so parameters that gain a
  range in a scenario file join the ensemble by themselves;
- runs every scenario in every world with the same seeds (common random numbers: within a
  world the scenarios differ only by policy), on the one run driver, in memory or into a
  folder store like a sweep's (resumable, locked, on local processes or Dask);
- reads the runs back as tables: each metric's spread across worlds per scenario; each
  contrast (a policy minus another) per world, with the share of worlds in which the policy
  does better by the metric's direction (``model.metrics.direction``) beside the seeds'
  interval inside a world; regret; the assumptions that drive each contrast (Spearman rank
  correlations over the Latin hypercube, with bootstrap intervals); and, with PRIM
  (``experiments.discovery.find_box``), the box of assumption values in which a conclusion
  flips.

The folder store is ``experiments.store.SweepStore`` unchanged: ``Ensemble`` offers what the
store reads of a sweep spec (``hash``, ``describe``, ``text``, ``replicates``, ``seeds``,
``base``, ``parameters``), and each (world, scenario) is one point of its design.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.comparison import as_scenarios, replicate_seeds
from experiments.design import Axis, run_id
from experiments.errors import StoreError
from experiments.robustness_tables import (
    CONTRAST_COLUMNS,
    QUANTILES,
    Contrast,
    Flip,
    article_contrasts,
    best_by_world,
    contrast_by_world,
    contrast_row,
    driver_table,
    find_flip,
    levels_table,
    numeric_assumptions,
    paired_differences,
    regret_table,
    restriction_text,
    summary_metrics,
    world_means,
)
from experiments.runner import (
    FLUSH_EVERY_RUNS,
    FLUSH_EVERY_SECONDS,
    RunTally,
    RunTask,
    abandon,
    chosen_executor,
    drive,
    env_fail_ids,
    run_all,
    stop_on_signals,
)
from experiments.store import (
    VOLATILE_COLUMNS,
    RunRecord,
    SweepStore,
    check_folder,
    read_points,
    read_runs,
    read_series,
    rows_table,
)
from model import metrics
from model.errors import ArgumentError, ScenarioError
from model.files import write_atomic, write_json_atomic
from model.metrics import BANDED, COMPARED
from model.parameters import PARAMETERS, POLICY_PARAMETERS
from model.provenance import provenance
from model.scenario import Scenario

__all__ = [
    "robustness",
    "build_ensemble",
    "run_ensemble",
    "Ensemble",
    "RobustnessResult",
]
"""The public API (the reference, ``make docs``, documents these)."""

KIND = "laborflow robustness"
SERIES_EVERY_DAYS = 7
"""The ensemble keeps weekly daily series: enough for bands across worlds, a seventh of the
bytes."""
FILES = ("robustness.json", "worlds.parquet", "bands.parquet")
"""What ``RobustnessResult.save`` writes that ``load`` needs (besides the readable CSVs)."""


# --- the ensemble ------------------------------------------------------------------------


def plausible_axes(base: Scenario) -> tuple[Axis, ...]:
    """One axis per parameter the base scenario gives a plausible range or set of values,
    policy parameters excluded, in the registry's order."""
    axes = []
    for spec in PARAMETERS:
        record = base.records.get(spec.name)
        plausible = record.plausible if record is not None else None
        if spec.name in POLICY_PARAMETERS or plausible is None:
            continue
        if plausible.values:
            axis = Axis(spec.name, spec.kind, values=tuple(plausible.values))
        else:
            axis = Axis(spec.name, spec.kind, low=plausible.low, high=plausible.high)
        axes.append(dataclasses.replace(axis, source=record.source, sourced=record.sourced))
    return tuple(axes)


def draw_worlds(axes: Sequence[Axis], worlds: int, seed: int) -> list[dict[str, Any]]:
    """``worlds`` points of a Latin hypercube over the axes, scrambled with ``seed``.

    Ranges are sampled uniformly; integer and date ranges give each whole value the same
    chance and sets of values each value the same chance (``Axis.at``, as sweeps do).
    """
    from scipy.stats import qmc

    unit = qmc.LatinHypercube(len(axes), rng=np.random.default_rng(seed)).random(worlds)
    columns = [axis.at(unit[:, j]) for j, axis in enumerate(axes)]
    names = [a.name for a in axes]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _jsonable(x: Any) -> Any:
    return x.isoformat() if hasattr(x, "isoformat") else x


def _check_scenarios(scenarios: Sequence[Scenario], axes: Sequence[Axis]) -> None:
    """Refuse a scenario that sets a parameter the ensemble varies to its own value: in a
    world, the world's value would silently win over the scenario's, or the reverse."""
    base = scenarios[0]
    for scenario in scenarios[1:]:
        for axis in axes:
            mine, theirs = scenario.params[axis.name], base.params[axis.name]
            if mine != theirs:
                where = scenario.path or scenario.name
                plausible = base.records[axis.name].plausible
                raise ScenarioError(
                    f"{where}: parameters.{axis.name}: sets {_jsonable(mine)} where "
                    f"{base.name} has {_jsonable(theirs)}, but the robustness ensemble varies "
                    f"{axis.name} across plausible worlds ({plausible.text()}, from "
                    f"{base.path or base.name}); allowed: scenarios that differ from the first "
                    "only in what the ensemble does not vary (such as the policy)"
                )


@dataclass(frozen=True)
class Ensemble:
    """Scenarios x plausible worlds x seeds, checked: everything that decides the runs.

    Each (world, scenario) is one point of the design (point = world x scenarios +
    scenario), run with every seed; it offers what a folder store reads of a sweep spec.
    """

    scenarios: tuple[Scenario, ...]
    axes: tuple[Axis, ...]
    worlds: int
    replicates: int
    seed: int
    series_every_days: int = SERIES_EVERY_DAYS
    name: str = "robustness"
    text: str = ""  # a sweep spec's source text; an ensemble has none

    @property
    def base(self) -> Scenario:
        return self.scenarios[0]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    @property
    def assumptions(self) -> list[str]:
        return [a.name for a in self.axes]

    @property
    def parameters(self) -> list[str]:
        """The columns that identify a point: its world, its scenario, the world's values."""
        return ["world", "scenario", *self.assumptions]

    def seeds(self) -> list[int]:
        """The seeds every scenario runs with in every world: ``seed``, ``seed + 1``, ..."""
        return replicate_seeds(self.seed, self.replicates)

    @property
    def total(self) -> int:
        return self.worlds * len(self.scenarios) * self.replicates

    @property
    def hash(self) -> str:
        """Content hash of everything that decides the results: same hash, same runs."""
        canon = {
            "kind": KIND,
            "scenarios": [
                {"name": s.name, "params": {k: _jsonable(v) for k, v in sorted(s.params.items())}}
                for s in self.scenarios
            ],
            "axes": [a.canonical() for a in self.axes],
            "worlds": self.worlds,
            "replicates": self.replicates,
            "seed": self.seed,
            "series_every_days": self.series_every_days,
        }
        return hashlib.sha256(json.dumps(canon, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        """The ensemble as plain data (the store's manifest, robustness.json)."""
        return {
            "kind": KIND,
            "name": self.name,
            "worlds": self.worlds,
            "replicates": self.replicates,
            "seed": self.seed,
            "series_every_days": self.series_every_days,
            "parameters": [
                {"name": "world"},
                {"name": "scenario"},
                *({**a.canonical(), "source": a.source, "sourced": a.sourced} for a in self.axes),
            ],
            "scenarios": [s.describe() for s in self.scenarios],
        }

    def world_values(self) -> list[dict[str, Any]]:
        """Each world's assumption values (a Latin hypercube over the plausible ranges)."""
        return draw_worlds(self.axes, self.worlds, self.seed)

    def points(self, worlds: Sequence[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """One point per (world, scenario), world by world.

        ``worlds``: each world's assumption values (default: ``world_values()``).
        """
        worlds = self.world_values() if worlds is None else worlds
        return [
            {"world": w, "scenario": s.name, **values}
            for w, values in enumerate(worlds)
            for s in self.scenarios
        ]

    def scenario_in(self, point: dict[str, Any]) -> Scenario:
        """The point's scenario with the point's world's values; every rule checked."""
        scenario = self.scenarios[self.names.index(point["scenario"])]
        values = {name: point[name] for name in self.assumptions}
        return scenario.with_overrides(values, origin=f"plausible world {point['world']}")

    def tasks(
        self,
        points: Sequence[dict[str, Any]],
        done: Collection[str] = frozenset(),
        fail: Collection[str] = frozenset(),
    ) -> Iterator[RunTask]:
        """Runs not yet stored, world by world and seed by seed (paired results come early).

        ``points``: the design (``points()``); ``done``: run ids already stored, skipped;
        ``fail``: run ids made to raise (tests of failure handling).
        """
        n = len(self.scenarios)
        seeds = self.seeds()
        for world in range(len(points) // n):
            scenarios = [self.scenario_in(points[world * n + s]) for s in range(n)]
            for r, seed in enumerate(seeds):
                for s, scenario in enumerate(scenarios):
                    point = world * n + s
                    rid = run_id(point, r)
                    if rid in done:
                        continue
                    yield RunTask(rid, point, r, seed, scenario, points[point],
                                  self.series_every_days, rid in fail)  # fmt: skip


def build_ensemble(
    scenarios: Sequence[Scenario | str | Path], worlds: int, replicates: int, seed: int
) -> Ensemble:
    """Check everything before anything runs: counts, scenarios, and every world in every
    scenario against the scenario rules (a bad input is one line, nothing written).

    ``scenarios``: scenario files or ``Scenario`` objects, the base first (its plausible
    ranges define the worlds); ``worlds``: how many plausible worlds to draw; ``replicates``:
    seeds per scenario in each world; ``seed``: scrambles the worlds and is the first
    run seed.
    """
    if isinstance(worlds, bool) or not isinstance(worlds, int) or worlds < 1:
        raise ArgumentError(f"--worlds: {worlds}; allowed: a whole number of at least 1")
    loaded = as_scenarios(scenarios)
    if not loaded:
        raise ArgumentError("robustness: no scenarios given; allowed: one or more scenario files")
    replicate_seeds(seed, replicates)
    axes = plausible_axes(loaded[0])
    if not axes:
        raise ScenarioError(
            f"{loaded[0].path or loaded[0].name}: no parameter outside the policy carries a "
            "plausible range or values, so there is no world to vary; allowed: entries such as "
            'cash_buffer_months = { value = 2.0, range = [1.0, 4.0], assumption = "..." }'
        )
    _check_scenarios(loaded, axes)
    ensemble = Ensemble(tuple(loaded), axes, worlds, replicates, seed)
    for point in ensemble.points():
        ensemble.scenario_in(point)  # raises ScenarioError naming the world and the rule
    return ensemble


# --- running -----------------------------------------------------------------------------


def default_out(ensemble: Ensemble) -> Path:
    """Where an ensemble is stored unless told: ``out/robustness-BASE``."""
    return Path("out") / f"robustness-{ensemble.base.name}"


def robustness(
    scenarios: Sequence[Scenario | str | Path],
    worlds: int = 100,
    replicates: int = 2,
    seed: int = 1,
    out: str | Path | None = None,
    *,
    executor: Executor | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_result: Callable[[RunRecord], None] | None = None,
    notify: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RobustnessResult:
    """Run every scenario in ``worlds`` plausible worlds with ``replicates`` shared seeds.

    ``scenarios``: scenario files or ``Scenario`` objects, the base first; the worlds are a
    Latin hypercube over the plausible ranges the base gives its assumptions, scrambled by
    ``seed`` (also the first run seed). With ``out`` the runs go into a folder store as they finish
    (``resume=True`` finishes one: stored runs are kept, failed ones run again) and the tables are
    written beside them (``RobustnessResult.save``); without, they are kept in memory and a failed
    run raises ``RunsFailed``. Runs execute on ``executor``, else on ``jobs`` local processes or the
    Dask scheduler at ``scheduler``. ``on_start(total, stored)`` is called once,
    ``on_result(record)`` as each run finishes, ``notify(text)`` with messages (folder store
    only); ``should_stop()`` returning true stops early (in memory only). Bad input raises
    an ``InputError`` before anything is written.
    """
    ensemble = build_ensemble(scenarios, worlds, replicates, seed)
    return run_ensemble(
        ensemble, out, executor=executor, jobs=jobs, scheduler=scheduler, resume=resume,
        on_start=on_start, on_result=on_result, notify=notify, should_stop=should_stop,
    )  # fmt: skip


def run_ensemble(
    ensemble: Ensemble,
    out: str | Path | None = None,
    *,
    executor: Executor | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_result: Callable[[RunRecord], None] | None = None,
    notify: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RobustnessResult:
    """``robustness`` for an ensemble already built (and so checked) by ``build_ensemble``.

    ``ensemble`` says what to run; ``out``, ``executor``, ``jobs``, ``scheduler``,
    ``resume``, ``on_start``, ``on_result``, ``notify`` and ``should_stop`` are as in
    ``robustness``.
    """
    if out is None:
        if resume:
            raise ArgumentError("--resume: finishes an ensemble stored in --out; allowed: --out")
        if on_start:
            on_start(ensemble.total, 0)
        with chosen_executor(executor, jobs, scheduler) as (ex, _):
            fail = env_fail_ids()
            tasks = ensemble.tasks(ensemble.points(), fail=fail)
            records = run_all(tasks, executor=ex, on_result=on_result, should_stop=should_stop)
        return RobustnessResult.from_records(ensemble, records)
    return _run_into_store(
        ensemble, Path(out), executor, jobs, scheduler, resume, on_start, on_result, notify
    )


def _run_into_store(
    ensemble: Ensemble,
    folder: Path,
    executor: Executor | None,
    jobs: int | None,
    scheduler: str | None,
    resume: bool,
    on_start: Callable[[int, int], None] | None,
    on_result: Callable[[RunRecord], None] | None,
    notify: Callable[[str], None] | None,
) -> RobustnessResult:
    """As ``experiments.sweep.run_sweep`` does for a sweep spec, for an ensemble."""
    manifest = check_folder(folder, ensemble, resume)  # type: ignore[arg-type]
    points = ensemble.points()
    say = notify or (lambda text: None)
    tally = RunTally(total=ensemble.total)
    with (
        stop_on_signals() as stop,
        chosen_executor(executor, jobs, scheduler) as (ex, slots),
        SweepStore.open(folder, ensemble, points, manifest, provenance()) as store,  # type: ignore[arg-type]
    ):
        if manifest is not None:
            points = read_points(folder)  # the design of record, whatever scipy does now
        done, failed_before = store.stored()
        if failed_before:
            store.drop_failed()
            say(f"running the {len(failed_before)} runs that failed before again")
        tally.stored_before = len(done)
        if on_start:
            on_start(tally.total, tally.stored_before)
        tasks = ensemble.tasks(points, done, env_fail_ids())
        drive(ex, tasks, slots, store, tally, stop, on_result, say,
              FLUSH_EVERY_RUNS, FLUSH_EVERY_SECONDS)  # fmt: skip
        if stop.forced and executor is None:
            abandon(ex)
    result = RobustnessResult.from_store(ensemble, folder, points)
    result.tally = tally
    if not tally.interrupted:
        result.save(folder)
    return result


# --- the result --------------------------------------------------------------------------


def world_bands(series: pd.DataFrame, variables: Sequence[str] = BANDED) -> pd.DataFrame:
    """Per scenario, date and variable: 10%, 50% and 90% across worlds of the per-world mean
    over seeds (the same columns as a comparison's bands, so the same charts draw them)."""
    columns = ["scenario", "date", "variable", "q10", "q50", "q90"]
    variables = [v for v in variables if v in series.columns]
    if series.empty or not variables:
        return pd.DataFrame(columns=columns)
    keys = ["scenario", "date", "world"]
    per_world = series.groupby(keys, sort=True)[variables].mean().reset_index()
    long = per_world.melt(id_vars=keys, value_vars=variables, var_name="variable")
    q = long.groupby(["scenario", "date", "variable"], sort=True)["value"].quantile(QUANTILES)
    frame = q.unstack().reset_index()
    frame.columns = columns
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[s]")
    return frame


def _tidy_runs(runs: pd.DataFrame, ensemble: Ensemble) -> pd.DataFrame:
    """One row per world x scenario x seed: identity, assumption values, every metric; the
    same whichever executor or store made it (volatile columns dropped, a fixed order)."""
    if runs.empty:
        return pd.DataFrame(columns=["world", "scenario", "seed", "replicate", "status"])
    drop = {"run_id", "point", "traceback", *VOLATILE_COLUMNS}
    frame = runs[[c for c in runs.columns if c not in drop]].copy()
    order = {name: i for i, name in enumerate(ensemble.names)}
    frame["_order"] = frame["scenario"].map(order)
    frame = frame.sort_values(["world", "_order", "seed"], kind="stable").drop(columns="_order")
    head = ["world", "scenario", "seed", "replicate", "status", "error", *ensemble.assumptions]
    head = [c for c in head if c in frame.columns]
    frame = frame[head + [c for c in frame.columns if c not in head]]
    return frame.reset_index(drop=True)


@dataclass
class RobustnessResult:
    """An ensemble's runs (one row per world x scenario x seed), daily bands across worlds,
    and the tables read from them (computed on first use; all from ``runs``)."""

    ensemble: Ensemble
    runs: pd.DataFrame
    bands: pd.DataFrame
    provenance: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None
    tally: RunTally | None = None

    # building

    @classmethod
    def from_records(cls, ensemble: Ensemble, records: Sequence[RunRecord]) -> RobustnessResult:
        """From finished runs in any order, also from a partial set (an app filling in).

        ``ensemble``: what was run; ``records``: the runs' records (``RunRecord``).
        """
        # through the Arrow table a folder store writes, so both give the same frame
        rows = rows_table([r.row() for r in records]).to_pandas() if records else pd.DataFrame()
        runs = _tidy_runs(rows, ensemble)
        series = [
            r.series.assign(world=r.params["world"], scenario=r.params["scenario"], seed=r.seed)
            for r in records
            if r.status == "ok" and r.series is not None
        ]
        frame = pd.concat(series, ignore_index=True) if series else pd.DataFrame()
        return cls(ensemble, runs, world_bands(frame), _provenance(ensemble))

    @classmethod
    def from_store(
        cls, ensemble: Ensemble, folder: Path, points: Sequence[dict[str, Any]]
    ) -> RobustnessResult:
        """From the runs stored in ``folder`` (a folder store) for ``ensemble``, whose design
        is ``points`` (``Ensemble.points()``)."""
        runs = _tidy_runs(read_runs(folder), ensemble)
        series = read_series(folder, columns=list(BANDED))
        if not series.empty:
            ids = pd.DataFrame(
                {
                    "point": range(len(points)),
                    "world": [p["world"] for p in points],
                    "scenario": [p["scenario"] for p in points],
                }  # fmt: skip
            )
            series = series.merge(ids, on="point")
        return cls(ensemble, runs, world_bands(series), _provenance(ensemble), folder)

    # what it holds

    @property
    def scenario_names(self) -> list[str]:
        return self.ensemble.names

    @property
    def metrics(self) -> list[str]:
        """Every summary metric of the registry that the runs carry."""
        return summary_metrics(self.runs.columns)

    @property
    def compared(self) -> list[str]:
        present = set(self.metrics)
        return [m for m in COMPARED if m in present]

    @property
    def contrasts(self) -> list[Contrast]:
        return article_contrasts(self.scenario_names)

    @property
    def headline(self) -> tuple[Contrast, str]:
        """The contrast the article asks about first, on factories shut (or, should the
        registry lose that metric, the first compared metric with a direction)."""
        directed = [m for m in self.compared if metrics.direction(m)]
        metric = "factories_shut" if "factories_shut" in self.compared else directed[0]
        return self.contrasts[0], metric

    @property
    def worlds_done(self) -> int:
        """Worlds in which every scenario has at least one finished run."""
        ok = self.runs[self.runs["status"] == "ok"]
        counts = ok.groupby("world")["scenario"].nunique()
        return int((counts == len(self.scenario_names)).sum())

    @cached_property
    def design(self) -> pd.DataFrame:
        """One row per world that has runs: the world's assumption values."""
        cols = ["world", *self.ensemble.assumptions]
        first = self.runs[cols].drop_duplicates("world").set_index("world").sort_index()
        return first

    @cached_property
    def assumption_matrix(self) -> pd.DataFrame:
        return numeric_assumptions(self.design, self.ensemble.axes)

    @cached_property
    def means(self) -> pd.DataFrame:
        return world_means(self.runs, self.metrics)

    @cached_property
    def levels(self) -> pd.DataFrame:
        return levels_table(self.means, self.scenario_names, self.metrics)

    def by_world(self, contrast: Contrast, metric: str) -> pd.DataFrame:
        """The contrast in each world: mean over seeds, 95% interval, seeds.

        ``contrast``: a policy against a reference (``contrasts`` lists the article's);
        ``metric``: a summary metric's name, in its own unit (``model.metrics``).
        """
        key = ("by_world", contrast, metric)
        if key not in self._cache:
            diffs_key = ("diffs", contrast)
            if diffs_key not in self._cache:
                self._cache[diffs_key] = paired_differences(self.runs, contrast, self.metrics)
            self._cache[key] = contrast_by_world(self._cache[diffs_key], metric)
        return self._cache[key]

    @cached_property
    def contrast_table(self) -> pd.DataFrame:
        rows = [
            contrast_row(self.by_world(c, m), c, m) for c in self.contrasts for m in self.metrics
        ]
        return pd.DataFrame(rows, columns=list(CONTRAST_COLUMNS))

    def contrast(self, contrast: Contrast, metric: str) -> dict[str, Any]:
        """One row of ``contrast_table`` as a dict: in how many worlds ``contrast`` is
        better, higher, lower or the same on ``metric``, its median and 10-90% range across
        worlds (in the metric's unit), and the seeds' interval inside a world."""
        t = self.contrast_table
        row = t[(t.contrast == contrast.name) & (t.metric == metric)]
        if row.empty:
            raise KeyError(f"no contrast {contrast.name!r} on {metric!r}")
        return row.iloc[0].to_dict()

    @cached_property
    def regret(self) -> pd.DataFrame:
        return regret_table(self.means, self.scenario_names, self.metrics)

    @cached_property
    def best(self) -> pd.DataFrame:
        return best_by_world(self.means, self.scenario_names, self.metrics)

    def drivers(self, contrast: Contrast, metric: str) -> pd.DataFrame:
        """The assumptions that drive ``contrast`` on ``metric`` across worlds, strongest
        first: Spearman's rank correlation (-1 to 1) with a 95% bootstrap interval."""
        key = ("drivers", contrast, metric)
        if key not in self._cache:
            y = self.by_world(contrast, metric).set_index("world")["mean"]
            self._cache[key] = driver_table(self.assumption_matrix, y, seed=self.ensemble.seed)
        return self._cache[key]

    @cached_property
    def driver_table(self) -> pd.DataFrame:
        """Drivers of every contrast on every compared metric with a direction."""
        frames = []
        for c in self.contrasts:
            for m in self.compared:
                if metrics.direction(m):
                    frames.append(self.drivers(c, m).assign(contrast=c.name, metric=m))
        if not frames:
            return pd.DataFrame(columns=["contrast", "metric", "parameter", "rho", "lo", "hi"])
        table = pd.concat(frames, ignore_index=True)
        return table[["contrast", "metric", *[c for c in table.columns if c not in
                                              ("contrast", "metric")]]]  # fmt: skip

    def flip(self, contrast: Contrast, metric: str) -> Flip:
        """Where the conclusion about ``contrast`` on ``metric`` does not hold: the worlds
        that are exceptions and, with PRIM (EMA Workbench), the box of assumption values
        that holds them (or a note why there is none)."""
        key = ("flip", contrast, metric)
        if key not in self._cache:
            self._cache[key] = find_flip(
                self.assumption_matrix,
                self.by_world(contrast, metric),
                contrast,
                metric,
                self.ensemble.axes,
            )
        return self._cache[key]

    @cached_property
    def flip_table(self) -> pd.DataFrame:
        rows = []
        for c in self.contrasts:
            for m in self.compared:
                if not metrics.direction(m):
                    continue
                f = self.flip(c, m)
                rows.append(
                    {
                        "contrast": c.name,
                        "metric": m,
                        "conclusion": f.conclusion,
                        "worlds": f.worlds,
                        "exceptions": f.exceptions,
                        "box": "; ".join(restriction_text(r) for r in f.restrictions),
                        "coverage": f.box.coverage if f.box else None,
                        "density": f.box.density if f.box else None,
                        "note": f.note,
                    }
                )
        return pd.DataFrame(rows)

    @cached_property
    def _cache(self) -> dict[Any, Any]:
        return {}

    # files

    def save(self, folder: str | Path) -> Path:
        """worlds.parquet, readable CSV tables, bands and robustness.json (written last),
        into ``folder`` (created if need be); ``RobustnessResult.load(folder)`` reads it."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        contrasts = _labelled(self.contrast_table)
        for name, frame, kind in (
            ("worlds.parquet", self.runs, "parquet"),
            ("bands.parquet", self.bands, "parquet"),
            ("robustness.csv", contrasts, "csv"),
            ("levels.csv", _labelled(self.levels), "csv"),
            ("regret.csv", _labelled(self.regret), "csv"),
            ("drivers.csv", _labelled(self.driver_table), "csv"),
            ("flips.csv", _labelled(self.flip_table), "csv"),
            ("best.csv", self.best.reset_index(), "csv"),
        ):
            write = frame.to_parquet if kind == "parquet" else frame.to_csv
            write_atomic(folder / name, lambda tmp, write=write: write(tmp, index=False))
        write_json_atomic(
            folder / "robustness.json",
            {
                "kind": KIND,
                "hash": self.ensemble.hash,
                "ensemble": self.ensemble.describe(),
                "provenance": self.provenance,
            },  # fmt: skip
        )
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> RobustnessResult:
        """Read what ``save`` wrote; a missing or damaged folder gives a StoreError."""
        folder = Path(folder)
        missing = [f for f in FILES if not (folder / f).is_file()]
        if missing:
            raise StoreError(
                f"{folder}: not a complete robustness folder (missing {', '.join(missing)}); "
                "allowed: a folder written by `laborflow robustness` or `laborflow brief`"
            )
        try:
            manifest = json.loads((folder / "robustness.json").read_text())
            if manifest.get("kind") != KIND:
                raise ValueError("robustness.json is not a laborflow robustness manifest")
            ensemble = ensemble_from_description(manifest["ensemble"], str(folder))
            runs = pd.read_parquet(folder / "worlds.parquet")
            bands = pd.read_parquet(folder / "bands.parquet")
            bands["date"] = bands["date"].astype("datetime64[s]")
        except (OSError, ValueError, KeyError, TypeError, ScenarioError) as err:
            raise StoreError(f"{folder}: robustness files are damaged: {err}") from err
        return cls(ensemble, runs, bands, manifest.get("provenance", {}), folder)


def ensemble_from_description(data: dict[str, Any], where: str) -> Ensemble:
    """The ensemble ``Ensemble.describe`` wrote, its scenarios checked again."""
    scenarios = tuple(Scenario.from_description(s, where) for s in data["scenarios"])
    axes = plausible_axes(scenarios[0])
    return Ensemble(scenarios, axes, int(data["worlds"]), int(data["replicates"]),
                    int(data["seed"]), int(data["series_every_days"]))  # fmt: skip


def _provenance(ensemble: Ensemble) -> dict[str, Any]:
    return provenance(
        seeds=ensemble.seeds(),
        worlds=ensemble.worlds,
        ensemble_hash=ensemble.hash,
        scenario_hashes={s.name: s.hash for s in ensemble.scenarios},
    )


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """A table for people: each metric's label and stored unit beside its name."""
    if "metric" not in frame.columns or frame.empty:
        return frame
    out = frame.copy()
    at = list(out.columns).index("metric") + 1
    out.insert(at, "label", [metrics.measure(m).label for m in out.metric])
    out.insert(at + 1, "unit", [metrics.measure(m).stored_unit for m in out.metric])
    return out
