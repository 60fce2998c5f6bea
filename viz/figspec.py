"""What each figure shows, described once: data, labels, colours, date marks, events.

The app draws a figure interactively (``viz.plotly_charts``: hover, zoom, download) and the
brief prints it (``viz.charts.render``: matplotlib). Both renderers read the same
``FigureSpec``, so a label, a colour or a date mark cannot differ between them; neither
decides what is shown. Labels and units come from ``model.metrics``.

Date marks (UN milestones, policy windows) are labelled in a strip above the plot area,
never on top of the data: ``strip_rows`` decides which row of the strip each label takes,
once, for both renderers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from model import metrics
from model.sanctions import UN_TIMELINE
from model.scenario import Scenario

SCENARIO_COLORS = {
    "status_quo": "#6b6b6b",
    "gradual_return": "#1f6fb4",
    "abrupt_return": "#d1495b",
    "visa_non_extension": "#7a4fa3",
    "strict_enforcement": "#2a9d8f",
    "china_wide": "#8c6d31",
}
EXTRA_COLORS = ("#e09f3e", "#335c67", "#9e2a2b", "#540b0e", "#5f0f40", "#0f4c5c")
STATE_COLORS = {
    state: metrics.measure(series).color
    for state, series in (
        ("operating", "factories_operating"),
        ("short-staffed", "factories_distressed"),
        ("shut", "factories_shut"),
    )
}
"""A factory's state, coloured as the series that counts factories in that state."""
KEY_DATES = {"2375", "2397", "2397 deadline", "2397 midterm report", "2397 final report"}
MARK_COLOR = "#444444"

STRIP_FONT_PT = 7.0
STRIP_ROW_PT = 10.0
"""Height of one row of date labels above the plot, in points (both renderers)."""
STRIP_MAX_ROWS = 4
PRINT_AXES_SHARE = 0.86
"""Share of a figure's width the plot area takes (the rest is the y axis and its label)."""


def scenario_color(name: str, index: int = 0) -> str:
    """A stable colour per scenario name; unknown names get one from a fixed cycle."""
    base = name.split("#")[0].split(" (")[0]
    return SCENARIO_COLORS.get(base, EXTRA_COLORS[index % len(EXTRA_COLORS)])


def day_text(d: dt.date) -> str:
    """22 Dec 2019: how people write a date."""
    return f"{d.day} {d:%b %Y}"


def span_text(start: dt.date, end: dt.date) -> str:
    """22–28 Dec 2019, 1 Jun – 22 Dec 2019, or both dates in full."""
    if start == end:
        return day_text(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {end:%b %Y}"
    if start.year == end.year:
        return f"{start.day} {start:%b} – {day_text(end)}"
    return f"{day_text(start)} – {day_text(end)}"


# --- the parts of a figure ---------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Line:
    """A line (a daily series or a response), with an optional band around it."""

    label: str
    x: Sequence[Any]
    y: Sequence[float]
    color: str
    lo: Sequence[float] | None = None  # band: 10% of runs
    hi: Sequence[float] | None = None  # band: 90% of runs
    unit: str = ""  # shown on hover after the value
    width: float = 1.6


@dataclass(frozen=True, eq=False)
class Area:
    """One layer of a stacked area chart."""

    label: str
    y: Sequence[float]
    color: str


@dataclass(frozen=True, eq=False)
class Points:
    """Marked points: shutdowns on a time chart, or every factory on the factory map."""

    label: str
    x: Sequence[Any]
    y: Sequence[float]
    color: str | Sequence[str]
    text: Sequence[str]  # what hovering a point says
    size: float | Sequence[float] = 7.0  # marker area in points^2 (matplotlib's ``s``)
    symbol: str = "circle"  # circle | x
    ids: Sequence[int] | None = None  # what a click on a point selects (factory rows)


@dataclass(frozen=True)
class DateMark:
    """A dated event: a dashed line across the plot, its label in the strip above."""

    date: dt.date
    label: str


@dataclass(frozen=True)
class Window:
    """A policy in force from ``start`` to ``end``: shaded, labelled with its dates."""

    label: str
    start: dt.date
    end: dt.date
    color: str = MARK_COLOR


@dataclass(frozen=True, eq=False)
class FigureSpec:
    """One figure: its data layers, labels, marks and size in print."""

    key: str
    title: str
    y_label: str
    x: Sequence[Any] = ()  # shared x of ``areas``
    lines: tuple[Line, ...] = ()
    areas: tuple[Area, ...] = ()  # stacked, in order from the bottom
    points: tuple[Points, ...] = ()
    marks: tuple[DateMark, ...] = ()
    windows: tuple[Window, ...] = ()
    x_kind: str = "date"  # date | number | none (factory map)
    x_label: str = ""
    x_range: tuple[Any, Any] | None = None
    y_from_zero: bool = True
    whole_numbers: bool = True  # y ticks and hover values without decimals
    size: tuple[float, float] = (7.5, 3.4)  # inches in print
    note: str = ""  # small print under the plot, e.g. what a mark's size means

    def strip_labels(self) -> list[tuple[str, dt.date, str]]:
        """(text, date, kind) of every label in the strip, in date order."""
        labels: dict[dt.date, list[str]] = {}
        for m in self.marks:
            labels.setdefault(m.date, []).append(m.label)
        rows = [(" / ".join(names), d, "mark") for d, names in labels.items()]
        rows += [(w.label, w.start, "window") for w in self.windows]
        return sorted(rows, key=lambda r: r[1])

    def strip(self, width_inches: float) -> list[tuple[str, dt.date, int, bool]]:
        """(text, date, row, right-aligned) of each strip label at a plot width."""
        if self.x_range is None:
            return []
        labels = self.strip_labels()
        placed = strip_rows([(d, t) for t, d, _ in labels], *self.x_range, width_inches)
        return [(t, d, row, right) for (t, d, _), (row, right) in zip(labels, placed, strict=True)]

    def strip_height(self, width_inches: float) -> int:
        """Rows the strip takes at a plot width (0 without marks)."""
        rows = [r for _, _, r, _ in self.strip(width_inches)]
        return max(rows) + 1 if rows else 0


def strip_rows(
    labels: Sequence[tuple[dt.date, str]], start: Any, end: Any, width_inches: float
) -> list[tuple[int, bool]]:
    """(row, right-aligned) of each label, so that labels in one row do not overlap.

    A label starts at its date and runs right; one that would run past the end of the axis
    ends at its date instead. Each takes the lowest row where it fits (rows closest to the
    plot first); when none is free, the row whose last label ends earliest.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    days = max((end - start).days, 1)
    char_days = STRIP_FONT_PT * 0.56 / 72 * days / max(width_inches, 0.5)
    ends: list[float] = []  # per row: where its last label ends, in days from the start
    placed = []
    for date, text in labels:
        x = (pd.Timestamp(date) - start).days
        width = (len(text) + 1) * char_days
        right = x + width > days
        lo = x - width if right else x
        hi = x if right else x + width
        free = [r for r, e in enumerate(ends) if e < lo]
        if free:
            row = free[0]
        elif len(ends) < STRIP_MAX_ROWS:
            row = len(ends)
            ends.append(-np.inf)
        else:
            row = int(np.argmin(ends))
        ends[row] = hi
        placed.append((row, right))
    return placed


# --- date marks of a figure ----------------------------------------------------------------


def policy_windows(scenarios: Sequence[Scenario]) -> list[Window]:
    """Each dated policy of the scenarios: repatriation, no visas, inspections (deduplicated)."""
    seen: dict[tuple[str, dt.date, dt.date], Window] = {}
    for i, s in enumerate(scenarios):
        p = s.params
        color = scenario_color(s.name, i)
        if p["repatriation_mode"] != "none":
            a, b = p["repatriation_start"], p["repatriation_end"]
            label = f"{p['repatriation_mode']} return {span_text(a, b)}"
            seen.setdefault((label, a, b), Window(label, a, b, color))
        for key, words in (
            ("visa_issuance_end", "no visas issued"),
            ("enforcement_start", "fraud inspections"),
        ):
            if p[key] is not None:
                label = f"{words} from {day_text(p[key])}"
                seen.setdefault(
                    (label, p[key], p["end_date"]), Window(label, p[key], p["end_date"], color)
                )
    return list(seen.values())


def un_marks(start: dt.date, end: dt.date) -> tuple[DateMark, ...]:
    """The UN milestones in view, each labelled with its date."""
    return tuple(
        DateMark(m.date, f"{m.code} {day_text(m.date)}")
        for m in UN_TIMELINE
        if m.code in KEY_DATES and start <= m.date <= end
    )


def in_view(windows: Sequence[Window], start: dt.date, end: dt.date) -> tuple[Window, ...]:
    return tuple(w for w in windows if w.start <= end and w.end >= start)


def _date_range(dates: Sequence[Any]) -> tuple[dt.date, dt.date] | None:
    if len(dates) == 0:
        return None
    stamps = pd.to_datetime(pd.Series(dates))
    return stamps.min().date(), stamps.max().date()


def _with_marks(spec_kw: dict, x_range: tuple[dt.date, dt.date] | None, windows) -> dict:
    if x_range is None:
        return spec_kw
    start, end = x_range
    return {
        **spec_kw,
        "x_range": x_range,
        "marks": un_marks(start, end),
        "windows": in_view(windows, start, end),
    }


# --- the project's figures -----------------------------------------------------------------


def series_line(ts: pd.DataFrame, name: str, label: str | None = None, color=None) -> Line:
    m = metrics.measure(name)
    return Line(label or m.label, ts.date, ts[name].to_numpy(), color or m.color, unit=m.unit)


def shutdown_points(ts: pd.DataFrame, shutdowns: pd.DataFrame, series: str) -> Points | None:
    """Each factory shutdown as an x on a daily series, saying which factory and why (a layer
    with no points before the first shutdown, so the chart keeps its layers as a run goes)."""
    if shutdowns is None:
        return None
    if shutdowns.empty or ts.empty:
        color = metrics.measure("factories_shut").color
        return Points("factory shut", [], [], color, [], size=22.0, symbol="x", ids=[])
    on_day = ts.set_index(pd.to_datetime(ts.date))[series]
    when = pd.to_datetime(shutdowns.date)
    y = on_day.reindex(when).to_numpy(dtype=float)
    text = [
        f"factory {int(r.factory)} shut {day_text(d.date())}: {_reason(r.reason)}, "
        f"{int(r.positions):,} positions"
        for r, d in zip(shutdowns.itertuples(), when, strict=True)
    ]
    return Points(
        "factory shut",
        list(when),
        y,
        metrics.measure("factories_shut").color,
        text,
        size=22.0,
        symbol="x",
        ids=[int(f) for f in shutdowns.factory],
    )


def _reason(reason: Any) -> str:
    """A shutdown reason as words (the model records an enum name or a word)."""
    text = str(getattr(reason, "name", reason)).split(".")[-1]
    return text.replace("_", " ").lower()


def labour_gap_figure(
    ts: pd.DataFrame,
    windows: Sequence[Window] = (),
    horizon: tuple[dt.date, dt.date] | None = None,
    shutdowns: pd.DataFrame | None = None,
) -> FigureSpec:
    """One run's labour gap, with positions lost beside it when the model reports them."""
    lines = [series_line(ts, "labor_gap", "Labour gap: positions nobody staffs")]
    if "positions_lost" in ts:  # positions cut plus those in shut factories (cumulative)
        lines.append(series_line(ts, "positions_lost", color="#6b6b6b"))
    shut = shutdown_points(ts, shutdowns, "labor_gap")
    return FigureSpec(
        **_with_marks(
            {
                "key": "labor_gap",
                "title": "Labour gap and positions lost",
                "y_label": "positions",
                "lines": tuple(lines),
                "points": (shut,) if shut is not None else (),
            },
            horizon or _date_range(ts.date),
            windows,
        )
    )


def factories_figure(ts, windows=(), horizon=None) -> FigureSpec:
    names = {
        "factories_operating": "operating",
        "factories_distressed": "short-staffed",
        "factories_shut": "shut (cumulative)",
    }
    lines = tuple(series_line(ts, n, label) for n, label in names.items())
    return FigureSpec(
        **_with_marks(
            {
                "key": "factories",
                "title": "Factories operating and shut",
                "y_label": "factories",
                "lines": lines,
            },
            horizon or _date_range(ts.date),
            windows,
        )
    )


def status_figure(ts, windows=(), horizon=None, title: str | None = None) -> FigureSpec:
    cols = [c for c in metrics.WORKER_STATUSES if c in ts]
    areas = tuple(Area(metrics.label(c), ts[c].to_numpy(), metrics.measure(c).color) for c in cols)
    return FigureSpec(
        **_with_marks(
            {
                "key": "status",
                "title": title or "North Korean workers by status",
                "y_label": "workers",
                "x": ts.date,
                "areas": areas,
            },
            horizon or _date_range(ts.date),
            windows,
        )
    )


def crossings_figure(ts, windows=(), horizon=None) -> FigureSpec:
    weekly = {
        "into China": ts.border_entries.rolling(7, min_periods=1).sum().to_numpy(),
        "out of China": ts.border_exits.rolling(7, min_periods=1).sum().to_numpy(),
    }
    colors = {"into China": "#1f6fb4", "out of China": "#d1495b"}
    lines = tuple(
        Line(k, ts.date, v, colors[k], unit="crossings a week") for k, v in weekly.items()
    )
    return FigureSpec(
        **_with_marks(
            {
                "key": "crossings",
                "title": "Border crossings of North Korean workers",
                "y_label": "crossings in the last 7 days",
                "lines": lines,
            },
            horizon or _date_range(ts.date),
            windows,
        )
    )


def factory_map_figure(table: pd.DataFrame, title: str = "Factories") -> FigureSpec:
    """Every factory a mark, sized by positions, coloured by state; click one for its story."""
    n = len(table)
    cols = int(np.ceil(np.sqrt(n * 2.2))) or 1
    order = table.sort_values(["sector", "factory"]).reset_index(drop=True)
    x, y = np.arange(n) % cols, -(np.arange(n) // cols)
    size = 8 + 220 * order.positions_at_start / max(order.positions_at_start.max(), 1)
    points = []
    for state, color in STATE_COLORS.items():
        mask = (order.state == state).to_numpy()
        rows = order[mask]
        text = [
            f"factory {int(r.factory)} ({r.sector}): {state}, {int(r.positions):,} positions, "
            f"{int(r.nk_at_work):,} North Korean and {int(r.cn_staff):,} Chinese at work"
            for r in rows.itertuples()
        ]
        points.append(
            Points(
                f"{state} ({int(mask.sum()):,})",
                x[mask],
                y[mask],
                color,
                text,
                size=size[mask].to_numpy(),
                ids=rows.factory.astype(int).tolist(),
            )
        )
    return FigureSpec(
        "factory_map",
        title,
        "",
        points=tuple(points),
        x_kind="none",
        y_from_zero=False,
        size=(7.5, 3.8),
        note="mark size: positions at the start",
    )


def band_figure(
    bands: pd.DataFrame,
    variable: str,
    title: str,
    y_label: str,
    windows: Sequence[Window] = (),
    scale: float = 1.0,
    key: str | None = None,
) -> FigureSpec:
    """Median line and 10-90% band per scenario for one daily variable."""
    rows = bands[bands.variable == variable]
    m = metrics.measure(variable)
    lines = []
    for i, (name, group) in enumerate(rows.groupby("scenario", sort=False)):
        lines.append(
            Line(
                name.replace("_", " "),
                pd.to_datetime(group.date),
                group.q50.to_numpy() * scale,
                scenario_color(name, i),
                lo=group.q10.to_numpy() * scale,
                hi=group.q90.to_numpy() * scale,
                unit=m.unit if scale == 1 else y_label,
            )
        )
    return FigureSpec(
        **_with_marks(
            {
                "key": key or variable,
                "title": title,
                "y_label": y_label,
                "lines": tuple(lines),
                "whole_numbers": scale == 1,
            },
            _date_range(rows.date),
            windows,
        )
    )


BAND_FIGURES: Mapping[str, tuple[str, str, str]] = {
    "labor_gap": (
        "labor_gap",
        "Labour gap: positions nobody staffs",
        "positions (median, 10-90% band)",
    ),
    "factories_shut": ("factories_shut", "Factories shut (cumulative)", "factories"),
    "nk_in_china": ("nk_in_china", "North Korean workers in China", "workers"),
    "positions_lost": ("positions_lost", "Positions lost: cut or in shut factories", "positions"),
}
"""Band figures of a comparison: key -> (daily series, title, y label)."""


def comparison_band_figures(
    bands: pd.DataFrame, windows: Sequence[Window]
) -> dict[str, FigureSpec]:
    """The band figures a comparison shows (those whose series it has)."""
    present = set(bands.variable)
    return {
        key: band_figure(bands, var, title, y_label, windows, key=key)
        for key, (var, title, y_label) in BAND_FIGURES.items()
        if var in present
    }


def wage_bill_figure(bands: pd.DataFrame, windows: Sequence[Window] = ()) -> FigureSpec:
    return band_figure(
        bands,
        "wage_bill",
        "Wage bill of the factories",
        "million yuan per month",
        windows,
        scale=365.25 / 12 / 1e6,
    )


def response_figure(
    response: pd.DataFrame, parameter_label: str, parameter_unit: str, metric: str, base_value=None
) -> FigureSpec:
    """A metric's response to one parameter: median over seeds with its 10-90% band.

    ``response`` has one row per value: value, q10, q50, q90 (and mean).
    """
    m = metrics.measure(metric)
    scale = m.scale
    line = Line(
        f"{m.label} (median of seeds)",
        response.value.to_numpy(),
        response.q50.to_numpy() * scale,
        m.color,
        lo=response.q10.to_numpy() * scale,
        hi=response.q90.to_numpy() * scale,
        unit=m.unit,
    )
    marks = ()
    points = ()
    if base_value is not None:
        points = (
            Points(
                "runs",
                response.value.to_numpy(),
                response.q50.to_numpy() * scale,
                m.color,
                [f"{parameter_label} {v:,.4g}" for v in response.value],
                size=18.0,
            ),
        )
    unit = f" ({parameter_unit})" if parameter_unit else ""
    return FigureSpec(
        "response",
        f"{m.label} against {parameter_label}",
        m.label_with_unit,
        lines=(line,),
        points=points,
        marks=marks,
        x_kind="number",
        x_label=f"{parameter_label}{unit}",
        whole_numbers=m.integer,
    )


def factory_history_figures(
    history: pd.DataFrame, shut: dict | None, windows=()
) -> list[FigureSpec]:
    """A factory's story, week by week: staffing (and hours), wages, cash."""
    horizon = _date_range(history.date)
    staffing = [
        Line("positions", history.date, history.positions.to_numpy(), "#444444", unit="positions"),
        Line(
            "North Korean at work",
            history.date,
            history.nk_at_work.to_numpy(),
            "#1f6fb4",
            unit="workers",
        ),
        Line("Chinese staff", history.date, history.cn_staff.to_numpy(), "#e09f3e", unit="workers"),
    ]
    points = ()
    if shut:
        when = pd.Timestamp(shut["date"])
        points = (
            Points(
                "shut",
                [when],
                [0.0],
                metrics.measure("factories_shut").color,
                [f"shut {day_text(when.date())}: {_reason(shut['reason'])}"],
                size=60.0,
                symbol="x",
            ),
        )
    figures = [
        FigureSpec(
            **_with_marks(
                {
                    "key": "history_staff",
                    "title": "Positions and staff at work",
                    "y_label": "people",
                    "lines": tuple(staffing),
                    "points": points,
                },
                horizon,
                windows,
            )
        )
    ]
    if "hours" in history or "hours_per_day" in history:
        col = "hours" if "hours" in history else "hours_per_day"
        figures.append(
            FigureSpec(
                **_with_marks(
                    {
                        "key": "history_hours",
                        "title": "Hours worked per day",
                        "y_label": "hours per day",
                        "lines": (
                            Line(
                                "hours",
                                history.date,
                                history[col].to_numpy(),
                                "#2a9d8f",
                                unit="hours",
                            ),
                        ),
                        "whole_numbers": False,
                    },
                    horizon,
                    windows,
                )
            )
        )
    wages = [
        Line(
            "Chinese wage", history.date, history.cn_wage.to_numpy(), "#e09f3e", unit="yuan/month"
        ),
        Line("wage offered", history.date, history.offer.to_numpy(), "#d1495b", unit="yuan/month"),
    ]
    figures.append(
        FigureSpec(
            **_with_marks(
                {
                    "key": "history_wage",
                    "title": "Wages",
                    "y_label": "yuan per month",
                    "lines": tuple(wages),
                },
                horizon,
                windows,
            )
        )
    )
    figures.append(
        FigureSpec(
            **_with_marks(
                {
                    "key": "history_cash",
                    "title": "Cash",
                    "y_label": "million yuan",
                    "lines": (
                        Line(
                            "cash",
                            history.date,
                            history.cash.to_numpy() / 1e6,
                            "#335c67",
                            unit="million yuan",
                        ),
                    ),
                    "y_from_zero": False,
                    "whole_numbers": False,
                },
                horizon,
                windows,
            )
        )
    )
    return figures
