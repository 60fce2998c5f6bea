"""Sweep specs (TOML) and the designs they expand to: which parameter values each run gets.

A sweep spec names a base scenario, the parameters to vary and how to sample them::

    [sweep]
    name = "pool_and_trip"
    base = "../status_quo.toml"      # relative to the spec file
    design = "lhs"                   # grid | lhs | sobol | saltelli
    samples = 16                     # lhs, sobol, saltelli (the last two: a power of two)
    replicates = 2                   # seeds per point: seed, seed + 1, ... (same at every point)
    seed = 1                         # master seed: the design's scrambling and the run seeds
    series_every_days = 7            # keep every 7th day of the daily series (1 = every day)

    [fixed]                          # optional: set at every point, like a scenario's entries
    n_workers = { value = 2000, assumption = "a small town, to keep the sweep quick" }

    [parameters]
    cn_jobseekers_per_nk_worker = { range = [0.1, 0.5], assumption = "..." }
    renewal_trip_days = { values = [1, 3, 7], source = "FACTS: 1-7 days suggested" }
    max_understaffed_days = { range = [30, 90], levels = 3, assumption = "..." }  # grid

Ranges are sampled uniformly between their ends; an integer range gives every integer
from low to high the same chance (the unit interval is cut into equal bins), and a date
range does the same over days. ``saltelli`` is the design for Sobol' sensitivity indices
(``laborflow sensitivity``): ``samples`` base points become samples x (parameters + 2)
runs, in the order SALib's analysis expects. ``values`` lists suit any parameter, including choices,
month-days and dates. A grid takes every listed value, or ``levels`` evenly spaced values
of a range (integers and dates rounded, repeats dropped). LHS and Sobol' samples come from
``scipy.stats.qmc``, scrambled with the master seed.

Everything is checked before anything runs: names, values, ranges, the design itself,
and every sampled point against the scenario's cross-field rules. Errors name the file,
the field and what is allowed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments.errors import SweepSpecError
from model.parameters import check_consistency, coerce, coerce_range, coerce_values, lookup
from model.scenario import ParamRecord, Scenario, load_scenario, read_toml, source_of

DESIGNS = ("grid", "lhs", "sobol", "saltelli")
SWEEP_KEYS = (
    "name",
    "title",
    "description",
    "base",
    "design",
    "samples",
    "replicates",
    "seed",
    "series_every_days",
)
AXIS_KEYS = ("values", "range", "levels", "source", "assumption", "unit")
FIXED_KEYS = ("value", "source", "assumption", "unit")
MAX_POINTS = 10_000_000
"""A design larger than this is almost surely a typo (a grid of many long value lists)."""


@dataclass(frozen=True)
class Axis:
    """One varied parameter: its listed values, or a range (with grid levels)."""

    name: str
    kind: str
    values: tuple[Any, ...] | None = None
    low: Any = None
    high: Any = None
    levels: int | None = None
    source: str = ""
    sourced: bool = False

    def at(self, u: np.ndarray) -> list[Any]:
        """Values for points in the unit interval (LHS and Sobol' columns)."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, np.nextafter(1.0, 0.0))
        if self.values is not None:
            return [self.values[i] for i in (u * len(self.values)).astype(int)]
        if self.kind == "float":
            return [float(x) for x in self.low + u * (self.high - self.low)]
        lo, hi = _as_int(self.low), _as_int(self.high)
        ints = lo + np.minimum((u * (hi - lo + 1)).astype(np.int64), hi - lo)
        return [self._from_int(int(i)) for i in ints]

    def grid(self) -> list[Any]:
        """The values a grid design takes along this axis."""
        if self.values is not None:
            return list(self.values)
        assert self.levels is not None
        if self.kind == "float":
            return [float(x) for x in np.linspace(self.low, self.high, self.levels)]
        lo, hi = _as_int(self.low), _as_int(self.high)
        ints = np.rint(np.linspace(lo, hi, self.levels)).astype(np.int64)
        return [self._from_int(int(i)) for i in dict.fromkeys(ints.tolist())]

    def _from_int(self, i: int) -> Any:
        return dt.date.fromordinal(i) if self.kind in ("date", "optional_date") else i

    def canonical(self) -> dict[str, Any]:
        """What decides the design (not the source text), for the spec hash."""
        values = None if self.values is None else [_jsonable(v) for v in self.values]
        return {
            "name": self.name,
            "values": values,
            "range": None if self.low is None else [_jsonable(self.low), _jsonable(self.high)],
            "levels": self.levels,
        }


def _as_int(x: Any) -> int:
    return x.toordinal() if isinstance(x, dt.date) else int(x)


def _jsonable(x: Any) -> Any:
    return x.isoformat() if isinstance(x, dt.date) else x


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: base scenario (with fixed values), axes, design and seeds."""

    name: str
    title: str
    description: str
    base: Scenario
    axes: tuple[Axis, ...]
    design: str
    samples: int | None
    replicates: int
    seed: int
    series_every_days: int = 1
    path: str | None = None
    text: str = ""

    @property
    def parameters(self) -> list[str]:
        return [a.name for a in self.axes]

    @property
    def hash(self) -> str:
        """Content hash of everything that decides the results: same hash, same runs."""
        canon = {
            "base_params": {k: _jsonable(v) for k, v in sorted(self.base.params.items())},
            "axes": [a.canonical() for a in self.axes],
            "design": self.design,
            "samples": None if self.design == "grid" else self.samples,
            "replicates": self.replicates,
            "seed": self.seed,
            "series_every_days": self.series_every_days,
        }
        blob = json.dumps(canon, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def seeds(self) -> list[int]:
        """Replicate r runs with seed + r at every point (common random numbers)."""
        return [self.seed + r for r in range(self.replicates)]

    def describe(self) -> dict[str, Any]:
        """The spec as plain data (for sweep.json)."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "path": self.path,
            "base": self.base.path,
            "design": self.design,
            "samples": self.samples,
            "replicates": self.replicates,
            "seed": self.seed,
            "series_every_days": self.series_every_days,
            "parameters": [
                {**a.canonical(), "source": a.source, "sourced": a.sourced} for a in self.axes
            ],
        }


# --- reading a spec ----------------------------------------------------------------------


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and check a sweep spec; the design itself is checked by ``build_design``."""
    path = Path(path)
    where = str(path)
    doc = read_toml(path)
    if "scenario" in doc and "sweep" not in doc:
        raise SweepSpecError(
            f"{where}: is a scenario file ([scenario]), not a sweep spec; allowed: a file with "
            "[sweep] and [parameters] tables, such as those in scenarios/sweeps/"
        )
    _only(doc, ("sweep", "fixed", "parameters"), where, "", "table")
    meta = _table(doc, "sweep", where, required=True)
    _only(meta, SWEEP_KEYS, where, "sweep.", "key")
    if "base" not in meta:
        raise SweepSpecError(
            f"{where}: sweep.base: missing; allowed: a scenario file, relative to {where}"
        )
    base_file = path.parent / str(meta["base"])
    if not base_file.is_file():
        raise SweepSpecError(
            f"{where}: sweep.base: {meta['base']!r} does not exist (looked for "
            f"{base_file.resolve()}); allowed: a scenario file, relative to the spec file"
        )
    fixed = _table(doc, "fixed", where)
    base = _apply_fixed(load_scenario(base_file), fixed, where)
    design = meta.get("design")
    if design not in DESIGNS:
        raise SweepSpecError(
            f"{where}: sweep.design: {design!r} is not a design; allowed: "
            + ", ".join(repr(d) for d in DESIGNS)
        )
    samples = None
    if design != "grid":
        samples = _int(meta, "samples", where, low=1, default=None)
        if samples is None:
            raise SweepSpecError(
                f"{where}: sweep.samples: missing; allowed: a whole number of at least 1"
            )
    axes = _axes(_table(doc, "parameters", where, required=True), design, set(fixed), where)
    name = str(meta.get("name", path.stem))
    return SweepSpec(
        name=name,
        title=str(meta.get("title", name)),
        description=str(meta.get("description", "")).strip(),
        base=base,
        axes=axes,
        design=design,
        samples=samples,
        replicates=_int(meta, "replicates", where, low=1, default=1),
        seed=_int(meta, "seed", where, low=0, default=1),
        series_every_days=_int(meta, "series_every_days", where, low=1, default=1),
        path=where,
        text=path.read_text(),
    )


def _only(table: Mapping[str, Any], allowed: tuple[str, ...], where: str, prefix: str, what: str):
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise SweepSpecError(
            f"{where}: {prefix}{unknown[0]}: unknown {what}; allowed: " + ", ".join(allowed)
        )


def _table(doc: Mapping[str, Any], key: str, where: str, required: bool = False) -> dict:
    value = doc.get(key, {} if not required else None)
    if value is None:
        raise SweepSpecError(f"{where}: [{key}]: missing table")
    if not isinstance(value, dict):
        raise SweepSpecError(f"{where}: {key}: must be a table")
    return value


def _int(meta: Mapping[str, Any], key: str, where: str, low: int, default: int | None):
    raw = meta.get(key, default)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < low:
        raise SweepSpecError(
            f"{where}: sweep.{key}: {raw!r}; allowed: a whole number of at least {low}"
        )
    return raw


def _apply_fixed(base: Scenario, fixed: Mapping[str, Any], where: str) -> Scenario:
    """The base scenario with the spec's [fixed] values, each keeping its source."""
    params, records = dict(base.params), dict(base.records)
    for name, entry in fixed.items():
        field_name = f"fixed.{name}"
        spec = lookup(name, where, field_name)
        if not isinstance(entry, dict) or "value" not in entry:
            raise SweepSpecError(
                f"{where}: {field_name}: allowed: "
                '{ value = ..., source = "..." } or { value = ..., assumption = "..." }'
            )
        _only(entry, FIXED_KEYS, where, f"{field_name}.", "key")
        text, sourced = source_of(entry, f"{where}: {field_name}")
        value = coerce(spec, entry["value"], where, field_name)
        params[name] = value
        records[name] = ParamRecord(name, value, spec.unit, text, sourced, Path(where).name)
    check_consistency(params, f"{where}: [fixed] on {base.path}")
    return dataclasses.replace(base, params=params, records=records)


def _axes(table: Mapping[str, Any], design: str, fixed: set[str], where: str) -> tuple[Axis, ...]:
    both = sorted(fixed & set(table))
    if both:
        raise SweepSpecError(
            f"{where}: parameters.{both[0]}: also set in [fixed]; allowed: a parameter is "
            "either fixed or varied"
        )
    if not table:
        raise SweepSpecError(
            f"{where}: [parameters]: no parameter to vary; allowed: one or more entries "
            'such as renewal_trip_days = { values = [1, 3, 7], assumption = "..." }'
        )
    return tuple(_axis(name, entry, design, where) for name, entry in table.items())


def _axis(name: str, entry: Any, design: str, where: str) -> Axis:
    field_name = f"parameters.{name}"
    spec = lookup(name, where, field_name)
    if not isinstance(entry, dict):
        raise SweepSpecError(
            f'{where}: {field_name}: allowed: {{ values = [...], source = "..." }} or '
            '{ range = [low, high], assumption = "..." }'
        )
    _only(entry, AXIS_KEYS, where, f"{field_name}.", "key")
    text, sourced = source_of(entry, f"{where}: {field_name}")
    if ("values" in entry) == ("range" in entry):
        raise SweepSpecError(
            f"{where}: {field_name}: needs exactly one of 'values' (a list) or "
            "'range' ([low, high])"
        )
    if "levels" in entry and ("range" not in entry or design != "grid"):
        raise SweepSpecError(
            f"{where}: {field_name}.levels: only a grid design samples a range at levels; "
            'allowed: levels with range and design = "grid"'
        )
    if "values" in entry:
        values = coerce_values(spec, entry["values"], where, f"{field_name}.values", SweepSpecError)
        return Axis(name, spec.kind, values=values, source=text, sourced=sourced)
    low, high = coerce_range(spec, entry["range"], where, f"{field_name}.range", SweepSpecError)
    levels = None
    if design == "grid":
        levels = entry.get("levels")
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2:
            raise SweepSpecError(
                f"{where}: {field_name}.levels: {levels!r}; allowed: a whole number of at least 2 "
                "(a grid takes that many evenly spaced values of the range)"
            )
    return Axis(name, spec.kind, low=low, high=high, levels=levels, source=text, sourced=sourced)


# --- the design -------------------------------------------------------------------------


def build_design(spec: SweepSpec) -> list[dict[str, Any]]:
    """Parameter values for every point, in point order; each point passes the scenario rules."""
    points = _points(spec)
    where = spec.path or spec.name
    for i, point in enumerate(points):
        check_consistency(
            {**spec.base.params, **point}, f"{where}: design point {i} ({_show(point)})"
        )
    return points


def _show(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_jsonable(v)}" for k, v in point.items())


def _points(spec: SweepSpec) -> list[dict[str, Any]]:
    where = spec.path or spec.name
    names = spec.parameters
    if spec.design == "grid":
        levels = [a.grid() for a in spec.axes]
        size = math.prod(len(v) for v in levels)
        _check_size(size, where)
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*levels)]
    assert spec.samples is not None
    _check_size(spec.samples * (len(spec.axes) + 2 if spec.design == "saltelli" else 1), where)
    unit = _unit_samples(spec, where)
    columns = [axis.at(unit[:, j]) for j, axis in enumerate(spec.axes)]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _check_size(size: int, where: str) -> None:
    if size > MAX_POINTS:
        raise SweepSpecError(
            f"{where}: the design has {size:,} points; allowed: at most {MAX_POINTS:,}"
        )


def _unit_samples(spec: SweepSpec, where: str) -> np.ndarray:
    """Points in the unit hypercube from scipy's samplers, scrambled by the master seed."""
    from scipy.stats import qmc

    d, n = len(spec.axes), spec.samples
    assert n is not None
    rng = np.random.default_rng(spec.seed)
    if spec.design == "lhs":
        return qmc.LatinHypercube(d, rng=rng).random(n)
    m = n.bit_length() - 1
    if n != 2**m:
        lower, upper = 2**m, 2 ** (m + 1)
        raise SweepSpecError(
            f"{where}: sweep.samples: {n} is not a power of two; allowed for design = "
            f'"{spec.design}": a power of two such as {lower} or {upper} (Sobol\' points are '
            "balanced only then)"
        )
    if spec.design == "saltelli":
        return saltelli_unit_samples(d, n, spec.seed)
    try:
        return qmc.Sobol(d, scramble=True, rng=rng).random_base2(m)
    except ValueError as err:  # e.g. more dimensions or points than the sequence has
        raise SweepSpecError(f"{where}: the Sobol' design cannot be built: {err}") from err


def saltelli_unit_samples(d: int, n: int, seed: int) -> np.ndarray:
    """Saltelli's scheme for Sobol' indices (SALib): n x (d + 2) points in the unit cube.

    The rows come in blocks of d + 2 (A, the d mixes of A and B, B) that SALib's analysis
    expects in this order, so the design's point order is part of the method.
    """
    import warnings

    from SALib.sample import sobol as salib_sobol

    problem = {"num_vars": d, "names": [f"x{i}" for i in range(d)], "bounds": [[0.0, 1.0]] * d}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib warns on sample sizes it does not prefer
        return salib_sobol.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)


def iter_runs(spec: SweepSpec, points: list[dict[str, Any]]) -> Iterator[tuple[int, int, int]]:
    """(point, replicate, seed) of every run, point by point."""
    seeds = spec.seeds()
    for i in range(len(points)):
        for r, seed in enumerate(seeds):
            yield i, r, seed


def run_id(point: int, replicate: int) -> str:
    """A run's stable name: the same in every session, executor and store."""
    return f"{point:06d}-{replicate:03d}"
