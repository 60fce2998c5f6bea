"""Replicates and paired scenario comparisons under common random numbers.

Every scenario in a comparison is run with the same list of seeds. Because the model's
random draws are keyed by (seed, purpose, individual, day), two scenarios with the same
seed share every draw until their policies differ, so the per-seed difference between
them is the policy's effect with little noise left in it: the paired intervals here are
much narrower than intervals on the two levels would suggest.

Runs execute on any ``concurrent.futures.Executor``: in-process, a local process pool,
or a Dask cluster's executor.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from experiments.executors import local_executor
from model import metrics
from model.metrics import BANDED, COMPARED
from model.scenario import Scenario, ScenarioError, load_scenario

QUANTILES = (0.1, 0.5, 0.9)
COMPARISON_FILES = ("manifest.json", "runs.parquet", "comparison.parquet", "bands.parquet")


@dataclass
class RunResult:
    """What one run sends back: its summary and (sampled) daily series."""

    scenario: str
    seed: int
    summary: dict[str, Any]
    series: pd.DataFrame


def run_one(scenario: Scenario, seed: int, sample_every_days: int = 1) -> RunResult:
    """Run a scenario to its end date with one seed (a top-level function: it pickles)."""
    from model.model import LaborModel

    model = LaborModel(rng=seed, scenario=scenario)
    model.run_model()
    series = model.timeseries()
    if sample_every_days > 1:
        series = series.iloc[::sample_every_days].reset_index(drop=True)
    return RunResult(scenario.name, seed, model.summary(), series)


def replicate_seeds(master_seed: int, replicates: int) -> list[int]:
    """The seeds every scenario is run with: master_seed, master_seed + 1, ..."""
    if replicates < 1:
        raise ScenarioError(f"--replicates: {replicates}; allowed: an integer >= 1")
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

    @property
    def base(self) -> str:
        return self.scenarios[0].name

    def metric(self, metric: str, scenario: str) -> dict[str, float]:
        """One row of the table as a dict (mean, lo, hi, diff_mean, diff_lo, diff_hi)."""
        row = self.table[(self.table.metric == metric) & (self.table.scenario == scenario)]
        if row.empty:
            raise KeyError(f"no {metric!r} for scenario {scenario!r}")
        return row.iloc[0].to_dict()

    def save(self, folder: str | Path) -> Path:
        """Write Parquet (and CSV) files and a manifest; the manifest is written last."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.runs.to_parquet(folder / "runs.parquet", index=False)
        self.runs.to_csv(folder / "runs.csv", index=False)
        self.table.to_parquet(folder / "comparison.parquet", index=False)
        readable = self.table.copy()  # for people: each metric's label and unit beside its name
        readable.insert(1, "label", [metrics.measure(m).label for m in readable.metric])
        readable.insert(2, "unit", [metrics.measure(m).stored_unit for m in readable.metric])
        readable.to_csv(folder / "comparison.csv", index=False)
        self.bands.to_parquet(folder / "bands.parquet", index=False)
        manifest = {
            "kind": "laborflow comparison",
            "base": self.base,
            "seeds": self.seeds,
            "scenarios": [scenario_manifest(s) for s in self.scenarios],
            "provenance": self.provenance,
        }
        tmp = folder / ".manifest.json.tmp"
        tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        os.replace(tmp, folder / "manifest.json")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Comparison:
        """Read a saved comparison; a missing or damaged folder gives a ScenarioError."""
        folder = Path(folder)
        if not folder.is_dir():
            raise ScenarioError(f"{folder}: no such comparison folder")
        missing = [f for f in COMPARISON_FILES if not (folder / f).is_file()]
        if missing:
            raise ScenarioError(
                f"{folder}: not a complete comparison folder (missing {', '.join(missing)}); "
                "allowed: a folder written by `laborflow compare --out`"
            )
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            if manifest.get("kind") != "laborflow comparison":
                raise ValueError("manifest.json is not a laborflow comparison manifest")
            scenarios = [_scenario_from_manifest(m) for m in manifest["scenarios"]]
            runs = pd.read_parquet(folder / "runs.parquet")
            table = pd.read_parquet(folder / "comparison.parquet")
            bands = pd.read_parquet(folder / "bands.parquet")
            bands["date"] = bands["date"].astype("datetime64[s]")  # Parquet stores [ms]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ScenarioError(f"{folder}: comparison files are damaged: {err}") from err
        return cls(scenarios, list(manifest["seeds"]), runs, table, bands, manifest["provenance"])


def scenario_manifest(s: Scenario) -> dict[str, Any]:
    return {
        "name": s.name,
        "title": s.title,
        "description": s.description,
        "path": s.path,
        "hash": s.hash,
        "parameters": s.table(),
    }


def _scenario_from_manifest(m: dict[str, Any]) -> Scenario:
    """Rebuild a Scenario (values and their sources) from a manifest entry."""
    from model.parameters import PARAMS_BY_NAME, coerce
    from model.scenario import ParamRecord

    params, records = {}, {}
    for row in m["parameters"]:
        spec = PARAMS_BY_NAME[row["parameter"]]
        value = coerce(spec, row["value"], "manifest.json", row["parameter"])
        params[spec.name] = value
        records[spec.name] = ParamRecord(
            spec.name,
            value,
            spec.unit,
            row["source"],
            row["status"] == "sourced",
            row["defined_in"],
        )
    return Scenario(m["name"], m["title"], m["description"], params, records, m.get("path"))


def flatten_summary(summary: dict[str, Any]) -> dict[str, Any]:
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


def compare(
    scenarios: Sequence[Scenario | str | Path],
    replicates: int = 8,
    master_seed: int = 1,
    executor: Executor | None = None,
    on_result: Callable[[RunResult, int, int], None] | None = None,
) -> Comparison:
    """Run every scenario with the same seeds and compare each with the first (the base).

    ``on_result(result, done, total)`` is called as runs finish (for progress bars and
    apps that fill in as results arrive).
    """
    scenarios = as_scenarios(scenarios)
    if not scenarios:
        raise ScenarioError("compare: no scenarios given; allowed: one or more scenario files")
    seeds = replicate_seeds(master_seed, replicates)
    own = executor is None
    executor = executor or local_executor(None)
    results: list[RunResult] = []
    try:
        futures = [executor.submit(run_one, s, seed) for s in scenarios for seed in seeds]
        for future in as_completed(futures):
            result = future.result()
            results.append(result)
            if on_result:
                on_result(result, len(results), len(futures))
    finally:
        if own:
            executor.shutdown(cancel_futures=True)
    return build_comparison(scenarios, seeds, results)


def build_comparison(
    scenarios: Sequence[Scenario], seeds: list[int], results: Sequence[RunResult]
) -> Comparison:
    """Tables and bands from finished runs (in any order; also from a partial set)."""
    order = {s.name: i for i, s in enumerate(scenarios)}
    results = sorted(results, key=lambda r: (order[r.scenario], r.seed))
    runs = pd.DataFrame(
        [{"scenario": r.scenario, "seed": r.seed, **flatten_summary(r.summary)} for r in results]
    )
    series = pd.concat(
        [r.series.assign(scenario=r.scenario, seed=r.seed) for r in results], ignore_index=True
    )
    from model.provenance import git_commit, package_version

    provenance = {
        "version": package_version(),
        "git_commit": git_commit(),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seeds": seeds,
        "scenario_hashes": {s.name: s.hash for s in scenarios},
    }
    return Comparison(
        list(scenarios),
        seeds,
        runs,
        summarize_runs(runs, scenarios[0].name),
        series_bands(series),
        provenance,
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
