"""Policy briefs: a self-contained HTML file and a PDF from a scenario comparison.

A brief says what the comparison found in plain language, each number with its 95%
interval; shows the figures (drawn by ``viz.charts``, as in the app); lists every
assumption with its source as recorded in the scenario files; and ends with the method,
limitations and the exact command that regenerates it. Figures are embedded as PNG data
URIs, so the HTML makes no request of any kind.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from experiments.comparison import Comparison, paired_difference
from experiments.robustness import RobustnessResult
from model import metrics
from model.files import make_folders, write_atomic
from model.parameters import PARAMETERS
from model.sanctions import UN_TIMELINE
from viz import charts

__all__ = [
    "write_brief",
    "render_html",
    "render_pdf",
    "findings_text",
]
"""The public API (the reference, ``make docs``, documents these)."""

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Number:
    """A number a finding rests on: a mean with its 95% interval."""

    metric: str
    mean: float
    lo: float
    hi: float

    def __str__(self) -> str:
        return metrics.fmt_estimate(self.metric, self.mean, self.lo, self.hi, words=True)


@dataclass(frozen=True)
class Finding:
    """A key finding: a plain-language sentence and the numbers in it."""

    text: str
    numbers: tuple[Number, ...]


def _label(name: str) -> str:
    return name.split("#")[0].replace("_", " ")


def _per_scenario(comp: Comparison, metric: str, names: Sequence[str]) -> tuple[str, tuple]:
    """'N (95% interval a to b) under x and M (...) under y', and the numbers in it."""
    numbers = []
    parts = []
    for name in names:
        r = comp.metric(metric, name)
        n = Number(metric, r["mean"], r["lo"], r["hi"])
        numbers.append(n)
        parts.append(f"{n} under {_label(name)}")
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return text, tuple(numbers)


FINDING_SENTENCES = (
    ("factories_shut", "Factories shut by the end: {v}."),
    ("factories_shut_90d", "Factories shut within 90 days of the policy's start: {v}."),
    ("positions_lost", "Positions lost, cut or in factories that shut: {v}."),
    (
        "peak_labor_gap_after_policy",
        "Labour gap at its worst after the policy starts, in positions nobody staffs (under "
        "the status quo this is the April holiday, when many North Korean workers are home for "
        "three weeks): {v}.",
    ),
    ("cn_jobs_lost", "Chinese jobs lost in factories that shut (gross): {v}."),
    (
        "cn_employment_change",
        "Change in Chinese employment, hiring by the survivors included (net): {v}.",
    ),
    (
        "extra_wage_cost",
        "Extra wages paid to replace North Korean with Chinese workers, in million yuan: {v}.",
    ),
    ("output_lost", "Output lost against the factories at the start, in million yuan: {v}."),
)


def key_findings(comp: Comparison) -> list[Finding]:
    """Plain-language findings, each number with its 95% interval."""
    names = [s.name for s in comp.scenarios]
    others = names[1:]
    found: list[Finding] = []
    shut = {n: comp.metric("factories_shut", n)["mean"] for n in others}
    ranked = sorted(others, key=lambda n: shut[n])
    if len(ranked) >= 2:  # the contrast is stated whichever way it goes, even when it is nil
        low, high = ranked[0], ranked[-1]
        n = Number("factories_shut", *paired_difference(comp.runs, "factories_shut", high, low))
        total = int(comp.runs.factories.iloc[0])
        found.append(
            Finding(
                f"{_article(_label(high)).capitalize()} {_label(high)} shuts {n} more "
                f"factories than {_article(_label(low))} {_label(low)}, "
                f"of {total:,}; the seeds are shared, so this is the policy's effect.",
                (n,),
            )
        )
    for metric, sentence in FINDING_SENTENCES:
        measured = set(comp.table.scenario[comp.table.metric == metric])
        if not set(names) <= measured:  # e.g. a lag beyond a short run's horizon
            continue
        text, numbers = _per_scenario(comp, metric, names)
        found.append(Finding(sentence.format(v=text), numbers))
    return found


def _article(words: str) -> str:
    """'an' before 'abrupt return', 'a' before 'gradual return'."""
    return "an" if words[:1].lower() in "aeiou" else "a"


def _day(d: dt.date) -> str:
    return f"{d.day} {d:%B %Y}"


def summary_paragraph(comp: Comparison) -> str:
    labels = [_label(s.name) for s in comp.scenarios]
    others = " and ".join(f"{_article(n)} {n}" for n in labels[1:]) or "the base scenario alone"
    p = comp.scenarios[0].params
    return (
        f"This brief compares {others} with the {labels[0]} for "
        f"{p['n_workers']:,} North Korean workers in {p['n_factories']:,} Chinese factories "
        f"from {_day(p['start_date'])} to {_day(p['end_date'])}. Each scenario was run "
        f"{len(comp.seeds)} times with the same seeds, so differences between scenarios are "
        "the policies' effects rather than chance. Here a North Korean worker costs a factory "
        f"{p['nk_wage_yuan_per_month']:,.0f} yuan a month and a Chinese worker "
        f"{p['cn_wage_yuan_per_month']:,.0f} (the article reports about 2,000 against 4,000 to "
        "5,000), and local job seekers ask a median "
        f"{p['cn_reservation_wage_median_yuan']:,.0f} yuan: when the North Korean workers go, "
        "factories must raise wages, shrink, or shut."
    )


def _figure(fig) -> str:
    return "data:image/png;base64," + base64.b64encode(charts.to_png(fig, dpi=200)).decode()


def figures(comp: Comparison) -> list[dict[str, str]]:
    """The brief's figures, each an embedded PNG with a caption."""
    marks = charts.policy_marks(comp.scenarios[1:])
    return [
        {
            "src": _figure(charts.labor_gap_chart(comp.bands, marks)),
            "caption": "Positions in operating factories that nobody staffs on the day: median "
            "run per scenario, with the band holding 80% of runs.",
        },
        {
            "src": _figure(charts.factories_shut_chart(comp.bands, marks)),
            "caption": "Factories shut so far (cumulative), median and 10-90% band.",
        },
        {
            "src": _figure(charts.status_bands_chart(comp.bands, marks)),
            "caption": "North Korean workers by status: in China and working, away on a visa "
            "trip or the April holiday, overstaying, detained (medians across runs).",
        },
        {
            "src": _figure(charts.wage_bill_chart(comp.bands, marks)),
            "caption": "What the factories pay in wages, North Korean and Chinese together.",
        },
        {
            "src": _figure(charts.policy_timeline(comp.scenarios)),
            "caption": "UN Security Council resolutions 2371, 2375 and 2397, 2397's reports "
            "and deadline, and when each scenario's policy applies.",
        },
    ]


def results_table(comp: Comparison) -> dict[str, Any]:
    """Scenario means with intervals, and paired differences from the base."""
    names = [s.name for s in comp.scenarios]
    present = set(zip(comp.table.metric, comp.table.scenario, strict=True))
    rows = []
    for metric in dict.fromkeys(comp.table.metric):
        m = metrics.measure(metric)
        cells, diffs = [], []
        for name in names:
            if (metric, name) not in present:  # a lag beyond this scenario's horizon
                cells.append({"mean": "beyond the run", "ci": ""})
                diffs.append({"mean": "", "ci": ""})
                continue
            r = comp.metric(metric, name)
            cells.append(
                {
                    "mean": metrics.fmt(metric, r["mean"]),
                    "ci": metrics.fmt_interval(metric, r["lo"], r["hi"]),
                }
            )
            diffs.append(
                {
                    "mean": metrics.fmt(metric, r["diff_mean"], signed=True),
                    "ci": metrics.fmt_interval(metric, r["diff_lo"], r["diff_hi"], signed=True),
                }
            )
        rows.append({"label": m.label, "unit": m.unit, "cells": cells, "diffs": diffs[1:]})
    return {"names": names, "titles": [_label(n) for n in names], "rows": rows}


def assumptions(comp: Comparison) -> list[dict[str, Any]]:
    """Every parameter: base value, values that other scenarios change, unit, source."""
    tables = {s.name: {row["parameter"]: row for row in s.table()} for s in comp.scenarios}
    base = comp.base
    rows = []
    for spec in PARAMETERS:
        row = tables[base][spec.name]
        changes = [
            f"{name.replace('_', ' ')}: {tables[name][spec.name]['value']}"
            for name in tables
            if name != base and tables[name][spec.name]["value"] != row["value"]
        ]
        sources = {tables[name][spec.name]["source"] for name in tables}
        plausible = comp.scenarios[0].records[spec.name].plausible
        rows.append(
            {
                "name": spec.name,
                "meaning": spec.doc,
                "value": "none" if row["value"] is None else row["value"],
                "changes": "; ".join(changes),
                "unit": spec.unit,
                "sources": sorted(sources),
                "status": row["status"],
                "plausible": plausible.text() if plausible else "",
            }
        )
    return rows


def provenance_table(comp: Comparison, command: str) -> dict[str, Any]:
    prov = comp.provenance
    return {
        "version": prov.get("version"),
        "git_commit": prov.get("git_commit") or "not a git checkout",
        "created": prov.get("created_utc"),
        "seeds": f"{comp.seeds[0]} to {comp.seeds[-1]}" if comp.seeds else "",
        "hashes": [(s.name, s.hash, s.path or "") for s in comp.scenarios],
        "command": command,
    }


def render_html(
    comp: Comparison,
    title: str,
    command: str,
    extra_sections: Sequence[dict[str, str]] = (),
    robustness: RobustnessResult | None = None,
) -> str:
    """The whole brief as one self-contained HTML document; with a robustness ensemble it
    leads with the findings across plausible worlds and what would change them.

    ``comp`` is the comparison to brief (``experiments.comparison.compare``), base scenario
    first; ``title`` the brief's title; ``command`` the command line that regenerates it
    (printed in the provenance section); ``extra_sections`` more sections at the end, each a
    dict with ``title`` and ``html``; ``robustness`` an ensemble of the same scenarios
    (``experiments.robustness.robustness``), or None for a brief at the central
    assumptions only.
    """
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"])
    )
    findings = key_findings(comp)
    robust = None
    if robustness is not None:
        from viz.robustness_brief import robustness_context

        robust = robustness_context(robustness)
    return env.get_template("brief.html.j2").render(
        robust=robust,
        title=title,
        date=dt.date.today().strftime("%d %B %Y"),
        summary=summary_paragraph(comp),
        findings=findings,
        figures=figures(comp),
        results=results_table(comp),
        assumptions=assumptions(comp),
        milestones=UN_TIMELINE,
        provenance=provenance_table(comp, command),
        replicates=len(comp.seeds),
        scenarios=comp.scenarios,
        css=(TEMPLATES / "brief.css").read_text(),
        extra_sections=extra_sections,
    )


def write_brief(
    comp: Comparison,
    out: str | Path,
    title: str,
    command: str,
    extra_sections: Sequence[dict[str, str]] = (),
    robustness: RobustnessResult | None = None,
) -> tuple[Path, Path]:
    """Write brief.html and brief.pdf into ``out``; each appears whole or not at all.

    ``out`` is the folder (created if need be). ``comp`` is the comparison to brief
    (``experiments.comparison.compare``), base scenario first; ``title`` the brief's title;
    ``command`` the command line that regenerates it (printed in the provenance section);
    ``extra_sections`` more sections at the end, each a dict with ``title`` and ``html``;
    ``robustness`` an ensemble of the same scenarios (``experiments.robustness.robustness``), or
    None for a brief at the central assumptions only. Returns the two paths.
    """
    out = Path(out)
    make_folders(out)
    html = render_html(comp, title, command, extra_sections, robustness)
    pdf = render_pdf(html)
    html_path, pdf_path = out / "brief.html", out / "brief.pdf"
    write_atomic(html_path, lambda p: Path(p).write_text(html, encoding="utf-8"))
    write_atomic(pdf_path, lambda p: Path(p).write_bytes(pdf))
    return html_path, pdf_path


def render_pdf(html: str) -> bytes:
    """The brief's HTML (``html``, from ``render_html``) typeset for print (A4, page
    numbers) by WeasyPrint, as PDF bytes."""
    from weasyprint import HTML

    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()


def validation_section(table: pd.DataFrame) -> dict[str, str]:
    """The validation table (``laborflow validate``) as an appendix section of the brief."""
    from html import escape

    passed = int((table.result == "pass").sum())
    rows = "".join(
        f"<tr><td>{escape(r.claim)}<span class='ci'>{escape(r.source)}</span></td>"
        f"<td>{escape(r.tolerance)}</td><td class='num'>{r.model_value:,.3g} {escape(r.unit)}</td>"
        f"<td class='{r.result}'>{r.result}</td></tr>"
        for r in table.itertuples()
    )
    html = (
        f"<p>The model at these parameters was checked against {len(table)} stylized facts "
        f"from the seed article and public sources; {passed} pass. A failed fact is shown as "
        "failed.</p><table><tr><th>fact and source</th><th>tolerance</th>"
        f"<th class='num'>model</th><th>result</th></tr>{rows}</table>"
    )
    return {"title": "Appendix: validation against observed facts", "html": html}


def findings_text(comp: Comparison, robustness: RobustnessResult | None = None) -> str:
    """The key findings as plain text, for the terminal: across plausible worlds first.

    ``comp`` is the comparison; ``robustness`` its ensemble across plausible worlds, or
    None for the findings at the central assumptions only.
    """
    lines = []
    if robustness is not None:
        from viz.robustness_text import holds, in_short, robust_findings

        found = robust_findings(robustness)
        worlds = robustness.ensemble.worlds
        lines.append(in_short(robustness))
        lines.append(f"What holds across {worlds} plausible worlds:")
        lines += [f"- {f.text}" for f in found if holds(f)]
        lines.append("What depends on the assumptions:")
        lines += [f"- {f.text}" for f in found if not holds(f)]
        lines.append(f"At the central assumptions ({len(comp.seeds)} seeds):")
    return "\n".join(lines + [f"- {f.text}" for f in key_findings(comp)])
