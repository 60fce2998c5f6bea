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
import functools
import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.errors import ScenarioError
from model.parameters import (
    PARAMETERS,
    Param,
    Plausible,
    check_consistency,
    coerce,
    coerce_range,
    coerce_values,
    lookup,
)

__all__ = [
    "Scenario",
    "ParamRecord",
    "load_scenario",
    "default_scenario",
    "defaults",
    "SCENARIO_DIR",
]
"""The public API (the reference, ``make docs``, documents these)."""

_CHECKOUT_SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SCENARIO_DIR = (
    _CHECKOUT_SCENARIOS
    if (_CHECKOUT_SCENARIOS / "status_quo.toml").is_file()
    else Path(__file__).resolve().parent / "scenarios"  # a wheel carries them as package data
)
"""The project's scenario files: the status quo, the policies, and sweep specs in sweeps/
(``scenarios/`` in a checkout or an editable install; ``model/scenarios/`` in a wheel)."""
DEFAULTS_FILE = SCENARIO_DIR / "status_quo.toml"
"""The one place defaults live: the status quo sets every parameter, each with its source."""


@dataclass(frozen=True)
class ParamRecord:
    """A parameter's value in a scenario and where that value comes from."""

    name: str
    value: Any
    unit: str
    source: str
    sourced: bool  # False: an assumption
    defined_in: str
    plausible: Plausible | None = None  # the values the world may plausibly hold


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
        """A copy with some values replaced; each replacement is recorded as such.

        ``overrides`` maps parameter names to values in the parameter's own unit (checked
        as a file's would be); ``origin`` is the source recorded for each of them (e.g.
        ``"command line --set"``).
        """
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

    def describe(self) -> dict[str, Any]:
        """The scenario as plain data (for manifests): every value with its source."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "path": self.path,
            "hash": self.hash,
            "parameters": self.table(),
        }

    @classmethod
    def from_description(cls, data: Mapping[str, Any], where: str) -> Scenario:
        """The scenario ``describe()`` wrote, with every value checked again.

        ``data`` is that description (a dict, as read from a manifest's JSON); ``where``
        names the file it came from, for error messages.
        """
        params, records = {}, {}
        for row in data["parameters"]:
            spec = lookup(row["parameter"], where, row["parameter"])
            value = coerce(spec, row["value"], where, row["parameter"])
            params[spec.name] = value
            records[spec.name] = ParamRecord(
                spec.name,
                value,
                spec.unit,
                row["source"],
                row["status"] == "sourced",
                row["defined_in"],
                _plausible(Path(where), spec, spec.name, row.get("plausible") or {}, value),
            )
        missing = [p.name for p in PARAMETERS if p.name not in params]
        if missing:
            raise ScenarioError(f"{where}: parameters.{missing[0]}: missing")
        check_consistency(params, where)
        return cls(data["name"], data["title"], data["description"], params, records,
                   data.get("path"))  # fmt: skip

    def table(self) -> list[dict[str, Any]]:
        """Every parameter with value, unit, source and whether sourced (for briefs)."""
        rows = []
        for spec in PARAMETERS:
            rec = self.records[spec.name]
            rows.append(
                {
                    "parameter": spec.name,
                    "value": _jsonable(self.params[spec.name]),
                    "unit": spec.unit,
                    "meaning": spec.doc,
                    "source": rec.source,
                    "status": "sourced" if rec.sourced else "assumption",
                    "defined_in": rec.defined_in,
                    "plausible": _plausible_data(rec.plausible),
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


def validate_params(params: Mapping[str, Any], where: str = "LaborModel") -> dict[str, Any]:
    """Defaults filled in, every value checked: the parameter set a model runs on."""
    out = defaults()
    for key, raw in params.items():
        spec = lookup(key, where, key)
        out[spec.name] = coerce(spec, raw, where, key)
    check_consistency(out, where)
    return out


@functools.cache
def default_scenario() -> Scenario:
    """The status quo: every parameter's default value, with its source."""
    return load_scenario(DEFAULTS_FILE)


def defaults() -> dict[str, Any]:
    """Every parameter's default value (a fresh dict: change it freely)."""
    return dict(default_scenario().params)


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line; values are read as TOML where they parse."""
    if "=" not in text:
        raise ScenarioError(f"--set {text}: expected key=value, such as n_workers=5000")
    key, value = (s.strip() for s in text.split("=", 1))
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    except RecursionError as err:
        raise ScenarioError(
            f"--set {text[:24]}...: nested too deeply to read; allowed: a number, a date, "
            "a word or a short list"
        ) from err
    return key, parsed


def read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ScenarioError(f"{path}: no such scenario file")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: not valid TOML: {err}") from err
    except RecursionError as err:  # arrays or tables nested hundreds deep
        raise ScenarioError(
            f"{path}: not valid TOML: nested too deeply to read; allowed: tables and values "
            "nested a few levels, as in the files in scenarios/"
        ) from err
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"{path}: cannot be read: {err}") from err


ENTRY_KEYS = ("value", "source", "assumption", "unit", "range", "values")


def _entry(path: Path, spec: Param, name: str, entry: Any) -> tuple[Any, str, bool]:
    """(value, source text, sourced?) of one ``[parameters]`` entry."""
    where = f"parameters.{name}"
    if not isinstance(entry, dict):
        raise ScenarioError(
            f"{path}: {where}: a bare value has no source; "
            'allowed: { value = ..., source = "..." } or { value = ..., assumption = "..." }'
        )
    unknown = set(entry) - set(ENTRY_KEYS)
    if unknown:
        raise ScenarioError(
            f"{path}: {where}: unknown key {sorted(unknown)[0]!r}; "
            f"allowed keys: {', '.join(ENTRY_KEYS)}"
        )
    if "value" not in entry:
        raise ScenarioError(f"{path}: {where}: missing 'value'")
    if "unit" in entry and entry["unit"] != spec.unit:
        raise ScenarioError(
            f"{path}: {where}.unit: {entry['unit']!r} is not this parameter's unit; "
            f"allowed: {spec.unit!r}, or no unit key"
        )
    text, sourced = source_of(entry, f"{path}: {where}")
    return entry["value"], text, sourced


def _plausible(
    path: Path, spec: Param, name: str, entry: Mapping[str, Any], value: Any
) -> Plausible | None:
    """The entry's plausible range or set of values, checked; the value must lie in it."""
    where, field_name = str(path), f"parameters.{name}"
    if "range" in entry and "values" in entry:
        raise ScenarioError(
            f"{path}: {field_name}: has both 'range' and 'values'; allowed: one of them"
        )
    if "range" in entry:
        low, high = coerce_range(spec, entry["range"], where, f"{field_name}.range")
        plausible = Plausible(low=low, high=high)
    elif "values" in entry:
        values = coerce_values(spec, entry["values"], where, f"{field_name}.values")
        plausible = Plausible(values=values)
    else:
        return None
    if not plausible.contains(value):
        raise ScenarioError(
            f"{path}: {field_name}: the value {_jsonable(value)} lies outside its plausible "
            f"{'range' if 'range' in entry else 'values'} ({plausible.text()}); allowed: a "
            "range or values that hold the value"
        )
    return plausible


def _plausible_data(plausible: Plausible | None) -> dict[str, Any]:
    """A plausible range as an entry would write it (for manifests, read back by
    ``_plausible``)."""
    if plausible is None:
        return {}
    if plausible.values:
        return {"values": [_jsonable(v) for v in plausible.values]}
    return {"range": [_jsonable(plausible.low), _jsonable(plausible.high)]}


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
    """Read a scenario file (and the files it extends) into a validated Scenario.

    ``path`` is a TOML file whose every value states its source or assumption (see the
    module doc); a file that extends nothing starts from the status quo. Errors
    (``ScenarioError``) name the file, the field and what is allowed.
    """
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
    root = resolved == DEFAULTS_FILE.resolve()
    if "extends" in meta:
        target = path.parent / str(meta["extends"])
        if not target.is_file() and (SCENARIO_DIR / str(meta["extends"])).is_file():
            # a file kept elsewhere (one the app wrote) may extend one of laborflow's scenarios
            target = SCENARIO_DIR / str(meta["extends"])
        if not target.is_file():
            raise ScenarioError(
                f"{path}: scenario.extends: {meta['extends']!r} does not exist (looked for "
                f"{target.resolve()}); allowed: a scenario file, relative to {path}"
            )
        if target.resolve() == DEFAULTS_FILE.resolve():
            base = default_scenario()  # read once per process: most files extend it
        else:
            base = load_scenario(target, (*_seen, resolved))
        params, records = dict(base.params), dict(base.records)
    elif root:
        params, records = {}, {}
    else:  # a file that extends nothing starts from the defaults
        base = default_scenario()
        params, records = dict(base.params), dict(base.records)
    entries = doc.get("parameters", {})
    if not isinstance(entries, dict):
        raise ScenarioError(f"{path}: parameters: must be a table")
    for name, entry in entries.items():
        spec = lookup(name, str(path), f"parameters.{name}")
        raw, source, sourced = _entry(path, spec, name, entry)
        value = coerce(spec, raw, str(path), f"parameters.{name}")
        plausible = _plausible(path, spec, name, entry, value)
        params[spec.name] = value
        records[spec.name] = ParamRecord(
            spec.name, value, spec.unit, source, sourced, path.name, plausible
        )
    if root:
        missing = [p.name for p in PARAMETERS if p.name not in params]
        if missing:
            raise ScenarioError(
                f"{path}: parameters.{missing[0]}: missing; the status quo sets every "
                f"parameter (the defaults of all scenarios), {len(missing)} are missing"
            )
    check_consistency(params, str(path))
    return Scenario(
        name=str(meta.get("name", path.stem)),
        title=str(meta.get("title", meta.get("name", path.stem))),
        description=str(meta.get("description", "")).strip(),
        params=params,
        records=records,
        path=str(path),
    )
