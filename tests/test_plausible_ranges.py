"""Every assumption of the status quo says how far it might be off: a plausible range (or
set of values) that robustness ensembles draw worlds from."""

from __future__ import annotations

import tomllib

import pytest

from model.parameters import PARAMS_BY_NAME, POLICY_PARAMETERS
from model.scenario import DEFAULTS_FILE, default_scenario

HORIZON = ("start_date", "end_date")
ENTRIES = tomllib.loads(DEFAULTS_FILE.read_text())["parameters"]
ASSUMPTIONS = sorted(
    name
    for name, entry in ENTRIES.items()
    if "assumption" in entry and name not in POLICY_PARAMETERS and name not in HORIZON
)
RANGED_AT_MERGE = frozenset(
    {
        "n_factories", "factory_size_sigma", "cn_share_of_positions",
        "cn_jobseekers_per_nk_worker", "cn_reservation_wage_sigma",
        "productivity_yuan_per_worker_month", "productivity_sigma", "fixed_cost_share",
        "cash_buffer_months", "viable_staffing_share", "max_understaffed_days",
        "hiring_capacity_share_per_week", "wage_offer_step", "max_downsizing_share_per_week",
        "initial_work_visa_share", "initial_student_visa_share", "new_student_visa_share",
        "work_stay_days", "renewal_trip_days", "renewal_trip_spread_days",
        "replacement_lag_days", "holiday_recall_share", "holiday_return_spread_days",
        "overstay_share", "overstay_detection_per_month", "fraud_detection_per_month",
        "detention_days",
    }
)  # fmt: skip
"""The assumptions that existed, each with its range, when robustness ensembles were merged.
A parameter added since (the economics rework adds some) is expected to get its range from
whoever adds it: until then its case here is an expected failure, not a silent pass."""


def _case(name: str):
    if name in RANGED_AT_MERGE:
        return name
    reason = f"{name} is newer than the robustness merge: its author adds its plausible range"
    return pytest.param(name, marks=pytest.mark.xfail(reason=reason, strict=False))


@pytest.mark.parametrize("name", [_case(n) for n in ASSUMPTIONS])
def test_every_assumption_carries_a_plausible_range_or_values(name: str) -> None:
    entry = ENTRIES[name]
    assert "range" in entry or "values" in entry, (
        f"scenarios/status_quo.toml: parameters.{name} is an assumption without a plausible "
        "range; add range = [low, high] (or values = [...]) and say why in the assumption"
    )
    plausible = default_scenario().records[name].plausible
    assert plausible is not None and plausible.contains(default_scenario().params[name])


def test_the_list_at_merge_has_no_misspelt_name() -> None:
    """A misspelt name would leave the real parameter an expected failure, unchecked."""
    assert set(PARAMS_BY_NAME) >= RANGED_AT_MERGE
