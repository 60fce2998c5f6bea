"""Shared pytest set-up."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.sweep_helpers import BIN, LONGER, QUICK, free_port, write

# --- browser tests (tests/test_app.py) --------------------------------------------------
# Playwright drives Debian's chromium (scripts/setup_browser.sh installs it; Playwright's own
# browser download does not work here). pytest-ipywidgets serves the Solara app inside
# pytest; Solara's front-end files come from the local cache that set-up fills from npm, so
# the tests need no network. Without a chromium the browser tests are skipped, except in CI
# (CI=true) or with LABORFLOW_REQUIRE_BROWSER=1, where that is an error.
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _configure_solara_for_tests() -> None:
    """No telemetry calls, no "runs on Solara" banner over the charts in screenshots."""
    try:
        import solara.server.settings as settings
    except ImportError:
        return
    settings.telemetry.mixpanel_enable = False
    settings.theme.show_banner = False


_configure_solara_for_tests()


def _browser_required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get(
        "LABORFLOW_REQUIRE_BROWSER", ""
    ) in ("1", "true")


def pytest_collection_modifyitems(config, items) -> None:
    if Path(CHROMIUM).is_file() or _browser_required():
        return
    skip = pytest.mark.skip(reason=f"no chromium at {CHROMIUM}: run scripts/setup_browser.sh")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # wide enough for two charts side by side, tall enough to show them all in a screenshot
    return {**browser_context_args, "viewport": {"width": 1600, "height": 1900}}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots of each view go here (git-ignored; CI keeps them)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# --- sweeps (tests/test_sweep_*.py) -------------------------------------------------------
# Reference stores every other sweep must equal: run once per session.


@pytest.fixture(scope="session")
def quick_reference(tmp_path_factory) -> Path:
    """The quick sweep run in this process (--jobs 1): the result every other must equal."""
    from experiments.sweep import run_sweep

    tmp = tmp_path_factory.mktemp("quick")
    result = run_sweep(write(tmp, QUICK), tmp / "store", jobs=1)
    assert result.complete and result.ok == 8
    return tmp / "store"


@pytest.fixture(scope="session")
def longer_reference(tmp_path_factory) -> Path:
    from experiments.sweep import run_sweep

    tmp = tmp_path_factory.mktemp("longer")
    result = run_sweep(write(tmp, LONGER), tmp / "store", jobs=2)
    assert result.complete and result.ok == 32
    return tmp / "store"


@pytest.fixture
def dask_cluster():
    """A Dask scheduler and one single-threaded worker on 127.0.0.1, killed afterwards."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    common = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    procs = [
        subprocess.Popen(
            [
                BIN / "dask",
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
            ],
            **common,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.2)
        procs.append(
            subprocess.Popen(
                [
                    BIN / "dask",
                    "worker",
                    address,
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                ],  # fmt: skip
                **common,
            )
        )
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)
