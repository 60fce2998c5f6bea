"""Paired scenario comparisons under common random numbers.

Every scenario in a comparison is run with the same list of seeds. Because the model's
random draws are keyed by (seed, purpose, individual, day), two scenarios with the same
seed share every draw until their policies differ, so the per-seed difference between
them is the policy's effect with little noise left in it: the paired intervals here are
much narrower than intervals on the two levels would suggest.

A comparison is a sweep over a scenario axis times seeds: it runs on the one run driver
(``experiments.runner``), kept in memory, on any executor (in this process, a local process
pool or a Dask cluster).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from experiments.errors import StoreError
from experiments.runner import RunTask, run_all
from experiments.store import RunRecord
from model import metrics
from model.errors import ArgumentError, ScenarioError
from model.files import make_folders, write_atomic, write_json_atomic
from model.metrics import BANDED, COMPARED
from model.provenance import provenance
from model.scenario import Scenario, load_scenario

__all__ = [
    "compare",
    "Comparison",
]
"""The public API (the reference, ``make docs``, documents these)."""

QUANTILES = (0.1, 0.5, 0.9)
COMPARISON_FILES = ("manifest.json", "runs.parquet", "comparison.parquet", "bands.parquet")


def replicate_seeds(master_seed: int, replicates: int) -> list[int]:
    """The seeds every scenario is run with: master_seed, master_seed + 1, ..."""
    if replicates < 1:
        raise ArgumentError(f"--replicates: {replicates}; allowed: a whole number of at least 1")
    if master_seed < 0:
        raise ArgumentError(f"--seed: {master_seed}; allowed: a whole number of at least 0")
    return [master_seed + i for i in range(replicates)]


def mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t interval; a constant sample has a zero-width interval."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    n = len(values)
    if n < 2:
        return mean, float("nan"), float("nan")
    sd = float(values.std(ddof=1))
    if sd == 0.0:
        return mean, mean, mean
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / np.sqrt(n)
    return mean, mean - half, mean + half


def summarize_runs(
    runs: pd.DataFrame, base: str, metrics: Sequence[str] = COMPARED
) -> pd.DataFrame:
    """Per metric and scenario: mean with 95% interval, and paired difference from base."""
    rows = []
    scenarios = list(dict.fromkeys(runs["scenario"]))
    base_runs = runs[runs["scenario"] == base].set_index("seed")
    for metric in metrics:
        for name in scenarios:
            these = runs[runs["scenario"] == name].set_index("seed")
            values = these[metric].astype(float).dropna()
            if values.empty:
                continue
            mean, lo, hi = mean_interval(values.to_numpy())
            paired = (these[metric] - base_runs[metric]).astype(float).dropna()
            d_mean, d_lo, d_hi = mean_interval(paired.to_numpy()) if len(paired) else (np.nan,) * 3
            rows.append(
                {
                    "metric": metric,
                    "scenario": name,
                    "n": len(values),
                    "mean": mean,
                    "lo": lo,
                    "hi": hi,
                    "diff_mean": d_mean,
                    "diff_lo": d_lo,
                    "diff_hi": d_hi,
                }
            )
    return pd.DataFrame(rows)


def series_bands(series: pd.DataFrame, variables: Sequence[str] = BANDED) -> pd.DataFrame:
    """Per scenario, date and variable: the 10%, 50% and 90% quantiles across replicates."""
    frames = []
    for name, group in series.groupby("scenario", sort=False):
        wide = group.pivot_table(index="date", columns="seed", values=list(variables))
        for var in variables:
            q = np.quantile(wide[var].to_numpy(), QUANTILES, axis=1)
            frames.append(
                pd.DataFrame(
                    {
                        "scenario": name,
                        "date": wide.index,
                        "variable": var,
                        "q10": q[0],
                        "q50": q[1],
                        "q90": q[2],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


@dataclass
class Comparison:
    """Scenarios run with the same seeds: runs, the summary table, and daily bands."""

    scenarios: list[Scenario]
    seeds: list[int]
    runs: pd.DataFrame
    table: pd.DataFrame
    bands: pd.DataFrame
    provenance: dict[str, Any] = field(default_factory=dict)
    series: pd.DataFrame | None = None  # every run's daily series (not saved: bands are)

    @property
    def base(self) -> str:
        return self.scenarios[0].name

    def metric(self, metric: str, scenario: str) -> dict[str, float]:
        """One row of the table as a dict (mean, lo, hi, diff_mean, diff_lo, diff_hi).

        ``metric`` is a summary metric's name (``factories_shut``; its unit is
        ``model.metrics.measure(metric).unit``), ``scenario`` a scenario's name; the
        ``diff_*`` values are the paired difference from the base scenario with its 95%
        interval.
        """
        row = self.table[(self.table.metric == metric) & (self.table.scenario == scenario)]
        if row.empty:
            raise KeyError(f"no {metric!r} for scenario {scenario!r}")
        return row.iloc[0].to_dict()

    def save(self, folder: str | Path) -> Path:
        """Write Parquet (and CSV) files and a manifest into ``folder`` (created if need
        be); the manifest is written last. ``Comparison.load(folder)`` reads it back."""
        folder = Path(folder)
        make_folders(folder)
        readable = self.table.copy()  # for people: each metric's label and unit beside its name
        readable.insert(1, "label", [metrics.measure(m).label for m in readable.metric])
        readable.insert(2, "unit", [metrics.measure(m).stored_unit for m in readable.metric])
        for name, frame, kind in (
            ("runs.parquet", self.runs, "parquet"),
            ("runs.csv", self.runs, "csv"),
            ("comparison.parquet", self.table, "parquet"),
            ("comparison.csv", readable, "csv"),
            ("bands.parquet", self.bands, "parquet"),
        ):
            write = frame.to_parquet if kind == "parquet" else frame.to_csv
            write_atomic(folder / name, lambda tmp, write=write: write(tmp, index=False))
        manifest = {
            "kind": "laborflow comparison",
            "base": self.base,
            "seeds": self.seeds,
            "scenarios": [s.describe() for s in self.scenarios],
            "provenance": self.provenance,
        }
        write_json_atomic(folder / "manifest.json", manifest)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Comparison:
        """Read a saved comparison; a missing or damaged folder gives a StoreError."""
        folder = Path(folder)
        if not folder.is_dir():
            raise StoreError(f"{folder}: no such comparison folder")
        missing = [f for f in COMPARISON_FILES if not (folder / f).is_file()]
        if missing:
            raise StoreError(
                f"{folder}: not a complete comparison folder (missing {', '.join(missing)}); "
                "allowed: a folder written by `laborflow compare --out`"
            )
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            if manifest.get("kind") != "laborflow comparison":
                raise ValueError("manifest.json is not a laborflow comparison manifest")
            where = str(folder / "manifest.json")
            scenarios = [Scenario.from_description(m, where) for m in manifest["scenarios"]]
            runs = pd.read_parquet(folder / "runs.parquet")
            table = pd.read_parquet(folder / "comparison.parquet")
            bands = pd.read_parquet(folder / "bands.parquet")
            bands["date"] = bands["date"].astype("datetime64[s]")  # Parquet stores [ms]
        except (OSError, ValueError, KeyError, TypeError, RecursionError, ScenarioError) as err:
            raise StoreError(f"{folder}: comparison files are damaged: {err}") from err
        return cls(scenarios, list(manifest["seeds"]), runs, table, bands, manifest["provenance"])


def as_scenarios(items: Iterable[Scenario | str | Path]) -> list[Scenario]:
    """Scenario objects from objects or file paths; names must be distinct."""
    loaded = [s if isinstance(s, Scenario) else load_scenario(s) for s in items]
    seen: dict[str, int] = {}
    scenarios = []
    for s in loaded:  # the same scenario twice (a file against itself): tell them apart
        seen[s.name] = seen.get(s.name, 0) + 1
        n = seen[s.name]
        scenarios.append(s if n == 1 else dataclasses.replace(s, name=f"{s.name}#{n}"))
    return scenarios


def comparison_tasks(
    scenarios: Sequence[Scenario], seeds: Sequence[int], series_every_days: int = 1
) -> list[RunTask]:
    """Every scenario with every seed, seed by seed, so paired differences appear early."""
    return [
        RunTask(f"{i:06d}-{r:03d}", i, r, seed, s, {"scenario": s.name}, series_every_days)
        for r, seed in enumerate(seeds)
        for i, s in enumerate(scenarios)
    ]


def compare(
    scenarios: Sequence[Scenario | str | Path],
    replicates: int = 8,
    master_seed: int = 1,
    executor: Executor | None = None,
    jobs: int | None = None,
    on_result: Callable[[RunRecord], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Comparison:
    """Run every scenario with the same seeds and compare each with the first (the base).

    ``scenarios``: scenario files or loaded ``Scenario`` objects, the base first.
    ``replicates``: runs per scenario (seeds ``master_seed``, ``master_seed + 1``, ...,
    the same for every scenario, so differences are the policy's, not noise). Runs go to
    ``executor`` if given, else to ``jobs`` local processes (all cores by default).
    ``on_result(record)`` is called as runs finish (progress bars, apps that fill in as results
    arrive); ``should_stop()`` returning true stops early (``Interrupted``).
    """
    scenarios = as_scenarios(scenarios)
    if not scenarios:
        raise ArgumentError("compare: no scenarios given; allowed: one or more scenario files")
    seeds = replicate_seeds(master_seed, replicates)
    records = run_all(
        comparison_tasks(scenarios, seeds),
        executor=executor,
        jobs=jobs,
        on_result=on_result,
        should_stop=should_stop,
    )
    return build_comparison(scenarios, seeds, records)


def build_comparison(
    scenarios: Sequence[Scenario], seeds: list[int], records: Sequence[RunRecord]
) -> Comparison:
    """Tables and bands from finished runs (in any order; also from a partial set)."""
    order = {s.name: i for i, s in enumerate(scenarios)}
    ok = sorted(
        (r for r in records if r.status == "ok"),
        key=lambda r: (order[r.params["scenario"]], r.seed),
    )
    runs = pd.DataFrame(
        [{"scenario": r.params["scenario"], "seed": r.seed, **r.summary} for r in ok]
    )
    series = pd.concat(
        [r.series.assign(scenario=r.params["scenario"], seed=r.seed) for r in ok],
        ignore_index=True,
    )
    return Comparison(
        list(scenarios),
        seeds,
        runs,
        summarize_runs(runs, scenarios[0].name),
        series_bands(series),
        provenance(seeds=seeds, scenario_hashes={s.name: s.hash for s in scenarios}),
        series=series,
    )


def paired_difference(
    runs: pd.DataFrame, metric: str, scenario: str, reference: str
) -> tuple[float, float, float]:
    """Mean of ``scenario - reference`` over shared seeds, with its 95% interval."""
    a = runs[runs.scenario == scenario].set_index("seed")[metric]
    b = runs[runs.scenario == reference].set_index("seed")[metric]
    diff = (a - b).astype(float).dropna()
    if diff.empty:
        raise KeyError(f"no shared seeds for {scenario!r} and {reference!r} on {metric!r}")
    return mean_interval(diff.to_numpy())
