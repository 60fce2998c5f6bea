"""Every assumption of the status quo says how far it might be off: a plausible range (or
set of values) that robustness ensembles draw worlds from."""

from __future__ import annotations

import tomllib

import pytest

from model.parameters import POLICY_PARAMETERS
from model.scenario import DEFAULTS_FILE, default_scenario

HORIZON = ("start_date", "end_date")
ENTRIES = tomllib.loads(DEFAULTS_FILE.read_text())["parameters"]
ASSUMPTIONS = sorted(
    name
    for name, entry in ENTRIES.items()
    if "assumption" in entry and name not in POLICY_PARAMETERS and name not in HORIZON
)


@pytest.mark.parametrize("name", ASSUMPTIONS)
def test_every_assumption_carries_a_plausible_range_or_values(name: str) -> None:
    entry = ENTRIES[name]
    assert "range" in entry or "values" in entry, (
        f"scenarios/status_quo.toml: parameters.{name} is an assumption without a plausible "
        "range; add range = [low, high] (or values = [...]) and say why in the assumption"
    )
    plausible = default_scenario().records[name].plausible
    assert plausible is not None and plausible.contains(default_scenario().params[name])


def test_the_status_quo_has_assumptions_to_vary() -> None:
    """Robustness ensembles draw from these; an empty list would make every case above vacuous."""
    assert len(ASSUMPTIONS) >= 20
