"""Every figure laborflow shows, drawn once: the app and the policy brief call these.

Figures are built with ``matplotlib.figure.Figure`` (not pyplot), so several app sessions
can draw at once without sharing state. Each function takes plain data (a run's time
series, a comparison's bands, a factory table, scenarios) and returns a Figure.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: the app sends PNGs, the brief embeds them

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.patches  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from model import metrics  # noqa: E402
from model.sanctions import UN_TIMELINE  # noqa: E402
from model.scenario import Scenario  # noqa: E402
from viz import figspec  # noqa: E402
from viz.figspec import (  # noqa: E402, F401  (colours are part of this module's interface)
    EXTRA_COLORS,
    KEY_DATES,
    SCENARIO_COLORS,
    STATE_COLORS,
    FigureSpec,
    Window,
    day_text,
    scenario_color,
)

__all__ = [
    "labor_gap_chart",
    "factories_shut_chart",
    "wage_bill_chart",
    "nk_in_china_chart",
    "band_chart",
    "status_chart",
    "factory_map",
    "difference_chart",
    "policy_timeline",
    "policy_marks",
    "to_png",
]
"""The public API (the reference, ``make docs``, documents these)."""

FONT = {"family": "DejaVu Sans", "size": 9}


def new_figure(width: float = 7.5, height: float = 3.4) -> tuple[Figure, object]:
    """A figure with one axes in the house style: light grid, no top/right spines."""
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.add_subplot()
    _style(ax)
    return fig, ax


def _style(ax) -> None:
    ax.grid(True, axis="y", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=FONT["size"])


def _date_axis(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _thousands(ax) -> None:
    # whole-number ticks: the labels are rounded to whole numbers, so 0.5 would read "0"
    ax.yaxis.set_major_locator(
        matplotlib.ticker.MaxNLocator(nbins="auto", steps=[1, 2, 5, 10], integer=True)
    )
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))


PolicyDates = Mapping[str, dt.date] | Sequence[Window] | None
"""Policy marks as ``policy_marks`` gives them (windows); a label -> start mapping also works."""


def _as_windows(policy_dates: PolicyDates) -> tuple[Window, ...]:
    if policy_dates is None:
        return ()
    if isinstance(policy_dates, Mapping):
        return tuple(
            Window(f"{label} from {day_text(d)}", d, d) for label, d in policy_dates.items() if d
        )
    return tuple(policy_dates)


def _plot_width(ax) -> float:
    """Inches of the plot area (before layout: the figure's width less the y axis)."""
    return ax.figure.get_size_inches()[0] * figspec.PRINT_AXES_SHARE


def draw_marks(ax, spec: FigureSpec, labels: bool = True) -> None:
    """The spec's date marks and policy windows: dashed lines and shading in the plot, the
    labels (with their dates) in a strip above it, so no label covers the data."""
    if spec.x_range is None:
        return
    start, end = (pd.Timestamp(d) for d in spec.x_range)
    for w in spec.windows:
        a, b = pd.Timestamp(w.start), pd.Timestamp(w.end) + pd.Timedelta(days=1)
        ax.axvspan(max(a, start), min(b, end), color=w.color, alpha=0.09, linewidth=0)
        for edge in (a, b):  # where the window opens and, if in view, where it ends
            if start < edge < end:
                ax.axvline(edge, color=w.color, linestyle=(0, (3, 3)), linewidth=0.8)
    for m in spec.marks:
        ax.axvline(pd.Timestamp(m.date), color=figspec.MARK_COLOR, linestyle=(0, (3, 3)),
                   linewidth=0.8)  # fmt: skip
    colors = {w.label: w.color for w in spec.windows}
    strip = spec.strip(_plot_width(ax)) if labels else []
    for text, date, row, right in strip:
        color = colors.get(text, figspec.MARK_COLOR)
        ax.annotate(
            text,
            xy=(pd.Timestamp(date), 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 2 + row * figspec.STRIP_ROW_PT),
            textcoords="offset points",
            ha="right" if right else "left",
            va="bottom",
            fontsize=figspec.STRIP_FONT_PT,
            color=color,
            annotation_clip=False,
            arrowprops={
                "arrowstyle": "-",
                "color": color,
                "linewidth": 0.6,
                "shrinkA": 0,
                "shrinkB": 0,
                "relpos": (1 if right else 0, 0),
            },  # fmt: skip
        )
    ax.lf_strip_rows = max((r for _, _, r, _ in strip), default=-1) + 1


def mark_key_dates(
    ax, start: dt.date, end: dt.date, extra: PolicyDates = None, labels: bool = True
) -> None:
    """UN milestones in view and the policies' windows, labelled with their dates above the
    plot (``draw_marks``)."""
    windows = figspec.in_view(_as_windows(extra), start, end)
    spec = FigureSpec(
        "", "", "", marks=figspec.un_marks(start, end), windows=windows, x_range=(start, end)
    )
    draw_marks(ax, spec, labels)


def _finish(fig: Figure, ax, title: str, ylabel: str, legend: bool = True) -> Figure:
    strip = getattr(ax, "lf_strip_rows", 0)
    pad = 6 + strip * figspec.STRIP_ROW_PT + (4 if strip else 0)
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold", pad=pad)
    ax.set_ylabel(ylabel, fontsize=FONT["size"])
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.12), ncol=3)
    return fig


# --- the matplotlib renderer of a figure spec (the app draws the same specs with plotly) ---


def render(spec: FigureSpec, width: float | None = None, height: float | None = None) -> Figure:
    """A ``FigureSpec`` as a print-quality matplotlib figure (the brief's renderer)."""
    w, h = spec.size
    fig, ax = new_figure(width or w, height or h)
    if spec.areas:
        ax.stackplot(
            pd.to_datetime(pd.Series(spec.x)) if spec.x_kind == "date" else spec.x,
            *(a.y for a in spec.areas),
            labels=[a.label for a in spec.areas],
            colors=[a.color for a in spec.areas],
            alpha=0.9,
            linewidth=0,
        )
    for line in spec.lines:
        x = pd.to_datetime(pd.Series(line.x)) if spec.x_kind == "date" else line.x
        if line.lo is not None and line.hi is not None:
            ax.fill_between(x, line.lo, line.hi, color=line.color, alpha=0.2, linewidth=0)
        ax.plot(x, line.y, color=line.color, linewidth=line.width, label=line.label)
    for pts in spec.points:
        x = pd.to_datetime(pd.Series(pts.x)) if spec.x_kind == "date" else pts.x
        if pts.symbol == "x":
            ax.scatter(x, pts.y, s=pts.size, c=pts.color, marker="x", linewidths=1.2,
                       label=pts.label, zorder=3)  # fmt: skip
        else:
            ax.scatter(x, pts.y, s=pts.size, c=pts.color, alpha=0.85, edgecolors="white",
                       linewidths=0.5, label=pts.label, zorder=3)  # fmt: skip
    if spec.x_kind == "none":
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        ax.margins(0.04)
    else:
        if spec.x_kind == "date":
            _date_axis(ax)
        if spec.whole_numbers:
            _thousands(ax)
        if spec.y_from_zero:
            low, high = ax.get_ylim()
            ax.set_ylim(0, max(high, 1))
        if spec.x_range is not None:
            ax.set_xlim(*(pd.Timestamp(d) if spec.x_kind == "date" else d for d in spec.x_range))
        draw_marks(ax, spec)
        if spec.x_label:
            ax.set_xlabel(spec.x_label, fontsize=FONT["size"])
    _finish(fig, ax, spec.title, spec.y_label)
    legend = ax.get_legend()
    if legend is not None and spec.x_kind == "none":
        for handle in legend.legend_handles:  # same-size keys, also for a state with none
            handle.set_sizes([50])
    if spec.note:
        ax.text(1, -0.04, spec.note, transform=ax.transAxes, ha="right", va="top", fontsize=7,
                color="#666666")  # fmt: skip
    return fig


def to_svg(fig: Figure) -> bytes:
    """A figure as SVG, for print or a slide (text stays text)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", facecolor="white")
    return buf.getvalue()


# --- comparisons (bands across replicates) ----------------------------------------------


def band_chart(
    bands: pd.DataFrame,
    variable: str,
    title: str,
    ylabel: str,
    policy_dates: PolicyDates = None,
) -> Figure:
    """Median line and 10-90% band per scenario for one daily variable.

    ``bands`` is a comparison's daily bands (``Comparison.bands``: per scenario, date and
    variable the 10%, 50% and 90% quantiles across seeds); ``policy_dates`` marks each
    scenario's policy on the date axis (``policy_marks(scenarios)``; a label -> date
    mapping also works; None: the UN dates only). ``variable`` names the daily series
    (``labor_gap``; ``LaborModel.timeseries`` lists them); ``title`` and ``ylabel`` label the figure
    (the y label with its unit).
    """
    return render(figspec.band_figure(bands, variable, title, ylabel, _as_windows(policy_dates)))


def labor_gap_chart(bands: pd.DataFrame, policy_dates: PolicyDates = None) -> Figure:
    """The labour gap (positions not staffed, per day): median and 10-90% band per
    scenario.

    ``bands`` is a comparison's daily bands (``Comparison.bands``: per scenario, date and
    variable the 10%, 50% and 90% quantiles across seeds); ``policy_dates`` marks each
    scenario's policy on the date axis (``policy_marks(scenarios)``; a label -> date
    mapping also works; None: the UN dates only).
    """
    return render(figspec.comparison_band_figures(bands, _as_windows(policy_dates))["labor_gap"])


def factories_shut_chart(bands: pd.DataFrame, policy_dates: PolicyDates = None) -> Figure:
    """Factories shut (cumulative count): median and 10-90% band per scenario.

    ``bands`` is a comparison's daily bands (``Comparison.bands``: per scenario, date and
    variable the 10%, 50% and 90% quantiles across seeds); ``policy_dates`` marks each
    scenario's policy on the date axis (``policy_marks(scenarios)``; a label -> date
    mapping also works; None: the UN dates only).
    """
    windows = _as_windows(policy_dates)
    return render(figspec.comparison_band_figures(bands, windows)["factories_shut"])


def wage_bill_chart(bands: pd.DataFrame, policy_dates: PolicyDates = None) -> Figure:
    """The wage bill (yuan per day): median and 10-90% band per scenario.

    ``bands`` is a comparison's daily bands (``Comparison.bands``: per scenario, date and
    variable the 10%, 50% and 90% quantiles across seeds); ``policy_dates`` marks each
    scenario's policy on the date axis (``policy_marks(scenarios)``; a label -> date
    mapping also works; None: the UN dates only).
    """
    return render(figspec.wage_bill_figure(bands, _as_windows(policy_dates)))


def nk_in_china_chart(bands: pd.DataFrame, policy_dates: PolicyDates = None) -> Figure:
    """North Korean workers in China (head count): median and 10-90% band per
    scenario.

    ``bands`` is a comparison's daily bands (``Comparison.bands``: per scenario, date and
    variable the 10%, 50% and 90% quantiles across seeds); ``policy_dates`` marks each
    scenario's policy on the date axis (``policy_marks(scenarios)``; a label -> date
    mapping also works; None: the UN dates only).
    """
    return render(figspec.comparison_band_figures(bands, _as_windows(policy_dates))["nk_in_china"])


def difference_chart(table: pd.DataFrame, metric: str, title: str, unit: str) -> Figure:
    """Paired differences from the base with 95% intervals, one bar per scenario.

    ``table`` is a comparison's table (``Comparison.table``), ``metric`` the summary metric
    to draw (``factories_shut``), ``title`` the figure's title and ``unit`` the x axis label
    (the metric's unit, e.g. ``model.metrics.measure(metric).unit``).
    """
    rows = table[(table.metric == metric)].iloc[1:]
    fig, ax = new_figure(6.5, 0.6 + 0.45 * max(len(rows), 1))
    ax.grid(True, axis="x", color="#e5e5e5")
    ax.grid(False, axis="y")
    y = np.arange(len(rows))
    for i, (_, r) in enumerate(rows.iterrows()):
        color = scenario_color(r.scenario, i)
        ax.barh(y[i], r.diff_mean, color=color, alpha=0.85, height=0.55)
        if r.diff_lo == r.diff_lo:
            ax.errorbar(
                r.diff_mean,
                y[i],
                xerr=[[r.diff_mean - r.diff_lo], [r.diff_hi - r.diff_mean]],
                color="#222222",
                capsize=3,
                linewidth=1,
            )
    ax.axvline(0, color="#222222", linewidth=0.8)
    ax.set_yticks(y, [s.replace("_", " ") for s in rows.scenario])
    ax.invert_yaxis()
    ax.set_xlabel(unit, fontsize=FONT["size"])
    return _finish(fig, ax, title, "", legend=False)


# --- one run --------------------------------------------------------------------------


def status_chart(
    ts: pd.DataFrame,
    policy_dates: PolicyDates = None,
    title: str | None = None,
    horizon: tuple[dt.date, dt.date] | None = None,
) -> Figure:
    """North Korean workers by status, stacked: working, away, overstaying, detained.

    ``ts`` is one run's daily series (``LaborModel.timeseries()``); ``policy_dates`` marks
    the policy (``policy_marks([scenario])``, or None); ``title`` the figure's title
    (default: one that says what is drawn). ``horizon`` (start, end) fixes the date axis, so a run
    in progress fills it from the left.
    """
    return render(figspec.status_figure(ts, _as_windows(policy_dates), horizon, title))


def factory_map(factories: pd.DataFrame, title: str = "Factories") -> Figure:
    """Every factory a mark, sized by positions, coloured operating / short-staffed / shut.

    ``factories`` is ``LaborModel.factory_table()``; ``title`` the figure's title.
    """
    return render(figspec.factory_map_figure(factories, title))


def status_bands_chart(bands: pd.DataFrame, policy_dates=None) -> Figure:
    """North Korean workers by status (medians across replicates), one panel per scenario."""
    names = list(dict.fromkeys(bands.scenario))
    cols = [c for c in metrics.WORKER_STATUSES if c in set(bands.variable)]
    fig = Figure(figsize=(7.5, 1.0 + 1.55 * len(names)), layout="constrained")
    axes = fig.subplots(len(names), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    for ax, name in zip(axes, names, strict=True):
        _style(ax)
        rows = bands[bands.scenario == name]
        wide = rows.pivot_table(index="date", columns="variable", values="q50")
        dates = pd.to_datetime(wide.index)
        ax.stackplot(
            dates,
            *(wide[c] for c in cols),
            labels=[metrics.label(c) for c in cols],
            colors=[metrics.measure(c).color for c in cols],
            alpha=0.9,
            linewidth=0,
        )
        _date_axis(ax)
        _thousands(ax)
        if len(dates):  # labels in the top panel's strip only: the lines say the rest
            top = ax is axes[0]
            mark_key_dates(ax, dates.min().date(), dates.max().date(), policy_dates, labels=top)
            strip = getattr(ax, "lf_strip_rows", 0)
            pad = 6 + strip * figspec.STRIP_ROW_PT
            ax.set_title(name.replace("_", " "), loc="left", fontsize=9, color=scenario_color(name),
                         pad=pad)  # fmt: skip
    axes[-1].legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.25), ncol=4)
    fig.suptitle(
        "North Korean workers by status (median run)", x=0.01, ha="left", fontweight="bold"
    )
    return fig


def sensitivity_chart(indices: pd.DataFrame) -> Figure:
    """Sobol' indices per metric: first-order (alone) and total (with interactions), 95% CI."""
    metrics = list(dict.fromkeys(indices.metric))
    params = list(dict.fromkeys(indices.parameter))
    fig = Figure(figsize=(7.5, 0.9 + 0.32 * len(params) * len(metrics)), layout="constrained")
    axes = fig.subplots(len(metrics), 1, sharex=True, squeeze=False)[:, 0]
    y = np.arange(len(params))
    for ax, metric in zip(axes, metrics, strict=True):
        _style(ax)
        ax.grid(True, axis="x", color="#e5e5e5")
        ax.grid(False, axis="y")
        rows = indices[indices.metric == metric].set_index("parameter").loc[params]
        for offset, key, color, label in (
            (-0.18, "S1", "#1f6fb4", "first-order (alone)"),
            (0.18, "ST", "#d1495b", "total (with interactions)"),
        ):
            err = np.vstack([rows[key] - rows[f"{key}_lo"], rows[f"{key}_hi"] - rows[key]])
            ax.barh(y + offset, rows[key], height=0.34, color=color, alpha=0.85, label=label)
            ax.errorbar(rows[key], y + offset, xerr=np.abs(err), fmt="none", ecolor="#222222",
                        capsize=2, linewidth=0.8)  # fmt: skip
        ax.set_yticks(y, [p.replace("_", " ") for p in params], fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0, color="#222222", linewidth=0.8)
        ax.set_title(metric.replace("_", " "), loc="left", fontsize=9, fontweight="bold")
    axes[-1].set_xlabel("Sobol' index (share of the outcome's variance)", fontsize=FONT["size"])
    axes[0].legend(frameon=False, fontsize=8, loc="lower right", bbox_to_anchor=(1, 1.02), ncol=2)
    return fig


def discovery_chart(x: pd.DataFrame, interesting: np.ndarray, box, title: str) -> Figure:
    """Runs on the two most restricted parameters, cases of interest marked, the box drawn."""
    limits = box.limits
    span = (limits.high_bound - limits.low_bound).replace(0, 1)
    narrowing = ((limits.high - limits.low) / span).sort_values()
    pair = list(narrowing.index[:2]) if len(narrowing) >= 2 else list(x.columns[:2])
    fig, ax = new_figure(6.5, 4.2)
    ax.grid(True, color="#eeeeee")
    ax.scatter(x.loc[~interesting, pair[0]], x.loc[~interesting, pair[1]], s=14, c="#9aa5b1",
               alpha=0.7, label="other runs", linewidths=0)  # fmt: skip
    ax.scatter(x.loc[interesting, pair[0]], x.loc[interesting, pair[1]], s=18, c="#d1495b",
               alpha=0.9, label="runs above the threshold", linewidths=0)  # fmt: skip
    lo0, hi0 = limits.loc[pair[0], ["low", "high"]]
    lo1, hi1 = limits.loc[pair[1], ["low", "high"]]
    ax.add_patch(
        matplotlib.patches.Rectangle(
            (lo0, lo1), hi0 - lo0, hi1 - lo1, fill=False, edgecolor="#222222", linewidth=1.5,
            linestyle="--", label=f"box: coverage {box.coverage:.0%}, density {box.density:.0%}",
        )
    )  # fmt: skip
    ax.set_xlabel(pair[0].replace("_", " "), fontsize=FONT["size"])
    return _finish(fig, ax, title, pair[1].replace("_", " "))


# --- policies on the calendar -----------------------------------------------------------


def policy_windows(scenario: Scenario) -> list[tuple[str, dt.date, dt.date]]:
    """The dated policies of a scenario as (label, from, to) bars for a timeline."""
    p = scenario.params
    return _policies(scenario) or [("visa cycling goes on", p["start_date"], p["end_date"])]


def policy_marks(scenarios: Sequence[Scenario]) -> list[Window]:
    """Each scenario's dated policies as windows (start to end): drawn beside the UN dates on
    time axes, shaded, labelled with their dates. ``scenarios``: loaded ``Scenario``
    objects (``Comparison.scenarios``, or ``model.scenario.load_scenario(path)`` each)."""
    return figspec.policy_windows(scenarios)


def _policies(scenario: Scenario) -> list[tuple[str, dt.date, dt.date]]:
    """(label, from, to) of each dated policy; none for the status quo."""
    p = scenario.params
    bars = []
    if p["repatriation_mode"] != "none":
        end = max(p["repatriation_end"], p["repatriation_start"] + dt.timedelta(days=3))
        bars.append((f"{p['repatriation_mode']} return", p["repatriation_start"], end))
    if p["visa_issuance_end"] is not None:
        bars.append(("no visas issued", p["visa_issuance_end"], p["end_date"]))
    if p["enforcement_start"] is not None:
        bars.append(("fraud inspections", p["enforcement_start"], p["end_date"]))
    return bars


def policy_timeline(scenarios: Sequence[Scenario]) -> Figure:
    """UN resolutions and reports above, each scenario's policy window as a bar below.

    ``scenarios``: loaded ``Scenario`` objects, one bar row each.
    """
    fig, ax = new_figure(7.5, 1.2 + 0.42 * len(scenarios))
    ax.grid(False)
    starts = [s.params["start_date"] for s in scenarios]
    ends = [s.params["end_date"] for s in scenarios]
    lo = min([*starts, *(m.date for m in UN_TIMELINE)])
    hi = max(ends)
    for i, s in enumerate(scenarios):
        color = scenario_color(s.name, i)
        for label, a, b in policy_windows(s):
            ax.barh(
                i,
                (b - a).days,
                left=pd.Timestamp(a),
                height=0.5,
                color=color,
                alpha=0.8,
            )
            if (b - a).days > 150:  # room inside the bar
                ax.text(pd.Timestamp(a), i, f" {label}", va="center", fontsize=7, color="white")
            else:
                ax.text(pd.Timestamp(b), i, f" {label}", va="center", fontsize=7, color=color)
    un = [(m.date, f"{m.code} {day_text(m.date)}") for m in UN_TIMELINE]
    rows = figspec.strip_rows(un, lo - dt.timedelta(days=20), hi, 7.5 * figspec.PRINT_AXES_SHARE)
    for (date, text), (row, right) in zip(un, rows, strict=True):  # rows: no label collides
        ax.axvline(pd.Timestamp(date), color="#444444", linestyle=(0, (3, 3)), linewidth=0.8)
        ax.text(
            pd.Timestamp(date),
            -0.8 - 0.6 * row,
            f" {text} " if not right else f"{text} ",
            ha="right" if right else "left",
            va="center",
            fontsize=7,
            color="#444444",
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 0.5},
        )
    ax.set_yticks(range(len(scenarios)), [s.name.replace("_", " ") for s in scenarios])
    ax.set_ylim(len(scenarios) - 0.4, -1.1 - 0.6 * figspec.STRIP_MAX_ROWS)
    ax.set_xlim(pd.Timestamp(lo) - pd.Timedelta(days=20), pd.Timestamp(hi) + pd.Timedelta(days=20))
    _date_axis(ax)
    ax.spines["left"].set_visible(False)
    return _finish(fig, ax, "Resolutions and policy windows", "", legend=False)


# --- output -----------------------------------------------------------------------------


def for_screen(fig: Figure, width: float = 6.0, height: float | None = None) -> Figure:
    """The same figure at a screen's size (inches): text keeps its point size, so in a chart
    shown about 600 pixels wide (the app) it reads as large as on the printed page."""
    w, h = fig.get_size_inches()
    fig.set_size_inches(width, h * width / w if height is None else height)
    return fig


def to_png(fig: Figure, dpi: int = 150) -> bytes:
    """The figure ``fig`` as PNG bytes at ``dpi`` dots per inch, on white (write them to a
    file, or embed them)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()
