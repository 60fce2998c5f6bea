"""Calendar days of a run: the policy is written in dates, the arrays count days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

NEVER = np.int32(2**30)  # a day index later than any horizon: "no event pending"
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Horizon:
    """The simulated days, ``start`` to ``end`` inclusive; day 0 is ``start``."""

    start: dt.date
    end: dt.date

    @property
    def n_days(self) -> int:
        return (self.end - self.start).days + 1

    def day_of(self, date: dt.date | None) -> int:
        """Day index of a date (may fall outside the horizon); ``None`` maps to NEVER."""
        if date is None:
            return int(NEVER)
        return (date - self.start).days

    def date_of(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=int(day))

    def dates(self) -> np.ndarray:
        """Every simulated date as numpy datetime64[D]."""
        return np.datetime64(self.start, "D") + np.arange(self.n_days)

    def month_starts(self) -> np.ndarray:
        """Boolean per day: the first of a month (payroll day)."""
        days = self.dates()
        return days.astype("datetime64[M]").astype("datetime64[D]") == days

    def yearly(self, month: int, day: int) -> list[int]:
        """Day indices of a given month-day in every year of the horizon."""
        found = []
        for year in range(self.start.year, self.end.year + 1):
            d = self.day_of(dt.date(year, month, day))
            if 0 <= d < self.n_days:
                found.append(d)
        return found
