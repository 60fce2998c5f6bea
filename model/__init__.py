"""laborflow's simulation: one scenario in, one run out.

Workers, factories, the local labour market and the authorities, wired together by
``LaborModel``. Nothing here imports ``experiments``, ``viz`` or ``cli``. The names below are
loaded when first used, so that reading a parameter list does not import Mesa and pandas.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing takes 15 ms to load: `laborflow --help` imports this package

__version__ = "0.1.0"
__all__ = ["LaborModel", "Scenario", "ScenarioError", "load_scenario"]

if TYPE_CHECKING:
    from typing import Any

    from model.errors import ScenarioError
    from model.model import LaborModel
    from model.scenario import Scenario, load_scenario

_HOMES = {
    "LaborModel": "model.model",
    "Scenario": "model.scenario",
    "load_scenario": "model.scenario",
    "ScenarioError": "model.errors",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'model' has no attribute {name!r}")
