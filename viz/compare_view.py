"""The compare view: scenarios run with the same seeds, bands filling in as runs finish.

The runs go on in a background job (``viz.compare_job``) owned by this session; the page
only shows its latest progress, so it stays responsive and the live view can be used
meanwhile. The table gives each scenario's mean and the paired difference from the base
scenario, each with its 95% interval; the results download as CSV (and as the policy brief,
HTML and PDF).
"""

from __future__ import annotations

import html
import io

import pandas as pd
import solara

from experiments.comparison import Comparison
from model import metrics
from model.errors import ScenarioError
from model.parameters import PARAMS_BY_NAME
from model.scenario import Scenario
from viz import brief, controls, figspec
from viz.compare_job import CompareJob, Progress, beyond_policy
from viz.response_job import ResponseJob, ResponseProgress, values_between
from viz.widgets import FigureBox, TextControl

REPLICATE_CHOICES = (2, 4, 8, 16, 32)
DEFAULT_SCENARIOS = ("status_quo", "gradual_return", "abrupt_return")


def table_html(comparison: Comparison) -> str:
    """Means and paired differences from the base, with 95% intervals, as an HTML table."""
    t = comparison.table
    base = comparison.base
    head = (
        "<tr><th>Metric</th><th>Scenario</th><th class='n'>Runs</th>"
        "<th class='n'>Mean</th><th class='ci'>95% interval</th>"
        f"<th class='n'>Difference from {html.escape(base.replace('_', ' '))}</th>"
        "<th class='ci'>95% interval</th></tr>"
    )
    rows = []
    for metric in dict.fromkeys(t.metric):
        group = t[t.metric == metric]
        for i, r in enumerate(group.itertuples()):
            is_base = r.scenario == base
            diff = metrics.fmt(metric, r.diff_mean, signed=True, missing="–")
            diff_ci = metrics.fmt_interval(metric, r.diff_lo, r.diff_hi, signed=True)
            label = html.escape(metrics.measure(metric).label_with_unit) if i == 0 else ""
            cls = "first" if i == 0 else ""
            rows.append(
                f"<tr class='{cls}'><td class='metric'>{label}</td>"
                f"<td>{html.escape(r.scenario.replace('_', ' '))}</td>"
                f"<td class='n'>{r.n}</td>"
                f"<td class='n'>{metrics.fmt(metric, r.mean, missing='–')}</td>"
                f"<td class='ci'>{metrics.fmt_interval(metric, r.lo, r.hi)}</td>"
                f"<td class='n'>{'base' if is_base else diff}</td>"
                f"<td class='ci'>{'' if is_base else diff_ci}"
                "</td></tr>"
            )
    body = "".join(rows)
    return f"<table class='lf-table lf-results'><thead>{head}</thead><tbody>{body}</tbody></table>"


def _csv(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode()


def _brief_command(comparison: Comparison) -> str:
    paths = " ".join(s.path or s.name for s in comparison.scenarios)
    seeds = comparison.seeds
    return f"laborflow brief {paths} --replicates {len(seeds)} --seed {seeds[0]}"


def _brief_title(comparison: Comparison) -> str:
    return "Policy brief: " + ", ".join(s.title for s in comparison.scenarios)


def brief_html(comparison: Comparison) -> str:
    """The policy brief of this comparison (``viz.brief``), as self-contained HTML."""
    return brief.render_html(comparison, _brief_title(comparison), _brief_command(comparison))


@solara.component
def Downloads(comparison: Comparison, complete: bool) -> None:
    """The comparison as CSV files and, once every run is in, as a policy brief."""

    def makers() -> dict:
        # one set of callables per comparison: FileDownload resets when its data changes
        return {
            "comparison.csv": lambda: _csv(comparison.table),
            "runs.csv": lambda: _csv(comparison.runs),
            "bands.csv": lambda: _csv(comparison.bands),
            "brief.html": lambda: brief_html(comparison).encode("utf-8"),
            "brief.pdf": lambda: brief.render_pdf(brief_html(comparison)),
        }

    data = solara.use_memo(makers, [id(comparison)])
    labels = {
        "comparison.csv": "Table (CSV)",
        "runs.csv": "Runs (CSV)",
        "bands.csv": "Daily bands (CSV)",
    }
    with solara.Row(classes=["lf-downloads"]):
        for filename, label in labels.items():
            solara.FileDownload(
                data[filename], filename=filename, label=label, mime_type="text/csv"
            )
        # --- the policy brief (viz/brief.py), once every run is in --------------------------
        if complete:
            solara.FileDownload(
                data["brief.html"],
                filename="brief.html",
                label="Policy brief (HTML)",
                mime_type="text/html",
            )
            solara.FileDownload(
                data["brief.pdf"],
                filename="brief.pdf",
                label="Policy brief (PDF)",
                mime_type="application/pdf",
            )


@solara.component
def CompareView(presets: dict[str, Scenario], added: list[str] | None = None) -> None:
    """Pick scenarios and replicates, run, and watch the bands and the table fill in; below,
    one parameter's response curve."""
    chosen = solara.use_reactive([n for n in DEFAULT_SCENARIOS if n in presets])
    base = solara.use_reactive(chosen.value[0] if chosen.value else next(iter(presets)))
    replicates = solara.use_reactive(4)
    seed_text = solara.use_reactive("1")
    anyway = solara.use_reactive(False)
    progress = solara.use_reactive(None)
    ran_with = solara.use_reactive(None)  # the selection the results shown were run with
    job = solara.use_ref(None)

    def stop_on_exit():
        return lambda: job.current and job.current.cancel()

    solara.use_effect(stop_on_exit, [])

    def take_added() -> None:  # a run sent from the live view joins the selection
        new = [n for n in added or [] if n not in chosen.value]
        if new:
            chosen.set([n for n in presets if n in chosen.value or n in new])

    solara.use_effect(take_added, [len(added or [])])
    p: Progress | None = progress.value
    running = bool(p and p.running)
    order = [base.value, *(n for n in chosen.value if n != base.value)]
    seed = int(seed_text.value) if seed_text.value.strip().isdigit() else None
    unlike = beyond_policy([presets[n] for n in order if n in presets])
    selection = (tuple(order), replicates.value, seed)
    problem = None
    if len(order) < 2 or base.value not in chosen.value:
        problem = "Pick a base scenario and at least one other to compare it with."
    elif seed is None:
        problem = "The first seed must be a whole number, such as 1."
    elif unlike and not anyway.value:
        problem = "Tick “compare anyway” to run scenarios that differ in more than policy."

    def toggle(name: str, on: bool) -> None:
        names = [n for n in presets if (n in chosen.value or n == name) and (on or n != name)]
        chosen.set(names)
        if base.value not in names and names:
            base.set(names[0])

    def run() -> None:
        if job.current:
            job.current.cancel()
        scenarios = [presets[n] for n in order]
        ran_with.set(selection)
        job.current = CompareJob(scenarios, replicates.value, seed or 1, progress.set).start()
        progress.set(job.current.progress)

    def cancel() -> None:
        if job.current:
            job.current.cancel()

    with solara.Row(
        classes=["lf-live"], style={"align-items": "flex-start", "flex-wrap": "nowrap"}
    ):
        with solara.Column(classes=["lf-side"]):
            with solara.Card("Scenarios", classes=["lf-card"]):
                for name in presets:
                    with solara.Div(classes=["lf-check", f"lf-check-{name}"]):
                        solara.Checkbox(
                            label=name.replace("_", " "),
                            value=name in chosen.value,
                            on_value=lambda on, name=name: toggle(name, on),
                            disabled=running,
                        )
                solara.Select(
                    "Base scenario (differences are from it)",
                    values=chosen.value or list(presets),
                    value=base.value,
                    on_value=base.set,
                    disabled=running,
                )
                if unlike:
                    with solara.Div(classes=["lf-unlike"]):
                        solara.Warning(
                            "These scenarios differ in more than policy, so a difference "
                            "below is not a policy's effect: " + "; ".join(unlike) + ".",
                            dense=True,
                        )
                        solara.Checkbox(
                            label="Compare anyway", value=anyway.value, on_value=anyway.set
                        )
            with solara.Card("Runs", classes=["lf-card"]):
                solara.Text("Replicates (seeds per scenario)", classes=["lf-label"])
                solara.ToggleButtonsSingle(
                    value=replicates.value,
                    values=list(REPLICATE_CHOICES),
                    on_value=replicates.set,
                    dense=True,
                    classes=["lf-replicates"],
                )
                TextControl(
                    "First seed",
                    seed_text.value,
                    seed_text.set,
                    error=None if seed is not None else "a whole number, such as 1",
                    hint="seeds used: first, first + 1, ...",
                    classes=["lf-input-first-seed"],
                )
                if problem:
                    solara.Warning(problem, dense=True)
                with solara.Row(classes=["lf-buttons"]):
                    solara.Button(
                        "Run comparison",
                        icon_name="mdi-play",
                        on_click=run,
                        color="primary",
                        disabled=running or problem is not None,
                    )
                    solara.Button(
                        "Cancel",
                        icon_name="mdi-stop",
                        on_click=cancel,
                        outlined=True,
                        disabled=not running,
                    )
            if p is not None:
                ProgressCard(p)
        with solara.Column(classes=["lf-main"]):
            stale = p is not None and ran_with.value is not None and ran_with.value != selection
            if stale:
                names, reps, first = ran_with.value
                shown = ", ".join(n.replace("_", " ") for n in names)
                solara.Warning(
                    f"These results are for {shown} ({reps} seeds from {first}); the selection "
                    "has changed since: run the comparison again to see it.",
                    classes=["lf-stale-banner"],
                )
            with solara.Div(classes=["lf-stale" if stale else "lf-fresh"]):
                Results(p, len(order), replicates.value)
            ResponseView(presets, base.value)


@solara.component
def ResponseView(presets: dict[str, Scenario], scenario_name: str) -> None:
    """One parameter, a range of values, shared seeds: the response curve of a metric."""
    numeric = [c for c in controls.CONTROLS if c.kind in ("int", "float")]
    labels = {c.label: c.name for c in numeric}
    metric_labels = {metrics.label(m): m for m in metrics.COMPARED}
    scenario = solara.use_reactive(scenario_name)
    parameter = solara.use_reactive("nk_wage_yuan_per_month")
    low = solara.use_reactive("1000")
    high = solara.use_reactive("4000")
    points = solara.use_reactive(5)
    seeds = solara.use_reactive(3)
    metric = solara.use_reactive("factories_shut")
    progress = solara.use_reactive(None)
    refused = solara.use_reactive("")
    job = solara.use_ref(None)
    solara.use_effect(lambda: lambda: job.current and job.current.cancel(), [])
    if scenario.value not in presets:
        scenario.set(scenario_name)
    spec = PARAMS_BY_NAME[parameter.value]
    problem = None
    bounds = []
    for text, what in ((low.value, "From"), (high.value, "To")):
        control = controls.CONTROLS_BY_NAME[parameter.value]
        trouble = controls.value_problem(control, text.replace(",", "").strip())
        if trouble:
            problem = f"{what}: {trouble}"
        else:
            bounds.append(float(text.replace(",", "")))
    if not problem and bounds[0] >= bounds[1]:
        problem = "“From” must be less than “To”."
    r: ResponseProgress | None = progress.value
    running = bool(r and r.running)

    def run() -> None:
        if job.current:
            job.current.cancel()
        values = values_between(parameter.value, bounds[0], bounds[1], points.value)
        try:
            new = ResponseJob(presets[scenario.value], parameter.value, values, metric.value,
                              seeds.value, progress.set)  # fmt: skip
        except ScenarioError as err:  # a value the scenario's own rules refuse
            progress.set(None)
            refused.set(controls.reader_words(controls.split_error(str(err))[1]))
            return
        refused.set("")
        job.current = new.start()
        progress.set(new.progress)

    with solara.Card("Response to one parameter", classes=["lf-card", "lf-response"]):
        solara.Text(
            "Run one scenario at several values of one parameter, each value with the same "
            "seeds, and see how a result responds: the median of the seeds, and the band "
            "holding 80% of them.",
            classes=["lf-help"],
        )
        with solara.Row(classes=["lf-response-controls"], style={"flex-wrap": "wrap"}):
            solara.Select("Scenario", values=list(presets), value=scenario.value,
                          on_value=scenario.set, classes=["lf-response-scenario"])  # fmt: skip
            solara.Select(
                "Parameter",
                values=list(labels),
                value=spec.label,
                on_value=lambda label: parameter.set(labels[label]),
                classes=["lf-response-parameter"],
            )
            TextControl("From", low.value, low.set, classes=["lf-response-low"],
                        hint=spec.unit)  # fmt: skip
            TextControl("To", high.value, high.set, classes=["lf-response-high"],
                        hint=spec.unit)  # fmt: skip
            solara.Select(
                "Result",
                values=list(metric_labels),
                value=metrics.label(metric.value),
                on_value=lambda label: metric.set(metric_labels[label]),
                classes=["lf-response-metric"],
            )
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Text("Values", classes=["lf-label"])
            solara.ToggleButtonsSingle(value=points.value, values=[3, 5, 7, 9],
                                       on_value=points.set, dense=True)  # fmt: skip
            solara.Text("Seeds each", classes=["lf-label"])
            solara.ToggleButtonsSingle(value=seeds.value, values=[2, 3, 5, 8],
                                       on_value=seeds.set, dense=True)  # fmt: skip
            solara.Button("Run response", icon_name="mdi-chart-line", color="primary",
                          on_click=run, disabled=running or problem is not None,
                          classes=["lf-response-run"])  # fmt: skip
        if problem or refused.value:
            solara.Warning(problem or refused.value, dense=True)
        if r is not None:
            state = "complete" if r.finished else "cancelled" if r.cancelled else (
                "failed" if r.error else "running")  # fmt: skip
            solara.Text(f"{r.done} of {r.total} runs done · {r.elapsed:.0f} s · {state}",
                        classes=["lf-response-progress", f"lf-{state}"])  # fmt: skip
            if r.error:
                solara.Error(r.error)
            if r.table is not None and len(r.table):
                p = PARAMS_BY_NAME[r.parameter]
                figure = figspec.response_figure(r.table, p.label, p.unit, r.metric, True)
                FigureBox(figure, ["lf-response-chart"],
                          f"{r.scenario.replace('_', ' ')}: {r.done} runs so far")  # fmt: skip


@solara.component
def ProgressCard(p: Progress) -> None:
    """How many runs are done, and whether the comparison is complete."""
    with solara.Card("Progress", classes=["lf-card"]):
        solara.ProgressLinear(value=100 * p.done / max(p.total, 1), classes=["lf-progress"])
        state = (
            "complete"
            if p.finished
            else "cancelled"
            if p.cancelled
            else "failed"
            if p.error
            else "running"
        )
        solara.Text(
            f"{p.done} of {p.total} runs done · {p.elapsed:.0f} s · {state}",
            classes=["lf-progress-text", f"lf-{state}"],
        )
        if p.error:
            solara.Error(p.error)


@solara.component
def Results(p: Progress | None, n_scenarios: int, replicates: int) -> None:
    """Band charts, the table of paired differences, and the downloads."""
    if p is None or p.comparison is None:
        with solara.Card(classes=["lf-card", "lf-empty"]):
            if p is None:
                solara.Text(
                    f"Run the comparison: {n_scenarios} scenarios x {replicates} seeds, "
                    "each scenario with the same seeds, so each difference is the policy's "
                    "effect, not noise. Bands show the median and the 10-90% range of runs.",
                    classes=["lf-help"],
                )
            else:
                solara.Text("Waiting for the first runs…", classes=["lf-help"])
        return
    with solara.Div(classes=["lf-grid"]):
        for name, spec in p.figures.items():
            FigureBox(spec, [f"lf-band-{name}"])
        if p.timeline_png:
            with solara.Div(classes=["lf-chart", "lf-band-policy_timeline"]):
                solara.Image(p.timeline_png, classes=["lf-img"])
    with solara.Card("Paired differences from the base scenario", classes=["lf-card"]):
        note = "" if p.finished else f" (so far: {p.done} of {p.total} runs)"
        solara.Text(
            "Mean over seeds with a 95% t-interval; the difference is taken seed by seed "
            f"against the base scenario run with the same seed{note}.",
            classes=["lf-help"],
        )
        solara.HTML(tag="div", unsafe_innerHTML=table_html(p.comparison), classes=["lf-table-wrap"])
        Downloads(p.comparison, p.finished)
