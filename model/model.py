"""LaborModel: the Mesa model that wires workers, factories and authorities together.

One step is one calendar day. In a day: the authorities act on their dates, workers due
today change (trips, renewals, overstay, arrests, departures), payroll is settled on the
first of the month, lines are staffed and output booked, factories that ran out of cash
or staff shut, once a week factories hire from the local pool and adjust their wage
offers, and the day's numbers are recorded.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from model import worker_kernels
from model.authorities import Border, ChinaAuthorities, DPRKLabourAgency, UNSecurityCouncil
from model.calendar import DAYS_PER_MONTH, NEVER, Horizon
from model.factories import SECTORS, SHUT_REASONS, Factory, FactoryTable, Outlook, ShutBecause
from model.labour_market import LabourMarket
from model.metrics import LAGGED, LAGS, SERIES
from model.provenance import provenance
from model.randomness import Streams
from model.sanctions import REPATRIATION_DEADLINE
from model.scenario import Scenario, load_scenario, validate_params
from model.workers import (
    Fines,
    LeftBecause,
    Status,
    Visa,
    WorkerPopulation,
    WorkerRecord,
    WorkerRules,
)

__all__ = [
    "LaborModel",
    "SERIES_COLUMNS",
]
"""The public API (the reference, ``make docs``, documents these)."""

FACTORY_HISTORY = (
    "positions",
    "nk_at_work",
    "cn_staff",
    "cn_wage",
    "offer",
    "hours_per_day",
    "profit_last_month",
    "cash",
    "operating",
)
"""What ``factory_history`` records of each factory, once a week."""


def policy_start(p: dict[str, Any]) -> dt.date:
    """When a scenario's policy starts: its first dated policy, or for the status quo the UN
    2397 deadline (the date the policies answer to), so effects at lags compare alike."""
    dates = [p[k] for k in ("visa_issuance_end", "enforcement_start", "border_closure_start")]
    if p["repatriation_mode"] != "none":
        dates.append(p["repatriation_start"])
    dates = [d for d in dates if d is not None]
    return min(dates) if dates else REPATRIATION_DEADLINE


SERIES_COLUMNS = tuple(m.name for m in SERIES)
"""Daily time series (``model.metrics`` describes each): counts, and money in yuan per day."""
_SERIES_NAMES = frozenset(SERIES_COLUMNS)


def _seed_from(rng: Any) -> int:
    """One integer seed for the run, whatever form ``rng`` came in (recorded in provenance)."""
    if rng is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63))
    if isinstance(rng, int | np.integer):
        return int(rng)
    raise TypeError(f"rng: {rng!r} is not a seed; allowed: an integer, a numpy Generator or None")


class LaborModel(mesa.Model):
    """North Korean workers in Chinese factories under visa rules and the UN 2397 timeline.

    Keyword arguments are the parameters listed by ``laborflow params``, each in its own
    unit (``n_workers`` head count, ``renewal_trip_days`` days, wages in yuan per month,
    dates as ``datetime.date`` or ISO strings); defaults are the status quo at Dandong scale
    (``scenarios/status_quo.toml``). ``rng`` is the seed (an integer, a NumPy ``Generator``
    or None); ``scenario`` a loaded ``model.scenario.Scenario`` to start from (keywords
    then override its values). ``LaborModel.from_scenario`` builds one from a scenario
    file. One step is one day: ``run_model()`` runs to the end date, ``run_for(days)``
    part of the way.
    """

    def __init__(self, rng: Any = None, scenario: Scenario | None = None, **params: Any):
        if not isinstance(scenario, Scenario):
            # Mesa's SolaraViz passes Mesa's own (empty) scenario object on reset: not ours.
            scenario = None
        if scenario is not None:
            # Mesa's SolaraViz and batch_run pass parameters as keywords: apply them on top.
            scenario = scenario.with_overrides(params) if params else scenario
            p = scenario.params
        else:
            p = validate_params(params)
            scenario = Scenario("custom", "Custom parameters", "", p)
        self.seed = _seed_from(rng)
        super().__init__(rng=self.seed)
        self.setup = scenario  # Mesa's Model owns the name ``scenario``
        self.p = p
        self.horizon = Horizon(p["start_date"], p["end_date"])
        self.streams = Streams(self.seed)
        self.deadline_day = self.horizon.day_of(REPATRIATION_DEADLINE)

        self.factories = FactoryTable(p, self.streams)
        self.market = LabourMarket(p, self.factories.cn_staff0, self.streams)
        self.factories.read_staff_from(self.market.staff, self.market.wage_bill)
        self.workers = WorkerPopulation(p["n_factories"], capacity=int(p["n_workers"] * 1.5))
        self.border = Border(
            self.horizon.day_of(p["border_closure_start"]),
            self.horizon.day_of(p["border_reopening"]),
        )
        self.un = UNSecurityCouncil(self, self.horizon)
        self.china = ChinaAuthorities(self, p, self.horizon, self.workers, self.streams)
        self.agency = DPRKLabourAgency(
            self,
            p,
            self.horizon,
            self.workers,
            self.streams,
            self.china,
            self.factories,
            self.border,
        )
        self.acting_authorities = (self.china, self.agency)  # the Council acts through dates
        self.worker_rules = WorkerRules(
            self.workers,
            self.streams,
            self.china,
            self.agency,
            self.factories,
            self.border,
            Fines(
                employer_per_worker=p["illegal_employment_fine_yuan"],
                employer_cap_per_case=p["illegal_employment_fine_cap_yuan"],
                worker_illegal_work=p["worker_illegal_work_fine_yuan"],
                overstay_per_day=p["overstay_fine_yuan_per_day"],
                overstay_cap=p["overstay_fine_cap_yuan"],
            ),
            renewal_trip_days=p["renewal_trip_days"],
            renewal_trip_spread_days=p["renewal_trip_spread_days"],
            overstay_share=p["overstay_share"],
            detention_days=p["detention_days"],
        )
        self.policy_start_day = self.horizon.day_of(policy_start(p))
        self._place_initial_workers()
        self.factory_agents = [
            Factory(self, self.factories, self.workers, self.horizon, i)
            for i in range(self.factories.n)
        ]

        self._month_start = self.horizon.month_starts()
        # One row per series: a day's numbers are written in one assignment (a column).
        self._table = np.zeros((len(SERIES_COLUMNS), self.horizon.n_days))
        self._series = dict(zip(SERIES_COLUMNS, self._table, strict=True))
        self._recorded = 0
        self._shutdowns: list[dict[str, Any]] = []
        self._weekly: dict[str, list[np.ndarray]] = {k: [] for k in ("day", *FACTORY_HISTORY)}
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "nk_in_china": "nk_in_china",
                "labor_gap": "labor_gap",
                "factories_operating": "factories_operating",
                "factories_shut": "factories_shut",
            }
        )

    @classmethod
    def from_scenario(cls, path: str | Path, rng: Any = None, **overrides: Any) -> LaborModel:
        """A model from a scenario file, with optional parameter overrides.

        ``path`` is a scenario file (TOML, e.g. ``scenarios/gradual_return.toml``; see
        ``model.scenario.load_scenario``); ``rng`` the seed (an integer, a NumPy
        ``Generator`` or None for a fresh one); ``overrides`` parameters by name in their
        own units (``n_workers=5000``, ``end_date="2019-12-31"``), checked like the file's
        values and recorded as overrides in the provenance.
        """
        scenario = load_scenario(path)
        if overrides:
            scenario = scenario.with_overrides(overrides, origin="override")
        return cls(rng=rng, scenario=scenario)

    def _place_initial_workers(self) -> None:
        """Workers already in China at the start, visas and contracts at every stage."""
        p, s = self.p, self.streams
        nk = self.factories.nk_positions0
        n = int(nk.sum())
        ids = np.arange(n)
        u = s.uniform("initial_visa", ids)
        work, student = p["initial_work_visa_share"], p["initial_student_visa_share"]
        visa = np.where(
            u < work, Visa.WORK, np.where(u < work + student, Visa.STUDENT, Visa.TRAINING)
        )
        visa = visa.astype(np.int8)
        stays = self.agency.stays[visa]
        expiry = (s.uniform("initial_visa_expiry", ids) * stays).astype(np.int64)
        contract = (s.uniform("initial_contract", ids) * p["contract_days"]).astype(np.int64)
        self.workers.add(np.repeat(np.arange(len(nk)), nk), visa, expiry, contract, arrived=-1)
        self.initial_workers = n

    # --- the day ----------------------------------------------------------------------

    @property
    def day(self) -> int:
        """Days simulated so far."""
        return self._recorded

    @property
    def current_date(self) -> dt.date:
        """The last simulated date (the start date before the first step)."""
        return self.horizon.date_of(max(self._recorded - 1, 0))

    def step(self) -> None:
        """Simulate one day (Mesa's step): authorities, workers due, payroll on the first of
        the month, lines and output, the weekly labour market, the day's numbers."""
        day = self._recorded
        if day >= self.horizon.n_days:
            self.running = False
            return
        self.workers.new_day()
        for authority in self.acting_authorities:
            authority.act(day)
        self.worker_rules.advance(day)
        if day > 0 and self._month_start[day]:
            self._month(day)
        daily = self.factories.run_day(self.workers.at_work_by_factory)
        self._hires_today = self._quits_today = 0
        if day % 7 == 6:
            self._labour_market_week(day // 7)
            self._record_factories(day)
        self._record(day, daily)
        self.datacollector.collect(self)
        if self._recorded >= self.horizon.n_days:
            self.running = False

    def run_model(self) -> None:
        """Run to the end date."""
        remaining = self.horizon.n_days - self._recorded
        if remaining > 0:
            self.run_for(remaining)
        self.running = False

    def _labour_market_week(self, week: int) -> None:
        """Quits, then factories with openings hire; offers move; hours are set for the week."""
        f, w, market = self.factories, self.workers, self.market
        self._quits_today = int(market.quit(week).sum())
        openings = f.openings(w.employed_by_factory, self.agency.expected_by_factory)
        sought = f.hiring_demand(openings)
        hires = market.match(sought, f.offer, week)
        self._hires_today = int(hires.sum())
        f.after_hiring(openings, sought, hires)
        f.set_hours(w.at_work_by_factory)

    def _month(self, day: int) -> None:
        """The first of the month: raises catch up, the month is settled, factories decide."""
        f, market = self.factories, self.market
        market.catch_up(f.offer, self.p["wage_catch_up_per_month"])
        self._shut(f.settle_month(), day, ShutBecause.CASH)
        outlook = self._outlook(day)
        self._shut(f.plan(outlook, self.workers.employed_by_factory), day, ShutBecause.NOT_VIABLE)

    def _outlook(self, day: int) -> Outlook:
        """What each factory can expect of its North Korean staff over its planning horizon.

        Under an announced policy a factory counts only the workers it can keep: not those the
        programme sends home, not those whose visas cannot be renewed or who have none, not
        those inspections will find, and not those whose contracts end with no replacement.
        """
        w, china = self.workers, self.china
        end = day + int(self.factories.planning_months * DAYS_PER_MONTH)
        kept = worker_kernels.kept_by_factory(
            w.n,
            w.status,
            w.visa,
            w.factory,
            w.leave_day,
            w.visa_expiry,
            w.contract_end,
            end,
            int(china.renewal_end_known(day)),
            int(china.new_visas_end_known(day)),
            bool(china.enforcement_known(day)),
            self.factories.n,
        )
        expected = kept + self.agency.expected_by_factory
        ends = china.programme_end_day if china.programme_start_day <= day else day
        return Outlook(expected, max(ends - day, 0) / DAYS_PER_MONTH)

    def _shut(self, rows: np.ndarray, day: int, because: ShutBecause) -> None:
        """Close factories: North Korean staff are sent home, Chinese staff lose their jobs."""
        f = self.factories
        closed = f.shut(rows, day, because)
        if len(closed) == 0:
            return
        w = self.workers
        in_closed = np.zeros(f.n, dtype=bool)
        in_closed[closed] = True
        st = w.status[: w.n]
        ids = np.flatnonzero(
            in_closed[w.factory[: w.n]]
            & (st != Status.HOME)
            & (st != Status.DETAINED)
            & (st != Status.WAITING)
        )
        self.worker_rules.go_home_or_wait(ids, day, LeftBecause.FACTORY_SHUT)
        self.market.release(closed, day // 7)
        date = self.horizon.date_of(day).isoformat()
        for row in closed:
            self._shutdowns.append(
                {
                    "factory": int(row),
                    "date": date,
                    "reason": SHUT_REASONS[because],
                    "positions": int(f.positions0[row]),
                    "cn_jobs_lost": int(f.cn_staff_at_shutdown[row]),
                    "nk_sent_home": int(np.count_nonzero(w.factory[ids] == row)),
                    "profit_last_month": float(f.profit_last_month[row]),
                    "value_of_going_on": float(f.value_of_going_on[row]),
                    "cash": float(f.cash[row]),
                }
            )

    def _record(self, day: int, daily: dict[str, float]) -> None:
        w, f = self.workers, self.factories
        by = w.by_status
        operating = f.operating.sum()
        daily["nk_wages_to_state"] = daily.pop("nk_wage_paid") * self.agency.state_share
        daily.update(
            nk_in_china=w.in_china,
            nk_working=by[Status.WORKING],
            nk_away=by[Status.AWAY],
            nk_overstaying=by[Status.OVERSTAYING],
            nk_detained=by[Status.DETAINED],
            nk_waiting=by[Status.WAITING],
            nk_repatriated=by[Status.HOME],
            nk_arrived=w.arrived_total,
            nk_work_visa=w.working_by_visa[Visa.WORK],
            nk_training_visa=w.working_by_visa[Visa.TRAINING],
            nk_student_visa=w.working_by_visa[Visa.STUDENT],
            border_entries=w.entries_today,
            border_exits=w.exits_today,
            cn_employed=f.cn_staff.sum(),
            cn_job_seekers=self.market.seekers,
            cn_hires=self._hires_today,
            cn_quits=self._quits_today,
            factories_operating=operating,
            factories_shut=f.n - operating,
            fines_on_employers=self.worker_rules.fined_employers_today,
            fines_on_workers=self.worker_rules.fined_workers_today,
        )
        self._table[:, day] = [daily[c] for c in SERIES_COLUMNS]
        self._recorded = day + 1

    # --- what people read ---------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # Latest value of a daily series as an attribute (for Mesa's DataCollector and apps).
        if name in _SERIES_NAMES and "_series" in self.__dict__:
            return float(self._series[name][max(self._recorded - 1, 0)])
        raise AttributeError(name)

    def timeseries(self) -> pd.DataFrame:
        """The daily series recorded so far, one row per simulated date.

        Columns: ``date``, then ``SERIES_COLUMNS`` (``model.metrics`` gives each one's label
        and unit): head counts of workers by status, positions and the ``labor_gap``
        (positions not staffed that day), ``factories_operating`` and the cumulative
        ``factories_shut``, and money in yuan per day (``wage_bill``, ``output``, ...).
        """
        n = self._recorded
        df = pd.DataFrame({c: self._series[c][:n] for c in SERIES_COLUMNS})
        for m in SERIES:
            if m.integer:
                df[m.name] = df[m.name].astype(np.int64)
        df.insert(0, "date", pd.to_datetime(self.horizon.dates()[:n]))
        return df

    def shutdowns(self) -> pd.DataFrame:
        """One row per factory shutdown: when, why, and what it cost in jobs."""
        cols = [
            "factory",
            "date",
            "reason",
            "positions",
            "cn_jobs_lost",
            "nk_sent_home",
            "profit_last_month",
            "value_of_going_on",
            "cash",
        ]
        return pd.DataFrame(self._shutdowns, columns=cols)

    def summary(self) -> dict[str, Any]:
        """Headline numbers of the run so far, with provenance.

        A dict: counts (``factories_shut``, ``peak_labor_gap`` in positions, ``cn_jobs_lost``,
        workers at the deadline), dates as ISO strings (``first_shutdown``,
        ``peak_labor_gap_date``), money in yuan over the run (``output_lost``,
        ``extra_wage_cost``), the labour gap at fixed lags after the policy starts
        (``labor_gap_180d``, ...) and ``provenance`` (seed, scenario hash, versions). A value
        outside the simulated horizon is None.
        """
        n = self._recorded
        s = {c: self._series[c][:n] for c in SERIES_COLUMNS}
        f = self.factories
        shut_days = f.shut_day[f.shut_day < NEVER]
        at_deadline = self.deadline_day if 0 <= self.deadline_day < n else None
        gap = s["labor_gap"]
        peak_day = int(np.argmax(gap)) if n else 0
        start = self.policy_start_day
        after = gap[max(start, 0) :] if 0 <= start < n else gap[:0]
        summary = {
            "scenario": self.setup.name,
            "days": n,
            "start_date": self.horizon.start.isoformat(),
            "end_date": self.horizon.date_of(max(n - 1, 0)).isoformat(),
            "policy_start": self.horizon.date_of(start).isoformat(),
            "initial_nk_workers": self.initial_workers,
            "factories": f.n,
            "factories_shut": int(f.n - f.operating.sum()),
            "factories_shut_not_viable": int((f.shut_reason == ShutBecause.NOT_VIABLE).sum()),
            "factories_shut_cash": int((f.shut_reason == ShutBecause.CASH).sum()),
            "first_shutdown": self.horizon.date_of(shut_days.min()).isoformat()
            if len(shut_days)
            else None,
            "positions_lost": int(s["positions_lost"][-1]) if n else 0,
            "peak_labor_gap": int(gap.max()) if n else 0,
            "peak_labor_gap_date": self.horizon.date_of(peak_day).isoformat(),
            "peak_labor_gap_after_policy": int(after.max()) if len(after) else None,
            "cn_jobs_lost": int(f.cn_staff_at_shutdown.sum()),
            "cn_employment_change": int(s["cn_employed"][-1] - f.cn_staff0.sum()) if n else 0,
            "cn_employed_end": int(s["cn_employed"][-1]) if n else 0,
            "cn_wage_end": float(s["cn_wage_mean"][-1]) if n else float(f.cn_wage0),
            "output_total": float(s["output"].sum()),
            "output_lost": float(f.potential_output_per_day * n - s["output"].sum()),
            "wage_bill_total": float(s["wage_bill"].sum()),
            "extra_wage_cost": float(s["extra_wage_cost"].sum()),
            "payouts_total": float(f.payouts.sum()),
            "nk_wages_to_state": float(s["nk_wages_to_state"].sum()),
            "nk_in_china_at_deadline": None
            if at_deadline is None
            else int(s["nk_in_china"][at_deadline]),
            "nk_overstaying_at_deadline": None
            if at_deadline is None
            else int(s["nk_overstaying"][at_deadline]),
            "nk_repatriated_total": int(s["nk_repatriated"][-1]) if n else 0,
            "nk_arrived_total": int(s["nk_arrived"][-1]) if n else 0,
            "nk_deported_total": int(
                np.count_nonzero(
                    self.workers.left_because[: self.workers.n] == LeftBecause.DEPORTED
                )
            ),
            "fines_total": float(f.fines.sum()),
            "fines_on_workers_total": float(s["fines_on_workers"].sum()),
        }
        for series in LAGGED:
            for lag in LAGS:
                day = start + lag
                value = s[series][day] if 0 <= day < n else None
                summary[f"{series}_{lag}d"] = None if value is None else int(value)
        summary["provenance"] = provenance(
            scenario=self.setup.name, scenario_hash=self.setup.hash, seed=self.seed
        )
        return summary

    def factory_table(self) -> pd.DataFrame:
        """Every factory's current state, one row each: what the factory view draws, and
        what a reader needs to see why a factory shut.

        Head counts (``positions``, ``nk_at_work``, ``cn_staff``), wages and offers in yuan
        per month, ``staffed_share`` (0 to 1), ``hours_per_day``, ``productivity`` (yuan of
        value per hour), ``profit_last_month`` and ``cash`` in yuan, ``state`` (operating,
        losing money, shut), ``shut_day`` (day index, -1 while operating) and
        ``shut_reason``.
        """
        f, w = self.factories, self.workers
        at_work = w.at_work_by_factory
        staffed = np.minimum(at_work + f.cn_staff, f.positions)
        share = np.where(f.operating, staffed / np.maximum(f.positions, 1), 0.0)
        state = np.where(
            ~f.operating, "shut", np.where(f.profit_last_month < 0, "losing money", "operating")
        )
        heads = np.maximum(at_work + f.cn_staff, 1)
        return pd.DataFrame(
            {
                "factory": np.arange(f.n),
                "sector": [SECTORS[i] for i in f.sector],
                "positions": f.positions,
                "positions_at_start": f.positions0,
                "nk_employed": w.employed_by_factory,
                "nk_at_work": at_work,
                "nk_expected": f.nk_expected,
                "cn_staff": f.cn_staff,
                "cn_wage": np.where(f.cn_staff > 0, f.cn_wage_bill / np.maximum(f.cn_staff, 1), 0),
                "offer": f.offer,
                "staffed_share": share,
                "hours_per_day": (at_work * f.nk_hours + f.cn_staff * f.cn_hours) / heads,
                "productivity": f.value_per_hour,
                "overhead": f.overhead,
                "profit_last_month": f.profit_last_month,
                "value_of_going_on": np.where(
                    np.isfinite(f.value_of_going_on), f.value_of_going_on, np.nan
                ),
                "cash": f.cash,
                "state": state,
                "shut_day": np.where(f.shut_day < NEVER, f.shut_day, -1),
                "shut_reason": [SHUT_REASONS.get(ShutBecause(int(r)), "") for r in f.shut_reason],
            }
        )

    def _record_factories(self, day: int) -> None:
        """Once a week, every factory's state: the history a drill-down draws."""
        f, w = self.factories, self.workers
        at_work = w.at_work_by_factory
        self._weekly["day"].append(np.int64(day))
        for key, values in (
            ("positions", f.positions * f.operating),
            ("nk_at_work", at_work),
            ("cn_staff", f.cn_staff),
            ("cn_wage", f.cn_wage_bill / np.maximum(f.cn_staff, 1)),
            ("offer", f.offer),
            ("hours_per_day", (at_work * f.nk_hours + f.cn_staff * f.cn_hours)
             / np.maximum(at_work + f.cn_staff, 1)),
            ("profit_last_month", f.profit_last_month),
            ("cash", f.cash),
            ("operating", f.operating),
        ):  # fmt: skip
            self._weekly[key].append(np.array(values, copy=True))

    def factory_history(self, i: int) -> pd.DataFrame:
        """Factory ``i`` week by week: positions, staff at work, wages, cash, operating."""
        if not 0 <= i < self.factories.n:
            raise IndexError(f"factory {i} does not exist (rows 0 to {self.factories.n - 1})")
        days = np.asarray(self._weekly["day"], dtype=np.int64)
        frame = pd.DataFrame(
            {key: [week[i] for week in self._weekly[key]] for key in FACTORY_HISTORY}
        )
        frame.insert(0, "date", pd.to_datetime(self.horizon.dates()[days]))
        return frame

    def worker(self, i: int) -> WorkerRecord:
        """Worker ``i``'s state and history (ids 0 .. n-1, in order of arrival)."""
        return self.workers.record(i)

    def factory(self, i: int) -> Factory:
        """Factory ``i`` (rows 0 .. n_factories - 1) as a Mesa agent: its state today."""
        return self.factory_agents[i]
