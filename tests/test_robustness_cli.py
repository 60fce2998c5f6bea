"""`laborflow robustness` and the brief's ensemble as a person uses them: tables printed,
files written, a failed run finished with --resume, and bad input refused in one line with
nothing written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cli.main import main
from experiments.robustness import RobustnessResult, robustness
from experiments.runner import FAIL_ENV
from model.metrics import SUMMARY
from model.scenario import SCENARIO_DIR
from tests.robustness_helpers import ARTICLE, town_files

ENSEMBLE = ["--worlds", "3", "--replicates", "1", "--seed", "5", "--jobs", "1"]


@pytest.fixture(scope="module")
def town(tmp_path_factory) -> list[str]:
    return [str(p) for p in town_files(tmp_path_factory.mktemp("town"))]


@pytest.fixture(scope="module")
def fresh(town) -> RobustnessResult:
    """The ENSEMBLE run in this process, in memory: what every other way must equal."""
    return robustness(town, worlds=3, replicates=1, seed=5, jobs=1)


def refused(capsys, argv: list[str], out: Path, needle: str) -> None:
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert needle in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert not out.exists(), "nothing is written for bad input"


def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path: Path, capsys, town) -> None:
    out = tmp_path / "out"
    refused(capsys, ["robustness", *town, "--worlds", "0"], out, "--worlds: 0; allowed")
    refused(capsys, ["robustness", *town, "--replicates", "0"], out, "--replicates: 0")
    refused(capsys, ["robustness", *town, "--jobs", "0"], out, "--jobs: 0")
    entries = {
        "outside": ("range = [0.2, 1.5]", "out of range; allowed: a number from 0 to 1"),
        "inverted": ("range = [0.8, 0.2]", "is inverted"),
        "empty": ("range = [0.5, 0.5]", "is empty"),
        "no value": ("values = []", "must be a non-empty list"),
    }
    for name, (plausible, needle) in entries.items():
        bad = tmp_path / f"{name.replace(' ', '_')}.toml"
        bad.write_text(
            f'[scenario]\nname = "bad"\nextends = "{SCENARIO_DIR / "status_quo.toml"}"\n'
            f'[parameters]\noverstay_share = {{ value = 0.5, {plausible}, assumption = "x" }}\n'
        )
        refused(capsys, ["robustness", str(bad), *town[1:]], out, needle)
    both = tmp_path / "pool.toml"  # a policy that also sets an assumption the worlds vary
    both.write_text(
        f'[scenario]\nname = "abrupt_big_pool"\nextends = "{town[2]}"\n[parameters]\n'
        'cn_jobseekers_per_nk_worker = { value = 0.8, assumption = "a larger pool" }\n'
    )
    refused(
        capsys,
        ["robustness", *town[:2], str(both)],
        out,
        "parameters.cn_jobseekers_per_nk_worker: sets 0.8 where status_quo has 0.25, but the "
        "robustness ensemble varies cn_jobseekers_per_nk_worker",
    )
    file = tmp_path / "a_file"
    file.write_text("")
    assert main(["robustness", *town, *ENSEMBLE, "--out", str(file)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def test_the_brief_refuses_a_bad_ensemble_before_any_run(tmp_path: Path, capsys) -> None:
    out = tmp_path / "brief"
    refused(capsys, ["brief", "--worlds", "0"], out, "--worlds: 0; allowed")
    refused(capsys, ["brief", "--world-seeds", "0"], out, "--replicates: 0")


def test_a_failed_run_is_stored_and_resume_finishes_the_ensemble(
    tmp_path: Path, capsys, monkeypatch, town, fresh
) -> None:
    out = tmp_path / "ensemble"
    monkeypatch.setenv(FAIL_ENV, "000001-000,000005-000")
    assert main(["robustness", *town, *ENSEMBLE, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "2 runs failed" in err and "--resume" in err
    partial = pd.read_parquet(out / "worlds.parquet")
    assert (partial.status == "failed").sum() == 2 and (partial.status == "ok").sum() == 7

    monkeypatch.delenv(FAIL_ENV)
    assert main(["robustness", *town, *ENSEMBLE, "--out", str(out)]) == 2  # not without --resume
    assert "--resume to finish it" in capsys.readouterr().err
    assert main(["robustness", *town, *ENSEMBLE, "--out", str(out), "--resume"]) == 0
    printed = capsys.readouterr().out
    worlds = pd.read_parquet(out / "worlds.parquet")
    assert len(worlds) == 9 and set(worlds.status) == {"ok"}
    pd.testing.assert_frame_equal(worlds, fresh.runs, check_dtype=False)

    metrics = [m.name for m in SUMMARY]
    assert set(metrics) <= set(worlds.columns)
    assert set(fresh.ensemble.assumptions) <= set(worlds.columns)
    tables = ("robustness.csv", "levels.csv", "regret.csv", "best.csv", "drivers.csv", "flips.csv")
    for table in tables:
        assert (out / table).is_file(), table
    contrasts = pd.read_csv(out / "robustness.csv")
    assert {"label", "unit", "better", "share_better", "seed_width"} <= set(contrasts.columns)
    assert "Factories shut" in set(contrasts.label)
    for needle in ("Across worlds", "better in", "Regret", "What drives each contrast",
                   "Findings across plausible worlds:", "Factories shut: "):  # fmt: skip
        assert needle in printed, needle
    loaded = RobustnessResult.load(out)
    assert loaded.ensemble.hash == fresh.ensemble.hash


def test_the_default_scenarios_are_the_articles_three() -> None:
    from cli.robustness import article_paths

    assert article_paths([]) == ARTICLE


def test_a_dask_cluster_gives_the_same_worlds(
    tmp_path: Path, town, fresh, dask_cluster: str
) -> None:
    out = tmp_path / "dask"
    argv = ["robustness", *town, *ENSEMBLE[:-2], "--scheduler", dask_cluster, "--out", str(out)]
    assert main(argv) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "worlds.parquet"), fresh.runs,
                                  check_dtype=False)  # fmt: skip
