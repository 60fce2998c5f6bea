"""The ``laborflow`` command: one parser, and the promise about how a command ends.

Exit status 0: done. 1: some runs failed (they are stored with their errors). 2: bad input,
said in one line naming where, what is wrong and what is allowed, with nothing written.
130 or 143: interrupted. Each command lives in the module for its concern (``cli.single_run``,
``cli.many_runs``, ``cli.views``) and imports the heavy machinery only when it runs.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence

from cli import many_runs, robustness, single_run, views
from cli.common import EXIT_BAD_INPUT, EXIT_RUNS_FAILED
from experiments.errors import RunsFailed
from model.errors import InputError


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="laborflow",
        description="Agent-based simulation of North Korean workers in Chinese factories "
        "under visa rules and the UN 2397 timeline.",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    single_run.add_commands(sub)
    many_runs.add_commands(sub)
    views.add_commands(sub)
    robustness.add_commands(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command and return its exit status."""
    args = parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except InputError as err:
        print(f"laborflow: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RunsFailed as err:
        print(f"laborflow: {err}", file=sys.stderr)
        return EXIT_RUNS_FAILED
    except BrokenPipeError:  # e.g. `laborflow params | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt as err:
        print(
            "laborflow: interrupted; nothing was written for the unfinished work", file=sys.stderr
        )
        signum = getattr(getattr(err, "tally", None), "stopped_by", None)
        return 128 + (signum or signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
