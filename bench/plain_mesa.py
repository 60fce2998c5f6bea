"""laborflow's model written plainly in Mesa 3.5: every agent steps every day.

This is the baseline ``bench/bench_model.py`` measures laborflow against ("a plain Mesa
model that steps every agent every day"), written the way a Mesa user would write it, with
no tricks and no artificial slowness: one ``mesa.Agent`` per North Korean worker, per
Chinese worker in the city (employed, and local job seekers) and per factory, each stepped
every day with ``AgentSet.do("step")``, and a daily record through Mesa's ``DataCollector``.
Parameters are the scenario's (``model.scenario``: the status quo by default), so the two
models share one source of values; only the size can be reduced.

The rules are laborflow's (``docs/odd.md`` sections 2-7):

- *North Korean workers* check their own dates each day: the holiday recall, a
  repatriation programme's leave day, contract end (replacement sent), visa expiry (renewal
  trip of ``renewal_trip_days`` plus a spread; refused: overstay or go home), end of a trip
  (back on a training or student visa, or home), detention and deportation, and the border
  closure (no crossings; visas extended in China; departures wait).
- *Chinese workers* in the city: employed ones quit (locals stay and seek work, migrants go
  home) or start looking at other offers, with daily probabilities equal to laborflow's
  monthly quit rate and weekly search share; job seekers wait for the week's offers.
- *Factories* each day: inspections (a Poisson process per factory, looking for overstayers
  and, from ``enforcement_start``, training and student visa holders; the employer's fine
  capped per case), production over their own staff (value added per hour, hours set each
  week with overtime, North Korean pay, Chinese wages with the overtime premium, line costs
  and overhead); on the first of the month raises catch up, the month is settled (payouts
  above the cash buffer; out of cash: shut), the outlook is taken over their own North
  Korean staff under the policy in force, unprofitable open positions are cut and the
  factory closes if going on is worth less than severance; every seventh day (best offer
  first) openings are filled from the week's applicants up to the recruiting capacity,
  offers move (up when the market cannot fill lines within the planning horizon, down once
  filled) and next week's hours are set.

What is simplified, and why it changes the work per worker-day little:

- Its own random numbers, not laborflow's counter-based streams (no common random numbers
  across scenarios; the same distributions): the model's numpy Generator draws the initial
  population, and agents draw from Mesa's ``model.random`` during the run, as Mesa's own
  examples do. A scalar draw from a numpy Generator costs about a microsecond, some twenty
  times Python's, and would slow the baseline for no reason.
- Draws are daily where laborflow draws weekly or schedules ahead: Chinese quits and
  searches (daily probabilities equivalent to the monthly/weekly rates), inspections (a
  daily chance ``1 - exp(-rate)`` rather than precomputed Poisson days), and people outside
  the city looking at the offers (a geometric wait, drawn as laborflow does). The expected
  number of events is the same; the per-agent work is a daily check either way. Quits now
  fall during the week and their positions stay open until the market day, so the labour
  gap runs about 2% above laborflow's in the status quo.
- People outside the city who could come (``migrant_pool_per_nk_worker`` of them per North
  Korean worker) are agents too, but are not stepped daily while outside: the model checks
  once a week whose look is due. Stepping them daily would only make this baseline slower,
  so the measured speed ratio, if anything, understates laborflow's advantage.
- Factories are sized by a multinomial draw over lognormal weights (laborflow rounds the
  same weights deterministically); matching takes factories in order of their offer and
  applicants in a shuffled order, each taking the first offer that meets their ask, as
  laborflow does (ties between equal offers are broken by the agents' order).
- The daily record holds fewer series (workers by status, Chinese staff and job seekers,
  labour gap, output, factories operating, hires and quits) than laborflow's thirty; each
  is a count over agents or factories, as a Mesa user's DataCollector would compute it.

Checked against laborflow at 2,000 workers and 20 factories over the whole horizon, eight
seeds each, status quo and abrupt return: Chinese hires and quits, factories shut, Chinese
staff at the end, output and labour gap agree within their standard errors.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

import mesa
import numpy as np
from mesa.agent import AgentSet

from model.scenario import defaults

DAYS_PER_MONTH = 365.25 / 12
NEVER = 2**30  # a day later than any run: "not scheduled"

# North Korean worker statuses, as in laborflow (HOME: removed from the model).
WORKING, AWAY, OVERSTAYING, DETAINED, WAITING = 0, 1, 2, 3, 4
STATUS_NAMES = ("working", "away", "overstaying", "detained", "waiting")
# Visa kinds.
WORK, TRAINING, STUDENT = 0, 1, 2
# Why a worker went home for good, and why a factory shut.
HOME_REASONS = (
    "contract_end",
    "visa_refused",
    "repatriation",
    "deported",
    "factory_shut",
    "border_closed",
)
CASH, NOT_VIABLE = "ran out of cash", "going on was worth less than closing"


class NKWorker(mesa.Agent):
    """A North Korean worker who checks, every day, whether one of its dates has come."""

    def __init__(
        self,
        model: PlainMesaModel,
        factory: Factory,
        visa: int,
        visa_expiry: int,
        contract_end: int,
    ):
        super().__init__(model)
        self.factory = factory
        self.status = WORKING
        self.visa = visa
        self.visa_expiry = visa_expiry
        self.contract_end = contract_end
        self.return_day = NEVER  # AWAY: day back; DETAINED: day deported
        self.leave_day = NEVER  # set by a repatriation programme
        self.trips = 0
        factory.nk_staff.add(self)

    def step(self) -> None:
        """Whatever falls due today, by status; most days nothing does."""
        m = self.model
        day = m.day
        status = self.status
        if day == m.programme_start_day and status != DETAINED and status != WAITING:
            self.leave_day = day + m.random.randrange(m.programme_window)
        if status == WORKING:
            if (
                day == m.recall_day
                and self.leave_day > m.recall_return_day
                and m.random.random() < m.p["holiday_recall_share"]
            ):
                spread = m.random.randint(0, m.p["holiday_return_spread_days"])
                self._go_away(m.recall_return_day + spread)
                return
            if (self.leave_day <= day or self.contract_end <= day) and self._exit(m, day):
                return
            if self.visa_expiry <= day:
                self._visa_expired(m, day)
        elif status == OVERSTAYING:
            if self.leave_day <= day or self.contract_end <= day:
                self._exit(m, day)
        elif status == AWAY:
            if self.return_day <= day:
                self._come_back(m, day)
        elif status == DETAINED:
            if self.return_day <= day:
                if m.border_closed:
                    self.return_day = m.border_reopens  # held until the border opens
                else:
                    self.go_home("deported")
        elif status == WAITING and not m.border_closed:
            self.go_home("factory_shut")

    def _exit(self, m: PlainMesaModel, day: int) -> bool:
        """Told to leave, or the contract is over; while the border is closed, both wait.
        Returns whether the worker left."""
        if m.border_closed:
            if self.leave_day <= day:
                self.leave_day = m.border_reopens
            if self.contract_end <= day:
                self.contract_end = m.border_reopens
            return False
        if self.leave_day <= day:
            self.go_home("repatriation")
        else:
            self.go_home("contract_end", replace=True)
        return True

    def _visa_expired(self, m: PlainMesaModel, day: int) -> None:
        """A trip home to renew; in China if the border is closed; refused: overstay or go."""
        renewable = m.issues_visa(day, new_worker=False)
        if m.border_closed:
            if renewable:
                self._new_visa(m, day)
            else:
                self.status = OVERSTAYING
        elif renewable:
            spread = m.random.randint(0, m.p["renewal_trip_spread_days"])
            self._go_away(day + m.p["renewal_trip_days"] + spread)
            self.trips += 1
        elif m.random.random() < m.p["overstay_share"]:
            self.status = OVERSTAYING
        else:
            self.go_home("visa_refused", replace=True)

    def _go_away(self, return_day: int) -> None:
        """Out of China until ``return_day``, still on the staff."""
        self.status = AWAY
        self.return_day = return_day
        self.model.exits_today += 1

    def _come_back(self, m: PlainMesaModel, day: int) -> None:
        """Back on a new visa, or home for good (border closed, told to leave, contract
        over, or no visa to be had)."""
        if m.border_closed:
            self.go_home("border_closed")
        elif self.leave_day <= day:
            self.go_home("repatriation")
        elif self.contract_end <= day:
            self.go_home("contract_end", replace=True)
        elif not m.issues_visa(day, new_worker=False):
            self.go_home("visa_refused", replace=True)
        else:
            self._new_visa(m, day)
            self.status = WORKING
            m.entries_today += 1

    def _new_visa(self, m: PlainMesaModel, day: int) -> None:
        """A new stay; a work visa becomes a training or student visa."""
        if self.visa == WORK:  # work visas are no longer issued after UNSC 2375
            self.visa = m.new_visa_kind()
        self.visa_expiry = day + m.stays[self.visa]

    def detain(self, day: int) -> None:
        """Found by an inspection: off the staff, deported after detention, replaced."""
        m = self.model
        self.status = DETAINED
        self.return_day = day + max(1, m.p["detention_days"])
        self.factory.nk_staff.discard(self)
        m.send_replacement(self.factory, day)

    def go_home(self, reason: str, replace: bool = False) -> None:
        """Home for good: off the factory's staff and out of the model."""
        m = self.model
        if self.status != AWAY:
            m.exits_today += 1
        m.home[reason] += 1
        self.factory.nk_staff.discard(self)
        if replace:
            m.send_replacement(self.factory, m.day)
        self.remove()

    def leave_shut_factory(self) -> None:
        """The factory shut: home, or wait in China while the border is closed."""
        if self.model.border_closed and self.status != AWAY:
            self.status = WAITING
            self.factory.nk_staff.discard(self)
        else:
            self.go_home("factory_shut")


class ChineseWorker(mesa.Agent):
    """A Chinese worker: employed, seeking work in the city, or outside it (a migrant)."""

    def __init__(self, model: PlainMesaModel, reservation: float, local: bool):
        super().__init__(model)
        self.reservation = reservation
        self.local = local
        self.employer: Factory | None = None
        self.wage = 0.0
        self.looking = False
        self.next_look = NEVER  # migrants outside the city: the week they next look

    def step(self) -> None:
        """Employed: quit, or start looking at other offers. Seeking: wait for the week's
        offers."""
        if self.employer is None:
            return
        m = self.model
        u = m.random.random()
        if u < m.quit_per_day:
            self.leave_job()
            m.quits_today += 1
        elif u < m.look_per_day_upper:
            self.looking = True

    def take_job(self, factory: Factory) -> None:
        """Hired at the factory's offer (from another factory, the city or outside it)."""
        m = self.model
        if self.employer is not None:
            self.employer.cn_staff.discard(self)
        elif not self.local:  # someone from outside arrives in the city
            m.outside.discard(self)
            m.city.add(self)
            self.next_look = NEVER
        self.employer = factory
        self.wage = factory.offer
        self.looking = False
        factory.cn_staff.add(self)

    def leave_job(self) -> None:
        """Quit or laid off: locals look for work here, migrants go home."""
        m = self.model
        self.employer.cn_staff.discard(self)  # type: ignore[union-attr]
        self.employer = None
        self.wage = 0.0
        self.looking = False
        if not self.local:
            m.city.discard(self)
            m.outside.add(self)
            self.next_look = m.week + m.migrant_wait_weeks()


class Factory(mesa.Agent):
    """A factory: staffs its lines every day, hires weekly, plans monthly."""

    def __init__(self, model: PlainMesaModel, nk_positions: int, value_per_hour: float):
        super().__init__(model)
        p = model.p
        self.nk_staff: set[NKWorker] = set()  # employed: working, away or overstaying
        self.cn_staff: set[ChineseWorker] = set()
        share = p["cn_share_of_positions"]
        self.cn_staff0 = round(nk_positions * share / (1 - share))
        self.positions0 = nk_positions + self.cn_staff0
        self.positions = self.positions0
        self.value_per_hour = value_per_hour
        self.nk_day, self.nk_max_day = p["nk_hours_per_day"], p["nk_max_hours_per_day"]
        self.cn_day, self.cn_max_day = p["cn_hours_per_day"], p["cn_max_hours_per_day"]
        self.nk_days, self.cn_days = p["nk_days_per_month"], p["cn_days_per_month"]
        self.nk_month_hours = self.nk_day * self.nk_days
        self.cn_month_hours = self.cn_day * self.cn_days
        self.nk_hours, self.cn_hours = self.nk_day, self.cn_day
        self.hours_per_position = (
            nk_positions * self.nk_month_hours + self.cn_staff0 * self.cn_month_hours
        ) / self.positions0
        self.nk_wage = p["nk_wage_yuan_per_month"]
        self.cn_wage0 = p["cn_wage_yuan_per_month"]
        self.offer = self.cn_wage0
        self.nk_overtime_cost = p["nk_overtime_cost_share"] * self.nk_wage / self.nk_month_hours
        self.line_cost = p["line_cost_yuan_per_position_month"]
        self.overhead = (
            p["overhead_yuan_per_month"] + p["overhead_yuan_per_position_month"] * self.positions0
        )
        normal_costs = (
            nk_positions * self.nk_wage
            + self.cn_staff0 * self.cn_wage0
            + self.positions0 * self.line_cost
            + self.overhead
        )
        self.buffer = p["cash_buffer_months"] * normal_costs
        self.cash = self.buffer
        self.operating = True
        self.shut_reason = ""
        self.nk_expected = float(nk_positions)  # until the first outlook
        self.months_to_departures = 0.0
        self.nk_arriving = 0  # replacements on the way
        self.staff_growth = 0.0
        self.recruiting = 0.0
        self.staff_last_week = float(self.cn_staff0)
        self.revenue = self.nk_pay = self.cn_pay = self.running = self.overhead_due = 0.0
        self.fines_due = 0.0
        self.profit_last_month = 0.0
        self.value_of_going_on = math.inf
        self.payouts = self.fines = 0.0
        self.hires_total = 0
        self.nk_present = nk_positions
        self.output_today = 0.0
        self.gap_today = 0

    # --- what a factory reads of itself -----------------------------------------------

    @property
    def wage_bill(self) -> float:
        """The Chinese staff's monthly wages, summed over them when asked."""
        return sum(c.wage for c in self.cn_staff)

    @property
    def nk_margin(self) -> float:
        """What a North Korean worker on a usual day earns the factory a month, after pay."""
        return self.value_per_hour * self.nk_month_hours - self.nk_wage - self.line_cost

    def cn_margin(self, wage: float) -> float:
        """What a Chinese worker on a usual day at ``wage`` earns the factory a month."""
        return self.value_per_hour * self.cn_month_hours - wage - self.line_cost

    # --- every day --------------------------------------------------------------------

    def step(self) -> None:
        """Inspections, the month on its first day, then the day's production."""
        if not self.operating:
            return
        m = self.model
        self._inspect(m)
        if m.month_start:
            self._month(m)
            if not self.operating:
                return
        self._produce()

    def _inspect(self, m: PlainMesaModel) -> None:
        """Inspectors may come today; they find every worker they look for: one case."""
        tolerant = m.random.random() < m.inspection_per_day
        campaign = m.campaign and m.random.random() < m.campaign_per_day
        if not (tolerant or campaign):
            return
        found = [
            w
            for w in self.nk_staff
            if w.status == OVERSTAYING or (campaign and w.status == WORKING and w.visa != WORK)
        ]
        if not found:
            return
        p, day = m.p, m.day
        fine = min(
            len(found) * p["illegal_employment_fine_yuan"], p["illegal_employment_fine_cap_yuan"]
        )
        self.fines_due += fine
        self.fines += fine
        for w in found:
            days_over = max(day - w.visa_expiry, 0) if w.status == OVERSTAYING else 0
            m.fines_on_workers += p["worker_illegal_work_fine_yuan"] + min(
                days_over * p["overstay_fine_yuan_per_day"], p["overstay_fine_cap_yuan"]
            )
            w.detain(day)

    def _produce(self) -> None:
        """Staff the lines with whoever is at work today; book output, pay and costs."""
        nk = 0
        for w in self.nk_staff:
            if w.status != AWAY:
                nk += 1
        cn = len(self.cn_staff)
        self.nk_present = nk
        staffed = min(nk + cn, self.positions)
        worked = min(
            nk * self.nk_hours * self.nk_days + cn * self.cn_hours * self.cn_days,
            self.hours_per_position * self.positions,
        )
        revenue = self.value_per_hour * worked / DAYS_PER_MONTH
        nk_pay_each = self.nk_wage + (self.nk_hours - self.nk_day) * self.nk_days * (
            self.nk_overtime_cost
        )
        cn_extra = (self.cn_hours - self.cn_day) * self.cn_days / self.cn_month_hours
        premium = self.model.p["cn_overtime_premium"]
        self.revenue += revenue
        self.nk_pay += nk * nk_pay_each / DAYS_PER_MONTH
        self.cn_pay += self.wage_bill * (1 + cn_extra * (1 + premium)) / DAYS_PER_MONTH
        self.running += staffed * self.line_cost / DAYS_PER_MONTH
        self.overhead_due += self.overhead / DAYS_PER_MONTH
        self.output_today = revenue
        self.gap_today = self.positions - staffed

    # --- the first of the month -------------------------------------------------------

    def _month(self, m: PlainMesaModel) -> None:
        """Raises catch up, the month is settled, then the factory looks ahead."""
        rate = m.p["wage_catch_up_per_month"]
        for c in self.cn_staff:
            if c.wage < self.offer:
                c.wage += rate * (self.offer - c.wage)
        profit = self.revenue - self.nk_pay - self.cn_pay - self.running - self.overhead_due
        self.profit_last_month = profit
        self.cash += profit - self.fines_due
        payout = max(self.cash - self.buffer, 0.0)
        self.cash -= payout
        self.payouts += payout
        self.revenue = self.nk_pay = self.cn_pay = self.running = self.overhead_due = 0.0
        self.fines_due = 0.0
        if self.cash < 0:
            self.shut(CASH)
            return
        self._outlook(m)
        self._plan(m)

    def _outlook(self, m: PlainMesaModel) -> None:
        """The North Korean workers it can keep over its horizon under the policy in force."""
        day = m.day
        end = day + int(m.p["planning_horizon_months"] * DAYS_PER_MONTH)
        renewals_end = m.renewal_end_known(day)
        new_visas_end = m.new_visas_end_known(day)
        enforcement = m.enforcement_day <= day
        kept = 0
        for w in self.nk_staff:
            gone = (
                w.leave_day <= end
                or renewals_end <= w.visa_expiry <= end
                or w.status == OVERSTAYING
                or (enforcement and w.visa != WORK)
                or new_visas_end <= w.contract_end <= end
            )
            if not gone:
                kept += 1
        self.nk_expected = float(kept + self.nk_arriving)
        ends = m.programme_end_day if m.programme_start_day <= day else day
        self.months_to_departures = max(ends - day, 0) / DAYS_PER_MONTH

    def _plan(self, m: PlainMesaModel) -> None:
        """Cut lines that would lose money; close if going on is worth less than severance."""
        p = m.p
        wage = max(self.offer, self.cn_wage0)
        cn_margin = self.cn_margin(wage)
        cn = len(self.cn_staff)
        if cn_margin <= 0:
            self.positions = min(self.positions, len(self.nk_staff) + cn)
        horizon = p["planning_horizon_months"]
        weeks = horizon * DAYS_PER_MONTH / 7
        cn_slots = max(self.positions - self.nk_expected, 0)
        capacity = p["hiring_capacity_share_per_week"] * self.positions
        growth = max(self.staff_growth, 0.0) if self.recruiting > 0.5 else capacity
        cn_later = min(cn_slots, cn + growth * weeks) if cn_margin > 0 else 0.0
        later = self.nk_expected * self.nk_margin + cn_later * cn_margin - self.overhead
        gap = max(cn_later - cn, 0)
        months_to_hire = gap / max(growth * DAYS_PER_MONTH / 7, 1e-9)
        change = min(max(months_to_hire, self.months_to_departures), horizon)
        now = self.profit_last_month
        self.value_of_going_on = change * (now + later) / 2 + (horizon - change) * later
        closing = p["severance_months"] * self.wage_bill
        if self.value_of_going_on < -closing or self.positions <= 0:
            self.shut(NOT_VIABLE)

    # --- every seventh day ------------------------------------------------------------

    def hire(self) -> None:
        """Fill openings from the week's applicants, move the offer, set next week's hours."""
        if not self.operating:
            return
        m = self.model
        p = m.p
        cn = len(self.cn_staff)
        open_ = self.positions - len(self.nk_staff) - self.nk_arriving - cn
        worth_it = self.cn_margin(self.offer) > 0 and self._profit_if_staffed(self.offer) >= 0
        openings = max(open_, 0) if worth_it else 0
        sought = min(openings, math.ceil(p["hiring_capacity_share_per_week"] * self.positions))
        hires = m.take_applicants(self, sought) if sought > 0 else 0
        self.hires_total += hires
        self._move_offer(m, openings, sought, hires)
        self._set_hours()

    def _profit_if_staffed(self, wage: float) -> float:
        """Monthly profit with every line staffed: the North Korean workers it can keep, Chinese
        workers at ``wage`` in the rest. Below zero it does not recruit."""
        cn_slots = max(self.positions - self.nk_expected, 0)
        cn = cn_slots * max(self.cn_margin(wage), 0)
        return self.nk_expected * self.nk_margin + cn - self.overhead

    def _wage_ceiling(self) -> float:
        """The highest wage at which the staff it will have cover its costs."""
        cn_slots = max(self.positions - self.nk_expected, 1.0)
        product = self.value_per_hour * self.cn_month_hours - self.line_cost
        spare = (self.nk_expected * self.nk_margin - self.overhead) / cn_slots
        return max(min(product + spare, product), 0.0)

    def _move_offer(self, m: PlainMesaModel, openings: int, sought: int, hires: int) -> None:
        """Up when the market holds it back and at its pace it would not fill its openings
        within the planning horizon; down once filled."""
        p = m.p
        staff = float(len(self.cn_staff))
        self.staff_growth = 0.75 * self.staff_growth + 0.25 * (staff - self.staff_last_week)
        self.recruiting = 0.75 * self.recruiting + 0.25 * (openings > 0)
        self.staff_last_week = staff
        ceiling = max(self._wage_ceiling(), self.cn_wage0)
        still_open = openings - hires
        weeks_to_fill = still_open / max(self.staff_growth, 1e-9)
        too_slow = weeks_to_fill > p["planning_horizon_months"] * DAYS_PER_MONTH / 7
        step = p["wage_offer_step"]
        if sought > 0 and hires < sought and too_slow:
            self.offer = min(self.offer * (1 + step), ceiling)
        elif still_open <= 0:
            self.offer = max(self.offer * (1 - step), self.cn_wage0)

    def _set_hours(self) -> None:
        """Short of hands: longer days where the extra hour earns more than it costs."""
        premium = self.model.p["cn_overtime_premium"]
        nk, cn = self.nk_present, len(self.cn_staff)
        orders = self.hours_per_position * self.positions
        need = max(orders - nk * self.nk_month_hours - cn * self.cn_month_hours, 0.0)
        v = self.value_per_hour
        nk_room = nk * (self.nk_max_day - self.nk_day) * self.nk_days
        nk_used = min(need, nk_room) if v > self.nk_overtime_cost else 0.0
        cn_cost = (1 + premium) * self.wage_bill / max(cn, 1) / self.cn_month_hours
        cn_room = cn * (self.cn_max_day - self.cn_day) * self.cn_days
        cn_used = min(need - nk_used, cn_room) if v > cn_cost else 0.0
        self.nk_hours = self.nk_day + nk_used / max(nk * self.nk_days, 1)
        self.cn_hours = self.cn_day + cn_used / max(cn * self.cn_days, 1)

    # --- shutdown ---------------------------------------------------------------------

    def shut(self, reason: str) -> None:
        """Closed: severance paid, North Korean staff sent home, Chinese staff let go."""
        self.cash -= self.model.p["severance_months"] * self.wage_bill
        self.operating = False
        self.shut_reason = reason
        self.output_today = 0.0
        self.gap_today = 0
        for w in list(self.nk_staff):
            w.leave_shut_factory()
        for c in list(self.cn_staff):
            c.leave_job()


class PlainMesaModel(mesa.Model):
    """North Korean and Chinese workers and their factories, every agent stepped every day.

    ``params`` defaults to the status quo (``model.scenario.defaults()``); ``n_workers``,
    ``n_factories`` and ``n_days`` override its size and horizon (a benchmark runs a
    reduced size); ``rng`` seeds the model's numpy Generator.
    """

    def __init__(
        self,
        n_workers: int | None = None,
        n_factories: int | None = None,
        n_days: int | None = None,
        rng: int | None = None,
        params: Mapping[str, Any] | None = None,
    ):
        super().__init__(rng=rng)
        p = dict(defaults() if params is None else params)
        if n_workers is not None:
            p["n_workers"] = n_workers
        if n_factories is not None:
            p["n_factories"] = n_factories
        self.p = p
        self.start: dt.date = p["start_date"]
        full = (p["end_date"] - self.start).days + 1
        self.n_days = full if n_days is None else min(n_days, full)
        self.day = 0
        self.week = 0
        self.stays = {
            WORK: p["work_stay_days"],
            TRAINING: p["training_stay_days"],
            STUDENT: p["student_stay_days"],
        }
        self._policy_days(p)
        # Daily chances equal to laborflow's rates.
        self.quit_per_day = 1 - (1 - p["cn_quit_rate_per_month"]) ** (1 / DAYS_PER_MONTH)
        look_per_day = 1 - (1 - p["on_the_job_search_share_per_week"]) ** (1 / 7)
        self.look_per_day_upper = self.quit_per_day + look_per_day
        self.inspection_per_day = 1 - math.exp(-p["overstay_detection_per_month"] / DAYS_PER_MONTH)
        self.campaign_per_day = 1 - math.exp(-p["fraud_detection_per_month"] / DAYS_PER_MONTH)
        # The day's state, set by the calendar.
        self.month_start = self.hiring_day = self.border_closed = self.campaign = False
        self.recall_day = self.recall_return_day = -1
        # Running records.
        self.pending: defaultdict[int, list[Factory]] = defaultdict(list)
        self.home: Counter[str] = Counter(dict.fromkeys(HOME_REASONS, 0))
        self.arrived = self.entries_today = self.exits_today = 0
        self.hires_today = self.quits_today = self.hires_total = self.quits_total = 0
        self.fines_on_workers = 0.0
        self.applicants: list[tuple[float, ChineseWorker]] = []
        self._next_applicant = 0
        self.counts: dict[str, float] = {}
        self._place(p["n_workers"], p["n_factories"])
        self.initial_workers = p["n_workers"]
        self.datacollector = mesa.DataCollector(
            model_reporters={
                name: (lambda m, name=name: m.counts.get(name, 0))
                for name in (
                    *STATUS_NAMES,
                    "home",
                    "cn_employed",
                    "cn_job_seekers",
                    "labor_gap",
                    "output",
                    "factories_operating",
                    "cn_hires",
                    "cn_quits",
                )
            }
        )

    def _day_of(self, date: dt.date | None) -> int:
        """Day number of a date; no date (no such policy): never."""
        return NEVER if date is None else (date - self.start).days

    def _policy_days(self, p: Mapping[str, Any]) -> None:
        """Policy dates as day numbers; the holiday recall as (departure, return) days."""
        self.issuance_end_day = self._day_of(p["visa_issuance_end"])
        self.enforcement_day = self._day_of(p["enforcement_start"])
        running = p["repatriation_mode"] != "none"
        self.programme_start_day = self._day_of(p["repatriation_start"]) if running else NEVER
        self.programme_end_day = self._day_of(p["repatriation_end"])
        self.programme_window = max(self.programme_end_day - self.programme_start_day + 1, 1)
        self.border_closes = self._day_of(p["border_closure_start"])
        self.border_reopens = self._day_of(p["border_reopening"])
        dep_m, dep_d = map(int, p["holiday_departure"].split("-"))
        ret_m, ret_d = map(int, p["holiday_return"].split("-"))
        self.recalls: dict[int, int] = {}  # departure day -> return day
        for year in range(self.start.year, p["end_date"].year + 1):
            self.recalls[self._day_of(dt.date(year, dep_m, dep_d))] = self._day_of(
                dt.date(year, ret_m, ret_d)
            )

    def _place(self, n_workers: int, n_factories: int) -> None:
        """Factories with lognormal sizes; North Korean workers at every stage of visa and
        contract; Chinese staff, local job seekers and people outside the city."""
        p, rng = self.p, self.rng
        weights = np.exp(p["factory_size_sigma"] * rng.standard_normal(n_factories))
        sizes = 1 + rng.multinomial(n_workers - n_factories, weights / weights.sum())
        vph = p["value_added_yuan_per_hour"] * np.exp(
            p["productivity_sigma"] * rng.standard_normal(n_factories)
        )
        work, student = p["initial_work_visa_share"], p["initial_student_visa_share"]
        factories = []
        for size, value_per_hour in zip(sizes.tolist(), vph.tolist(), strict=True):
            factory = Factory(self, size, value_per_hour)
            factories.append(factory)
            for _ in range(size):
                u = rng.random()
                visa = WORK if u < work else STUDENT if u < work + student else TRAINING
                expiry = int(rng.random() * self.stays[visa])
                contract_end = int(rng.random() * p["contract_days"])
                NKWorker(self, factory, visa, expiry, contract_end)
        sigma, wage0 = p["cn_reservation_wage_sigma"], p["cn_wage_yuan_per_month"]
        local_median = p["cn_reservation_wage_median_yuan"]
        city = []
        for factory in factories:
            factory.offer = wage0
            for _ in range(factory.cn_staff0):
                reservation = local_median * math.exp(sigma * rng.standard_normal())
                c = ChineseWorker(self, min(reservation, wage0), local=True)
                c.take_job(factory)
                city.append(c)
        for _ in range(round(p["cn_jobseekers_per_nk_worker"] * n_workers)):
            reservation = local_median * math.exp(sigma * rng.standard_normal())
            city.append(ChineseWorker(self, reservation, local=True))
        self.city = AgentSet(city, random=self.random)
        self.outside: set[ChineseWorker] = set()
        migrant_median = p["migrant_reservation_wage_median_yuan"]
        for _ in range(round(p["migrant_pool_per_nk_worker"] * n_workers)):
            c = ChineseWorker(self, migrant_median * math.exp(sigma * rng.standard_normal()), False)
            c.next_look = self.migrant_wait_weeks()
            self.outside.add(c)
        self.n_chinese = len(self.city) + len(self.outside)

    # --- what the authorities decide --------------------------------------------------

    def issues_visa(self, day: int, new_worker: bool) -> bool:
        """China's visas: none after issuance ends or enforcement starts; none for new
        workers once a repatriation programme starts."""
        if day >= self.issuance_end_day or day >= self.enforcement_day:
            return False
        return not (new_worker and day >= self.programme_start_day)

    def renewal_end_known(self, day: int) -> int:
        """The day renewals end, once that policy is in force (none is announced ahead)."""
        end = min(self.issuance_end_day, self.enforcement_day)
        return end if end <= day else NEVER

    def new_visas_end_known(self, day: int) -> int:
        """The day visas for new workers end, once that policy is in force."""
        end = min(self.issuance_end_day, self.enforcement_day, self.programme_start_day)
        return end if end <= day else NEVER

    def open_again(self, day: int) -> int:
        """The first day from ``day`` on when the border is open."""
        return self.border_reopens if self.border_closes <= day < self.border_reopens else day

    def new_visa_kind(self) -> int:
        """Training, or student with ``new_student_visa_share``: work visas ended with 2375."""
        return STUDENT if self.random.random() < self.p["new_student_visa_share"] else TRAINING

    def send_replacement(self, factory: Factory, day: int) -> None:
        """The agency sends a replacement, if a new worker could still get a visa then."""
        arrive = self.open_again(day + max(1, self.p["replacement_lag_days"]))
        if arrive >= self.new_visas_end_known(day):
            return
        self.pending[arrive].append(factory)
        factory.nk_arriving += 1

    def _receive_replacements(self, day: int) -> None:
        """Replacements reach the border: in if China admits new workers and the factory
        still operates; held while the border is closed."""
        factories = self.pending.pop(day, ())
        if factories and self.border_closed:
            later = self.open_again(day)
            if later < NEVER:
                self.pending[later].extend(factories)
                return
        for factory in factories:
            factory.nk_arriving -= 1
            if factory.operating and self.issues_visa(day, new_worker=True):
                visa = self.new_visa_kind()
                contract_end = day + self.p["contract_days"]
                NKWorker(self, factory, visa, day + self.stays[visa], contract_end)
                self.arrived += 1
                self.entries_today += 1

    def migrant_wait_weeks(self) -> int:
        """Whole weeks (at least one) until someone outside the city looks again."""
        rate = 1 / self.p["migrant_search_weeks"]
        return max(1, math.ceil(-math.log1p(-self.random.random()) / rate))

    # --- the weekly labour market -----------------------------------------------------

    def _open_applications(self) -> None:
        """This week's applicants in random order: job seekers in the city, staff looking
        around (for a raise, and more than their own factory offers), and people outside
        the city whose turn to look it is."""
        premium = self.p["job_switch_premium"]
        applicants = []
        for c in self.city:
            if c.employer is None:
                applicants.append((c.reservation, c))
            elif c.looking:
                c.looking = False
                ask = max(c.wage * (1 + premium), c.employer.offer + 0.01)
                applicants.append((ask, c))
        for c in list(self.outside):
            if c.next_look <= self.week:
                c.next_look = self.week + self.migrant_wait_weeks()
                applicants.append((c.reservation, c))
        self.random.shuffle(applicants)
        self.applicants = applicants
        self._next_applicant = 0

    def take_applicants(self, factory: Factory, wanted: int) -> int:
        """The next applicants in line who accept the factory's offer; factories come in
        order of their offer, so anyone passed over would refuse every later offer too."""
        taken = 0
        queue = self.applicants
        while taken < wanted and self._next_applicant < len(queue):
            ask, person = queue[self._next_applicant]
            self._next_applicant += 1
            if ask <= factory.offer:
                person.take_job(factory)
                taken += 1
        self.hires_today += taken
        return taken

    # --- the day ----------------------------------------------------------------------

    def _set_calendar(self, day: int) -> None:
        """What today is: month start, market day, border, campaign, holiday recall."""
        date = self.start + dt.timedelta(days=day)
        self.month_start = day > 0 and date.day == 1
        self.hiring_day = day % 7 == 6
        self.week = day // 7
        self.border_closed = self.border_closes <= day < self.border_reopens
        self.campaign = day >= self.enforcement_day
        self.recall_day = -1
        if day in self.recalls:
            back = self.recalls[day]
            last = back + self.p["holiday_return_spread_days"]
            closed_then = self.border_closes <= last < self.border_reopens
            if not (self.border_closed or closed_then) and last < self.renewal_end_known(day):
                self.recall_day, self.recall_return_day = day, back

    def step(self) -> None:
        """One day: arrivals, every worker, every factory; on the seventh, the market."""
        day = self.day
        if day >= self.n_days:
            self.running = False
            return
        self.entries_today = self.exits_today = self.hires_today = self.quits_today = 0
        self._set_calendar(day)
        self._receive_replacements(day)
        self.agents_by_type[NKWorker].do("step")  # the order does not matter for these rules
        self.city.do("step")
        factories = self.agents_by_type[Factory]
        factories.do("step")
        if self.hiring_day:
            self._open_applications()
            factories.sort("offer", ascending=False).do("hire")
        self.hires_total += self.hires_today
        self.quits_total += self.quits_today
        self._count()
        self.datacollector.collect(self)
        self.day += 1

    def _count(self) -> None:
        """The day's record: workers by status, Chinese staff and seekers, gap, output."""
        nk = self.agents_by_type.get(NKWorker, ())
        by_status = Counter(w.status for w in nk)
        counts: dict[str, float] = {name: by_status[i] for i, name in enumerate(STATUS_NAMES)}
        counts["home"] = sum(self.home.values())
        factories = [f for f in self.agents_by_type[Factory] if f.operating]
        employed = sum(len(f.cn_staff) for f in factories)
        counts["cn_employed"] = employed
        counts["cn_job_seekers"] = len(self.city) - employed
        counts["labor_gap"] = sum(f.gap_today for f in factories)
        counts["output"] = sum(f.output_today for f in factories)
        counts["factories_operating"] = len(factories)
        counts["cn_hires"] = self.hires_today
        counts["cn_quits"] = self.quits_today
        self.counts = counts

    def run_model(self) -> None:
        """Run to the last day."""
        self.run_for(self.n_days - self.day)
