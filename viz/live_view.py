"""The live run view: play, step and reset one run and watch the labour gap open.

Built the way Mesa's SolaraViz is (a model per session, play/step/reset controls, components
that redraw when the model moves on), but with our own components because the page needs
what SolaraViz does not offer: a scenario preset picker, an error message next to the
control that caused it, drawing off the page's thread, a run that says how it differs from
its preset, a link and a scenario file that bring it back, and a factory drill-down. Every
piece of state lives in this component's hooks, so each browser session has its own model.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import pandas as pd
import solara

from model.scenario import Scenario
from viz import controls, figspec
from viz.live import DRAWERS, STEP_CHOICES, Chart, Frame, KeyFigure, LiveDriver
from viz.widgets import FigureBox, TextControl

CHART_TITLES = {
    "labor_gap": "Labour gap",
    "factory_map": "Factories",
    "factories": "Factories operating and shut",
    "status": "North Korean workers by status",
    "crossings": "Border crossings",
}

GAP_EXPLAINED = (
    "The labour gap counts positions in operating factories that nobody staffs that day. "
    "A position that is cut, or that belongs to a factory that shut, is no longer open: it "
    "drops out of the gap and counts as a position lost. So the gap can close because "
    "factories shut; read it together with positions lost. An \u00d7 marks a factory shutting "
    "(hover for which and why; click it for its story)."
)


@solara.component
def RunControls(driver: LiveDriver, frame: solara.Reactive[Frame | None], on_reset) -> None:
    """Date, progress through the horizon, and play / step / reset."""
    f = frame.value
    step_days = solara.use_reactive(30)
    playing = bool(f and f.playing)
    finished = bool(f and f.finished)

    def toggle_play() -> None:
        if driver.playing:
            driver.pause()
        else:
            driver.play()

    def set_step(days: int) -> None:
        step_days.set(days)
        driver.set_step_days(days)

    with solara.Card(classes=["lf-card"]):
        with solara.Row(classes=["lf-date-row"], style={"align-items": "baseline"}):
            solara.Text(figspec.day_text(f.date) if f else "…", classes=["lf-date"])
            if f and f.n_days:
                solara.Text(f"day {f.day:,} of {f.n_days:,}", classes=["lf-day"])
            if f and f.busy:
                solara.Text("running…", classes=["lf-busy"])
        solara.ProgressLinear(value=100 * f.day / f.n_days if f and f.n_days else 0)
        with solara.Row(classes=["lf-buttons"]):
            solara.Button(
                "Pause" if playing else "Play",
                icon_name="mdi-pause" if playing else "mdi-play",
                on_click=toggle_play,
                color="primary",
                disabled=finished,
            )
            solara.Button(
                "Step", icon_name="mdi-step-forward", on_click=lambda: driver.step(), outlined=True
            )
            solara.Button(
                "Run to end",
                icon_name="mdi-skip-forward",
                on_click=driver.run_to_end,
                outlined=True,
            )
            solara.Button("Reset", icon_name="mdi-restore", on_click=on_reset, outlined=True)
        solara.Text("Days per step", classes=["lf-label"])
        solara.ToggleButtonsSingle(
            value=step_days.value,
            values=list(STEP_CHOICES),
            on_value=set_step,
            dense=True,
            classes=["lf-step-days"],
        )
        if f and f.error:
            solara.Error(f.error)


@solara.component
def ParameterControls(
    texts: dict[str, str],
    errors: dict[str, str],
    on_text,
    on_mode,
    general: str | None,
    mode_note: str,
) -> None:
    """The parameters people ask about first, grouped, each with its own error message."""
    if general:
        solara.Error(general, classes=["lf-error"])
    for group in controls.GROUPS:
        with solara.Card(group, classes=["lf-card", "lf-group"]):
            for c in (c for c in controls.CONTROLS if c.group == group):
                error = errors.get(c.name)
                if c.name == "repatriation_mode":
                    solara.Text(c.label, classes=["lf-label"])
                    solara.ToggleButtonsSingle(
                        value=texts[c.name],
                        values=["none", "gradual", "abrupt"],
                        on_value=on_mode,
                        dense=True,
                        classes=["lf-mode"],
                    )
                    if mode_note:
                        solara.Info(mode_note, dense=True, classes=["lf-mode-note"])
                    continue
                TextControl(
                    c.label,
                    texts[c.name],
                    lambda value, name=c.name: on_text(name, value),
                    error=error,
                    hint=c.hint,
                    classes=[f"lf-input-{c.name}"],
                )


@solara.component
def ChartBox(name: str, chart: Chart | None, on_pick: Callable[[int], None] | None = None):
    """One live chart, or a placeholder until it is first drawn."""
    if chart is None:
        with solara.Div(classes=["lf-chart", f"lf-chart-{name}"]):
            solara.Text(f"{CHART_TITLES[name]}: drawing…", classes=["lf-caption"])
        return
    FigureBox(chart.spec, [f"lf-chart-{name}"], chart.caption, on_pick)


@solara.component
def KeyFigures(figures: tuple[KeyFigure, ...]) -> None:
    """Factories shut, positions lost, labour gap, workers in China: each with its date."""
    with solara.Div(classes=["lf-keys"]):
        for k in figures:
            with solara.Div(classes=["lf-key"], attributes={"title": k.meaning}):
                solara.Text(k.label, classes=["lf-key-label"])
                solara.Text(k.value, classes=["lf-key-value"])
                solara.Text(k.when, classes=["lf-key-when"])


@solara.component
def FactoryStory(driver: LiveDriver, factory: int, frame: Frame, on_close) -> None:
    """One factory week by week: staffing (and hours), wages, cash, and why it shut."""
    story = solara.use_memo(lambda: driver.factory_story(factory), [factory, frame.run, frame.day])
    with solara.Card(classes=["lf-card", "lf-story"]):
        if story is None:
            solara.Text(f"No factory {factory} in this run.", classes=["lf-help"])
            return
        history, shut = story
        table = frame.charts.get("factory_map")
        sector = ""
        if table is not None:
            for pts in table.spec.points:
                if pts.ids and factory in pts.ids:
                    text = pts.text[list(pts.ids).index(factory)]
                    sector = text.split(":")[0].split("(")[-1].rstrip(")")
        if shut:
            fate = (
                f"shut on {figspec.day_text(pd.Timestamp(shut['date']).date())}: "
                f"{figspec._reason(shut['reason'])}; "
                f"{int(shut['positions']):,} positions, {int(shut['cn_jobs_lost']):,} Chinese "
                f"jobs lost, {int(shut['nk_sent_home']):,} North Korean workers sent home"
            )
        else:
            fate = f"operating on {figspec.day_text(frame.date)}"
        with solara.Row(style={"align-items": "baseline"}):
            solara.Text(f"Factory {factory}" + (f" ({sector})" if sector else ""), classes=["lf-h"])
            solara.Text(fate, classes=["lf-story-fate"])
            solara.Button("Close", icon_name="mdi-close", on_click=on_close, text=True)
        if len(history) == 0:
            solara.Text("No week recorded yet: step the run forward.", classes=["lf-help"])
            return
        windows = figspec.policy_windows([frame.run_scenario]) if frame.run_scenario else ()
        specs = figspec.factory_history_figures(history, shut, windows)
        with solara.Div(classes=["lf-grid"]):
            for spec in specs:
                FigureBox(spec, [f"lf-story-{spec.key}"], height=320)


@solara.component
def RunTitle(base: Scenario, changed: dict, seed: int) -> None:
    """Which run the charts show: a preset, or 'modified from' one with what was changed."""
    with solara.Div(classes=["lf-run-title"]):
        solara.Text(controls.run_name(base, changed).capitalize(), classes=["lf-run-name"])
        solara.Text(f"{base.title} · seed {seed}", classes=["lf-run-sub"])
        if changed:
            items = "".join(
                f"<li>{html.escape(t)}</li>" for t in controls.changes_text(base, changed)
            )
            solara.HTML(tag="ul", unsafe_innerHTML=items, classes=["lf-changes"])


@solara.component
def LiveView(
    presets: dict[str, Scenario],
    link: controls.Link | None = None,
    on_link: Callable[[str], None] | None = None,
    on_add: Callable[[Scenario, Scenario], None] | None = None,
) -> None:
    """A scenario preset, its parameters, and one run of it played out."""
    link = link or controls.from_query("", presets)
    preset = solara.use_reactive(link.preset)
    texts = solara.use_reactive(link.texts)
    seed_text = solara.use_reactive(str(link.seed))
    mode_note = solara.use_reactive("")
    frame = solara.use_reactive(None)
    picked = solara.use_reactive(None)
    driver = solara.use_memo(lambda: LiveDriver(frame.set), [])
    base = presets[preset.value]
    reading = solara.use_memo(lambda: controls.read(base, texts.value), [preset.value, texts.value])
    seed = _seed(seed_text.value)
    changed = controls.changes(base, reading.scenario) if reading.ok else {}
    valid = solara.use_ref(base)  # the last run the controls described without an error
    if reading.ok:
        valid.current = reading.scenario

    def start() -> None:
        first = controls.read(presets[link.preset], link.texts)
        driver.rebuild(first.scenario if first.ok else presets[link.preset], link.seed, False)
        return driver.close  # the session ends: stop its thread

    solara.use_effect(start, [])

    def share() -> None:  # the page's address says what is shown
        if on_link is not None and reading.ok and seed is not None:
            on_link(controls.query_of(preset.value, changed, seed))

    solara.use_effect(share, [preset.value, texts.value, seed_text.value])

    def apply(new_texts: dict[str, str], scenario: Scenario, new_seed: int | None) -> None:
        r = controls.read(scenario, new_texts)
        if r.ok and new_seed is not None:
            driver.rebuild(r.scenario, new_seed, keep_day=True)

    def on_text(name: str, value: str) -> None:
        new = {**texts.value, name: value}
        texts.set(new)
        mode_note.set("")
        apply(new, base, seed)

    def on_mode(mode: str) -> None:
        new, note = controls.with_mode(base, texts.value, mode)
        texts.set(new)
        mode_note.set(note)
        apply(new, base, seed)

    def on_preset(name: str) -> None:
        preset.set(name)
        new = controls.texts_of(presets[name])
        texts.set(new)
        mode_note.set("")
        apply(new, presets[name], seed)

    def on_seed(value: str) -> None:
        seed_text.set(value)
        apply(texts.value, base, _seed(value))

    def on_reset() -> None:
        if reading.ok and seed is not None:
            driver.rebuild(reading.scenario, seed, keep_day=False)

    def toml() -> bytes:
        return controls.scenario_toml(base, valid.current, seed or 1).encode()

    with solara.Row(
        classes=["lf-live"], style={"align-items": "flex-start", "flex-wrap": "nowrap"}
    ):
        with solara.Column(classes=["lf-side"]):
            RunControls(driver, frame, on_reset)
            with solara.Card("Scenario", classes=["lf-card"]):
                solara.Select(
                    "Preset (scenario file)",
                    values=list(presets),
                    value=preset.value,
                    on_value=on_preset,
                    classes=["lf-preset"],
                )
                solara.Text(base.title, classes=["lf-help"])
                TextControl(
                    "Seed",
                    seed_text.value,
                    on_seed,
                    error=None if seed is not None else "a whole number, such as 1",
                    hint="same seed, same run",
                    classes=["lf-input-seed"],
                )
                if link.ignored:
                    solara.Warning(
                        "The link asked for what this app does not know, left out: "
                        + ", ".join(link.ignored),
                        dense=True,
                    )
                # always there (what they offer is the last valid run), so the page does not
                # jump while a field is being fixed
                with solara.Row(classes=["lf-buttons"]):
                    with solara.Div(classes=["lf-toml"]):
                        solara.FileDownload(
                            toml,
                            filename=f"{base.name}{'_modified' if changed else ''}.toml",
                            label="Scenario file (TOML)",
                            mime_type="application/toml",
                        )
                    if on_add is not None:
                        solara.Button(
                            "Add to comparison",
                            icon_name="mdi-playlist-plus",
                            on_click=lambda: on_add(base, valid.current),
                            outlined=True,
                            disabled=not reading.ok,
                            classes=["lf-add"],
                        )
                solara.Text(
                    "The page's address holds this run: copy it to share.", classes=["lf-help"]
                )
            ParameterControls(
                texts.value, reading.errors, on_text, on_mode, reading.general, mode_note.value
            )
        with solara.Column(classes=["lf-main"]):
            RunTitle(base, changed, seed or 1)
            f: Frame | None = frame.value
            if f and f.key_figures:
                KeyFigures(f.key_figures)
            if not reading.ok:
                solara.Warning(
                    "Charts show the last valid parameters: fix the fields marked in red.",
                    classes=["lf-stale-banner"],
                )
            solara.Text(GAP_EXPLAINED, classes=["lf-help", "lf-gap-help"])
            with solara.Div(classes=["lf-grid", "lf-stale" if not reading.ok else "lf-fresh"]):
                for name in DRAWERS:
                    chart = f.charts.get(name) if f else None
                    ChartBox(name, chart, on_pick=picked.set)
            if f and picked.value is not None:
                FactoryStory(driver, picked.value, f, lambda: picked.set(None))
            if f and f.headline:
                with solara.Div(classes=["lf-chart", "lf-headline"]):
                    shown = controls.run_name(base, changed) if reading.ok else "last valid run"
                    solara.Text(f"The run so far ({shown})", classes=["lf-h"])
                    rows = "".join(
                        f"<tr><td>{html.escape(k)}</td><td class='n'>{html.escape(v)}</td></tr>"
                        for k, v in f.headline
                    )
                    solara.HTML(tag="table", unsafe_innerHTML=rows, classes=["lf-table"])


def _seed(text: str) -> int | None:
    try:
        value = int(text.strip())
    except ValueError:
        return None
    return value if value >= 0 else None
