"""SIGINT and SIGTERM stop a sweep cleanly: what finished is stored, and it says how to resume."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from experiments.store import read_runs
from tests.sweep_helpers import (
    BIN,
    LONGER,
    POOL_DRIVER,
    QUICK,
    SIGNAL_DRIVER,
    alive,
    assert_same_store,
    held,
    hold_env,
    longer_run_ids,
    quick_run_ids,
    wait_for,
    write,
)


def test_sigterm_stores_what_finished_and_says_how_to_resume(
    tmp_path: Path, longer_reference: Path
) -> None:
    """The sweep cannot finish before the signal: its second half waits (the hold hook)
    until the test has seen the sweep acknowledge the stop. No step depends on speed."""
    path, out, release = write(tmp_path, LONGER), tmp_path / "store", tmp_path / "release"
    cmd = [BIN / "laborflow", "sweep", str(path), "--jobs", "2", "--out", str(out)]
    proc = subprocess.Popen(
        cmd, stderr=subprocess.PIPE, text=True, env=hold_env(release, longer_run_ids(8))
    )
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(iter(proc.stderr.readline, "")))
    reader.start()
    try:
        wait_for(lambda: list((out / "runs").glob("part-*.parquet")), "a stored run", proc)
        stored_at_signal = len(read_runs(out))
        proc.send_signal(signal.SIGTERM)
        wait_for(lambda: any("stopping: waiting for" in line for line in err), "the stop", proc)
    finally:
        release.touch()  # the held runs in flight may now finish and be stored
        proc.wait(timeout=120)
        reader.join(timeout=30)
    text = "".join(err)
    assert proc.returncode == 128 + signal.SIGTERM, text
    assert "interrupted by SIGTERM" in text and f"--out {out} --resume" in text
    partial = read_runs(out)
    assert stored_at_signal <= len(partial) < 32 and partial.run_id.is_unique
    assert not list(out.rglob(".*.tmp"))
    done = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{len(partial)} already stored" in done.stderr
    assert_same_store(longer_reference, out)


@pytest.mark.parametrize("start_method", ["fork", "forkserver"])
def test_pool_workers_exit_when_the_sweep_is_killed(tmp_path: Path, start_method: str) -> None:
    """kill -9 (or the OOM killer) gives the sweep no chance to stop its pool: the workers
    must notice on their own, and release the pipe the sweep's output goes to."""
    import psutil

    path, out, release = write(tmp_path, QUICK), tmp_path / "store", tmp_path / "release"
    proc = subprocess.Popen(
        [sys.executable, "-c", POOL_DRIVER, str(path), str(out), start_method],
        env=hold_env(release, quick_run_ids()),
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    family: list[int] = []
    try:
        wait_for(lambda: len(held(release)) == 2, "two runs held by two workers", proc)
        workers = set(held(release).values())
        family = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        assert workers <= set(family)
        parents = {psutil.Process(pid).ppid() for pid in workers}
        assert (parents == {proc.pid}) == (start_method == "fork")  # the method in use
        proc.kill()
        proc.wait(timeout=30)
        wait_for(lambda: not alive(family), "end of the killed sweep's processes")
        assert proc.stdout.read() == b"started\n"  # end of file: nobody holds the pipe
    finally:
        release.touch()
        for pid in alive([proc.pid, *family]):
            os.kill(pid, signal.SIGKILL)


WINDOWS = {
    # moment: (exit status, what the one line says), for SIGTERM (143) and SIGINT (130)
    "while importing the commands": ("interrupted by {sig}; nothing was written", None),
    "while loading": ("interrupted by {sig}; nothing was written", None),
    "after the store opens": ("interrupted by {sig}: 0 of 8 runs stored in {out}; finish with:", 0),
    "as the last run is stored": ("8 of 8 runs stored in {out} (complete)", 8),
    "while the store closes": ("8 of 8 runs stored in {out}", 8),
    "after the sweep": ("interrupted by {sig} after writing ", 8),
}


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("moment", WINDOWS)
def test_a_signal_at_any_moment_ends_with_one_line_and_nothing_left_running(
    tmp_path: Path, moment: str, sig: str
) -> None:
    """From the first import to the pool's shutdown a signal is handled: one line, the
    right exit status, no traceback, no process left, and what it says is true."""
    import psutil

    path, out = write(tmp_path, QUICK), tmp_path / "store"
    argv = ["sweep", str(path), "--jobs", "2", "--out", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGNAL_DRIVER, moment, sig, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    family: set[int] = set()
    while proc.poll() is None:  # who it started (pool workers, a fork server)
        with contextlib.suppress(psutil.Error):
            family |= {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
    stdout, stderr = proc.communicate(timeout=120)
    said, stored = WINDOWS[moment]
    said = said.format(sig=sig, out=out)
    text = stdout + stderr
    complete = stored == 8 and "interrupted" not in said
    assert proc.returncode == (0 if complete else 128 + getattr(signal, sig)), text
    assert "Traceback" not in text and said in text, text
    lines = [line for line in stderr.splitlines() if line.startswith("laborflow: interrupted")]
    assert len(lines) == (0 if complete else 1), text
    assert "nothing was written" not in text or not out.exists()
    if stored is not None:
        assert len(read_runs(out)) == stored
    wait_for(lambda: not alive(family), "the end of every process the sweep started")


def test_the_command_module_loads_nothing_before_it_handles_signals() -> None:
    """Ctrl-C during start-up printed a traceback: the signal came while the console
    script imported the commands, before main() could catch it. cli.main now imports
    only what handling a signal needs; everything else is imported inside main()."""
    code = "import sys, cli.main; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    ours = [m for m in loaded if m.split(".")[0] in ("model", "experiments", "viz", "numpy")]
    assert ours == [] and "argparse" not in loaded, ours


def test_an_analysis_stopped_once_its_sweep_is_complete_says_how_to_analyse(
    tmp_path: Path,
) -> None:
    """sensitivity runs a sweep, then the analysis: a SIGTERM that comes as the last run
    is stored leaves a complete store, no half analysis, and the command that analyses."""
    from tests.test_evidence import tiny_spec

    spec, out = tiny_spec(tmp_path), tmp_path / "sens"
    argv = ["sensitivity", str(spec), "--jobs", "1", "--out", str(out)]
    stopped = subprocess.run(
        [sys.executable, "-c", SIGNAL_DRIVER, "as the last run is stored", "SIGTERM", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "LAST_RUN": "20"},
        timeout=300,
    )
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr
    assert f"20 of 20 runs stored in {out} (complete)" in stopped.stdout
    assert stopped.stderr.strip().splitlines()[-1] == (
        "laborflow: stopped by SIGTERM once every run was stored; analyse them with: "
        f"laborflow sensitivity {spec} --out {out}"
    )
    assert not (out / "sensitivity.csv").exists() and len(read_runs(out)) == 20
    again = subprocess.run([BIN / "laborflow", *argv], capture_output=True, text=True)
    assert again.returncode == 0 and "20 already stored" in again.stderr
    assert (out / "sensitivity.csv").is_file()
