"""The laborflow app: watch a run, explore its parameters, compare scenarios.

Serve it with ``laborflow app`` (or ``solara run viz/app.py``). This module is only the page:
the live run is in ``viz.live_view`` (state in ``viz.live``, controls in ``viz.controls``),
the comparison in ``viz.compare_view`` (background runs in ``viz.compare_job``); every
figure is described once in ``viz.figspec`` and drawn interactively here
(``viz.plotly_charts``) and for print in the brief (``viz.charts``).

The page's address names the run it shows (``?preset=gradual_return&nk_wage_yuan_per_month=
2500``): opening such a link restores the preset, the seed and every changed parameter.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import solara
import solara.lab
import solara.server.settings

from model.scenario import Scenario
from viz import controls
from viz.compare_view import CompareView
from viz.live_view import LiveView
from viz.robustness_view import RobustnessView
from viz.widgets import FitCharts

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
    scenarios = solara.use_memo(controls.presets, [])
    router = solara.use_router()
    link = solara.use_memo(lambda: controls.from_query(router.search, scenarios), [])
    tab = solara.use_reactive(0)
    added = solara.use_reactive({})  # runs sent from the live view to the comparison

    def on_link(query: str) -> None:
        if (router.search or "") != query:
            router.push(f"{router.path or '/'}?{query}")

    def on_add(base: Scenario, scenario: Scenario) -> None:
        named = controls.for_comparison(base, scenario, added.value)
        added.set({**added.value, named.name: named})
        tab.set(1)

    solara.Title(f"{TITLE}: {SUBTITLE}")
    solara.Style(CSS)
    FitCharts()
    with solara.Column(classes=["lf-page"]):
        with solara.Row(classes=["lf-header"], style={"align-items": "baseline"}):
            solara.Text(TITLE, classes=["lf-title"])
            solara.Text(SUBTITLE, classes=["lf-subtitle"])
        with solara.lab.Tabs(value=tab):
            with solara.lab.Tab("Live run", classes=["lf-tab-live"]):
                LiveView(scenarios, link, on_link, on_add)
            with solara.lab.Tab("Compare scenarios", classes=["lf-tab-compare"]):
                CompareView({**scenarios, **added.value}, added=list(added.value))
            with solara.lab.Tab("Robustness", classes=["lf-tab-robustness"]):
                RobustnessView(scenarios)
