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
import math
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from experiments.comparison import as_scenarios, replicate_seeds
from experiments.design import Axis, run_id
from experiments.discovery import Box, find_box
from experiments.errors import StoreError
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
from model.metrics import BANDED, COMPARED, SUMMARY
from model.parameters import PARAMETERS, POLICY_PARAMETERS
from model.provenance import provenance
from model.scenario import Scenario

KIND = "laborflow robustness"
SERIES_EVERY_DAYS = 7
"""The ensemble keeps weekly daily series: enough for bands across worlds, a seventh of the
bytes."""
QUANTILES = (0.1, 0.5, 0.9)
BOOTSTRAP = 400
"""Bootstrap resamples of the worlds for the drivers' intervals (seeded: same tables always)."""
MIN_WORLDS_FOR_BOX = 10
"""PRIM needs some worlds to peel; with fewer the flip box is not looked for."""
MIN_EXCEPTIONS_FOR_BOX = 3
"""A box around one or two worlds describes those worlds, not a condition."""
FLIP_BOX_DENSITY = 0.9
"""The flip box is the widest PRIM box in which at least this share of worlds flip."""
PRUNE_SIGNIFICANCE = 0.05
"""A limit of the flip box whose quasi-p-value exceeds this is dropped as chance."""
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
        return draw_worlds(self.axes, self.worlds, self.seed)

    def points(self, worlds: Sequence[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """One point per (world, scenario), world by world."""
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
        """Runs not yet stored, world by world and seed by seed (paired results come early)."""
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
    scenario against the scenario rules (a bad input is one line, nothing written)."""
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

    With ``out`` the runs go into a folder store as they finish (``resume=True`` finishes
    one: stored runs are kept, failed ones run again) and the tables are written beside
    them (``RobustnessResult.save``); without, they are kept in memory and a failed run
    raises ``RunsFailed``. Runs execute on ``executor``, else on ``jobs`` local processes
    or the Dask scheduler at ``scheduler``. Bad input raises an ``InputError`` before
    anything is written.
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
    """``robustness`` for an ensemble already built (and so checked)."""
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


# --- tables ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contrast:
    """A policy against another: ``scenario`` minus ``reference``, world by world."""

    scenario: str
    reference: str

    @property
    def name(self) -> str:
        return f"{self.scenario} - {self.reference}"


def article_contrasts(names: Sequence[str]) -> list[Contrast]:
    """The article's question for any list of scenarios, base first: each policy against
    each earlier one (abrupt - gradual), then each policy against the base (- status quo)."""
    base, policies = names[0], list(names[1:])
    pairs = [Contrast(later, earlier) for i, earlier in enumerate(policies)
             for later in policies[i + 1:]]  # fmt: skip
    return pairs + [Contrast(p, base) for p in policies]


def summary_metrics(columns: Sequence[str]) -> list[str]:
    """Every summary metric of the registry that the runs carry, in the registry's order."""
    present = set(columns)
    return [m.name for m in SUMMARY if m.name in present]


def world_means(runs: pd.DataFrame, metric_names: Sequence[str]) -> pd.DataFrame:
    """Per (world, scenario): each metric's mean over the seeds that finished."""
    ok = runs[runs["status"] == "ok"]
    return ok.groupby(["world", "scenario"], sort=True)[list(metric_names)].mean()


def _quantiles(values: np.ndarray) -> tuple[float, float, float]:
    if not len(values):
        return (math.nan,) * 3
    q10, q50, q90 = np.quantile(values, QUANTILES)
    return float(q10), float(q50), float(q90)


def levels_table(
    means: pd.DataFrame, scenarios: Sequence[str], metric_names: Sequence[str]
) -> pd.DataFrame:
    """Per metric and scenario: median and 10-90% range across worlds of the per-world means."""
    rows = []
    for metric in metric_names:
        for name in scenarios:
            if name not in means.index.get_level_values("scenario"):
                continue
            values = means.xs(name, level="scenario")[metric].astype(float).dropna().to_numpy()
            q10, q50, q90 = _quantiles(values)
            rows.append(
                {
                    "metric": metric,
                    "scenario": name,
                    "worlds": len(values),
                    "median": q50,
                    "q10": q10,
                    "q90": q90,
                }  # fmt: skip
            )
    return pd.DataFrame(rows, columns=["metric", "scenario", "worlds", "median", "q10", "q90"])


def paired_differences(
    runs: pd.DataFrame, contrast: Contrast, metric_names: Sequence[str]
) -> pd.DataFrame:
    """Per (world, seed) both scenarios finished: scenario minus reference, every metric."""
    ok = runs[runs["status"] == "ok"]
    cols = list(metric_names)
    a = ok[ok["scenario"] == contrast.scenario].set_index(["world", "seed"])[cols]
    b = ok[ok["scenario"] == contrast.reference].set_index(["world", "seed"])[cols]
    return (a.astype(float) - b.astype(float)).dropna(how="all")


def contrast_by_world(diffs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per world: mean of the paired (same-seed) difference, its 95% t interval, seeds."""
    diff = diffs[metric].dropna() if metric in diffs else pd.Series(dtype=float)
    if diff.empty:
        return pd.DataFrame(columns=["world", "n", "mean", "lo", "hi"])
    grouped = diff.groupby(level="world")
    frame = pd.DataFrame({"n": grouped.size(), "mean": grouped.mean(), "sd": grouped.std(ddof=1)})
    t = stats.t.ppf(0.975, np.maximum(frame["n"] - 1, 1))
    half = np.where(frame["sd"] == 0, 0.0, t * frame["sd"] / np.sqrt(frame["n"]))
    half = np.where(frame["n"] < 2, np.nan, half)
    frame["lo"], frame["hi"] = frame["mean"] - half, frame["mean"] + half
    return frame.drop(columns="sd").reset_index()


CONTRAST_COLUMNS = (
    "contrast", "scenario", "reference", "metric", "direction", "worlds", "higher", "lower",
    "same", "better", "share_better", "conclusion", "agree", "median", "q10", "q90",
    "seed_width", "seed_width_q90",
)  # fmt: skip


def contrast_row(by_world: pd.DataFrame, contrast: Contrast, metric: str) -> dict[str, Any]:
    """One contrast on one metric across worlds.

    ``better`` counts the worlds in which the policy does better by the metric's direction
    (None for a neutral metric); ``conclusion`` is the sign of the median contrast (+1: the
    policy gives more, -1: less, 0: no difference) and ``agree`` the worlds that share it;
    ``seed_width`` is the median width of the paired 95% interval inside a world.
    """
    values = by_world["mean"].astype(float).to_numpy()
    higher, lower = int((values > 0).sum()), int((values < 0).sum())
    sign = metrics.direction(metric)
    better = None if sign == 0 else higher if sign > 0 else lower
    q10, q50, q90 = _quantiles(values)
    conclusion = 0 if not len(values) or q50 == 0 else int(np.sign(q50))
    widths = (by_world["hi"] - by_world["lo"]).astype(float).dropna().to_numpy()
    return {
        "contrast": contrast.name,
        "scenario": contrast.scenario,
        "reference": contrast.reference,
        "metric": metric,
        "direction": sign,
        "worlds": len(values),
        "higher": higher,
        "lower": lower,
        "same": len(values) - higher - lower,
        "better": better,
        "share_better": (better / len(values)) if better is not None and len(values) else None,
        "conclusion": conclusion,
        "agree": int((np.sign(values) == conclusion).sum()),
        "median": q50,
        "q10": q10,
        "q90": q90,
        "seed_width": float(np.median(widths)) if len(widths) else math.nan,
        "seed_width_q90": float(np.quantile(widths, 0.9)) if len(widths) else math.nan,
    }


def regret_table(
    means: pd.DataFrame, scenarios: Sequence[str], metric_names: Sequence[str]
) -> pd.DataFrame:
    """Per directional metric and scenario: worlds in which it is best, and its regret (how
    far it falls short of the best scenario of each world): median, 90th percentile, worst."""
    rows = []
    for metric in metric_names:
        sign = metrics.direction(metric)
        if sign == 0:
            continue
        wide = means[metric].unstack("scenario").reindex(columns=list(scenarios)).dropna()
        if wide.empty:
            continue
        best = wide.max(axis=1) if sign > 0 else wide.min(axis=1)
        regret = (wide.sub(best, axis=0)).abs()
        for name in scenarios:
            values = regret[name].to_numpy(dtype=float)
            rows.append(
                {
                    "metric": metric,
                    "scenario": name,
                    "worlds": len(values),
                    "best_in": int((values == 0).sum()),
                    "regret_median": float(np.median(values)),
                    "regret_q90": float(np.quantile(values, 0.9)),
                    "regret_max": float(values.max()),
                }
            )
    columns = ["metric", "scenario", "worlds", "best_in", "regret_median", "regret_q90",
               "regret_max"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def best_by_world(
    means: pd.DataFrame, scenarios: Sequence[str], metric_names: Sequence[str]
) -> pd.DataFrame:
    """Per world and directional metric: the best scenario (ties joined with ' = ')."""
    out = {}
    for metric in metric_names:
        sign = metrics.direction(metric)
        if sign == 0:
            continue
        wide = means[metric].unstack("scenario").reindex(columns=list(scenarios)).dropna()
        best = wide.max(axis=1) if sign > 0 else wide.min(axis=1)
        out[metric] = [
            " = ".join(c for c in wide.columns if row[c] == b)
            for (_, row), b in zip(wide.iterrows(), best, strict=True)
        ]
        out[metric] = pd.Series(out[metric], index=wide.index)
    return pd.DataFrame(out)


# --- what drives a contrast, and where it flips ------------------------------------------


def numeric_assumptions(design: pd.DataFrame, axes: Sequence[Axis]) -> pd.DataFrame:
    """The worlds' assumption values as numbers: dates as day ordinals, a set of values that
    are not numbers as the index of each value in its set."""
    x = pd.DataFrame(index=design.index)
    for axis in axes:
        column = design[axis.name]
        if axis.values is not None and not all(_is_number(v) for v in axis.values):
            x[axis.name] = column.map(list(axis.values).index).astype(float)
        elif axis.kind in ("date", "optional_date"):
            x[axis.name] = column.map(lambda v: v.toordinal()).astype(float)
        else:
            x[axis.name] = column.astype(float)
    return x


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _rank_correlations(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of y with each column of x (NaN where a column or y is constant);
    x (..., n, d) and y (..., n): leading axes are separate samples (bootstrap draws)."""
    ranks = stats.rankdata(np.concatenate([x, y[..., None]], axis=-1), axis=-2)
    ranks -= ranks.mean(axis=-2, keepdims=True)
    rx, ry = ranks[..., :-1], ranks[..., -1:]
    denominator = np.sqrt((rx**2).sum(axis=-2) * (ry**2).sum(axis=-2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (rx * ry).sum(axis=-2) / denominator, np.nan)


def driver_table(
    x: pd.DataFrame, y: pd.Series, resamples: int = BOOTSTRAP, seed: int = 0
) -> pd.DataFrame:
    """Each assumption's Spearman rank correlation with y across worlds, with a 95%
    bootstrap interval (worlds resampled), strongest first.

    In a Latin hypercube the assumptions are drawn independently, so rho squared is close
    to the assumption's first-order share of the variance of y's ranks: a global,
    monotone sensitivity measure that needs no extra runs (Saltelli et al. 2008, ch. 1).
    """
    columns = ["parameter", "rho", "lo", "hi", "worlds"]
    y = y.astype(float).dropna()
    x = x.loc[y.index]
    n = len(y)
    if n < 3:
        return pd.DataFrame(columns=columns)
    xs, ys = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
    rho = _rank_correlations(xs, ys)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(resamples, n))
    boots = _rank_correlations(xs[picks], ys[picks])
    with np.errstate(invalid="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: constant input
            lo, hi = np.nanpercentile(boots, [2.5, 97.5], axis=0)
    table = pd.DataFrame(
        {"parameter": list(x.columns), "rho": rho, "lo": lo, "hi": hi, "worlds": n}
    )
    strength = table["rho"].abs().fillna(-1)
    return table.iloc[np.argsort(-strength.to_numpy(), kind="stable")].reset_index(drop=True)


@dataclass(frozen=True)
class Restriction:
    """One limit of a flip box, in the parameter's own values (None: not limited there)."""

    parameter: str
    low: Any
    high: Any
    kept: float  # share of the parameter's plausible range inside the box


@dataclass(frozen=True)
class Flip:
    """Where a contrast's conclusion does not hold: the exceptions, and PRIM's box of them."""

    contrast: Contrast
    metric: str
    conclusion: int  # sign of the median contrast across worlds
    worlds: int
    exceptions: int  # worlds whose contrast does not have that sign
    box: Box | None = None
    restrictions: tuple[Restriction, ...] = ()
    note: str = ""  # why there is no box

    @property
    def flips(self) -> bool:
        return self.exceptions > 0


def _restrictions(box: Box, axes: Sequence[Axis]) -> tuple[Restriction, ...]:
    """The box's limits in each parameter's own values, narrowest first."""
    by_name = {a.name: a for a in axes}
    found = []
    for name, row in box.limits.iterrows():
        low_cut, high_cut = row.low > row.low_bound, row.high < row.high_bound
        if not (low_cut or high_cut):
            continue
        span = row.high_bound - row.low_bound
        kept = float((row.high - row.low) / span) if span > 0 else 1.0
        axis = by_name[name]
        found.append(
            Restriction(
                name,
                _natural(axis, row.low) if low_cut else None,
                _natural(axis, row.high) if high_cut else None,
                kept,
            )
        )
    return tuple(sorted(found, key=lambda r: r.kept))


def _natural(axis: Axis, x: float) -> Any:
    """A number of the numeric design back in the parameter's values."""
    if axis.values is not None and not all(_is_number(v) for v in axis.values):
        return axis.values[int(round(x))]
    if axis.kind in ("date", "optional_date"):
        import datetime as dt

        return dt.date.fromordinal(int(round(x)))
    if axis.kind == "int":
        return x  # PRIM cuts between observed whole values: keep its cut as it is
    return float(x)


def find_flip(
    x: pd.DataFrame,
    by_world: pd.DataFrame,
    contrast: Contrast,
    metric: str,
    axes: Sequence[Axis],
    min_density: float = FLIP_BOX_DENSITY,
) -> Flip:
    """The worlds where the contrast's sign differs from its median's, and the PRIM box
    (``experiments.discovery.find_box``) of assumption values that holds them."""
    values = by_world.set_index("world")["mean"].astype(float)
    q50 = float(np.median(values)) if len(values) else 0.0
    conclusion = 0 if q50 == 0 else int(np.sign(q50))
    exceptions = np.sign(values.to_numpy()) != conclusion
    flip = Flip(contrast, metric, conclusion, len(values), int(exceptions.sum()))
    if not flip.flips:
        return dataclasses.replace(flip, note="never flips in the plausible ranges")
    if exceptions.all():
        return dataclasses.replace(flip, note="no conclusion to flip: as many worlds each way")
    if flip.exceptions < MIN_EXCEPTIONS_FOR_BOX:
        return dataclasses.replace(
            flip, note=f"too few to find a pattern in (PRIM needs at least "
            f"{MIN_EXCEPTIONS_FOR_BOX})"
        )  # fmt: skip
    if len(values) < MIN_WORLDS_FOR_BOX:
        return dataclasses.replace(
            flip, note=f"too few worlds ({len(values)}) to look for a box; at least "
            f"{MIN_WORLDS_FOR_BOX} are needed"
        )  # fmt: skip
    box = prune_box(find_box(x.loc[values.index], exceptions, min_density),
                    x.loc[values.index], exceptions)  # fmt: skip
    return dataclasses.replace(flip, box=box, restrictions=_restrictions(box, axes))


def _inside(limits: pd.DataFrame, x: pd.DataFrame) -> np.ndarray:
    inside = np.ones(len(x), dtype=bool)
    for name, row in limits.iterrows():
        column = x[name].to_numpy(dtype=float)
        inside &= (column >= row.low) & (column <= row.high)
    return inside


def _box_stats(limits: pd.DataFrame, x: pd.DataFrame, interesting: np.ndarray):
    """(coverage, density, mass) of a box given as limits on the columns of x."""
    inside = _inside(limits, x)
    cases = interesting.sum()
    coverage = (inside & interesting).sum() / cases if cases else 0.0
    density = (inside & interesting).sum() / inside.sum() if inside.any() else 0.0
    return float(coverage), float(density), float(inside.mean())


def prune_box(
    box: Box, x: pd.DataFrame, interesting: np.ndarray, significance: float = PRUNE_SIGNIFICANCE
) -> Box:
    """Drop the limits that do not earn their place, one side at a time, least significant
    first, until every limit left has a quasi-p-value of at most ``significance``.

    PRIM peels a little off many dimensions on the way to the box that matters; with a few
    dozen worlds and thirty assumptions some of those cuts are chance. A limit's quasi-p
    value (Bryant and Lempert 2010, as the EMA Workbench computes it for ``inspect``) is the
    one-sided binomial test of the box's density against the density of the box with that
    limit removed; a box with fewer limits states the condition people can act on.
    """
    limits = box.limits.copy()
    while True:
        inside = _inside(limits, x)
        hits, size = int((inside & interesting).sum()), int(inside.sum())
        weakest, weakest_p = None, significance
        for name, row in limits.iterrows():
            for side, bound in (("low", "low_bound"), ("high", "high_bound")):
                if row[side] == row[bound]:
                    continue
                relaxed = limits.copy()
                relaxed.loc[name, side] = row[bound]
                wider = _inside(relaxed, x)
                p = interesting[wider].mean()
                qp = stats.binomtest(hits, size, p, alternative="greater").pvalue
                if qp > weakest_p:
                    weakest, weakest_p = (name, side, bound), qp
        if weakest is None:
            break
        name, side, bound = weakest
        limits.loc[name, side] = limits.loc[name, bound]
    coverage, density, mass = _box_stats(limits, x, interesting)
    return dataclasses.replace(box, limits=limits, coverage=coverage, density=density, mass=mass)


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
        """From finished runs in any order, also from a partial set (an app filling in)."""
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
        """The contrast in each world: mean over seeds, 95% interval, seeds."""
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
                        "box": "; ".join(_restriction_text(r) for r in f.restrictions),
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
        """worlds.parquet, readable CSV tables, bands and robustness.json (written last)."""
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


def _restriction_text(r: Restriction) -> str:
    """'a <= name <= b' (or one side) in plain characters, for CSV files and the terminal."""

    def show(v: Any) -> str:
        return f"{v:.4g}" if _is_number(v) else str(_jsonable(v))

    low = "" if r.low is None else f"{show(r.low)} <= "
    high = "" if r.high is None else f" <= {show(r.high)}"
    return f"{low}{r.parameter}{high}"
