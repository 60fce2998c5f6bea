"""Where a result came from: package and library versions, git commit, time; the one builder.

A run's summary, a comparison, a sweep's manifest and every stored run carry what this
module returns, plus what identifies them (scenario hash, seeds), so any number laborflow
writes can be traced to the code and inputs that made it.
"""

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


@functools.cache
def _versions() -> dict[str, str | None]:
    """Versions of what the numbers depend on (scipy draws the LHS and Sobol' designs)."""

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {
        "mesa_version": version("mesa"),
        "numpy_version": version("numpy"),
        "scipy_version": version("scipy"),
        "python": platform.python_version(),
    }


def provenance(**identity: Any) -> dict[str, Any]:
    """Package, version, git commit, library versions and time, plus ``identity`` (seed, ...)."""
    return {
        "package": "laborflow",
        "version": package_version(),
        "git_commit": git_commit(),
        **identity,
        **_versions(),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
