"""What can go wrong with many runs, by what it is about (light: the CLI imports it early).

``SweepSpecError`` and ``StoreError`` are input a person must fix (exit status 2, one line,
nothing written); ``StoreUnwritable`` means the disk filled (or became read-only) during a
sweep, with every run already written kept (exit status 2); ``RunsFailed`` means some runs
raised and were stored with their errors (exit status 1); ``Interrupted`` means a signal or
a request stopped the runs early.
"""

from __future__ import annotations

from model.errors import InputError, OutputError

TYPE_CHECKING = False  # typing takes 15 ms to load, and the console script loads this early
if TYPE_CHECKING:
    from typing import Any


class SweepSpecError(InputError):
    """A sweep spec (TOML): a key, a range, a design, a value."""


class StoreError(InputError):
    """A result folder: it holds another sweep or other files, or it is damaged."""


class StoreUnwritable(OutputError):
    """Finished runs could not be written (a full disk): what was stored is kept."""

    def __init__(self, tally: Any, folder: Any):
        super().__init__(
            f"{tally.unwritable}; {tally.stored} of {tally.total} runs are stored in {folder} "
            "and kept"
        )
        self.tally = tally
        self.folder = folder


class RunsFailed(RuntimeError):
    """Some runs raised; their errors are stored with them."""

    def __init__(self, failures: list[tuple[str, str]], failed: int):
        first = failures[0][1] if failures else "unknown error"
        super().__init__(f"{failed} runs failed; the first: {first}")
        self.failures = failures


class Interrupted(KeyboardInterrupt):
    """Stopped by a signal or a request before every run finished."""

    def __init__(self, tally: Any):
        super().__init__(tally.interrupted or "interrupted")
        self.tally = tally
