"""Robustness ensembles: worlds drawn from the plausible ranges, contrasts read right, the
flip box found where a synthetic outcome flips, the same tables on any executor."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from experiments.robustness import RobustnessResult, build_ensemble, plausible_axes, robustness
from experiments.robustness_tables import Contrast, _rank_correlations, article_contrasts
from model.errors import ArgumentError, ScenarioError
from model.metrics import SUMMARY, direction
from model.parameters import POLICY_PARAMETERS
from model.scenario import SCENARIO_DIR, load_scenario
from tests.robustness_helpers import ARTICLE, town_files
from viz.robustness_text import restriction_words, robust_finding, robust_findings

SEEDS = (1, 2)


# --- synthetic outcomes on real worlds -----------------------------------------------------


def synthetic(worlds: int, outcome, seed: int = 1) -> RobustnessResult:
    """An ensemble of the article's scenarios whose metrics come from ``outcome(scenario,
    world values, seed)`` instead of the model: a known truth for the analysis to find."""
    ensemble = build_ensemble(ARTICLE, worlds, len(SEEDS), seed)
    rows = []
    for point in ensemble.points():
        for replicate, s in enumerate(ensemble.seeds()):
            values = outcome(point["scenario"], point, s)
            row = {"world": point["world"], "scenario": point["scenario"], "seed": s}
            rows.append({**row, "replicate": replicate, "status": "ok", **point, **values})
    runs = pd.DataFrame(rows)
    return RobustnessResult(ensemble, runs, pd.DataFrame())


def shut_by_policy(scenario: str, world: dict, seed: int) -> dict[str, float]:
    """Every metric of the registry; factories shut: abrupt > gradual > status quo always."""
    base = {m.name: float(seed) for m in SUMMARY}
    noise = 0.5 * (seed - 1.5)
    shut = {"status_quo": 0.0, "gradual_return": 40.0, "abrupt_return": 90.0}[scenario]
    pool = world["cn_jobseekers_per_nk_worker"]
    return {**base, "factories_shut": shut * (1.2 - pool) + noise}


def test_a_contrast_positive_in_every_world_is_robust_in_all_of_them() -> None:
    result = synthetic(30, shut_by_policy)
    headline, metric = result.headline
    assert headline == Contrast("abrupt_return", "gradual_return") and metric == "factories_shut"
    row = result.contrast(headline, metric)
    assert row["worlds"] == row["agree"] == row["higher"] == 30
    assert row["better"] == 0 and row["share_better"] == 0.0  # fewer shut is better
    assert row["conclusion"] == 1 and row["q10"] > 0
    flip = result.flip(headline, metric)
    assert not flip.flips and flip.box is None
    finding = robust_finding(result, headline, metric)
    assert finding.agree == finding.worlds == 30
    assert "higher under abrupt return than under gradual return in all 30 plausible worlds" in (
        finding.text
    )
    assert "It holds in every plausible world drawn." in finding.text
    # the regret of the status quo is nil in every world: it shuts none
    regret = result.regret.set_index(["metric", "scenario"])
    assert regret.loc[("factories_shut", "status_quo"), "best_in"] == 30
    assert regret.loc[("factories_shut", "status_quo"), "regret_max"] == 0
    assert regret.loc[("factories_shut", "abrupt_return"), "regret_median"] > 0


def flips_with_the_pool(scenario: str, world: dict, seed: int) -> dict[str, float]:
    """Abrupt minus gradual is positive unless the local labour pool exceeds 0.75."""
    base = {m.name: 0.0 for m in SUMMARY}
    pool = world["cn_jobseekers_per_nk_worker"]
    effect = 100.0 * (0.75 - pool) + 0.3 * (seed - 1.5)
    return {**base, "factories_shut": effect if scenario == "abrupt_return" else 0.0}


def test_the_flip_box_finds_a_known_threshold_of_one_assumption() -> None:
    result = synthetic(80, flips_with_the_pool)
    contrast, metric = result.headline
    drivers = result.drivers(contrast, metric)
    top = drivers.iloc[0]
    assert top.parameter == "cn_jobseekers_per_nk_worker"
    assert top.rho < -0.9 and top.hi < 0  # the interval excludes zero
    flip = result.flip(contrast, metric)
    truth = np.array(
        [w["cn_jobseekers_per_nk_worker"] > 0.75 for w in result.ensemble.world_values()]
    )
    assert flip.conclusion == 1 and flip.exceptions == truth.sum()
    assert flip.box is not None and flip.box.coverage >= 0.9 and flip.box.density >= 0.8
    assert [r.parameter for r in flip.restrictions] == ["cn_jobseekers_per_nk_worker"]
    limit = flip.restrictions[0]
    assert limit.high is None and limit.low == pytest.approx(0.75, abs=0.05)
    text = robust_finding(result, contrast, metric).text
    assert restriction_words(limit) in text and "the local labour pool is at least" in text


def test_findings_follow_the_registry_not_a_list_of_names() -> None:
    result = synthetic(12, shut_by_policy)
    findings = robust_findings(result)
    directed = [m.name for m in SUMMARY if direction(m.name) and m.name in result.compared]
    headline = [f for f in findings if f.contrast == result.contrasts[0]]
    assert [f.metric for f in headline] == [
        "factories_shut",
        *(m for m in directed if m != "factories_shut"),
    ]
    assert {f.contrast for f in findings} == set(result.contrasts)
    assert set(result.contrast_table.metric) == set(result.metrics) == {m.name for m in SUMMARY}


def test_rank_correlations_are_spearmans_rho_with_ties() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, size=(40, 3)).astype(float)  # many ties
    y = x[:, 0] + rng.normal(size=40)
    expected = [stats.spearmanr(x[:, j], y).statistic for j in range(3)]
    assert _rank_correlations(x, y) == pytest.approx(expected)
    assert np.isnan(_rank_correlations(np.ones((5, 1)), np.arange(5.0))[0])


def test_contrasts_are_the_articles_question_for_any_scenarios() -> None:
    assert article_contrasts(["sq", "gradual", "abrupt"]) == [
        Contrast("abrupt", "gradual"),
        Contrast("gradual", "sq"),
        Contrast("abrupt", "sq"),
    ]
    assert article_contrasts(["sq", "policy"]) == [Contrast("policy", "sq")]


# --- the worlds ----------------------------------------------------------------------------


def test_worlds_are_a_latin_hypercube_over_every_plausible_range() -> None:
    base = load_scenario(SCENARIO_DIR / "status_quo.toml")
    axes = plausible_axes(base)
    plausible = {n: r.plausible for n, r in base.records.items() if r.plausible is not None}
    assert {a.name for a in axes} == set(plausible) - POLICY_PARAMETERS
    ensemble = build_ensemble(ARTICLE, 20, 1, 7)
    worlds = ensemble.world_values()
    for axis in axes:
        values = [w[axis.name] for w in worlds]
        assert all(plausible[axis.name].contains(v) for v in values), axis.name
        if axis.kind == "float":  # one world in each of 20 equal slices of the range
            slices = np.floor((np.array(values) - axis.low) / (axis.high - axis.low) * 20)
            assert sorted(slices) == list(range(20)), axis.name
    assert build_ensemble(ARTICLE, 20, 1, 7).world_values() == worlds
    assert build_ensemble(ARTICLE, 20, 1, 8).world_values() != worlds


def test_a_parameter_given_a_range_joins_the_worlds_by_itself(tmp_path: Path) -> None:
    scenario = tmp_path / "fines.toml"
    scenario.write_text(
        f'[scenario]\nname = "fines"\nextends = "{SCENARIO_DIR / "status_quo.toml"}"\n'
        "[parameters]\nillegal_employment_fine_yuan = { value = 10000, range = [5000, 20000], "
        'source = "a test range" }\nholiday_departure = { value = "03-25", values = '
        '["03-20", "03-25", "03-30"], source = "a test set of values" }\n'
    )
    ensemble = build_ensemble([scenario], 9, 1, 1)
    names = ensemble.assumptions
    assert "illegal_employment_fine_yuan" in names and "holiday_departure" in names
    departures = {w["holiday_departure"] for w in ensemble.world_values()}
    assert departures == {"03-20", "03-25", "03-30"}  # a set of values, each drawn


def test_bad_ensembles_are_refused_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match="--worlds: 0; allowed"):
        build_ensemble(ARTICLE, 0, 1, 1)
    with pytest.raises(ArgumentError, match="--replicates"):
        build_ensemble(ARTICLE, 5, 0, 1)
    pool = tmp_path / "pool.toml"
    pool.write_text(
        f'[scenario]\nname = "big_pool"\nextends = "{SCENARIO_DIR / "abrupt_return.toml"}"\n'
        '[parameters]\ncn_jobseekers_per_nk_worker = { value = 0.5, assumption = "more" }\n'
    )
    with pytest.raises(ScenarioError, match="parameters.cn_jobseekers_per_nk_worker: sets 0.5"):
        build_ensemble([*ARTICLE[:2], pool], 5, 1, 1)
    with pytest.raises(ArgumentError, match="--resume"):
        robustness(ARTICLE, 2, 1, resume=True)


# --- real runs of a small town --------------------------------------------------------------


@pytest.fixture(scope="module")
def town(tmp_path_factory) -> list[Path]:
    return town_files(tmp_path_factory.mktemp("town"))


@pytest.fixture(scope="module")
def in_one_process(town) -> RobustnessResult:
    return robustness(town, worlds=4, replicates=2, seed=3, jobs=1)


def test_the_same_worlds_and_seeds_give_the_same_tables_on_one_and_two_processes(
    in_one_process, town, tmp_path: Path
) -> None:
    stored = robustness(town, worlds=4, replicates=2, seed=3, jobs=2, out=tmp_path / "ens")
    assert stored.tally.complete and stored.tally.ok == 24
    one = in_one_process
    assert len(one.runs) == 24 and set(one.runs.status) == {"ok"}
    assert set(one.ensemble.assumptions) <= set(one.runs.columns)
    pd.testing.assert_frame_equal(one.runs, stored.runs, check_dtype=False)
    for table in ("levels", "contrast_table", "regret", "driver_table", "flip_table"):
        pd.testing.assert_frame_equal(getattr(one, table), getattr(stored, table), obj=table)
    pd.testing.assert_frame_equal(one.bands, stored.bands, check_dtype=False)
    again = RobustnessResult.load(tmp_path / "ens")
    pd.testing.assert_frame_equal(again.contrast_table, one.contrast_table)
    assert [f.text for f in robust_findings(again)] == [f.text for f in robust_findings(one)]


def test_within_a_world_the_scenarios_share_every_value_but_the_policy(in_one_process) -> None:
    runs = in_one_process.runs
    assumptions = in_one_process.ensemble.assumptions
    for _, world in runs.groupby("world"):
        assert len(world[assumptions].drop_duplicates()) == 1
    worlds = runs.drop_duplicates("world")[assumptions]
    assert len(worlds.drop_duplicates()) == 4  # and each world is another world
    first = in_one_process.ensemble.points()[0]
    sq, gradual = (in_one_process.ensemble.scenario_in({**first, "scenario": n})
                   for n in ("status_quo", "gradual_return"))  # fmt: skip
    changed = {k for k in sq.params if sq.params[k] != gradual.params[k]}
    assert changed and changed <= POLICY_PARAMETERS
    assert sq.params["start_date"] == dt.date(2019, 5, 1)


def test_assumptions_are_named_as_a_sentence_names_them() -> None:
    from viz.robustness_text import assumption_words

    assert assumption_words("n_factories") == "the number of factories"
    assert assumption_words("overhead_yuan_per_month") == "the overhead of a factory"
    assert assumption_words("cn_wage_yuan_per_month") == "the Chinese wage"


def test_a_flip_box_that_limits_nothing_is_worded_without_failing() -> None:
    """PRIM can return a box with no limit left (every world inside): no range to name, and
    the command's table says 'none' rather than stopping with a traceback."""
    from experiments.discovery import Box
    from experiments.robustness_tables import Contrast, Flip
    from viz.robustness_text import box_words

    box = Box(pd.DataFrame(), coverage=1.0, density=0.3, mass=1.0, cases=3, runs=10)
    flip = Flip(Contrast("abrupt_return", "gradual_return"), "factories_shut", -1, 10, 3, box)
    assert box_words(flip) == ""
