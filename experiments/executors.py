"""Where runs execute: in this process, a local process pool, or a Dask cluster.

Everything downstream sees a ``concurrent.futures.Executor`` and a number of worker
slots (to keep a bounded window of runs in flight), so one code path serves a laptop
and a cluster: ``Client(address).get_executor()`` is such an executor.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

from model.errors import ArgumentError

MAX_JOBS_PER_CORE = 4
"""More local processes than this per core only wait for the CPU and take memory (a worker
holds its model, ~150 MB at Dandong scale); a larger --jobs is almost surely a typo."""


def max_jobs() -> int:
    return MAX_JOBS_PER_CORE * (os.cpu_count() or 1)


def check_jobs(jobs: int | None) -> None:
    """Refuse a number of local processes below 1 or above ``max_jobs()``, before any start."""
    if jobs is None:
        return
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= max_jobs():
        raise ArgumentError(
            f"--jobs: {jobs}; allowed: a whole number from 1 to {max_jobs()} "
            f"({MAX_JOBS_PER_CORE} per core, {os.cpu_count() or 1} cores here)"
        )


class InlineExecutor(Executor):
    """Runs each task at submit time, in this process: ``--jobs 1`` and debugging."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # stored, as a pool would, and raised on .result()
            future.set_exception(err)
        return future


def local_executor(jobs: int | None) -> Executor:
    """A process pool with ``jobs`` workers (all cores when None), or inline for 1.

    Workers ignore Ctrl-C: the parent decides what an interrupt means (a sweep finishes
    the runs in flight and stores them). The pool's processes start here, before this
    process starts threads of its own (progress bars, Arrow's pool).
    """
    check_jobs(jobs)
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if jobs == 1:
        return InlineExecutor()
    pool = process_pool(jobs, _start_method(), _ignore_interrupts)
    pool.submit(os.getpid).result()
    return pool


def process_pool(
    workers: int,
    context: multiprocessing.context.BaseContext | None,
    then: Callable[[], None] | None = None,
) -> ProcessPoolExecutor:
    """A process pool whose workers end when the process that made it dies.

    A pool's workers wait on a queue that their parent feeds; if the parent is killed
    (SIGKILL, the OOM killer) they would wait for ever, holding memory and the parent's
    output pipe (``laborflow sweep | cat`` would never end). Each worker calls ``then``
    (picklable: a module-level function) after arranging its own exit.
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=exit_with_owner,
        initargs=(os.getpid(), then),
    )


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def exit_with_owner(owner_pid: int, then: Callable[[], None] | None = None) -> None:
    """Worker initializer: end this process as soon as the pool's owner dies.

    A watchdog thread waits on multiprocessing's parent sentinel (a pipe whose other end
    only the owner holds: end of file means the owner is gone) and then exits. It works
    for both start methods: under "forkserver" the worker's parent process is the fork
    server, which cannot notice the owner's death while its children hold its "alive"
    pipe, so the owner, not the parent, has to be watched. Under "fork" the owner is the
    parent, and on Linux the kernel also kills the worker with it (PR_SET_PDEATHSIG),
    even while a run holds the interpreter.
    """
    if os.getppid() == owner_pid:
        _ask_kernel_for_death_signal()
        if os.getppid() != owner_pid:  # the owner died before the request took effect
            os._exit(1)
    owner = multiprocessing.parent_process()
    if owner is not None:
        threading.Thread(
            target=_exit_when_gone, args=(owner,), name="laborflow-owner-watch", daemon=True
        ).start()
    if then is not None:
        then()


def _ask_kernel_for_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _exit_when_gone(owner: Any) -> None:
    owner.join()  # returns when the owner's end of the sentinel pipe closes
    os._exit(1)


def _start_method() -> multiprocessing.context.BaseContext | None:
    """Fork while this process runs one Python thread (quick); forkserver once it runs more.

    Forking a process whose other threads may hold locks (a notebook kernel, a web app,
    a progress bar's monitor, a Dask client) can deadlock the child, and Python 3.12
    warns about it. The fork server imports the model once and forks workers from that
    clean process. Where there is no fork server (Windows): the platform's default.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["model.model", "experiments.runner"])
    return context


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


CONNECT_TIMEOUT_S = 10.0
"""How long to try reaching a Dask scheduler before saying it is unreachable."""


@contextlib.contextmanager
def open_executor(
    jobs: int | None = None,
    scheduler: str | None = None,
    connect_timeout_s: float | None = None,
) -> Iterator[tuple[Executor, int]]:
    """(executor, worker slots) for ``--jobs N`` or ``--scheduler ADDRESS|local``; closed after.

    ``scheduler="local"`` starts a Dask cluster of ``jobs`` single-threaded worker
    processes on 127.0.0.1; any other value is the address of a running scheduler.
    """
    check_jobs(jobs)
    if scheduler is None:
        executor = local_executor(jobs)
        try:
            yield executor, worker_slots(executor)
        except BaseException:
            abandon(executor)  # an error or an interruption: do not wait for runs in flight
            raise
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
        return
    if scheduler != "local" and jobs is not None:
        raise ArgumentError(
            f"--jobs: sets the local processes; the cluster at {scheduler} has its own workers; "
            "allowed: --jobs without --scheduler, or with --scheduler local"
        )
    with _dask_client(scheduler, jobs, connect_timeout_s or CONNECT_TIMEOUT_S) as client:
        executor = client.get_executor(pure=False)  # every run is its own task
        try:
            yield executor, max(1, _dask_threads(client))
        finally:
            executor.shutdown(wait=False)


@contextlib.contextmanager
def _dask_client(scheduler: str, jobs: int | None, timeout_s: float) -> Iterator:
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover (a dependency of the package)
        raise ArgumentError(f"--scheduler: needs dask[distributed]: {err}") from err
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=jobs or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # connection retries would print tracebacks
    allowed = (
        "allowed: the address of a running scheduler, such as tcp://127.0.0.1:8786, or 'local'"
    )
    try:
        client = Client(scheduler, timeout=timeout_s)
    except (ValueError, TypeError) as err:
        reason = _first_line(err)
        raise ArgumentError(
            f"--scheduler {scheduler}: not an address ({reason}); {allowed}"
        ) from err
    except (OSError, TimeoutError) as err:
        raise ArgumentError(
            f"--scheduler {scheduler}: cannot reach a Dask scheduler within {timeout_s:g} s "
            f"({_first_line(err)}); {allowed}"
        ) from err
    finally:
        quiet.setLevel(level)
    try:
        yield client
    finally:
        client.close()


def _first_line(err: BaseException) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _dask_threads(client) -> int:
    return sum(client.nthreads().values())


def abandon(executor: Executor) -> None:
    """Stop now: cancel what waits and end local worker processes still running a run."""
    processes = dict(getattr(executor, "_processes", None) or {})  # a ProcessPoolExecutor's
    try:
        executor.shutdown(wait=False, cancel_futures=True)
    except TypeError:  # executors without cancel_futures (Dask's) cancel when not waiting
        executor.shutdown(wait=False)
    for process in processes.values():
        with contextlib.suppress(Exception):
            process.terminate()


def worker_slots(executor: Executor) -> int:
    """How many runs the executor runs at once (a guess for executors it does not know)."""
    if isinstance(executor, InlineExecutor):
        return 1
    if isinstance(executor, ProcessPoolExecutor):
        return executor._max_workers  # noqa: SLF001 (no public accessor)
    client = getattr(executor, "_client", None)  # a Dask ClientExecutor
    if client is not None:
        with contextlib.suppress(Exception):
            return max(1, _dask_threads(client))
    return os.cpu_count() or 1
