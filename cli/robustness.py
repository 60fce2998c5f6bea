"""``laborflow robustness``: every scenario in many plausible worlds, and what holds across them.

The ensemble runs through ``experiments.robustness`` into a folder store (resumable, on
local processes or Dask); this module parses the arguments, shows progress, prints the
tables and the findings (worded by ``viz.robustness_text``) and maps the outcome to an exit
status like ``laborflow sweep``.
"""

from __future__ import annotations

import sys

from cli.common import (
    ARTICLE_SCENARIOS,
    DEFAULT_SEED,
    add_executor_options,
    check_jobs,
    check_output_folder,
    path,
    require,
)

TYPE_CHECKING = False  # typing and pathlib load when a command runs, not for --help
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from pathlib import Path
    from typing import Any

DEFAULT_WORLDS = 100
DEFAULT_REPLICATES = 2
DRIVERS_SHOWN = 3


def add_commands(sub: Any) -> None:
    rob = sub.add_parser(
        "robustness",
        help="run scenarios in many plausible worlds: which conclusions hold, and where they flip",
        description="Draws plausible worlds (a Latin hypercube over the plausible ranges the "
        "first scenario gives its assumptions), runs every scenario in every world with the "
        "same seeds, and reports each metric across worlds, each contrast's share of worlds, "
        "regret, the assumptions that drive each contrast and where its conclusion flips. "
        "With no scenarios: status quo, gradual return, abrupt return. Exit status: 0 done, "
        "1 some runs failed, 2 bad input (nothing written), 130 or 143 interrupted (finish "
        "with --resume).",
    )
    rob.add_argument("scenarios", type=path, nargs="*", help="base scenario first, then others")
    rob.add_argument(
        "--worlds", type=int, default=DEFAULT_WORLDS, help=f"plausible worlds ({DEFAULT_WORLDS})"
    )
    rob.add_argument(
        "--replicates",
        type=int,
        default=DEFAULT_REPLICATES,
        help=f"seeds per scenario in each world, the same everywhere ({DEFAULT_REPLICATES})",
    )
    rob.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="scrambles the worlds; first run seed"
    )
    add_executor_options(rob)
    rob.set_defaults(handler=cmd_robustness)


def article_paths(paths: Sequence[Path]) -> list[Path]:
    from model.scenario import SCENARIO_DIR

    return list(paths) or [SCENARIO_DIR / f for f in ARTICLE_SCENARIOS]


def cmd_robustness(args: argparse.Namespace) -> int:
    require("robustness", "analysis")  # the flip boxes are PRIM's (EMA Workbench)
    if args.scheduler:
        require("robustness --scheduler", "cluster")
    from experiments.robustness import build_ensemble, default_out, run_ensemble

    check_jobs(args.jobs)
    paths = article_paths(args.scenarios)
    ensemble = build_ensemble(paths, args.worlds, args.replicates, args.seed)  # bad input: here
    out = args.out or default_out(ensemble)
    check_output_folder(out)
    bar = None

    def say(text: str) -> None:
        (bar.write if bar is not None else print)(f"laborflow: {text}", file=sys.stderr)

    def start(total: int, stored: int) -> None:
        nonlocal bar
        from cli.common import progress_bar

        say(
            f"robustness: {len(ensemble.scenarios)} scenarios x {ensemble.worlds} worlds x "
            f"{ensemble.replicates} seeds = {total} runs (ensemble {ensemble.hash}, "
            f"{len(ensemble.axes)} assumptions varied), {stored} already stored, writing to {out}"
        )
        bar = progress_bar(total, "runs")
        bar.initial = bar.n = bar.last_print_n = stored

    def finished(record: Any) -> None:
        nonlocal bar
        bar.update(1)
        if bar.n >= bar.total:  # the tables take a while: say so rather than look stuck
            bar.close()
            bar = None
            say("every run stored; reading the ensemble (drivers, flip boxes)")

    try:
        result = run_ensemble(
            ensemble, out, jobs=args.jobs, scheduler=args.scheduler, resume=args.resume,
            on_start=start, on_result=finished, notify=say,
        )  # fmt: skip
    finally:
        if bar is not None:
            bar.close()
    tally = result.tally
    again = f"laborflow robustness {' '.join(map(str, args.scenarios))} --worlds {args.worlds} "
    again += f"--replicates {args.replicates} --seed {args.seed} --out {out} --resume"
    again = " ".join(again.split())
    if tally.interrupted:
        print(
            f"laborflow: {tally.interrupted}: {tally.stored} of {tally.total} runs stored in "
            f"{out}; finish with: {again}",
            file=sys.stderr,
        )
        return 128 + tally.stopped_by if tally.stopped_by else 1
    print(format_robustness(result))
    print(
        f"wrote {out}/worlds.parquet (one row per world x scenario x seed), robustness.csv "
        "(contrasts), levels.csv, regret.csv, best.csv (each world's best scenario), drivers.csv, "
        "flips.csv"
    )
    if tally.failed:
        for run_id, error in tally.failures[:3]:
            print(f"  failed {run_id}: {error}", file=sys.stderr)
        print(
            f"laborflow: {tally.failed} runs failed (status 'failed' in {out}/runs and "
            f"worlds.parquet); the tables use the runs that finished; run them again with: {again}",
            file=sys.stderr,
        )
        return 1
    return 0


# --- the brief's ensemble (laborflow brief) ----------------------------------------------

BRIEF_WORLDS = 30
"""Worlds in the brief's ensemble by default: keeps `make run` within 3 minutes on 2 cores
(bench/bench_robustness.py measures it)."""
BRIEF_WORLD_SEEDS = 2
ROBUSTNESS_FOLDER = "robustness"
"""Where the brief keeps its ensemble, inside its data folder (read back by --from)."""


def add_robustness_options(brief: argparse.ArgumentParser) -> None:
    brief.add_argument(
        "--worlds",
        type=int,
        default=BRIEF_WORLDS,
        help=f"plausible worlds in the robustness ensemble the brief leads with ({BRIEF_WORLDS})",
    )
    brief.add_argument(
        "--world-seeds",
        type=int,
        default=BRIEF_WORLD_SEEDS,
        help=f"seeds per scenario in each plausible world ({BRIEF_WORLD_SEEDS})",
    )
    brief.add_argument(
        "--no-robustness",
        dest="robustness",
        action="store_false",
        help="brief the comparison at the central assumptions only, without an ensemble",
    )


def brief_ensemble(scenarios: Sequence[Any], args: argparse.Namespace) -> Any:
    """The brief's ensemble, checked before any run (None with --no-robustness)."""
    from experiments.robustness import build_ensemble

    if not args.robustness:
        return None
    return build_ensemble(scenarios, args.worlds, args.world_seeds, args.seed)


def robustness_arguments(args: argparse.Namespace) -> list[str]:
    """The brief's robustness options as they regenerate it."""
    if not args.robustness:
        return ["--no-robustness"]
    return ["--worlds", str(args.worlds), "--world-seeds", str(args.world_seeds)]


def robustness_with_progress(ensemble: Any, jobs: int | None) -> Any:
    """Run an ensemble in memory on local processes with a progress bar."""
    from cli.many_runs import with_progress
    from experiments.robustness import run_ensemble

    def work(**how: Any) -> Any:
        return run_ensemble(ensemble, **how)

    return with_progress(ensemble.total, jobs, work)


def saved_robustness(comparison_folder: Path) -> Any:
    """The ensemble a brief saved beside its comparison, or None when there is none."""
    from pathlib import Path

    from experiments.robustness import RobustnessResult

    folder = Path(comparison_folder) / ROBUSTNESS_FOLDER
    return RobustnessResult.load(folder) if folder.exists() else None


# --- the tables as text -------------------------------------------------------------------


def _grid(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]


def format_robustness(result: Any) -> str:
    """Levels, contrasts, regret, drivers, flip boxes and findings, as plain text."""
    from model import metrics
    from model.parameters import PARAMS_BY_NAME
    from viz.robustness_text import (
        box_words,
        ensemble_words,
        in_short,
        robust_findings,
        scenario_words,
    )

    names = result.scenario_names
    titles = [scenario_words(n) for n in names]
    lines = [ensemble_words(result), ""]

    def spread(metric: str, median: float, q10: float, q90: float, signed: bool = False) -> str:
        fmt: Callable[..., str] = metrics.fmt
        low, high = fmt(metric, q10, signed), fmt(metric, q90, signed)
        return f"{fmt(metric, median, signed)} [{low}, {high}]"

    lines.append("Across worlds (each world: the mean over its seeds): median [10%, 90% of worlds]")
    rows = [["", *titles]]
    levels = result.levels.set_index(["metric", "scenario"])
    for metric in result.metrics:
        row = [metrics.measure(metric).label_with_unit]
        for name in names:
            r = levels.loc[(metric, name)] if (metric, name) in levels.index else None
            row.append("n/a" if r is None else spread(metric, r["median"], r["q10"], r["q90"]))
        rows.append(row)
    lines += _grid(rows)

    lines += ["", "Contrasts, policy minus reference, world by world (same seeds inside a world)"]
    rows = [["", "better in", "higher/lower/same", "median [10%, 90% of worlds]", "seeds ±"]]
    table = result.contrast_table
    for metric in result.compared:
        rows.append([metrics.measure(metric).label_with_unit, "", "", "", ""])
        for r in table[table.metric == metric].itertuples():
            better = (
                "n/a" if r.better != r.better or r.better is None else f"{int(r.better)}/{r.worlds}"
            )
            rows.append(
                [
                    f"  {scenario_words(r.scenario)} - {scenario_words(r.reference)}",
                    better,
                    f"{r.higher}/{r.lower}/{r.same}",
                    spread(metric, r.median, r.q10, r.q90, signed=True),
                    metrics.fmt(metric, r.seed_width / 2)
                    if r.seed_width == r.seed_width
                    else "n/a",
                ]
            )
    lines += _grid(rows)
    lines.append(
        "  better in: worlds in which the policy does better by the metric's direction; "
        "seeds ±: half the median width of the paired 95% interval inside one world"
    )

    lines += ["", "Regret: how far each scenario falls short of the best one in each world"]
    rows = [["", "scenario", "best in", "median regret", "worst regret"]]
    for metric, group in result.regret.groupby("metric", sort=False):
        for i, r in enumerate(group.itertuples()):
            label = metrics.measure(metric).label_with_unit if i == 0 else ""
            rows.append(
                [label, scenario_words(r.scenario), f"{r.best_in}/{r.worlds}",
                 metrics.fmt(metric, r.regret_median), metrics.fmt(metric, r.regret_max)]
            )  # fmt: skip
    lines += _grid(rows)

    lines += [
        "",
        "What drives each contrast: Spearman rank correlation with the assumption across "
        f"worlds [95% bootstrap interval], strongest {DRIVERS_SHOWN}; and where it flips (PRIM)",
    ]
    for c in result.contrasts:
        for metric in result.compared:
            if not metrics.direction(metric):
                continue
            drivers = result.drivers(c, metric).head(DRIVERS_SHOWN)
            head = f"  {metrics.measure(metric).label}, {scenario_words(c.scenario)} - "
            head += f"{scenario_words(c.reference)}: "
            parts = [
                f"{PARAMS_BY_NAME[d.parameter].label} {d.rho:+.2f} [{d.lo:+.2f}, {d.hi:+.2f}]"
                for d in drivers.itertuples()
            ]
            lines.append(head + ("; ".join(parts) or "too few worlds"))
            flip = result.flip(c, metric)
            if not flip.flips or flip.box is None:
                lines.append(f"    flips in {flip.exceptions} of {flip.worlds} worlds: {flip.note}")
            else:
                lines.append(
                    f"    flips in {flip.exceptions} of {flip.worlds} worlds; box: "
                    f"{box_words(flip, limit=len(flip.restrictions)) or 'none'} (coverage "
                    f"{flip.box.coverage:.0%}, density {flip.box.density:.0%})"
                )
    lines += ["", "Findings across plausible worlds:", in_short(result)]
    lines += [f"- {f.text}" for f in robust_findings(result)]
    return "\n".join(lines)
