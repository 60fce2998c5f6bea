"""Factories: positions, staff, wages, cash; they hire, raise offers, shrink or shut down.

The daily arithmetic (who is at work, labour gap, output, wage bill) runs on arrays of
all factories at once. Decisions come on a cadence, as they do in a firm: hiring and
wage offers weekly, payroll monthly, shutdown as soon as cash runs out or the line has
stayed understaffed too long. Each factory is also a Mesa agent (``Factory``) whose
attributes read its row, so it can be inspected, listed and drawn like any agent.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from model.calendar import DAYS_PER_MONTH, NEVER, Horizon
from model.randomness import Streams

if TYPE_CHECKING:
    from model.workers import WorkerPopulation

SECTORS = ("garments", "seafood processing", "electronics assembly", "shoes")
# Labels only (docs/sources.md, sectors, qualitative); the shares are an assumption.
SECTOR_SHARES = np.array([0.5, 0.25, 0.15, 0.10])


class ShutBecause(IntEnum):
    OPERATING = 0
    CASH = 1
    UNDERSTAFFED = 2


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


class FactoryTable:
    """All factories as arrays, with the rules that act on many at once."""

    def __init__(self, p: dict[str, Any], streams: Streams):
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
        self.productivity = p["productivity_yuan_per_worker_month"] * np.exp(
            p["productivity_sigma"] * streams.normal("productivity", ids)
        )
        self.fixed_cost = p["fixed_cost_share"] * self.productivity * self.positions0
        self.nk_wage = p["nk_wage_yuan_per_month"]
        self.cn_wage0 = p["cn_wage_yuan_per_month"]
        self.cn_wage = np.full(n, self.cn_wage0)
        self.offer = self.cn_wage.copy()
        monthly_cost = (
            self.fixed_cost + self.nk_positions0 * self.nk_wage + self.cn_staff0 * self.cn_wage0
        )
        self.cash = p["cash_buffer_months"] * monthly_cost
        self.operating = np.ones(n, dtype=bool)
        self.shut_day = np.full(n, NEVER, dtype=np.int64)
        self.cn_staff_at_shutdown = np.zeros(n, dtype=np.int64)
        self.understaffed_days = np.zeros(n, dtype=np.int64)
        self.weeks_at_max_offer = np.zeros(n, dtype=np.int64)
        self.accrued_revenue = np.zeros(n)
        self.accrued_wages = np.zeros(n)
        self.fines = np.zeros(n)
        self.viable_share = p["viable_staffing_share"]
        self.max_understaffed_days = p["max_understaffed_days"]
        self.hiring_capacity = p["hiring_capacity_share_per_week"]
        self.wage_step = p["wage_offer_step"]
        self.max_downsizing = p["max_downsizing_share_per_week"]
        self.potential_output_per_day = float(
            (self.productivity * self.positions0).sum() / DAYS_PER_MONTH
        )

    # --- every day --------------------------------------------------------------------

    def run_day(self, nk_at_work: np.ndarray) -> dict[str, float]:
        """Staff the lines, book output and wages, count understaffed days."""
        op = self.operating
        present = nk_at_work + self.cn_staff
        staffed = np.minimum(present, self.positions) * op
        output = self.productivity * staffed / DAYS_PER_MONTH
        wages = (nk_at_work * self.nk_wage + self.cn_staff * self.cn_wage) * op / DAYS_PER_MONTH
        self.accrued_revenue += output
        self.accrued_wages += wages
        positions = self.positions * op
        short = op & (staffed < self.viable_share * self.positions)
        self.understaffed_days = np.where(short, self.understaffed_days + 1, 0)
        extra = (
            self.cn_staff * self.cn_wage
            - self.cn_staff0 * self.cn_wage0
            - (self.cn_staff - self.cn_staff0) * self.nk_wage
        ) * op
        distressed = op & (short | (self.cash < self.fixed_cost))
        return {
            "positions": float(positions.sum()),
            "labor_gap": float((positions - staffed).sum()),
            "output": float(output.sum()),
            "wage_bill": float(wages.sum()),
            "extra_wage_cost": float(extra.sum() / DAYS_PER_MONTH),
            "nk_wage_paid": float((nk_at_work * op).sum() * self.nk_wage / DAYS_PER_MONTH),
            "factories_distressed": float(distressed.sum()),
        }

    def understaffed_too_long(self) -> np.ndarray:
        return np.flatnonzero(
            self.operating & (self.understaffed_days >= self.max_understaffed_days)
        )

    # --- every month ------------------------------------------------------------------

    def pay_month(self) -> np.ndarray:
        """Settle the month: revenue in, wages and fixed costs out; return those out of cash."""
        op = self.operating
        self.cash += (self.accrued_revenue - self.accrued_wages - self.fixed_cost) * op
        self.accrued_revenue[:] = 0.0
        self.accrued_wages[:] = 0.0
        return np.flatnonzero(op & (self.cash < 0))

    def fine(self, factories: np.ndarray, amount: float) -> None:
        """Fines for illegally employed workers come straight out of cash."""
        np.add.at(self.fines, factories, amount)
        np.subtract.at(self.cash, factories, amount)

    # --- every week -------------------------------------------------------------------

    def vacancies(self, nk_employed: np.ndarray, nk_expected: np.ndarray) -> np.ndarray:
        """Positions no one holds or is on the way to: what the factory tries to fill."""
        open_ = self.positions - nk_employed - nk_expected - self.cn_staff
        return np.where(self.operating, np.maximum(open_, 0), 0)

    def hiring_demand(self, vacancies: np.ndarray) -> np.ndarray:
        """This week's hires sought: vacancies, up to what recruiting can handle."""
        cap = np.ceil(self.hiring_capacity * self.positions).astype(np.int64)
        return np.minimum(vacancies, cap)

    def affordable_wage(self, nk_employed: np.ndarray) -> np.ndarray:
        """Highest Chinese wage at which a fully staffed line still breaks even."""
        cn_slots = np.maximum(self.positions - nk_employed, 1)
        margin = self.productivity * self.positions - self.nk_wage * nk_employed - self.fixed_cost
        return margin / cn_slots

    def adjust_offers(self, unfilled: np.ndarray, nk_employed: np.ndarray) -> None:
        """Raise offers where vacancies stay open, up to the affordable wage; else shrink.

        Chinese staff at a factory are paid the same wage, so a higher offer raises the
        whole Chinese wage bill: that is what limits how far a factory can go.
        """
        wanting = self.operating & (unfilled > 0)
        ceiling = np.maximum(self.affordable_wage(nk_employed), self.cn_wage)
        raised = np.minimum(self.offer * (1 + self.wage_step), ceiling)
        can_raise = wanting & (raised > self.offer + 1e-9)
        self.offer = np.where(can_raise, raised, self.offer)
        self.cn_wage = np.maximum(self.cn_wage, np.where(can_raise, self.offer, 0))
        stuck = wanting & ~can_raise
        self.weeks_at_max_offer = np.where(stuck, self.weeks_at_max_offer + 1, 0)
        shrink = stuck & (self.weeks_at_max_offer >= 4)
        cut = np.minimum(
            unfilled, np.maximum(np.floor(self.max_downsizing * self.positions), 1)
        ).astype(np.int64)
        self.positions = np.where(shrink, np.maximum(self.positions - cut, 1), self.positions)

    # --- shutdown ---------------------------------------------------------------------

    def shut(self, factories: np.ndarray, day: int) -> np.ndarray:
        """Close factories; return the ones that were still operating."""
        factories = factories[self.operating[factories]]
        self.operating[factories] = False
        self.shut_day[factories] = day
        self.cn_staff_at_shutdown[factories] = self.cn_staff[factories]
        self.cn_staff[factories] = 0
        return factories


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
        return float(self._table.cn_wage[self.row])

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
        """operating, short-staffed or shut: what a map of factories colours by."""
        if not self.operating:
            return "shut"
        if self.staffed_share < self._table.viable_share:
            return "short-staffed"
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
