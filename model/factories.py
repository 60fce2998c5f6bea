"""Factories: positions, staff, hours, wages and cash; each decides what a firm decides.

A factory's lines are its positions; it earns value added for every hour worked, up to the
hours its lines are planned for (its orders). Its costs are wages, a running cost per staffed
position, and an overhead that does not shrink when lines are cut (management, offices, rent
and upkeep set by its size at the start). North Korean workers are paid a monthly sum through
the agency and work long days; Chinese workers are paid a monthly wage for a shorter day, and
by law 150% for each hour beyond it.

What a factory decides, and why (``docs/odd.md`` says the same in prose):

- **Hours**, weekly: short of hands, it asks for longer days from the group whose extra hour
  earns more than it costs, up to a ceiling.
- **Wage offers**, weekly: while openings stay unfilled it raises its offer, up to the wage at
  which the staff it *will* have (North Korean workers it can keep under the announced
  policy, Chinese workers for the rest) still cover its costs; once filled, offers come down.
  New hires get the offer; staff paid less catch up monthly; wages never fall.
- **Lines**, monthly: it cuts open positions that would lose money at the wage it must pay.
- **Exit**, monthly: it closes when continuing is worth less than closing, i.e. when its
  expected operating profit over the planning horizon (from today's to that of the staff it
  expects to have) is below the severance it would owe; and it must close when cash runs out.
- **Cash**: owners take out profit above a buffer of a few months of normal costs, so cash
  at the policy date does not depend on when the run started; runs start in that state.

The daily arithmetic runs on arrays of all factories at once; each factory is also a Mesa
agent (``Factory``) whose attributes read its row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np
from numba import njit

from model.calendar import DAYS_PER_MONTH, NEVER, Horizon
from model.randomness import Streams

if TYPE_CHECKING:
    from model.workers import WorkerPopulation

SECTORS = ("garments", "seafood processing", "electronics assembly", "shoes")
# Labels only (docs/sources.md, sectors, qualitative); the shares are an assumption.
SECTOR_SHARES = np.array([0.5, 0.25, 0.15, 0.10])


@njit(cache=True)
def _lines_today(
    nk_at_work: np.ndarray,
    operating: np.ndarray,
    cn: np.ndarray,
    positions: np.ndarray,
    orders: np.ndarray,
    nk_month_hours: np.ndarray,
    cn_month_hours: np.ndarray,
    value_per_hour: np.ndarray,
    nk_pay_each: np.ndarray,
    line_cost_day: float,
    cn_pay_day: np.ndarray,
    overhead_day: np.ndarray,
    revenue_month: np.ndarray,
    nk_pay_month: np.ndarray,
    running_month: np.ndarray,
    cn_pay_month: np.ndarray,
    overhead_month: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """A day of every factory's lines (``FactoryTable.run_day``), one factory at a time:
    books the month's revenue, pay and costs; returns North Korean staff at work, revenue
    and their pay per factory, and positions staffed and North Korean heads in all.

    Compiled because it runs every day on every factory and is a dozen array operations;
    each is the same arithmetic, in the same order, as the array code it replaces. The
    float totals are summed by the caller with NumPy, so they keep their order too.
    """
    n = len(operating)
    nk = np.empty(n, dtype=np.int64)
    revenue = np.empty(n)
    nk_pay = np.empty(n)
    staffed_all = heads = 0
    for f in range(n):
        here = nk_at_work[f] if operating[f] else 0
        staffed = min(here + cn[f], positions[f])
        worked = min(here * nk_month_hours[f] + cn_month_hours[f], orders[f])
        revenue[f] = value_per_hour[f] * worked / DAYS_PER_MONTH
        nk_pay[f] = here * nk_pay_each[f] / DAYS_PER_MONTH
        revenue_month[f] += revenue[f]
        nk_pay_month[f] += nk_pay[f]
        running_month[f] += staffed * line_cost_day
        cn_pay_month[f] += cn_pay_day[f]
        overhead_month[f] += overhead_day[f]
        nk[f] = here
        staffed_all += staffed
        heads += here
    return nk, revenue, nk_pay, staffed_all, heads


class ShutBecause(IntEnum):
    OPERATING = 0
    CASH = 1  # ran out of cash
    NOT_VIABLE = 2  # going on was worth less than closing


SHUT_REASONS = {
    ShutBecause.CASH: "ran out of cash",
    ShutBecause.NOT_VIABLE: "going on was worth less than closing",
}


def allocate_sizes(n_workers: int, n_factories: int, sigma: float, streams: Streams) -> np.ndarray:
    """North Korean workers per factory: lognormal weights, rounded to sum exactly.

    docs/sources.md reports tens to hundreds per factory (50, 70, 140, 300 seen), a heavy tail.
    """
    weights = np.exp(sigma * streams.normal("factory_size", np.arange(n_factories)))
    ideal = weights / weights.sum() * (n_workers - n_factories)
    sizes = np.floor(ideal).astype(np.int64)
    short = (n_workers - n_factories) - sizes.sum()
    sizes[np.argsort(-(ideal - sizes), kind="stable")[:short]] += 1
    return sizes + 1  # every factory has at least one North Korean worker


@dataclass(frozen=True)
class Outlook:
    """What a factory expects, once a month: the basis of its offers, lines and exit."""

    nk_expected: np.ndarray  # North Korean workers it can keep over the planning horizon
    months_to_departures: float  # until those leaving have left (0: none leave)


class FactoryTable:
    """All factories as arrays, with the rules that act on many at once."""

    def __init__(self, p: Mapping[str, Any], streams: Streams):
        n = p["n_factories"]
        ids = np.arange(n)
        self.n = n
        self.nk_positions0 = allocate_sizes(p["n_workers"], n, p["factory_size_sigma"], streams)
        share = p["cn_share_of_positions"]
        self.cn_staff0 = np.rint(self.nk_positions0 * share / (1 - share)).astype(np.int64)
        self.positions0 = self.nk_positions0 + self.cn_staff0
        self.positions = self.positions0.copy()
        self.cn_staff = self.cn_staff0.copy()
        self.sector = np.searchsorted(
            np.cumsum(SECTOR_SHARES), streams.uniform("sector", ids), side="right"
        ).clip(max=len(SECTORS) - 1)
        self.value_per_hour = p["value_added_yuan_per_hour"] * np.exp(
            p["productivity_sigma"] * streams.normal("productivity", ids)
        )
        # Hours: a usual day and a ceiling per group, and working days a month.
        self.nk_day, self.nk_max_day = p["nk_hours_per_day"], p["nk_max_hours_per_day"]
        self.cn_day, self.cn_max_day = p["cn_hours_per_day"], p["cn_max_hours_per_day"]
        self.nk_days, self.cn_days = p["nk_days_per_month"], p["cn_days_per_month"]
        self.nk_month_hours = self.nk_day * self.nk_days  # hours a month at the usual day
        self.cn_month_hours = self.cn_day * self.cn_days
        self.nk_hours = np.full(n, self.nk_day)  # today's working day, set weekly
        self.cn_hours = np.full(n, self.cn_day)
        # Orders: the hours a month each position is planned for, as staffed at the start.
        self.hours_per_position = (
            self.nk_positions0 * self.nk_month_hours + self.cn_staff0 * self.cn_month_hours
        ) / self.positions0
        # Wages and costs, per month.
        self.nk_wage = p["nk_wage_yuan_per_month"]
        self.cn_wage0 = p["cn_wage_yuan_per_month"]
        self.offer = np.full(n, self.cn_wage0)
        self.cn_wage_bill = self.cn_staff0 * self.cn_wage0
        self.cn_overtime_premium = p["cn_overtime_premium"]
        self.nk_overtime_cost = p["nk_overtime_cost_share"] * self.nk_wage / self.nk_month_hours
        self.line_cost = p["line_cost_yuan_per_position_month"]
        self.overhead = (
            p["overhead_yuan_per_month"] + p["overhead_yuan_per_position_month"] * self.positions0
        )
        self.normal_costs = (
            self.nk_positions0 * self.nk_wage
            + self.cn_wage_bill
            + self.positions0 * self.line_cost
            + self.overhead
        )
        self.buffer = p["cash_buffer_months"] * self.normal_costs
        self.cash = self.buffer.copy()  # the steady state: owners keep the buffer, take the rest
        self.planning_months = p["planning_horizon_months"]
        self.severance_months = p["severance_months"]
        self.hiring_capacity = p["hiring_capacity_share_per_week"]
        self.wage_step = p["wage_offer_step"]
        # State
        self.operating = np.ones(n, dtype=bool)
        self.shut_day = np.full(n, NEVER, dtype=np.int64)
        self.shut_reason = np.zeros(n, dtype=np.int8)
        self.cn_staff_at_shutdown = np.zeros(n, dtype=np.int64)
        self.nk_expected = self.nk_positions0.astype(float)  # until the first outlook
        self.staff_growth = np.zeros(n)  # net change of Chinese staff a week, smoothed
        self.recruiting = np.zeros(n)  # how much of the last month it had openings, smoothed
        self._staff_last_week = self.cn_staff0.astype(float)
        self.month = self._zeros("revenue", "nk_pay", "cn_pay", "running", "overhead", "fines")
        self.profit_last_month = np.zeros(n)
        self.value_of_going_on = np.full(n, np.inf)
        self.payouts = np.zeros(n)
        self.profit_total = np.zeros(n)  # operating profit of every settled month
        self.fines = np.zeros(n)
        self.severance_paid = np.zeros(n)
        self._week: dict[str, Any] | None = None
        self.potential_output_per_day = float(
            (self.value_per_hour * self.hours_per_position * self.positions0).sum() / DAYS_PER_MONTH
        )

    def read_staff_from(self, staff: np.ndarray, wage_bill: np.ndarray) -> None:
        """Chinese staff and wage bills are kept by the labour market: read its arrays."""
        self.cn_staff, self.cn_wage_bill = staff, wage_bill
        self.changed()

    def _zeros(self, *names: str) -> dict[str, np.ndarray]:
        return {name: np.zeros(self.n) for name in names}

    # --- margins ------------------------------------------------------------------------

    @property
    def nk_margin(self) -> np.ndarray:
        """What a North Korean worker on a usual day earns a factory a month, after pay."""
        return self.value_per_hour * self.nk_month_hours - self.nk_wage - self.line_cost

    def cn_margin(self, wage: np.ndarray) -> np.ndarray:
        """What a Chinese worker on a usual day at ``wage`` earns a factory a month."""
        return self.value_per_hour * self.cn_month_hours - wage - self.line_cost

    def wage_ceiling(self) -> np.ndarray:
        """The highest Chinese wage at which the staff a factory will have still cover its
        costs, and never more than a Chinese worker brings in."""
        cn_slots = np.maximum(self.positions - self.nk_expected, 1.0)
        product = self.value_per_hour * self.cn_month_hours - self.line_cost
        spare = (self.nk_expected * self.nk_margin - self.overhead) / cn_slots
        return np.maximum(np.minimum(product + spare, product), 0.0)

    # --- every day ----------------------------------------------------------------------

    def run_day(self, nk_at_work: np.ndarray) -> dict[str, float]:
        """Staff the lines, book output, pay and costs for the day.

        Only North Korean attendance changes from day to day (trips, the holiday); what
        changes weekly or monthly (Chinese staff, hours, wages, lines) is prepared by
        ``_prepare_week`` when it changes.
        """
        k = self._week or self._prepare_week()
        m = self.month
        nk, revenue, nk_pay, staffed, heads = _lines_today(
            nk_at_work,
            self.operating,
            k["cn"],
            k["positions"],
            k["orders"],
            k["nk_month_hours"],
            k["cn_month_hours"],
            self.value_per_hour,
            k["nk_pay_each"],
            self.line_cost / DAYS_PER_MONTH,
            k["cn_pay_day"],
            k["overhead_day"],
            m["revenue"],
            m["nk_pay"],
            m["running"],
            m["cn_pay"],
            m["overhead"],
        )
        heads += k["cn_heads"]
        paid = float(nk_pay.sum())
        return {
            "positions": k["positions_total"],
            "positions_lost": k["positions_lost"],
            "labor_gap": float(k["positions_total"] - staffed),
            "output": float(revenue.sum()),
            "wage_bill": paid + k["cn_pay_total"],
            "extra_wage_cost": k["extra_total"],
            "nk_wage_paid": paid,
            "hours_per_day": float((nk @ self.nk_hours + k["cn_hours_sum"]) / max(heads, 1)),
            "cn_wage_mean": k["cn_wage_mean"],
            "factories_distressed": k["losing_money"],
        }

    def changed(self) -> None:
        """Staff, hours, wages or lines changed: the day's constants are prepared anew."""
        self._week = None

    def _prepare_week(self) -> dict[str, Any]:
        op = self.operating
        cn = self.cn_staff * op
        positions = self.positions * op
        cn_extra = (self.cn_hours - self.cn_day) * self.cn_days / self.cn_month_hours
        cn_pay = self.cn_wage_bill * (1 + cn_extra * (1 + self.cn_overtime_premium)) * op
        replaced = cn - self.cn_staff0
        extra = (cn_pay - self.cn_staff0 * self.cn_wage0 - replaced * self.nk_wage) * op
        self._week = {
            "cn": cn,
            "positions": positions,
            "orders": self.hours_per_position * positions,
            "nk_month_hours": self.nk_hours * self.nk_days,
            "cn_month_hours": cn * self.cn_hours * self.cn_days,
            "nk_pay_each": self.nk_wage
            + (self.nk_hours - self.nk_day) * self.nk_days * self.nk_overtime_cost,
            "cn_pay_day": cn_pay / DAYS_PER_MONTH,
            "overhead_day": self.overhead * op / DAYS_PER_MONTH,
            "cn_heads": int(cn.sum()),
            "cn_hours_sum": float(cn @ self.cn_hours),
            "positions_total": float(positions.sum()),
            "positions_lost": float(self.positions0.sum() - positions.sum()),
            "cn_pay_total": float(cn_pay.sum() / DAYS_PER_MONTH),
            "extra_total": float(extra.sum() / DAYS_PER_MONTH),
            "cn_wage_mean": float(self.cn_wage_bill[op].sum() / max(cn.sum(), 1)),
            "losing_money": float((op & (self.profit_last_month < 0)).sum()),
        }
        return self._week

    # --- every week ---------------------------------------------------------------------

    def openings(self, nk_employed: np.ndarray, nk_arriving: np.ndarray) -> np.ndarray:
        """Positions no one holds or is on the way to, worth filling at today's offer.

        A factory recruits only while it would cover its costs once staffed (with the North
        Korean workers it can keep and Chinese workers at its offer): one that cannot is
        running down, and does not recruit and train workers it would soon lay off.
        """
        open_ = self.positions - nk_employed - nk_arriving - self.cn_staff
        worth_it = (self.cn_margin(self.offer) > 0) & (self.profit_if_staffed(self.offer) >= 0)
        return np.where(self.operating & worth_it, np.maximum(open_, 0), 0)

    def profit_if_staffed(self, wage: np.ndarray) -> np.ndarray:
        """Monthly operating profit with every position staffed: the North Korean workers a
        factory can keep on a usual day, Chinese workers at ``wage`` in the rest."""
        cn_slots = np.maximum(self.positions - self.nk_expected, 0)
        cn = cn_slots * np.maximum(self.cn_margin(wage), 0)
        return self.nk_expected * self.nk_margin + cn - self.overhead

    def hiring_demand(self, openings: np.ndarray) -> np.ndarray:
        """This week's hires sought: openings, up to what recruiting can handle."""
        capacity = np.ceil(self.hiring_capacity * self.positions).astype(np.int64)
        return np.minimum(openings, capacity)

    def after_hiring(self, openings: np.ndarray, sought: np.ndarray, hires: np.ndarray) -> None:
        """Move offers. Up (to the ceiling) when the market, not the factory's own recruiting,
        holds it back (fewer came than it sought) and at its pace it would not fill its
        openings within its planning horizon; down once its openings are filled; otherwise
        unchanged: filling positions takes time, and a raise goes to every worker in the end.
        """
        seeking = sought > 0
        # What a factory learns from the market: its net weekly change in Chinese staff (hires
        # less quits and workers lost to better offers), smoothed over about a month.
        staff = self.cn_staff.astype(float)
        self.staff_growth = 0.75 * self.staff_growth + 0.25 * (staff - self._staff_last_week)
        self.recruiting = 0.75 * self.recruiting + 0.25 * (openings > 0)
        self._staff_last_week = staff
        ceiling = np.maximum(self.wage_ceiling(), self.cn_wage0)
        still_open = openings - hires
        weeks_to_fill = still_open / np.maximum(self.staff_growth, 1e-9)
        too_slow = weeks_to_fill > self.planning_months * DAYS_PER_MONTH / 7
        short = seeking & (hires < sought) & too_slow
        filled = still_open <= 0
        raised = np.minimum(self.offer * (1 + self.wage_step), ceiling)
        lowered = np.maximum(self.offer * (1 - self.wage_step), self.cn_wage0)
        self.offer = np.where(short, raised, np.where(filled, lowered, self.offer))

    def set_hours(self, nk_at_work: np.ndarray) -> None:
        """Short of hands, ask for longer days where the extra hour earns more than it costs."""
        self.changed()
        cn = self.cn_staff
        orders = self.hours_per_position * self.positions
        need = np.maximum(orders - nk_at_work * self.nk_month_hours - cn * self.cn_month_hours, 0)
        v = self.value_per_hour
        nk_room = nk_at_work * (self.nk_max_day - self.nk_day) * self.nk_days
        nk_used = np.where(v > self.nk_overtime_cost, np.minimum(need, nk_room), 0.0)
        cn_hourly = self.cn_wage_bill / np.maximum(cn, 1) / self.cn_month_hours
        cn_cost = (1 + self.cn_overtime_premium) * cn_hourly
        cn_room = cn * (self.cn_max_day - self.cn_day) * self.cn_days
        cn_used = np.where(v > cn_cost, np.minimum(need - nk_used, cn_room), 0.0)
        self.nk_hours = self.nk_day + nk_used / np.maximum(nk_at_work * self.nk_days, 1)
        self.cn_hours = self.cn_day + cn_used / np.maximum(cn * self.cn_days, 1)

    # --- every month --------------------------------------------------------------------

    def settle_month(self) -> np.ndarray:
        """Book the month, pay owners what is above the buffer; return those out of cash."""
        self.changed()
        op = self.operating
        m = self.month
        profit = m["revenue"] - m["nk_pay"] - m["cn_pay"] - m["running"] - m["overhead"]
        self.profit_last_month = np.where(op, profit, 0.0)
        self.profit_total += self.profit_last_month
        self.cash += (profit - m["fines"]) * op
        payout = np.where(op, np.maximum(self.cash - self.buffer, 0.0), 0.0)
        self.cash -= payout
        self.payouts += payout
        for values in m.values():
            values[:] = 0.0
        return np.flatnonzero(op & (self.cash < 0))

    def plan(self, outlook: Outlook, nk_employed: np.ndarray) -> np.ndarray:
        """Cut lines that would lose money; return the factories better closed than kept.

        A factory weighs going on against closing: over the planning horizon it expects to
        move from this month's operating profit to the profit of the staff it will have
        (North Korean workers it can keep, Chinese workers at the wage it must pay, as many
        as it can expect to hire); closing costs severance.
        """
        self.changed()
        op = self.operating
        self.nk_expected = outlook.nk_expected.astype(float)
        wage = np.maximum(self.offer, self.cn_wage0)
        cn_margin = self.cn_margin(wage)
        hold = nk_employed + self.cn_staff
        self.positions = np.where(
            op & (cn_margin <= 0), np.minimum(self.positions, hold), self.positions
        )
        horizon = self.planning_months
        weeks = horizon * DAYS_PER_MONTH / 7
        cn_slots = np.maximum(self.positions - self.nk_expected, 0)
        # The pace it expects to hire at: what it has achieved while recruiting; with no such
        # record yet (its staff still in place), its recruiting capacity.
        capacity = self.hiring_capacity * self.positions
        growth = np.where(self.recruiting > 0.5, np.maximum(self.staff_growth, 0.0), capacity)
        cn_later = np.minimum(cn_slots, self.cn_staff + growth * weeks)
        cn_later = np.where(cn_margin > 0, cn_later, 0.0)
        later = self.nk_expected * self.nk_margin + cn_later * cn_margin - self.overhead
        gap = np.maximum(cn_later - self.cn_staff, 0)
        months_to_hire = gap / np.maximum(growth * DAYS_PER_MONTH / 7, 1e-9)
        change = np.minimum(np.maximum(months_to_hire, outlook.months_to_departures), horizon)
        now = self.profit_last_month
        self.value_of_going_on = change * (now + later) / 2 + (horizon - change) * later
        closing = self.severance_months * self.cn_wage_bill
        return np.flatnonzero(op & ((self.value_of_going_on < -closing) | (self.positions <= 0)))

    def fine(self, factories: np.ndarray, amounts: np.ndarray) -> None:
        """Fines for illegally employed workers come straight out of the month's cash."""
        np.add.at(self.fines, factories, amounts)
        np.add.at(self.month["fines"], factories, amounts)

    # --- shutdown -----------------------------------------------------------------------

    def shut(self, factories: np.ndarray, day: int, because: ShutBecause) -> np.ndarray:
        """Close factories (paying severance); return the ones that were still operating."""
        self.changed()
        factories = factories[self.operating[factories]]
        self.operating[factories] = False
        self.shut_day[factories] = day
        self.shut_reason[factories] = because
        self.cn_staff_at_shutdown[factories] = self.cn_staff[factories]
        severance = self.severance_months * self.cn_wage_bill[factories]
        self.severance_paid[factories] = severance
        self.cash[factories] -= severance
        return factories  # the labour market lets their staff go


class Factory(mesa.Agent):
    """One factory as a Mesa agent; its state lives in the model's FactoryTable row."""

    def __init__(
        self,
        model: mesa.Model,
        table: FactoryTable,
        workers: WorkerPopulation,
        horizon: Horizon,
        row: int,
    ):
        super().__init__(model)
        self._table, self._workers, self._horizon = table, workers, horizon
        self.row = row

    @property
    def sector(self) -> str:
        return SECTORS[int(self._table.sector[self.row])]

    @property
    def positions(self) -> int:
        return int(self._table.positions[self.row])

    @property
    def nk_employed(self) -> int:
        return int(self._workers.employed_by_factory[self.row])

    @property
    def nk_at_work(self) -> int:
        return int(self._workers.at_work_by_factory[self.row])

    @property
    def cn_staff(self) -> int:
        return int(self._table.cn_staff[self.row])

    @property
    def cn_wage(self) -> float:
        """Mean wage of its Chinese staff (its offer when it has none)."""
        t = self._table
        staff = t.cn_staff[self.row]
        return float(t.cn_wage_bill[self.row] / staff) if staff else float(t.offer[self.row])

    @property
    def cash(self) -> float:
        return float(self._table.cash[self.row])

    @property
    def operating(self) -> bool:
        return bool(self._table.operating[self.row])

    @property
    def staffed_share(self) -> float:
        staff = self.nk_at_work + self.cn_staff
        return min(staff, self.positions) / self.positions if self.operating else 0.0

    @property
    def state(self) -> str:
        """operating, losing money or shut: what a map of factories colours by."""
        if not self.operating:
            return "shut"
        if self._table.profit_last_month[self.row] < 0:
            return "losing money"
        return "operating"

    @property
    def shut_date(self) -> str | None:
        day = int(self._table.shut_day[self.row])
        return None if day >= NEVER else self._horizon.date_of(day).isoformat()

    def __repr__(self) -> str:
        return (
            f"Factory({self.row}, {self.sector}, {self.state}, positions={self.positions}, "
            f"nk={self.nk_employed}, cn={self.cn_staff}, cash={self.cash:,.0f})"
        )
