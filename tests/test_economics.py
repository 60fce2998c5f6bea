"""The economics: outcomes move the way a labour economist expects, for stated reasons; the
start date and the horizon do not decide results; the law's fines and the border closure are
as the sources say; money balances to the yuan.

Directions are checked on paired seeds (common random numbers: the two runs of a pair differ
only in the parameter), at the ends of each parameter's plausible range, in a small town so
that the suite stays quick. Shutdowns are whole factories: a pair may differ by one factory
against the direction by chance of the path, never more, and never on average.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from model import LaborModel
from model.calendar import NEVER

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
TOWN = {"n_workers": 5000, "n_factories": 50}
SEEDS = (1, 2, 3)


def run(name: str, seed: int, **overrides):
    model = LaborModel.from_scenario(SCENARIOS / f"{name}.toml", rng=seed, **overrides)
    model.run_model()
    return model


def paired(name: str, metrics: tuple[str, ...], low: dict, high: dict) -> np.ndarray:
    """Each metric at ``high`` minus at ``low``, seed by seed (rows: seeds, columns: metrics)."""
    diffs = []
    for seed in SEEDS:
        hi = run(name, seed, **TOWN, **high).summary()
        lo = run(name, seed, **TOWN, **low).summary()
        diffs.append([hi[m] - lo[m] for m in metrics])
    return np.array(diffs, dtype=float)


WAGES_LOW = {
    "cn_wage_yuan_per_month": 4000.0,
    "cn_reservation_wage_median_yuan": 4000.0,
    "migrant_reservation_wage_median_yuan": 5000.0,
}
WAGES_HIGH = {
    "cn_wage_yuan_per_month": 5000.0,
    "cn_reservation_wage_median_yuan": 5000.0,
    "migrant_reservation_wage_median_yuan": 6000.0,
}
# (what changes, from, to, the direction of shutdowns and positions lost): -1 fewer, +1 more
DIRECTIONS = [
    ("a bigger local pool", {"cn_jobseekers_per_nk_worker": 0.1},
     {"cn_jobseekers_per_nk_worker": 1.0}, -1),
    ("more migrants who could come", {"migrant_pool_per_nk_worker": 0.25},
     {"migrant_pool_per_nk_worker": 3.0}, -1),
    ("higher productivity", {"value_added_yuan_per_hour": 24.0},
     {"value_added_yuan_per_hour": 40.0}, -1),
    ("higher Chinese wages (what workers ask and are paid)", WAGES_LOW, WAGES_HIGH, +1),
    ("migrants asking more", {"migrant_reservation_wage_median_yuan": 4800.0},
     {"migrant_reservation_wage_median_yuan": 7000.0}, +1),
    ("higher overhead", {"overhead_yuan_per_month": 10000.0},
     {"overhead_yuan_per_month": 60000.0}, +1),
    ("higher running costs of a line", {"line_cost_yuan_per_position_month": 250.0},
     {"line_cost_yuan_per_position_month": 1000.0}, +1),
    ("dearer closing (severance)", {"severance_months": 0.5}, {"severance_months": 3.0}, -1),
]  # fmt: skip


@pytest.mark.parametrize("policy", ["abrupt_return", "gradual_return"])
@pytest.mark.parametrize(
    ("what", "low", "high", "sign"), DIRECTIONS, ids=[d[0] for d in DIRECTIONS]
)
def test_shutdowns_and_positions_lost_move_the_expected_way(policy, what, low, high, sign):
    diffs = paired(policy, ("factories_shut", "positions_lost"), low, high) * sign
    for column, (metric, slack) in enumerate((("factories_shut", 1), ("positions_lost", 150))):
        assert diffs[:, column].mean() > 0, f"{what}: {metric} {diffs[:, column] * sign}"
        assert (diffs[:, column] >= -slack).all(), f"{what}: {metric} {diffs[:, column] * sign}"


@pytest.mark.parametrize("policy", ["abrupt_return", "gradual_return"])
def test_a_larger_cash_buffer_never_adds_shutdowns(policy):
    low, high = {"cash_buffer_months": 1.0}, {"cash_buffer_months": 6.0}
    assert paired(policy, ("factories_shut",), low, high).max() <= 0


@pytest.mark.parametrize("policy", ["abrupt_return", "gradual_return"])
def test_more_hiring_capacity_means_less_output_lost_and_a_smaller_gap(policy):
    """Faster recruiting moves scarce workers sooner to the factories that make most of them:
    output lost and the labour gap fall (a few more marginal factories may lose the race for
    workers and close: docs/odd.md, 'Hiring and reallocation')."""
    low = {"hiring_capacity_share_per_week": 0.02}
    high = {"hiring_capacity_share_per_week": 0.1}
    assert (paired(policy, ("output_lost", "peak_labor_gap_after_policy"), low, high) < 0).all()


def test_more_local_and_migrant_workers_shrink_the_gap_of_a_gradual_return():
    for low, high in (
        ({"cn_jobseekers_per_nk_worker": 0.1}, {"cn_jobseekers_per_nk_worker": 1.0}),
        ({"migrant_pool_per_nk_worker": 0.25}, {"migrant_pool_per_nk_worker": 3.0}),
    ):
        assert paired("gradual_return", ("peak_labor_gap_after_policy",), low, high).max() < 0


# --- the calendar does not decide ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["abrupt_return", "gradual_return"])
def test_starting_a_year_later_leaves_the_effects_at_each_lag_unchanged(policy):
    """Cash sits at its buffer from the first day (owners take out the rest), so when the run
    starts does not decide how long a factory lasts: the policy's effects 90, 180 and 365 days
    after it starts are the same within the noise of the seeds."""
    keys = [f"{s}_{lag}d" for s in ("factories_shut", "positions_lost") for lag in (90, 180, 365)]
    early = [run(policy, seed).summary() for seed in SEEDS]
    late = [run(policy, seed, start_date=dt.date(2019, 1, 1)).summary() for seed in SEEDS]
    for key in keys:
        scale = 200 if key.startswith("factories") else 25_000  # factories, positions
        a, b = np.mean([s[key] for s in early]), np.mean([s[key] for s in late])
        assert abs(b - a) <= 0.04 * scale, (key, a, b)


@pytest.mark.slow
def test_a_longer_horizon_adds_no_late_wave_of_shutdowns_and_keeps_the_ranking():
    """By a year after the deadline the factories have adjusted: running to 2022 shuts hardly
    any more, and the comparison of abrupt and gradual returns keeps its sign or stays level."""
    longer = {"end_date": dt.date(2022, 12, 31)}
    for seed in SEEDS[:2]:
        ends = {}
        for policy in ("abrupt_return", "gradual_return"):
            model = run(policy, seed, **longer)
            ts = model.timeseries().set_index("date")
            at_2020 = int(ts.loc["2020-12-31", "factories_shut"])
            ends[policy] = (at_2020, model.summary()["factories_shut"])
            assert ends[policy][1] - at_2020 <= 4
        d2020 = ends["abrupt_return"][0] - ends["gradual_return"][0]
        d2022 = ends["abrupt_return"][1] - ends["gradual_return"][1]
        assert np.sign(d2022) in (np.sign(d2020), 0) or abs(d2022 - d2020) <= 2


def test_the_status_quo_is_a_steady_state():
    """No policy, no shock: no factory closes, cash stays at its buffer, wages stay put."""
    model = run("status_quo", 1, **TOWN)
    f = model.factories
    assert f.operating.all()
    assert np.allclose(f.cash, f.buffer)
    ts = model.timeseries()
    assert ts.cn_wage_mean.max() == pytest.approx(model.p["cn_wage_yuan_per_month"])
    assert ts.cn_employed.iloc[-1] == pytest.approx(ts.cn_employed.iloc[0], rel=0.1)


def test_wage_offers_come_down_once_openings_are_filled():
    model = run("abrupt_return", 1, **TOWN)
    offers = np.array(model._weekly["offer"])  # every factory, every week
    operating = np.array(model._weekly["operating"])
    mean_offer = (offers * operating).sum(axis=1) / np.maximum(operating.sum(axis=1), 1)
    peak = int(np.argmax(mean_offer))
    assert mean_offer[peak] > model.p["cn_wage_yuan_per_month"] * 1.02
    assert mean_offer[-1] < mean_offer[peak]


def test_every_shutdown_has_its_reason_and_money_balances_to_the_yuan():
    model = run("abrupt_return", 2, **TOWN)
    f = model.factories
    log = model.shutdowns()
    assert len(log) == (~f.operating).sum() > 0
    assert set(log.reason) <= {"ran out of cash", "going on was worth less than closing"}
    settled_fines = f.fines - f.month["fines"]
    expected = f.buffer + f.profit_total - settled_fines - f.payouts - f.severance_paid
    assert np.allclose(f.cash, expected, rtol=0, atol=1e-3)
    table = model.factory_table()
    for column in ("productivity", "hours_per_day", "overhead", "shut_reason", "offer"):
        assert column in table


# --- the law and history --------------------------------------------------------------------


def test_employer_fines_are_per_case_and_capped_as_the_law_says(monkeypatch):
    """Exit and Entry Administration Law art. 80: 10,000 yuan per illegally employed worker,
    at most 100,000 yuan for the workers found in one inspection."""
    cases: list[tuple[np.ndarray, np.ndarray]] = []
    model = LaborModel.from_scenario(SCENARIOS / "strict_enforcement.toml", rng=3, **TOWN)
    fine = model.factories.fine

    def record(factories, amounts):
        cases.append((np.asarray(factories).copy(), np.asarray(amounts).copy()))
        fine(factories, amounts)

    monkeypatch.setattr(model.worker_rules.employers, "fine", record)
    found_by_day: dict[int, np.ndarray] = {}
    detained_before = 0
    for day in range(model.horizon.n_days):
        model.step()
        detained_now = int(model.workers.by_status[3])  # Status.DETAINED
        found_by_day[day] = detained_now - detained_before
        detained_before = detained_now
    assert cases, "strict enforcement found nobody"
    per_worker = model.p["illegal_employment_fine_yuan"]
    cap = model.p["illegal_employment_fine_cap_yuan"]
    amounts = np.concatenate([a for _, a in cases])
    assert amounts.max() <= cap
    assert (amounts % per_worker == 0).all()
    assert (amounts == cap).any()  # some inspections found more than ten workers
    assert len(np.unique(np.concatenate([f for f, _ in cases]))) > 1


def test_worker_fines_follow_the_law():
    model = run("visa_non_extension", 1, **TOWN, overstay_detection_per_month=0.3)
    s = model.summary()
    deported = s["nk_deported_total"]
    assert deported > 0
    least = deported * model.p["worker_illegal_work_fine_yuan"]
    most = deported * (model.p["worker_illegal_work_fine_yuan"] + model.p["overstay_fine_cap_yuan"])
    assert least < s["fines_on_workers_total"] <= most
    assert model.timeseries().fines_on_workers.sum() == pytest.approx(s["fines_on_workers_total"])


def test_while_the_border_is_closed_nobody_crosses_and_no_one_is_recalled():
    model = run("historical", 1, **TOWN)
    ts = model.timeseries().set_index("date")
    closed = ts.loc["2020-01-23":]
    assert closed.border_entries.sum() == 0 and closed.border_exits.sum() == 0
    assert ts.loc["2020-04-10", "nk_away"] == 0  # no April recall in 2020
    assert ts.loc["2019-04-10", "nk_away"] > 0.2 * ts.loc["2019-03-15", "nk_in_china"]
    assert closed.nk_in_china.nunique() == 1  # stranded: no one leaves, no one comes


def test_after_the_border_reopens_crossings_resume_and_departures_that_waited_happen():
    reopen = {"border_closure_start": dt.date(2020, 1, 22), "border_reopening": dt.date(2020, 7, 1)}
    model = run("gradual_return", 1, **TOWN, repatriation_end=dt.date(2020, 3, 31), **reopen)
    ts = model.timeseries().set_index("date")
    assert ts.loc["2020-02-01":"2020-06-30"].border_exits.sum() == 0
    assert ts.loc["2020-01-31", "nk_in_china"] > 0  # the programme could not finish
    assert ts.loc["2020-07-01":"2020-07-31"].border_exits.sum() > 0
    assert ts.loc["2020-08-01", "nk_in_china"] == 0


def test_the_holiday_recall_skips_workers_who_could_not_come_back():
    """Under visa non-extension no one returning in April 2020 could get a visa: the agency
    does not call them home for the holiday (they would be stranded)."""
    ts = run("visa_non_extension", 1, **TOWN).timeseries().set_index("date")
    assert ts.loc["2020-04-05", "nk_away"] == 0
    quo = run("status_quo", 1, **TOWN).timeseries().set_index("date")
    assert quo.loc["2020-04-05", "nk_away"] > 0.2 * quo.loc["2020-03-15", "nk_in_china"]


def test_an_abrupt_return_is_not_known_before_it_happens():
    """Factories and the agency act on policies in effect, not on future ones: until the
    abrupt return, its run is the status quo's, day by day."""
    quo = run("status_quo", 4, **TOWN).timeseries()
    abrupt = LaborModel.from_scenario(SCENARIOS / "abrupt_return.toml", rng=4, **TOWN)
    start = abrupt.horizon.day_of(dt.date(2019, 12, 22))
    abrupt.run_for(start)
    assert abrupt.timeseries().equals(quo.iloc[:start])
    assert abrupt.china.new_visas_end_known(start - 1) == NEVER
    assert abrupt.china.new_visas_end_known(start) == start


def test_a_factory_plans_with_the_staff_it_will_have():
    """Once a gradual return has started, a factory expects none of its North Korean staff to
    stay past the programme, so its wage ceiling is what Chinese staff alone can afford."""
    model = LaborModel.from_scenario(SCENARIOS / "gradual_return.toml", rng=1, **TOWN)
    model.run_for(model.horizon.day_of(dt.date(2019, 7, 2)))
    f = model.factories
    assert f.nk_expected.max() == 0
    alone = f.value_per_hour * f.cn_month_hours - f.line_cost - f.overhead / f.positions
    alone = np.maximum(alone, 0.0)
    assert np.allclose(f.wage_ceiling()[f.operating], alone[f.operating], rtol=1e-9)
