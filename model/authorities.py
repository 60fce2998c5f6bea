"""The authorities: the UN Security Council, China, and the DPRK labour-export agency.

They are a handful of ordinary Mesa agents that act on dates. China decides, for any
day, whether a visa is issued and how hard inspections are; the DPRK agency sends
replacements and calls workers home for the April holiday; the Council's resolutions
are the timeline everything else is measured against.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np

from model.calendar import DAYS_PER_MONTH, NEVER, Horizon
from model.factories import FactoryTable
from model.randomness import Streams
from model.sanctions import REPATRIATION_DEADLINE, UN_TIMELINE
from model.workers import Status, Visa, WorkerPopulation


def inspection_days(
    streams: Streams, name: str, n_factories: int, per_month: float, first: int, n_days: int
) -> np.ndarray:
    """Each factory's inspection days from ``first`` on, a Poisson process at ``per_month``:
    rows are successive inspections, columns factories (NEVER once none is left)."""
    if per_month <= 0 or first >= n_days:
        return np.full((1, n_factories), NEVER, dtype=np.int64)
    ids = np.arange(n_factories)
    day = np.full(n_factories, first, dtype=np.int64)
    rows = []
    for k in range(10_000):
        day = day + streams.exponential_days(name, ids, per_month / DAYS_PER_MONTH, k)
        if (day >= n_days).all():
            break
        rows.append(np.where(day < n_days, day, NEVER))
    rows.append(np.full(n_factories, NEVER, dtype=np.int64))
    return np.vstack(rows)


def next_inspection(schedule: np.ndarray, factories: np.ndarray, day: int) -> np.ndarray:
    """The first inspection of each factory strictly after ``day`` (NEVER if none)."""
    days = schedule[:, factories]
    first = np.argmax(days > day, axis=0)
    return days[first, np.arange(len(factories))]


@dataclass(frozen=True)
class Border:
    """The DPRK border: closed from one day to another (NEVER: not closed, or never reopened).

    While it is closed nobody crosses: no trips home to renew a visa, no holiday recall, no
    new arrivals and no departures (docs/sources.md: closed in January 2020, workers stranded).
    """

    closes: int = int(NEVER)
    reopens: int = int(NEVER)

    def closed(self, day: int) -> bool:
        return self.closes <= day < self.reopens

    def open_again(self, day: int) -> int:
        """The first day from ``day`` on when the border is open (NEVER: not in the run)."""
        return self.reopens if self.closed(day) else day


class UNSecurityCouncil(mesa.Agent):
    """Resolutions 2371, 2375 and 2397: the dates the members' policies answer to.

    The Council acts only through its timeline: it takes no step of its own.
    """

    def __init__(self, model: mesa.Model, horizon: Horizon):
        super().__init__(model)
        self.timeline = UN_TIMELINE
        self.deadline_day = horizon.day_of(REPATRIATION_DEADLINE)


class ChinaAuthorities(mesa.Agent):
    """Visa issuance, inspections of visa fraud and overstay, and repatriation."""

    def __init__(
        self,
        model: mesa.Model,
        p: Mapping[str, Any],
        horizon: Horizon,
        workers: WorkerPopulation,
        streams: Streams,
    ):
        super().__init__(model)
        h = horizon
        self.workers, self.streams = workers, streams
        self.issuance_end_day = h.day_of(p["visa_issuance_end"])
        self.enforcement_day = h.day_of(p["enforcement_start"])
        self.mode = p["repatriation_mode"]
        self.programme_start_day = (
            h.day_of(p["repatriation_start"]) if self.mode != "none" else NEVER
        )
        self.programme_end_day = h.day_of(p["repatriation_end"])
        self.new_student_share = float(p["new_student_visa_share"])
        # Inspections visit factories: tolerant ones look for overstayers only; from the start
        # of enforcement, campaigns also look for training and student visa holders at work.
        # Each inspection finds every illegal worker present: one case, one (capped) fine.
        n_factories = p["n_factories"]
        self.tolerant_inspections = inspection_days(
            streams, "inspection", n_factories, p["overstay_detection_per_month"], 0, h.n_days
        )
        self.campaign_inspections = inspection_days(
            streams,
            "campaign_inspection",
            n_factories,
            p["fraud_detection_per_month"],
            self.enforcement_day,
            h.n_days,
        )

    def issues_visa(self, day: int, new_worker: bool) -> bool:
        """Does China issue a visa to a North Korean worker today?

        Work visas ended with 2375 (no new work authorizations); training and student
        visas go on until China stops issuing, enforces against them, or (for new
        workers) starts repatriating.
        """
        if day >= self.issuance_end_day or day >= self.enforcement_day:
            return False
        return not (new_worker and day >= self.programme_start_day)

    def renewal_end_known(self, day: int) -> int:
        """As known on ``day``: the first day a worker already here can no longer get a visa
        (NEVER: none known). A policy is known once it is in effect: none is announced ahead,
        an abrupt return least of all."""
        end = min(self.issuance_end_day, self.enforcement_day)
        return end if end <= day else int(NEVER)

    def new_visas_end_known(self, day: int) -> int:
        """As known on ``day``: the first day a new worker can no longer get a visa."""
        end = min(self.issuance_end_day, self.enforcement_day, self.programme_start_day)
        return end if end <= day else int(NEVER)

    def enforcement_known(self, day: int) -> bool:
        return self.enforcement_day <= day

    def visa_kind_for(self, ids: np.ndarray, day: int) -> np.ndarray:
        """Training or student visa: what a worker gets now that work visas are not issued."""
        student = self.streams.uniform("visa_kind", ids, day) < self.new_student_share
        return np.where(student, np.int8(Visa.STUDENT), np.int8(Visa.TRAINING))

    def act(self, day: int) -> None:
        if day == self.enforcement_day:
            self.start_inspections(day)
        if day == self.programme_start_day:
            self.order_repatriation(day)

    def start_inspections(self, day: int) -> None:
        """From today, training and student visa holders at work and overstayers are sought."""
        w = self.workers
        working = w.with_status(Status.WORKING)
        suspects = np.concatenate(
            [working[w.visa[working] != Visa.WORK], w.with_status(Status.OVERSTAYING)]
        )
        self.schedule_catch(suspects, day)

    def schedule_catch(self, ids: np.ndarray, day: int) -> None:
        """The day each worker would be found: the next inspection of their factory that looks
        for them (overstayers: any inspection; training and student visas: campaigns)."""
        if len(ids) == 0:
            return
        w = self.workers
        factories = w.factory[ids]
        found = next_inspection(self.campaign_inspections, factories, day)
        overstaying = w.status[ids] == Status.OVERSTAYING
        if overstaying.any():
            tolerant = next_inspection(self.tolerant_inspections, factories[overstaying], day)
            found[overstaying] = np.minimum(found[overstaying], tolerant)
        w.set_exit_dates(ids, catch_day=found)

    def order_repatriation(self, day: int) -> None:
        """Give every worker a day to leave, spread over the programme's window."""
        w = self.workers
        ids = w.with_status(Status.WORKING, Status.AWAY, Status.OVERSTAYING)
        window = self.programme_end_day - day + 1
        offset = self.streams.integers("repatriation_order", ids, window)
        w.set_exit_dates(ids, leave_day=day + offset)


class DPRKLabourAgency(mesa.Agent):
    """Sends workers and replacements, takes the state's share, calls the holiday recall."""

    def __init__(
        self,
        model: mesa.Model,
        p: Mapping[str, Any],
        horizon: Horizon,
        workers: WorkerPopulation,
        streams: Streams,
        china: ChinaAuthorities,
        factories: FactoryTable,
        border: Border,
    ):
        super().__init__(model)
        h = horizon
        self.workers, self.streams, self.china, self.factories = workers, streams, china, factories
        self.border = border
        self.lag = max(1, p["replacement_lag_days"])
        self.contract_days = p["contract_days"]
        self.state_share = p["nk_state_share"]
        self.recall_share = p["holiday_recall_share"]
        self.return_spread = p["holiday_return_spread_days"]
        dep_m, dep_d = map(int, p["holiday_departure"].split("-"))
        ret_m, ret_d = map(int, p["holiday_return"].split("-"))
        self.recall_days = {}
        for dep in h.yearly(dep_m, dep_d):
            year = h.date_of(dep).year
            self.recall_days[dep] = (year, h.day_of(dt.date(year, ret_m, ret_d)))
        self.arrivals: dict[int, list[np.ndarray]] = defaultdict(list)
        self.expected_by_factory = np.zeros(p["n_factories"], dtype=np.int64)
        # int32 like the day columns they are added to (scattering int64 into them casts).
        self.stays = np.array(
            [p["work_stay_days"], p["training_stay_days"], p["student_stay_days"]], dtype=np.int32
        )

    def act(self, day: int) -> None:
        if day in self.recall_days:
            self.recall_for_holiday(day, *self.recall_days[day])
        self.receive_arrivals(day)

    def send_replacements(self, factories: np.ndarray, day: int) -> None:
        """A worker who left is replaced: someone is on the way, if a visa can be had then
        (the agency knows China's policy) and the border is open."""
        arrive = self.border.open_again(day + self.lag)
        if len(factories) == 0 or arrive >= self.china.new_visas_end_known(day):
            return
        self.arrivals[arrive].append(factories)
        self.expected_by_factory += np.bincount(factories, minlength=len(self.expected_by_factory))

    def receive_arrivals(self, day: int) -> None:
        """Replacements reach the border; China lets them in only if it issues new visas.
        If the border has closed meanwhile, they wait until it reopens."""
        batches = self.arrivals.pop(day, None)
        if not batches:
            return
        factories = batches[0] if len(batches) == 1 else np.concatenate(batches)
        if self.border.closed(day):
            later = self.border.open_again(day)
            if later < NEVER:
                self.arrivals[later].append(factories)
                return
        self.expected_by_factory -= np.bincount(factories, minlength=len(self.expected_by_factory))
        china = self.china
        if not china.issues_visa(day, new_worker=True):
            return
        factories = factories[self.factories.operating[factories]]
        if len(factories) == 0:
            return
        # A training or student visa (China's ``visa_kind_for``, drawn in the compiled add).
        self.workers.arrive(
            factories,
            day,
            self.contract_days,
            self.stays,
            china.new_student_share,
            self.streams.addend("visa_kind", day),
        )

    def recall_for_holiday(self, day: int, year: int, return_day: int) -> None:
        """Late March: a share of workers go home for 15 April and come back after it.

        Only if they can come back: not while the border is closed, and not if China no longer
        renews visas by the time they return (they would be stranded at home).
        """
        last_return = return_day + self.return_spread
        if self.border.closed(day) or self.border.closed(last_return):
            return
        if last_return >= self.china.renewal_end_known(day):
            return
        w = self.workers
        ids = w.with_status(Status.WORKING)
        ids = ids[w.leave_day[ids] > return_day]
        chosen = ids.compress(self.streams.uniform("holiday", ids, year) < self.recall_share)
        spread = self.streams.integers("holiday_return", chosen, self.return_spread + 1, year)
        w.set_status(chosen, Status.AWAY, crossing=-1)
        w.return_day[chosen] = return_day + spread
        w.due[chosen] = w.return_day[chosen]
