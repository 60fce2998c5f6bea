"""North Korean workers: a columnar population, one row per worker, changed only when due.

Most worker-days change nothing: a worker on a training visa works for a month, goes
home to renew it, comes back. So each worker carries the day of its next event (visa
expiry, end of a trip, contract end, being caught, the day a repatriation programme
sends it home) in ``due``; each day the model takes the rows due that day and applies
the rules to all of them at once. Counts by status, by visa kind and per factory are
kept as running totals, so the daily time series costs nothing per worker.

Each worker stays an individual: ``worker(i)`` returns its whole state and history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

import numpy as np

from model import worker_kernels as kernels
from model.calendar import NEVER
from model.randomness import Streams
from model.worker_kernels import AT_WORK, EMPLOYED, IN_CHINA


class Status(IntEnum):
    WORKING = 0  # in China, employed, valid visa
    AWAY = 1  # employed, outside China on a renewal trip or the holiday
    OVERSTAYING = 2  # in China, still working, visa expired
    DETAINED = 3  # in China, caught, awaiting deportation
    HOME = 4  # left China for good (rotation, refusal, repatriation, deportation)
    WAITING = 5  # in China without work (factory shut), waiting for the closed border to open


class Visa(IntEnum):
    WORK = 0
    TRAINING = 1
    STUDENT = 2


class LeftBecause(IntEnum):
    STILL_EMPLOYED = 0
    CONTRACT_END = 1
    VISA_REFUSED = 2
    REPATRIATION = 3
    DEPORTED = 4
    FACTORY_SHUT = 5
    BORDER_CLOSED = 6  # away when the border closed, could not come back


N_STATUS = len(Status)
N_VISA = len(Visa)


@dataclass(frozen=True)
class WorkerRecord:
    """One worker's state and history, as a person would ask for it."""

    id: int
    factory: int
    status: str
    visa: str
    visa_expiry_day: int | None
    contract_end_day: int
    arrived_day: int | None  # None: already in China at the start
    left_day: int | None
    left_because: str
    trips: int


class WorkerPopulation:
    """Every North Korean worker as array rows; counters kept in step with every change."""

    _COLUMNS = {
        "factory": np.int32,
        "status": np.int8,
        "visa": np.int8,
        "visa_expiry": np.int32,
        "contract_end": np.int32,
        "return_day": np.int32,  # AWAY: day back; DETAINED: day deported
        "catch_day": np.int32,
        "leave_day": np.int32,
        "exit_due": np.int32,  # earliest of contract end, catch day, leave day
        "due": np.int32,
        "arrived": np.int32,
        "left_day": np.int32,
        "left_because": np.int8,
        "trips": np.int16,
    }

    _PACKED = ("factory", "exit_due", "visa_expiry", "status", "visa", "trips")

    _NEW_WORKER = {
        "status": Status.WORKING,
        "return_day": NEVER,
        "catch_day": NEVER,
        "leave_day": NEVER,
        "left_day": NEVER,
        "left_because": LeftBecause.STILL_EMPLOYED,
        "trips": 0,
    }
    """Columns every new worker starts with the same value in: rows not yet used hold it
    already, so adding workers (every day) writes only the other columns."""

    def __init__(self, n_factories: int, capacity: int):
        self.n = 0
        self.n_factories = n_factories
        for name, column in self._allocate(max(capacity, 16)).items():
            setattr(self, name, column)
        self.by_status = np.zeros(N_STATUS, dtype=np.int64)
        self.working_by_visa = np.zeros(N_VISA, dtype=np.int64)
        self.at_work_by_factory = np.zeros(n_factories, dtype=np.int64)
        self.employed_by_factory = np.zeros(n_factories, dtype=np.int64)
        self.arrived_total = 0
        self.entries_today = 0
        self.exits_today = 0

    # --- rows -------------------------------------------------------------------------

    def _grow(self, extra: int) -> None:
        need = self.n + extra
        cap = len(self.status)
        if need <= cap:
            return
        new_cap = max(need, cap * 2)
        for name, grown in self._allocate(new_cap).items():
            grown[: self.n] = getattr(self, name)[: self.n]
            setattr(self, name, grown)

    def _allocate(self, capacity: int) -> dict[str, np.ndarray]:
        """Columns for ``capacity`` workers, unused rows holding ``_NEW_WORKER``'s values.

        The columns every visa run reads or writes (``_PACKED``) share one record per
        worker, 16 bytes: a day's runs touch a few thousand workers scattered over the
        rows, and one cache line per worker costs a fraction of one per column.
        """
        packed = np.zeros(capacity, dtype=[(name, self._COLUMNS[name]) for name in self._PACKED])
        columns = {}
        for name, dtype in self._COLUMNS.items():
            column = packed[name] if name in self._PACKED else np.empty(capacity, dtype=dtype)
            column[:] = self._NEW_WORKER.get(name, 0)
            columns[name] = column
        return columns

    def add(
        self,
        factory: np.ndarray,
        visa: np.ndarray,
        visa_expiry: np.ndarray,
        contract_end: np.ndarray,
        arrived: int,
    ) -> np.ndarray:
        """New workers in China, at work; returns their ids."""
        k = len(factory)
        self._grow(k)
        lo, hi = self.n, self.n + k  # new rows are a slice: cheaper than fancy indexing
        self.n = hi
        self.factory[lo:hi] = factory  # (the columns in _NEW_WORKER are set already)
        self.visa[lo:hi] = visa
        self.visa_expiry[lo:hi] = visa_expiry
        self.contract_end[lo:hi] = contract_end
        self.exit_due[lo:hi] = contract_end
        self.arrived[lo:hi] = arrived
        self.by_status[Status.WORKING] += k
        self.working_by_visa += np.bincount(visa, minlength=N_VISA)
        counts = np.bincount(factory, minlength=self.n_factories)
        self.at_work_by_factory += counts
        self.employed_by_factory += counts
        if arrived >= 0:
            self.arrived_total += k
            self.entries_today += k
        self.due[lo:hi] = np.minimum(self.visa_expiry[lo:hi], self.exit_due[lo:hi])
        ids = np.arange(lo, hi)
        return ids

    def arrive(
        self,
        factories: np.ndarray,
        day: int,
        contract_days: int,
        stays: np.ndarray,
        student_share: float,
        kind_addend: np.uint64,
    ) -> None:
        """New workers from the agency cross into China and start work in ``factories``
        (``model.worker_kernels.add_arrivals``: their visas and contracts)."""
        k = len(factories)
        self._grow(k)
        lo = self.n
        self.n += k
        kernels.add_arrivals(
            lo,
            factories,
            day,
            contract_days,
            stays,
            student_share,
            kind_addend,
            self.factory,
            self.visa,
            self.visa_expiry,
            self.contract_end,
            self.exit_due,
            self.arrived,
            self.due,
            self.by_status,
            self.working_by_visa,
            self.at_work_by_factory,
            self.employed_by_factory,
        )
        self.arrived_total += k
        self.entries_today += k

    # --- state changes ----------------------------------------------------------------

    def set_status(self, ids: np.ndarray, new: Status, crossing: int = 0) -> None:
        """Move workers to a new status, keeping every counter right.

        ``crossing`` is +1 for an entry into China, -1 for an exit, 0 for none.
        """
        if len(ids) == 0:
            return
        self._move(ids, new)
        if crossing > 0:
            self.entries_today += len(ids)
        elif crossing < 0:
            self.exits_today += len(ids)

    def _move(self, ids: np.ndarray, new: Status) -> int:
        """``model.worker_kernels.move_workers`` here; returns how many of ``ids`` were in China."""
        return kernels.move_workers(
            ids,
            int(new),
            self.status,
            self.visa,
            self.factory,
            self.by_status,
            self.working_by_visa,
            self.at_work_by_factory,
            self.employed_by_factory,
        )

    def send_home(self, ids: np.ndarray, day: int, because: LeftBecause | np.ndarray) -> None:
        """Workers leave China for good (those already outside simply stay home);
        ``because``: one reason for all, or one per worker."""
        if len(ids) == 0:
            return
        self.exits_today += self._move(ids, Status.HOME)
        self.left_day[ids] = day
        self.left_because[ids] = because
        self.due[ids] = NEVER

    def set_exit_dates(
        self,
        ids: np.ndarray,
        catch_day: np.ndarray | None = None,
        leave_day: np.ndarray | None = None,
    ) -> None:
        """Set the day a worker is caught or told to leave, and reschedule it."""
        if catch_day is not None:
            self.catch_day[ids] = catch_day
        if leave_day is not None:
            self.leave_day[ids] = leave_day
        self.exit_due[ids] = np.minimum(
            np.minimum(self.contract_end[ids], self.catch_day[ids]), self.leave_day[ids]
        )
        self.refresh_due(ids)

    def refresh_due(self, ids: np.ndarray) -> None:
        """Next event day of each worker, from its status and pending dates."""
        st = self.status[ids]
        exit_due = self.exit_due[ids]
        due = np.where(st == Status.WORKING, np.minimum(exit_due, self.visa_expiry[ids]), exit_due)
        away = (st == Status.AWAY) | (st == Status.DETAINED)
        due = np.where(away, self.return_day[ids], due)
        self.due[ids] = np.where(st == Status.HOME, NEVER, due)

    def with_status(self, *statuses: Status) -> np.ndarray:
        st = self.status[: self.n]
        mask = st == statuses[0]
        for s in statuses[1:]:
            mask |= st == s
        return np.flatnonzero(mask)

    def new_day(self) -> None:
        self.entries_today = 0
        self.exits_today = 0

    # --- counts -----------------------------------------------------------------------

    @property
    def in_china(self) -> int:
        return int(self.by_status @ IN_CHINA)

    def recount(self) -> dict[str, np.ndarray]:
        """Counters recomputed from the rows, to check the running totals against."""
        st = self.status[: self.n].astype(np.int64)
        f = self.factory[: self.n]
        return {
            "by_status": np.bincount(st, minlength=N_STATUS),
            "working_by_visa": np.bincount(
                self.visa[: self.n][st == Status.WORKING], minlength=N_VISA
            ),
            "at_work_by_factory": np.bincount(
                f, weights=AT_WORK[st], minlength=self.n_factories
            ).astype(np.int64),
            "employed_by_factory": np.bincount(
                f, weights=EMPLOYED[st], minlength=self.n_factories
            ).astype(np.int64),
        }

    def record(self, i: int) -> WorkerRecord:
        """The state and history of worker ``i``."""
        if not 0 <= i < self.n:
            raise IndexError(f"worker {i} does not exist (ids 0 to {self.n - 1})")
        status = Status(int(self.status[i]))

        def day_or_none(x: int) -> int | None:
            return None if x >= NEVER else int(x)

        return WorkerRecord(
            id=i,
            factory=int(self.factory[i]),
            status=status.name.lower(),
            visa=Visa(int(self.visa[i])).name.lower(),
            visa_expiry_day=day_or_none(self.visa_expiry[i])
            if status in (Status.WORKING, Status.AWAY)
            else None,
            contract_end_day=int(self.contract_end[i]),
            arrived_day=None if self.arrived[i] < 0 else int(self.arrived[i]),
            left_day=day_or_none(self.left_day[i]),
            left_because=LeftBecause(int(self.left_because[i])).name.lower(),
            trips=int(self.trips[i]),
        )


class VisaPolicy(Protocol):
    """What worker events ask of China: visas, their kind, and inspections."""

    new_student_share: float  # of visas in place of a work visa, the share that are student visas

    def issues_visa(self, day: int, new_worker: bool) -> bool: ...
    def visa_kind_for(self, ids: np.ndarray, day: int) -> np.ndarray: ...
    def schedule_catch(self, ids: np.ndarray, day: int) -> None: ...


class LabourAgency(Protocol):
    """What worker events ask of the DPRK agency: visa stays, and replacements."""

    stays: np.ndarray

    def send_replacements(self, factories: np.ndarray, day: int) -> None: ...


class Employers(Protocol):
    """What worker events ask of the factories: pay fines."""

    def fine(self, factories: np.ndarray, amounts: np.ndarray) -> None: ...


class BorderCrossing(Protocol):
    """Whether the DPRK border can be crossed on a day, and when it can again."""

    def closed(self, day: int) -> bool: ...
    def open_again(self, day: int) -> int: ...


@dataclass(frozen=True)
class Fines:
    """The law's fines (Exit and Entry Administration Law arts. 78, 80; docs/sources.md)."""

    employer_per_worker: float  # per illegally employed worker ...
    employer_cap_per_case: float  # ... at most this for the workers found in one inspection
    worker_illegal_work: float  # on each worker found working illegally
    overstay_per_day: float  # on an overstayer, per day without a visa ...
    overstay_cap: float  # ... at most this


@dataclass
class WorkerRules:
    """The day's events for every worker due: what they use of the model, and nothing more."""

    workers: WorkerPopulation
    streams: Streams
    china: VisaPolicy
    agency: LabourAgency
    employers: Employers
    border: BorderCrossing
    fines: Fines
    renewal_trip_days: int
    renewal_trip_spread_days: int
    overstay_share: float
    detention_days: int
    fined_employers_today: float = 0.0
    fined_workers_today: float = 0.0
    # Departures for good and replacements of the day, in the order they happen: settled
    # together after the day's events (one status change and one dispatch, not one per kind).
    _going_home: list[tuple[np.ndarray, LeftBecause]] = field(default_factory=list, repr=False)
    _replacing: list[np.ndarray] = field(default_factory=list, repr=False)

    def advance(self, day: int) -> None:
        """Apply the day's events to every worker due today, all at once.

        Order of precedence when several fall on one day: the repatriation programme's
        leave day, being caught, the end of the contract, the end of the visa.
        """
        self.fined_employers_today = self.fined_workers_today = 0.0
        w = self.workers
        renewable = self.china.issues_visa(day, new_worker=False)
        rest, starts, gone, back = kernels.visa_runs_due(
            day,
            w.n,
            renewable and not self.border.closed(day),
            w.due,
            w.status,
            w.exit_due,
            w.visa,
            w.visa_expiry,
            w.factory,
            w.return_day,
            w.trips,
            w.by_status,
            w.working_by_visa,
            w.at_work_by_factory,
            self.renewal_trip_days,
            self.renewal_trip_spread_days,
            self.streams.addend("trip_length", day),
            self.agency.stays,
            self.china.new_student_share,
            self.streams.addend("visa_kind", day),
            N_STATUS,
        )
        w.exits_today += gone
        w.entries_today += back
        if len(rest) == 0:
            return

        def group(status: Status) -> np.ndarray:
            return rest[starts[status] : starts[status + 1]]

        n = starts[1:] - starts[:-1]  # groups nobody is in are skipped
        if n[Status.AWAY]:
            self._return_from_abroad(group(Status.AWAY), day, renewable)
        if n[Status.DETAINED]:
            self._deport(group(Status.DETAINED), day)
        if n[Status.WAITING]:
            self.go_home_or_wait(group(Status.WAITING), day, LeftBecause.FACTORY_SHUT)
        in_china = group(Status.WORKING)
        if n[Status.OVERSTAYING]:
            in_china = np.sort(np.concatenate([in_china, group(Status.OVERSTAYING)]))
        if len(in_china):
            self._events_in_china(in_china, day, renewable)
        self._send_home_and_replace(day)

    def _send_home_and_replace(self, day: int) -> None:
        """Those who left for good today go home; the agency sends their replacements (and
        those of workers caught today) in one batch, in the order they left."""
        w = self.workers
        if self._going_home:
            if len(self._going_home) == 1:
                ids, because = self._going_home[0]
            else:
                ids = np.concatenate([ids for ids, _ in self._going_home])
                because = np.concatenate(
                    [np.full(len(ids), because, dtype=np.int8) for ids, because in self._going_home]
                )
            w.send_home(ids, day, because)
            self._going_home.clear()
        if self._replacing:
            parts = self._replacing
            self.agency.send_replacements(
                parts[0] if len(parts) == 1 else np.concatenate(parts), day
            )
            self._replacing.clear()

    def _events_in_china(self, ids: np.ndarray, day: int, renewable: bool) -> None:
        """Departures, then visas that end today, for workers in China the visa run
        (``model.worker_kernels.visa_runs_due``) left to these rules."""
        w = self.workers
        staying = w.exit_due[ids] > day
        if not staying.all():
            self._exits_in_china(ids[~staying], day)
        closed = self.border.closed(day)
        if renewable and not closed:
            return  # the visa run sent every worker whose visa ends today on a trip
        # Everyone still here and at work whose visa ends today (departures postponed
        # by a closed border included: their dates changed, so read them again).
        status, staying = w.status[ids], w.exit_due[ids] > day
        expired = ids[staying & (status == Status.WORKING) & (w.visa_expiry[ids] <= day)]
        if len(expired) == 0:
            return
        if closed:
            # No way home: China extends visas in the country, or the worker overstays.
            if renewable:
                self._extend_in_china(expired, day)
                w.due[expired] = np.minimum(w.visa_expiry[expired], w.exit_due[expired])
            else:
                w.set_status(expired, Status.OVERSTAYING)
                self.china.schedule_catch(expired, day)
            return
        self._refused_renewal(expired, day)

    def _exits_in_china(self, ids: np.ndarray, day: int) -> None:
        """Told to leave, caught, or contract over, in that order of precedence.

        While the border is closed nobody leaves: departures wait for it to reopen.
        """
        w = self.workers
        leaving = w.leave_day[ids] <= day
        caught = ~leaving & (w.catch_day[ids] <= day)
        ended = ~leaving & ~caught
        self._detain(ids[caught], day)
        if self.border.closed(day):
            later = self.border.open_again(day)
            w.leave_day[ids[leaving]] = later
            w.contract_end[ids[ended]] = later
            stuck = ids[leaving | ended]
            w.set_exit_dates(stuck)
            return
        w.send_home(ids[leaving], day, LeftBecause.REPATRIATION)
        self._leave_for_good(ids[ended], day, LeftBecause.CONTRACT_END)

    def _refused_renewal(self, ids: np.ndarray, day: int) -> None:
        """No renewal to be had: stay on illegally (and keep working) or go home."""
        w = self.workers
        stays = self.streams.uniform("overstay", ids, day) < self.overstay_share
        overstayers = ids.compress(stays)  # about half: compress beats a boolean index
        w.set_status(overstayers, Status.OVERSTAYING)
        self.china.schedule_catch(overstayers, day)
        self._leave_for_good(ids.compress(~stays), day, LeftBecause.VISA_REFUSED)

    def _detain(self, ids: np.ndarray, day: int) -> None:
        """Caught: detained, fined as the law says, deported after detention; a replacement
        is sent. The employer's fine is per case: the workers of one factory found on one day."""
        if len(ids) == 0:
            return
        w, law = self.workers, self.fines
        factories, found = np.unique(w.factory[ids], return_counts=True)
        employer_fines = np.minimum(found * law.employer_per_worker, law.employer_cap_per_case)
        self.employers.fine(factories, employer_fines)
        self.fined_employers_today += float(employer_fines.sum())
        overstaying = w.status[ids] == Status.OVERSTAYING
        days_over = np.maximum(day - w.visa_expiry[ids], 0) * overstaying
        on_workers = law.worker_illegal_work + np.minimum(
            days_over * law.overstay_per_day, law.overstay_cap
        )
        self.fined_workers_today += float(on_workers.sum())
        w.set_status(ids, Status.DETAINED)
        w.return_day[ids] = day + max(1, self.detention_days)
        w.due[ids] = w.return_day[ids]
        self._replacing.append(w.factory[ids])

    def go_home_or_wait(self, ids: np.ndarray, day: int, because: LeftBecause) -> None:
        """Workers without a job go home, or wait in China while the border is closed."""
        w = self.workers
        if not self.border.closed(day):
            w.send_home(ids, day, because)
            return
        w.set_status(ids[w.status[ids] != Status.WAITING], Status.WAITING)
        w.due[ids] = self.border.open_again(day)

    def _deport(self, ids: np.ndarray, day: int) -> None:
        """Detention over: deported, unless the border is closed (then held until it opens)."""
        if not self.border.closed(day):
            self.workers.send_home(ids, day, LeftBecause.DEPORTED)
            return
        w = self.workers
        w.return_day[ids] = self.border.open_again(day)
        w.due[ids] = w.return_day[ids]

    def _leave_for_good(self, ids: np.ndarray, day: int, because: LeftBecause) -> None:
        """A worker goes home for good; the agency sends a replacement to the same factory
        (both at the end of the day's events: ``_send_home_and_replace``)."""
        if len(ids):
            self._going_home.append((ids, because))
            self._replacing.append(self.workers.factory[ids])

    def _extend_in_china(self, ids: np.ndarray, day: int) -> None:
        """Visas of workers at work renewed in China (the border is closed): training or
        student in place of a work visa, for the stay that kind allows."""
        w = self.workers
        visa = w.visa[ids]
        was_work = visa == int(Visa.WORK)
        if was_work.any():
            new = self.china.visa_kind_for(ids[was_work], day)
            # counted by visa kind while working: move them to the new kind
            w.working_by_visa[Visa.WORK] -= len(new)
            w.working_by_visa += np.bincount(new, minlength=N_VISA)
            visa[was_work] = new
            w.visa[ids] = visa
        w.visa_expiry[ids] = day + self.agency.stays[visa]

    def _return_from_abroad(self, ids: np.ndarray, day: int, renewable: bool) -> None:
        """The end of a trip home for those the visa run (``model.worker_kernels``) left to
        these rules: back on a new visa, or home for good.

        If the border has closed meanwhile, the worker cannot come back: home for good.
        """
        w = self.workers
        if self.border.closed(day):
            w.send_home(ids, day, LeftBecause.BORDER_CLOSED)
            return
        early = w.exit_due[ids] <= day  # told to leave, contract over or sought
        sought = None
        if early.any():
            first = ids[early]
            told = w.leave_day[first] <= day
            ended = ~told & (w.contract_end[first] <= day)
            w.send_home(first[told], day, LeftBecause.REPATRIATION)
            self._leave_for_good(first[ended], day, LeftBecause.CONTRACT_END)
            gone = told | ended
            sought = first[~gone]  # a catch day that passed abroad does not count
            early[early] = gone
            ids = ids[~early]
        if not renewable:
            self._leave_for_good(ids, day, LeftBecause.VISA_REFUSED)
            return
        self._back_at_work(ids, day)
        if sought is not None:
            # Exit days are the earliest of contract end, catch day and leave day, so only
            # those found early above can have been sought while abroad.
            stale = sought[w.catch_day[sought] <= day]
            if len(stale):  # sought while abroad: inspections pick up the search again
                self.china.schedule_catch(stale, day)

    def _back_at_work(self, ids: np.ndarray, day: int) -> None:
        """Back from a trip on a new visa (``model.worker_kernels.back_on_new_visas``)."""
        if len(ids) == 0:
            return
        w = self.workers
        kernels.back_on_new_visas(
            ids,
            day,
            w.exit_due,
            w.visa,
            w.visa_expiry,
            w.factory,
            w.status,
            w.due,
            w.by_status,
            w.working_by_visa,
            w.at_work_by_factory,
            w.employed_by_factory,
            self.agency.stays,
            self.china.new_student_share,
            self.streams.addend("visa_kind", day),
        )
        w.entries_today += len(ids)
