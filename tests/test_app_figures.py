"""The app's figures, links and scenario files without a browser: one figure spec drawn by
both renderers, date labels outside the plot, the URL and TOML round trips, and the check
that a comparison compares policies only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def small_run():
    """An abrupt return at 4,000 workers run to the end: shutdowns and all."""
    from model.model import LaborModel
    from viz import controls

    scenario = controls.presets()["abrupt_return"].with_overrides(
        {"n_workers": 4000, "n_factories": 40}
    )
    model = LaborModel(rng=1, scenario=scenario)
    model.run_model()
    return model, scenario


def _live_specs(model, scenario):
    from viz import figspec
    from viz.live import DRAWERS

    ts = model.timeseries()
    horizon = (model.horizon.start, model.horizon.date_of(model.horizon.n_days - 1))
    windows = figspec.policy_windows([scenario])
    return {name: draw(model, ts, horizon, windows).spec for name, draw in DRAWERS.items()}


def test_one_spec_draws_the_same_labels_in_both_renderers(small_run):
    from viz import charts, plotly_charts

    for name, spec in _live_specs(*small_run).items():
        static = charts.render(spec)
        ax = static.axes[0]
        interactive = plotly_charts.to_plotly(spec)
        assert ax.get_title(loc="left") == spec.title
        assert spec.title in interactive.layout.title.text
        shown = {t.name for t in interactive.data if t.showlegend is not False}
        legend = ax.get_legend()
        static_labels = {t.get_text() for t in legend.get_texts()} if legend else set()
        # every series and point layer is named alike in both (the factory map's keys too)
        assert shown == static_labels, name
        if spec.x_kind == "date":
            notes = [a.text for a in interactive.layout.annotations]
            strip = [t for t, _, _, _ in spec.strip(plotly_charts.PLOT_WIDTH_INCHES)]
            assert notes == strip and "2397 deadline 22 Dec 2019" in notes
            static_notes = [c.get_text() for c in ax.texts]
            assert "2397 deadline 22 Dec 2019" in static_notes
            assert "abrupt return 22\u201328 Dec 2019" in static_notes


def test_date_labels_sit_above_the_plot_never_on_the_data(small_run):
    from viz import charts

    spec = _live_specs(*small_run)["labor_gap"]
    fig = charts.render(spec)
    ax = fig.axes[0]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    plot = ax.get_window_extent(renderer)
    from matplotlib.text import Text

    labels = [t for t in ax.texts if "Dec 2019" in t.get_text() or "Mar 20" in t.get_text()]
    assert len(labels) >= 3

    def text_box(label):  # the words alone, without the line that ties them to their date
        return Text.get_window_extent(label, renderer)

    for label in labels:
        box = text_box(label)
        assert box.y0 >= plot.y1 - 0.5, f"{label.get_text()!r} overlaps the plot area"
    title = ax.title.get_window_extent(renderer)
    assert all(text_box(t).y1 <= title.y0 + 0.5 for t in labels)
    boxes = [text_box(t) for t in labels]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), "two date labels collide"


def test_a_policy_window_is_shaded_and_its_end_marked(small_run):
    from viz import figspec

    model, scenario = small_run
    (window,) = figspec.policy_windows([scenario])
    assert (window.start, window.end) == (dt.date(2019, 12, 22), dt.date(2019, 12, 28))
    assert window.label == "abrupt return 22\u201328 Dec 2019"
    gradual = figspec.policy_windows([scenario.with_overrides({
        "repatriation_mode": "gradual", "repatriation_start": "2019-06-01",
        "repatriation_end": "2019-12-22"})])  # fmt: skip
    assert gradual[0].label == "gradual return 1 Jun \u2013 22 Dec 2019"
    from viz import plotly_charts

    spec = _live_specs(model, scenario)["labor_gap"]
    shapes = plotly_charts.to_plotly(spec).layout.shapes
    ends = {s.x0 for s in shapes if s.type == "line" and s.line.color == window.color}
    assert {"2019-12-22", "2019-12-29"} <= ends  # opens on the 22nd, over after the 28th


def test_labour_gap_chart_marks_shutdowns_and_shows_positions_lost(small_run):

    model, scenario = small_run
    spec = _live_specs(model, scenario)["labor_gap"]
    names = [line.label for line in spec.lines]
    assert names[0].startswith("Labour gap") and "Positions lost" in names
    (shut,) = spec.points
    shutdowns = model.shutdowns()
    assert len(shut.x) == len(shutdowns) > 0
    assert shut.text[0].startswith(f"factory {int(shutdowns.factory.iloc[0])} shut ")
    lost = model.timeseries().positions_lost
    assert lost.iloc[0] == 0 and lost.iloc[-1] > 0


def test_factory_history_figures_and_a_click_on_the_map(small_run):
    from viz import figspec, plotly_charts

    model, scenario = small_run
    shut = model.shutdowns().iloc[0]
    history = model.factory_history(int(shut.factory))
    specs = figspec.factory_history_figures(history, shut.to_dict())
    assert [s.key for s in specs][:1] == ["history_staff"] and "history_cash" in [
        s.key for s in specs
    ]
    from model.factories import SHUT_REASONS

    assert any(reason in specs[0].points[0].text[0] for reason in SHUT_REASONS.values())
    fig_spec = _live_specs(model, scenario)["factory_map"]
    fig = plotly_charts.to_plotly(fig_spec)
    trace = next(i for i, t in enumerate(fig.data) if t.customdata is not None)
    click = {"points": {"trace_indexes": [trace], "point_indexes": [0]}}
    assert plotly_charts.clicked_ids(fig_spec, fig, click) == [int(fig.data[trace].customdata[0])]


def test_the_page_address_brings_a_run_back():
    from viz import controls

    presets = controls.presets()
    base = presets["gradual_return"]
    texts = {**controls.texts_of(base), "nk_wage_yuan_per_month": "2500"}
    scenario = controls.read(base, texts).scenario
    changed = controls.changes(base, scenario)
    query = controls.query_of("gradual_return", changed, seed=4)
    assert query == "preset=gradual_return&seed=4&nk_wage_yuan_per_month=2500"
    link = controls.from_query(query, presets)
    again = controls.read(presets[link.preset], link.texts).scenario
    assert link.seed == 4 and again.params == scenario.params and link.ignored == ()
    odd = controls.from_query("preset=nowhere&n_wrkers=5&seed=x", presets)
    assert odd.preset == "status_quo" and odd.seed == 1
    assert odd.ignored == ("preset nowhere", "seed x", "n_wrkers")


def test_the_downloaded_scenario_file_loads_and_runs(tmp_path: Path, capsys):
    from cli.main import main
    from model.scenario import load_scenario
    from viz import controls

    base = controls.presets()["abrupt_return"]
    texts = {**controls.texts_of(base), "n_workers": "2000", "n_factories": "20",
             "nk_wage_yuan_per_month": "2500", "visa_issuance_end": "2019-12-22"}  # fmt: skip
    scenario = controls.read(base, texts).scenario
    path = tmp_path / "elsewhere" / "mine.toml"  # not beside the scenario it extends
    path.parent.mkdir()
    path.write_text(controls.scenario_toml(base, scenario, seed=2))
    loaded = load_scenario(path)
    assert loaded.params == scenario.params
    record = loaded.records["nk_wage_yuan_per_month"]
    assert not record.sourced and record.source == controls.ANALYST
    assert loaded.records["repatriation_mode"].source == base.records["repatriation_mode"].source
    assert main(["run", str(path), "--seed", "2", "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "summary.json").is_file()


def test_a_modified_run_joins_the_comparison_under_its_own_name():
    from viz import controls

    base = controls.presets()["abrupt_return"]
    scenario = controls.read(base, {**controls.texts_of(base), "n_workers": "4000"}).scenario
    first = controls.for_comparison(base, scenario, ["abrupt_return"])
    second = controls.for_comparison(base, scenario, ["abrupt_return", first.name])
    assert (first.name, second.name) == ("abrupt_return_modified_1", "abrupt_return_modified_2")
    assert first.title == "Modified from abrupt return: North Korean workers 4,000 (preset: 20,000)"
    assert controls.for_comparison(base, base, []) is base


def test_comparisons_of_more_than_policy_are_flagged():
    from viz import controls
    from viz.compare_job import beyond_policy

    p = controls.presets()
    assert beyond_policy([p["status_quo"], p["gradual_return"], p["abrupt_return"]]) == []
    found = beyond_policy([p["status_quo"], p["china_wide"]])
    assert "North Korean workers: 100,000 in china wide, 20,000 in status quo" in found
    assert any(f.startswith("Factories: 1,000") for f in found)


def test_band_figures_of_a_comparison_in_both_renderers():
    from viz import charts, figspec, plotly_charts

    dates = pd.date_range("2018-01-01", "2020-12-31", freq="7D")
    rows = []
    for scenario, level in (("status_quo", 100), ("abrupt_return", 900)):
        for variable in ("labor_gap", "factories_shut", "nk_in_china"):
            for d in dates:
                rows.append({"scenario": scenario, "variable": variable, "date": d,
                             "q10": level * 0.8, "q50": level, "q90": level * 1.2})  # fmt: skip
    bands = pd.DataFrame(rows)
    windows = figspec.policy_windows([])
    specs = figspec.comparison_band_figures(bands, windows)
    assert set(specs) == {"labor_gap", "factories_shut", "nk_in_china"}
    fig = plotly_charts.to_plotly(specs["labor_gap"])
    medians = [t for t in fig.data if t.name]
    assert [t.name for t in medians] == ["status quo", "abrupt return"]
    assert "80% of runs" in medians[0].hovertemplate
    png = charts.to_png(charts.labor_gap_chart(bands, windows), dpi=60)
    assert png[:4] == b"\x89PNG"
    assert b"<svg" in charts.to_svg(charts.render(specs["factories_shut"]))[:400]
