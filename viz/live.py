"""One browser session's live run: its model, advanced in steps of days, drawn as it goes.

The page never touches the model. A ``LiveDriver`` owns one ``LaborModel`` and a thread that
advances it and draws the charts (with ``viz.charts``, the brief's functions); the page only
receives finished pictures (``Frame``). So play, a parameter change or a long catch-up never
block the page, and each session has its own driver: nothing here is shared between
sessions.

After a parameter change the new model is run up to the date the old one had reached, so
the charts show the effect at once; the labour gap is drawn first (it is what people watch)
and each chart is sent as soon as it is drawn.
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
from viz import charts

CHART_DPI = 100
SCREEN_INCHES = (6.0, 3.0)  # about 600 x 300 pixels: the charts' size on the page
SLICE_SECONDS = 0.35
"""Simulate at most this long before drawing again."""

FIRST_SLICE_SECONDS = 0.2
"""After a parameter change, simulate at most this long before the first chart: with the
drawing (~0.3 s here) the first updated chart comes within a second."""

STEP_CHOICES = (1, 7, 30, 91)
"""Days per step (and per frame when playing)."""

MIN_FRAME_SECONDS = 0.25
"""When playing, at most four frames a second, whatever the model's size."""


@dataclass(frozen=True)
class Picture:
    """One drawn chart and the numbers it shows on its last day (for people and tests)."""

    png: bytes
    caption: str
    day: int


@dataclass(frozen=True)
class Frame:
    """What the page shows of a live run; replaced whole, never changed in place."""

    run: int  # counts rebuilds (an older run's pictures stay up until redrawn)
    scenario: str
    day: int  # days simulated
    n_days: int
    date: dt.date  # last simulated date (the start date before the first step)
    playing: bool = False
    busy: bool = False  # simulating or drawing
    pictures: Mapping[str, Picture] = field(default_factory=dict)
    headline: tuple[tuple[str, str], ...] = ()  # (what, number) pairs for the day
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.day >= self.n_days


def _png(fig, height: float = SCREEN_INCHES[1]) -> bytes:
    return charts.to_png(charts.for_screen(fig, SCREEN_INCHES[0], height), CHART_DPI)


def _day_label(model: LaborModel) -> str:
    return model.current_date.strftime("%d %b %Y").lstrip("0")


def _labor_gap(model: LaborModel, ts: pd.DataFrame, horizon, marks) -> Picture:
    fig = charts.lines_chart(
        ts,
        {"labor_gap": "positions not staffed"},
        "Labour gap: positions not staffed",
        "positions",
        marks,
        horizon=horizon,
    )
    gap = int(ts.labor_gap.iloc[-1]) if len(ts) else 0
    positions = int(ts.positions.iloc[-1]) if len(ts) else 0
    share = f" ({gap / positions:.0%} of positions)" if positions else ""
    caption = f"Labour gap on {_day_label(model)}: {gap:,} positions{share}"
    return Picture(_png(fig), caption, model.day)


def _factories(model: LaborModel, ts: pd.DataFrame, horizon, marks) -> Picture:
    fig = charts.lines_chart(
        ts,
        {
            "factories_operating": "operating",
            "factories_distressed": "short-staffed",
            "factories_shut": "shut (cumulative)",
        },
        "Factories operating and shut",
        "factories",
        marks,
        colors=[charts.STATE_COLORS[s] for s in ("operating", "short-staffed", "shut")],
        horizon=horizon,
    )
    shut = int(ts.factories_shut.iloc[-1]) if len(ts) else 0
    caption = f"Factories shut by {_day_label(model)}: {shut:,} of {model.factories.n:,}"
    return Picture(_png(fig), caption, model.day)


def _status(model: LaborModel, ts: pd.DataFrame, horizon, marks) -> Picture:
    fig = charts.status_chart(ts, marks, horizon=horizon)
    n = int(ts.nk_in_china.iloc[-1]) if len(ts) else model.initial_workers
    over = int(ts.nk_overstaying.iloc[-1]) if len(ts) else 0
    caption = f"In China on {_day_label(model)}: {n:,} North Korean workers, {over:,} overstaying"
    return Picture(_png(fig), caption, model.day)


def _crossings(model: LaborModel, ts: pd.DataFrame, horizon, marks) -> Picture:
    weekly = ts.assign(
        entries=ts.border_entries.rolling(7, min_periods=1).sum(),
        exits=ts.border_exits.rolling(7, min_periods=1).sum(),
    )
    fig = charts.lines_chart(
        weekly,
        {"entries": "into China", "exits": "out of China"},
        "Border crossings of North Korean workers",
        "crossings in the last 7 days",
        marks,
        colors=["#1f6fb4", "#d1495b"],
        horizon=horizon,
    )
    ins = int(weekly.entries.iloc[-1]) if len(ts) else 0
    outs = int(weekly.exits.iloc[-1]) if len(ts) else 0
    caption = f"Week to {_day_label(model)}: {ins:,} crossed into China, {outs:,} out"
    return Picture(_png(fig), caption, model.day)


def _factory_map(model: LaborModel, ts: pd.DataFrame, horizon, marks) -> Picture:
    table = model.factory_table()
    fig = charts.factory_map(table, f"Factories on {_day_label(model)}")
    counts = table.state.value_counts()
    caption = " · ".join(
        f"{state} ({int(counts.get(state, 0)):,})" for state in charts.STATE_COLORS
    )
    return Picture(_png(fig, 3.4), caption, model.day)


def headline(model: LaborModel) -> tuple[tuple[str, str], ...]:
    """The run's numbers so far, as the command line's summary gives them."""
    s = model.summary()
    peak = f"{s['peak_labor_gap']:,} on {s['peak_labor_gap_date']}" if s["days"] else "–"
    in_china = int(model.nk_in_china) if s["days"] else s["initial_nk_workers"]

    def shown(name: str) -> tuple[str, str]:
        m = metrics.measure(name)
        unit = f" {m.unit}" if m.scale != 1 else ""
        return m.label, metrics.fmt(name, s[name]) + unit

    return (
        (metrics.label("nk_in_china"), f"{in_china:,} of {s['initial_nk_workers']:,}"),
        (metrics.label("peak_labor_gap"), peak),
        (metrics.label("factories_shut"), f"{s['factories_shut']:,} of {s['factories']:,}"),
        ("First shutdown", s["first_shutdown"] or "none yet"),
        shown("cn_jobs_lost"),
        shown("output_lost"),
        shown("extra_wage_cost"),
        shown("nk_deported_total"),
    )


DRAWERS: dict[str, Callable[..., Picture]] = {
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
                else:
                    self._advance()
            except Exception as err:  # shown on the page; the session goes on
                with self._wake:
                    self._playing = False
                    self._target = self._day_now()
                self._send(error=f"The run stopped: {type(err).__name__}: {err}")

    def _has_work(self) -> bool:
        if self._pending is not None or self._stale:
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
        ts = model.timeseries()
        horizon = (model.horizon.start, model.horizon.date_of(model.horizon.n_days - 1))
        marks = charts.policy_marks([scenario])
        if everything:
            self._headline = headline(model)
        names = list(DRAWERS) if everything else list(DRAWERS)[:1]
        self._stale = not everything
        for i, name in enumerate(names):
            if i and (self._pending is not None or self._closed):
                return  # rebuilt meanwhile: stop drawing the old run
            picture = DRAWERS[name](model, ts, horizon, marks)
            last = i == len(names) - 1
            busy = not (everything and last) or self._has_work()
            self._send(picture=(name, picture), busy=busy, run=run)

    def _send(
        self,
        picture: tuple[str, Picture] | None = None,
        busy: bool = False,
        error: str | None = None,
        run: int | None = None,
    ) -> None:
        model, scenario = self._model, self._scenario
        old = self.frame
        pictures = dict(old.pictures) if old is not None else {}  # older ones stay until redrawn
        if picture is not None:
            pictures[picture[0]] = picture[1]
        if model is None or scenario is None:
            frame = Frame(0, "", 0, 0, dt.date.today(), pictures=pictures, error=error)
        else:
            frame = Frame(
                run=self._run if run is None else run,
                scenario=scenario.name,
                day=model.day,
                n_days=model.horizon.n_days,
                date=model.current_date,
                playing=self._playing,
                busy=busy,
                pictures=pictures,
                headline=self._headline,
                error=error,
            )
        self.frame = frame
        try:
            self._publish(frame)
        except Exception:  # the page is gone: stop this session's thread
            self._closed = True
