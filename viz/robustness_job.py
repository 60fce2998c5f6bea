"""A robustness ensemble run in the background for one browser session.

As ``viz.compare_job`` does for a comparison: the runs go to a forkserver process pool
through the one run driver and come back one by one; at most every couple of seconds the
ensemble is read again from the runs so far (``RobustnessResult.from_records`` works on a
partial set) and its figures redrawn, so the bands across worlds and the contrasts' spread
fill in as worlds finish. Worlds are submitted one after another, every scenario and seed of
a world together, so each finished world adds a whole contrast. Reading an ensemble costs
more than reading a comparison, so the wait between redraws grows with what the last took.
"""

from __future__ import annotations

import dataclasses
import html
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from experiments.errors import Interrupted
from experiments.robustness import Ensemble, RobustnessResult, build_ensemble
from experiments.runner import run_all
from experiments.store import RunRecord
from model import metrics
from model.scenario import Scenario
from viz import charts, robustness_charts
from viz.compare_job import REDRAW_SECONDS, _pool
from viz.robustness_text import in_short, robust_findings, scenario_words

CHART_DPI = 100
SCREEN_INCHES = (6.0, 3.0)  # about 600 x 300 pixels: the charts' size on the page

MIN_WORLDS_TO_DRAW = 3
"""Contrasts' drivers need a few worlds before the figure says anything."""
REDRAW_SHARE = 4.0
"""After a redraw that took t seconds the next waits at least 4t: reading the ensemble
(bootstrap, PRIM, figures) takes seconds, and the runs should keep most of the CPU."""


@dataclass(frozen=True)
class RobustnessProgress:
    """What the robustness view shows; replaced whole as runs finish."""

    total: int
    done: int = 0
    elapsed: float = 0.0
    result: RobustnessResult | None = None
    pictures: dict[str, bytes] = field(default_factory=dict)
    findings: tuple[str, ...] = ()
    in_short: str = ""  # what holds across the worlds and what depends on the assumptions
    table_html: str = ""
    finished: bool = False
    cancelled: bool = False
    error: str | None = None

    @property
    def running(self) -> bool:
        return not (self.finished or self.cancelled or self.error)


def draw(result: RobustnessResult) -> dict[str, bytes]:
    """The robustness view's figures (the brief draws the same functions)."""
    contrast, metric = result.headline
    marks = charts.policy_marks(result.ensemble.scenarios[1:])
    figures = {"factories_shut": charts.factories_shut_chart(result.bands, marks)}
    if result.worlds_done >= 1:
        figures["distribution"] = robustness_charts.contrast_distribution_chart(result, metric)
    if result.worlds_done >= MIN_WORLDS_TO_DRAW:
        figures["driver"] = robustness_charts.driver_chart(result, contrast, metric)
    pngs = {}
    for name, fig in figures.items():
        height = fig.get_size_inches()[1] if name == "distribution" else SCREEN_INCHES[1]
        pngs[name] = charts.to_png(charts.for_screen(fig, SCREEN_INCHES[0], height), CHART_DPI)
    return pngs


def contrast_table_html(result: RobustnessResult) -> str:
    """Each contrast on each compared metric with a direction, as an HTML table."""
    head = (
        "<tr><th>Metric</th><th>Policy − reference</th><th class='n'>Policy better in</th>"
        "<th class='n'>Median</th><th class='ci'>10–90% of worlds</th>"
        "<th class='n'>Seeds ± (within a world)</th></tr>"
    )
    rows = []
    for metric in result.compared:
        if not metrics.direction(metric):
            continue
        for i, c in enumerate(result.contrasts):
            r = result.contrast(c, metric)
            label = html.escape(metrics.measure(metric).label_with_unit) if i == 0 else ""
            seeds = (
                "±" + metrics.fmt(metric, r["seed_width"] / 2)
                if r["seed_width"] == r["seed_width"]
                else "–"
            )
            rows.append(
                f"<tr class='{'first' if i == 0 else ''}'><td class='metric'>{label}</td>"
                f"<td>{html.escape(scenario_words(c.scenario))} − "
                f"{html.escape(scenario_words(c.reference))}</td>"
                f"<td class='n'>{int(r['better'])} of {int(r['worlds'])}</td>"
                f"<td class='n'>{metrics.fmt(metric, r['median'], signed=True)}</td>"
                f"<td class='ci'>{metrics.fmt_interval(metric, r['q10'], r['q90'], True)}</td>"
                f"<td class='n'>{seeds}</td></tr>"
            )
    body = "".join(rows)
    return (
        f"<table class='lf-table lf-robust-table'><thead>{head}</thead><tbody>{body}</tbody>"
        "</table>"
    )


class RobustnessJob:
    """Runs an ensemble and publishes a ``RobustnessProgress`` as its runs finish."""

    def __init__(
        self,
        scenarios: Sequence[Scenario],
        worlds: int,
        replicates: int,
        master_seed: int,
        publish: Callable[[RobustnessProgress], None],
        workers: int | None = None,
    ):
        import os

        self.ensemble: Ensemble = build_ensemble(list(scenarios), worlds, replicates, master_seed)
        self._publish = publish
        self._workers = workers or max(1, min(os.cpu_count() or 1, 4))
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="laborflow-robustness", daemon=True)
        self.progress = RobustnessProgress(total=self.ensemble.total)

    def start(self) -> RobustnessJob:
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    def _send(self, progress: RobustnessProgress) -> None:
        self.progress = progress
        try:
            self._publish(progress)
        except Exception:  # the page is gone: nobody to show the rest to
            self._cancel.set()

    def _run(self) -> None:
        started = time.perf_counter()
        records: list[RunRecord] = []
        per_world = len(self.ensemble.scenarios) * self.ensemble.replicates
        next_draw, drawn_worlds = 0.0, -1

        def arrived(record: RunRecord) -> None:
            nonlocal next_draw, drawn_worlds
            records.append(record)
            progress = dataclasses.replace(
                self.progress, done=len(records), elapsed=_since(started)
            )
            complete = len(records) == progress.total
            worlds = len(records) // per_world  # about the worlds done: runs come world by world
            due = worlds > drawn_worlds and time.perf_counter() >= next_draw
            if complete or due or progress.result is None:
                drawing = time.perf_counter()
                result = RobustnessResult.from_records(self.ensemble, records)
                progress = dataclasses.replace(progress, result=result, **_shown(result))
                took = time.perf_counter() - drawing
                next_draw = time.perf_counter() + max(REDRAW_SECONDS, REDRAW_SHARE * took)
                drawn_worlds = worlds
            self._send(progress)

        pool = _pool(self._workers)
        try:
            run_all(
                self.ensemble.tasks(self.ensemble.points()),
                executor=pool,
                on_result=arrived,
                should_stop=self._cancel.is_set,
            )
            done = dataclasses.replace(self.progress, finished=True, elapsed=_since(started))
            self._send(done)
        except Interrupted:
            self._send(dataclasses.replace(self.progress, cancelled=True, elapsed=_since(started)))
        except Exception as err:
            self._send(
                dataclasses.replace(
                    self.progress, error=f"{type(err).__name__}: {err}", elapsed=_since(started)
                )
            )
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def _shown(result: RobustnessResult) -> dict:
    """Figures, findings and table of the ensemble so far (seconds of work: off the page)."""
    if not result.worlds_done:
        return {"pictures": draw(result)}
    return {
        "pictures": draw(result),
        "findings": tuple(f.text for f in robust_findings(result)),
        "in_short": in_short(result),
        "table_html": contrast_table_html(result),
    }


def _since(started: float) -> float:
    return time.perf_counter() - started
