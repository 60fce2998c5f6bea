"""Where a result came from: package version, git commit, scenario hash, seed, time."""

from __future__ import annotations

import datetime as dt
import functools
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def package_version() -> str:
    try:
        return metadata.version("laborflow")
    except metadata.PackageNotFoundError:
        from model import __version__

        return __version__


@functools.cache
def git_commit() -> str | None:
    """The commit of the source tree (with '-dirty' if it has changes), or None outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        )
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(scenario_hash: str, seed: int, scenario_name: str | None = None) -> dict[str, Any]:
    import mesa

    return {
        "package": "laborflow",
        "version": package_version(),
        "git_commit": git_commit(),
        "scenario": scenario_name,
        "scenario_hash": scenario_hash,
        "seed": int(seed),
        "mesa_version": mesa.__version__,
        "python": platform.python_version(),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
