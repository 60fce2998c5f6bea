"""The live run view: play, step and reset one run and watch the labour gap open.

Built the way Mesa's SolaraViz is (a model per session, play/step/reset controls, components
that redraw when the model moves on), but with our own components because the page needs
what SolaraViz does not offer: a scenario preset picker, an error message next to the
control that caused it, and drawing off the page's thread. Every piece of state here lives
in this component's hooks, so each browser session has its own model and its own controls.
"""

from __future__ import annotations

import html

import solara

from model.scenario import Scenario
from viz import controls
from viz.live import DRAWERS, STEP_CHOICES, Frame, LiveDriver
from viz.widgets import TextControl

CHART_TITLES = {
    "labor_gap": "Labour gap",
    "factory_map": "Factories",
    "factories": "Factories operating and shut",
    "status": "North Korean workers by status",
    "crossings": "Border crossings",
}


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
            solara.Text(f.date.strftime("%d %b %Y").lstrip("0") if f else "…", classes=["lf-date"])
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
    texts: dict[str, str], errors: dict[str, str], on_text, general: str | None
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
                        on_value=lambda v, name=c.name: on_text(name, v),
                        dense=True,
                        classes=["lf-mode"],
                    )
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
def ChartGrid(frame: solara.Reactive[Frame | None]) -> None:
    """The live charts, each with a caption that states its latest numbers."""
    f = frame.value
    with solara.Div(classes=["lf-grid"]):
        for name in DRAWERS:
            picture = f.pictures.get(name) if f else None
            with solara.Div(classes=["lf-chart", f"lf-chart-{name}"]):
                if picture is None:
                    solara.Text(f"{CHART_TITLES[name]}: drawing…", classes=["lf-caption"])
                    continue
                solara.Image(picture.png, classes=["lf-img"])
                solara.Text(picture.caption, classes=["lf-caption"])
        if f and f.headline:
            with solara.Div(classes=["lf-chart", "lf-headline"]):
                solara.Text(f"The run so far ({f.scenario.replace('_', ' ')})", classes=["lf-h"])
                rows = "".join(
                    f"<tr><td>{html.escape(k)}</td><td class='n'>{html.escape(v)}</td></tr>"
                    for k, v in f.headline
                )
                solara.HTML(tag="table", unsafe_innerHTML=rows, classes=["lf-table"])


@solara.component
def LiveView(presets: dict[str, Scenario]) -> None:
    """A scenario preset, its parameters, and one run of it played out."""
    first = next(iter(presets))
    preset = solara.use_reactive(first)
    texts = solara.use_reactive(controls.texts_of(presets[first]))
    seed_text = solara.use_reactive("1")
    frame = solara.use_reactive(None)
    driver = solara.use_memo(lambda: LiveDriver(frame.set), [])
    base = presets[preset.value]
    reading = solara.use_memo(lambda: controls.read(base, texts.value), [preset.value, texts.value])
    seed = _seed(seed_text.value)

    def start() -> None:
        driver.rebuild(presets[first], 1, keep_day=False)
        return driver.close  # the session ends: stop its thread

    solara.use_effect(start, [])

    def apply(new_texts: dict[str, str], scenario: Scenario, new_seed: int | None) -> None:
        r = controls.read(scenario, new_texts)
        if r.ok and new_seed is not None:
            driver.rebuild(r.scenario, new_seed, keep_day=True)

    def on_text(name: str, value: str) -> None:
        new = {**texts.value, name: value}
        texts.set(new)
        apply(new, base, seed)

    def on_preset(name: str) -> None:
        preset.set(name)
        new = controls.texts_of(presets[name])
        texts.set(new)
        apply(new, presets[name], seed)

    def on_seed(value: str) -> None:
        seed_text.set(value)
        apply(texts.value, base, _seed(value))

    def on_reset() -> None:
        if reading.ok and seed is not None:
            driver.rebuild(reading.scenario, seed, keep_day=False)

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
                if not reading.ok:
                    solara.Warning(
                        "Charts show the last valid parameters until the errors are fixed.",
                        dense=True,
                    )
            ParameterControls(texts.value, reading.errors, on_text, reading.general)
        with solara.Column(classes=["lf-main"]):
            ChartGrid(frame)


def _seed(text: str) -> int | None:
    try:
        value = int(text.strip())
    except ValueError:
        return None
    return value if value >= 0 else None
