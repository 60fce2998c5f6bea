"""Every number a run reports, described once: its name, label, unit, scale, colour, meaning.

The daily series (``SERIES``) and the summary metrics (``SUMMARY``) are listed here, and
everything that shows a number (the command line's tables, CSV files, the app, the brief,
the charts) takes its label, unit and colour from this module and turns values into text
with ``fmt``, ``fmt_interval`` and ``fmt_estimate``, so a metric reads the same everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from model.sanctions import REPATRIATION_DEADLINE

MILLION = 1e-6
DEADLINE = f"{REPATRIATION_DEADLINE.day} {REPATRIATION_DEADLINE:%b %Y}"


@dataclass(frozen=True)
class Measure:
    """One reported number: what it is called, its unit, and how it is shown."""

    name: str
    label: str
    unit: str  # the unit it is shown in (after ``scale``)
    meaning: str
    scale: float = 1.0  # shown value = stored value * scale (yuan -> million yuan)
    color: str = "#444444"
    integer: bool = True  # a count (people, positions, factories) rather than an amount

    @property
    def stored_unit(self) -> str:
        """The unit of the number as stored (files, DataFrames), before ``scale``."""
        return "yuan" if self.scale == MILLION else self.unit

    @property
    def label_with_unit(self) -> str:
        """'Output lost (million yuan)': the unit where the label alone leaves it open."""
        spelled = self.unit in self.label.lower() or self.unit in ("", self.label.lower())
        return self.label if spelled else f"{self.label} ({self.unit})"


def _count(name: str, label: str, unit: str, meaning: str, color: str = "#444444") -> Measure:
    return Measure(name, label, unit, meaning, color=color)


def _yuan(name: str, label: str, unit: str, meaning: str, scale: float = 1.0) -> Measure:
    return Measure(name, label, unit, meaning, scale=scale, integer=False)


# Daily series, in the order of the columns of ``LaborModel.timeseries()``.
# fmt: off
SERIES: tuple[Measure, ...] = (
    _count("nk_in_china", "North Korean workers in China", "workers",
           "North Korean workers in China that day: working, overstaying or detained.", "#1f6fb4"),
    _count("nk_working", "Working (valid visa)", "workers",
           "In China, employed, with a valid visa.", "#1f6fb4"),
    _count("nk_away", "Away (renewal trip, holiday)", "workers",
           "Employed but outside China on a visa-renewal trip or the April holiday.", "#8ecae6"),
    _count("nk_overstaying", "Overstaying", "workers",
           "In China and still working after the visa expired.", "#e09f3e"),
    _count("nk_detained", "Detained", "workers",
           "Caught by an inspection, awaiting deportation.", "#d1495b"),
    _count("nk_waiting", "Waiting to go home", "workers",
           "In China without work (their factory shut) while the border is closed.", "#9aa5b1"),
    _count("nk_repatriated", "Gone home for good", "workers",
           "Cumulative: left China for good, for any reason.", "#6b6b6b"),
    _count("nk_arrived", "New arrivals", "workers",
           "Cumulative: new workers who entered China.", "#2a9d8f"),
    _count("nk_work_visa", "Working on a work visa", "workers",
           "Working, holding a work visa.", "#264653"),
    _count("nk_training_visa", "Working on a training visa", "workers",
           "Working, holding a training visa.", "#2a9d8f"),
    _count("nk_student_visa", "Working on a student visa", "workers",
           "Working, holding a student visa.", "#e9c46a"),
    _count("border_entries", "Entries into China", "crossings",
           "North Korean workers who crossed into China that day.", "#1f6fb4"),
    _count("border_exits", "Exits from China", "crossings",
           "North Korean workers who crossed out of China that day.", "#d1495b"),
    _count("cn_employed", "Chinese workers employed", "workers",
           "Local workers employed by these factories.", "#e09f3e"),
    _count("cn_job_seekers", "Job seekers in the city", "people",
           "People in the city looking for work in these factories.", "#9aa5b1"),
    _count("cn_hires", "Chinese workers hired", "workers",
           "Chinese workers hired that day (hiring happens once a week).", "#2a9d8f"),
    _count("cn_quits", "Chinese workers who quit", "workers",
           "Chinese workers who left their jobs that day for reasons of their own (weekly).",
           "#e09f3e"),
    Measure("cn_wage_mean", "Chinese wage", "yuan per month",
            "Mean monthly wage of the Chinese staff of operating factories.", color="#e09f3e",
            integer=False),
    _count("positions", "Positions", "positions",
           "Positions in operating factories.", "#444444"),
    _count("positions_lost", "Positions lost", "positions",
           "Positions cut, plus those of factories that shut, since the start.", "#6b6b6b"),
    _count("labor_gap", "Labour gap", "positions",
           "Positions in operating factories that nobody staffs that day; positions cut or in "
           "shut factories drop out of it (they are positions lost).", "#d1495b"),
    Measure("hours_per_day", "Working day", "hours",
            "Mean hours a day of the workers present in operating factories.", color="#335c67",
            integer=False),
    _count("factories_operating", "Factories operating", "factories",
           "Factories still operating.", "#2a9d8f"),
    _count("factories_distressed", "Factories losing money", "factories",
           "Operating factories whose last month's operating profit was negative.", "#e9c46a"),
    _count("factories_shut", "Factories shut", "factories",
           "Cumulative: factories that have shut down.", "#d1495b"),
    _yuan("wage_bill", "Wage bill", "yuan per day",
          "Wages paid that day, North Korean and Chinese together."),
    _yuan("output", "Output", "yuan per day", "Value added that day."),
    _yuan("extra_wage_cost", "Extra wage cost", "yuan per day",
          "What replacing North Korean by Chinese workers adds to the wage bill that day."),
    _yuan("nk_wages_to_state", "North Korean wages taken by the state", "yuan per day",
          "The state's and managers' share of the North Korean wages paid that day."),
    _yuan("fines_on_employers", "Fines on factories", "yuan per day",
          "Fines on factories for illegally employed workers (capped per case)."),
    _yuan("fines_on_workers", "Fines on workers", "yuan per day",
          "Fines on workers found working illegally or overstaying."),
)

SERIES_BY_NAME: dict[str, Measure] = {m.name: m for m in SERIES}

# Summary metrics of a run, in the order tables show them; the first ones are compared.
SUMMARY: tuple[Measure, ...] = (
    _count("factories_shut", "Factories shut", "factories",
           "Factories shut by the end of the run.", "#d1495b"),
    _count("positions_lost", "Positions lost", "positions",
           "Positions cut, plus those of factories that shut, by the end of the run.", "#6b6b6b"),
    _count("peak_labor_gap_after_policy", "Peak labour gap after the policy starts",
           "positions",
           "The most positions left unstaffed on any day from the policy's start (for the "
           "status quo: from the UN 2397 deadline).", "#d1495b"),
    _count("cn_jobs_lost", "Chinese jobs lost with shut factories", "jobs",
           "Gross: Chinese staff of factories at the day they shut.", "#e09f3e"),
    _count("cn_employment_change", "Change in Chinese employment", "jobs",
           "Net: Chinese staff at the end minus at the start (hiring elsewhere included).",
           "#e09f3e"),
    _yuan("output_lost", "Output lost", "million yuan",
          "Value added short of fully staffed factories, over the run.", MILLION),
    _yuan("extra_wage_cost", "Extra wage cost", "million yuan",
          "Wages paid above what North Korean workers would have cost, over the run.", MILLION),
    _count("nk_in_china_at_deadline", f"North Korean workers in China on {DEADLINE}", "workers",
           "North Korean workers in China on the UN 2397 deadline."),
    _count("nk_overstaying_at_deadline", f"Overstaying on {DEADLINE}", "workers",
           "Workers in China without a valid visa on the UN 2397 deadline."),
    _count("nk_deported_total", "Deported", "workers", "Workers caught and deported."),
    _yuan("wage_bill_total", "Wage bill", "million yuan",
          "Wages paid over the run, North Korean and Chinese together.", MILLION),
    _count("peak_labor_gap", "Peak labour gap", "positions",
           "The most positions left unstaffed on any one day (the April holiday included).",
           "#d1495b"),
    _count("factories_shut_not_viable", "Factories shut as not viable", "factories",
           "Shut because going on was worth less than closing.", "#d1495b"),
    _count("factories_shut_cash", "Factories shut out of cash", "factories",
           "Shut because their cash ran out.", "#9e2a2b"),
    Measure("cn_wage_end", "Chinese wage at the end", "yuan per month",
            "Mean monthly wage of Chinese staff on the last day.", integer=False),
    _yuan("payouts_total", "Profit taken out by owners", "million yuan",
          "Cash above the buffer paid out to owners over the run.", MILLION),
    _yuan("fines_on_workers_total", "Fines on workers", "million yuan",
          "Fines on workers found working illegally or overstaying.", MILLION),
    _yuan("output_total", "Output", "million yuan", "Value added over the run.", MILLION),
    _yuan("nk_wages_to_state", "North Korean wages taken by the state", "million yuan",
          "The state's and managers' share of North Korean wages, over the run.", MILLION),
    _yuan("fines_total", "Fines paid", "million yuan",
          "Fines paid by factories for illegally employed workers.", MILLION),
    _count("nk_repatriated_total", "Gone home for good", "workers",
           "Workers who left China for good during the run."),
    _count("nk_arrived_total", "New arrivals", "workers", "New workers who entered China."),
    _count("cn_employed_end", "Chinese workers employed at the end", "workers",
           "Local workers employed by these factories on the last day."),
)

LAGS = (90, 180, 365)
"""Days after a scenario's policy starts at which its effects are also reported."""
LAGGED = ("factories_shut", "positions_lost", "labor_gap")
"""Daily series whose values at those lags go into the summary."""
LAGGED_SUMMARY: tuple[Measure, ...] = tuple(
    _count(f"{series}_{lag}d", f"{label}, {lag} days after the policy starts", unit,
           f"{label} {lag} days after the scenario's policy starts (status quo: after the UN "
           "2397 deadline).")
    for series, label, unit in ((name, SERIES_BY_NAME[name].label, SERIES_BY_NAME[name].unit)
                                for name in LAGGED)
    for lag in LAGS
)
SUMMARY = SUMMARY + LAGGED_SUMMARY
# fmt: on

AT_LAGS: tuple[str, ...] = tuple(m.name for m in LAGGED_SUMMARY)
"""Effects at fixed lags after each scenario's policy starts."""
COMPARED: tuple[str, ...] = tuple(m.name for m in SUMMARY[:11]) + AT_LAGS
"""Summary metrics compared across scenarios, in the order tables show them."""
BANDED: tuple[str, ...] = (
    "nk_in_china",
    "nk_working",
    "nk_away",
    "nk_overstaying",
    "nk_detained",
    "nk_repatriated",
    "labor_gap",
    "positions",
    "positions_lost",
    "hours_per_day",
    "cn_wage_mean",
    "factories_operating",
    "factories_shut",
    "cn_employed",
    "wage_bill",
    "output",
    "border_entries",
    "border_exits",
)
"""Daily series summarised as bands across replicates (10%, median, 90%)."""
WORKER_STATUSES: tuple[str, ...] = ("nk_working", "nk_away", "nk_overstaying", "nk_detained")
"""North Korean workers by status, in the order a stacked chart piles them up."""

SUMMARY_BY_NAME: dict[str, Measure] = {m.name: m for m in SUMMARY}

LOWER_IS_BETTER: frozenset[str] = frozenset(
    {
        "factories_shut",
        "factories_shut_90d",
        "positions_lost",
        "peak_labor_gap_after_policy",
        "cn_jobs_lost",
        "output_lost",
        "extra_wage_cost",
    }
)
"""Summary metrics for which less is better for the factories and their workers; the
others (counts of workers, totals, the other lags, the peak gap that the April holiday sets
before any policy) are neutral: more is neither better nor worse. Robustness findings are
stated for these."""
HIGHER_IS_BETTER: frozenset[str] = frozenset({"cn_employment_change"})


def direction(name: str) -> int:
    """-1 when lower is better, +1 when higher is better, 0 when neither (robustness,
    regret: which scenario does better in a world)."""
    return -1 if name in LOWER_IS_BETTER else 1 if name in HIGHER_IS_BETTER else 0


def measure(name: str) -> Measure:
    """The description of a summary metric or daily series (a plain one for unknown names)."""
    found = SUMMARY_BY_NAME.get(name) or SERIES_BY_NAME.get(name)
    return found or Measure(name, name.replace("_", " ").capitalize(), "", "", integer=False)


def label(name: str) -> str:
    return measure(name).label


def _missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt(name: str, value: float | None, signed: bool = False, missing: str = "n/a") -> str:
    """A value as people read it: in the metric's shown unit, whole, thousands grouped."""
    if _missing(value):
        return missing
    shown = float(value) * measure(name).scale
    text = f"{shown:+,.0f}" if signed else f"{shown:,.0f}"
    return "0" if text in ("-0", "+0") else text


def fmt_interval(name: str, lo: float | None, hi: float | None, signed: bool = False) -> str:
    """'[lo, hi]', or nothing when there is no interval (one replicate)."""
    if _missing(lo) or _missing(hi):
        return ""
    return f"[{fmt(name, lo, signed)}, {fmt(name, hi, signed)}]"


def fmt_estimate(
    name: str,
    mean: float,
    lo: float | None,
    hi: float | None,
    signed: bool = False,
    words: bool = False,
) -> str:
    """A mean with its 95% interval: 'm [lo, hi]', or in a sentence 'm (95% interval lo to hi)'.

    Where every replicate agrees (lo == hi == mean) the interval says nothing and is left out.
    """
    value = fmt(name, mean, signed)
    if _missing(lo) or _missing(hi):
        return f"{value} (one replicate: no interval)" if words else value
    if lo == hi == mean:
        return value
    if words:
        return f"{value} (95% interval {fmt(name, lo, signed)} to {fmt(name, hi, signed)})"
    return f"{value} {fmt_interval(name, lo, hi, signed)}"
