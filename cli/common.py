"""What the commands share: exit statuses, common options, output checks, progress bars.

Nothing here imports the model's machinery at import time: ``laborflow --help`` builds the
parser from these functions alone, with argparse and no more (not even ``typing`` or
``pathlib``: ``bench/bench_cli_start.py`` measures what that start-up costs, and
``tests/test_light_install.py`` checks what it loads).
"""

from __future__ import annotations

import argparse
import sys

from model.errors import ArgumentError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Any

ARTICLE_SCENARIOS = ("status_quo.toml", "gradual_return.toml", "abrupt_return.toml")
"""The article's question: the status quo, a gradual and an abrupt return (in scenarios/)."""
EXIT_OK = 0
EXIT_RUNS_FAILED = 1
EXIT_BAD_INPUT = 2
DEFAULT_SEED = 1


def path(text: str) -> Path:
    """An argument that names a file or folder (argparse ``type``; pathlib loads on first use)."""
    from pathlib import Path

    return Path(text)


def require(command: str, *extras: str) -> None:
    """Stop before any work, in one line, when an extra the command needs is missing."""
    from model.extras import require as require_extras

    require_extras(f"laborflow {command}", *extras)


def add_set_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"{help_text} (repeatable)",
    )


def add_executor_options(parser: argparse.ArgumentParser, resume: bool = True) -> None:
    """--jobs, --scheduler, --out and --resume: how and where a sweep's runs go."""
    parser.add_argument(
        "--jobs", type=int, help="local processes (default: all cores; 1: in this process)"
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask cluster: its scheduler's address (tcp://host:8786), "
        "or 'local' to start one here with --jobs workers",
    )
    parser.add_argument("--out", type=path, help="result folder (default out/sweep-NAME)")
    if resume:
        parser.add_argument(
            "--resume",
            action="store_true",
            help="finish the sweep stored in --out: stored runs are kept, failed ones run again",
        )


def check_jobs(jobs: int | None) -> None:
    """--jobs from 1 to a few per core: more would only fork processes that wait."""
    from experiments.executors import check_jobs as check

    check(jobs)


def check_seed(seed: int) -> None:
    if seed < 0:
        raise ArgumentError(f"--seed: {seed}; allowed: a whole number of at least 0")


def check_output_folder(out: Path) -> None:
    """Refuse an output folder that cannot be one or cannot be written, before any work:
    a path under a file, a read-only file system, a full disk."""
    from model.files import check_writable

    check_writable(out, "--out")


def scenarios_with_overrides(paths: Sequence[Path], assignments: Sequence[str]) -> list:
    """Scenario files loaded, each with the same ``--set key=value`` overrides applied."""
    from experiments.comparison import as_scenarios
    from model.scenario import parse_assignment

    overrides = dict(parse_assignment(a) for a in assignments)
    return [
        s.with_overrides(overrides, origin="command line --set") if overrides else s
        for s in as_scenarios(paths)
    ]


def progress_bar(total: int, unit: str) -> Any:
    """A progress bar on stderr (stdout stays clean for tables and pipes)."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, file=sys.stderr, dynamic_ncols=True, mininterval=0.5)
