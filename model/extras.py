"""Optional dependencies: which extra of the ``laborflow`` package brings which module.

A plain ``pip install laborflow`` runs, compares, sweeps and validates scenarios. What only
some commands use comes as an extra (``pyproject.toml``): ``brief`` (the policy brief:
WeasyPrint, Jinja2, matplotlib; it leads with a robustness ensemble, so it brings
``analysis`` too), ``analysis`` (SALib's Sobol' indices and the EMA Workbench's PRIM, which
sensitivity, discovery and robustness use), ``app`` (Solara, Plotly) and ``cluster`` (Dask).
``require`` is asked before any work starts, so a command whose extra is missing ends with
one line naming the extra to install, not with a traceback after hours of runs. It looks the
modules up without importing them: asking costs microseconds.
"""

from __future__ import annotations

from model.errors import InputError

EXTRAS: dict[str, tuple[str, ...]] = {
    "brief": ("weasyprint", "jinja2", "matplotlib"),
    "analysis": ("SALib", "ema_workbench", "matplotlib"),
    "app": ("solara", "plotly", "anywidget", "ipyvuetify"),
    "cluster": ("distributed",),
}
"""The modules each extra brings (top-level import names), as ``pyproject.toml`` lists them."""


class MissingExtra(InputError):
    """A command needs an optional dependency that is not installed (exit status 2)."""

    def __init__(self, what: str, extra: str, module: str):
        super().__init__(
            f"{what} needs the {extra} extra ({module} is not installed); "
            f"install it with: pip install 'laborflow[{extra}]'"
        )
        self.extra = extra
        self.module = module


def installed(module: str) -> bool:
    """Whether ``module`` (a top-level name) can be imported, without importing it."""
    import importlib.util
    import sys

    if module in sys.modules:
        return sys.modules[module] is not None  # None: imports of it are refused
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(what: str, *extras: str) -> None:
    """Raise ``MissingExtra`` naming the first of ``extras`` with a module missing.

    ``what`` names the thing that needs them, as a person typed it (``laborflow brief``,
    ``--scheduler``); ``extras`` are names of ``EXTRAS``.
    """
    for extra in extras:
        for module in EXTRAS[extra]:
            if not installed(module):
                raise MissingExtra(what, extra, module)


def extra_of(module: str | None) -> str | None:
    """The extra that brings ``module`` (a dotted name is looked up by its top level)."""
    top = (module or "").partition(".")[0]
    return next((extra for extra, names in EXTRAS.items() if top in names), None)
