"""The robustness view: scenarios run in many plausible worlds, filling in as worlds finish.

The ensemble runs in a background job (``viz.robustness_job``) owned by this session; the
page shows its latest progress: the bands of factories shut across worlds, each contrast's
spread across worlds, the headline contrast against its strongest driver, the findings as
the brief words them (``viz.robustness_text``) and the table of contrasts; the runs and
tables download as CSV.
"""

from __future__ import annotations

import html
import io

import pandas as pd
import solara

from model.errors import InputError
from model.scenario import Scenario
from viz.robustness_job import RobustnessJob, RobustnessProgress
from viz.widgets import TextControl

WORLD_CHOICES = (10, 20, 50, 100, 200)
SEED_CHOICES = (1, 2, 4)
DEFAULT_SCENARIOS = ("status_quo", "gradual_return", "abrupt_return")
FIGURES = {
    "distribution": "Each policy against another, one dot per plausible world",
    "driver": "The headline contrast against the assumption that drives it most",
    "factories_shut": "Factories shut across plausible worlds: median world, 10-90% band",
}


def _csv(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode()


@solara.component
def RobustnessView(presets: dict[str, Scenario]) -> None:
    """Pick scenarios, worlds and seeds, run, and watch the ensemble fill in."""
    chosen = solara.use_reactive([n for n in DEFAULT_SCENARIOS if n in presets])
    worlds = solara.use_reactive(20)
    seeds = solara.use_reactive(1)
    seed_text = solara.use_reactive("1")
    progress = solara.use_reactive(None)
    refused = solara.use_reactive(None)
    job = solara.use_ref(None)

    def stop_on_exit():
        return lambda: job.current and job.current.cancel()

    solara.use_effect(stop_on_exit, [])
    p: RobustnessProgress | None = progress.value
    running = bool(p and p.running)
    order = [n for n in presets if n in chosen.value]
    seed = int(seed_text.value) if seed_text.value.strip().isdigit() else None
    problem = None
    if len(order) < 2:
        problem = "Pick at least two scenarios: the first is the base of the contrasts."
    elif seed is None:
        problem = "The first seed must be a whole number, such as 1."

    def toggle(name: str, on: bool) -> None:
        chosen.set([n for n in presets if (n in chosen.value or n == name) and (on or n != name)])
        refused.set(None)

    def run() -> None:
        if job.current:
            job.current.cancel()
        try:
            started = RobustnessJob(
                [presets[n] for n in order], worlds.value, seeds.value, seed or 1, progress.set
            )
        except InputError as err:  # e.g. a scenario that sets an assumption the worlds vary
            refused.set(str(err))
            return
        refused.set(None)
        job.current = started.start()
        progress.set(job.current.progress)

    def cancel() -> None:
        if job.current:
            job.current.cancel()

    with solara.Row(
        classes=["lf-live"], style={"align-items": "flex-start", "flex-wrap": "nowrap"}
    ):
        with solara.Column(classes=["lf-side"]):
            with solara.Card("Scenarios", classes=["lf-card"]):
                for name in presets:
                    with solara.Div(classes=["lf-check", f"lf-rcheck-{name}"]):
                        solara.Checkbox(
                            label=name.replace("_", " "),
                            value=name in chosen.value,
                            on_value=lambda on, name=name: toggle(name, on),
                            disabled=running,
                        )
                solara.Text(
                    "The first ticked is the base; its file's plausible ranges define the worlds.",
                    classes=["lf-help"],
                )
            with solara.Card("Ensemble", classes=["lf-card"]):
                solara.Text("Plausible worlds", classes=["lf-label"])
                solara.ToggleButtonsSingle(
                    value=worlds.value,
                    values=list(WORLD_CHOICES),
                    on_value=worlds.set,
                    dense=True,
                    classes=["lf-replicates", "lf-worlds"],
                )
                solara.Text("Seeds per scenario in each world", classes=["lf-label"])
                solara.ToggleButtonsSingle(
                    value=seeds.value,
                    values=list(SEED_CHOICES),
                    on_value=seeds.set,
                    dense=True,
                    classes=["lf-replicates", "lf-world-seeds"],
                )
                TextControl(
                    "First seed (also scrambles the worlds)",
                    seed_text.value,
                    seed_text.set,
                    error=None if seed is not None else "a whole number, such as 1",
                    hint="the same seeds in every world and scenario",
                    classes=["lf-input-robust-seed"],
                )
                if problem:
                    solara.Warning(problem, dense=True)
                if refused.value:
                    solara.Error(refused.value, classes=["lf-refused"])
                with solara.Row(classes=["lf-buttons"]):
                    solara.Button(
                        "Run ensemble",
                        icon_name="mdi-play",
                        on_click=run,
                        color="primary",
                        disabled=running or problem is not None,
                    )
                    solara.Button(
                        "Cancel",
                        icon_name="mdi-stop",
                        on_click=cancel,
                        outlined=True,
                        disabled=not running,
                    )
            if p is not None:
                ProgressCard(p)
        with solara.Column(classes=["lf-main"]):
            Results(p, len(order), worlds.value, seeds.value)


@solara.component
def ProgressCard(p: RobustnessProgress) -> None:
    with solara.Card("Progress", classes=["lf-card"]):
        solara.ProgressLinear(value=100 * p.done / max(p.total, 1), classes=["lf-progress"])
        state = (
            "complete"
            if p.finished
            else "cancelled"
            if p.cancelled
            else "failed"
            if p.error
            else "running"
        )
        worlds = p.result.worlds_done if p.result is not None else 0
        total = p.result.ensemble.worlds if p.result is not None else "?"
        solara.Text(
            f"{p.done} of {p.total} runs done · {worlds} of {total} worlds done · "
            f"{p.elapsed:.0f} s · {state}",
            classes=["lf-progress-text", "lf-robust-progress", f"lf-{state}"],
        )
        if p.error:
            solara.Error(p.error)


@solara.component
def Results(p: RobustnessProgress | None, n_scenarios: int, worlds: int, seeds: int) -> None:
    if p is None or p.result is None:
        with solara.Card(classes=["lf-card", "lf-empty"]):
            if p is None:
                solara.Text(
                    f"Run the ensemble: {n_scenarios} scenarios in each of {worlds} plausible "
                    f"worlds, {seeds} seed(s) each. Each world draws every assumption from its "
                    "plausible range (a Latin hypercube); within a world the scenarios differ "
                    "only by policy. The charts show which conclusions hold across worlds.",
                    classes=["lf-help"],
                )
            else:
                solara.Text("Waiting for the first runs…", classes=["lf-help"])
        return
    result = p.result
    with solara.Div(classes=["lf-grid"]):
        for name, title in FIGURES.items():
            if name in p.pictures:
                with solara.Div(classes=["lf-chart", f"lf-robust-{name}"]):
                    solara.Text(title, classes=["lf-h"])
                    solara.Image(p.pictures[name], classes=["lf-img"])
    if result.worlds_done:
        with solara.Card("Findings across plausible worlds", classes=["lf-card"]):
            note = "" if p.finished else f" (so far: {result.worlds_done} worlds)"
            solara.Text(
                "As the policy brief words them; a conclusion shared by fewer than 90% of "
                f"worlds is said to depend on the assumptions{note}.",
                classes=["lf-help"],
            )
            if p.in_short:
                solara.HTML(tag="p", unsafe_innerHTML=f"<b>{html.escape(p.in_short)}</b>")
            items = "".join(f"<li>{html.escape(text)}</li>" for text in p.findings)
            solara.HTML(tag="ul", unsafe_innerHTML=items, classes=["lf-findings"])
        with solara.Card("Contrasts across worlds", classes=["lf-card"]):
            solara.HTML(tag="div", unsafe_innerHTML=p.table_html, classes=["lf-table-wrap"])
            with solara.Row(classes=["lf-downloads"]):
                solara.FileDownload(
                    lambda: _csv(result.runs),
                    filename="worlds.csv",
                    label="Runs by world (CSV)",
                    mime_type="text/csv",
                )
                solara.FileDownload(
                    lambda: _csv(result.contrast_table),
                    filename="robustness.csv",
                    label="Contrasts (CSV)",
                    mime_type="text/csv",
                )
