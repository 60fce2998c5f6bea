"""One browser session's live run: its model, advanced in steps of days, drawn as it goes.

The page never touches the model. A ``LiveDriver`` owns one ``LaborModel`` and a thread that
advances it and draws the charts (with ``viz.charts``, the brief's functions); the page only
receives finished frames (``Frame``). So play, a parameter change or a long catch-up never
block the page, and each session has its own driver: nothing here is shared between
sessions.

After a parameter change the new model is run up to the date the old one had reached, so
the charts show the effect at once; on the way there only the labour gap is redrawn (it is
what people watch). The thread sends figure specs (``viz.figspec``), not pictures: the page
draws them as interactive charts.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from model import metrics
from model.model import LaborModel
from model.scenario import Scenario
from viz import figspec

SLICE_SECONDS = 0.35
"""Simulate at most this long before drawing again."""

FIRST_SLICE_SECONDS = 0.2
"""After a parameter change, simulate at most this long before the first chart: the
updated labour gap then comes within a second."""

STEP_CHOICES = (1, 7, 30, 91)
"""Days per step (and per frame when playing)."""

MIN_FRAME_SECONDS = 0.5
"""When playing, at most two frames a second, whatever the model's size: each frame redraws
five interactive charts in the browser."""


@dataclass(frozen=True)
class Chart:
    """One chart as a figure spec (drawn by the page) and the numbers it shows on its last
    day, in words (for people and tests)."""

    spec: figspec.FigureSpec
    caption: str
    day: int


@dataclass(frozen=True)
class KeyFigure:
    """A number in the strip of key figures at the top: what, how much, and when."""

    label: str
    value: str
    when: str
    meaning: str = ""


@dataclass(frozen=True)
class Frame:
    """What the page shows of a live run; replaced whole, never changed in place."""

    run: int  # counts rebuilds (an older run's charts stay up until redrawn)
    scenario: str
    day: int  # days simulated
    n_days: int
    date: dt.date  # last simulated date (the start date before the first step)
    playing: bool = False
    busy: bool = False  # simulating or drawing
    charts: Mapping[str, Chart] = field(default_factory=dict)
    headline: tuple[tuple[str, str], ...] = ()  # (what, number) pairs for the day
    key_figures: tuple[KeyFigure, ...] = ()
    error: str | None = None
    run_scenario: Scenario | None = None  # the scenario these charts show

    @property
    def finished(self) -> bool:
        return self.day >= self.n_days


def _day_label(model: LaborModel) -> str:
    return figspec.day_text(model.current_date)


def _labor_gap(model: LaborModel, ts: pd.DataFrame, horizon, windows) -> Chart:
    spec = figspec.labour_gap_figure(ts, windows, horizon, model.shutdowns())
    gap = int(ts.labor_gap.iloc[-1]) if len(ts) else 0
    positions = int(ts.positions.iloc[-1]) if len(ts) else 0
    share = f" ({gap / positions:.0%} of positions)" if positions else ""
    lost = int(ts.positions_lost.iloc[-1]) if len(ts) else 0
    caption = (
        f"Labour gap on {_day_label(model)}: {gap:,} positions{share}; "
        f"{lost:,} positions lost (cut or in shut factories)"
    )
    return Chart(spec, caption, model.day)


def _factories(model: LaborModel, ts: pd.DataFrame, horizon, windows) -> Chart:
    spec = figspec.factories_figure(ts, windows, horizon)
    shut = int(ts.factories_shut.iloc[-1]) if len(ts) else 0
    caption = f"Factories shut by {_day_label(model)}: {shut:,} of {model.factories.n:,}"
    return Chart(spec, caption, model.day)


def _status(model: LaborModel, ts: pd.DataFrame, horizon, windows) -> Chart:
    spec = figspec.status_figure(ts, windows, horizon)
    n = int(ts.nk_in_china.iloc[-1]) if len(ts) else model.initial_workers
    over = int(ts.nk_overstaying.iloc[-1]) if len(ts) else 0
    caption = f"In China on {_day_label(model)}: {n:,} North Korean workers, {over:,} overstaying"
    return Chart(spec, caption, model.day)


def _crossings(model: LaborModel, ts: pd.DataFrame, horizon, windows) -> Chart:
    spec = figspec.crossings_figure(ts, windows, horizon)
    ins = int(ts.border_entries.tail(7).sum()) if len(ts) else 0
    outs = int(ts.border_exits.tail(7).sum()) if len(ts) else 0
    caption = f"Week to {_day_label(model)}: {ins:,} crossed into China, {outs:,} out"
    return Chart(spec, caption, model.day)


def _factory_map(model: LaborModel, ts: pd.DataFrame, horizon, windows) -> Chart:
    table = model.factory_table()
    spec = figspec.factory_map_figure(table, f"Factories on {_day_label(model)}")
    counts = table.state.value_counts()
    caption = " · ".join(
        f"{state} ({int(counts.get(state, 0)):,})" for state in figspec.STATE_COLORS
    )
    return Chart(spec, caption + " · click a factory for its story", model.day)


def key_figures(model: LaborModel, ts: pd.DataFrame) -> tuple[KeyFigure, ...]:
    """The strip at the top: factories shut, positions lost, labour gap, workers in China."""
    s = model.summary()
    today = _day_label(model)
    first = s["first_shutdown"]
    gap_now = int(ts.labor_gap.iloc[-1]) if len(ts) else 0
    peak = f"peak {s['peak_labor_gap']:,} on {_iso_words(s['peak_labor_gap_date'])}"
    in_china = int(ts.nk_in_china.iloc[-1]) if len(ts) else s["initial_nk_workers"]
    lost = int(ts.positions_lost.iloc[-1]) if len(ts) else 0
    return (
        KeyFigure(
            metrics.label("factories_shut"),
            f"{s['factories_shut']:,} of {s['factories']:,}",
            f"first on {_iso_words(first)}" if first else f"none by {today}",
            metrics.measure("factories_shut").meaning,
        ),
        KeyFigure(
            metrics.label("positions_lost") if "positions_lost" in metrics.SERIES_BY_NAME
            else "Positions lost",
            f"{lost:,}",
            f"by {today}",
            "Positions cut, or in factories that shut, since the start: they are gone from "
            "the labour gap.",
        ),
        KeyFigure(
            metrics.label("labor_gap"), f"{gap_now:,}", f"on {today}; {peak}",
            metrics.measure("labor_gap").meaning,
        ),
        KeyFigure(
            metrics.label("nk_in_china"),
            f"{in_china:,} of {s['initial_nk_workers']:,}",
            f"on {today}",
            metrics.measure("nk_in_china").meaning,
        ),
    )  # fmt: skip


def _iso_words(iso: str | None) -> str:
    return figspec.day_text(dt.date.fromisoformat(iso)) if iso else "–"


def headline(model: LaborModel) -> tuple[tuple[str, str], ...]:
    """The run's numbers so far, as the command line's summary gives them (every summary
    metric the registry lists and the run reports, so new ones appear by themselves)."""
    s = model.summary()
    peak = (
        f"{s['peak_labor_gap']:,} on {_iso_words(s['peak_labor_gap_date'])}" if s["days"] else "–"
    )
    in_china = int(model.nk_in_china) if s["days"] else s["initial_nk_workers"]

    def shown(name: str) -> tuple[str, str]:
        m = metrics.measure(name)
        unit = f" {m.unit}" if m.scale != 1 else ""
        return m.label, metrics.fmt(name, s[name]) + unit

    rows = [
        (metrics.label("nk_in_china"), f"{in_china:,} of {s['initial_nk_workers']:,}"),
        (metrics.label("peak_labor_gap"), peak),
        (metrics.label("factories_shut"), f"{s['factories_shut']:,} of {s['factories']:,}"),
        ("First shutdown", _iso_words(s["first_shutdown"]) if s["first_shutdown"] else "none yet"),
    ]
    done = {"factories_shut", "peak_labor_gap", "nk_in_china_at_deadline",
            "nk_overstaying_at_deadline"}  # fmt: skip
    for m in metrics.SUMMARY:
        if m.name not in done and s.get(m.name) is not None and not isinstance(s[m.name], dict):
            rows.append(shown(m.name))
    return tuple(rows)


DRAWERS: dict[str, Callable[..., Chart]] = {
    "labor_gap": _labor_gap,
    "factory_map": _factory_map,
    "factories": _factories,
    "status": _status,
    "crossings": _crossings,
}
"""The live charts, in drawing order: what people watch first is sent first."""


class LiveDriver:
    """A session's model and the thread that runs and draws it.

    Commands (``rebuild``, ``step``, ``play``, ``pause``, ``run_to_end``) only set a target
    day and return at once; the thread does the work and calls ``publish(frame)`` after each
    chart it draws.
    """

    def __init__(self, publish: Callable[[Frame], None]):
        self._publish = publish
        self._wake = threading.Condition()
        self._model: LaborModel | None = None
        self._scenario: Scenario | None = None
        self._pending: tuple[Scenario, int, bool] | None = None  # (scenario, seed, keep day)
        self._target = 0  # simulate up to this day
        self._step_days = 30
        self._playing = False
        self._closed = False
        self._run = 0
        self._last_frame = 0.0
        self._headline: tuple[tuple[str, str], ...] = ()
        self._key_figures: tuple[KeyFigure, ...] = ()
        self._model_lock = threading.Lock()
        self._announce = False  # the thread runs the model; the page reads it
        self._fresh = False  # just rebuilt: the first slice is short, to show a chart soon
        self._stale = False  # only the labour gap was drawn for the current day
        self.frame: Frame | None = None
        self._thread = threading.Thread(target=self._loop, name="laborflow-live", daemon=True)
        self._thread.start()

    # --- commands (called from the page) -------------------------------------------------

    def rebuild(self, scenario: Scenario, seed: int, keep_day: bool = True) -> None:
        """A new model; with ``keep_day`` it is run to the day the old one had reached."""
        with self._wake:
            self._pending = (scenario, seed, keep_day)
            if not keep_day:
                self._playing = False
            self._wake.notify()

    def step(self, days: int | None = None) -> None:
        with self._wake:
            self._target = max(self._target, self._day_now()) + (days or self._step_days)
            self._wake.notify()

    def run_to_end(self) -> None:
        with self._wake:
            self._target = 10**9
            self._wake.notify()

    def set_step_days(self, days: int) -> None:
        with self._wake:
            self._step_days = max(1, int(days))

    def play(self) -> None:
        with self._wake:
            self._playing = True
            self._wake.notify()

    def pause(self) -> None:
        with self._wake:
            self._playing = False
            self._target = self._day_now()
            self._announce = True  # the page hears it stopped, even if nothing is left to draw
            self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()

    @property
    def playing(self) -> bool:
        return self._playing

    # --- the thread -----------------------------------------------------------------------

    def _day_now(self) -> int:
        return self._model.day if self._model is not None else 0

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._closed and not self._has_work():
                    self._wake.wait()
                if self._closed:
                    return
                pending, self._pending = self._pending, None
            try:
                if pending is not None:
                    self._build(*pending)
                elif self._announce and not self._simulating():
                    self._announce = False
                    self._send(busy=False)
                else:
                    self._advance()
            except Exception as err:  # shown on the page; the session goes on
                with self._wake:
                    self._playing = False
                    self._target = self._day_now()
                self._send(error=f"The run stopped: {type(err).__name__}: {err}")

    def _simulating(self) -> bool:
        model = self._model
        if model is None or model.day >= model.horizon.n_days:
            return False
        return self._playing or self._target > model.day

    def _has_work(self) -> bool:
        if self._pending is not None or self._stale or self._announce:
            return True
        model = self._model
        if model is None or model.day >= model.horizon.n_days:
            return False
        return self._playing or self._target > model.day

    def _build(self, scenario: Scenario, seed: int, keep_day: bool) -> None:
        day = max(self._day_now(), self._target) if keep_day else 0
        model = LaborModel(rng=seed, scenario=scenario)
        with self._wake:
            self._model, self._scenario = model, scenario
            self._run += 1
            self._fresh = True
            self._target = min(day, model.horizon.n_days)
        if self._target == 0:
            self._draw()  # the start: empty charts, every factory operating

    def _advance(self) -> None:
        """Simulate one slice (a step when playing, else towards the target), then draw."""
        model = self._model
        assert model is not None
        if self._playing:  # frames no faster than people can follow, even for small models
            wait = MIN_FRAME_SECONDS - (time.perf_counter() - self._last_frame)
            if wait > 0:
                with self._wake:
                    self._wake.wait(wait)
                if self._pending is not None or self._closed:
                    return
        with self._wake:
            if self._playing and self._target <= model.day:
                self._target = model.day + self._step_days
            end = min(self._target, model.horizon.n_days)
        started = time.perf_counter()
        budget = FIRST_SLICE_SECONDS if self._fresh else SLICE_SECONDS
        self._fresh = False
        while model.day < end and time.perf_counter() - started < budget:
            with self._model_lock:
                model.run_for(min(end - model.day, 7))
            if self._pending is not None:
                return
        if model.day >= model.horizon.n_days:
            self._playing = False
        self._last_frame = time.perf_counter()
        # on the way to a far target (run to end, a re-run after a change) only the labour
        # gap is redrawn, so the target is reached sooner; everything is drawn there
        self._draw(everything=self._playing or model.day >= end)

    def _draw(self, everything: bool = True) -> None:
        model, scenario, run = self._model, self._scenario, self._run
        assert model is not None and scenario is not None
        with self._model_lock:
            ts = model.timeseries()
            horizon = (model.horizon.start, model.horizon.date_of(model.horizon.n_days - 1))
            windows = figspec.policy_windows([scenario])
            if everything:
                self._headline = headline(model)
                self._key_figures = key_figures(model, ts)
            names = list(DRAWERS) if everything else list(DRAWERS)[:1]
            drawn = {name: DRAWERS[name](model, ts, horizon, windows) for name in names}
        self._stale = not everything
        if self._pending is not None or self._closed:
            return  # rebuilt meanwhile: the old run's charts are not wanted
        self._send(drawn, busy=not everything or self._has_work(), run=run)

    def factory_story(self, factory: int) -> tuple[pd.DataFrame, dict | None] | None:
        """Factory ``factory``'s weekly history and its shutdown (when, why), or None if there
        is no such factory in the current run."""
        with self._model_lock:
            model = self._model
            if model is None or not 0 <= factory < model.factories.n:
                return None
            history = model.factory_history(factory)
            shut = model.shutdowns()
            rows = shut[shut.factory == factory]
            return history, (rows.iloc[0].to_dict() if len(rows) else None)

    def _send(
        self,
        drawn: Mapping[str, Chart] | None = None,
        busy: bool = False,
        error: str | None = None,
        run: int | None = None,
    ) -> None:
        model, scenario = self._model, self._scenario
        old = self.frame
        shown = dict(old.charts) if old is not None else {}  # older ones stay until redrawn
        shown.update(drawn or {})
        if model is None or scenario is None:
            frame = Frame(0, "", 0, 0, dt.date.today(), charts=shown, error=error)
        else:
            frame = Frame(
                run=self._run if run is None else run,
                scenario=scenario.name,
                day=model.day,
                n_days=model.horizon.n_days,
                date=model.current_date,
                playing=self._playing,
                busy=busy,
                charts=shown,
                headline=self._headline,
                key_figures=self._key_figures,
                error=error,
                run_scenario=scenario,
            )
        self.frame = frame
        try:
            self._publish(frame)
        except Exception:  # the page is gone: stop this session's thread
            self._closed = True
