"""Evidence behind the model: its ODD description and validation against observed facts."""

from __future__ import annotations

import re
from pathlib import Path

from model.scenario import PARAMETERS
from model.validation import FACTS, validate

ROOT = Path(__file__).resolve().parent.parent


def test_every_parameter_is_documented_in_the_odd() -> None:
    odd = (ROOT / "docs" / "odd.md").read_text()
    documented = set(re.findall(r"`([a-z_]+)`", odd))
    missing = [p.name for p in PARAMETERS if p.name not in documented]
    assert not missing, f"add to docs/odd.md: {missing}"
    for heading in (
        "Purpose",
        "Entities",
        "Process overview",
        "Design concepts",
        "Initialization",
        "Input data",
        "Submodels",
    ):
        assert heading in odd


def test_validation_reports_every_fact_with_source_and_result() -> None:
    table = validate(seeds=(1, 2))
    assert list(table.fact) == [f.key for f in FACTS]
    assert set(table.result) <= {"pass", "fail"}
    assert table.source.str.len().min() > 5 and table.tolerance.str.len().min() > 5
    for key in (
        "wage_ratio",
        "holiday_departure",
        "holiday_return",
        "overstay_not_leave",
        "abrupt_worse",
        "pool_cannot_refill",
    ):
        assert key in set(table.fact)


def test_a_failing_fact_is_reported_as_failed() -> None:
    # With no holiday recall there is no late-March departure: the check must say so.
    table = validate(seeds=(1,), holiday_recall_share=0.0, n_workers=2000, n_factories=20)
    result = dict(zip(table.fact, table.result, strict=True))
    assert result["holiday_dip"] == "fail" and result["holiday_departure"] == "fail"
