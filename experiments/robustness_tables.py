"""The tables a robustness ensemble is read into: plain functions of DataFrames.

``experiments.robustness`` runs the ensemble and keeps one row per world, scenario and seed;
these functions turn such rows (from the model, or synthetic ones in tests) into what the
brief, the command line and the app show: each metric across worlds, each contrast world by
world with the share of worlds in which a policy does better, regret, the assumptions that
drive a contrast (Spearman rank correlations with bootstrap intervals) and the PRIM box in
which a conclusion flips, pruned to the limits that earn their place.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from experiments.design import Axis
from experiments.discovery import Box, find_box
from model import metrics
from model.metrics import SUMMARY

QUANTILES = (0.1, 0.5, 0.9)
BOOTSTRAP = 400
"""Bootstrap resamples of the worlds for the drivers' intervals (seeded: same tables always)."""
MIN_WORLDS_FOR_BOX = 10
"""PRIM needs some worlds to peel; with fewer the flip box is not looked for."""
MIN_EXCEPTIONS_FOR_BOX = 3
"""A box around one or two worlds describes those worlds, not a condition."""
FLIP_BOX_DENSITY = 0.9
"""The flip box is the widest PRIM box in which at least this share of worlds flip."""
PRUNE_SIGNIFICANCE = 0.05
"""A limit of the flip box whose quasi-p-value exceeds this is dropped as chance."""


def _jsonable(x: Any) -> Any:
    return x.isoformat() if hasattr(x, "isoformat") else x


# --- contrasts, regret ---------------------------------------------------------------


@dataclass(frozen=True)
class Contrast:
    """A policy against another: ``scenario`` minus ``reference``, world by world."""

    scenario: str
    reference: str

    @property
    def name(self) -> str:
        return f"{self.scenario} - {self.reference}"


def article_contrasts(names: Sequence[str]) -> list[Contrast]:
    """The article's question for any list of scenarios, base first: each policy against
    each earlier one (abrupt - gradual), then each policy against the base (- status quo)."""
    base, policies = names[0], list(names[1:])
    pairs = [Contrast(later, earlier) for i, earlier in enumerate(policies)
             for later in policies[i + 1:]]  # fmt: skip
    return pairs + [Contrast(p, base) for p in policies]


def summary_metrics(columns: Sequence[str]) -> list[str]:
    """Every summary metric of the registry that the runs carry, in the registry's order."""
    present = set(columns)
    return [m.name for m in SUMMARY if m.name in present]


def world_means(runs: pd.DataFrame, metric_names: Sequence[str]) -> pd.DataFrame:
    """Per (world, scenario): each metric's mean over the seeds that finished."""
    ok = runs[runs["status"] == "ok"]
    return ok.groupby(["world", "scenario"], sort=True)[list(metric_names)].mean()


def _quantiles(values: np.ndarray) -> tuple[float, float, float]:
    if not len(values):
        return (math.nan,) * 3
    q10, q50, q90 = np.quantile(values, QUANTILES)
    return float(q10), float(q50), float(q90)


def levels_table(
    means: pd.DataFrame, scenarios: Sequence[str], metric_names: Sequence[str]
) -> pd.DataFrame:
    """Per metric and scenario: median and 10-90% range across worlds of the per-world means."""
    rows = []
    for metric in metric_names:
        for name in scenarios:
            if name not in means.index.get_level_values("scenario"):
                continue
            values = means.xs(name, level="scenario")[metric].astype(float).dropna().to_numpy()
            q10, q50, q90 = _quantiles(values)
            rows.append(
                {
                    "metric": metric,
                    "scenario": name,
                    "worlds": len(values),
                    "median": q50,
                    "q10": q10,
                    "q90": q90,
                }  # fmt: skip
            )
    return pd.DataFrame(rows, columns=["metric", "scenario", "worlds", "median", "q10", "q90"])


def paired_differences(
    runs: pd.DataFrame, contrast: Contrast, metric_names: Sequence[str]
) -> pd.DataFrame:
    """Per (world, seed) both scenarios finished: scenario minus reference, every metric."""
    ok = runs[runs["status"] == "ok"]
    cols = list(metric_names)
    a = ok[ok["scenario"] == contrast.scenario].set_index(["world", "seed"])[cols]
    b = ok[ok["scenario"] == contrast.reference].set_index(["world", "seed"])[cols]
    return (a.astype(float) - b.astype(float)).dropna(how="all")


def contrast_by_world(diffs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per world: mean of the paired (same-seed) difference, its 95% t interval, seeds."""
    diff = diffs[metric].dropna() if metric in diffs else pd.Series(dtype=float)
    if diff.empty:
        return pd.DataFrame(columns=["world", "n", "mean", "lo", "hi"])
    grouped = diff.groupby(level="world")
    frame = pd.DataFrame({"n": grouped.size(), "mean": grouped.mean(), "sd": grouped.std(ddof=1)})
    t = stats.t.ppf(0.975, np.maximum(frame["n"] - 1, 1))
    half = np.where(frame["sd"] == 0, 0.0, t * frame["sd"] / np.sqrt(frame["n"]))
    half = np.where(frame["n"] < 2, np.nan, half)
    frame["lo"], frame["hi"] = frame["mean"] - half, frame["mean"] + half
    return frame.drop(columns="sd").reset_index()


CONTRAST_COLUMNS = (
    "contrast", "scenario", "reference", "metric", "direction", "worlds", "higher", "lower",
    "same", "better", "share_better", "conclusion", "agree", "median", "q10", "q90",
    "seed_width", "seed_width_q90",
)  # fmt: skip


def contrast_row(by_world: pd.DataFrame, contrast: Contrast, metric: str) -> dict[str, Any]:
    """One contrast on one metric across worlds.

    ``better`` counts the worlds in which the policy does better by the metric's direction
    (None for a neutral metric); ``conclusion`` is the sign of the median contrast (+1: the
    policy gives more, -1: less, 0: no difference) and ``agree`` the worlds that share it;
    ``seed_width`` is the median width of the paired 95% interval inside a world.
    """
    values = by_world["mean"].astype(float).to_numpy()
    higher, lower = int((values > 0).sum()), int((values < 0).sum())
    sign = metrics.direction(metric)
    better = None if sign == 0 else higher if sign > 0 else lower
    q10, q50, q90 = _quantiles(values)
    conclusion = 0 if not len(values) or q50 == 0 else int(np.sign(q50))
    widths = (by_world["hi"] - by_world["lo"]).astype(float).dropna().to_numpy()
    return {
        "contrast": contrast.name,
        "scenario": contrast.scenario,
        "reference": contrast.reference,
        "metric": metric,
        "direction": sign,
        "worlds": len(values),
        "higher": higher,
        "lower": lower,
        "same": len(values) - higher - lower,
        "better": better,
        "share_better": (better / len(values)) if better is not None and len(values) else None,
        "conclusion": conclusion,
        "agree": int((np.sign(values) == conclusion).sum()),
        "median": q50,
        "q10": q10,
        "q90": q90,
        "seed_width": float(np.median(widths)) if len(widths) else math.nan,
        "seed_width_q90": float(np.quantile(widths, 0.9)) if len(widths) else math.nan,
    }


def regret_table(
    means: pd.DataFrame, scenarios: Sequence[str], metric_names: Sequence[str]
) -> pd.DataFrame:
    """Per directional metric and scenario: worlds in which it is best, and its regret (how
    far it falls short of the best scenario of each world): median, 90th percentile, worst."""
    rows = []
    for metric in metric_names:
        sign = metrics.direction(metric)
        if sign == 0:
            continue
        wide = means[metric].unstack("scenario").reindex(columns=list(scenarios)).dropna()
        if wide.empty:
            continue
        best = wide.max(axis=1) if sign > 0 else wide.min(axis=1)
        regret = (wide.sub(best, axis=0)).abs()
        for name in scenarios:
            values = regret[name].to_numpy(dtype=float)
            rows.append(
                {
                    "metric": metric,
                    "scenario": name,
                    "worlds": len(values),
                    "best_in": int((values == 0).sum()),
                    "regret_median": float(np.median(values)),
                    "regret_q90": float(np.quantile(values, 0.9)),
                    "regret_max": float(values.max()),
                }
            )
    columns = ["metric", "scenario", "worlds", "best_in", "regret_median", "regret_q90",
               "regret_max"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def best_by_world(
    means: pd.DataFrame, scenarios: Sequence[str], metric_names: Sequence[str]
) -> pd.DataFrame:
    """Per world and directional metric: the best scenario (ties joined with ' = ')."""
    out = {}
    for metric in metric_names:
        sign = metrics.direction(metric)
        if sign == 0:
            continue
        wide = means[metric].unstack("scenario").reindex(columns=list(scenarios)).dropna()
        best = wide.max(axis=1) if sign > 0 else wide.min(axis=1)
        out[metric] = [
            " = ".join(c for c in wide.columns if row[c] == b)
            for (_, row), b in zip(wide.iterrows(), best, strict=True)
        ]
        out[metric] = pd.Series(out[metric], index=wide.index)
    return pd.DataFrame(out)


# --- what drives a contrast, and where it flips ------------------------------------------


def numeric_assumptions(design: pd.DataFrame, axes: Sequence[Axis]) -> pd.DataFrame:
    """The worlds' assumption values as numbers: dates as day ordinals, a set of values that
    are not numbers as the index of each value in its set."""
    x = pd.DataFrame(index=design.index)
    for axis in axes:
        column = design[axis.name]
        if axis.values is not None and not all(_is_number(v) for v in axis.values):
            x[axis.name] = column.map(list(axis.values).index).astype(float)
        elif axis.kind in ("date", "optional_date"):
            x[axis.name] = column.map(lambda v: v.toordinal()).astype(float)
        else:
            x[axis.name] = column.astype(float)
    return x


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _rank_correlations(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of y with each column of x (NaN where a column or y is constant);
    x (..., n, d) and y (..., n): leading axes are separate samples (bootstrap draws)."""
    ranks = stats.rankdata(np.concatenate([x, y[..., None]], axis=-1), axis=-2)
    ranks -= ranks.mean(axis=-2, keepdims=True)
    rx, ry = ranks[..., :-1], ranks[..., -1:]
    denominator = np.sqrt((rx**2).sum(axis=-2) * (ry**2).sum(axis=-2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (rx * ry).sum(axis=-2) / denominator, np.nan)


def driver_table(
    x: pd.DataFrame, y: pd.Series, resamples: int = BOOTSTRAP, seed: int = 0
) -> pd.DataFrame:
    """Each assumption's Spearman rank correlation with y across worlds, with a 95%
    bootstrap interval (worlds resampled), strongest first.

    In a Latin hypercube the assumptions are drawn independently, so rho squared is close
    to the assumption's first-order share of the variance of y's ranks: a global,
    monotone sensitivity measure that needs no extra runs (Saltelli et al. 2008, ch. 1).
    """
    columns = ["parameter", "rho", "lo", "hi", "worlds"]
    y = y.astype(float).dropna()
    x = x.loc[y.index]
    n = len(y)
    if n < 3:
        return pd.DataFrame(columns=columns)
    xs, ys = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
    rho = _rank_correlations(xs, ys)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(resamples, n))
    boots = _rank_correlations(xs[picks], ys[picks])
    with np.errstate(invalid="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: constant input
            lo, hi = np.nanpercentile(boots, [2.5, 97.5], axis=0)
    table = pd.DataFrame(
        {"parameter": list(x.columns), "rho": rho, "lo": lo, "hi": hi, "worlds": n}
    )
    strength = table["rho"].abs().fillna(-1)
    return table.iloc[np.argsort(-strength.to_numpy(), kind="stable")].reset_index(drop=True)


@dataclass(frozen=True)
class Restriction:
    """One limit of a flip box, in the parameter's own values (None: not limited there)."""

    parameter: str
    low: Any
    high: Any
    kept: float  # share of the parameter's plausible range inside the box


@dataclass(frozen=True)
class Flip:
    """Where a contrast's conclusion does not hold: the exceptions, and PRIM's box of them."""

    contrast: Contrast
    metric: str
    conclusion: int  # sign of the median contrast across worlds
    worlds: int
    exceptions: int  # worlds whose contrast does not have that sign
    box: Box | None = None
    restrictions: tuple[Restriction, ...] = ()
    note: str = ""  # why there is no box

    @property
    def flips(self) -> bool:
        return self.exceptions > 0


def _restrictions(box: Box, axes: Sequence[Axis]) -> tuple[Restriction, ...]:
    """The box's limits in each parameter's own values, narrowest first."""
    by_name = {a.name: a for a in axes}
    found = []
    for name, row in box.limits.iterrows():
        low_cut, high_cut = row.low > row.low_bound, row.high < row.high_bound
        if not (low_cut or high_cut):
            continue
        span = row.high_bound - row.low_bound
        kept = float((row.high - row.low) / span) if span > 0 else 1.0
        axis = by_name[name]
        found.append(
            Restriction(
                name,
                _natural(axis, row.low) if low_cut else None,
                _natural(axis, row.high) if high_cut else None,
                kept,
            )
        )
    return tuple(sorted(found, key=lambda r: r.kept))


def _natural(axis: Axis, x: float) -> Any:
    """A number of the numeric design back in the parameter's values."""
    if axis.values is not None and not all(_is_number(v) for v in axis.values):
        return axis.values[int(round(x))]
    if axis.kind in ("date", "optional_date"):
        import datetime as dt

        return dt.date.fromordinal(int(round(x)))
    if axis.kind == "int":
        return x  # PRIM cuts between observed whole values: keep its cut as it is
    return float(x)


def find_flip(
    x: pd.DataFrame,
    by_world: pd.DataFrame,
    contrast: Contrast,
    metric: str,
    axes: Sequence[Axis],
    min_density: float = FLIP_BOX_DENSITY,
) -> Flip:
    """The worlds where the contrast's sign differs from its median's, and the PRIM box
    (``experiments.discovery.find_box``) of assumption values that holds them."""
    values = by_world.set_index("world")["mean"].astype(float)
    q50 = float(np.median(values)) if len(values) else 0.0
    conclusion = 0 if q50 == 0 else int(np.sign(q50))
    exceptions = np.sign(values.to_numpy()) != conclusion
    flip = Flip(contrast, metric, conclusion, len(values), int(exceptions.sum()))
    if not flip.flips:
        return dataclasses.replace(flip, note="never flips in the plausible ranges")
    if exceptions.all():
        return dataclasses.replace(flip, note="no conclusion to flip: as many worlds each way")
    if flip.exceptions < MIN_EXCEPTIONS_FOR_BOX:
        return dataclasses.replace(
            flip, note=f"too few to find a pattern in (PRIM needs at least "
            f"{MIN_EXCEPTIONS_FOR_BOX})"
        )  # fmt: skip
    if len(values) < MIN_WORLDS_FOR_BOX:
        return dataclasses.replace(
            flip, note=f"too few worlds ({len(values)}) to look for a box; at least "
            f"{MIN_WORLDS_FOR_BOX} are needed"
        )  # fmt: skip
    box = prune_box(find_box(x.loc[values.index], exceptions, min_density),
                    x.loc[values.index], exceptions)  # fmt: skip
    return dataclasses.replace(flip, box=box, restrictions=_restrictions(box, axes))


def _inside(limits: pd.DataFrame, x: pd.DataFrame) -> np.ndarray:
    inside = np.ones(len(x), dtype=bool)
    for name, row in limits.iterrows():
        column = x[name].to_numpy(dtype=float)
        inside &= (column >= row.low) & (column <= row.high)
    return inside


def _box_stats(limits: pd.DataFrame, x: pd.DataFrame, interesting: np.ndarray):
    """(coverage, density, mass) of a box given as limits on the columns of x."""
    inside = _inside(limits, x)
    cases = interesting.sum()
    coverage = (inside & interesting).sum() / cases if cases else 0.0
    density = (inside & interesting).sum() / inside.sum() if inside.any() else 0.0
    return float(coverage), float(density), float(inside.mean())


def prune_box(
    box: Box, x: pd.DataFrame, interesting: np.ndarray, significance: float = PRUNE_SIGNIFICANCE
) -> Box:
    """Drop the limits that do not earn their place, one side at a time, least significant
    first, until every limit left has a quasi-p-value of at most ``significance``.

    PRIM peels a little off many dimensions on the way to the box that matters; with a few
    dozen worlds and thirty assumptions some of those cuts are chance. A limit's quasi-p
    value (Bryant and Lempert 2010, as the EMA Workbench computes it for ``inspect``) is the
    one-sided binomial test of the box's density against the density of the box with that
    limit removed; a box with fewer limits states the condition people can act on.
    """
    limits = box.limits.copy()
    while True:
        inside = _inside(limits, x)
        hits, size = int((inside & interesting).sum()), int(inside.sum())
        weakest, weakest_p = None, significance
        for name, row in limits.iterrows():
            for side, bound in (("low", "low_bound"), ("high", "high_bound")):
                if row[side] == row[bound]:
                    continue
                relaxed = limits.copy()
                relaxed.loc[name, side] = row[bound]
                wider = _inside(relaxed, x)
                p = interesting[wider].mean()
                qp = stats.binomtest(hits, size, p, alternative="greater").pvalue
                if qp > weakest_p:
                    weakest, weakest_p = (name, side, bound), qp
        if weakest is None:
            break
        name, side, bound = weakest
        limits.loc[name, side] = limits.loc[name, bound]
    coverage, density, mass = _box_stats(limits, x, interesting)
    return dataclasses.replace(box, limits=limits, coverage=coverage, density=density, mass=mass)


def restriction_text(r: Restriction) -> str:
    """'a <= name <= b' (or one side) in plain characters, for CSV files and the terminal."""

    def show(v: Any) -> str:
        return f"{v:.4g}" if _is_number(v) else str(_jsonable(v))

    low = "" if r.low is None else f"{show(r.low)} <= "
    high = "" if r.high is None else f" <= {show(r.high)}"
    return f"{low}{r.parameter}{high}"
