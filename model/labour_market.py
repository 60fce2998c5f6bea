"""The Chinese labour market of these factories: who is willing at what wage, who moves, who quits.

Each person is a row: a reservation wage (the least they accept for factory work), an employer
(-1: none), the wage they are paid, and whether they live in the city. Three groups:

- **local staff and job seekers**: in the city; the article's point lives here: at 4,000-5,000
  yuan there are too few takers to refill the positions North Korean workers hold;
- **potential migrants** outside the city, asking more (moving to a border city costs): each
  looks at the city's offers only now and then (``migrant_search_weeks``), so an inflow answers
  a higher wage, but it takes time;
- **workers looking from their jobs**: each week a share compares other factories' offers
  with their wage and moves for a raise of at least ``job_switch_premium``.

So supply answers the wage twice: more local people are willing at a higher wage, and more
migrants come, with a delay. Quits for reasons of one's own open positions every week, so
hiring never stops. Matching, once a week: factories with open positions offer a wage, the
best-paying factory hires first; applicants in random order take it if it meets what they
ask, up to what the factory can recruit that week (the hiring friction).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from model.calendar import DAYS_PER_MONTH, NEVER
from model.randomness import Streams


class LabourMarket:
    """Chinese workers available to these factories, employed or not, in the city or not."""

    def __init__(self, p: Mapping[str, Any], cn_staff: np.ndarray, streams: Streams):
        n_staff = int(cn_staff.sum())
        n_local = n_staff + int(round(p["cn_jobseekers_per_nk_worker"] * p["n_workers"]))
        n_migrants = int(round(p["migrant_pool_per_nk_worker"] * p["n_workers"]))
        n = n_local + n_migrants
        ids = np.arange(n)
        sigma = p["cn_reservation_wage_sigma"]
        median = np.where(
            ids < n_local,
            p["cn_reservation_wage_median_yuan"],
            p["migrant_reservation_wage_median_yuan"],
        )
        self.reservation = median * np.exp(sigma * streams.normal("reservation_wage", ids))
        # Staff took their jobs, so their reservation wage is at most what they are paid.
        wage0 = p["cn_wage_yuan_per_month"]
        self.reservation[:n_staff] = np.minimum(self.reservation[:n_staff], wage0)
        self.employer = np.full(n, -1, dtype=np.int64)
        self.employer[:n_staff] = np.repeat(np.arange(len(cn_staff)), cn_staff)
        self.wage = np.zeros(n)
        self.wage[:n_staff] = wage0
        # Each factory's Chinese staff and monthly wage bill, kept in step with every change
        # (the factory table reads these same arrays; tests check them against a recount).
        self.staff = cn_staff.astype(np.int64).copy()
        self.wage_bill = self.staff * float(wage0)
        self.local = ids < n_local
        self.in_city = self.local.copy()
        self.n_factories = len(cn_staff)
        self.streams = streams
        weeks_per_month = DAYS_PER_MONTH / 7
        self.quit_per_week = 1 - (1 - p["cn_quit_rate_per_month"]) ** (1 / weeks_per_month)
        self.search_per_week = p["on_the_job_search_share_per_week"]
        self.switch_premium = p["job_switch_premium"]
        self.migrant_look_per_week = 1 / p["migrant_search_weeks"]
        self._first_migrant = n_local
        self._migrants = np.arange(n_local, n)
        # Each potential migrant's next look at the city's offers: a memoryless wait in weeks.
        self.next_look = self._wait_weeks(self._migrants, 0).astype(np.int32)  # scanned weekly
        self.hires_total = 0
        self.quits_total = 0
        self.moves_total = 0
        self._count_seekers()
        self._looking: np.ndarray = np.empty(0, dtype=np.int64)

    # --- what people read ---------------------------------------------------------------

    @property
    def size(self) -> int:
        return len(self.reservation)

    @property
    def seekers(self) -> int:
        """People in the city looking for work in these factories (counted after each change)."""
        return self._seekers

    def _count_seekers(self) -> None:
        """Count once at the start; every change afterwards adjusts the count (``_let_go``,
        ``match``), so a week does not rescan everyone."""
        self._seekers = int((self.in_city & (self.employer < 0)).sum())

    def willing_at(self, wage: float) -> int:
        """How many local job seekers (not employed now) would take a job at this wage."""
        return int((self.local & (self.employer < 0) & (self.reservation <= wage)).sum())

    def recount(self, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(staff, wage bill) per factory recomputed from the rows (``rows``: the employed,
        if the caller has them): what the running totals must equal."""
        if rows is None:
            rows = np.flatnonzero(self.employer >= 0)
        f = self.employer[rows]
        return (
            np.bincount(f, minlength=self.n_factories),
            np.bincount(f, weights=self.wage[rows], minlength=self.n_factories),
        )

    def _employed(self) -> np.ndarray:
        """Ids of everyone employed, in order: the locals with a job, then the migrants in
        the city (a migrant is in the city only while employed), so only a third of the
        rows are scanned as numbers."""
        first = self._first_migrant
        locals_ = np.flatnonzero(self.employer[:first] >= 0)
        return np.concatenate([locals_, np.flatnonzero(self.in_city[first:]) + first])

    def _count_out(self, rows: np.ndarray) -> np.ndarray:
        """Take people out of their employers' totals; return how many each factory lost."""
        f = self.employer[rows]
        lost = np.bincount(f, minlength=self.n_factories)
        self.staff -= lost
        self.wage_bill -= np.bincount(f, weights=self.wage[rows], minlength=self.n_factories)
        return lost

    # --- every week -------------------------------------------------------------------

    def quit(self, week: int) -> np.ndarray:
        """Some staff leave for reasons of their own, others look around; return how many
        each factory lost (one draw per person and week decides both)."""
        staff = self._employed()
        u = self.streams.uniform("quit_or_look", staff, week)
        leaving = staff[u < self.quit_per_week]
        looking = (u >= self.quit_per_week) & (u < self.quit_per_week + self.search_per_week)
        self._looking = staff[looking]
        lost = self._count_out(leaving)
        self._let_go(leaving, week)
        self.quits_total += len(leaving)
        return lost

    def match(self, demand: np.ndarray, offers: np.ndarray, week: int) -> tuple[np.ndarray, ...]:
        """Fill this week's openings; return (hires, staff lost to other factories) per factory.

        Factories are served in order of their offer; applicants in a random order (drawn per
        person and week: common random numbers) take the first offer that meets what they ask.
        An applicant who does not take the best open offer would not take a lower one either,
        so one pass over the applicants serves every factory.
        """
        hires = np.zeros(self.n_factories, dtype=np.int64)
        lost = np.zeros(self.n_factories, dtype=np.int64)
        hiring = np.flatnonzero(demand > 0)
        if len(hiring) == 0:
            return hires, lost
        ids, asks = self._applicants(offers, week)
        top = offers[hiring].max()
        keep = asks <= top
        ids, asks = ids.compress(keep), asks.compress(keep)  # ~half kept: compress is faster
        if len(ids) == 0:
            return hires, lost
        keys = self.streams.uniform("job_search", ids, week)
        tiebreak = self.streams.uniform("offer_order", hiring, week)
        order = hiring[np.lexsort((tiebreak, -offers[hiring]))]
        taken, to = self._serve(order, demand, offers, ids, asks, keys)
        was = self.employer[taken]
        self._seekers -= int(np.count_nonzero((was < 0) & self.in_city[taken]))
        movers = taken[was >= 0]
        if len(movers):
            lost = self._count_out(movers)
            self.moves_total += len(movers)
        self.employer[taken] = to
        self.wage[taken] = offers[to]
        arriving = taken[~self.in_city[taken]]
        self.in_city[arriving] = True
        self.next_look[arriving - self._first_migrant] = NEVER
        hires = np.bincount(to, minlength=self.n_factories)
        self.staff += hires
        self.wage_bill += np.bincount(to, weights=offers[to], minlength=self.n_factories)
        self.hires_total += int(hires.sum())
        return hires, lost

    def _applicants(self, offers: np.ndarray, week: int) -> tuple[np.ndarray, np.ndarray]:
        """Who applies this week, and the least each accepts."""
        # Locals never leave the city, and migrants are in it only while employed (they come
        # for a job and go home when they lose it): the job seekers are the locals without one.
        seekers = np.flatnonzero(self.employer[: self._first_migrant] < 0)
        looking = self._looking[self.employer[self._looking] >= 0]  # drawn with this week's quits
        # A worker moves for a raise, and never to a factory paying less than their own offers.
        employer = self.employer[looking]
        ask_looking = np.maximum(
            self.wage[looking] * (1 + self.switch_premium), offers[employer] + 0.01
        )
        due = np.flatnonzero(self.next_look <= week) + self._first_migrant  # in city: NEVER
        if len(due):
            self.next_look[due - self._first_migrant] = week + self._wait_weeks(due, week + 1)
        ids = np.concatenate([seekers, looking, due])
        asks = np.concatenate([self.reservation[seekers], ask_looking, self.reservation[due]])
        return ids, asks

    def _serve(self, order, demand, offers, ids, asks, keys) -> tuple[np.ndarray, np.ndarray]:
        """The walk below, over the front of the queue when that is enough (the usual week:
        few openings, many applicants), else over all of it; the result is the same."""
        front = int(8 * demand[order].sum() + 256)
        if len(keys) > front:
            head = np.argpartition(keys, front)[:front]
            taken, to, used_up = self._scan(order, demand, offers, ids[head], asks[head],
                                            keys[head])  # fmt: skip
            if not used_up:
                return taken, to
        return self._scan(order, demand, offers, ids, asks, keys)[:2]

    @staticmethod
    def _scan(order, demand, offers, ids, asks, keys) -> tuple[np.ndarray, np.ndarray, bool]:
        """Walk the applicants in queue order once; each factory takes the next who accept.

        Everyone passed over while serving a factory asks more than it offers, and so more than
        every later (lower) offer: they are done for the week. Factories offering the same
        wage are served as one group (the first in line takes the first takers), so the walk
        costs a step per distinct offer, not per factory.
        """
        queue = np.argsort(keys, kind="stable")
        ids, asks = ids[queue], asks[queue]
        takers, employers = [], []
        start, n = 0, len(ids)
        ordered_offers = offers[order]
        bounds = np.flatnonzero(np.diff(ordered_offers)) + 1
        for group in np.split(order, bounds):
            if start >= n:
                break
            wants = demand[group]
            need, offer = int(wants.sum()), offers[group[0]]
            width = max(4 * need, 64)
            while True:
                stop = min(n, start + width)
                accept = asks[start:stop] <= offer
                counted = np.cumsum(accept)
                if counted[-1] >= need or stop == n:
                    break
                width *= 4
            end = int(np.searchsorted(counted, need)) + 1 if counted[-1] >= need else stop - start
            taken = ids[start + np.flatnonzero(accept[:end])]
            start += end
            filled = np.minimum(np.cumsum(wants), len(taken))  # hires so far, in line
            got = filled.copy()
            got[1:] -= filled[:-1]  # np.diff(prepend=0), without its overhead
            takers.append(taken)
            employers.append(np.repeat(group, got))
        used_up = start >= n  # the walk reached the end of the queue
        if not takers:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), used_up
        return np.concatenate(takers), np.concatenate(employers), used_up

    # --- every month ------------------------------------------------------------------

    def catch_up(self, offers: np.ndarray, rate: float) -> None:
        """Staff paid less than their factory now offers new hires are raised part of the way."""
        staff = self._employed()
        gap = offers[self.employer[staff]] - self.wage[staff]
        self.wage[staff] += rate * np.maximum(gap, 0.0)
        self.staff[:], self.wage_bill[:] = self.recount(staff)  # also clears rounding drift

    # --- shutdowns --------------------------------------------------------------------

    def release(self, factories: np.ndarray, week: int) -> int:
        """Staff of closed factories lose their jobs; return how many."""
        closed = np.zeros(self.n_factories + 1, dtype=bool)
        closed[factories] = True
        laid_off = np.flatnonzero(closed[self.employer])  # employer -1 reads the last slot
        self._count_out(laid_off)
        self._let_go(laid_off, week)
        return len(laid_off)

    def _let_go(self, rows: np.ndarray, week: int) -> None:
        """People leave their jobs: locals look for work here, migrants go home."""
        self.employer[rows] = -1
        self.wage[rows] = 0.0
        migrants = rows[~self.local[rows]]
        self._seekers += len(rows) - len(migrants)
        if len(migrants):
            self.in_city[migrants] = False
            self.next_look[migrants - self._first_migrant] = week + self._wait_weeks(migrants, week)

    def _wait_weeks(self, rows: np.ndarray, week: int) -> np.ndarray:
        """Whole weeks (at least one) until each potential migrant next looks at the city."""
        u = self.streams.uniform("migrant_look", rows, week)
        wait = np.ceil(-np.log1p(-u) / self.migrant_look_per_week)
        return np.maximum(wait, 1).astype(np.int64)
