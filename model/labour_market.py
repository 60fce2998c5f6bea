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

from model import market_kernels as kernels
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
        self.search_per_week = float(p["on_the_job_search_share_per_week"])
        self.switch_premium = float(p["job_switch_premium"])  # (a float: one compiled variant)
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
        the city (a migrant is in the city only while employed)."""
        return kernels.employed_rows(self.employer, self.in_city, self._first_migrant)

    def _count_out(self, rows: np.ndarray) -> np.ndarray:
        """Take people out of their employers' totals; return how many each factory lost."""
        return kernels.count_out(rows, self.employer, self.wage, self.staff, self.wage_bill)

    # --- every week -------------------------------------------------------------------

    def quit(self, week: int) -> np.ndarray:
        """Some staff leave for reasons of their own, others look around; return how many
        each factory lost (one draw per person and week decides both)."""
        leaving, self._looking, lost = kernels.quit_or_look(
            self.employer,
            self.in_city,
            self.wage,
            self._first_migrant,
            self.quit_per_week,
            self.search_per_week,
            self.streams.addend("quit_or_look", week),
            self.staff,
            self.wage_bill,
        )
        self._let_go(leaving, week)
        self.quits_total += len(leaving)
        return lost

    def match(self, demand: np.ndarray, offers: np.ndarray, week: int) -> np.ndarray:
        """Fill this week's openings; return the hires per factory.

        Factories are served in order of their offer; applicants in a random order (drawn per
        person and week: common random numbers) take the first offer that meets what they ask.
        An applicant who does not take the best open offer would not take a lower one either,
        so one pass over the applicants serves every factory (``model.market_kernels.hire``).
        """
        hiring = np.flatnonzero(demand > 0)
        if len(hiring) == 0:
            return np.zeros(self.n_factories, dtype=np.int64)
        ids, asks, keys = self._applicants(offers, offers[hiring].max(), week)
        if len(ids) == 0:
            return np.zeros(self.n_factories, dtype=np.int64)
        tiebreak = self.streams.uniform("offer_order", hiring, week)
        order = hiring[np.lexsort((tiebreak, -offers[hiring]))]
        hires, from_city, moves = kernels.hire(
            order,
            demand,
            offers,
            ids,
            asks,
            keys,
            self.employer,
            self.wage,
            self.in_city,
            self.next_look,
            self._first_migrant,
            NEVER,
            self.staff,
            self.wage_bill,
        )
        self._seekers -= from_city
        self.moves_total += moves
        self.hires_total += int(hires.sum())
        return hires

    def _applicants(
        self, offers: np.ndarray, top: float, week: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Who applies this week and would take the best offer, ``top``: the least each
        accepts, and their place in the queue (stream ``job_search``).

        Locals never leave the city, and migrants are in it only while employed (they come
        for a job and go home when they lose it): the job seekers are the locals without
        one. Staff drawn to look around this week apply from their jobs, and migrants due
        a look at the city's offers apply from outside (and draw when they next look).
        """
        return kernels.applicants(
            self.employer,
            self.reservation,
            self.wage,
            self.next_look,
            self._first_migrant,
            self._looking,
            offers,
            self.switch_premium,
            week,
            top,
            self.streams.addend("job_search", week),
            self.streams.addend("migrant_look", week + 1),
            self.migrant_look_per_week,
        )

    # --- every month ------------------------------------------------------------------

    def catch_up(self, offers: np.ndarray, rate: float) -> None:
        """Staff paid less than their factory now offers new hires are raised part of the way."""
        kernels.catch_up(
            self.employer,
            self.in_city,
            self.wage,
            self._first_migrant,
            offers,
            float(rate),
            self.staff,
            self.wage_bill,
        )

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
        return kernels.wait_weeks(
            np.asarray(rows, dtype=np.int64),
            self.streams.addend("migrant_look", week),
            self.migrant_look_per_week,
        )
