"""The laborflow app: watch a run, explore its parameters, compare scenarios.

Serve it with ``laborflow app`` (or ``solara run viz/app.py``). This module is only the page:
the live run is in ``viz.live_view`` (state in ``viz.live``, controls in ``viz.controls``),
the comparison in ``viz.compare_view`` (background runs in ``viz.compare_job``); every chart
comes from ``viz.charts``, as in the policy brief.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import solara
import solara.lab
import solara.server.settings

from viz.compare_view import CompareView
from viz.controls import presets
from viz.live_view import LiveView
from viz.robustness_view import RobustnessView

# Served over http on 127.0.0.1, Solara warns at every page load that it cannot set a
# samesite=none cookie (needed only inside iframes): noise that hides real problems in the log.
warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
# Also when served by a plain `solara run viz/app.py`: no banner over the charts, no calls home.
solara.server.settings.theme.show_banner = False
solara.server.settings.telemetry.mixpanel_enable = False

CSS = Path(__file__).resolve().parent / "app.css"
TITLE = "laborflow"
SUBTITLE = "North Korean workers in Chinese factories under visa rules and the UN 2397 deadline"


@solara.component
def Page() -> None:
    scenarios = solara.use_memo(presets, [])
    tab = solara.use_reactive(0)
    solara.Title(f"{TITLE}: {SUBTITLE}")
    solara.Style(CSS)
    with solara.Column(classes=["lf-page"]):
        with solara.Row(classes=["lf-header"], style={"align-items": "baseline"}):
            solara.Text(TITLE, classes=["lf-title"])
            solara.Text(SUBTITLE, classes=["lf-subtitle"])
        with solara.lab.Tabs(value=tab):
            with solara.lab.Tab("Live run", classes=["lf-tab-live"]):
                LiveView(scenarios)
            with solara.lab.Tab("Compare scenarios", classes=["lf-tab-compare"]):
                CompareView(scenarios)
            with solara.lab.Tab("Robustness", classes=["lf-tab-robustness"]):
                RobustnessView(scenarios)
