"""The plain Mesa baseline (bench/plain_mesa.py) is the same model, written plainly.

The speed ratio ``make bench`` reports means something only if the baseline does
laborflow's work: these tests check that it runs on the scenario's parameters, that every
person is always somewhere, and that it answers an abrupt return as laborflow does
(factories lose their North Korean staff, some hire Chinese workers). Behaviour, not
timings: a small town, a few seconds.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
TOWN = {"n_workers": 1000, "n_factories": 10}
DAYS = 200
LEAVE = dt.date(2018, 5, 15)  # after the holiday returners are back (04-18 + 14 days)


def _load_baseline() -> ModuleType:
    """bench/ is not a package: load the module from its file."""
    spec = importlib.util.spec_from_file_location("plain_mesa", ROOT / "bench" / "plain_mesa.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pm = _load_baseline()


def check_balanced(m) -> None:
    """Every North Korean worker who ever came is in China or home, in their factory's staff
    exactly when employed; every Chinese worker is employed once, seeking work in the city,
    or outside it."""
    nk = list(m.agents_by_type.get(pm.NKWorker, ()))
    assert len(nk) + sum(m.home.values()) == m.initial_workers + m.arrived
    factories = list(m.agents_by_type[pm.Factory])
    on_staff = [w for f in factories for w in f.nk_staff]
    assert len(on_staff) == len(set(on_staff))
    for w in nk:
        employed = w.status in (pm.WORKING, pm.AWAY, pm.OVERSTAYING)
        assert (w in w.factory.nk_staff) == employed
        assert not employed or w.factory.operating
    assert len(on_staff) == sum(w.status in (pm.WORKING, pm.AWAY, pm.OVERSTAYING) for w in nk)
    cn = list(m.agents_by_type[pm.ChineseWorker])
    assert len(cn) == m.n_chinese  # nobody appears or vanishes
    hired = [c for f in factories for c in f.cn_staff]
    assert len(hired) == len(set(hired))
    for c in cn:
        if c.employer is not None:
            assert c in c.employer.cn_staff and c.employer.operating
            assert c in m.city and c not in m.outside
        elif c.local:
            assert c in m.city and c not in m.outside
        else:
            assert c in m.outside and c not in m.city
    assert len(hired) == sum(c.employer is not None for c in cn)


def test_runs_on_the_scenario_parameters_and_keeps_everyone_somewhere():
    m = pm.PlainMesaModel(**TOWN, n_days=DAYS, rng=3)
    assert (
        m.p["nk_wage_yuan_per_month"]
        == load_scenario(ROOT / "scenarios" / "status_quo.toml").params["nk_wage_yuan_per_month"]
    )
    assert len(m.agents_by_type[pm.NKWorker]) == TOWN["n_workers"]
    assert len(m.agents_by_type[pm.Factory]) == TOWN["n_factories"]
    for _ in range(4):
        m.run_for(DAYS // 4)
        check_balanced(m)
    assert m.day == DAYS
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == DAYS
    assert df["output"].gt(0).all()
    # Visa cycling goes on: trips home and back, workers replaced, Chinese staff turn over.
    assert df["away"].max() > 0 and m.arrived > 0 and m.hires_total > 0 and m.quits_total > 0
    assert df["working"].iloc[-1] > 0.85 * TOWN["n_workers"]


def test_an_abrupt_return_empties_the_lines_and_factories_hire_chinese_workers():
    scenario = load_scenario(ROOT / "scenarios" / "abrupt_return.toml").with_overrides(
        {**TOWN, "repatriation_start": LEAVE, "repatriation_end": LEAVE}
    )
    m = pm.PlainMesaModel(n_days=DAYS, rng=4, params=scenario.params)
    leave = (LEAVE - m.start).days
    m.run_for(leave)
    check_balanced(m)
    before = m.datacollector.get_model_vars_dataframe().iloc[-1]
    staff_before = {f: len(f.cn_staff) for f in m.agents_by_type[pm.Factory]}
    hires_before = m.hires_total
    m.run_for(1)  # the day everyone in China leaves
    check_balanced(m)
    on_the_day = m.datacollector.get_model_vars_dataframe().iloc[-1]
    assert before["working"] > 0.85 * TOWN["n_workers"]
    assert on_the_day["working"] == on_the_day["overstaying"] == 0
    assert on_the_day["labor_gap"] > before["labor_gap"] + 0.7 * TOWN["n_workers"]
    m.run_model()
    check_balanced(m)
    assert len(m.agents_by_type.get(pm.NKWorker, ())) == 0  # those away did not come back
    assert m.home["repatriation"] > 0.9 * before["working"]
    # Factories fill lines with Chinese workers: some end with more staff than they had.
    assert m.hires_total > hires_before
    grown = [f for f, n in staff_before.items() if f.operating and len(f.cn_staff) > n]
    assert grown
    after = m.datacollector.get_model_vars_dataframe().iloc[-1]
    assert after["cn_employed"] > before["cn_employed"]


def test_daily_rates_match_laborflows_monthly_and_weekly_ones():
    """A daily quit chance compounds to the monthly rate, a daily search chance to the weekly
    share: the baseline does as many quits and searches as laborflow, spread over the days."""
    m = pm.PlainMesaModel(**TOWN, n_days=1, rng=1)
    p = m.p
    monthly = 1 - (1 - m.quit_per_day) ** pm.DAYS_PER_MONTH
    assert monthly == pytest.approx(p["cn_quit_rate_per_month"])
    look = m.look_per_day_upper - m.quit_per_day
    assert 1 - (1 - look) ** 7 == pytest.approx(p["on_the_job_search_share_per_week"])


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("strict_enforcement", {"enforcement_start": dt.date(2018, 3, 1)}),
        (
            "historical",
            {"border_closure_start": dt.date(2018, 3, 1), "border_reopening": dt.date(2018, 5, 1)},
        ),
        ("visa_non_extension", {"visa_issuance_end": dt.date(2018, 3, 1)}),
    ],
    ids=["enforcement", "border_closure", "visa_non_extension"],
)
def test_the_other_policies_keep_everyone_somewhere(name, overrides):
    """Inspections and detention, a closed border (stranded, waiting), refused renewals
    (overstay): the rules laborflow has for them keep every person accounted for."""
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.toml").with_overrides(
        {**TOWN, **overrides}
    )
    m = pm.PlainMesaModel(n_days=DAYS, rng=5, params=scenario.params)
    seen: set[str] = set()
    for _ in range(DAYS // 10):
        m.run_for(10)
        check_balanced(m)
        seen |= {s for s in pm.STATUS_NAMES if m.counts[s] > 0}
    if name == "strict_enforcement":  # inspections find workers: detained, fined, deported
        assert m.home["deported"] > 0 and m.fines_on_workers > 0
        assert sum(f.fines for f in m.agents_by_type[pm.Factory]) > 0
    elif name == "historical":  # nobody crosses while closed; those away stay home
        assert m.home["border_closed"] > 0
    else:  # refused renewals: some overstay, others go home
        assert "overstaying" in seen and m.home["visa_refused"] > 0
