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

FONT = {"family": "DejaVu Sans", "size": 9}


def scenario_color(name: str, index: int = 0) -> str:
    """A stable colour per scenario name; unknown names get one from a fixed cycle."""
    base = name.split("#")[0]
    return SCENARIO_COLORS.get(base, EXTRA_COLORS[index % len(EXTRA_COLORS)])


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


def mark_key_dates(
    ax, start: dt.date, end: dt.date, extra: Mapping[str, dt.date] | None = None
) -> None:
    """Dashed lines with labels for the UN milestones (and e.g. a policy start) in view."""
    labels: dict[dt.date, list[str]] = {}
    for m in UN_TIMELINE:
        if m.code in KEY_DATES:
            labels.setdefault(m.date, []).append(m.code)
    for label, d in (extra or {}).items():
        if d is not None:
            labels.setdefault(d, []).append(label)
    top = ax.get_ylim()[1]
    for date, names in sorted(labels.items()):  # one line per date, labels joined
        label = " / ".join(names)
        if not start <= date <= end:
            continue
        ax.axvline(pd.Timestamp(date), color="#444444", linestyle=(0, (3, 3)), linewidth=0.8)
        ax.text(
            pd.Timestamp(date),
            top,
            f" {label}",
            rotation=90,
            va="top",
            ha="left",
            fontsize=7,
            color="#444444",
            # readable over filled areas (stacked status chart, bands)
            bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 1},
        )


def _run_span(ax, ts: pd.DataFrame, policy_dates, horizon) -> None:
    """Date axis of a run: the data's span, or the whole horizon when watching a run grow."""
    low, high = ax.get_ylim()
    if high < 1:  # nothing yet (a run's first day): an axis of 0 and 1, not of 0.00s
        ax.set_ylim(low, 1)
    if horizon is not None:
        start, end = horizon
        ax.set_xlim(pd.Timestamp(start), pd.Timestamp(end))
        mark_key_dates(ax, start, end, policy_dates)
    elif len(ts):
        mark_key_dates(ax, ts.date.iloc[0].date(), ts.date.iloc[-1].date(), policy_dates)


def _finish(fig: Figure, ax, title: str, ylabel: str, legend: bool = True) -> Figure:
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    ax.set_ylabel(ylabel, fontsize=FONT["size"])
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.12), ncol=3)
    return fig


# --- comparisons (bands across replicates) ----------------------------------------------


def band_chart(
    bands: pd.DataFrame,
    variable: str,
    title: str,
    ylabel: str,
    policy_dates: Mapping[str, dt.date] | None = None,
) -> Figure:
    """Median line and 10-90% band per scenario for one daily variable."""
    fig, ax = new_figure()
    rows = bands[bands.variable == variable]
    for i, (name, group) in enumerate(rows.groupby("scenario", sort=False)):
        color = scenario_color(name, i)
        dates = pd.to_datetime(group.date)
        ax.fill_between(dates, group.q10, group.q90, color=color, alpha=0.2, linewidth=0)
        ax.plot(dates, group.q50, color=color, linewidth=1.6, label=name.replace("_", " "))
    _date_axis(ax)
    _thousands(ax)
    ax.set_ylim(bottom=0)
    if not rows.empty:
        dates = pd.to_datetime(rows.date)
        mark_key_dates(ax, dates.min().date(), dates.max().date(), policy_dates)
    return _finish(fig, ax, title, ylabel)


def labor_gap_chart(bands: pd.DataFrame, policy_dates=None) -> Figure:
    return band_chart(
        bands,
        "labor_gap",
        "Labour gap: positions not staffed",
        "positions (median, 10-90% band)",
        policy_dates,
    )


def factories_shut_chart(bands: pd.DataFrame, policy_dates=None) -> Figure:
    return band_chart(
        bands, "factories_shut", "Factories shut (cumulative)", "factories", policy_dates
    )


def wage_bill_chart(bands: pd.DataFrame, policy_dates=None) -> Figure:
    scaled = bands.copy()
    mask = scaled.variable == "wage_bill"
    scaled.loc[mask, ["q10", "q50", "q90"]] *= 365.25 / 12 / 1e6
    return band_chart(
        scaled, "wage_bill", "Wage bill of the factories", "million yuan per month", policy_dates
    )


def nk_in_china_chart(bands: pd.DataFrame, policy_dates=None) -> Figure:
    return band_chart(
        bands, "nk_in_china", "North Korean workers in China", "workers", policy_dates
    )


def difference_chart(table: pd.DataFrame, metric: str, title: str, unit: str) -> Figure:
    """Paired differences from the base with 95% intervals, one bar per scenario."""
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
    policy_dates=None,
    title: str | None = None,
    horizon: tuple[dt.date, dt.date] | None = None,
) -> Figure:
    """North Korean workers by status, stacked: working, away, overstaying, detained.

    ``horizon`` (start, end) fixes the date axis, so a run in progress fills it from the left.
    """
    fig, ax = new_figure()
    cols = [c for c in metrics.WORKER_STATUSES if c in ts]
    ax.stackplot(
        pd.to_datetime(ts.date),
        *(ts[c] for c in cols),
        labels=[metrics.label(c) for c in cols],
        colors=[metrics.measure(c).color for c in cols],
        alpha=0.9,
        linewidth=0,
    )
    _date_axis(ax)
    _thousands(ax)
    ax.set_ylim(bottom=0)
    _run_span(ax, ts, policy_dates, horizon)
    return _finish(fig, ax, title or "North Korean workers by status", "workers")


def lines_chart(
    ts: pd.DataFrame,
    columns: Mapping[str, str],
    title: str,
    ylabel: str,
    policy_dates=None,
    colors: Sequence[str] | None = None,
    horizon: tuple[dt.date, dt.date] | None = None,
) -> Figure:
    """Daily lines of one run, e.g. labour gap, factories operating and shut, crossings.

    ``horizon`` (start, end) fixes the date axis, so a run in progress fills it from the left.
    """
    fig, ax = new_figure()
    palette = colors or ("#d1495b", "#1f6fb4", "#2a9d8f", "#e09f3e")
    for (col, label), color in zip(columns.items(), palette, strict=False):
        ax.plot(pd.to_datetime(ts.date), ts[col], label=label, color=color, linewidth=1.4)
    _date_axis(ax)
    _thousands(ax)
    ax.set_ylim(bottom=0)
    _run_span(ax, ts, policy_dates, horizon)
    return _finish(fig, ax, title, ylabel)


def factory_map(factories: pd.DataFrame, title: str = "Factories") -> Figure:
    """Every factory a mark, sized by positions, coloured operating / short-staffed / shut."""
    fig, ax = new_figure(7.5, 3.8)
    n = len(factories)
    cols = int(np.ceil(np.sqrt(n * 2.2)))
    order = factories.sort_values(["sector", "factory"]).reset_index(drop=True)
    x, y = np.arange(n) % cols, -(np.arange(n) // cols)
    size = 8 + 220 * order.positions_at_start / max(order.positions_at_start.max(), 1)
    for state, color in STATE_COLORS.items():
        mask = (order.state == state).to_numpy()
        ax.scatter(
            x[mask],
            y[mask],
            s=size[mask],
            c=color,
            alpha=0.85,
            edgecolors="white",
            linewidths=0.5,
            label=f"{state} ({mask.sum():,})",
        )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.margins(0.04)
    _finish(fig, ax, title, "", legend=True)
    for handle in ax.get_legend().legend_handles:  # same-size keys, also for a state with none
        handle.set_sizes([50])
    ax.text(
        1,
        -0.04,
        "mark size: positions at the start",
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=7,
        color="#666666",
    )
    return fig


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
        ax.set_title(name.replace("_", " "), loc="left", fontsize=9, color=scenario_color(name))
        _date_axis(ax)
        _thousands(ax)
        if len(dates):
            mark_key_dates(ax, dates.min().date(), dates.max().date(), policy_dates)
    axes[0].legend(frameon=False, fontsize=8, loc="lower left", bbox_to_anchor=(0, 1.12), ncol=3)
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


def policy_marks(scenarios: Sequence[Scenario]) -> dict[str, dt.date]:
    """When each scenario's policy starts: the marks drawn beside the UN dates on time axes."""
    marks: dict[str, dt.date] = {}
    for scenario in scenarios:
        for label, start, _ in _policies(scenario):
            marks.setdefault(label, start)
    return marks


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
    """UN resolutions and reports above, each scenario's policy window as a bar below."""
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
    row, previous = 0, None
    for m in UN_TIMELINE:  # labels on two staggered rows so that close dates do not collide
        row = 1 - row if previous and (m.date - previous).days < 120 else 0
        previous = m.date
        ax.axvline(pd.Timestamp(m.date), color="#444444", linestyle=(0, (3, 3)), linewidth=0.8)
        ax.text(
            pd.Timestamp(m.date),
            -0.8 - 0.7 * row,
            f" {m.code}",
            ha="left",
            va="center",
            fontsize=7,
            color="#444444",
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 0.5},
        )
    ax.set_yticks(range(len(scenarios)), [s.name.replace("_", " ") for s in scenarios])
    ax.set_ylim(len(scenarios) - 0.4, -2.0)
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
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()
