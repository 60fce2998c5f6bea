"""Paired scenario comparisons: same seeds for every scenario, exact zero against itself,
intervals that separate gradual from abrupt return, files that load back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cli.main import main
from experiments.comparison import Comparison, compare
from experiments.executors import InlineExecutor, local_executor
from model.metrics import BANDED, COMPARED
from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def small_scenario(folder: Path, extends: str = "status_quo.toml", name: str = "small") -> Path:
    """A scenario file for a small town (1,000 workers to February 2020) on a project scenario."""
    path = folder / f"{name}.toml"
    path.write_text(
        f'[scenario]\nname = "{name}"\nextends = "{SCENARIOS / extends}"\n\n[parameters]\n'
        'n_workers = { value = 1000, assumption = "test: a small town" }\n'
        'n_factories = { value = 10, assumption = "test: a small town" }\n'
        'end_date = { value = 2020-02-29, assumption = "test: past the 2397 deadline" }\n'
    )
    return path


def test_a_scenario_against_itself_differs_by_exactly_zero(tmp_path: Path, capsys) -> None:
    path = small_scenario(tmp_path)
    out = tmp_path / "cmp"
    assert main(["compare", str(path), str(path), "--replicates", "3", "--out", str(out)]) == 0
    table = pd.read_csv(out / "comparison.csv")
    other = table[table.scenario == "small#2"]
    runs = pd.read_csv(out / "runs.csv")
    defined = [m for m in COMPARED if runs[m].notna().all()]  # lags past the end drop out
    assert set(other.metric) == set(table.metric) == set(defined)
    assert {"factories_shut", "positions_lost"} <= set(defined)  # this run ends before 90 days
    for column in ("diff_mean", "diff_lo", "diff_hi"):
        assert (other[column] == 0.0).all(), column
    assert "Paired difference from small" in capsys.readouterr().out


def test_every_scenario_runs_with_the_same_seeds(tmp_path: Path) -> None:
    a = small_scenario(tmp_path)
    b = small_scenario(tmp_path, "abrupt_return.toml", "small_abrupt")
    result = compare([a, b], replicates=3, master_seed=11, executor=InlineExecutor())
    assert result.seeds == [11, 12, 13]
    seeds = result.runs.groupby("scenario", sort=False)["seed"].apply(list)
    assert seeds.to_dict() == {"small": [11, 12, 13], "small_abrupt": [11, 12, 13]}
    # Common random numbers: until the abrupt return starts, the runs are the same draws.
    before = result.bands[result.bands.date < "2019-12-22"]
    base, other = (before[before.scenario == s].reset_index(drop=True) for s in seeds.index)
    pd.testing.assert_frame_equal(base.drop(columns="scenario"), other.drop(columns="scenario"))


def test_results_do_not_depend_on_the_executor(tmp_path: Path) -> None:
    a = small_scenario(tmp_path)
    b = small_scenario(tmp_path, "strict_enforcement.toml", "small_strict")
    inline = compare([a, b], replicates=2, executor=InlineExecutor())
    pool = compare([a, b], replicates=2, executor=local_executor(2))
    pd.testing.assert_frame_equal(inline.table, pool.table)
    pd.testing.assert_frame_equal(inline.bands, pool.bands)


def test_saved_comparison_has_parquet_csv_bands_and_loads_back(tmp_path: Path) -> None:
    a = small_scenario(tmp_path)
    b = small_scenario(tmp_path, "strict_enforcement.toml", "small_strict")
    result = compare([a, b], replicates=3, executor=InlineExecutor())
    out = result.save(tmp_path / "saved")
    for name in ("runs", "comparison"):
        assert (out / f"{name}.parquet").is_file() and (out / f"{name}.csv").is_file()
    loaded = Comparison.load(out)
    pd.testing.assert_frame_equal(loaded.table, result.table)
    # Parquet keeps dates in ms, the model makes them in s: same days, another unit.
    pd.testing.assert_frame_equal(loaded.bands, result.bands, check_dtype=False)
    assert [s.name for s in loaded.scenarios] == ["small", "small_strict"]
    assert loaded.scenarios[1].params == load_scenario(b).params
    bands = loaded.bands
    days = 790  # 2018-01-01 to 2020-02-29
    assert len(bands) == 2 * len(BANDED) * days
    assert ((bands.q10 <= bands.q50) & (bands.q50 <= bands.q90)).all()
    row = result.metric("nk_deported_total", "small_strict")
    assert row["lo"] <= row["mean"] <= row["hi"]
    assert row["diff_lo"] <= row["diff_mean"] <= row["diff_hi"]


def test_one_replicate_has_no_interval(tmp_path: Path) -> None:
    result = compare([small_scenario(tmp_path)], replicates=1, executor=InlineExecutor())
    assert result.table["lo"].isna().all() and result.table["hi"].isna().all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--replicates", "0"], "--replicates: 0; allowed: a whole number of at least 1"),
        (["--jobs", "0"], "--jobs: 0; allowed: a whole number from 1 to"),
        (["no_such.toml"], "no_such.toml: no such scenario file"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    args: list[str], message: str, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "cmp"
    path = small_scenario(tmp_path)
    extra = [str(tmp_path / a) if a.endswith(".toml") else a for a in args]
    files = [a for a in extra if a.endswith(".toml")]
    options = [a for a in extra if not a.endswith(".toml")]
    assert main(["compare", str(path), *files, *options, "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("laborflow: error: ") and message in lines[0]
    assert not out.exists()


@pytest.mark.slow
def test_an_abrupt_return_shuts_factories_sooner_than_a_gradual_one_beyond_noise(
    tmp_path: Path, capsys
) -> None:
    """The article's question at Dandong scale, default replicates (8), paired intervals:
    within 90 days of its start an abrupt return has shut more factories, and opened a wider
    labour gap, than a gradual return has within 90 days of its own."""
    out = tmp_path / "cmp"
    gradual, abrupt = SCENARIOS / "gradual_return.toml", SCENARIOS / "abrupt_return.toml"
    assert main(["compare", str(gradual), str(abrupt), "--out", str(out)]) == 0
    table = pd.read_parquet(out / "comparison.parquet").set_index(["metric", "scenario"])
    for metric in ("factories_shut_90d", "peak_labor_gap_after_policy"):
        row = table.loc[(metric, "abrupt_return")]
        assert row.n == 8
        assert row.diff_lo > 0, f"{metric}: the paired interval reaches zero or below"
    printed = capsys.readouterr().out
    assert "8 replicates per scenario" in printed and "Factories shut" in printed
