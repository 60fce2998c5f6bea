"""Scenario files: every number sourced or marked an assumption; bad input explained."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from model import LaborModel
from model.errors import ScenarioError
from model.parameters import PARAMETERS, PARAMS_BY_NAME, POLICY_PARAMETERS, RETIRED
from model.scenario import (
    Scenario,
    defaults,
    load_scenario,
    parse_assignment,
    validate_params,
)

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
REQUIRED = (
    "status_quo",
    "gradual_return",
    "abrupt_return",
    "visa_non_extension",
    "strict_enforcement",
    "china_wide",
)


def test_the_required_scenarios_exist_and_load() -> None:
    for name in REQUIRED:
        scenario = load_scenario(SCENARIOS / f"{name}.toml")
        assert scenario.name == name and scenario.title and scenario.description


def test_status_quo_states_every_parameter_with_its_source() -> None:
    doc = tomllib.loads((SCENARIOS / "status_quo.toml").read_text())
    assert set(doc["parameters"]) == {p.name for p in PARAMETERS}
    for entry in doc["parameters"].values():
        assert ("source" in entry) != ("assumption" in entry)


def test_policy_scenarios_differ_from_the_status_quo_only_in_policy() -> None:
    base = load_scenario(SCENARIOS / "status_quo.toml").params
    for name in ("gradual_return", "abrupt_return", "visa_non_extension", "strict_enforcement"):
        params = load_scenario(SCENARIOS / f"{name}.toml").params
        changed = {k for k in params if params[k] != base[k]}
        assert changed and changed <= POLICY_PARAMETERS, name


def test_scales() -> None:
    dandong = load_scenario(SCENARIOS / "status_quo.toml").params
    assert dandong["n_workers"] == 20_000
    wide = load_scenario(SCENARIOS / "china_wide.toml").params
    assert wide["n_workers"] == 100_000 and wide["n_factories"] == 1_000


def test_records_say_where_each_value_comes_from() -> None:
    scenario = load_scenario(SCENARIOS / "gradual_return.toml")
    rec = scenario.records["repatriation_mode"]
    assert rec.value == "gradual" and rec.sourced and rec.defined_in == "gradual_return.toml"
    trip = scenario.records["renewal_trip_days"]
    assert not trip.sourced and trip.defined_in == "status_quo.toml"
    table = scenario.table()
    assert len(table) == len(PARAMETERS)
    assert {row["status"] for row in table} == {"sourced", "assumption"}


def test_hash_follows_the_numbers_not_the_file() -> None:
    a = load_scenario(SCENARIOS / "status_quo.toml")
    assert a.hash == load_scenario(SCENARIOS / "status_quo.toml").hash
    assert a.hash != a.with_overrides({"n_workers": 1000}).hash
    assert a.hash != load_scenario(SCENARIOS / "gradual_return.toml").hash


def write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BASE = str(SCENARIOS / "status_quo.toml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[parameters\nx = 1", "not valid TOML"),
        (
            '[parameters]\nn_workerz = { value = 5, source = "x" }',
            "parameters.n_workerz: unknown parameter (did you mean 'n_workers'?)",
        ),
        (
            '[parameters]\nn_workers = { value = "many", source = "x" }',
            "parameters.n_workers: 'many' is not a number; "
            "allowed: a whole number from 1 to 5,000,000",
        ),
        (
            '[parameters]\nn_workers = { value = 2.5, source = "x" }',
            "parameters.n_workers: 2.5 is not a whole number",
        ),
        (
            '[parameters]\nnk_wage_yuan_per_month = { value = -2000, source = "x" }',
            "parameters.nk_wage_yuan_per_month: -2000.0 is out of range; allowed: a number from 0",
        ),
        (
            '[parameters]\nnk_state_share = { value = 1.2, source = "x" }',
            "parameters.nk_state_share: 1.2 is out of range; allowed: a number from 0 to 1",
        ),
        (
            '[parameters]\nend_date = { value = 2017-06-01, source = "x" }',
            "end_date: 2017-06-01 is not after start_date 2018-01-01",
        ),
        (
            '[parameters]\nvisa_issuance_end = { value = 2025-01-01, source = "x" }',
            "visa_issuance_end: 2025-01-01 is outside the simulated horizon",
        ),
        (
            '[parameters]\nrepatriation_mode = { value = "sudden", source = "x" }',
            "repatriation_mode: 'sudden' is not allowed; "
            "allowed: one of 'none', 'gradual', 'abrupt'",
        ),
        ("[parameters]\nn_workers = 5", "parameters.n_workers: a bare value has no source"),
        (
            "[parameters]\nn_workers = { value = 5 }",
            "needs exactly one of 'source' (where the number comes from) or 'assumption'",
        ),
        (
            '[parameters]\nholiday_return = { value = "13-40", source = "x" }',
            "holiday_return: '13-40' is not a month-day",
        ),
        (
            '[scenario]\nextends = "missing.toml"',
            "scenario.extends: 'missing.toml' does not exist",
        ),
        (
            '[parameters]\noverstay_share = { value = 0.5, range = [0.8, 0.2], assumption = "x" }',
            "parameters.overstay_share.range: [0.8, 0.2] is inverted; allowed: [low, high] with",
        ),
        (
            '[parameters]\noverstay_share = { value = 0.5, range = [0.5, 0.5], assumption = "x" }',
            "parameters.overstay_share.range: [0.5, 0.5] is empty",
        ),
        (
            '[parameters]\noverstay_share = { value = 0.5, range = [0.6, 1.2], assumption = "x" }',
            "parameters.overstay_share.range: 1.2 is out of range; allowed: a number from 0 to 1",
        ),
        (
            '[parameters]\noverstay_share = { value = 0.5, range = [0.6, 0.9], assumption = "x" }',
            "parameters.overstay_share: the value 0.5 lies outside its plausible range "
            "(0.6 to 0.9)",
        ),
        (
            '[parameters]\nrepatriation_mode = { value = "none", range = [1, 2], source = "x" }',
            "parameters.repatriation_mode.range: repatriation_mode takes one of",
        ),
        (
            "[parameters]\noverstay_share = { value = 0.5, range = [0.2, 0.8], "
            'values = [0.5], assumption = "x" }',
            "parameters.overstay_share: has both 'range' and 'values'; allowed: one of them",
        ),
        (
            '[parameters]\nn_workers = { value = 5, unit = "people", source = "x" }',
            "parameters.n_workers.unit: 'people' is not this parameter's unit; allowed: 'workers'",
        ),
        ('[scenario]\ncolour = "red"', "scenario.colour: unknown key"),
        ("[params]\n", "params: unknown table"),
    ],
)
def test_bad_scenario_files_are_explained(tmp_path: Path, text: str, expected: str) -> None:
    path = write(
        tmp_path, f'[scenario]\nextends = "{BASE}"\n' + text if "[scenario]" not in text else text
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert message.startswith(str(path))  # the file to fix, even when the mistake points away
    assert expected in message
    assert "\n" not in message


def test_abrupt_return_must_be_abrupt(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'[scenario]\nextends = "{BASE}"\n[parameters]\n'
        'repatriation_mode = { value = "abrupt", source = "x" }\n'
        'repatriation_start = { value = 2019-01-01, source = "x" }\n',
    )
    with pytest.raises(ScenarioError, match="an abrupt return spans 355 days"):
        load_scenario(path)


def test_defaults_live_in_the_status_quo_file_alone(tmp_path: Path) -> None:
    """A file that extends nothing starts from the status quo; the status quo sets everything."""
    own = write(tmp_path, '[parameters]\nn_workers = { value = 5000, assumption = "small" }')
    scenario = load_scenario(own)
    assert scenario.params == {**defaults(), "n_workers": 5000}
    assert scenario.records["training_stay_days"].defined_in == "status_quo.toml"
    assert {p.name for p in PARAMETERS} == set(defaults())


def test_the_status_quo_must_set_every_parameter(tmp_path: Path, monkeypatch) -> None:
    import model.scenario as scenario_module

    text = (SCENARIOS / "status_quo.toml").read_text()
    cut = "\n".join(line for line in text.splitlines() if not line.startswith("detention_days"))
    root = write(tmp_path, cut, "status_quo.toml")
    monkeypatch.setattr(scenario_module, "DEFAULTS_FILE", root)
    with pytest.raises(ScenarioError, match="parameters.detention_days: missing; the status quo"):
        load_scenario(root)


def test_plausible_ranges_are_kept_and_travel_with_the_scenario() -> None:
    scenario = load_scenario(SCENARIOS / "gradual_return.toml")
    pool = scenario.records["cn_jobseekers_per_nk_worker"].plausible
    assert pool is not None and pool.low < scenario.params["cn_jobseekers_per_nk_worker"]
    again = Scenario.from_description(scenario.describe(), "manifest.json")
    assert again.records["cn_jobseekers_per_nk_worker"].plausible == pool
    assert again.params == scenario.params


def test_extends_loop_is_caught(tmp_path: Path) -> None:
    write(tmp_path, '[scenario]\nextends = "b.toml"', "a.toml")
    write(tmp_path, '[scenario]\nextends = "a.toml"', "b.toml")
    with pytest.raises(ScenarioError, match="extend each other in a loop"):
        load_scenario(tmp_path / "a.toml")


def test_keyword_parameters_are_validated_too() -> None:
    with pytest.raises(ScenarioError, match="LaborModel: overstay_share: 2.0 is out of range"):
        LaborModel(overstay_share=2.0)
    with pytest.raises(ScenarioError, match="unknown parameter"):
        LaborModel(workers=10)
    assert validate_params({})["n_workers"] == defaults()["n_workers"]
    assert validate_params({"start_date": "2018-02-01"})["start_date"] == dt.date(2018, 2, 1)


def test_command_line_assignments_parse_as_toml() -> None:
    assert parse_assignment("n_workers=5000") == ("n_workers", 5000)
    assert parse_assignment("end_date=2019-12-31") == ("end_date", dt.date(2019, 12, 31))
    assert parse_assignment("repatriation_mode=gradual") == ("repatriation_mode", "gradual")
    with pytest.raises(ScenarioError, match="expected key=value"):
        parse_assignment("n_workers")


@pytest.mark.parametrize("name", sorted(RETIRED))
def test_a_parameter_the_economics_retired_says_what_replaced_it(tmp_path: Path, name: str) -> None:
    """A scenario file written before the rework is told what to change, in one line."""
    write(
        tmp_path, f'[scenario]\nextends = "status_quo.toml"\n[parameters]\n{name} = 1', "old.toml"
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "old.toml")
    message = str(caught.value)
    assert f"old.toml: parameters.{name}: retired parameter; " in message
    assert "\n" not in message and name not in PARAMS_BY_NAME
    for named in message.split("retired parameter; ")[1].split():  # what it points to exists
        word = named.strip(",:;")
        if "_" in word and not word.endswith(".md"):
            assert word in PARAMS_BY_NAME, word
