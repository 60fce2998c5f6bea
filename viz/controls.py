"""The live view's parameter controls: which parameters, shown how, and read back how.

People first ask about scale, the local labour pool, wages, the repatriation programme, visa
stays and enforcement, so those get a control; everything else comes from the chosen scenario
file (the preset). Values are typed as text and checked with the model's own rules
(``model.scenario``), so the app accepts exactly what a scenario file accepts and an error
names the control to fix, never a traceback.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.errors import ScenarioError
from model.parameters import PARAMS_BY_NAME, coerce
from model.scenario import SCENARIO_DIR, Scenario, load_scenario, validate_params

WHERE = "LaborModel"
"""How model errors start (``LaborModel: FIELD: ...``): the field tells which control is wrong."""


@dataclass(frozen=True)
class Control:
    """One parameter as the live view shows it: its label is the parameter's own."""

    name: str
    group: str
    hint: str = ""

    @property
    def kind(self) -> str:
        return PARAMS_BY_NAME[self.name].kind

    @property
    def label(self) -> str:
        return PARAMS_BY_NAME[self.name].label


CONTROLS: tuple[Control, ...] = (
    Control("n_workers", "Scale", "workers at the start"),
    Control("n_factories", "Scale", "factories employing them"),
    Control("cn_jobseekers_per_nk_worker", "Labour market", "per North Korean worker"),
    Control("cn_reservation_wage_median_yuan", "Labour market", "median, yuan per month"),
    Control("nk_wage_yuan_per_month", "Labour market", "yuan per month"),
    Control("repatriation_mode", "Repatriation", "China's programme"),
    Control("repatriation_start", "Repatriation", "YYYY-MM-DD"),
    Control("repatriation_end", "Repatriation", "YYYY-MM-DD"),
    Control("training_stay_days", "Visas", "days"),
    Control("student_stay_days", "Visas", "days"),
    Control("visa_issuance_end", "Visas", "YYYY-MM-DD or none"),
    Control("enforcement_start", "Enforcement", "YYYY-MM-DD or none"),
    Control("fraud_detection_per_month", "Enforcement", "chance per month once inspections start"),
    Control("overstay_share", "Enforcement", "share refused a visa who stay on (0-1)"),
)
CONTROLS_BY_NAME = {c.name: c for c in CONTROLS}
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(c.group for c in CONTROLS))


@dataclass(frozen=True)
class Reading:
    """The controls read back: a scenario to run, or what is wrong and where."""

    scenario: Scenario | None
    errors: dict[str, str]  # control name -> message shown next to it
    general: str | None = None  # an error about a parameter without a control

    @property
    def ok(self) -> bool:
        return self.scenario is not None


PRESET_ORDER = (
    "status_quo",
    "gradual_return",
    "abrupt_return",
    "visa_non_extension",
    "strict_enforcement",
    "china_wide",
)
"""The article's question first (status quo, gradual, abrupt), then the other policies."""


def presets(folder: Path = SCENARIO_DIR) -> dict[str, Scenario]:
    """The scenario files, status quo first: what the preset picker offers."""
    loaded = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            s = load_scenario(path)
        except ScenarioError:
            continue  # a broken file is reported by `laborflow scenarios`, not by the app
        loaded[s.name] = s
    first = [n for n in PRESET_ORDER if n in loaded]
    return {n: loaded[n] for n in [*first, *(n for n in loaded if n not in first)]}


def as_text(value: Any) -> str:
    """A parameter value as the text a control shows."""
    if value is None:
        return "none"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def texts_of(scenario: Scenario) -> dict[str, str]:
    """What every control shows for a scenario."""
    return {c.name: as_text(scenario.params[c.name]) for c in CONTROLS}


def _clean(control: Control, text: str) -> str:
    """Digit grouping is allowed in numbers (20,000 or 20 000), as people type them."""
    text = text.strip()
    if control.kind in ("int", "float"):
        text = text.replace(",", "").replace("_", "").replace(" ", "")
    return text


def split_error(message: str) -> tuple[str | None, str]:
    """(field, what) of a model error ``LaborModel: FIELD: what``; field None if not so."""
    prefix = f"{WHERE}: "
    if message.startswith(prefix):
        field, sep, what = message[len(prefix) :].partition(": ")
        if sep and field in PARAMS_BY_NAME:
            return field, what
    return None, message


def read(base: Scenario, texts: dict[str, str]) -> Reading:
    """Check the controls against the preset; the scenario to run, or per-control errors."""
    values, errors = {}, {}
    for control in CONTROLS:
        raw = _clean(control, texts.get(control.name, as_text(base.params[control.name])))
        try:
            values[control.name] = coerce(PARAMS_BY_NAME[control.name], raw, WHERE, control.name)
        except ScenarioError as err:
            errors[control.name] = split_error(str(err))[1]
    general = None
    try:  # rules between parameters (dates in order, windows), the unreadable ones left out
        validate_params({**base.params, **values}, WHERE)
    except ScenarioError as err:
        field, what = split_error(str(err))
        if field in CONTROLS_BY_NAME:
            errors.setdefault(field, what)
        else:
            general = str(err)
    if errors or general:
        return Reading(None, errors, general)
    overrides = {k: v for k, v in values.items() if v != base.params[k]}
    return Reading(base.with_overrides(overrides, origin="app") if overrides else base, {})
