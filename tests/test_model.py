"""The core model: accounting invariants, determinism, common random numbers, policy effects."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest

from model import LaborModel
from model.factories import SHUT_REASONS
from model.model import SERIES_COLUMNS
from model.scenario import defaults, load_scenario
from model.workers import Status

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
ALL_SCENARIOS = sorted(SCENARIOS.glob("*.toml"))
SMALL = {"n_workers": 3000, "n_factories": 30}


def run(name: str, seed: int = 1, **overrides) -> LaborModel:
    model = LaborModel.from_scenario(SCENARIOS / f"{name}.toml", rng=seed, **overrides)
    model.run_model()
    return model


@pytest.fixture(scope="module")
def dandong_runs() -> dict[tuple[str, int], LaborModel]:
    """Full-size Dandong runs of the article's policies, three seeds each (shared by tests)."""
    names = ("status_quo", "gradual_return", "abrupt_return", "visa_non_extension")
    return {(name, seed): run(name, seed) for name in names for seed in (1, 2, 3)}


@pytest.mark.parametrize("path", ALL_SCENARIOS, ids=lambda p: p.stem)
def test_every_worker_is_accounted_for_every_day(path: Path) -> None:
    model = LaborModel.from_scenario(path, rng=7)
    model.run_model()
    ts = model.timeseries()
    assert len(ts) == model.horizon.n_days == (model.horizon.end - model.horizon.start).days + 1
    lhs = ts.nk_in_china + ts.nk_away + ts.nk_repatriated
    assert (lhs == model.initial_workers + ts.nk_arrived).all()
    assert (ts.nk_in_china == ts.nk_working + ts.nk_overstaying + ts.nk_detained).all()
    assert (ts.nk_working == ts.nk_work_visa + ts.nk_training_visa + ts.nk_student_visa).all()
    assert (ts.factories_operating + ts.factories_shut == model.factories.n).all()
    assert (ts.labor_gap >= 0).all() and (ts.labor_gap <= ts.positions).all()
    assert ts.nk_repatriated.is_monotonic_increasing and ts.factories_shut.is_monotonic_increasing
    # Net border flow equals the change in the number of workers in China.
    net = (ts.border_entries - ts.border_exits).cumsum()
    assert (ts.nk_in_china == model.initial_workers + net).all()


def test_running_counters_match_a_recount_of_the_rows() -> None:
    model = LaborModel.from_scenario(SCENARIOS / "strict_enforcement.toml", rng=3, **SMALL)
    for _ in range(model.horizon.n_days // 50 + 1):
        model.run_for(50)
        recount = model.workers.recount()
        w = model.workers
        assert (recount["by_status"] == w.by_status).all()
        assert (recount["working_by_visa"] == w.working_by_visa).all()
        assert (recount["at_work_by_factory"] == w.at_work_by_factory).all()
        assert (recount["employed_by_factory"] == w.employed_by_factory).all()
        staff, wage_bill = model.market.recount()
        assert (staff == model.market.staff).all()
        assert np.allclose(wage_bill, model.market.wage_bill)
        assert (model.factories.cn_staff == staff).all()
        # The market counts job seekers as they change and lists staff by locals with a job
        # and migrants in the city: both rest on migrants being in the city only while
        # employed, and locals never leaving it.
        market = model.market
        employed = market.employer >= 0
        assert (market.in_city[~market.local] == employed[~market.local]).all()
        assert market.in_city[market.local].all()
        assert market.seekers == int((market.in_city & ~employed).sum())
        assert (market._employed() == np.flatnonzero(employed)).all()


def test_visa_runs_follow_the_rules_and_the_random_streams() -> None:
    """The monthly visa run, day by day (compiled in model.worker_kernels): whoever leaves on
    a trip had a visa ending that day and comes back after the trip plus the queue drawn from
    the ``trip_length`` stream; whoever comes back is at work on a new training or student
    visa for its full stay, next due when it or the exit day comes."""
    model = LaborModel.from_scenario(SCENARIOS / "status_quo.toml", rng=5, **SMALL)
    p, w, streams = model.p, model.workers, model.streams
    stays = model.agency.stays
    left = back = 0
    for day in range(120):
        n = w.n
        before = {c: getattr(w, c)[:n].copy() for c in ("status", "visa_expiry", "trips")}
        model.step()
        status = w.status[:n]
        out = np.flatnonzero((before["status"] == Status.WORKING) & (status == Status.AWAY))
        if day in model.agency.recall_days:  # the April holiday: another reason to leave
            out = out[:0]
        assert (before["visa_expiry"][out] == day).all()
        queue = streams.integers("trip_length", out, p["renewal_trip_spread_days"] + 1, day)
        assert (w.return_day[out] == day + p["renewal_trip_days"] + queue).all()
        assert (w.due[out] == w.return_day[out]).all()
        assert (w.trips[out] == before["trips"][out] + 1).all()
        came = np.flatnonzero((before["status"] == Status.AWAY) & (status == Status.WORKING))
        assert (w.visa[came] != 0).all()  # no work visas after resolution 2375
        assert (w.visa_expiry[came] == day + stays[w.visa[came]]).all()
        assert (w.due[came] == np.minimum(w.visa_expiry[came], w.exit_due[came])).all()
        left, back = left + len(out), back + len(came)
        recount = w.recount()
        assert (recount["by_status"] == w.by_status).all()
        assert (recount["working_by_visa"] == w.working_by_visa).all()
        assert (recount["at_work_by_factory"] == w.at_work_by_factory).all()
    assert left > 1000 and back > 1000  # about a third of 3,000 workers a month, each way


def test_same_seed_same_result_other_seed_other_result() -> None:
    a = run("gradual_return", 11, **SMALL)
    b = run("gradual_return", 11, **SMALL)
    c = run("gradual_return", 12, **SMALL)
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries())
    strip = ("provenance",)
    sa = {k: v for k, v in a.summary().items() if k not in strip}
    assert sa == {k: v for k, v in b.summary().items() if k not in strip}
    assert not a.timeseries().equals(c.timeseries())


def test_common_random_numbers_identical_until_the_policy_differs() -> None:
    base = run("status_quo", 5)
    abrupt = run("abrupt_return", 5)
    gradual = run("gradual_return", 5)
    for other, start in ((abrupt, dt.date(2019, 12, 22)), (gradual, dt.date(2019, 6, 1))):
        day = other.horizon.day_of(start)
        before = base.timeseries().iloc[:day]
        pd.testing.assert_frame_equal(before, other.timeseries().iloc[:day])
        assert not base.timeseries().iloc[day:].equals(other.timeseries().iloc[day:])


def test_common_random_numbers_keep_individual_histories() -> None:
    base = run("status_quo", 9, **SMALL)
    other = run("abrupt_return", 9, **SMALL)
    # Every worker who left before the programme began lived the same life in both runs.
    cutoff = other.horizon.day_of(dt.date(2019, 12, 22))
    for i in range(base.initial_workers):
        a, b = base.worker(i), other.worker(i)
        if a.left_day is not None and a.left_day < cutoff:
            assert a == b


def _mean(runs: dict, name: str, key: str) -> float:
    return float(np.mean([runs[(name, s)].summary()[key] for s in (1, 2, 3)]))


@pytest.mark.slow
def test_abrupt_return_shuts_more_factories_and_opens_a_bigger_gap(dandong_runs) -> None:
    assert _mean(dandong_runs, "abrupt_return", "factories_shut") > _mean(
        dandong_runs, "gradual_return", "factories_shut"
    )
    assert _mean(dandong_runs, "abrupt_return", "peak_labor_gap") > _mean(
        dandong_runs, "gradual_return", "peak_labor_gap"
    )
    assert _mean(dandong_runs, "status_quo", "factories_shut") == 0


@pytest.mark.slow
def test_gradual_return_empties_china_by_the_deadline(dandong_runs) -> None:
    for seed in (1, 2, 3):
        s = dandong_runs[("gradual_return", seed)].summary()
        assert s["nk_in_china_at_deadline"] == 0


@pytest.mark.slow
def test_visa_non_extension_creates_overstayers(dandong_runs) -> None:
    for seed in (1, 2, 3):
        ts = dandong_runs[("visa_non_extension", seed)].timeseries().set_index("date")
        assert ts.loc[:"2019-12-21", "nk_overstaying"].max() == 0
        # Within two months of the last renewals most training visas have lapsed.
        assert ts.loc["2020-02-15", "nk_overstaying"] > 2000
        sq = dandong_runs[("status_quo", seed)].timeseries().nk_overstaying
        assert sq.max() == 0


@pytest.mark.slow
def test_status_quo_is_stable_with_an_april_dip_and_recovery(dandong_runs) -> None:
    for seed in (1, 2, 3):
        model = dandong_runs[("status_quo", seed)]
        ts = model.timeseries().set_index("date").nk_in_china
        n = model.initial_workers
        for year in (2018, 2019, 2020):
            before = ts.loc[f"{year}-03-01" : f"{year}-03-20"].mean()
            during = ts.loc[f"{year}-04-01" : f"{year}-04-15"].mean()
            after = ts.loc[f"{year}-06-01" : f"{year}-06-30"].mean()
            assert during < 0.8 * before, "the holiday recall empties part of the workforce"
            assert after > 0.95 * before, "and the workers come back after 15 April"
        outside_april = ts[(ts.index.month < 3) | (ts.index.month > 5)]
        assert outside_april.min() > 0.8 * n and outside_april.max() <= n


def test_strict_enforcement_deports_and_fines() -> None:
    model = run("strict_enforcement", 2, **SMALL)
    s = model.summary()
    assert s["nk_deported_total"] > 0
    assert (
        0 < s["fines_total"] <= s["nk_deported_total"] * defaults()["illegal_employment_fine_yuan"]
    )
    assert run("status_quo", 2, **SMALL).summary()["nk_deported_total"] == 0


def test_chinese_pool_fills_only_part_of_the_north_korean_positions() -> None:
    """The article: at 4,000-5,000 yuan there are not enough Chinese workers."""
    model = LaborModel(rng=1)
    nk_positions = int(model.factories.nk_positions0.sum())
    assert model.market.willing_at(5000) < 0.5 * nk_positions
    assert model.market.willing_at(4000) < 0.25 * nk_positions


def test_shut_factories_release_their_staff() -> None:
    model = run("abrupt_return", 4, **SMALL)
    f = model.factories
    shut = ~f.operating
    assert shut.any()
    assert (f.cn_staff[shut] == 0).all()
    assert (model.workers.at_work_by_factory[shut] == 0).all()
    assert not np.isin(model.market.employer, np.flatnonzero(shut)).any()
    log = model.shutdowns()
    assert len(log) == shut.sum() and set(log.reason) <= set(SHUT_REASONS.values())


def test_a_factory_has_a_weekly_history() -> None:
    model = LaborModel.from_scenario(
        SCENARIOS / "abrupt_return.toml", rng=1, n_workers=2000, n_factories=20
    )
    model.run_model()
    shut = int(model.factory_table().query("state == 'shut'").factory.iloc[0])
    history = model.factory_history(shut)
    assert len(history) == model.horizon.n_days // 7
    assert history.operating.iloc[0] and not history.operating.iloc[-1]
    assert (history.positions[~history.operating] == 0).all()
    with pytest.raises(IndexError, match="factory 20 does not exist"):
        model.factory_history(20)


def test_individuals_are_inspectable() -> None:
    model = run("status_quo", 1, **SMALL)
    worker = model.worker(0)
    assert worker.status in {s.name.lower() for s in Status}
    assert worker.trips >= 0 and 0 <= worker.factory < model.factories.n
    factory = model.factory(0)
    assert isinstance(factory, mesa.Agent) and factory.state in {
        "operating",
        "short-staffed",
        "shut",
    }
    assert factory.positions > 0
    with pytest.raises(IndexError):
        model.worker(10**9)


def test_summary_has_the_promised_keys_and_provenance() -> None:
    s = run("abrupt_return", 1, **SMALL).summary()
    for key in (
        "factories_shut",
        "first_shutdown",
        "peak_labor_gap",
        "cn_jobs_lost",
        "output_lost",
        "nk_in_china_at_deadline",
        "nk_overstaying_at_deadline",
    ):
        assert key in s
    dt.date.fromisoformat(s["first_shutdown"])
    prov = s["provenance"]
    assert prov["seed"] == 1 and len(prov["scenario_hash"]) == 16 and prov["version"]


def test_timeseries_columns() -> None:
    ts = LaborModel(rng=1, n_workers=500, n_factories=5, end_date=dt.date(2018, 2, 1))
    ts.run_model()
    df = ts.timeseries()
    assert list(df.columns) == ["date", *SERIES_COLUMNS]
    assert df.date.iloc[0] == pd.Timestamp("2018-01-01") and df.date.iloc[-1] == pd.Timestamp(
        "2018-02-01"
    )


def test_step_run_for_and_running_flag() -> None:
    model = LaborModel(rng=1, n_workers=500, n_factories=5, end_date=dt.date(2018, 1, 10))
    model.step()
    assert model.day == 1 and model.current_date == dt.date(2018, 1, 1)
    model.run_for(3)
    assert model.day == 4 and model.current_date == dt.date(2018, 1, 4)
    model.run_model()
    assert model.day == 10 and not model.running
    model.step()  # past the end: nothing happens
    assert model.day == 10


def test_mesa_batch_run_runs_the_model() -> None:
    results = mesa.batch_run(
        LaborModel,
        parameters={
            "n_workers": 800,
            "n_factories": 8,
            "end_date": dt.date(2018, 3, 31),
            "holiday_recall_share": [0.0, 0.6],
        },
        rng=[1, 2],
        max_steps=200,
        data_collection_period=-1,
        number_processes=1,
        display_progress=False,
    )
    df = pd.DataFrame(results)
    assert len(df) == 4
    assert {"nk_in_china", "labor_gap", "factories_operating"} <= set(df.columns)
    assert (df.Step == 90).all()


def test_keyword_construction_matches_the_status_quo_file() -> None:
    """LaborModel(**params) defaults are the status quo file: two doors, one model."""
    scenario = load_scenario(SCENARIOS / "status_quo.toml")
    assert scenario.params == defaults() == LaborModel().p
    a = LaborModel(rng=3, n_workers=1000, n_factories=10)
    b = LaborModel.from_scenario(
        SCENARIOS / "status_quo.toml", rng=3, n_workers=1000, n_factories=10
    )
    a.run_for(120)
    b.run_for(120)
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries())


def test_rng_generator_and_none_are_accepted_and_recorded() -> None:
    m = LaborModel(rng=np.random.default_rng(5), n_workers=100, n_factories=2)
    assert isinstance(m.seed, int)
    m2 = LaborModel(rng=None, n_workers=100, n_factories=2)
    assert m2.summary()["provenance"]["seed"] == m2.seed
    with pytest.raises(TypeError, match="rng"):
        LaborModel(rng="seven", n_workers=100, n_factories=2)


def test_mesa_solaraviz_reset_rebuilds_the_model() -> None:
    """SolaraViz rebuilds the model as type(model)(**kwargs), with Mesa's scenario object."""
    from mesa.visualization.solara_viz import _build_model_init_kwargs

    model = LaborModel(rng=3, n_workers=800, n_factories=8)
    kwargs = _build_model_init_kwargs(
        model,
        {"n_workers": 900, "n_factories": 9, "rng": 4},
        add_scenario_when_empty=True,
        require_model_accepts_scenario=False,
    )
    rebuilt = type(model)(**kwargs)
    assert rebuilt.initial_workers == 900 and rebuilt.factories.n == 9 and rebuilt.seed == 4
    rebuilt.run_for(10)
    assert rebuilt.day == 10
