"""A deliberately plain Mesa 3.5 model of the same population: every agent steps every day.

This is the baseline the design measures laborflow against ("a plain Mesa model that
steps every agent every day"). It is written the way a Mesa user would write it, with
no tricks and no artificial slowness: one ``mesa.Agent`` per North Korean worker and per
factory, ``AgentSet.do("step")`` every day, each worker checking its own dates in Python
(recall for the April holiday, contract end, visa expiry, end of a trip, being caught),
each factory counting its present staff and booking output and wages, and a daily
record of workers by status through Mesa's ``DataCollector``.

The rules follow laborflow's status quo in spirit (30-day training visas renewed by
3-day trips home, 3-year contracts with a replacement sent two weeks later, a share
recalled on 25 March and back from 18 April, overstay and detection draws), so the
two models do comparable work per worker-day. The weekly Chinese labour market is left
out: it runs once a week on a few factories and is not where a per-agent model spends
its time.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import mesa
import numpy as np

DAYS_PER_MONTH = 365.25 / 12

# Worker statuses, as in laborflow (plain ints: what a Mesa user compares in a step).
WORKING, AWAY, OVERSTAYING, DETAINED = 0, 1, 2, 3
STATUS_NAMES = ("working", "away", "overstaying", "detained")
# Visa kinds and their stays in days (work, training, student).
WORK, TRAINING, STUDENT = 0, 1, 2
STAYS = (365, 30, 180)

START = dt.date(2018, 1, 1)
HOLIDAY_DEPARTURE = (3, 25)
HOLIDAY_RETURN = (4, 18)


class Worker(mesa.Agent):
    """A North Korean worker who checks, every day, whether anything is due."""

    def __init__(
        self, model: PlainMesaModel, factory: Factory, visa: int, expiry: int, contract_end: int
    ):
        super().__init__(model)
        self.factory = factory
        self.status = WORKING
        self.visa = visa
        self.visa_expiry = expiry
        self.contract_end = contract_end
        self.return_day = -1
        self.trips = 0
        factory.staff.add(self)

    @property
    def at_work(self) -> bool:
        return self.status == WORKING or self.status == OVERSTAYING

    def step(self) -> None:
        m = self.model
        day = m.day
        if self.status == WORKING:
            self._step_working(m, day)
        elif self.status == AWAY:
            if day == self.return_day:
                self._come_back(m, day)
        elif self.status == OVERSTAYING:
            if day >= self.contract_end:
                self.leave(replace=True)
            elif m.rng.random() < m.detection_per_day:
                self._detained(m, day)
        elif self.status == DETAINED and day >= self.return_day:
            self.leave(replace=False)  # deported; the replacement was sent at arrest

    def _step_working(self, m: PlainMesaModel, day: int) -> None:
        if day == m.recall_day and m.rng.random() < m.p["holiday_recall_share"]:
            spread = int(m.rng.integers(m.p["holiday_return_spread_days"] + 1))
            self._go_away(m.recall_return_day + spread)
        elif day >= self.contract_end:
            self.leave(replace=True)
        elif day >= self.visa_expiry:
            if m.issues_visa(day):
                self._go_away(day + m.p["renewal_trip_days"])
                self.trips += 1
            elif m.rng.random() < m.p["overstay_share"]:
                self.status = OVERSTAYING
            else:
                self.leave(replace=True)

    def _go_away(self, return_day: int) -> None:
        self.status = AWAY
        self.return_day = return_day
        self.model.exits_today += 1

    def _come_back(self, m: PlainMesaModel, day: int) -> None:
        if day >= self.contract_end or not m.issues_visa(day):
            self.leave(replace=True)
            return
        if self.visa == WORK:  # work visas are no longer issued after UNSC 2375
            self.visa = m.new_visa_kind()
        self.visa_expiry = day + STAYS[self.visa]
        self.status = WORKING
        m.entries_today += 1

    def _detained(self, m: PlainMesaModel, day: int) -> None:
        self.status = DETAINED
        self.return_day = day + m.p["detention_days"]
        self.factory.cash -= m.p["illegal_employment_fine_yuan"]
        m.send_replacement(self.factory)

    def leave(self, replace: bool) -> None:
        """Home for good: off the factory's staff and out of the model."""
        m = self.model
        if self.status != AWAY:
            m.exits_today += 1
        m.departed += 1
        self.factory.staff.discard(self)
        if replace:
            m.send_replacement(self.factory)
        self.remove()


class Factory(mesa.Agent):
    """A factory that counts who turned up today and books output and wages."""

    def __init__(self, model: PlainMesaModel, nk_positions: int, productivity: float):
        super().__init__(model)
        p = model.p
        self.staff: set[Worker] = set()
        self.cn_staff = round(nk_positions * p["cn_share"] / (1 - p["cn_share"]))
        self.positions = nk_positions + self.cn_staff
        self.productivity = productivity
        self.fixed_cost = p["fixed_cost_share"] * productivity * self.positions
        monthly_cost = self.fixed_cost + nk_positions * p["nk_wage"] + self.cn_staff * p["cn_wage"]
        self.cash = p["cash_buffer_months"] * monthly_cost
        self.revenue = 0.0
        self.wages = 0.0
        self.understaffed_days = 0
        self.operating = True
        self.output_today = 0.0
        self.gap_today = 0

    def step(self) -> None:
        if not self.operating:
            return
        m = self.model
        p = m.p
        if m.month_start:
            self._pay_month()
            if not self.operating:
                return
        present = sum(1 for w in self.staff if w.at_work)
        staffed = min(present + self.cn_staff, self.positions)
        self.output_today = self.productivity * staffed / DAYS_PER_MONTH
        self.revenue += self.output_today
        self.wages += (present * p["nk_wage"] + self.cn_staff * p["cn_wage"]) / DAYS_PER_MONTH
        self.gap_today = self.positions - staffed
        if staffed < p["viable_share"] * self.positions:
            self.understaffed_days += 1
            if self.understaffed_days >= p["max_understaffed_days"]:
                self.shut()
        else:
            self.understaffed_days = 0

    def _pay_month(self) -> None:
        self.cash += self.revenue - self.wages - self.fixed_cost
        self.revenue = self.wages = 0.0
        if self.cash < 0:
            self.shut()

    def shut(self) -> None:
        """Out of business: its North Korean workers are sent home, no replacements."""
        self.operating = False
        for w in list(self.staff):
            w.leave(replace=False)


PARAMS: dict[str, Any] = {
    "initial_work_visa_share": 0.1,
    "initial_student_visa_share": 0.15,
    "new_student_visa_share": 0.15,
    "renewal_trip_days": 3,
    "contract_days": 1095,
    "replacement_lag_days": 14,
    "holiday_recall_share": 0.4,
    "holiday_return_spread_days": 14,
    "overstay_share": 0.5,
    "overstay_detection_per_month": 0.02,
    "detention_days": 10,
    "illegal_employment_fine_yuan": 10_000,
    "visa_issuance_end_day": None,  # status quo: China keeps issuing visas
    "factory_size_sigma": 0.7,
    "cn_share": 0.2,
    "productivity": 5500.0,
    "productivity_sigma": 0.15,
    "fixed_cost_share": 0.25,
    "cash_buffer_months": 2.0,
    "nk_wage": 2000.0,
    "cn_wage": 4500.0,
    "viable_share": 0.6,
    "max_understaffed_days": 60,
}
"""Laborflow's status quo values, for the rules this model has."""


class PlainMesaModel(mesa.Model):
    """North Korean workers and their factories, every agent stepped every day."""

    def __init__(
        self,
        n_workers: int = 20_000,
        n_factories: int = 200,
        n_days: int = 1096,
        rng: int | None = None,
        **params: Any,
    ):
        super().__init__(rng=rng)
        self.p = {**PARAMS, **params}
        self.n_days = n_days
        self.day = 0
        self.dates = [START + dt.timedelta(days=d) for d in range(n_days)]
        self.month_start = False
        self.recall_day, self.recall_return_day = -1, -1
        self.detection_per_day = self.p["overstay_detection_per_month"] / DAYS_PER_MONTH
        self.pending: defaultdict[int, list[Factory]] = defaultdict(list)
        self.departed = self.arrived = self.entries_today = self.exits_today = 0
        self.counts: dict[str, int] = {}
        self._place(n_workers, n_factories)
        self.initial_workers = n_workers
        self.datacollector = mesa.DataCollector(
            model_reporters={
                name: (lambda m, name=name: m.counts.get(name, 0))
                for name in (*STATUS_NAMES, "repatriated", "labor_gap", "output")
            }
        )

    def _place(self, n_workers: int, n_factories: int) -> None:
        """Factories with lognormal sizes; workers at every stage of visa and contract."""
        p, rng = self.p, self.rng
        weights = np.exp(p["factory_size_sigma"] * rng.standard_normal(n_factories))
        sizes = 1 + rng.multinomial(n_workers - n_factories, weights / weights.sum())
        prod = p["productivity"] * np.exp(
            p["productivity_sigma"] * rng.standard_normal(n_factories)
        )
        for size, productivity in zip(sizes.tolist(), prod.tolist(), strict=True):
            factory = Factory(self, size, productivity)
            for _ in range(size):
                u = rng.random()
                visa = (
                    WORK
                    if u < p["initial_work_visa_share"]
                    else STUDENT
                    if u < p["initial_work_visa_share"] + p["initial_student_visa_share"]
                    else TRAINING
                )
                expiry = int(rng.random() * STAYS[visa])
                contract_end = int(rng.random() * p["contract_days"])
                Worker(self, factory, visa, expiry, contract_end)

    # --- what the authorities decide ----------------------------------------------------

    def issues_visa(self, day: int) -> bool:
        end = self.p["visa_issuance_end_day"]
        return end is None or day < end

    def new_visa_kind(self) -> int:
        return STUDENT if self.rng.random() < self.p["new_student_visa_share"] else TRAINING

    def send_replacement(self, factory: Factory) -> None:
        self.pending[self.day + self.p["replacement_lag_days"]].append(factory)

    def _receive_replacements(self) -> None:
        for factory in self.pending.pop(self.day, ()):
            if factory.operating and self.issues_visa(self.day):
                visa = self.new_visa_kind()
                contract_end = self.day + self.p["contract_days"]
                Worker(self, factory, visa, self.day + STAYS[visa], contract_end)
                self.arrived += 1
                self.entries_today += 1

    def _set_calendar(self) -> None:
        """Today's date decides payroll and the holiday recall."""
        date = self.dates[self.day]
        self.month_start = self.day > 0 and date.day == 1
        if (date.month, date.day) == HOLIDAY_DEPARTURE:
            self.recall_day = self.day
            back = dt.date(date.year, *HOLIDAY_RETURN)
            self.recall_return_day = self.day + (back - date).days

    # --- the day ------------------------------------------------------------------------

    def step(self) -> None:
        if self.day >= self.n_days:
            self.running = False
            return
        self.entries_today = self.exits_today = 0
        self._set_calendar()
        self._receive_replacements()
        self.agents_by_type[Worker].do("step")  # order does not matter for these rules
        self.agents_by_type[Factory].do("step")
        self._count()
        self.datacollector.collect(self)
        self.day += 1

    def _count(self) -> None:
        """The day's record: workers by status, repatriated so far, gap and output."""
        by_status = Counter(w.status for w in self.agents_by_type[Worker])
        self.counts = {name: by_status.get(i, 0) for i, name in enumerate(STATUS_NAMES)}
        self.counts["repatriated"] = self.departed
        factories = self.agents_by_type[Factory]
        self.counts["labor_gap"] = sum(f.gap_today for f in factories if f.operating)
        self.counts["output"] = sum(f.output_today for f in factories if f.operating)

    def run_model(self) -> None:
        """Run to the last day."""
        self.run_for(self.n_days - self.day)
