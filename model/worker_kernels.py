"""The worker population's inner loops, compiled with Numba: one worker at a time.

Why compiled: China-wide about 6,000 workers have an event each day, most of them the
monthly visa run of ``docs/sources.md`` (a training visa ends, the worker goes home for a
few days and comes back on a new one), and the workers who change status on a day are few
and of mixed statuses. As array rules that cost a few dozen NumPy calls a day whose fixed
overhead, not the arithmetic, took most of the run; here each is one pass over the workers
concerned. ``model.workers`` keeps the rules' order and their rarer cases (a closed border,
visas refused, overstayers) as array code, and these functions change exactly the columns
and running totals the array rules did and draw the same numbers
(``model.randomness.draw``): runs are the same to the bit as before they were compiled.

Numba caches the machine code next to this file; its cache does not notice an edit to
``model.randomness.draw``, which these functions inline: after one, delete
``model/__pycache__/worker_kernels*.nbi`` and ``*.nbc`` (``make clean`` does).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from model.randomness import draw

# Status and Visa codes (model.workers' IntEnums, as plain ints for the compiled code).
_WORKING, _AWAY = 0, 1
_WORK_VISA, _TRAINING_VISA, _STUDENT_VISA = 0, 1, 2

# By Status: 1 where a worker of that status counts in the total.
IN_CHINA = np.array([1, 0, 1, 1, 0, 1], dtype=np.int64)
AT_WORK = np.array([1, 0, 1, 0, 0, 0], dtype=np.int64)  # staffs a position today
EMPLOYED = np.array([1, 1, 1, 0, 0, 0], dtype=np.int64)  # holds a position


@njit(cache=True)
def move_workers(
    ids: np.ndarray,
    new: int,
    status: np.ndarray,
    visa: np.ndarray,
    factory: np.ndarray,
    by_status: np.ndarray,
    working_by_visa: np.ndarray,
    at_work_by_factory: np.ndarray,
    employed_by_factory: np.ndarray,
) -> int:
    """Set workers' status to ``new``, keeping the running totals; returns how many were
    in China before."""
    # One loop with the rule written out: a helper function called per worker costs a
    # reference count on each array, several times the work itself.
    was_in_china = 0
    for i in ids:
        old = status[i]
        was_in_china += IN_CHINA[old]
        by_status[old] -= 1
        by_status[new] += 1
        if old == _WORKING:
            working_by_visa[visa[i]] -= 1
        if new == _WORKING:
            working_by_visa[visa[i]] += 1
        f = factory[i]
        at_work_by_factory[f] += AT_WORK[new] - AT_WORK[old]
        employed_by_factory[f] += EMPLOYED[new] - EMPLOYED[old]
        status[i] = new
    return was_in_china


@njit(cache=True)
def visa_runs_due(
    day: int,
    n: int,
    runs_go_on: bool,
    due: np.ndarray,
    status: np.ndarray,
    exit_due: np.ndarray,
    visa: np.ndarray,
    visa_expiry: np.ndarray,
    factory: np.ndarray,
    return_day: np.ndarray,
    trips: np.ndarray,
    by_status: np.ndarray,
    working_by_visa: np.ndarray,
    at_work_by_factory: np.ndarray,
    trip_days: int,
    spread_days: int,
    trip_addend: np.uint64,
    stays: np.ndarray,
    student_share: float,
    kind_addend: np.uint64,
    n_status: int,
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The workers with an event on ``day``: the monthly visa run done here, the rest
    returned for the array rules, grouped by status (each group in id order; status
    ``s``'s group is ``rest[starts[s]:starts[s + 1]]``). Also returns how many left on a
    trip and how many came back (they cross the border).

    While ``runs_go_on`` (China renews visas and the border is open), and unless their
    exit day has come (told to leave, sought, contract over: the array rules decide):

    - a worker at work whose visa ends today goes home to renew it and comes back after
      ``trip_days`` plus a queue of 0 to ``spread_days`` days (stream ``trip_length``);
    - a worker back from that trip starts work on a new visa: training or student in place
      of a work visa (stream ``visa_kind``: student with probability ``student_share``),
      for the stay that kind allows, next due on the earlier of its end and the exit day.

    Each worker's record is read once here, which is most of the cost: the day's workers
    are scattered over the rows.
    """
    found = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):  # nothing but the test here: more work inside makes it much slower
        if due[i] == day:
            found[k] = i
            k += 1
    # Each worker's record first, in a loop without branches: the reads miss the cache
    # (the rows are far apart) but overlap; a branch on each would wait for its read.
    statuses = np.empty(k, dtype=np.int8)
    exits_ahead = np.empty(k, dtype=np.bool_)
    expired = np.empty(k, dtype=np.bool_)
    for j in range(k):
        i = found[j]
        statuses[j] = status[i]
        exits_ahead[j] = exit_due[i] > day
        expired[j] = visa_expiry[i] <= day
    rest = np.empty(k, dtype=np.int64)
    counts = np.zeros(n_status + 1, dtype=np.int64)
    n_going = n_back = n_rest = 0
    high = spread_days + 1
    for j in range(k):
        i = found[j]
        s = statuses[j]
        if runs_go_on and exits_ahead[j]:
            if s == _WORKING and expired[j]:  # at work -> away (still employed)
                n_going += 1
                working_by_visa[visa[i]] -= 1
                at_work_by_factory[factory[i]] -= 1
                status[i] = _AWAY
                queue = min(np.int64(draw(i, trip_addend) * high), high - 1)
                back_on = day + trip_days + queue
                return_day[i] = back_on
                due[i] = back_on
                trips[i] += 1
                continue
            if s == _AWAY:  # away -> at work, counted by the new kind of visa
                n_back += 1
                kind = visa[i]
                if kind == _WORK_VISA:
                    kind = _STUDENT_VISA if draw(i, kind_addend) < student_share else _TRAINING_VISA
                    visa[i] = kind
                expiry = day + stays[kind]
                visa_expiry[i] = expiry
                due[i] = min(expiry, exit_due[i])
                working_by_visa[kind] += 1
                at_work_by_factory[factory[i]] += 1
                status[i] = _WORKING
                continue
        rest[n_rest] = i
        statuses[n_rest] = s  # (j >= n_rest: not read again)
        counts[s + 1] += 1
        n_rest += 1
    # The rest of the moves' running totals (``move_workers``'s); a trip keeps the position,
    # so the employed per factory do not change.
    by_status[_WORKING] += n_back - n_going
    by_status[_AWAY] += n_going - n_back
    starts = counts.copy()
    for g in range(n_status):  # (np.cumsum: slower to compile)
        starts[g + 1] += starts[g]
    grouped = np.empty(n_rest, dtype=np.int64)
    fill = starts[:-1].copy()
    for j in range(n_rest):
        s = statuses[j]
        grouped[fill[s]] = rest[j]
        fill[s] += 1
    return grouped, starts, n_going, n_back


@njit(cache=True)
def back_on_new_visas(
    ids: np.ndarray,
    day: int,
    exit_due: np.ndarray,
    visa: np.ndarray,
    visa_expiry: np.ndarray,
    factory: np.ndarray,
    status: np.ndarray,
    due: np.ndarray,
    by_status: np.ndarray,
    working_by_visa: np.ndarray,
    at_work_by_factory: np.ndarray,
    employed_by_factory: np.ndarray,
    stays: np.ndarray,
    student_share: float,
    kind_addend: np.uint64,
) -> None:
    """Workers back from a trip start work on a new visa, as in ``visa_runs_due``: for
    those the array rules let back in after all (sought while abroad)."""
    for i in ids:
        kind = visa[i]
        if kind == _WORK_VISA:
            kind = _STUDENT_VISA if draw(i, kind_addend) < student_share else _TRAINING_VISA
            visa[i] = kind
        expiry = day + stays[kind]
        visa_expiry[i] = expiry
        due[i] = min(expiry, exit_due[i])
    move_workers(  # after the new visas: they are counted by their new kind
        ids,
        _WORKING,
        status,
        visa,
        factory,
        by_status,
        working_by_visa,
        at_work_by_factory,
        employed_by_factory,
    )


@njit(cache=True)
def add_arrivals(
    lo: int,
    factories: np.ndarray,
    day: int,
    contract_days: int,
    stays: np.ndarray,
    student_share: float,
    kind_addend: np.uint64,
    factory: np.ndarray,
    visa: np.ndarray,
    visa_expiry: np.ndarray,
    contract_end: np.ndarray,
    exit_due: np.ndarray,
    arrived: np.ndarray,
    due: np.ndarray,
    by_status: np.ndarray,
    working_by_visa: np.ndarray,
    at_work_by_factory: np.ndarray,
    employed_by_factory: np.ndarray,
) -> None:
    """New workers from the agency, rows ``lo`` on, at work in ``factories`` from ``day``:
    a training or student visa (stream ``visa_kind``: student with probability
    ``student_share``) for the stay that kind allows, a contract of ``contract_days``.
    The rows' other columns hold a new worker's values already."""
    end = day + contract_days
    for j in range(len(factories)):
        i = lo + j
        f = factories[j]
        kind = _STUDENT_VISA if draw(i, kind_addend) < student_share else _TRAINING_VISA
        expiry = day + stays[kind]
        factory[i] = f
        visa[i] = kind
        visa_expiry[i] = expiry
        contract_end[i] = end
        exit_due[i] = end
        arrived[i] = day
        due[i] = min(expiry, end)
        working_by_visa[kind] += 1
        at_work_by_factory[f] += 1
        employed_by_factory[f] += 1
    by_status[_WORKING] += len(factories)


@njit(cache=True)
def kept_by_factory(
    n: int,
    status: np.ndarray,
    visa: np.ndarray,
    factory: np.ndarray,
    leave_day: np.ndarray,
    visa_expiry: np.ndarray,
    contract_end: np.ndarray,
    end: int,
    renewals_end: int,
    new_visas_end: int,
    only_work_visas: bool,
    n_factories: int,
) -> np.ndarray:
    """Per factory, its North Korean staff who will still be there on day ``end``: not
    overstaying, not told to leave by then, not on a visa that ends by then once renewals
    have ended (``renewals_end``), not on a contract that ends by then once no new worker
    can come (``new_visas_end``), and, with ``only_work_visas``, on a work visa."""
    kept = np.zeros(n_factories, dtype=np.int64)
    for i in range(n):
        s = status[i]
        if s != _WORKING and s != _AWAY:  # overstayers go, the rest hold no position
            continue
        expiry, contract = visa_expiry[i], contract_end[i]
        gone = (
            leave_day[i] <= end
            or (expiry <= end and expiry >= renewals_end)
            or (only_work_visas and visa[i] != _WORK_VISA)
            or (contract <= end and contract >= new_visas_end)
        )
        if not gone:
            kept[factory[i]] += 1
    return kept
