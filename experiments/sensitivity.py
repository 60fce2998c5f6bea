"""Global sensitivity: which uncertain parameters drive the outcomes, with Sobol' indices.

The samples are a sweep (design ``saltelli``), so they run through the sweep machinery:
locally or on Dask, stored as they finish, resumable. The indices come from SALib
(Herman and Usher 2017), a maintained implementation of Saltelli's estimators:
first-order (S1, the share of the outcome's variance due to one parameter alone) and
total (ST, including its interactions), each with a 95% bootstrap interval.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from experiments.design import SweepSpec
from experiments.errors import StoreError, SweepSpecError

SENSITIVITY_METRICS = ("factories_shut", "peak_labor_gap", "output_lost")


def check_spec(spec: SweepSpec) -> None:
    """Sobol' indices need the Saltelli design: say so before anything runs."""
    where = spec.path or spec.name
    if spec.design != "saltelli":
        raise SweepSpecError(
            f'{where}: sweep.design: "{spec.design}" cannot give Sobol\' indices; '
            'allowed: design = "saltelli" (see scenarios/sweeps/sensitivity_status_quo.toml)'
        )
    if len(spec.axes) < 2:
        raise SweepSpecError(
            f"{where}: parameters: {len(spec.axes)} varied; allowed: at least 2 for indices"
        )


def point_means(runs: pd.DataFrame, metric: str, n_points: int) -> np.ndarray:
    """The metric per design point (mean over replicates), in design order; all must be there."""
    ok = runs[runs["status"] == "ok"]
    means = ok.groupby("point")[metric].mean()
    missing = sorted(set(range(n_points)) - set(means.index))
    if missing:
        raise StoreError(
            f"sensitivity: {len(missing)} of {n_points} design points have no finished run "
            f"(first: point {missing[0]}); allowed: a complete sweep (run it again with --resume)"
        )
    return means.loc[range(n_points)].to_numpy(dtype=float)


def sobol_indices(
    spec: SweepSpec, runs: pd.DataFrame, metrics: Sequence[str] = SENSITIVITY_METRICS
) -> pd.DataFrame:
    """S1 and ST with 95% intervals, per metric and parameter."""
    from SALib.analyze import sobol

    check_spec(spec)
    names = spec.parameters
    d = len(names)
    n_points = spec.samples * (d + 2)
    problem = {"num_vars": d, "names": names, "bounds": [[0.0, 1.0]] * d}
    rows = []
    for metric in metrics:
        y = point_means(runs, metric, n_points)
        if np.nanvar(y) == 0:  # the outcome never moves: no variance to apportion
            for name in names:
                rows.append(_row(metric, name, np.nan, np.nan, np.nan, np.nan, "no variance"))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            si = sobol.analyze(problem, y, calc_second_order=False, conf_level=0.95, seed=spec.seed)
        for i, name in enumerate(names):
            rows.append(
                _row(metric, name, si["S1"][i], si["S1_conf"][i], si["ST"][i], si["ST_conf"][i], "")
            )
    return pd.DataFrame(rows)


def _row(metric, name, s1, s1_conf, st, st_conf, note) -> dict:
    return {
        "metric": metric,
        "parameter": name,
        "S1": float(s1),
        "S1_lo": float(s1 - s1_conf),
        "S1_hi": float(s1 + s1_conf),
        "ST": float(st),
        "ST_lo": float(st - st_conf),
        "ST_hi": float(st + st_conf),
        "note": note,
    }
