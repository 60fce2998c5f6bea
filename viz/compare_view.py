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
from model.scenario import Scenario
from viz import brief
from viz.compare_job import CompareJob, Progress
from viz.widgets import TextControl

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
def CompareView(presets: dict[str, Scenario]) -> None:
    """Pick scenarios and replicates, run, and watch the bands and the table fill in."""
    chosen = solara.use_reactive([n for n in DEFAULT_SCENARIOS if n in presets])
    base = solara.use_reactive(chosen.value[0] if chosen.value else next(iter(presets)))
    replicates = solara.use_reactive(4)
    seed_text = solara.use_reactive("1")
    progress = solara.use_reactive(None)
    job = solara.use_ref(None)

    def stop_on_exit():
        return lambda: job.current and job.current.cancel()

    solara.use_effect(stop_on_exit, [])
    p: Progress | None = progress.value
    running = bool(p and p.running)
    order = [base.value, *(n for n in chosen.value if n != base.value)]
    seed = int(seed_text.value) if seed_text.value.strip().isdigit() else None
    problem = None
    if len(order) < 2 or base.value not in chosen.value:
        problem = "Pick a base scenario and at least one other to compare it with."
    elif seed is None:
        problem = "The first seed must be a whole number, such as 1."

    def toggle(name: str, on: bool) -> None:
        names = [n for n in presets if (n in chosen.value or n == name) and (on or n != name)]
        chosen.set(names)
        if base.value not in names and names:
            base.set(names[0])

    def run() -> None:
        if job.current:
            job.current.cancel()
        scenarios = [presets[n] for n in order]
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
            Results(p, len(order), replicates.value)


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
        for name, png in p.pictures.items():
            with solara.Div(classes=["lf-chart", f"lf-band-{name}"]):
                solara.Image(png, classes=["lf-img"])
    with solara.Card("Paired differences from the base scenario", classes=["lf-card"]):
        note = "" if p.finished else f" (so far: {p.done} of {p.total} runs)"
        solara.Text(
            "Mean over seeds with a 95% t-interval; the difference is taken seed by seed "
            f"against the base scenario run with the same seed{note}.",
            classes=["lf-help"],
        )
        solara.HTML(tag="div", unsafe_innerHTML=table_html(p.comparison), classes=["lf-table-wrap"])
        Downloads(p.comparison, p.finished)
