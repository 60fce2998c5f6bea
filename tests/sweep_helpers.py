"""What the sweep tests share: tiny sweep specs, and ways to compare stores."""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd

from experiments.store import VOLATILE_COLUMNS, read_runs, read_series

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
BIN = Path(sys.executable).parent

TINY = """
[fixed]
n_workers = { value = 500, assumption = "test: a tiny model" }
n_factories = { value = 5, assumption = "test: a tiny model" }
end_date = { value = 2018-06-30, assumption = "test: half a year" }
"""

SMALL = """
[fixed]
n_workers = { value = 2000, assumption = "test: a small town" }
n_factories = { value = 20, assumption = "test: a small town" }
end_date = { value = 2018-12-31, assumption = "test: one year" }
"""

AXES = """
[parameters]
renewal_trip_days = { range = [1, 7], assumption = "test: an integer range" }
cn_jobseekers_per_nk_worker = { range = [0.1, 0.5], assumption = "test: a float range" }
enforcement_start = { range = [2018-03-01, 2018-05-31], assumption = "test: a date range" }
"""


def spec_text(sweep: str, fixed: str = TINY, parameters: str = AXES, base: str = "status_quo.toml"):
    return f'[sweep]\nbase = "{SCENARIOS / base}"\n{textwrap.dedent(sweep)}\n{fixed}\n{parameters}'


QUICK = spec_text(
    """
    name = "quick"
    design = "lhs"
    samples = 4
    replicates = 2
    seed = 3
    series_every_days = 7
    """
)
"""8 tiny runs: integer, float and date ranges, weekly series."""

LONGER = spec_text(
    """
    name = "longer"
    design = "lhs"
    samples = 16
    replicates = 2
    seed = 5
    series_every_days = 30
    """,
    fixed=SMALL,
)
"""32 small runs: long enough (several seconds) to be interrupted part-way."""


def write(folder: Path, text: str, name: str = "spec.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def stored(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and series of a store, without the columns that differ between sessions."""
    return read_runs(folder).drop(columns=list(VOLATILE_COLUMNS)), read_series(folder)


def assert_same_store(a: Path, b: Path) -> None:
    runs_a, series_a = stored(a)
    runs_b, series_b = stored(b)
    assert runs_a.run_id.is_unique and runs_b.run_id.is_unique
    pd.testing.assert_frame_equal(runs_a, runs_b)
    pd.testing.assert_frame_equal(series_a, series_b)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


DRIVER = """
import sys
from experiments.sweep import run_sweep
run_sweep(sys.argv[1], sys.argv[2], jobs=2, flush_every_runs=2, flush_every_seconds=0.2)
"""


def quick_run_ids() -> list[str]:
    """The run ids of QUICK (4 points x 2 replicates)."""
    return [f"{p:06d}-{r:03d}" for p in range(4) for r in range(2)]


def longer_run_ids(from_point: int = 0) -> list[str]:
    """The run ids of LONGER (16 points x 2 replicates) from a point on."""
    return [f"{p:06d}-{r:03d}" for p in range(from_point, 16) for r in range(2)]


def hold_env(release: Path, run_ids: list[str]) -> dict[str, str]:
    """Environment that makes these runs wait (in their worker) until ``release`` exists.

    Each held run creates ``RELEASE.RUN_ID.held`` holding its worker's pid when it starts
    waiting, so a test knows which runs are in flight and where, without timing anything.
    """
    from experiments.runner import HOLD_ENV, HOLD_UNTIL_ENV

    return {**os.environ, HOLD_ENV: ",".join(run_ids), HOLD_UNTIL_ENV: str(release)}


def held(release: Path) -> dict[str, int]:
    """Runs waiting for ``release``: run id -> the pid of the worker holding it."""
    found = {}
    for marker in release.parent.glob(f"{release.name}.*.held"):
        text = marker.read_text()
        if text:
            found[marker.name[len(release.name) + 1 : -len(".held")]] = int(text)
    return found


def wait_for(predicate, what: str, proc=None, seconds: float = 180.0) -> None:
    """Poll until ``predicate()``; fail if ``proc`` ended first or after a generous deadline
    (an event that never comes, not a measure of speed)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        assert proc is None or proc.poll() is None, f"the process ended before {what}"
        assert time.monotonic() < deadline, f"no {what} after {seconds:g} s"
        time.sleep(0.05)


def alive(pids) -> list[int]:
    """The pids that are still running (zombies count as gone)."""
    import psutil

    running = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.append(pid)
        except psutil.NoSuchProcess:
            pass
    return running


POOL_DRIVER = """
import sys, threading
from experiments.sweep import run_sweep
if sys.argv[3] == "forkserver":  # a second thread: the pool then forks from a fork server
    threading.Thread(target=threading.Event().wait, daemon=True).start()
print("started", flush=True)
run_sweep(sys.argv[1], sys.argv[2], jobs=2)
"""
"""A sweep on a local pool (fork or forkserver start method, as the code picks them)."""


SIGNAL_DRIVER = """
import os, signal, sys
import cli.main
import experiments.store as store
import experiments.sweep as sweep

moment, signum, argv = sys.argv[1], getattr(signal, sys.argv[2]), sys.argv[3:]


def send():
    os.kill(os.getpid(), signum)


def before(owner, name):  # the signal comes as owner.name starts
    real = getattr(owner, name)
    def hooked(*args, **kwargs):
        send()
        return real(*args, **kwargs)
    setattr(owner, name, hooked)


def after(owner, name):  # the signal comes as owner.name returns
    real = getattr(owner, name)
    def hooked(*args, **kwargs):
        result = real(*args, **kwargs)
        send()
        return result
    setattr(owner, name, hooked)


if moment == "while importing the commands":
    before(cli.main, "parser")
elif moment == "while loading":
    before(sweep, "build_design")
elif moment == "after the store opens":
    real_open = store.SweepStore.open.__func__
    def opened(cls, *args, **kwargs):
        result = real_open(cls, *args, **kwargs)
        send()
        return result
    store.SweepStore.open = classmethod(opened)
elif moment == "as the last run is stored":
    real_add = store.SweepStore.add
    def add(self, record, added=[]):
        real_add(self, record)
        added.append(record)
        if len(added) == int(os.environ.get("LAST_RUN", "8")):
            send()
    store.SweepStore.add = add
elif moment == "while the store closes":
    before(store.SweepStore, "close")
elif moment == "after the sweep":
    after(sweep, "run_sweep")
sys.exit(cli.main.main(argv))
"""
"""Runs ``laborflow ARGS`` in a process that sends itself a signal at a named moment."""
