"""The ``laborflow`` console script: the model's commands plus the ones that draw.

``model/cli.py`` holds run, compare, sweep, scenarios and params and never imports
``viz``; this module adds the commands that need viz (app, brief) on top of it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from model import cli as model_cli


def add_viz_commands(sub: Any) -> None:
    """Subcommands that need viz; each handler imports what it needs when it runs."""


def main(argv: Sequence[str] | None = None) -> int:
    return model_cli.main(argv, extend=add_viz_commands)


if __name__ == "__main__":
    sys.exit(main())
