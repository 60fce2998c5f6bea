"""Every model parameter, declared once: what it is, its unit, its bounds, what it means.

Values live elsewhere, each beside its source: the defaults are the status quo
(``scenarios/status_quo.toml``), and other scenario files change some of them. This module
knows what a value may be (``coerce`` checks one, ``check_consistency`` the rules between
them) and nothing about files, so scenario files, sweep specs, the app's controls and
keyword arguments are all checked by the same code.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from model.errors import InputError, ScenarioError

NONE_WORDS = ("none", "")
ABRUPT_MAX_WINDOW_DAYS = 31


@dataclass(frozen=True)
class Param:
    """One model parameter: type, unit, allowed values, a reader's label and its meaning."""

    name: str
    kind: str  # int | float | date | optional_date | choice | month_day
    unit: str
    label: str  # what a reader calls it: "North Korean wage", not nk_wage_yuan_per_month
    doc: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    group: str = ""
    aliases: tuple[str, ...] = ()  # earlier names, still accepted

    def allowed(self) -> str:
        """What a person may write, in words."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "date":
            return "a date such as 2019-12-22"
        if self.kind == "optional_date":
            return 'a date such as 2019-12-22, or "none"'
        if self.kind == "month_day":
            return 'a month and day as "MM-DD", such as "04-15"'
        noun = "a whole number" if self.kind == "int" else "a number"
        if self.low is not None and self.high is not None:
            return f"{noun} from {number_text(self.low)} to {number_text(self.high)}"
        if self.low is not None:
            return f"{noun} of at least {number_text(self.low)}"
        return noun


@dataclass(frozen=True)
class Plausible:
    """The values a parameter may plausibly take in the world: a range, or a set of values.

    Scenario files give one beside each assumption (and beside sourced values whose sources
    span a range); robustness ensembles draw plausible worlds from them.
    """

    low: Any = None
    high: Any = None
    values: tuple[Any, ...] = ()

    def contains(self, value: Any) -> bool:
        if self.values:
            return value in self.values
        return self.low <= value <= self.high

    def text(self) -> str:
        if self.values:
            return "one of " + ", ".join(str(_plain(v)) for v in self.values)
        return f"{_show(self.low)} to {_show(self.high)}"


def _show(x: Any) -> str:
    return number_text(x) if isinstance(x, int | float) else str(_plain(x))


def number_text(x: float) -> str:
    """A bound as a person writes it: 5,000,000 and 0.25, never 5e+06."""
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.6g}"


def _int(name, unit, low, high, label, doc, group, **kw) -> Param:
    return Param(name, "int", unit, label, doc, low, high, group=group, **kw)


def _num(name, unit, low, high, label, doc, group, **kw) -> Param:
    return Param(name, "float", unit, label, doc, low, high, group=group, **kw)


def _share(name, label, doc, group, **kw) -> Param:
    return Param(name, "float", "share", label, doc, 0.0, 1.0, group=group, **kw)


def _date(name, label, doc, group, optional: bool = False) -> Param:
    return Param(name, "optional_date" if optional else "date", "date", label, doc, group=group)


H, S, L, F, V, A, C, P = (
    "Horizon",
    "Scale",
    "Labour market",
    "Factories",
    "Visas and movement",
    "DPRK labour-export agency",
    "Chinese authorities",
    "Policy",
)
YUAN = 1e7  # no wage, price or fine in this model reaches ten million yuan

# One entry per parameter, in the order a reader meets them; values are in the scenario files.
# fmt: off
PARAMETERS: tuple[Param, ...] = (
    _date("start_date", "First simulated day", "First simulated day.", H),
    _date("end_date", "Last simulated day", "Last simulated day.", H),
    _int("n_workers", "workers", 1, 5_000_000, "North Korean workers",
        "North Korean workers at the start.", S),
    _int("n_factories", "factories", 1, 100_000, "Factories", "Factories employing them.", S),
    _num("factory_size_sigma", "log units", 0.0, 3.0, "Spread of factory sizes",
        "Spread (lognormal sigma) of North Korean workers per factory.", S),
    _num("cn_share_of_positions", "share", 0.0, 0.95, "Chinese share of positions",
        "Share of a factory's positions held by Chinese workers at the start.", S),
    _num("cn_jobseekers_per_nk_worker", "people per worker", 0.0, 100.0,
        "Local labour pool",
        "Local job seekers available to these factories, per North Korean worker at the start.", L),
    _num("cn_reservation_wage_median_yuan", "yuan/month", 0.0, YUAN, "Wage local job seekers ask",
        "Median wage at which a local job seeker accepts factory work.", L),
    _num("cn_reservation_wage_sigma", "log units", 0.0, 3.0, "Spread of the wages asked",
        "Spread (lognormal sigma) of reservation wages.", L),
    _num("cn_wage_yuan_per_month", "yuan/month", 0.0, YUAN, "Chinese wage",
        "Wage the factories pay Chinese workers at the start; the floor of their offers.", L),
    _share("cn_quit_rate_per_month", "Quits",
        "Share of Chinese staff who leave their job in a month, for reasons of their own.", L),
    _share("on_the_job_search_share_per_week", "Job search while employed",
        "Share of employed Chinese workers who look at other factories' offers in a week.", L),
    _num("job_switch_premium", "share", 0.0, 5.0, "Raise needed to switch",
        "How much more than their wage another factory must offer before a worker moves.", L),
    _num("migrant_pool_per_nk_worker", "people per worker", 0.0, 100.0, "Migrants who could come",
        "People outside the city who would take these jobs at the right wage, per North Korean "
        "worker at the start.", L),
    _num("migrant_reservation_wage_median_yuan", "yuan/month", 0.0, YUAN, "Wage migrants ask",
        "Median wage at which someone from outside the city moves for a factory job.", L),
    _num("migrant_search_weeks", "weeks", 0.1, 520.0, "Weeks until migrants hear",
        "Mean weeks until a potential migrant looks at the city's offers again.", L),
    _num("nk_wage_yuan_per_month", "yuan/month", 0.0, YUAN, "North Korean wage",
        "Wage a factory pays per North Korean worker.", F),
    _share("nk_state_share", "State's share of the North Korean wage",
        "Share of the North Korean wage taken by the state and managers.", F),
    _num("value_added_yuan_per_hour", "yuan/hour", 0.0, 10_000.0, "Value added per hour",
        "Median value added per hour worked (output net of materials).", F),
    _num("productivity_sigma", "log units", 0.0, 3.0, "Spread of productivity",
        "Spread (lognormal sigma) of value added per hour across factories.", F),
    _num("nk_hours_per_day", "hours/day", 1.0, 24.0, "North Korean working day",
        "Hours a North Korean worker works on a working day when the line is fully staffed.", F),
    _num("nk_max_hours_per_day", "hours/day", 1.0, 24.0, "Longest North Korean working day",
        "Most hours a day a factory makes North Korean workers work when short of hands.", F),
    _num("nk_days_per_month", "days/month", 1.0, 31.0, "North Korean working days",
        "Days a month a North Korean worker works.", F),
    _num("cn_hours_per_day", "hours/day", 1.0, 24.0, "Chinese working day",
        "Hours a Chinese worker works on a working day when the line is fully staffed.", F),
    _num("cn_max_hours_per_day", "hours/day", 1.0, 24.0, "Longest Chinese working day",
        "Most hours a day a factory asks of Chinese workers when short of hands.", F),
    _num("cn_days_per_month", "days/month", 1.0, 31.0, "Chinese working days",
        "Days a month a Chinese worker works.", F),
    _num("cn_overtime_premium", "share", 0.0, 5.0, "Chinese overtime premium",
        "Extra pay for an hour beyond a Chinese worker's usual day, as a share of hourly pay.", F),
    _num("nk_overtime_cost_share", "share", 0.0, 5.0, "North Korean overtime cost",
        "What an extra hour of a North Korean worker costs the factory, as a share of the "
        "hourly rate of the monthly sum it pays.", F),
    _num("overhead_yuan_per_month", "yuan/month", 0.0, 1e8, "Overhead of a factory",
        "Costs that do not scale with the lines: management, offices, the minimum rent.", F),
    _num("overhead_yuan_per_position_month", "yuan/month", 0.0, YUAN, "Overhead per position",
        "Costs set by the factory's size at the start (rent, machines' upkeep), per position: "
        "they do not fall when lines are cut.", F),
    _num("line_cost_yuan_per_position_month", "yuan/month", 0.0, YUAN, "Running cost of a line",
        "What a staffed position costs to run a month (energy, maintenance), beyond wages.", F),
    _num("cash_buffer_months", "months", 0.0, 120.0, "Cash buffer",
        "Cash a factory keeps, in months of its normal costs; owners take out profit above it.",
        F),
    _num("planning_horizon_months", "months", 1.0, 120.0, "Planning horizon",
        "How far ahead a factory weighs its expected profit when deciding to go on or close.", F),
    _num("severance_months", "months", 0.0, 60.0, "Severance",
        "Wages owed to each Chinese worker when a factory closes, in months of pay.", F),
    _share("hiring_capacity_share_per_week", "Hiring capacity",
        "Most a factory can recruit and train in a week, as a share of its positions.", F),
    _share("wage_offer_step", "Weekly change of wage offers",
        "How much a factory raises its offer a week while vacancies stay open, or lowers it "
        "once they are filled.", F),
    _share("wage_catch_up_per_month", "Wage catch-up",
        "Share of the gap between what staff are paid and what new hires are offered that "
        "closes each month (wages never fall).", F),
    _share("initial_work_visa_share", "Work visas at the start",
        "Share of workers holding a work visa at the start.", V),
    _share("initial_student_visa_share", "Student visas at the start",
        "Share of workers holding a student visa at the start.", V),
    _share("new_student_visa_share", "Student visas among new visas",
        "Share of visas issued after 2375 that are student rather than training visas.", V),
    _int("training_stay_days", "days", 1, 3_650, "Training-visa stay",
        "Stay allowed by a training visa.", V),
    _int("student_stay_days", "days", 1, 3_650, "Student-visa stay",
        "Stay allowed by a student visa.", V),
    _int("work_stay_days", "days", 1, 3_650, "Work-visa stay", "Stay allowed by a work visa.", V),
    _int("renewal_trip_days", "days", 1, 365, "Shortest renewal trip",
        "Shortest visa renewal trip: days outside China.", V),
    _int("renewal_trip_spread_days", "days", 0, 365, "Extra days of a renewal trip",
        "A renewal trip takes up to this many days more (uniform): border and visa queues.", V),
    _int("contract_days", "days", 1, 10_000, "Contract length", "Length of a labour contract.", V),
    _int("replacement_lag_days", "days", 0, 365, "Days until a replacement arrives",
        "Days from a worker's departure to the arrival of the replacement the agency sends.", A),
    _share("holiday_recall_share", "Share called home for the April holiday",
        "Share of workers in China called home for the April holiday each year.", A),
    Param("holiday_departure", "month_day", "MM-DD", "Holiday departure",
        "Day the holiday recall leaves China, each year.", group=A),
    Param("holiday_return", "month_day", "MM-DD", "Holiday return",
        "First day holiday returners come back, each year.", group=A),
    _int("holiday_return_spread_days", "days", 0, 120, "Days over which holiday returns spread",
        "Returns spread over this many days after the first.", A),
    _share("overstay_share", "Overstay share",
        "Share of workers refused a renewal who stay on illegally rather than go home.", A),
    _num("overstay_detection_per_month", "1/month", 0.0, 30.0, "Overstayers caught a month",
        "Chance a month that an overstayer is caught, before enforcement starts.", C),
    _num("fraud_detection_per_month", "1/month", 0.0, 30.0, "Caught a month under inspections",
        "Chance a month that a worker on a training or student visa, or an overstayer, is "
        "caught once enforcement starts.", C),
    _int("detention_days", "days", 0, 365, "Days in detention",
        "Days between being caught and deportation.", C),
    _num("illegal_employment_fine_yuan", "yuan/worker", 0.0, 1e8,
        "Fine per illegal worker",
        "Fine on the factory per illegally employed worker caught.", C),
    _num("illegal_employment_fine_cap_yuan", "yuan/case", 0.0, 1e9, "Most a factory is fined",
        "Most a factory is fined for the illegal workers found in one inspection (a case).", C),
    _num("worker_illegal_work_fine_yuan", "yuan/worker", 0.0, 1e8, "Fine on the worker",
        "Fine on a worker caught working illegally (on a training or student visa, or "
        "without one).", C),
    _num("overstay_fine_yuan_per_day", "yuan/day", 0.0, 1e6, "Overstay fine a day",
        "Fine on an overstayer per day without a valid visa.", C),
    _num("overstay_fine_cap_yuan", "yuan/worker", 0.0, 1e8, "Most an overstayer is fined",
        "Most an overstayer is fined for the days without a visa.", C),
    _date("visa_issuance_end", "No visas issued from",
        "From this date China issues no visas, new or renewed, to North Korean workers.", P,
        optional=True),
    _date("enforcement_start", "Fraud inspections from",
        "From this date training and student visas are refused and visa fraud is inspected.", P,
        optional=True),
    Param("repatriation_mode", "choice", "", "Repatriation", "China's repatriation programme.",
        choices=("none", "gradual", "abrupt"), group=P),
    _date("repatriation_start", "Repatriation starts",
        "First day of the repatriation programme.", P),
    _date("repatriation_end", "Everyone gone by",
        "Day by which every worker has left under the programme.", P),
    _date("border_closure_start", "DPRK border closed from",
        "From this date the DPRK border is closed: no trips home, no recall, no arrivals and no "
        "departures.", P, optional=True),
    _date("border_reopening", "DPRK border reopens",
        "The day the border reopens (none: closed to the end of the run).", P, optional=True),
)
# fmt: on

PARAMS_BY_NAME: dict[str, Param] = {p.name: p for p in PARAMETERS}
ALIASES: dict[str, str] = {a: p.name for p in PARAMETERS for a in p.aliases}
POLICY_PARAMETERS = frozenset(p.name for p in PARAMETERS if p.group == P)
"""What states decide (China's visas, inspections and programme; the DPRK's border);
everything else describes the world the policy meets."""


RETIRED: dict[str, str] = {
    "productivity_yuan_per_worker_month": "value added is now per hour worked: use "
    "value_added_yuan_per_hour",
    "fixed_cost_share": "costs are now an overhead and a cost per position: use "
    "overhead_yuan_per_month, overhead_yuan_per_position_month and "
    "line_cost_yuan_per_position_month",
    "viable_staffing_share": "factories now shut when going on is worth less than closing "
    "(docs/odd.md), not below a staffing share: remove it",
    "max_understaffed_days": "factories now shut when going on is worth less than closing "
    "(docs/odd.md), not after a number of days: remove it",
    "max_downsizing_share_per_week": "factories now cut the open positions that would lose "
    "money each month, without a weekly cap: remove it",
}
"""Parameters the economics rework removed, with what replaced them: an old scenario file
is told what to change instead of meeting 'unknown parameter'."""


def lookup(name: str, where: str, field_name: str) -> Param:
    """The parameter called ``name`` (or an earlier name of it); else a one-line error."""
    spec = PARAMS_BY_NAME.get(ALIASES.get(name, name))
    if spec is None and name in RETIRED:
        raise ScenarioError(f"{where}: {field_name}: retired parameter; {RETIRED[name]}")
    if spec is None:
        close = difflib.get_close_matches(name, PARAMS_BY_NAME, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ScenarioError(
            f"{where}: {field_name}: unknown parameter{hint}; "
            f"see `laborflow params` for the {len(PARAMETERS)} allowed names"
        )
    return spec


def coerce(spec: Param, raw: Any, where: str, field_name: str) -> Any:
    """Check one value against its parameter and return it in the model's type."""

    def bad(what: str) -> ScenarioError:
        return ScenarioError(f"{where}: {field_name}: {what}; allowed: {spec.allowed()}")

    kind = spec.kind
    if kind in ("date", "optional_date"):
        if kind == "optional_date" and (raw is None or str(raw).strip().lower() in NONE_WORDS):
            return None
        if isinstance(raw, dt.datetime):
            raw = raw.date()
        if isinstance(raw, str):
            try:
                raw = dt.date.fromisoformat(raw.strip())
            except ValueError as err:
                raise bad(f"{raw!r} is not a date") from err
        if not isinstance(raw, dt.date):
            raise bad(f"{raw!r} is not a date")
        return raw
    if kind == "choice":
        if raw not in spec.choices:
            raise bad(f"{raw!r} is not allowed")
        return raw
    if kind == "month_day":
        try:
            month, day = (int(x) for x in str(raw).split("-"))
            dt.date(2020, month, day)
        except ValueError as err:
            raise bad(f"{raw!r} is not a month-day") from err
        return f"{month:02d}-{day:02d}"
    if isinstance(raw, bool):
        raise bad(f"{raw!r} is a boolean")
    if isinstance(raw, str):
        text = raw
        try:
            raw = float(text)  # "2000", "2e3" and "2000.0" are all numbers; int() refuses two
        except ValueError as err:
            raise bad(f"{text!r} is not a number") from err
        if not math.isfinite(raw):
            raise bad(f"{text!r} is not a finite number")
        if kind == "int" and raw.is_integer():
            raw = int(text) if text.strip().lstrip("+-").isdigit() else int(raw)
        elif kind == "int":
            raise bad(f"{text!r} is not a whole number")
    if kind == "int":
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if not isinstance(raw, int):
            raise bad(f"{raw!r} is not a whole number")
    elif kind == "float":
        if not isinstance(raw, int | float) or raw != raw:
            raise bad(f"{raw!r} is not a number")
        if not math.isfinite(raw):
            raise bad(f"{raw!r} is not a finite number")
        raw = float(raw)
    if (spec.low is not None and raw < spec.low) or (spec.high is not None and raw > spec.high):
        raise bad(f"{raw!r} is out of range")
    return raw


def coerce_values(
    spec: Param, raw: Any, where: str, field_name: str, error: type[InputError] = ScenarioError
) -> tuple[Any, ...]:
    """A non-empty list of distinct allowed values of a parameter."""
    if not isinstance(raw, list) or not raw:
        raise error(f"{where}: {field_name}: must be a non-empty list; allowed: {spec.allowed()}")
    values = tuple(coerce(spec, v, where, field_name) for v in raw)
    seen = set()
    for v in values:
        if v in seen:
            raise error(f"{where}: {field_name}: {_plain(v)!r} is listed twice")
        seen.add(v)
    return values


def coerce_range(
    spec: Param, raw: Any, where: str, field_name: str, error: type[InputError] = ScenarioError
) -> tuple[Any, Any]:
    """[low, high] of a numeric or date parameter: both allowed, low < high."""
    if spec.kind not in ("int", "float", "date", "optional_date"):
        raise error(
            f"{where}: {field_name}: {spec.name} takes {spec.allowed()}, which has no range; "
            "allowed: values = [...]"
        )
    if not isinstance(raw, list) or len(raw) != 2:
        raise error(f"{where}: {field_name}: {raw!r}; allowed: [low, high] with low < high")
    low, high = (coerce(spec, v, where, field_name) for v in raw)
    if low is None or high is None:
        raise error(f"{where}: {field_name}: a range needs two dates; allowed: [low, high]")
    if low == high:
        raise error(
            f"{where}: {field_name}: [{_plain(low)}, {_plain(high)}] is empty; "
            f"allowed: [low, high] with low < high (or values = [{_plain(low)!r}])"
        )
    if low > high:
        raise error(
            f"{where}: {field_name}: [{_plain(low)}, {_plain(high)}] is inverted; "
            "allowed: [low, high] with low < high"
        )
    return low, high


def _plain(x: Any) -> Any:
    return x.isoformat() if isinstance(x, dt.date) else x


def check_consistency(params: Mapping[str, Any], where: str) -> None:
    """Rules between parameters: dates in order and inside the horizon, shares that add up."""
    start, end = params["start_date"], params["end_date"]
    if end <= start:
        raise ScenarioError(
            f"{where}: end_date: {end} is not after start_date {start}; "
            "allowed: a date after start_date"
        )
    dated = ["visa_issuance_end", "enforcement_start", "border_closure_start", "border_reopening"]
    if params["repatriation_mode"] != "none":  # the programme's dates matter only when it runs
        dated += ["repatriation_start", "repatriation_end"]
    for name in dated:
        value = params[name]
        if value is not None and not start <= value <= end:
            raise ScenarioError(
                f"{where}: {name}: {value} is outside the simulated horizon; "
                f"allowed: a date from {start} to {end}"
            )
    if params["repatriation_end"] < params["repatriation_start"]:
        raise ScenarioError(
            f"{where}: repatriation_end: {params['repatriation_end']} is before "
            f"repatriation_start {params['repatriation_start']}; "
            "allowed: a date on or after repatriation_start"
        )
    if params["repatriation_mode"] == "abrupt":
        window = (params["repatriation_end"] - params["repatriation_start"]).days
        if window > ABRUPT_MAX_WINDOW_DAYS:
            raise ScenarioError(
                f"{where}: repatriation_end: an abrupt return spans {window} days; "
                f"allowed: at most {ABRUPT_MAX_WINDOW_DAYS} days after repatriation_start "
                '(use repatriation_mode = "gradual" for longer)'
            )
    closed, reopens = params["border_closure_start"], params["border_reopening"]
    if reopens is not None and (closed is None or reopens <= closed):
        raise ScenarioError(
            f"{where}: border_reopening: {reopens} without an earlier border_closure_start "
            f"({closed or 'none'}); allowed: a date after border_closure_start, or none"
        )
    for group in ("nk", "cn"):
        usual, most = params[f"{group}_hours_per_day"], params[f"{group}_max_hours_per_day"]
        if most < usual:
            raise ScenarioError(
                f"{where}: {group}_max_hours_per_day: {most:g} is below {group}_hours_per_day "
                f"{usual:g}; allowed: at least the usual working day"
            )
    visa_shares = params["initial_work_visa_share"] + params["initial_student_visa_share"]
    if visa_shares > 1:
        raise ScenarioError(
            f"{where}: initial_student_visa_share: work and student shares add up to "
            f"{visa_shares:g}; allowed: a sum of at most 1"
        )
    if params["n_factories"] > params["n_workers"]:
        raise ScenarioError(
            f"{where}: n_factories: {params['n_factories']} factories for "
            f"{params['n_workers']} workers; allowed: at most n_workers"
        )
    dep, ret = (
        dt.date(2020, *map(int, params[k].split("-")))
        for k in ("holiday_departure", "holiday_return")
    )
    if ret <= dep:
        raise ScenarioError(
            f"{where}: holiday_return: {params['holiday_return']} is not after "
            f"holiday_departure {params['holiday_departure']}; "
            "allowed: a later day of the same year"
        )
