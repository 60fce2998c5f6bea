"""laborflow's simulation: scenarios in, a Mesa model of workers, factories, authorities.

Nothing here draws or imports from ``viz``.
"""

from model.model import LaborModel
from model.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["LaborModel", "Scenario", "ScenarioError", "load_scenario"]
__version__ = "0.1.0"
