"""The local (Chinese) labour pool and weekly matching of job seekers to factory vacancies.

Each local worker is a row with a reservation wage (the least they accept for factory
work) and an employer (-1: looking). Every week factories with open positions offer
a wage; the best-paying factory hires first, each job seeker in random order takes the
best offer at or above their reservation wage, up to the factory's demand. The
article's point lives here: at 4,000-5,000 yuan there are too few takers to refill the
positions North Korean workers hold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from model.randomness import Streams


class LocalLabourPool:
    """Chinese workers available to these factories: employed staff and job seekers."""

    def __init__(self, p: dict[str, Any], cn_staff: np.ndarray, streams: Streams):
        n_staff = int(cn_staff.sum())
        n_seekers = int(round(p["cn_jobseekers_per_nk_worker"] * p["n_workers"]))
        ids = np.arange(n_staff + n_seekers)
        self.reservation = p["cn_reservation_wage_median_yuan"] * np.exp(
            p["cn_reservation_wage_sigma"] * streams.normal("reservation_wage", ids)
        )
        # Staff took their jobs, so their reservation wage is at most what they are paid.
        self.reservation[:n_staff] = np.minimum(
            self.reservation[:n_staff], p["cn_wage_yuan_per_month"]
        )
        self.employer = np.full(len(ids), -1, dtype=np.int64)
        self.employer[:n_staff] = np.repeat(np.arange(len(cn_staff)), cn_staff)
        self.streams = streams

    @property
    def size(self) -> int:
        return len(self.reservation)

    @property
    def employed(self) -> int:
        return int((self.employer >= 0).sum())

    def willing_at(self, wage: float) -> int:
        """How many job seekers (not employed now) would take a job at this wage."""
        return int(((self.employer < 0) & (self.reservation <= wage)).sum())

    def match(self, demand: np.ndarray, offers: np.ndarray, week: int) -> np.ndarray:
        """Fill vacancies from job seekers; return hires per factory."""
        hires = np.zeros(len(demand), dtype=np.int64)
        hiring = np.flatnonzero(demand > 0)
        seekers = np.flatnonzero(self.employer < 0)
        if len(hiring) == 0 or len(seekers) == 0:
            return hires
        seekers = seekers[np.argsort(self.streams.uniform("job_search", seekers, week))]
        reservation = self.reservation[seekers]
        free = np.ones(len(seekers), dtype=bool)
        tiebreak = self.streams.uniform("offer_order", hiring, week)
        # Offers fall along this order, so once no free seeker accepts one, none accepts later.
        for f in hiring[np.lexsort((tiebreak, -offers[hiring]))]:
            takers = np.flatnonzero(free & (reservation <= offers[f]))[: demand[f]]
            if len(takers) == 0:
                break
            free[takers] = False
            self.employer[seekers[takers]] = f
            hires[f] = len(takers)
        return hires

    def release(self, factories: np.ndarray) -> int:
        """Staff of closed factories go back to looking; return how many."""
        laid_off = np.isin(self.employer, factories)
        self.employer[laid_off] = -1
        return int(laid_off.sum())
