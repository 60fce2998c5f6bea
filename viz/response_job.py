"""A one-parameter response, run in the background: one metric against a parameter's values.

The scenario is run at a few values of one parameter, every value with the same seeds
(common random numbers, as in a comparison), through the one run driver
(``experiments.runner.run_all``) on the compare view's process pool; as runs come back the
curve (median over seeds, 10-90% band) is rebuilt, so it fills in point by point.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.comparison import comparison_tasks, replicate_seeds
from experiments.errors import Interrupted
from experiments.runner import run_all
from experiments.store import RunRecord
from model.parameters import PARAMS_BY_NAME
from model.scenario import Scenario
from viz.compare_job import _pool

SERIES_EVERY_DAYS = 365  # only the summary is used: keep the daily series small


def values_between(parameter: str, low: float, high: float, points: int) -> list[float | int]:
    """``points`` evenly spaced values from low to high (whole numbers for a count)."""
    spec = PARAMS_BY_NAME[parameter]
    values = np.linspace(low, high, max(points, 2))
    if spec.kind == "int":
        return sorted({int(round(v)) for v in values})
    return [float(f"{v:.6g}") for v in values]


def response_table(
    records: Sequence[RunRecord], values: Sequence[float], metric: str
) -> pd.DataFrame:
    """One row per value with runs so far: value, runs, mean, q10, q50, q90 of the metric."""
    rows = []
    by_point: dict[int, list[float]] = {}
    for r in records:
        if r.status == "ok" and r.summary.get(metric) is not None:
            by_point.setdefault(r.point, []).append(float(r.summary[metric]))
    for point, got in sorted(by_point.items()):
        x = np.asarray(got)
        q10, q50, q90 = np.quantile(x, [0.1, 0.5, 0.9])
        rows.append(
            {
                "value": values[point],
                "runs": len(x),
                "mean": x.mean(),
                "q10": q10,
                "q50": q50,
                "q90": q90,
            }  # fmt: skip
        )
    return pd.DataFrame(rows, columns=["value", "runs", "mean", "q10", "q50", "q90"])


@dataclass(frozen=True)
class ResponseProgress:
    """What the page shows of a response run; replaced whole as runs finish."""

    scenario: str
    parameter: str
    metric: str
    values: tuple
    total: int
    done: int = 0
    elapsed: float = 0.0
    table: pd.DataFrame | None = None
    finished: bool = False
    cancelled: bool = False
    error: str | None = None

    @property
    def running(self) -> bool:
        return not (self.finished or self.cancelled or self.error)


class ResponseJob:
    """Runs ``scenario`` at each value of ``parameter`` x ``replicates`` shared seeds."""

    def __init__(
        self,
        scenario: Scenario,
        parameter: str,
        values: Sequence[float],
        metric: str,
        replicates: int,
        publish: Callable[[ResponseProgress], None],
        master_seed: int = 1,
        workers: int | None = None,
    ):
        self.values = list(values)
        self.metric = metric
        self.scenarios = [
            dataclasses.replace(
                scenario.with_overrides({parameter: v}, origin="response"),
                name=f"{parameter}={v}",
            )
            for v in self.values
        ]
        self.seeds = replicate_seeds(master_seed, replicates)
        self._publish = publish
        self._workers = workers or 2
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="laborflow-response", daemon=True)
        self.progress = ResponseProgress(
            scenario.name, parameter, metric, tuple(self.values), len(self.values) * replicates
        )

    def start(self) -> ResponseJob:
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    def _send(self, **changes) -> None:
        self.progress = dataclasses.replace(self.progress, **changes)
        try:
            self._publish(self.progress)
        except Exception:  # the page is gone
            self._cancel.set()

    def _run(self) -> None:
        started = time.perf_counter()
        records: list[RunRecord] = []

        def arrived(record: RunRecord) -> None:
            records.append(record)
            table = response_table(records, self.values, self.metric)
            self._send(done=len(records), elapsed=time.perf_counter() - started, table=table)

        pool = _pool(self._workers)
        try:
            run_all(
                comparison_tasks(self.scenarios, self.seeds, SERIES_EVERY_DAYS),
                executor=pool,
                on_result=arrived,
                should_stop=self._cancel.is_set,
            )
            self._send(finished=True, elapsed=time.perf_counter() - started)
        except Interrupted:
            self._send(cancelled=True, elapsed=time.perf_counter() - started)
        except Exception as err:
            self._send(error=f"{type(err).__name__}: {err}", elapsed=time.perf_counter() - started)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
