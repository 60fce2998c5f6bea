"""SIGINT and SIGTERM stop a sweep cleanly: what finished is stored, and it says how to resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from experiments.store import read_runs
from tests.sweep_helpers import (
    BIN,
    LONGER,
    POOL_DRIVER,
    QUICK,
    alive,
    assert_same_store,
    held,
    hold_env,
    quick_run_ids,
    wait_for,
    write,
)


def test_sigterm_stores_what_finished_and_says_how_to_resume(
    tmp_path: Path, longer_reference: Path
) -> None:
    path, out = write(tmp_path, LONGER), tmp_path / "store"
    cmd = [BIN / "laborflow", "sweep", str(path), "--jobs", "2", "--out", str(out)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(iter(proc.stderr.readline, "")))
    reader.start()
    deadline = time.monotonic() + 120
    while not any("already stored, writing to" in line for line in err):  # runs have started
        assert proc.poll() is None and time.monotonic() < deadline, "".join(err)
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    reader.join(timeout=30)
    text = "".join(err)
    assert proc.returncode == 128 + signal.SIGTERM, text
    assert "interrupted by SIGTERM" in text and f"--out {out} --resume" in text
    partial = read_runs(out)
    assert len(partial) < 32 and partial.run_id.is_unique
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
