"""The Chinese labour market's weekly passes, compiled with Numba: one person at a time.

Why compiled: each week every employed person draws whether they quit or look around,
every job seeker and migrant due a look is an applicant, and the applicants are served in
a random order; China-wide that is about 150,000 rows a week. As array code those passes
were a few dozen NumPy calls, each a full pass and a temporary array; here each is one
loop. ``model.labour_market`` keeps the rules' order and the rest as array code. These
functions change the same rows and totals in the same order and draw the same numbers
(``model.randomness.draw``), and per-factory sums of wages are added in the same order as
``np.bincount`` adds them: runs are the same to the bit as before they were compiled.

As with ``model.worker_kernels``, Numba's cache does not notice an edit to
``model.randomness.draw``: after one, ``make clean``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from model.randomness import draw


@njit(cache=True)
def employed_rows(employer: np.ndarray, in_city: np.ndarray, first_migrant: int) -> np.ndarray:
    """Ids of everyone employed, in order: locals with an employer, then migrants in the
    city (a migrant is in the city only while employed)."""
    # Written without branches (an unpredictable branch costs more than the write).
    n = len(employer)
    rows = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(first_migrant):
        rows[k] = i
        k += np.int64(employer[i] >= 0)
    for i in range(first_migrant, n):
        rows[k] = i
        k += np.int64(in_city[i])
    return rows[:k]


@njit(cache=True)
def quit_or_look(
    employer: np.ndarray,
    in_city: np.ndarray,
    wage: np.ndarray,
    first_migrant: int,
    quit_share: float,
    look_share: float,
    addend: np.uint64,
    staff: np.ndarray,
    wage_bill: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One draw per employed person (stream ``quit_or_look``): below ``quit_share`` they
    quit, below ``quit_share + look_share`` they look for a better job this week.

    Quitters are taken out of their employers' totals (the caller lets them go). Returns
    (quitters, lookers, staff lost per factory), ids in order.
    """
    rows = employed_rows(employer, in_city, first_migrant)
    leaving = np.empty(len(rows), dtype=np.int64)
    looking = np.empty(len(rows), dtype=np.int64)
    n_leaving = n_looking = 0
    looks_below = quit_share + look_share
    for i in rows:
        u = draw(i, addend)
        if u < quit_share:
            leaving[n_leaving] = i
            n_leaving += 1
        elif u < looks_below:
            looking[n_looking] = i
            n_looking += 1
    leaving = leaving[:n_leaving]
    lost = count_out(leaving, employer, wage, staff, wage_bill)
    return leaving, looking[:n_looking], lost


@njit(cache=True)
def count_out(
    rows: np.ndarray,
    employer: np.ndarray,
    wage: np.ndarray,
    staff: np.ndarray,
    wage_bill: np.ndarray,
) -> np.ndarray:
    """Take people out of their employers' totals; return how many each factory lost."""
    n = len(staff)
    lost = np.zeros(n, dtype=np.int64)
    bill = np.zeros(n)  # summed per factory first, as np.bincount does
    for i in rows:
        f = employer[i]
        lost[f] += 1
        bill[f] += wage[i]
    for f in range(n):
        staff[f] -= lost[f]
        wage_bill[f] -= bill[f]
    return lost


@njit(cache=True)
def wait_weeks(rows: np.ndarray, addend: np.uint64, looks_per_week: float) -> np.ndarray:
    """Whole weeks (at least one) until each potential migrant next looks at the city: a
    memoryless wait (stream ``migrant_look``; ``math.log1p`` is the C library's, as NumPy's)."""
    wait = np.empty(len(rows), dtype=np.int64)
    for j in range(len(rows)):
        u = draw(rows[j], addend)
        wait[j] = max(np.int64(math.ceil(-math.log1p(-u) / looks_per_week)), 1)
    return wait


@njit(cache=True)
def applicants(
    employer: np.ndarray,
    reservation: np.ndarray,
    wage: np.ndarray,
    next_look: np.ndarray,
    first_migrant: int,
    looking: np.ndarray,
    offers: np.ndarray,
    switch_premium: float,
    week: int,
    top: float,
    key_addend: np.uint64,
    look_addend: np.uint64,
    looks_per_week: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """This week's applicants who would take the best offer, the least each accepts and
    their place in the queue (stream ``job_search``). Migrants due a look draw when they
    next look (``wait_weeks``, with ``look_addend``).

    Applicants are, in this order: locals without a job, staff looking around (still
    employed), migrants due a look at the city's offers. A worker moves for a raise of
    ``switch_premium``, and never to a factory paying less than their own offers.
    """
    n = len(employer)
    ids = np.empty(n, dtype=np.int64)
    asks = np.empty(n)
    keys = np.empty(n)
    k = 0
    for i in range(first_migrant):  # without branches, as in employed_rows
        ids[k] = i
        asks[k] = reservation[i]
        k += np.int64((employer[i] < 0) & (reservation[i] <= top))
    raise_factor = 1 + switch_premium
    for i in looking:
        f = employer[i]
        if f < 0:  # quit this week
            continue
        ask = max(wage[i] * raise_factor, offers[f] + 0.01)
        if ask <= top:
            ids[k] = i
            asks[k] = ask
            k += 1
    due = np.empty(n - first_migrant, dtype=np.int64)
    n_due = 0
    for j in range(n - first_migrant):
        if next_look[j] <= week:  # migrants in the city never are
            i = first_migrant + j
            due[n_due] = i
            n_due += 1
            if reservation[i] <= top:
                ids[k] = i
                asks[k] = reservation[i]
                k += 1
    for j in range(k):
        keys[j] = draw(ids[j], key_addend)
    due = due[:n_due]
    wait = wait_weeks(due, look_addend, looks_per_week)
    for j in range(n_due):
        next_look[due[j] - first_migrant] = week + wait[j]
    return ids[:k], asks[:k], keys[:k]


@njit(cache=True)
def walk(
    order: np.ndarray,
    demand: np.ndarray,
    offers: np.ndarray,
    ids: np.ndarray,
    asks: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Walk the applicants (in queue order) once; each factory takes the next who accept.

    Everyone passed over while serving a factory asks more than it offers, and so more than
    every later (lower) offer: they are done for the week. Factories offering the same wage
    are served as one group, in ``order``: the first in line takes the first takers.
    Returns who is hired, by which factory, and whether the walk reached the end of the
    queue.
    """
    n = len(ids)
    need = 0
    for f in order:
        need += demand[f]
    takers = np.empty(min(need, n), dtype=np.int64)
    employers = np.empty(min(need, n), dtype=np.int64)
    start = 0
    hired = 0
    g = 0
    while g < len(order):
        if start >= n:
            break
        offer = offers[order[g]]
        end_group = g
        need = 0
        while end_group < len(order) and offers[order[end_group]] == offer:
            need += demand[order[end_group]]
            end_group += 1
        first_taker = hired
        got = 0
        while start < n and got < need:
            if asks[start] <= offer:
                takers[hired] = ids[start]
                hired += 1
                got += 1
            start += 1
        # The takers go to the group's factories in line, each up to its demand.
        j = first_taker
        for h in range(g, end_group):
            f = order[h]
            for _ in range(demand[f]):
                if j >= hired:
                    break
                employers[j] = f
                j += 1
        g = end_group
    return takers[:hired], employers[:hired], start >= n


def hire(
    order: np.ndarray,
    demand: np.ndarray,
    offers: np.ndarray,
    ids: np.ndarray,
    asks: np.ndarray,
    keys: np.ndarray,
    employer: np.ndarray,
    wage: np.ndarray,
    in_city: np.ndarray,
    next_look: np.ndarray,
    first_migrant: int,
    never: int,
    staff: np.ndarray,
    wage_bill: np.ndarray,
) -> tuple[np.ndarray, int, int]:
    """Serve the factories in ``order`` (best offer first) from the applicants, queued by
    ``keys``; hire, move and count. Returns (hires per factory, how many of those hired
    were job seekers in the city, how many moved from another factory).

    The usual week has few openings and many applicants: only the front of the queue
    (the applicants with the smallest keys) is sorted and walked, and the whole queue
    only if the walk reaches the end of that front; the result is the same. The queue is
    sorted with NumPy (a compiled sort takes seconds to compile), the rest is compiled.
    """
    n = len(ids)
    front = int(8 * demand[order].sum() + 256)
    walked = False
    if n > front:
        # Keys are uniform on [0, 1): about `front` of them are below front / n, and
        # those are the front of the queue.
        head = np.flatnonzero(keys < front / n)
        queue = head[np.argsort(keys[head])]
        takers, employers, used_up = walk(order, demand, offers, ids[queue], asks[queue])
        walked = not used_up
    if not walked:
        queue = np.argsort(keys, kind="stable")
        takers, employers, _ = walk(order, demand, offers, ids[queue], asks[queue])
    return take_on(
        takers, employers, offers, employer, wage, in_city, next_look, first_migrant, never,
        staff, wage_bill,
    )  # fmt: skip


@njit(cache=True)
def take_on(
    takers: np.ndarray,
    employers: np.ndarray,
    offers: np.ndarray,
    employer: np.ndarray,
    wage: np.ndarray,
    in_city: np.ndarray,
    next_look: np.ndarray,
    first_migrant: int,
    never: int,
    staff: np.ndarray,
    wage_bill: np.ndarray,
) -> tuple[np.ndarray, int, int]:
    """The hires of ``walk``, in the order of the array rules: movers leave their old
    employers' totals, then everyone hired joins the new one's at its offer. Returns
    (hires per factory, how many were job seekers in the city, how many moved)."""
    n_factories = len(staff)
    from_city = 0
    movers = np.empty(len(takers), dtype=np.int64)
    n_movers = 0
    for i in takers:
        if employer[i] >= 0:
            movers[n_movers] = i
            n_movers += 1
        elif in_city[i]:
            from_city += 1
    count_out(movers[:n_movers], employer, wage, staff, wage_bill)
    hires = np.zeros(n_factories, dtype=np.int64)
    bill = np.zeros(n_factories)
    for j in range(len(takers)):
        i, f = takers[j], employers[j]
        employer[i] = f
        wage[i] = offers[f]
        if not in_city[i]:  # a migrant comes to the city for the job
            in_city[i] = True
            next_look[i - first_migrant] = never
        hires[f] += 1
        bill[f] += offers[f]
    for f in range(n_factories):
        staff[f] += hires[f]
        wage_bill[f] += bill[f]
    return hires, from_city, n_movers


@njit(cache=True)
def catch_up(
    employer: np.ndarray,
    in_city: np.ndarray,
    wage: np.ndarray,
    first_migrant: int,
    offers: np.ndarray,
    rate: float,
    staff: np.ndarray,
    wage_bill: np.ndarray,
) -> None:
    """Staff paid less than their factory now offers are raised ``rate`` of the way; the
    totals are recounted from the rows (which also clears rounding drift)."""
    rows = employed_rows(employer, in_city, first_migrant)
    bill = np.zeros(len(staff))
    for f in range(len(staff)):
        staff[f] = 0
    for i in rows:
        f = employer[i]
        wage[i] += rate * max(offers[f] - wage[i], 0.0)
    for i in rows:  # summed after every raise, in row order, as np.bincount does
        f = employer[i]
        staff[f] += 1
        bill[f] += wage[i]
    for f in range(len(staff)):  # (element by element: a slice copy compiles its checks)
        wage_bill[f] = bill[f]
