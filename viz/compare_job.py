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
from model.parameters import PARAMS_BY_NAME, POLICY_PARAMETERS
from model.scenario import Scenario
from viz import charts, figspec
from viz.controls import shown_value

TIMELINE_DPI = 200  # the one static picture on the page: sharp on a high-resolution screen
SCREEN_INCHES = 6.0
REDRAW_SECONDS = 2.0
"""Rebuild the comparison and redraw its bands at most this often while runs go on."""


@dataclass(frozen=True)
class Progress:
    """What the compare view shows; replaced whole as runs finish."""

    total: int
    done: int = 0
    elapsed: float = 0.0
    comparison: Comparison | None = None
    figures: dict[str, figspec.FigureSpec] = field(default_factory=dict)
    timeline_png: bytes = b""
    finished: bool = False
    cancelled: bool = False
    error: str | None = None

    @property
    def running(self) -> bool:
        return not (self.finished or self.cancelled or self.error)


def draw(comparison: Comparison) -> tuple[dict[str, figspec.FigureSpec], bytes]:
    """The compare view's band figures (specs the page draws, as the brief does) and the
    policy timeline as a picture."""
    windows = figspec.policy_windows(comparison.scenarios[1:])
    figures = figspec.comparison_band_figures(comparison.bands, windows)
    timeline = charts.policy_timeline(comparison.scenarios)
    height = timeline.get_size_inches()[1]
    png = charts.to_png(charts.for_screen(timeline, SCREEN_INCHES, height), TIMELINE_DPI)
    return figures, png


def beyond_policy(scenarios: Sequence[Scenario]) -> list[str]:
    """How the scenarios differ from the first in more than policy, in a reader's words.

    A comparison's differences are a policy's effect only when everything else is equal;
    status quo at 20,000 workers against another scenario at 100,000 measures the scale.
    """
    if len(scenarios) < 2:
        return []
    base = scenarios[0]
    found = []
    for s in scenarios[1:]:
        for name, value in s.params.items():
            if name in POLICY_PARAMETERS or value == base.params[name]:
                continue
            spec = PARAMS_BY_NAME[name]
            found.append(
                f"{spec.label}: {shown_value(value)} in {s.name.replace('_', ' ')}, "
                f"{shown_value(base.params[name])} in {base.name.replace('_', ' ')}"
            )
    return found


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
                figures, timeline = draw(comparison)
                progress = _replace(
                    progress, comparison=comparison, figures=figures, timeline_png=timeline
                )
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
