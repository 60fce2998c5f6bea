"""The robustness part of the policy brief: findings across plausible worlds first, then
"What would change this conclusion" (drivers, the flip box, figures, tables).

``viz.brief`` renders it when it is given a ``RobustnessResult``; the wording comes from
``viz.robustness_text`` and the figures from ``viz.robustness_charts`` (as in the app), so
the brief, the terminal and the app say the same thing.
"""

from __future__ import annotations

import base64
from typing import Any

from experiments.robustness import RobustnessResult
from model import metrics
from model.parameters import PARAMS_BY_NAME
from viz import charts, robustness_charts
from viz.robustness_text import (
    amount,
    ensemble_words,
    flip_sentence,
    holds,
    in_short,
    restriction_words,
    robust_findings,
    scenario_words,
)

DRIVERS_SHOWN = 6


def _figure(fig) -> str:
    return "data:image/png;base64," + base64.b64encode(charts.to_png(fig, dpi=200)).decode()


def _contrast_name(c) -> str:
    return f"{scenario_words(c.scenario)} − {scenario_words(c.reference)}"


def drivers_rows(result: RobustnessResult, contrast, metric: str) -> list[dict[str, str]]:
    """The strongest drivers of a contrast, with the plausible range they were drawn from."""
    rows = []
    records = result.ensemble.base.records
    for d in result.drivers(contrast, metric).head(DRIVERS_SHOWN).itertuples():
        spec = PARAMS_BY_NAME[d.parameter]
        plausible = records[d.parameter].plausible
        rows.append(
            {
                "label": spec.label,
                "name": d.parameter,
                "range": f"{plausible.text()} {spec.unit}".strip() if plausible else "",
                "rho": f"{d.rho:+.2f}",
                "ci": f"[{d.lo:+.2f}, {d.hi:+.2f}]",
            }
        )
    return rows


def contrast_rows(result: RobustnessResult) -> list[dict[str, Any]]:
    """Every contrast on every compared metric with a direction: worlds in which the policy
    does better, the spread across worlds, the seeds' interval inside one world."""
    rows = []
    for metric in result.compared:
        if not metrics.direction(metric):
            continue
        m = metrics.measure(metric)
        for c in result.contrasts:
            r = result.contrast(c, metric)
            rows.append(
                {
                    "label": m.label,
                    "unit": m.unit,
                    "contrast": _contrast_name(c),
                    "better": f"{int(r['better'])} of {int(r['worlds'])}",
                    "median": metrics.fmt(metric, r["median"], signed=True),
                    "range": metrics.fmt_interval(metric, r["q10"], r["q90"], signed=True),
                    "seeds": "±" + metrics.fmt(metric, r["seed_width"] / 2)
                    if r["seed_width"] == r["seed_width"]
                    else "n/a",
                }
            )
    return rows


def regret_rows(result: RobustnessResult) -> list[dict[str, Any]]:
    rows = []
    for r in result.regret.itertuples():
        m = metrics.measure(r.metric)
        rows.append(
            {
                "label": m.label,
                "unit": m.unit,
                "scenario": scenario_words(r.scenario),
                "best": f"{r.best_in} of {r.worlds}",
                "median": metrics.fmt(r.metric, r.regret_median),
                "worst": metrics.fmt(r.metric, r.regret_max),
            }
        )
    return rows


def level_rows(result: RobustnessResult) -> dict[str, Any]:
    levels = result.levels.set_index(["metric", "scenario"])
    rows = []
    for metric in result.compared:
        m = metrics.measure(metric)
        cells = []
        for name in result.scenario_names:
            if (metric, name) not in levels.index:
                cells.append({"median": "n/a", "range": ""})
                continue
            r = levels.loc[(metric, name)]
            cells.append(
                {
                    "median": metrics.fmt(metric, r["median"]),
                    "range": metrics.fmt_interval(metric, r["q10"], r["q90"]),
                }
            )
        rows.append({"label": m.label, "unit": m.unit, "cells": cells})
    return {"titles": [scenario_words(n) for n in result.scenario_names], "rows": rows}


def robustness_context(result: RobustnessResult) -> dict[str, Any]:
    """Everything the brief's template shows of an ensemble."""
    contrast, metric = result.headline
    m = metrics.measure(metric)
    flip = result.flip(contrast, metric)
    marks = charts.policy_marks(result.ensemble.scenarios[1:])
    drivers = result.drivers(contrast, metric)
    strongest = PARAMS_BY_NAME[drivers.iloc[0].parameter].label if not drivers.empty else ""
    row = result.contrast(contrast, metric)
    figures = [
        {
            "src": _figure(robustness_charts.contrast_distribution_chart(result, metric)),
            "caption": f"{m.label}: each policy minus another in every plausible world (a dot "
            "per world: the mean over its seeds), with the range holding 80% of worlds and "
            "the median. Left of the dashed line the policy gives fewer; right, more.",
        },
        {
            "src": _figure(robustness_charts.driver_chart(result, contrast, metric)),
            "caption": f"{m.label}, {_contrast_name(contrast)}, in each world against "
            f"{strongest.lower() or 'its strongest driver'}, the assumption it moves with most; "
            "grey lines are each world's 95% interval over its seeds, red dots the worlds "
            "where the conclusion does not hold.",
        },
        {
            "src": _figure(charts.factories_shut_chart(result.bands, marks)),
            "caption": "Factories shut so far across plausible worlds: the median world and "
            "the band holding 80% of worlds (each world the mean over its seeds).",
        },
    ]
    return {
        "lead": ensemble_words(result),
        "in_short": in_short(result),
        "holding": [f.text for f in robust_findings(result) if holds(f)],
        "depending": [f.text for f in robust_findings(result) if not holds(f)],
        "findings": [f.text for f in robust_findings(result)],
        "headline": {
            "label": m.label,
            "contrast": _contrast_name(contrast),
            "agree": int(row["agree"]),
            "worlds": int(row["worlds"]),
            "median": amount(metric, row["median"]),
        },
        "flip": flip_sentence(result, flip),
        "restrictions": [restriction_words(r) for r in flip.restrictions],
        "box": None
        if flip.box is None
        else {"coverage": f"{flip.box.coverage:.0%}", "density": f"{flip.box.density:.0%}"},
        "drivers": drivers_rows(result, contrast, metric),
        "contrasts": contrast_rows(result),
        "regret": regret_rows(result),
        "levels": level_rows(result),
        "figures": figures,
        "worlds": result.ensemble.worlds,
        "replicates": result.ensemble.replicates,
        "assumptions": len(result.ensemble.axes),
        "seeds": result.ensemble.seeds(),
        "hash": result.ensemble.hash,
    }
