"""What a person must fix, by what it is about.

Every error here ends a command with one line (where, what is wrong, what is allowed) and
exit status 2, before anything is written. The console script catches ``InputError``; the
subclasses say which input was wrong, so a bad ``--replicates`` is not called a bad scenario.
"""

from __future__ import annotations


class InputError(ValueError):
    """Input a person must fix; the message names where, what is wrong and what is allowed."""


class ScenarioError(InputError):
    """A scenario file or a parameter value."""


class ArgumentError(InputError):
    """An argument of a command or function (seeds, replicates, jobs, a scheduler address)."""


class OutputError(InputError):
    """An output that cannot be written (not a folder, read-only, no space)."""
