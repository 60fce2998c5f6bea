"""A robustness ensemble in words: findings, flip boxes and drivers as people read them.

Every sentence is built from the metrics registry (label, unit, direction, ``fmt``) and the
parameter registry (label, unit), never from a list of metric names, so a metric added to
``model.metrics.SUMMARY`` gets its findings without a change here. The brief, the command
line and the app all take their wording from this module.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from experiments.robustness import RobustnessResult
from experiments.robustness_tables import Contrast, Flip, Restriction
from model import metrics
from model.parameters import PARAMS_BY_NAME, number_text

ROBUST_SHARE = 0.9
"""A conclusion shared by at least this share of worlds is stated as robust; below it the
finding says that it depends on the assumptions."""
GOOD_BOX_DENSITY = 0.5
"""A flip box in which fewer worlds than this flip describes no condition: not named."""
BOX_LIMITS_SHOWN = 3
PROPER_WORDS = ("Chinese", "North", "DPRK", "UN")


@dataclass(frozen=True)
class RobustFinding:
    """A finding across plausible worlds: its sentence and the numbers it rests on."""

    text: str
    contrast: Contrast
    metric: str
    agree: int  # worlds that share the conclusion
    worlds: int
    median: float
    q10: float
    q90: float
    numbers: tuple[str, ...]  # the formatted numbers in the text, as they appear


def scenario_words(name: str) -> str:
    return name.split("#")[0].replace("_", " ")


def assumption_words(name: str) -> str:
    """A parameter as a sentence names it: 'the local labour pool', 'the number of
    factories' (a count whose label is its unit), 'the Chinese wage'."""
    spec = PARAMS_BY_NAME[name]
    label = in_sentence(spec.label)
    if spec.kind == "int" and spec.unit and label.lower().endswith(spec.unit):
        return f"the number of {label}"
    return f"the {label}"


def in_sentence(label: str) -> str:
    """A label inside a sentence: 'Local labour pool' -> 'local labour pool', but
    'Chinese wage' stays."""
    first = label.split(" ", 1)[0]
    return label if first in PROPER_WORDS or first.isupper() else label[:1].lower() + label[1:]


def amount(metric: str, value: float, signed: bool = True) -> str:
    """'+90 factories', '-1,234 million yuan': a metric's value with its shown unit."""
    unit = metrics.measure(metric).unit
    text = metrics.fmt(metric, value, signed=signed)
    return f"{text} {unit}".strip()


def _value_text(name: str, value: Any) -> str:
    spec = PARAMS_BY_NAME[name]
    if isinstance(value, dt.date):
        return f"{value.day} {value:%B %Y}"
    if isinstance(value, str):
        return value
    if spec.kind == "int":
        text = number_text(round(float(value)))
    else:
        text = number_text(float(f"{float(value):.2g}"))
    unit = "" if spec.unit in ("", "share", "date", "MM-DD") else f" {spec.unit}"
    return text + unit


def restriction_words(r: Restriction) -> str:
    """'the local labour pool is at least 0.79 people per worker' (or at most, or between)."""
    label = assumption_words(r.parameter)
    spec = PARAMS_BY_NAME[r.parameter]
    low, high = r.low, r.high
    if spec.kind == "int":  # PRIM cuts between whole values: name the whole values inside
        low = None if low is None else int(-(-float(low) // 1))
        high = None if high is None else int(float(high) // 1)
    if low is not None and high is not None:
        low_text, high_text = _value_text(r.parameter, low), _value_text(r.parameter, high)
        return f"{label} is between {low_text} and {high_text}"
    if low is not None:
        return f"{label} is at least {_value_text(r.parameter, low)}"
    return f"{label} is at most {_value_text(r.parameter, high)}"


def box_words(flip: Flip, limit: int = BOX_LIMITS_SHOWN) -> str:
    """The flip box's narrowest limits in words, joined with 'and'."""
    shown = [restriction_words(r) for r in flip.restrictions[:limit]]
    if not shown:  # PRIM's box limits nothing: no range of the assumptions to name
        return ""
    more = len(flip.restrictions) - len(shown)
    text = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    if more > 0:
        text += f" (and {more} looser limit{'s' if more > 1 else ''} on other assumptions)"
    return text


def flip_sentence(result: RobustnessResult, flip: Flip, driver_said: bool = False) -> str:
    """Where the conclusion does not hold, with PRIM's coverage and density, or why not
    (naming the strongest driver then, unless the sentence before did)."""
    if not flip.flips:
        return "It holds in every plausible world drawn."
    n = flip.exceptions
    other = "The 1 other world" if n == 1 else f"The {n} other worlds"
    if flip.box is None:
        driver = "" if driver_said else strongest_driver(result, flip.contrast, flip.metric)
        return f"{other}: {flip.note}{driver}."
    box = flip.box
    inside = round(box.coverage * n)
    if box.density < GOOD_BOX_DENSITY or not flip.restrictions:
        driver = "" if driver_said else strongest_driver(result, flip.contrast, flip.metric)
        return (
            f"{other} {'fits' if n == 1 else 'fit'} no simple range of the assumptions (the "
            f"best box PRIM finds holds {inside} of them at a density of {box.density:.0%})"
            f"{driver}."
        )
    return (
        f"The exceptions are worlds where {box_words(flip)}: {inside} of the {n} exceptions "
        f"lie there (coverage {box.coverage:.0%}), and {box.density:.0%} of the worlds there "
        "are exceptions (density)."
    )


def strongest_driver(result: RobustnessResult, contrast: Contrast, metric: str) -> str:
    """'; it moves most with the local labour pool (rank correlation -0.62, 95% -0.75 to
    -0.45)', or nothing when no driver's interval excludes zero."""
    table = result.drivers(contrast, metric)
    if table.empty:
        return ""
    top = table.iloc[0]
    if not (top.lo > 0 or top.hi < 0):
        return "; no single assumption moves it clearly"
    label = assumption_words(top.parameter)
    return (
        f"; it moves most with {label} (rank correlation {top.rho:+.2f}, 95% interval "
        f"{top.lo:+.2f} to {top.hi:+.2f})"
    )


def robust_finding(result: RobustnessResult, contrast: Contrast, metric: str) -> RobustFinding:
    """One contrast on one metric across worlds, said as the evidence allows: in all worlds,
    in most (with where the exceptions are), or 'it depends' (with on what)."""
    row = result.contrast(contrast, metric)
    label = metrics.measure(metric).label
    a, b = scenario_words(contrast.scenario), scenario_words(contrast.reference)
    worlds, agree = int(row["worlds"]), int(row["agree"])
    median, q10, q90 = row["median"], row["q10"], row["q90"]
    numbers = (
        amount(metric, median),
        metrics.fmt(metric, q10, signed=True),
        metrics.fmt(metric, q90, signed=True),
    )
    half = row["seed_width"] / 2
    seeds = (
        f"; within one world the seeds' 95% interval is ±{amount(metric, half, signed=False)}"
        if half == half and half > 0
        else ""
    )
    spread = f"median {numbers[0]}, 10–90% of worlds: {numbers[1]} to {numbers[2]}{seeds}"
    flip = result.flip(contrast, metric)
    if row["conclusion"] == 0:
        text = (
            f"{label}: no difference between {a} and {b} in {int(row['same'])} of {worlds} "
            f"plausible worlds (higher under {a} in {int(row['higher'])}, lower in "
            f"{int(row['lower'])}; {spread})."
        )
    else:
        more = "higher" if row["conclusion"] > 0 else "lower"
        where = f"{label}: {more} under {a} than under {b}"
        if agree == worlds:
            text = f"{where} in all {worlds} plausible worlds ({spread}). "
            text += flip_sentence(result, flip)
        elif agree >= ROBUST_SHARE * worlds:
            text = (
                f"{where} in {agree} of {worlds} plausible worlds ({spread}). "
                f"{flip_sentence(result, flip)}"
            )
        else:
            driver = strongest_driver(result, contrast, metric)
            text = (
                f"{label}: it depends on the assumptions: {more} under {a} than under {b} in "
                f"{agree} of {worlds} plausible worlds, not in {worlds - agree} ({spread})"
                f"{driver}. {flip_sentence(result, flip, driver_said=True)}"
            )
    return RobustFinding(text, contrast, metric, agree, worlds, median, q10, q90, numbers)


def robust_findings(result: RobustnessResult) -> list[RobustFinding]:
    """The headline contrast on every compared metric with a direction (factories shut
    first), then every other contrast on the headline metric."""
    headline, metric = result.headline
    directed = [m for m in result.compared if metrics.direction(m) and m != metric]
    found = [robust_finding(result, headline, m) for m in (metric, *directed)]
    found += [robust_finding(result, c, metric) for c in result.contrasts if c != headline]
    return found


def holds(finding: RobustFinding) -> bool:
    """A conclusion shared by at least ``ROBUST_SHARE`` of the worlds."""
    return finding.agree >= ROBUST_SHARE * finding.worlds


def _better(finding: RobustFinding) -> bool:
    """Whether the contrast's conclusion is good news for its first scenario."""
    return finding.median * metrics.direction(finding.metric) > 0


def _join(labels: list[str]) -> str:
    """Labels in a sentence: 'A and on B', or 'A, B and C'."""
    words = [in_sentence(metrics.measure(name).label) for name in labels]
    if len(words) == 1:
        return words[0]
    return (
        ", ".join(words[:-1]) + " and on " + words[-1]
        if len(words) == 2
        else (", ".join(words[:-1]) + " and " + words[-1])
    )


def in_short(result: RobustnessResult) -> str:
    """The headline contrast in two sentences: on which metrics one policy does better or
    worse across the plausible worlds, and on which that depends on the assumptions (the
    brief's and the command's first words)."""
    headline, _ = result.headline
    found = [f for f in robust_findings(result) if f.contrast == headline]
    a, b = scenario_words(headline.scenario), scenario_words(headline.reference)
    worlds = found[0].worlds if found else result.ensemble.worlds
    firm = [f for f in found if holds(f) and f.median != 0]
    loose = [f for f in found if not holds(f)]
    text = []
    if firm:
        share = f"all {worlds}" if all(f.agree == f.worlds for f in firm) else "nearly all"
        worse = [f.metric for f in firm if not _better(f)]
        better = [f.metric for f in firm if _better(f)]
        parts = [f"worse than a {b} on {_join(worse)}"] if worse else []
        parts += [f"better{'' if worse else f' than a {b}'} on {_join(better)}"] if better else []
        text.append(f"In {share} plausible worlds an {a} does " + "; it does ".join(parts) + ".")
    if loose:
        text.append(
            f"Whether it does better or worse on {_join([f.metric for f in loose])} depends "
            "on the assumptions."
        )
    return " ".join(text)


def ensemble_words(result: RobustnessResult) -> str:
    """How the worlds were drawn, in one sentence (the brief's and the command's lead)."""
    e = result.ensemble
    return (
        f"{len(e.scenarios)} scenarios were run in each of {e.worlds} plausible worlds with "
        f"{e.replicates} shared seeds each: a Latin hypercube over the plausible ranges of "
        f"{len(e.axes)} assumptions recorded in {e.base.path or e.base.name} (policies held as "
        "each scenario sets them), so within a world the scenarios differ only by policy."
    )
