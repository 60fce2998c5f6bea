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
def due_by_status(
    due: np.ndarray, status: np.ndarray, n: int, day: int, n_status: int
) -> tuple[np.ndarray, np.ndarray]:
    """Ids of the workers with an event on ``day``, grouped by status (each group in id
    order), and where each status's group starts (``starts[s]:starts[s + 1]``)."""
    found = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):  # nothing but the test here: counting too makes the loop much slower
        if due[i] == day:
            found[k] = i
            k += 1
    # Each worker's status is read once (a cache miss apiece: the rows are far apart).
    statuses = np.empty(k, dtype=np.int8)
    counts = np.zeros(n_status + 1, dtype=np.int64)
    for j in range(k):
        s = status[found[j]]
        statuses[j] = s
        counts[s + 1] += 1
    starts = np.cumsum(counts)
    grouped = np.empty(k, dtype=np.int64)
    fill = starts[:-1].copy()
    for j in range(k):
        s = statuses[j]
        grouped[fill[s]] = found[j]
        fill[s] += 1
    return grouped, starts


@njit(cache=True)
def leave_on_trips(
    ids: np.ndarray,
    day: int,
    exit_due: np.ndarray,
    visa: np.ndarray,
    factory: np.ndarray,
    status: np.ndarray,
    return_day: np.ndarray,
    due: np.ndarray,
    trips: np.ndarray,
    by_status: np.ndarray,
    working_by_visa: np.ndarray,
    at_work_by_factory: np.ndarray,
    employed_by_factory: np.ndarray,
    trip_days: int,
    spread_days: int,
    trip_addend: np.uint64,
) -> tuple[np.ndarray, int]:
    """Workers at work whose visa ends today go home to renew it and come back after
    ``trip_days`` plus a queue of 0 to ``spread_days`` days (stream ``trip_length``).

    A worker at work is due on the earlier of its visa's end and its exit day, so those
    due whose exit day has not come are exactly those whose visa ends today. The others
    (told to leave, caught, contract over) are returned, in id order, for the array rules.
    Also returns how many left on a trip (they cross the border out).
    """
    leaving = np.empty(len(ids), dtype=np.int64)
    going = np.empty(len(ids), dtype=np.int64)
    n_leaving = n_going = 0
    high = spread_days + 1
    for i in ids:
        if exit_due[i] <= day:
            leaving[n_leaving] = i
            n_leaving += 1
            continue
        going[n_going] = i
        n_going += 1
        queue = min(np.int64(draw(i, trip_addend) * high), high - 1)
        back = day + trip_days + queue
        return_day[i] = back
        due[i] = back
        trips[i] += 1
    move_workers(
        going[:n_going],
        _AWAY,
        status,
        visa,
        factory,
        by_status,
        working_by_visa,
        at_work_by_factory,
        employed_by_factory,
    )
    return leaving[:n_leaving], n_going


@njit(cache=True)
def back_on_new_visas(
    ids: np.ndarray,
    day: int,
    exits_first: bool,
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
) -> tuple[np.ndarray, int]:
    """Workers back from a trip start work on a new visa: training or student in place of
    a work visa (stream ``visa_kind``: student with probability ``student_share``), for
    the stay that kind allows; each is next due on the earlier of its visa's end and its
    exit day.

    With ``exits_first``, workers whose exit day has come are left out and returned, in id
    order, for the array rules (they may have to go home instead). Also returns how many
    came back (they cross the border in).
    """
    early = np.empty(len(ids), dtype=np.int64)
    back = np.empty(len(ids), dtype=np.int64)
    n_early = n_back = 0
    for i in ids:
        if exits_first and exit_due[i] <= day:
            early[n_early] = i
            n_early += 1
            continue
        back[n_back] = i
        n_back += 1
        kind = visa[i]
        if kind == _WORK_VISA:
            kind = _STUDENT_VISA if draw(i, kind_addend) < student_share else _TRAINING_VISA
            visa[i] = kind
        expiry = day + stays[kind]
        visa_expiry[i] = expiry
        due[i] = min(expiry, exit_due[i])
    move_workers(  # after the new visas: they are counted by their new kind
        back[:n_back],
        _WORKING,
        status,
        visa,
        factory,
        by_status,
        working_by_visa,
        at_work_by_factory,
        employed_by_factory,
    )
    return early[:n_early], n_back
