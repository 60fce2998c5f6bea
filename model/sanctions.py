"""The UN Security Council timeline on DPRK overseas workers, as data (docs/sources.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Milestone:
    date: dt.date
    code: str
    text: str


UN_TIMELINE: tuple[Milestone, ...] = (
    Milestone(
        dt.date(2017, 8, 5),
        "2371",
        "UNSC 2371: no increase in the total number of work authorizations for DPRK nationals",
    ),
    Milestone(
        dt.date(2017, 9, 11),
        "2375",
        "UNSC 2375 para 17: no new work authorizations for DPRK nationals",
    ),
    Milestone(
        dt.date(2017, 12, 22),
        "2397",
        "UNSC 2397 para 8 adopted: repatriate DPRK nationals earning income abroad "
        "within 24 months",
    ),
    Milestone(
        dt.date(2019, 3, 22),
        "2397 midterm report",
        "2397 midterm report due (15 months)",
    ),
    Milestone(dt.date(2019, 12, 22), "2397 deadline", "2397 repatriation deadline (24 months)"),
    Milestone(dt.date(2020, 3, 22), "2397 final report", "2397 final report due (27 months)"),
)

REPATRIATION_DEADLINE = dt.date(2019, 12, 22)
"""UNSC 2397 para 8: 24 months after adoption on 2017-12-22."""
