"""The live view's parameter controls: which parameters, shown how, and read back how.

People first ask about scale, the local labour pool, wages, the repatriation programme, visa
stays and enforcement, so those get a control; everything else comes from the chosen scenario
file (the preset). Values are typed as text and checked with the model's own rules
(``model.scenario``), so the app accepts exactly what a scenario file accepts and an error
names the control to fix, never a traceback.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.errors import ScenarioError
from model.parameters import ABRUPT_MAX_WINDOW_DAYS, PARAMS_BY_NAME, coerce, number_text
from model.scenario import (
    SCENARIO_DIR,
    Scenario,
    default_scenario,
    load_scenario,
    validate_params,
)

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
            errors[control.name] = value_problem(control, raw) or reader_words(
                split_error(str(err))[1]
            )
    general = None
    try:  # rules between parameters (dates in order, windows), the unreadable ones left out
        validate_params({**base.params, **values}, WHERE)
    except ScenarioError as err:
        field, what = split_error(str(err))
        if field in CONTROLS_BY_NAME:
            errors.setdefault(field, reader_words(what))
        else:
            label = PARAMS_BY_NAME[field].label if field in PARAMS_BY_NAME else "A parameter"
            general = f"{label}: {reader_words(what)}"
    if errors or general:
        return Reading(None, errors, general)
    overrides = {k: v for k, v in values.items() if v != base.params[k]}
    return Reading(base.with_overrides(overrides, origin="app") if overrides else base, {})


# --- messages in a reader's words ---------------------------------------------------------


def value_problem(control: Control, raw: str) -> str | None:
    """What is wrong with one typed value, said as a reader would, or None if it is fine."""
    spec = PARAMS_BY_NAME[control.name]
    if spec.kind not in ("int", "float"):
        return None
    try:
        number = float(raw)
    except ValueError:
        return f"\u201c{raw}\u201d is not a number; write {spec.allowed()}"
    if spec.kind == "int" and not number.is_integer():
        return f"{raw} is not a whole number; write {spec.allowed()}"
    if spec.low is not None and number < spec.low:
        return f"{raw} is less than {number_text(spec.low)}; write {spec.allowed()}"
    if spec.high is not None and number > spec.high:
        return f"{raw} is more than {number_text(spec.high)}; write {spec.allowed()}"
    return None


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_NAME = re.compile(r"\b(" + "|".join(sorted(PARAMS_BY_NAME, key=len, reverse=True)) + r")\b")


def _date_words(match: re.Match) -> str:
    try:
        d = dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        return match.group(0)
    return f"{d.day} {d:%b %Y}"


def reader_words(message: str) -> str:
    """A model message with parameter names as their labels and dates as people write them
    (\u201cEveryone gone by\u201d, 22 Dec 2019), for a reader who never saw a scenario file."""
    text = _ISO_DATE.sub(_date_words, message)
    text = _NAME.sub(lambda m: f"\u201c{PARAMS_BY_NAME[m.group(1)].label}\u201d", text)
    return text.replace("allowed: ", "write ")


# --- what a mode change brings with it ----------------------------------------------------


def with_mode(base: Scenario, texts: dict[str, str], mode: str) -> tuple[dict[str, str], str]:
    """The controls after choosing a repatriation mode, its dates made to fit the mode; and a
    note saying what was adjusted (empty if nothing was).

    An abrupt return lasts at most a month: longer dates become the week after "Everyone gone
    by" (as in the abrupt-return scenario). A gradual return shorter than a month gets the
    status quo's sourced window (June to the 22 December 2019 deadline).
    """
    new = {**texts, "repatriation_mode": mode}
    try:
        start = dt.date.fromisoformat(texts["repatriation_start"].strip())
        end = dt.date.fromisoformat(texts["repatriation_end"].strip())
    except ValueError:
        return new, ""
    if mode == "abrupt" and not 0 <= (end - start).days <= ABRUPT_MAX_WINDOW_DAYS:
        start, end = end, end + dt.timedelta(days=6)
    elif mode == "gradual" and (end - start).days < ABRUPT_MAX_WINDOW_DAYS:
        defaults = default_scenario().params
        start, end = defaults["repatriation_start"], defaults["repatriation_end"]
    else:
        return new, ""
    new["repatriation_start"], new["repatriation_end"] = start.isoformat(), end.isoformat()
    days = f"{start.day} {start:%b %Y} to {end.day} {end:%b %Y}"
    article = "an" if mode == "abrupt" else "a"
    return new, f"Dates set to {days} to fit {article} {mode} return."


# --- a run's name, link and scenario file -------------------------------------------------


def changes(base: Scenario, scenario: Scenario) -> dict[str, Any]:
    """The parameters a run changed from its preset, in the registry's order."""
    return {k: v for k, v in scenario.params.items() if v != base.params.get(k)}


def changes_text(base: Scenario, changed: dict[str, Any]) -> list[str]:
    """Each change as a reader reads it: 'North Korean wage 2,500 (preset: 2,000)'."""
    out = []
    for name, value in changed.items():
        spec = PARAMS_BY_NAME[name]
        numeric = spec.kind in ("int", "float") and spec.unit not in ("share", "")
        unit = f" {spec.unit}" if numeric and spec.unit not in spec.label.lower() else ""
        out.append(
            f"{spec.label} {shown_value(value)}{unit} (preset: {shown_value(base.params[name])})"
        )
    return out


def shown_value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, dt.date):
        return f"{value.day} {value:%b %Y}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value)
    return str(value)


def run_name(base: Scenario, changed: dict[str, Any]) -> str:
    """The name a run goes by on the page: the preset's, or 'modified from' it."""
    shown = base.name.replace("_", " ")
    return f"modified from {shown}" if changed else shown


def query_of(preset: str, changed: dict[str, Any], seed: int = 1) -> str:
    """The page's query string: the preset, the seed if not 1, and every changed parameter."""
    items = [("preset", preset)]
    if seed != 1:
        items.append(("seed", str(seed)))
    items += [(k, as_text(v)) for k, v in changed.items()]
    return urllib.parse.urlencode(items)


@dataclass(frozen=True)
class Link:
    """What a page's query string asks for: a preset, a seed, control texts; and what in it
    could not be used (said on the page, never silently dropped)."""

    preset: str
    seed: int
    texts: dict[str, str]
    ignored: tuple[str, ...] = ()


def from_query(search: str | None, presets_: dict[str, Scenario]) -> Link:
    """Read ``?preset=...&seed=...&PARAM=VALUE``; unknown names are reported, not applied."""
    first = next(iter(presets_))
    pairs = urllib.parse.parse_qsl(search or "", keep_blank_values=True)
    asked = dict(pairs)
    ignored = []
    preset = asked.pop("preset", first)
    if preset not in presets_:
        ignored.append(f"preset {preset}")
        preset = first
    seed_text = asked.pop("seed", "1")
    seed = int(seed_text) if seed_text.isdigit() else 1
    if not seed_text.isdigit():
        ignored.append(f"seed {seed_text}")
    texts = texts_of(presets_[preset])
    for name, value in asked.items():
        if name in CONTROLS_BY_NAME:
            texts[name] = value
        else:
            ignored.append(name)
    return Link(preset, seed, texts, tuple(ignored))


ANALYST = "analyst's choice in the app"


def scenario_toml(base: Scenario, scenario: Scenario, seed: int = 1) -> str:
    """The run as a scenario file ``laborflow run`` accepts: it extends the preset and sets
    each changed parameter, marked as an assumption (the analyst's, not a source's)."""
    changed = changes(base, scenario)
    extends = Path(base.path).name if base.path else "status_quo.toml"
    title = base.title + (" (modified in the app)" if changed else "")
    lines = [
        f"# Written by the laborflow app (seed {seed}): laborflow run THIS_FILE --seed {seed}",
        "# `extends` is looked up beside this file, then among laborflow's scenarios.",
        "[scenario]",
        f"name = {_toml_str(base.name + ('_modified' if changed else ''))}",
        f"title = {_toml_str(title)}",
        f"description = {_toml_str('; '.join(changes_text(base, changed)) or base.description)}",
        f"extends = {_toml_str(extends)}",
        "",
        "[parameters]",
    ]
    for name, value in changed.items():
        lines.append(
            f"{name} = {{ value = {_toml_value(value)}, assumption = {_toml_str(ANALYST)} }}"
        )
    return "\n".join(lines) + "\n"


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _toml_value(value: Any) -> str:
    if value is None:
        return '"none"'
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return _toml_str(str(value))


def for_comparison(base: Scenario, scenario: Scenario, taken: Iterable[str]) -> Scenario:
    """A run sent to the comparison, under a name of its own that says what it is."""
    changed = changes(base, scenario)
    if not changed:
        return base
    n = 1
    while f"{base.name}_modified_{n}" in set(taken):
        n += 1
    title = f"Modified from {base.name.replace('_', ' ')}: " + "; ".join(
        changes_text(base, changed)
    )
    return dataclasses.replace(scenario, name=f"{base.name}_modified_{n}", title=title)
