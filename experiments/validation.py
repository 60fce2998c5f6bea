"""Does the model at its defaults reproduce what was observed? Stylized facts, checked.

Each fact states its source, what the model must show and the tolerance, and is run
on the status quo and policy scenarios over several seeds. A fact the model fails is
reported as failed: the table is evidence, not decoration.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from experiments.comparison import Comparison, compare
from experiments.store import RunRecord
from model.sanctions import REPATRIATION_DEADLINE
from model.scenario import SCENARIO_DIR, Scenario, load_scenario

VALIDATION_SCENARIOS = ("status_quo", "gradual_return", "abrupt_return", "visa_non_extension")


@dataclass(frozen=True)
class Fact:
    """A stylized fact: where it comes from, what the model must show, how close."""

    key: str
    claim: str
    source: str
    tolerance: str
    check: Callable[[Runs], tuple[float, bool]]
    unit: str = ""


class Runs:
    """Finished runs of the validation scenarios, several seeds each, run once on the driver."""

    def __init__(self, comparison: Comparison):
        self.comparison = comparison
        self.seeds = comparison.seeds
        self.scenarios = {s.name: s for s in comparison.scenarios}
        self._series: dict[str, list[pd.DataFrame]] = {}

    def series(self, name: str) -> list[pd.DataFrame]:
        """Each run's daily series of a scenario, indexed by date, in seed order."""
        if name not in self._series:
            rows = self.comparison.series[self.comparison.series.scenario == name]
            self._series[name] = [
                group.drop(columns=["scenario", "seed"]).set_index("date")
                for _, group in rows.groupby("seed", sort=True)
            ]
        return self._series[name]

    def summaries(self, name: str) -> pd.DataFrame:
        runs = self.comparison.runs
        return runs[runs.scenario == name].sort_values("seed")

    def mean_summary(self, name: str, key: str) -> float:
        return float(self.summaries(name)[key].mean())

    @property
    def params(self) -> dict:
        return self.scenarios["status_quo"].params


def _wage_ratio(runs: Runs) -> tuple[float, bool]:
    p = runs.params
    ratio = p["nk_wage_yuan_per_month"] / p["cn_wage_yuan_per_month"]
    return ratio, 0.35 <= ratio <= 0.6


def _yearly(runs: Runs, name: str, measure: Callable[[pd.DataFrame, int], float | None]):
    """``measure(series, year)`` for every run of a scenario and every year it is defined."""
    values = []
    for ts in runs.series(name):
        for year in sorted({d.year for d in ts.index}):
            value = measure(ts, year)
            if value is not None and value == value:
                values.append(value)
    return values


def _in_china(ts: pd.DataFrame, year: int, start: str, end: str) -> float:
    return ts.loc[f"{year}-{start}" : f"{year}-{end}", "nk_in_china"].mean()


def _holiday_dip(runs: Runs) -> tuple[float, bool]:
    """Share of the March workforce away in early April, averaged over years and seeds."""

    def dip(ts: pd.DataFrame, year: int) -> float:
        return 1 - _in_china(ts, year, "04-01", "04-14") / _in_china(ts, year, "03-10", "03-20")

    share = float(np.mean(_yearly(runs, "status_quo", dip)))
    return share, share >= 0.2


def _holiday_departure_in_late_march(runs: Runs) -> tuple[float, bool]:
    """Share of the spring's exits (15 March to 15 April) that happen 20 to 31 March."""

    def late_march(ts: pd.DataFrame, year: int) -> float | None:
        spring = ts.loc[f"{year}-03-15" : f"{year}-04-15", "border_exits"].sum()
        late = ts.loc[f"{year}-03-20" : f"{year}-03-31", "border_exits"].sum()
        return late / spring if spring else None

    share = float(np.mean(_yearly(runs, "status_quo", late_march)))
    return share, share >= 0.5


def _return_after_15_april(runs: Runs) -> tuple[float, bool]:
    """Recovery: workers in China in May as a share of mid-March; entries after 15 April."""

    def recovered(ts: pd.DataFrame, year: int) -> float:
        return _in_china(ts, year, "05-10", "05-31") / _in_china(ts, year, "03-10", "03-20")

    def after(ts: pd.DataFrame, year: int) -> float | None:
        entries = ts.loc[f"{year}-04-01" : f"{year}-05-15", "border_entries"]
        return entries.loc[f"{year}-04-16" :].sum() / entries.sum() if entries.sum() else None

    level = float(np.mean(_yearly(runs, "status_quo", recovered)))
    late = float(np.mean(_yearly(runs, "status_quo", after)))
    return level, level >= 0.95 and late >= 0.6


def _overstay_not_leave(runs: Runs) -> tuple[float, bool]:
    """Under non-extension: overstayers two months on, as a share of those in China then."""
    shares = []
    deadline = REPATRIATION_DEADLINE
    for ts in runs.series("visa_non_extension"):
        before = ts.loc[pd.Timestamp(deadline) - pd.Timedelta(days=1), "nk_in_china"]
        later = ts.loc[pd.Timestamp(deadline) + pd.Timedelta(days=60)]
        shares.append(later["nk_overstaying"] / before)
    share = float(np.mean(shares))
    return share, share >= 0.3


def _abrupt_worse_than_gradual(runs: Runs) -> tuple[float, bool]:
    diff = runs.mean_summary("abrupt_return", "factories_shut") - runs.mean_summary(
        "gradual_return", "factories_shut"
    )
    return diff, diff > 0


def _pool_cannot_refill(runs: Runs) -> tuple[float, bool]:
    """Local job seekers willing to work at 5,000 yuan, per North Korean position."""
    from model.model import LaborModel

    fresh = LaborModel(rng=runs.seeds[0], scenario=runs.scenarios["status_quo"])  # day 0 only
    share = fresh.market.willing_at(5000) / fresh.factories.nk_positions0.sum()
    return float(share), share < 0.5


def _status_quo_stable(runs: Runs) -> tuple[float, bool]:
    """Mean workers in China outside the holiday season, as a share of the start."""
    levels = []
    starts = runs.summaries("status_quo").initial_nk_workers
    for start, ts in zip(starts, runs.series("status_quo"), strict=True):
        off = ts[(ts.index.month < 3) | (ts.index.month > 5)].nk_in_china
        levels.append(off.mean() / start)
    level = float(np.mean(levels))
    return level, 0.9 <= level <= 1.1


def _gone_by_deadline(runs: Runs) -> tuple[float, bool]:
    left = runs.mean_summary("gradual_return", "nk_in_china_at_deadline")
    return left, left == 0


FACTS: tuple[Fact, ...] = (
    Fact(
        "wage_ratio",
        "North Korean workers are paid about half what Chinese workers get",
        "Daily NK 2019 (seed article): 2,000 against 4,000-5,000 yuan; Reuters 2017",
        "ratio of monthly wages between 0.35 and 0.6",
        _wage_ratio,
        "ratio",
    ),
    Fact(
        "holiday_departure",
        "A mass return to North Korea in late March",
        "Daily NK 2019 (seed article)",
        "at least half of the exits between 15 March and 15 April fall on 20-31 March",
        _holiday_departure_in_late_march,
        "share of exits",
    ),
    Fact(
        "holiday_dip",
        "The holiday departure visibly empties the workforce in early April",
        "Daily NK 2019 (seed article): 'easy to mistake their return ... for a permanent return'",
        "workers in China on 1-14 April at least 20% below 10-20 March",
        _holiday_dip,
        "share away",
    ),
    Fact(
        "holiday_return",
        "Most came back to China after 15 April",
        "Daily NK 2019 (seed article)",
        "workers in China in May at least 95% of mid-March; at least 60% of April-May "
        "entries after 15 April",
        _return_after_15_april,
        "May / March",
    ),
    Fact(
        "overstay_not_leave",
        "If China does not extend visas, workers become illegal migrants rather than leave",
        "Daily NK 2019 (seed article), Lee Geun Young (CASS)",
        "60 days after the last renewals at least 30% of the workers are overstaying",
        _overstay_not_leave,
        "share overstaying",
    ),
    Fact(
        "abrupt_worse",
        "Factories shut down if the workers suddenly leave",
        "Daily NK 2019 (seed article): 'factories will have to shut down if the North Korean "
        "workers suddenly leave'",
        "mean factories shut: abrupt return minus gradual return > 0",
        _abrupt_worse_than_gradual,
        "factories",
    ),
    Fact(
        "pool_cannot_refill",
        "There are no Chinese workers to fill their positions at 4,000-5,000 yuan",
        "Daily NK 2019 (seed article)",
        "local job seekers willing at 5,000 yuan fill fewer than half the North Korean positions",
        _pool_cannot_refill,
        "share of positions",
    ),
    Fact(
        "status_quo_stable",
        "About 20,000 North Korean workers in Dandong, kept by visa cycling",
        "Yonhap (H1 2017); Daily NK 2019 (seed article): workers keep entering",
        "outside March-May, workers in China average within 10% of the start",
        _status_quo_stable,
        "mean / start",
    ),
    Fact(
        "gone_by_deadline",
        "A repatriation programme that meets UNSC 2397 leaves no one by 22 December 2019",
        "UNSC 2397 para 8",
        "gradual return: no North Korean worker in China on the deadline",
        _gone_by_deadline,
        "workers",
    ),
)


def validation_scenarios(**overrides: Any) -> list[Scenario]:
    """The scenarios the facts are checked on, each with the same overrides of the world."""
    scenarios = [load_scenario(SCENARIO_DIR / f"{name}.toml") for name in VALIDATION_SCENARIOS]
    if overrides:
        scenarios = [s.with_overrides(overrides, origin="validation override") for s in scenarios]
    return scenarios


def validate(
    replicates: int = 3,
    master_seed: int = 1,
    executor: Executor | None = None,
    jobs: int | None = None,
    on_result: Callable[[RunRecord], None] | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Run the scenarios (in parallel, on the run driver) and check every fact; one row per
    fact with pass or fail. ``overrides`` change the world (not the policy) in every scenario.
    """
    comparison = compare(
        validation_scenarios(**overrides),
        replicates=replicates,
        master_seed=master_seed,
        executor=executor,
        jobs=jobs,
        on_result=on_result,
    )
    runs = Runs(comparison)
    rows = []
    for fact in FACTS:
        value, ok = fact.check(runs)
        rows.append(
            {
                "fact": fact.key,
                "claim": fact.claim,
                "source": fact.source,
                "tolerance": fact.tolerance,
                "model_value": round(float(value), 4),
                "unit": fact.unit,
                "result": "pass" if ok else "fail",
            }
        )
    return pd.DataFrame(rows)
