"""Evidence behind the model: its ODD description and validation against observed facts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from experiments.validation import FACTS, validate
from model.parameters import PARAMETERS

ROOT = Path(__file__).resolve().parent.parent


def test_the_project_cites_only_what_it_contains() -> None:
    """Sources are named in the repository (docs/sources.md), never in files outside it."""
    sources = (ROOT / "docs" / "sources.md").read_text()
    assert "Daily NK" in sources and "Exit and Entry Administration Law" in sources
    tracked = [
        p
        for folder in ("model", "experiments", "viz", "cli", "scenarios", "docs", "scripts")
        for p in (ROOT / folder).rglob("*")
        if p.suffix in (".py", ".toml", ".md", ".j2", ".sh")
    ] + [ROOT / "README.md", ROOT / "pyproject.toml"]
    outside = [
        str(p) for p in tracked if re.search(r"FACTS\.md|\.\./shared|RECIPES", p.read_text())
    ]
    assert outside == []


def test_every_parameter_is_documented_in_the_odd() -> None:
    odd = (ROOT / "docs" / "odd.md").read_text()
    documented = set(re.findall(r"`([a-z_]+)`", odd))
    missing = [p.name for p in PARAMETERS if p.name not in documented]
    assert not missing, f"add to docs/odd.md: {missing}"
    for heading in (
        "Purpose",
        "Entities",
        "Process overview",
        "Design concepts",
        "Initialization",
        "Input data",
        "Submodels",
    ):
        assert heading in odd


@pytest.mark.slow
def test_validation_reports_every_fact_with_source_and_result() -> None:
    table = validate(replicates=2)
    assert list(table.fact) == [f.key for f in FACTS]
    assert set(table.result) <= {"pass", "fail"}
    assert table.source.str.len().min() > 5 and table.tolerance.str.len().min() > 5
    for key in (
        "wage_ratio",
        "holiday_departure",
        "holiday_return",
        "overstay_not_leave",
        "abrupt_worse",
        "pool_cannot_refill",
    ):
        assert key in set(table.fact)


def test_a_failing_fact_is_reported_as_failed() -> None:
    # With no holiday recall there is no late-March departure: the check must say so.
    table = validate(replicates=1, holiday_recall_share=0.0, n_workers=2000, n_factories=20)
    result = dict(zip(table.fact, table.result, strict=True))
    assert result["holiday_dip"] == "fail" and result["holiday_departure"] == "fail"


TINY_SALTELLI = """
[sweep]
name = "tiny_sensitivity"
base = "{base}"
design = "saltelli"
samples = 4
replicates = 1
seed = 3
series_every_days = 30
[fixed]
n_workers = {{ value = 600, assumption = "tiny, for a quick test" }}
n_factories = {{ value = 6, assumption = "tiny, for a quick test" }}
[parameters]
cash_buffer_months = {{ range = [0.5, 4.0], assumption = "test range" }}
cn_jobseekers_per_nk_worker = {{ range = [0.1, 1.0], assumption = "test range" }}
renewal_trip_days = {{ range = [1, 7], assumption = "test range" }}
"""


def tiny_spec(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SALTELLI.format(base=ROOT / "scenarios" / "abrupt_return.toml"))
    return path


def test_sensitivity_on_a_tiny_sample_gives_indices_for_every_parameter_and_metric(
    tmp_path: Path, capsys
) -> None:
    import pandas as pd

    from cli.main import main
    from experiments.sensitivity import SENSITIVITY_METRICS

    out = tmp_path / "sens"
    assert main(["sensitivity", str(tiny_spec(tmp_path)), "--jobs", "1", "--out", str(out)]) == 0
    indices = pd.read_csv(out / "sensitivity.csv")
    params = {"cash_buffer_months", "cn_jobseekers_per_nk_worker", "renewal_trip_days"}
    assert set(indices.parameter) == params
    assert set(indices.metric) == set(SENSITIVITY_METRICS)
    assert len(indices) == len(params) * len(SENSITIVITY_METRICS)
    assert (indices.ST_lo <= indices.ST).all() and (indices.ST_hi >= indices.ST).all()
    assert (out / "sensitivity.png").stat().st_size > 10_000
    assert "Sobol' indices" in capsys.readouterr().out
    # Run again on the same folder: the stored sweep is reused, nothing runs twice.
    assert main(["sensitivity", str(tiny_spec(tmp_path)), "--jobs", "1", "--out", str(out)]) == 0
    assert "20 already stored" in capsys.readouterr().err


def test_sensitivity_needs_the_saltelli_design(tmp_path: Path, capsys) -> None:
    from cli.main import main

    spec = ROOT / "scenarios" / "sweeps" / "quick_demo.toml"
    assert main(["sensitivity", str(spec), "--out", str(tmp_path / "x")]) == 2
    assert 'allowed: design = "saltelli"' in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_discovery_finds_the_box_of_a_synthetic_sweep() -> None:
    """Runs whose outcome is high exactly when a > 0.6 and b < 13: PRIM must find that."""
    import numpy as np
    import pandas as pd

    from experiments.discovery import discover

    rng = np.random.default_rng(4)
    n = 600
    runs = pd.DataFrame(
        {
            "a": rng.uniform(0, 1, n),
            "b": rng.uniform(10, 20, n),
            "c": rng.uniform(0, 1, n),
            "status": "ok",
        }
    )
    runs["factories_shut"] = np.where((runs.a > 0.6) & (runs.b < 13), 90, 10) + rng.integers(
        0, 5, n
    )
    box, _, interesting = discover(runs, ["a", "b", "c"], "factories_shut", 50)
    assert interesting.sum() == ((runs.a > 0.6) & (runs.b < 13)).sum()
    lim = box.limits
    assert abs(lim.loc["a", "low"] - 0.6) < 0.05 and abs(lim.loc["b", "high"] - 13) < 0.6
    assert lim.loc["c", "low"] == lim.loc["c", "low_bound"]  # c does not matter: unrestricted
    assert box.coverage > 0.8 and box.density > 0.8
    assert box.describe().startswith("a >= 0.") and " and b <= 1" in box.describe()


def test_discover_explains_a_threshold_no_run_exceeds(tmp_path: Path, capsys) -> None:
    from cli.main import main

    spec = tiny_spec(tmp_path)
    args = [
        "discover",
        str(spec),
        "--threshold",
        "1e9",
        "--jobs",
        "1",
        "--out",
        str(tmp_path / "d"),
    ]
    assert main(args) == 2
    assert "none of the 20 runs meet the threshold" in capsys.readouterr().err


@pytest.mark.slow
def test_validate_command_prints_and_writes_the_table(tmp_path: Path, capsys) -> None:
    import pandas as pd

    from cli.main import main

    code = main(["validate", "--seeds", "1", "--out", str(tmp_path / "v")])
    table = pd.read_csv(tmp_path / "v" / "validation.csv")
    assert code == (1 if (table.result == "fail").any() else 0)
    out = capsys.readouterr().out
    assert f"of {len(FACTS)} facts pass" in out and "source:" in out
