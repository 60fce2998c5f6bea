"""Scenario discovery: in which region of parameter space does an outcome occur?

"Under which conditions do factories shut down?" is answered with boxes: ranges of the
swept parameters inside which most runs show the outcome (high density) and that hold
most of the runs that show it (high coverage). Boxes come from PRIM (Friedman and
Fisher 1999) as implemented in the EMA Workbench, a maintained implementation built
for scenario discovery (Bryant and Lempert 2010; Kwakkel 2017).
"""

from __future__ import annotations

import difflib
import logging
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.design import SweepSpec
from experiments.errors import SweepSpecError
from model.errors import ArgumentError


@dataclass(frozen=True)
class Box:
    """A region of parameter space: limits per restricted parameter, and how good it is."""

    limits: pd.DataFrame  # index: parameter; columns: low, high, low_bound, high_bound
    coverage: float  # share of all cases of interest that fall in the box
    density: float  # share of runs in the box that are cases of interest
    mass: float  # share of all runs that fall in the box
    cases: int  # cases of interest in all runs
    runs: int

    def describe(self) -> str:
        """The box in words: 'a in [x, y], b <= z' (unrestricted parameters left out)."""
        parts = []
        for name, row in self.limits.iterrows():
            if row.low > row.low_bound and row.high < row.high_bound:
                parts.append(f"{name} in [{row.low:.4g}, {row.high:.4g}]")
            elif row.low > row.low_bound:
                parts.append(f"{name} >= {row.low:.4g}")
            elif row.high < row.high_bound:
                parts.append(f"{name} <= {row.high:.4g}")
        return " and ".join(parts) or "anywhere in the sampled space"


def _prim():
    """Import PRIM quietly: the workbench warns about optional parallel back-ends."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("EMA").setLevel(logging.ERROR)
        from ema_workbench.analysis import prim
    return prim


MIN_RUNS = 10
"""PRIM needs a few runs on each side of the threshold; fewer than this finds nothing."""
NUMERIC_KINDS = ("int", "float", "date", "optional_date")


def check_question(spec: SweepSpec, metric: str, threshold: float) -> None:
    """Refuse a question discovery cannot answer, before the sweep runs: an unknown metric,
    a threshold that is not a number, too few runs, a parameter that is not a number."""
    from experiments.design import build_design
    from model.metrics import SUMMARY_BY_NAME

    if metric not in SUMMARY_BY_NAME:
        close = difflib.get_close_matches(metric, SUMMARY_BY_NAME, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ArgumentError(
            f"--metric {metric}: not a summary metric{hint}; allowed: " + ", ".join(SUMMARY_BY_NAME)
        )
    if not math.isfinite(threshold):
        raise ArgumentError(f"--threshold: {threshold}; allowed: a finite number")
    where = spec.path or spec.name
    for axis in spec.axes:
        has_none = axis.values is not None and None in axis.values
        if axis.kind not in NUMERIC_KINDS or has_none:
            raise SweepSpecError(
                f"{where}: parameters.{axis.name}: takes values that are not numbers or dates; "
                "allowed: numbers or dates (leave choices out of a discovery sweep)"
            )
    points = len(build_design(spec))
    runs = points * spec.replicates
    if runs < MIN_RUNS:
        raise SweepSpecError(
            f"{where}: {runs} runs ({points} points x {spec.replicates} replicates); "
            f"allowed: a spec with at least {MIN_RUNS} runs for discovery"
        )


def find_box(x: pd.DataFrame, interesting: np.ndarray, min_density: float = 0.8) -> Box:
    """PRIM's peeling trajectory, then the box with the most coverage at that density.

    Of the boxes PRIM finds while peeling, the one kept is the widest (highest coverage)
    whose density is at least ``min_density``; if none reaches it, the densest.
    """
    interesting = np.asarray(interesting, dtype=bool)
    if len(x) != len(interesting):
        raise ValueError("x and interesting must have one row per run")
    if len(x) < MIN_RUNS:
        raise ArgumentError(f"discover: {len(x)} runs; allowed: at least {MIN_RUNS} finished runs")
    if interesting.all() or not interesting.any():
        share = "all" if interesting.all() else "none"
        raise ArgumentError(
            f"discover: {share} of the {len(x)} runs meet the threshold, so there is no region "
            "to find; allowed: a threshold that some runs exceed and some do not"
        )
    x = x.reset_index(drop=True).astype(float)
    prim = _prim()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        box = prim.Prim(x, interesting.astype(int), mass_min=0.05).find_box()
    trajectory = box.peeling_trajectory
    dense = trajectory[trajectory.density >= min_density]
    i = int(dense.coverage.idxmax() if len(dense) else trajectory.density.idxmax())
    lims = box.box_lims[i]
    initial = box.box_lims[0]
    limits = pd.DataFrame(
        {
            "low": lims.loc[0],
            "high": lims.loc[1],
            "low_bound": initial.loc[0],
            "high_bound": initial.loc[1],
        }
    ).astype(float)
    row = trajectory.loc[i]
    return Box(
        limits,
        float(row.coverage),
        float(row.density),
        float(row.mass),
        int(interesting.sum()),
        len(x),
    )


def sweep_inputs(runs: pd.DataFrame, parameters: list[str]) -> pd.DataFrame:
    """The swept parameters of each finished run as numbers (dates as day ordinals)."""
    x = runs[parameters].copy()
    for name in parameters:
        col = x[name]
        if col.map(lambda v: hasattr(v, "toordinal")).all():
            x[name] = col.map(lambda v: v.toordinal())
        elif not pd.api.types.is_numeric_dtype(col):
            raise ArgumentError(
                f"discover: parameters.{name}: takes non-numeric values; allowed: "
                "numbers or dates (leave choices out of a discovery sweep)"
            )
    return x.astype(float)


def discover(
    runs: pd.DataFrame,
    parameters: list[str],
    metric: str,
    threshold: float,
    min_density: float = 0.8,
) -> tuple[Box, pd.DataFrame, np.ndarray]:
    """The box in which ``metric > threshold``; also the inputs and outcomes it came from."""
    ok = runs[runs["status"] == "ok"]
    if metric not in ok:
        allowed = ", ".join(c for c in ok.columns if pd.api.types.is_numeric_dtype(ok[c]))
        raise ArgumentError(f"discover: --metric {metric}: not stored; allowed: {allowed}")
    x = sweep_inputs(ok, parameters)
    interesting = (ok[metric].astype(float) > threshold).to_numpy()
    return find_box(x, interesting, min_density), x, interesting
