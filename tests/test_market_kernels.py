"""The compiled weekly labour market against the rule written out plainly.

``model.market_kernels.hire`` walks only the front of the applicants' queue when that is
enough; these tests check it against a plain walk of the whole queue, in weeks where the
front is enough and weeks where it is not, with factories offering the same wage.
"""

from __future__ import annotations

import numpy as np
import pytest

from model import market_kernels as kernels
from model.calendar import NEVER


def _plain_hires(order, demand, offers, ids, asks, keys) -> dict[int, int]:
    """The matching rule as the docs state it: factories in ``order`` (best offer first,
    equal offers served as one group, the first in line first); applicants by key; each
    takes the offer if it meets what they ask, and one passed over is done for the week."""
    queue = sorted(range(len(ids)), key=lambda j: keys[j])
    hired: dict[int, int] = {}
    pos = 0
    g = 0
    while g < len(order):
        offer = offers[order[g]]
        end = g
        while end < len(order) and offers[order[end]] == offer:
            end += 1
        group = order[g:end]
        takers = []
        while pos < len(queue) and len(takers) < sum(demand[f] for f in group):
            j = queue[pos]
            pos += 1
            if asks[j] <= offer:
                takers.append(int(ids[j]))
        for f in group:
            for _ in range(demand[f]):
                if takers:
                    hired[takers.pop(0)] = int(f)
        g += len(group)
    return hired


def _week(seed: int, n_factories: int, n_applicants: int, openings: int, ask_scale: float):
    rng = np.random.default_rng(seed)
    offers = np.round(rng.uniform(4000, 6000, n_factories), -2)  # ties: shared offers
    demand = np.zeros(n_factories, dtype=np.int64)
    hiring = rng.choice(n_factories, size=min(n_factories, 12), replace=False)
    demand[hiring] = rng.multinomial(openings, np.full(len(hiring), 1 / len(hiring)))
    hiring = np.flatnonzero(demand > 0)
    order = hiring[np.lexsort((rng.random(len(hiring)), -offers[hiring]))]
    n_rows = n_applicants + 50
    ids = np.sort(rng.choice(n_rows, size=n_applicants, replace=False)).astype(np.int64)
    asks = np.round(rng.uniform(3000, 3000 + ask_scale, n_applicants), -2)  # some ask an offer
    keys = rng.random(n_applicants)
    employer = np.full(n_rows, -1, dtype=np.int64)
    movers = ids[rng.random(n_applicants) < 0.2]  # some apply from a job elsewhere
    employer[movers] = rng.integers(0, n_factories, len(movers))
    wage = np.where(employer >= 0, 4000.0, 0.0)
    first_migrant = n_rows // 2
    in_city = (np.arange(n_rows) < first_migrant) | (employer >= 0)
    return order, demand, offers, ids, asks, keys, employer, wage, in_city, first_migrant


@pytest.mark.parametrize(
    ("seed", "applicants", "openings", "ask_scale"),
    [
        (1, 20_000, 40, 3000.0),  # the usual week: the front of the queue is enough
        (2, 5_000, 3_000, 6000.0),  # many openings, few takers: the whole queue is walked
        (3, 300, 50, 2000.0),  # a short queue
        (4, 2_000, 30, 9000.0),  # most ask more than any offer
        (5, 20_000, 60, 60_000.0),  # the front has too few takers: the whole queue after all
    ],
)
def test_compiled_hiring_matches_the_plain_rule(seed, applicants, openings, ask_scale) -> None:
    order, demand, offers, ids, asks, keys, employer, wage, in_city, first = _week(
        seed, 60, applicants, openings, ask_scale
    )
    expected = _plain_hires(order, demand, offers, ids, asks, keys)
    assert expected, "the week hires someone"
    before = employer.copy()
    staff = np.bincount(before[before >= 0], minlength=60).astype(np.int64)
    wage_bill = np.bincount(before[before >= 0], weights=wage[before >= 0], minlength=60)
    next_look = np.full(len(employer) - first, 3, dtype=np.int32)
    next_look[in_city[first:]] = NEVER
    hires, from_city, moves = kernels.hire(
        order, demand, offers, ids, asks, keys, employer, wage, in_city, next_look,
        first, NEVER, staff, wage_bill,
    )  # fmt: skip

    changed = np.flatnonzero(employer != before)
    got = {int(i): int(employer[i]) for i in changed}
    assert got == {i: f for i, f in expected.items() if before[i] != f}
    assert (hires == np.bincount(list(expected.values()), minlength=60)).all()
    assert (hires <= demand).all()
    assert moves == sum(before[i] >= 0 for i in expected)
    assert from_city == sum(before[i] < 0 and i < first for i in expected)
    for i, f in expected.items():
        assert wage[i] == offers[f]
        assert in_city[i]
        if i >= first:  # a migrant who came for the job looks no more
            assert next_look[i - first] == NEVER
    # The running totals equal a recount.
    now = employer >= 0
    assert (staff == np.bincount(employer[now], minlength=60)).all()
    assert np.allclose(wage_bill, np.bincount(employer[now], weights=wage[now], minlength=60))
