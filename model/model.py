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

from model.authorities import ChinaAuthorities, DPRKLabourAgency, UNSecurityCouncil
from model.calendar import NEVER, Horizon
from model.factories import SECTORS, Factory, FactoryTable, ShutBecause
from model.labour_market import LocalLabourPool
from model.metrics import SERIES
from model.provenance import provenance
from model.randomness import Streams
from model.sanctions import REPATRIATION_DEADLINE
from model.scenario import Scenario, load_scenario, validate_params
from model.workers import (
    LeftBecause,
    Status,
    Visa,
    WorkerPopulation,
    WorkerRecord,
    WorkerRules,
)

FACTORY_HISTORY = ("positions", "nk_at_work", "cn_staff", "cn_wage", "offer", "cash", "operating")
"""What ``factory_history`` records of each factory, once a week."""
SERIES_COLUMNS = tuple(m.name for m in SERIES)
"""Daily time series (``model.metrics`` describes each): counts, and money in yuan per day."""


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

    Keyword arguments are the parameters listed by ``laborflow params`` (defaults: the
    status quo at Dandong scale); ``rng`` is the seed. ``LaborModel.from_scenario``
    builds one from a scenario file.
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
        self.pool = LocalLabourPool(p, self.factories.cn_staff, self.streams)
        self.workers = WorkerPopulation(p["n_factories"], capacity=int(p["n_workers"] * 1.5))
        self.un = UNSecurityCouncil(self, self.horizon)
        self.china = ChinaAuthorities(self, p, self.horizon, self.workers, self.streams)
        self.agency = DPRKLabourAgency(
            self, p, self.horizon, self.workers, self.streams, self.china, self.factories
        )
        self.acting_authorities = (self.china, self.agency)  # the Council acts through dates
        self.worker_rules = WorkerRules(
            self.workers,
            self.streams,
            self.china,
            self.agency,
            self.factories,
            renewal_trip_days=p["renewal_trip_days"],
            renewal_trip_spread_days=p["renewal_trip_spread_days"],
            overstay_share=p["overstay_share"],
            illegal_employment_fine_yuan=p["illegal_employment_fine_yuan"],
            detention_days=p["detention_days"],
        )
        self._place_initial_workers()
        self.factory_agents = [
            Factory(self, self.factories, self.workers, self.horizon, i)
            for i in range(self.factories.n)
        ]

        self._month_start = self.horizon.month_starts()
        self._series = {c: np.zeros(self.horizon.n_days) for c in SERIES_COLUMNS}
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
        """A model from a scenario file, with optional parameter overrides."""
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
        day = self._recorded
        if day >= self.horizon.n_days:
            self.running = False
            return
        self.workers.new_day()
        for authority in self.acting_authorities:
            authority.act(day)
        self.worker_rules.advance(day)
        if day > 0 and self._month_start[day]:
            self._shut(self.factories.pay_month(), day, ShutBecause.CASH)
        daily = self.factories.run_day(self.workers.at_work_by_factory)
        self._shut(self.factories.understaffed_too_long(), day, ShutBecause.UNDERSTAFFED)
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
        """Factories with open positions hire locally, then raise offers or shrink."""
        f, w = self.factories, self.workers
        vacancies = f.vacancies(w.employed_by_factory, self.agency.expected_by_factory)
        if not vacancies.any():
            f.weeks_at_max_offer[:] = 0
            return
        hires = self.pool.match(f.hiring_demand(vacancies), f.offer, week)
        f.cn_staff += hires
        f.adjust_offers(vacancies - hires, w.employed_by_factory)

    def _shut(self, rows: np.ndarray, day: int, because: ShutBecause) -> None:
        """Close factories: North Korean staff are sent home, Chinese staff back to the pool."""
        closed = self.factories.shut(rows, day)
        if len(closed) == 0:
            return
        w = self.workers
        in_closed = np.zeros(self.factories.n, dtype=bool)
        in_closed[closed] = True
        st = w.status[: w.n]
        ids = np.flatnonzero(
            in_closed[w.factory[: w.n]] & (st != Status.HOME) & (st != Status.DETAINED)
        )
        w.send_home(ids, day, LeftBecause.FACTORY_SHUT)
        self.pool.release(closed)
        date = self.horizon.date_of(day).isoformat()
        for row in closed:
            self._shutdowns.append(
                {
                    "factory": int(row),
                    "date": date,
                    "reason": because.name.lower(),
                    "positions": int(self.factories.positions0[row]),
                    "cn_jobs_lost": int(self.factories.cn_staff_at_shutdown[row]),
                    "nk_sent_home": int(np.count_nonzero(w.factory[ids] == row)),
                }
            )

    def _record(self, day: int, daily: dict[str, float]) -> None:
        w, f, s = self.workers, self.factories, self._series
        by = w.by_status
        s["nk_in_china"][day] = w.in_china
        s["nk_working"][day] = by[Status.WORKING]
        s["nk_away"][day] = by[Status.AWAY]
        s["nk_overstaying"][day] = by[Status.OVERSTAYING]
        s["nk_detained"][day] = by[Status.DETAINED]
        s["nk_repatriated"][day] = by[Status.HOME]
        s["nk_arrived"][day] = w.arrived_total
        s["nk_work_visa"][day] = w.working_by_visa[Visa.WORK]
        s["nk_training_visa"][day] = w.working_by_visa[Visa.TRAINING]
        s["nk_student_visa"][day] = w.working_by_visa[Visa.STUDENT]
        s["border_entries"][day] = w.entries_today
        s["border_exits"][day] = w.exits_today
        s["cn_employed"][day] = f.cn_staff.sum()
        s["cn_job_seekers"][day] = self.pool.size - s["cn_employed"][day]
        s["factories_operating"][day] = f.operating.sum()
        s["factories_shut"][day] = f.n - s["factories_operating"][day]
        s["nk_wages_to_state"][day] = daily.pop("nk_wage_paid") * self.agency.state_share
        for key, value in daily.items():
            s[key][day] = value
        self._recorded = day + 1

    # --- what people read ---------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # Latest value of a daily series as an attribute (for Mesa's DataCollector and apps).
        if name in SERIES_COLUMNS and "_series" in self.__dict__:
            return float(self._series[name][max(self._recorded - 1, 0)])
        raise AttributeError(name)

    def timeseries(self) -> pd.DataFrame:
        """The daily series recorded so far, one row per simulated date."""
        n = self._recorded
        df = pd.DataFrame({c: self._series[c][:n] for c in SERIES_COLUMNS})
        for m in SERIES:
            if m.integer:
                df[m.name] = df[m.name].astype(np.int64)
        df.insert(0, "date", pd.to_datetime(self.horizon.dates()[:n]))
        return df

    def shutdowns(self) -> pd.DataFrame:
        """One row per factory shutdown: when, why, and what it cost in jobs."""
        cols = ["factory", "date", "reason", "positions", "cn_jobs_lost", "nk_sent_home"]
        return pd.DataFrame(self._shutdowns, columns=cols)

    def summary(self) -> dict[str, Any]:
        """Headline numbers of the run so far, with provenance."""
        n = self._recorded
        s = {c: self._series[c][:n] for c in SERIES_COLUMNS}
        f = self.factories
        shut_days = f.shut_day[f.shut_day < NEVER]
        at_deadline = self.deadline_day if 0 <= self.deadline_day < n else None
        gap = s["labor_gap"]
        peak_day = int(np.argmax(gap)) if n else 0
        return {
            "scenario": self.setup.name,
            "days": n,
            "start_date": self.horizon.start.isoformat(),
            "end_date": self.horizon.date_of(max(n - 1, 0)).isoformat(),
            "initial_nk_workers": self.initial_workers,
            "factories": f.n,
            "factories_shut": int(f.n - f.operating.sum()),
            "first_shutdown": self.horizon.date_of(shut_days.min()).isoformat()
            if len(shut_days)
            else None,
            "peak_labor_gap": int(gap.max()) if n else 0,
            "peak_labor_gap_date": self.horizon.date_of(peak_day).isoformat(),
            "cn_jobs_lost": int(f.cn_staff_at_shutdown.sum()),
            "output_total": float(s["output"].sum()),
            "output_lost": float(f.potential_output_per_day * n - s["output"].sum()),
            "wage_bill_total": float(s["wage_bill"].sum()),
            "extra_wage_cost": float(s["extra_wage_cost"].sum()),
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
            "cn_employed_end": int(s["cn_employed"][-1]) if n else 0,
            "fines_total": float(f.fines.sum()),
            "provenance": provenance(
                scenario=self.setup.name, scenario_hash=self.setup.hash, seed=self.seed
            ),
        }

    def factory_table(self) -> pd.DataFrame:
        """Every factory's current state, one row each (what the factory view draws)."""
        f, w = self.factories, self.workers
        staffed = np.minimum(w.at_work_by_factory + f.cn_staff, f.positions)
        share = np.where(f.operating, staffed / np.maximum(f.positions, 1), 0.0)
        state = np.where(
            ~f.operating, "shut", np.where(share < f.viable_share, "short-staffed", "operating")
        )
        return pd.DataFrame(
            {
                "factory": np.arange(f.n),
                "sector": [SECTORS[i] for i in f.sector],
                "positions": f.positions,
                "positions_at_start": f.positions0,
                "nk_employed": w.employed_by_factory,
                "nk_at_work": w.at_work_by_factory,
                "cn_staff": f.cn_staff,
                "cn_wage": f.cn_wage,
                "staffed_share": share,
                "cash": f.cash,
                "state": state,
                "shut_day": np.where(f.shut_day < NEVER, f.shut_day, -1),
            }
        )

    def _record_factories(self, day: int) -> None:
        """Once a week, every factory's state: the history a drill-down draws."""
        f, w = self.factories, self.workers
        self._weekly["day"].append(np.int64(day))
        for key, values in (
            ("positions", f.positions * f.operating),
            ("nk_at_work", w.at_work_by_factory),
            ("cn_staff", f.cn_staff),
            ("cn_wage", f.cn_wage),
            ("offer", f.offer),
            ("cash", f.cash),
            ("operating", f.operating),
        ):
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
        return self.factory_agents[i]
