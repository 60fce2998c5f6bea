"""Figures of a robustness ensemble, shared by the brief and the app (as ``viz.charts`` is).

Two figures say whether a conclusion holds and what would change it: the distribution of
each contrast across plausible worlds (a dot per world, the 10-90% range and the median,
zero marked), and a contrast against the assumption that drives it most (a dot per world
with the seeds' interval inside it, the worlds where the conclusion flips in red, PRIM's
limits on that assumption shaded). Daily bands across worlds reuse ``viz.charts.band_chart``.
Labels and units come from the metrics and parameter registries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from experiments.robustness import RobustnessResult
from experiments.robustness_tables import Contrast
from model import metrics
from model.parameters import PARAMS_BY_NAME
from viz import charts
from viz.robustness_text import scenario_words

FLIP_COLOR = "#d1495b"
AGREE_COLOR = "#6b6b6b"
BOX_COLOR = "#f4d6da"


def _contrast_words(contrast: Contrast) -> str:
    return f"{scenario_words(contrast.scenario)} − {scenario_words(contrast.reference)}"


def contrast_distribution_chart(result: RobustnessResult, metric: str) -> Figure:
    """Each contrast on one metric across worlds: a dot per world (mean over its seeds), the
    10-90% range as a bar and the median as a tick; the zero line is 'no difference'."""
    m = metrics.measure(metric)
    contrasts = result.contrasts
    fig, ax = charts.new_figure(7.5, 0.9 + 0.55 * max(len(contrasts), 1))
    ax.grid(True, axis="x", color="#e5e5e5")
    ax.grid(False, axis="y")
    rng = np.random.default_rng(0)  # the same jitter in every drawing of the same ensemble
    for i, c in enumerate(contrasts):
        values = result.by_world(c, metric)["mean"].astype(float).to_numpy() * m.scale
        if not len(values):
            continue
        color = charts.scenario_color(c.scenario, i)
        jitter = rng.uniform(-0.18, 0.18, len(values))
        ax.scatter(values, i + jitter, s=12, color=color, alpha=0.55, linewidths=0)
        q10, q50, q90 = np.quantile(values, (0.1, 0.5, 0.9))
        ax.plot([q10, q90], [i, i], color="#222222", linewidth=2.2, solid_capstyle="butt")
        ax.plot([q50], [i], marker="|", markersize=16, color="#222222", markeredgewidth=2.4)
    ax.axvline(0, color="#222222", linewidth=0.8, linestyle=(0, (3, 2)))
    ax.set_yticks(range(len(contrasts)), [_contrast_words(c) for c in contrasts], fontsize=8)
    ax.set_ylim(len(contrasts) - 0.5, -0.5)
    ax.xaxis.set_major_formatter(charts.matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel(
        f"difference in {m.label_with_unit[:1].lower() + m.label_with_unit[1:]}: "
        "one dot per plausible world; bar 10-90% of worlds, tick the median",
        fontsize=8,
    )
    worlds = result.worlds_done
    return charts._finish(fig, ax, f"{m.label}: each policy against another, {worlds} "
                          "plausible worlds", "", legend=False)  # fmt: skip


def driver_chart(result: RobustnessResult, contrast: Contrast, metric: str) -> Figure:
    """The contrast in each world against its strongest driver: worlds where the conclusion
    does not hold in red, each world's seed interval as a line, PRIM's limits shaded."""
    m = metrics.measure(metric)
    fig, ax = charts.new_figure(7.5, 3.6)
    ax.grid(True, color="#eeeeee")
    drivers = result.drivers(contrast, metric)
    by_world = result.by_world(contrast, metric).set_index("world")
    title = f"{m.label}, {_contrast_words(contrast)}"
    if drivers.empty or by_world.empty:
        return charts._finish(fig, ax, title + ": not enough worlds yet", "", legend=False)
    name = drivers.iloc[0].parameter
    spec = PARAMS_BY_NAME[name]
    x = result.assumption_matrix.loc[by_world.index, name].to_numpy(dtype=float)
    design = result.design.loc[by_world.index, name]
    if spec.kind in ("date", "optional_date"):
        x = pd.to_datetime(design).to_numpy()
    y = by_world["mean"].to_numpy(dtype=float) * m.scale
    flip = result.flip(contrast, metric)
    exceptions = np.sign(by_world["mean"].to_numpy()) != flip.conclusion
    limit = next((r for r in flip.restrictions if r.parameter == name), None)
    if limit is not None and flip.box is not None:
        low = x.min() if limit.low is None else limit.low
        high = x.max() if limit.high is None else limit.high
        box = f"flip box on this assumption (density {flip.box.density:.0%})"
        ax.axvspan(low, high, color=BOX_COLOR, alpha=0.8, linewidth=0, label=box)
    lo = by_world["lo"].to_numpy(dtype=float) * m.scale
    hi = by_world["hi"].to_numpy(dtype=float) * m.scale
    has_interval = ~np.isnan(lo)
    ax.vlines(x[has_interval], lo[has_interval], hi[has_interval], color="#bbbbbb",
              linewidth=0.8, label="seeds' 95% interval in the world")  # fmt: skip
    ax.scatter(x[~exceptions], y[~exceptions], s=16, color=AGREE_COLOR, linewidths=0,
               label="conclusion holds", zorder=3)  # fmt: skip
    if exceptions.any():
        ax.scatter(x[exceptions], y[exceptions], s=20, color=FLIP_COLOR, linewidths=0,
                   label="conclusion flips", zorder=3)  # fmt: skip
    ax.axhline(0, color="#222222", linewidth=0.8, linestyle=(0, (3, 2)))
    ax.yaxis.set_major_formatter(charts.matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    top = drivers.iloc[0]
    unit = "" if spec.unit in ("", "share", "date") else f" ({spec.unit})"
    ax.set_xlabel(
        f"{spec.label}{unit}: rank correlation {top.rho:+.2f} [{top.lo:+.2f}, {top.hi:+.2f}]",
        fontsize=charts.FONT["size"],
    )
    return charts._finish(fig, ax, title, f"difference ({m.unit})")
