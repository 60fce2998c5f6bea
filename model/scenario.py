"""The typed, validated parameter set of a run, and scenario files (TOML) that set it.

A scenario file states every number it sets together with where it comes from::

    [scenario]
    name = "gradual_return"
    extends = "status_quo.toml"          # optional: inherit, then change only the policy

    [parameters]
    repatriation_mode = { value = "gradual", source = "Daily NK 2019 (seed article)" }
    renewal_trip_days = { value = 3, assumption = "not found in any source" }

Errors name the file, the field and what is allowed, so a person can fix them in one go.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.errors import ScenarioError

NONE_WORDS = ("none", "")
SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
"""The project's scenario files: the status quo, the policies, and sweep specs in sweeps/."""


@dataclass(frozen=True)
class Param:
    """One model parameter: its type, default, unit, allowed values and meaning."""

    name: str
    kind: str  # int | float | date | optional_date | choice | month_day
    default: Any
    unit: str
    doc: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

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
        noun = "an integer" if self.kind == "int" else "a number"
        if self.low is not None and self.high is not None:
            return f"{noun} from {_fmt(self.low)} to {_fmt(self.high)}"
        if self.low is not None:
            return f"{noun} >= {_fmt(self.low)}"
        return noun


def _fmt(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _p(name, kind, default, unit, doc, low=None, high=None, choices=()) -> Param:
    return Param(name, kind, default, unit, doc, low, high, tuple(choices))


# One list, in the order a reader meets them. Defaults equal scenarios/status_quo.toml,
# where each carries its source (a test keeps the two in step).
PARAMETERS: tuple[Param, ...] = (
    # Horizon
    _p("start_date", "date", dt.date(2018, 1, 1), "date", "First simulated day."),
    _p("end_date", "date", dt.date(2020, 12, 31), "date", "Last simulated day."),
    # Population and factories
    _p("n_workers", "int", 20_000, "workers", "North Korean workers at the start.", 1, 5_000_000),
    _p("n_factories", "int", 200, "factories", "Factories employing them.", 1, 100_000),
    _p(
        "factory_size_sigma",
        "float",
        0.7,
        "log units",
        "Spread (lognormal sigma) of North Korean workers per factory.",
        0.0,
        3.0,
    ),
    _p(
        "cn_share_of_positions",
        "float",
        0.2,
        "share",
        "Share of a factory's positions held by Chinese workers at the start.",
        0.0,
        0.95,
    ),
    _p(
        "cn_jobseekers_per_nk_worker",
        "float",
        0.25,
        "people per worker",
        "Local job seekers available to these factories, per North Korean worker at the start.",
        0.0,
        100.0,
    ),
    _p(
        "cn_reservation_wage_median_yuan",
        "float",
        4_500.0,
        "yuan/month",
        "Median wage at which a local job seeker accepts factory work.",
        0.0,
        1e6,
    ),
    _p(
        "cn_reservation_wage_sigma",
        "float",
        0.15,
        "log units",
        "Spread (lognormal sigma) of reservation wages.",
        0.0,
        3.0,
    ),
    _p(
        "cn_wage_yuan_per_month",
        "float",
        4_500.0,
        "yuan/month",
        "Wage the factories pay Chinese workers at the start; first offer for new hires.",
        0.0,
        1e6,
    ),
    # Wages and factory economics
    _p(
        "nk_wage_yuan_per_month",
        "float",
        2_000.0,
        "yuan/month",
        "Wage a factory pays per North Korean worker.",
        0.0,
        1e6,
    ),
    _p(
        "nk_state_share",
        "float",
        0.7,
        "share",
        "Share of the North Korean wage taken by the state and managers.",
        0.0,
        1.0,
    ),
    _p(
        "productivity_yuan_per_worker_month",
        "float",
        5_500.0,
        "yuan/month",
        "Median value added per staffed position.",
        0.0,
        1e7,
    ),
    _p(
        "productivity_sigma",
        "float",
        0.15,
        "log units",
        "Spread (lognormal sigma) of productivity across factories.",
        0.0,
        3.0,
    ),
    _p(
        "fixed_cost_share",
        "float",
        0.25,
        "share",
        "Monthly fixed costs as a share of a factory's value added when fully staffed.",
        0.0,
        1.0,
    ),
    _p(
        "cash_buffer_months",
        "float",
        2.0,
        "months",
        "Cash at the start, in months of the factory's wage bill and fixed costs.",
        0.0,
        120.0,
    ),
    _p(
        "viable_staffing_share",
        "float",
        0.6,
        "share",
        "Below this share of positions staffed, a line cannot run properly.",
        0.0,
        1.0,
    ),
    _p(
        "max_understaffed_days",
        "int",
        60,
        "days",
        "Days in a row below the viable staffing share after which a factory shuts.",
        1,
        10_000,
    ),
    _p(
        "hiring_capacity_share_per_week",
        "float",
        0.05,
        "share/week",
        "Most a factory can recruit and train in a week, as a share of its positions.",
        0.0,
        1.0,
    ),
    _p(
        "wage_offer_step",
        "float",
        0.05,
        "share/week",
        "Weekly raise of a factory's wage offer while vacancies stay open.",
        0.0,
        1.0,
    ),
    _p(
        "max_downsizing_share_per_week",
        "float",
        0.02,
        "share/week",
        "Most positions a factory can cut in a week when it cannot fill them.",
        0.0,
        1.0,
    ),
    # Visas and movement
    _p(
        "initial_work_visa_share",
        "float",
        0.1,
        "share",
        "Share of workers holding a work visa at the start.",
        0.0,
        1.0,
    ),
    _p(
        "initial_student_visa_share",
        "float",
        0.15,
        "share",
        "Share of workers holding a student visa at the start.",
        0.0,
        1.0,
    ),
    _p(
        "new_student_visa_share",
        "float",
        0.15,
        "share",
        "Share of visas issued after 2375 that are student rather than training visas.",
        0.0,
        1.0,
    ),
    _p("training_stay_days", "int", 30, "days", "Stay allowed by a training visa.", 1, 3_650),
    _p("student_stay_days", "int", 180, "days", "Stay allowed by a student visa.", 1, 3_650),
    _p("work_stay_days", "int", 365, "days", "Stay allowed by a work visa.", 1, 3_650),
    _p(
        "renewal_trip_days",
        "int",
        1,
        "days",
        "Shortest visa renewal trip: days outside China.",
        1,
        365,
    ),
    _p(
        "renewal_trip_spread_days",
        "int",
        4,
        "days",
        "A renewal trip takes up to this many days more (uniform): border and visa queues.",
        0,
        365,
    ),
    _p("contract_days", "int", 1_095, "days", "Length of a labour contract.", 1, 10_000),
    _p(
        "replacement_lag_days",
        "int",
        14,
        "days",
        "Days from a worker's departure to the arrival of the replacement the agency sends.",
        0,
        365,
    ),
    # DPRK labour-export agency
    _p(
        "holiday_recall_share",
        "float",
        0.4,
        "share",
        "Share of workers in China called home for the April holiday each year.",
        0.0,
        1.0,
    ),
    _p(
        "holiday_departure",
        "month_day",
        "03-25",
        "MM-DD",
        "Day the holiday recall leaves China, each year.",
    ),
    _p(
        "holiday_return",
        "month_day",
        "04-18",
        "MM-DD",
        "First day holiday returners come back, each year.",
    ),
    _p(
        "holiday_return_spread_days",
        "int",
        14,
        "days",
        "Returns spread over this many days after the first.",
        0,
        120,
    ),
    _p(
        "overstay_share",
        "float",
        0.5,
        "share",
        "Share of workers refused a renewal who stay on illegally rather than go home.",
        0.0,
        1.0,
    ),
    # Chinese authorities
    _p(
        "overstay_detection_per_month",
        "float",
        0.02,
        "1/month",
        "Chance a month that an overstayer is caught, before enforcement starts.",
        0.0,
        30.0,
    ),
    _p(
        "fraud_detection_per_month",
        "float",
        0.25,
        "1/month",
        "Chance a month that a worker on a training or student visa, or an overstayer, "
        "is caught once enforcement starts.",
        0.0,
        30.0,
    ),
    _p(
        "detention_days",
        "int",
        10,
        "days",
        "Days between being caught and deportation.",
        0,
        365,
    ),
    _p(
        "illegal_employment_fine_yuan",
        "float",
        10_000.0,
        "yuan/worker",
        "Fine on the factory per illegally employed worker caught.",
        0.0,
        1e8,
    ),
    _p(
        "visa_issuance_end",
        "optional_date",
        None,
        "date",
        "From this date China issues no visas, new or renewed, to North Korean workers.",
    ),
    _p(
        "enforcement_start",
        "optional_date",
        None,
        "date",
        "From this date training and student visas are refused and visa fraud is inspected.",
    ),
    _p(
        "repatriation_mode",
        "choice",
        "none",
        "",
        "China's repatriation programme.",
        choices=("none", "gradual", "abrupt"),
    ),
    _p(
        "repatriation_start",
        "date",
        dt.date(2019, 6, 1),
        "date",
        "First day of the repatriation programme.",
    ),
    _p(
        "repatriation_end",
        "date",
        dt.date(2019, 12, 22),
        "date",
        "Day by which every worker has left under the programme.",
    ),
)

PARAMS_BY_NAME: dict[str, Param] = {p.name: p for p in PARAMETERS}
POLICY_PARAMETERS = frozenset(
    {
        "repatriation_mode",
        "repatriation_start",
        "repatriation_end",
        "visa_issuance_end",
        "enforcement_start",
    }
)
"""What China decides; everything else describes the world the policy meets."""
DEFAULTS: dict[str, Any] = {p.name: p.default for p in PARAMETERS}
ABRUPT_MAX_WINDOW_DAYS = 31


@dataclass(frozen=True)
class ParamRecord:
    """A parameter's value in a scenario and where that value comes from."""

    name: str
    value: Any
    unit: str
    source: str
    sourced: bool  # False: an assumption
    defined_in: str


@dataclass
class Scenario:
    """A named, validated parameter set with the provenance of every value."""

    name: str
    title: str
    description: str
    params: dict[str, Any]
    records: dict[str, ParamRecord] = field(default_factory=dict)
    path: str | None = None

    @property
    def hash(self) -> str:
        """Short content hash of the parameter values: same numbers, same hash."""
        return params_hash(self.params)

    def with_overrides(self, overrides: Mapping[str, Any], origin: str = "override") -> Scenario:
        """A copy with some values replaced; each replacement is recorded as such."""
        where = self.path or self.name
        params = dict(self.params)
        records = dict(self.records)
        for key, raw in overrides.items():
            spec = lookup(key, where, f"{origin} {key}")
            value = coerce(spec, raw, where, f"{origin} {key}")
            params[key] = value
            records[key] = ParamRecord(key, value, spec.unit, origin, False, origin)
        check_consistency(params, where)
        return dataclasses.replace(self, params=params, records=records)

    def table(self) -> list[dict[str, Any]]:
        """Every parameter with value, unit, source and whether sourced (for briefs)."""
        rows = []
        for spec in PARAMETERS:
            rec = self.records.get(spec.name)
            rows.append(
                {
                    "parameter": spec.name,
                    "value": _jsonable(self.params[spec.name]),
                    "unit": spec.unit,
                    "meaning": spec.doc,
                    "source": rec.source if rec else "code default",
                    "status": "sourced" if rec and rec.sourced else "assumption",
                    "defined_in": rec.defined_in if rec else "model/scenario.py",
                }
            )
        return rows


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def params_hash(params: Mapping[str, Any]) -> str:
    canon = json.dumps({k: _jsonable(params[k]) for k in sorted(params)}, sort_keys=True)
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def lookup(name: str, where: str, field_name: str) -> Param:
    spec = PARAMS_BY_NAME.get(name)
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
        try:
            raw = float(raw) if kind == "float" else int(raw)
        except ValueError as err:
            raise bad(f"{raw!r} is not a number") from err
    if kind == "int":
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if not isinstance(raw, int):
            raise bad(f"{raw!r} is not an integer")
    elif kind == "float":
        if not isinstance(raw, int | float) or raw != raw:
            raise bad(f"{raw!r} is not a number")
        raw = float(raw)
    if (spec.low is not None and raw < spec.low) or (spec.high is not None and raw > spec.high):
        raise bad(f"{raw!r} is out of range")
    return raw


def check_consistency(params: Mapping[str, Any], where: str) -> None:
    """Rules between parameters: dates in order and inside the horizon, shares that add up."""
    start, end = params["start_date"], params["end_date"]
    if end <= start:
        raise ScenarioError(
            f"{where}: end_date: {end} is not after start_date {start}; "
            "allowed: a date after start_date"
        )
    dated = ["visa_issuance_end", "enforcement_start"]
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


def validate_params(params: Mapping[str, Any], where: str = "LaborModel") -> dict[str, Any]:
    """Defaults filled in, every value checked: the parameter set a model runs on."""
    out = dict(DEFAULTS)
    for key, raw in params.items():
        spec = lookup(key, where, key)
        out[key] = coerce(spec, raw, where, key)
    check_consistency(out, where)
    return out


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line; values are read as TOML where they parse."""
    if "=" not in text:
        raise ScenarioError(f"--set {text}: expected key=value, such as n_workers=5000")
    key, value = (s.strip() for s in text.split("=", 1))
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key, parsed


def read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ScenarioError(f"{path}: no such scenario file")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: not valid TOML: {err}") from err
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"{path}: cannot be read: {err}") from err


def _entry(path: Path, name: str, entry: Any) -> tuple[Any, str, bool]:
    """(value, source text, sourced?) of one ``[parameters]`` entry."""
    where = f"parameters.{name}"
    if not isinstance(entry, dict):
        raise ScenarioError(
            f"{path}: {where}: a bare value has no source; "
            'allowed: { value = ..., source = "..." } or { value = ..., assumption = "..." }'
        )
    unknown = set(entry) - {"value", "source", "assumption", "unit"}
    if unknown:
        raise ScenarioError(
            f"{path}: {where}: unknown key {sorted(unknown)[0]!r}; "
            "allowed keys: value, source, assumption, unit"
        )
    if "value" not in entry:
        raise ScenarioError(f"{path}: {where}: missing 'value'")
    text, sourced = source_of(entry, f"{path}: {where}")
    return entry["value"], text, sourced


def source_of(entry: Mapping[str, Any], where: str) -> tuple[str, bool]:
    """(text, sourced?) of an entry that must say where its numbers come from.

    Scenario files and sweep specs share the rule: exactly one of ``source`` or
    ``assumption``, with some text in it.
    """
    has_source, has_assumption = "source" in entry, "assumption" in entry
    if has_source == has_assumption:
        raise ScenarioError(
            f"{where}: needs exactly one of 'source' (where the number comes from) "
            "or 'assumption' (why it is a judgement)"
        )
    text = entry["source"] if has_source else entry["assumption"]
    if not isinstance(text, str) or not text.strip():
        raise ScenarioError(f"{where}: the source or assumption text is empty")
    return text.strip(), has_source


def load_scenario(path: str | Path, _seen: tuple[Path, ...] = ()) -> Scenario:
    """Read a scenario file (and the files it extends) into a validated Scenario."""
    path = Path(path)
    resolved = path.resolve()
    if resolved in _seen:
        raise ScenarioError(f"{path}: scenario.extends: the files extend each other in a loop")
    doc = read_toml(path)
    unknown = set(doc) - {"scenario", "parameters"}
    if unknown:
        raise ScenarioError(
            f"{path}: {sorted(unknown)[0]}: unknown table; allowed: [scenario], [parameters]"
        )
    meta = doc.get("scenario", {})
    if not isinstance(meta, dict):
        raise ScenarioError(f"{path}: scenario: must be a table")
    unknown = set(meta) - {"name", "title", "description", "extends"}
    if unknown:
        raise ScenarioError(
            f"{path}: scenario.{sorted(unknown)[0]}: unknown key; "
            "allowed: name, title, description, extends"
        )
    if "extends" in meta:
        base = load_scenario(path.parent / str(meta["extends"]), (*_seen, resolved))
        params, records = dict(base.params), dict(base.records)
    else:
        params, records = dict(DEFAULTS), {}
    entries = doc.get("parameters", {})
    if not isinstance(entries, dict):
        raise ScenarioError(f"{path}: parameters: must be a table")
    for name, entry in entries.items():
        spec = lookup(name, str(path), f"parameters.{name}")
        raw, source, sourced = _entry(path, name, entry)
        value = coerce(spec, raw, str(path), f"parameters.{name}")
        params[name] = value
        records[name] = ParamRecord(name, value, spec.unit, source, sourced, path.name)
    check_consistency(params, str(path))
    return Scenario(
        name=str(meta.get("name", path.stem)),
        title=str(meta.get("title", meta.get("name", path.stem))),
        description=str(meta.get("description", "")).strip(),
        params=params,
        records=records,
        path=str(path),
    )
