"""The state behind the app's views, without a browser: controls, the live driver, the
comparison job."""

from __future__ import annotations

import time


def _small(name: str = "abrupt_return"):
    from viz import controls

    base = controls.presets()[name]
    texts = {**controls.texts_of(base), "n_workers": "2,000", "n_factories": "20"}
    return controls.read(base, texts).scenario


def test_controls_report_errors_by_field_and_never_raise():
    from viz import controls

    base = controls.presets()["gradual_return"]
    texts = controls.texts_of(base)
    reading = controls.read(
        base, {**texts, "repatriation_end": "2019-01-01", "overstay_share": "1.5"}
    )
    assert not reading.ok
    # in a reader's words: labels for names, dates as written, the number as typed
    assert reading.errors["repatriation_end"] == (
        "1 Jan 2019 is before \u201cRepatriation starts\u201d 1 Jun 2019; "
        "write a date on or after \u201cRepatriation starts\u201d"
    )
    assert reading.errors["overstay_share"] == ("1.5 is more than 1; write a number from 0 to 1")
    abrupt = controls.read(base, {**texts, "repatriation_mode": "abrupt"})
    assert "at most 31 days" in abrupt.errors["repatriation_end"]
    assert "not a number" in controls.read(base, {**texts, "n_workers": "many"}).errors["n_workers"]
    tiny = controls.read(base, {**texts, "n_workers": "-1"}).errors["n_workers"]
    assert tiny == "-1 is less than 1; write a whole number from 1 to 5,000,000"
    for message in [*reading.errors.values(), tiny]:
        assert "_" not in message and "e+" not in message and ".0 " not in message


def test_a_fraction_in_a_whole_number_field_is_called_what_it_is():
    from viz import controls

    base = controls.presets()["status_quo"]
    texts = controls.texts_of(base)
    error = controls.read(base, {**texts, "n_workers": "12.5"}).errors["n_workers"]
    assert error.startswith("12.5 is not a whole number; write a whole number from 1 to")
    assert (
        controls.read(base, {**texts, "n_workers": "2,000.0"}).scenario.params["n_workers"] == 2000
    )


def test_controls_give_the_preset_with_what_was_changed():
    from viz import controls

    base = controls.presets()["abrupt_return"]
    assert controls.read(base, controls.texts_of(base)).scenario is base
    scenario = _small()
    assert scenario.name == "abrupt_return"
    assert scenario.params["n_workers"] == 2000 and scenario.params["n_factories"] == 20
    assert scenario.records["n_workers"].source == "app"
    assert scenario.params["repatriation_mode"] == "abrupt"
    changed = controls.changes(controls.presets()["abrupt_return"], scenario)
    assert list(changed) == ["n_workers", "n_factories"]
    assert controls.run_name(controls.presets()["abrupt_return"], changed) == (
        "modified from abrupt return"
    )
    assert controls.changes_text(controls.presets()["abrupt_return"], changed) == [
        "North Korean workers 2,000 (preset: 20,000)",
        "Factories 20 (preset: 200)",
    ]


def test_choosing_abrupt_on_the_status_quo_moves_the_dates_to_fit():
    from viz import controls

    base = controls.presets()["status_quo"]
    texts, note = controls.with_mode(base, controls.texts_of(base), "abrupt")
    assert (texts["repatriation_start"], texts["repatriation_end"]) == ("2019-12-22", "2019-12-28")
    assert note == "Dates set to 22 Dec 2019 to 28 Dec 2019 to fit an abrupt return."
    assert controls.read(base, texts).ok  # without the adjustment: "spans 204 days"
    back, note = controls.with_mode(base, texts, "gradual")
    assert (back["repatriation_start"], back["repatriation_end"]) == ("2019-06-01", "2019-12-22")
    assert controls.read(base, back).ok and note
    same, note = controls.with_mode(base, back, "none")
    assert same["repatriation_start"] == "2019-06-01" and note == ""


def _wait(predicate, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_live_driver_steps_draws_and_reruns_to_the_same_day_after_a_change():
    from viz.live import DRAWERS, LiveDriver

    frames = []
    driver = LiveDriver(frames.append)
    try:
        driver.rebuild(_small(), seed=1, keep_day=False)
        _wait(lambda: frames and not frames[-1].busy and len(frames[-1].charts) == len(DRAWERS))
        assert frames[-1].day == 0
        driver.step(40)
        _wait(lambda: frames[-1].day == 40 and not frames[-1].busy)
        first_run = frames[-1]
        assert first_run.charts["labor_gap"].day == 40
        labels = [k.label for k in first_run.key_figures]
        assert labels[:1] == ["Factories shut"] and "Labour gap" in labels
        history, shut = driver.factory_story(3)
        assert len(history) >= 5 and shut is None  # weekly rows; nothing shuts in 40 days
        assert driver.factory_story(10_000) is None
        assert first_run.date.isoformat() == "2018-02-09"

        driver.rebuild(_small("status_quo"), seed=2)  # keeps the day: re-run to day 40
        _wait(lambda: frames[-1].run > first_run.run and frames[-1].day == 40)
        _wait(lambda: not frames[-1].busy)
        assert frames[-1].scenario == "status_quo"
        assert all(c.day == 40 for c in frames[-1].charts.values())

        driver.rebuild(_small(), seed=1, keep_day=False)  # reset: back to the start
        _wait(lambda: frames[-1].day == 0 and not frames[-1].busy and frames[-1].run == 3)
    finally:
        driver.close()


def test_compare_job_fills_in_and_ends_with_every_run():
    from viz.compare_job import CompareJob

    updates = []
    job = CompareJob([_small("status_quo"), _small()], 2, 1, updates.append, workers=2)
    job.start()
    _wait(lambda: updates and not updates[-1].running, seconds=180)
    last = updates[-1]
    assert last.finished and last.done == last.total == 4
    assert set(last.figures) >= {"labor_gap", "factories_shut", "nk_in_china"}
    assert last.timeline_png[:4] == b"\x89PNG"
    table = last.comparison.table
    shut = table[(table.metric == "factories_shut") & (table.scenario == "abrupt_return")]
    assert shut.iloc[0].diff_mean > 0  # an abrupt return shuts factories the status quo keeps
    assert [u.done for u in updates] == sorted(u.done for u in updates)


def test_response_job_runs_every_value_with_shared_seeds():
    from viz.response_job import ResponseJob, values_between

    updates = []
    values = values_between("nk_wage_yuan_per_month", 1000, 4000, 3)
    assert values == [1000.0, 2500.0, 4000.0]
    job = ResponseJob(_small(), "nk_wage_yuan_per_month", values, "factories_shut", 2,
                      updates.append, workers=2)  # fmt: skip
    assert {s.params["nk_wage_yuan_per_month"] for s in job.scenarios} == set(values)
    job.start()
    _wait(lambda: updates and not updates[-1].running, seconds=180)
    last = updates[-1]
    assert last.finished and last.done == last.total == 6
    table = last.table
    assert list(table.value) == values and list(table.runs) == [2, 2, 2]
    assert (table.q10 <= table.q50).all() and (table.q50 <= table.q90).all()
