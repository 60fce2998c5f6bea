"""A scenario comparison run in the background for one browser session.

Runs go to a process pool through the one run driver (``experiments.runner``) and come back
one by one; as they do, the comparison is rebuilt from the runs so far
(``experiments.comparison.build_comparison`` works on a partial set) and its band
charts redrawn, at most every couple of seconds, so the bands fill in as runs finish. (Doing
that in one more process was tried: pickling the runs there and back cost the page as much
as it saved.) Seeds are submitted one at a time across all scenarios, so paired differences
appear early.

The pool uses the "forkserver" start method: forking a threaded web server can copy a lock
held by another thread and hang the child.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from experiments.comparison import (
    Comparison,
    build_comparison,
    comparison_tasks,
    replicate_seeds,
)
from experiments.errors import Interrupted
from experiments.executors import process_pool
from experiments.runner import run_all
from experiments.store import RunRecord
from model.scenario import Scenario
from viz import charts

CHART_DPI = 100
SCREEN_INCHES = (6.0, 3.0)  # about 600 x 300 pixels: the charts' size on the page
REDRAW_SECONDS = 2.0
"""Rebuild the comparison and redraw its bands at most this often while runs go on."""


@dataclass(frozen=True)
class Progress:
    """What the compare view shows; replaced whole as runs finish."""

    total: int
    done: int = 0
    elapsed: float = 0.0
    comparison: Comparison | None = None
    pictures: dict[str, bytes] = field(default_factory=dict)
    finished: bool = False
    cancelled: bool = False
    error: str | None = None

    @property
    def running(self) -> bool:
        return not (self.finished or self.cancelled or self.error)


def draw(comparison: Comparison) -> dict[str, bytes]:
    """The compare view's band charts (the brief draws the same functions)."""
    marks = charts.policy_marks(comparison.scenarios[1:])
    figures = {
        "labor_gap": charts.labor_gap_chart(comparison.bands, marks),
        "factories_shut": charts.factories_shut_chart(comparison.bands, marks),
        "nk_in_china": charts.nk_in_china_chart(comparison.bands, marks),
        "policy_timeline": charts.policy_timeline(comparison.scenarios),
    }
    pngs = {}
    for name, fig in figures.items():
        height = fig.get_size_inches()[1] if name == "policy_timeline" else SCREEN_INCHES[1]
        pngs[name] = charts.to_png(charts.for_screen(fig, SCREEN_INCHES[0], height), CHART_DPI)
    return pngs


def _lower_priority() -> None:
    """Runs yield the CPU to the page's server: it answers clicks first, runs use the rest."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)


def _pool(workers: int) -> ProcessPoolExecutor:
    """Workers that end with the app's server process, however it ends."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["experiments.runner", "model.model"])  # workers start warm
    return process_pool(workers, ctx, _lower_priority)


class CompareJob:
    """Runs ``scenarios`` x ``replicates`` seeds and publishes a ``Progress`` as they finish."""

    def __init__(
        self,
        scenarios: Sequence[Scenario],
        replicates: int,
        master_seed: int,
        publish: Callable[[Progress], None],
        workers: int | None = None,
    ):
        self.scenarios = list(scenarios)
        self.seeds = replicate_seeds(master_seed, replicates)
        self._publish = publish
        self._workers = workers or max(1, min(os.cpu_count() or 1, 4))
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="laborflow-compare", daemon=True)
        self.progress = Progress(total=len(self.scenarios) * len(self.seeds))

    def start(self) -> CompareJob:
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    def _send(self, progress: Progress) -> None:
        self.progress = progress
        try:
            self._publish(progress)
        except Exception:  # the page is gone: nobody to show the rest to
            self._cancel.set()

    def _run(self) -> None:
        started = time.perf_counter()
        records: list[RunRecord] = []
        last_draw = 0.0

        def arrived(record: RunRecord) -> None:
            nonlocal last_draw
            records.append(record)
            progress = _replace(self.progress, done=len(records), elapsed=_since(started))
            complete = len(records) == progress.total
            if complete or time.perf_counter() - last_draw > REDRAW_SECONDS:
                comparison = build_comparison(self.scenarios, self.seeds, records)
                progress = _replace(progress, comparison=comparison, pictures=draw(comparison))
                last_draw = time.perf_counter()
            self._send(progress)

        pool = _pool(self._workers)
        try:
            run_all(
                comparison_tasks(self.scenarios, self.seeds),
                executor=pool,
                on_result=arrived,
                should_stop=self._cancel.is_set,
            )
            self._send(_replace(self.progress, finished=True, elapsed=_since(started)))
        except Interrupted:
            self._send(_replace(self.progress, cancelled=True, elapsed=_since(started)))
        except Exception as err:
            self._send(
                _replace(
                    self.progress, error=f"{type(err).__name__}: {err}", elapsed=_since(started)
                )
            )
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def _since(started: float) -> float:
    return time.perf_counter() - started


def _replace(progress: Progress, **changes) -> Progress:
    return dataclasses.replace(progress, **changes)
