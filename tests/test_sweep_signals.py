"""SIGINT and SIGTERM stop a sweep cleanly: what finished is stored, and it says how to resume."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

from experiments.store import read_runs
from tests.sweep_helpers import (
    BIN,
    LONGER,
    assert_same_store,
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
