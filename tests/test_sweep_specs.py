"""Sweep specs and designs: what each run gets, and bad specs refused in one line."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from cli.main import main
from experiments.design import build_design, load_sweep
from model.errors import InputError
from tests.sweep_helpers import (
    QUICK,
    SCENARIOS,
    TINY,
    spec_text,
    write,
)


@pytest.mark.parametrize(
    "path", sorted((SCENARIOS / "sweeps").glob("*.toml")), ids=lambda p: p.stem
)
def test_example_specs_load_and_every_point_is_valid(path: Path) -> None:
    spec = load_sweep(path)
    points = build_design(spec)
    assert points and all(set(p) == set(spec.parameters) for p in points)
    assert all(axis.source for axis in spec.axes)
    text = path.read_text()
    for axis in spec.axes:  # every varied number says where it comes from
        line = next(ln for ln in text.splitlines() if ln.startswith(f"{axis.name} ="))
        assert "source =" in line or "assumption =" in line


def test_lhs_rounds_integers_and_dates_and_depends_only_on_the_seed(tmp_path: Path) -> None:
    spec = load_sweep(write(tmp_path, QUICK.replace("samples = 4", "samples = 70")))
    points = build_design(spec)
    trips = [p["renewal_trip_days"] for p in points]
    assert all(isinstance(t, int) for t in trips) and set(trips) == set(range(1, 8))
    assert sorted(trips) == sorted(t for t in range(1, 8) for _ in range(10))  # LHS strata
    starts = [p["enforcement_start"] for p in points]
    assert all(dt.date(2018, 3, 1) <= d <= dt.date(2018, 5, 31) for d in starts)
    assert all(0.1 <= p["cn_jobseekers_per_nk_worker"] <= 0.5 for p in points)
    assert build_design(spec) == points
    other = load_sweep(write(tmp_path, QUICK.replace("seed = 3", "seed = 4"), "other.toml"))
    assert build_design(other) != build_design(load_sweep(write(tmp_path, QUICK, "q.toml")))


def test_grid_takes_values_and_levels(tmp_path: Path) -> None:
    axes = """
    [parameters]
    renewal_trip_days = { range = [1, 3], levels = 5, assumption = "test" }
    holiday_departure = { values = ["03-20", "03-25"], assumption = "test" }
    nk_state_share = { range = [0.5, 0.9], levels = 3, assumption = "test" }
    """
    spec = load_sweep(
        write(tmp_path, spec_text("design = 'grid'", parameters=textwrap.dedent(axes)))
    )
    points = build_design(spec)
    assert len(points) == 3 * 2 * 3  # integer levels 1, 1.5, 2, 2.5, 3 round to 1, 2, 3
    assert {p["renewal_trip_days"] for p in points} == {1, 2, 3}
    assert {p["nk_state_share"] for p in points} == {0.5, 0.7, 0.9}
    assert points[0] == {
        "renewal_trip_days": 1,
        "holiday_departure": "03-20",
        "nk_state_share": 0.5,
    }


def test_sobol_points_from_scipy(tmp_path: Path) -> None:
    text = QUICK.replace('design = "lhs"', 'design = "sobol"').replace("samples = 4", "samples = 8")
    points = build_design(load_sweep(write(tmp_path, text)))
    assert len(points) == 8 and len({p["cn_jobseekers_per_nk_worker"] for p in points}) == 8


BAD_SPECS = [
    (
        "unknown parameter",
        QUICK.replace("renewal_trip_days =", "renewal_trip_dayz ="),
        "parameters.renewal_trip_dayz: unknown parameter (did you mean 'renewal_trip_days'?)",
    ),
    (
        "empty range",
        QUICK.replace("[1, 7]", "[3, 3]"),
        "parameters.renewal_trip_days.range: [3, 3] is empty",
    ),
    ("inverted range", QUICK.replace("[0.1, 0.5]", "[0.5, 0.1]"), "[0.5, 0.1] is inverted"),
    (
        "out of range",
        QUICK.replace("[0.1, 0.5]", "[-1, 0.5]"),
        "-1.0 is out of range; allowed: a number from 0 to 100",
    ),
    (
        "sobol not a power of two",
        QUICK.replace('"lhs"', '"sobol"').replace("samples = 4", "samples = 6"),
        "6 is not a power of two",
    ),
    (
        "no such design",
        QUICK.replace('"lhs"', '"random"'),
        "sweep.design: 'random' is not a design",
    ),
    (
        "replicates < 1",
        QUICK.replace("replicates = 2", "replicates = 0"),
        "sweep.replicates: 0; allowed: a whole number of at least 1",
    ),
    ("no samples", QUICK.replace("samples = 4", ""), "sweep.samples: missing"),
    ("a scenario file", (SCENARIOS / "status_quo.toml").read_text(), "is a scenario file"),
    (
        "fixed and varied",
        QUICK + 'n_workers = { values = [400, 600], assumption = "t" }\n',
        "parameters.n_workers: also set in [fixed]",
    ),
    (
        "no base file",
        QUICK.replace("status_quo.toml", "no_such.toml"),
        "no_such.toml' does not exist (looked for",
    ),
    (
        "range on a choice",
        QUICK + 'repatriation_mode = { range = ["none", "abrupt"], assumption = "t" }\n',
        "has no range; allowed: values",
    ),
    (
        "no source",
        QUICK.replace(', assumption = "test: a float range"', ""),
        "needs exactly one of 'source'",
    ),
    (
        "grid without levels",
        QUICK.replace('"lhs"', '"grid"'),
        "levels: None; allowed: a whole number of at least 2",
    ),
    ("unknown sweep key", QUICK.replace("seed = 3", "sead = 3"), "sweep.sead: unknown key"),
    (
        "a point that breaks a cross-field rule",
        spec_text(
            "design = 'grid'",
            fixed=TINY.replace("2018-06-30", "2020-06-30")
            + 'repatriation_mode = { value = "abrupt", assumption = "t" }\n'
            + 'repatriation_start = { value = 2019-12-22, assumption = "t" }\n',
            parameters="[parameters]\nrepatriation_end = "
            '{ values = [2019-12-28, 2020-03-01], assumption = "t" }\n',
        ),
        "design point 1 (repatriation_end=2020-03-01): repatriation_end: an abrupt return spans",
    ),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD_SPECS, ids=[c[0] for c in BAD_SPECS])
def test_bad_spec_is_one_line_exit_2_and_nothing_written(
    case: str, text: str, message: str, tmp_path: Path, capsys
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=None) as err:
        build_design(load_sweep(path))
    assert message in str(err.value)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "1"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("laborflow: error: ") and message in lines[0]
    assert not out.exists()


def test_replicates_and_jobs_below_one_are_refused(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, QUICK)
    assert main(["sweep", str(path), "--out", str(tmp_path / "o"), "--jobs", "0"]) == 2
    assert "--jobs: 0; allowed: a whole number from 1 to" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
