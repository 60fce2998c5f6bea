"""The ``laborflow`` command: one parser, and the promise about how a command ends.

Exit status 0: done. 1: some runs failed (they are stored with their errors). 2: bad input,
said in one line naming where, what is wrong and what is allowed, with nothing written.
128 + the signal (130 for SIGINT, 143 for SIGTERM): interrupted, said in one line that tells
what was written before it. Each command lives in the module for its concern
(``cli.single_run``, ``cli.many_runs``, ``cli.views``) and imports the heavy machinery only
when it runs.

Signals: from the first line of ``main`` until the command returns, SIGINT and SIGTERM raise
``Stopped`` (SIGTERM would otherwise end the process silently), so ``finally`` blocks shut
process pools down and the one-line message is printed; the run driver turns them into a
request to stop while runs are in flight (``experiments.runner.stop_on_signals``). This
module imports nothing else at load time, so that even Ctrl-C during the imports is caught.
"""

from __future__ import annotations

import _signal  # the C module under `signal`: that one loads enum (20 ms) before main() runs
import os
import sys

TYPE_CHECKING = False  # typing itself takes 20 ms to load: a wider window before main()
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

STOP_SIGNALS = (_signal.SIGINT, _signal.SIGTERM)


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived while a command ran (outside the run driver)."""

    def __init__(self, signum: int):
        super().__init__(_name(signum))
        self.signum = signum


def _name(signum: int) -> str:
    import signal

    return signal.Signals(signum).name


def _raise_stopped(signum: int, frame: Any) -> None:
    raise Stopped(signum)


class _SignalsRaise:
    """SIGINT and SIGTERM raise ``Stopped`` in the block (main thread only)."""

    def __enter__(self) -> None:
        try:
            self.previous = {s: _signal.signal(s, _raise_stopped) for s in STOP_SIGNALS}
        except ValueError:  # not the main thread: signals go to the main thread's handlers
            self.previous = {}

    def __exit__(self, *exc: object) -> None:
        for s, handler in self.previous.items():
            _signal.signal(s, handler)


def parser():  # -> argparse.ArgumentParser (imported here: see the module doc)
    import argparse

    from cli import many_runs, robustness, single_run, views

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
    """Run a command and return its exit status.

    With ``argv`` None (the process's own command line: the console script), a signal
    that comes after the command has ended ends the process at once with the command's
    status, rather than killing it silently while Python shuts down.
    """
    writes_before = None
    try:
        with _SignalsRaise():
            # model.files counts the files written; until it is loaded none were (and
            # `laborflow --help` need not load it)
            files = sys.modules.get("model.files")
            writes_before = files.writes_so_far() if files is not None else 0
            code = _run(argv)
    except KeyboardInterrupt as err:
        signum = _signal_of(err)
        print(f"laborflow: {_interrupted(signum, writes_before)}", file=sys.stderr)
        code = 128 + signum
    if argv is None:
        _end_at_once_on_signals(code)
    return code


def _run(argv: Sequence[str] | None) -> int:
    """Parse and run one command; bad input, a missing extra and failed runs become exit
    statuses."""
    from cli.common import EXIT_BAD_INPUT, EXIT_RUNS_FAILED
    from experiments.errors import RunsFailed
    from model.errors import InputError

    args = parser().parse_args(argv)
    handler: Callable[[Any], int] = args.handler
    try:
        return handler(args)
    except InputError as err:
        print(f"laborflow: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ModuleNotFoundError as err:  # a command checks its extras first; this is the net
        from model.extras import MissingExtra, extra_of

        extra = extra_of(err.name)
        if extra is None:
            raise
        missing = MissingExtra(f"laborflow {args.command}", extra, str(err.name))
        print(f"laborflow: error: {missing}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RunsFailed as err:
        print(f"laborflow: {err}", file=sys.stderr)
        return EXIT_RUNS_FAILED
    except BrokenPipeError:  # e.g. `laborflow params | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _signal_of(err: KeyboardInterrupt) -> int:
    """The signal behind an interruption: Stopped's, the run driver's, else SIGINT."""
    tally = getattr(err, "tally", None)
    signum = getattr(err, "signum", None) or getattr(tally, "stopped_by", None)
    return int(signum or _signal.SIGINT)


def _interrupted(signum: int, writes_before: int | None) -> str:
    """What an interruption left: nothing, or some files, each written whole."""
    name = _name(signum)
    written = []
    if writes_before is not None:
        from model import files

        written = files.written_since(writes_before)
    if not written:
        return f"interrupted by {name}; nothing was written"
    count = "1 file" if len(written) == 1 else f"{len(written)} files"
    return f"interrupted by {name} after writing {count}, each whole (the last: {written[-1]})"


def _end_at_once_on_signals(code: int) -> None:
    """Once the command has ended, a late SIGINT or SIGTERM ends the process with its
    status at once (the output is complete; there is nothing left to interrupt)."""

    def end(signum: int, frame: Any) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:  # noqa: SIM105 (contextlib would be one more module to load up front)
                stream.flush()
            except Exception:  # a closed pipe: nothing more can be said
                pass
        os._exit(code)

    try:
        for s in STOP_SIGNALS:
            _signal.signal(s, end)
    except ValueError:  # not the main thread
        pass


if __name__ == "__main__":
    sys.exit(main())
