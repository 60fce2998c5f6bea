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
    assert reading.errors["repatriation_end"].startswith("2019-01-01 is before")
    assert reading.errors["overstay_share"] == "1.5 is out of range; allowed: a number from 0 to 1"
    abrupt = controls.read(base, {**texts, "repatriation_mode": "abrupt"})
    assert "at most 31 days" in abrupt.errors["repatriation_end"]
    assert "not a number" in controls.read(base, {**texts, "n_workers": "many"}).errors["n_workers"]


def test_a_fraction_in_a_whole_number_field_is_called_what_it_is():
    from viz import controls

    base = controls.presets()["status_quo"]
    texts = controls.texts_of(base)
    error = controls.read(base, {**texts, "n_workers": "12.5"}).errors["n_workers"]
    assert error.startswith("'12.5' is not a whole number; allowed: a whole number from 1")
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
        _wait(lambda: frames and not frames[-1].busy and len(frames[-1].pictures) == len(DRAWERS))
        assert frames[-1].day == 0
        driver.step(40)
        _wait(lambda: frames[-1].day == 40 and not frames[-1].busy)
        first_run = frames[-1]
        assert first_run.pictures["labor_gap"].day == 40
        assert first_run.date.isoformat() == "2018-02-09"

        driver.rebuild(_small("status_quo"), seed=2)  # keeps the day: re-run to day 40
        _wait(lambda: frames[-1].run > first_run.run and frames[-1].day == 40)
        _wait(lambda: not frames[-1].busy)
        assert frames[-1].scenario == "status_quo"
        assert all(p.day == 40 for p in frames[-1].pictures.values())

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
    assert set(last.pictures) >= {"labor_gap", "factories_shut", "nk_in_china"}
    table = last.comparison.table
    shut = table[(table.metric == "factories_shut") & (table.scenario == "abrupt_return")]
    assert shut.iloc[0].diff_mean > 0  # an abrupt return shuts factories the status quo keeps
    assert [u.done for u in updates] == sorted(u.done for u in updates)
