"""The ``laborflow`` command: run scenarios, list them, list parameters.

Every error a person can make (a missing file, a wrong key, a value out of range) ends
in one line naming the file, the field and what is allowed, exit status 2, and nothing
written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from model.files import write_atomic
from model.scenario import PARAMETERS, ScenarioError, load_scenario, parse_assignment

EXIT_BAD_INPUT = 2
DEFAULT_SEED = 1
SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


class UsageError(Exception):
    """Bad input that is not about a scenario file (paths, options)."""


def _parser(extend: Callable[[Any], None] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="laborflow",
        description="Agent-based simulation of North Korean workers in Chinese factories "
        "under visa rules and the UN 2397 timeline.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if extend:  # viz adds its commands (app, brief): model never imports viz
        extend(sub)

    run = sub.add_parser("run", help="run one scenario and write its results")
    run.add_argument(
        "scenario", type=Path, help="scenario file (TOML), e.g. scenarios/status_quo.toml"
    )
    run.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    add_set_option(run, "override a parameter, e.g. --set n_workers=5000")
    run.add_argument("--out", type=Path, help="output folder (default out/SCENARIO-seedN)")
    run.set_defaults(handler=cmd_run)

    scen = sub.add_parser("scenarios", help="list the scenario files, one line each")
    scen.add_argument("folder", type=Path, nargs="?", default=SCENARIO_DIR)
    scen.set_defaults(handler=cmd_scenarios)

    comp = sub.add_parser(
        "compare", help="run scenarios with the same seeds and compare each with the first"
    )
    comp.add_argument("scenarios", type=Path, nargs="+", help="base scenario first, then others")
    comp.add_argument("--replicates", type=int, default=8, help="seeds per scenario (default 8)")
    comp.add_argument("--seed", type=int, default=DEFAULT_SEED, help="first seed (default 1)")
    comp.add_argument("--jobs", type=int, default=None, help="processes (default: all cores)")
    comp.add_argument("--out", type=Path, help="output folder (default out/compare-BASE)")
    add_set_option(comp, "override a parameter in every scenario, e.g. --set n_workers=5000")
    comp.set_defaults(handler=cmd_compare)
    _add_sweep_parser(sub)

    val = sub.add_parser("validate", help="check the model at its defaults against observed facts")
    val.add_argument("--seeds", type=int, default=3, help="replicates per scenario (default 3)")
    val.add_argument("--out", type=Path, default=Path("out/validation"), help="output folder")
    val.set_defaults(handler=cmd_validate)

    params = sub.add_parser("params", help="list every parameter with default, unit and range")
    params.set_defaults(handler=cmd_params)
    return parser


def main(argv: Sequence[str] | None = None, extend: Callable[[Any], None] | None = None) -> int:
    """Run a command; ``extend(subparsers)`` may add commands (see viz/cli.py)."""
    args = _parser(extend).parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (ScenarioError, UsageError) as err:
        print(f"laborflow: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # e.g. `laborflow params | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(
            "laborflow: interrupted; nothing was written for the unfinished work", file=sys.stderr
        )
        return 130


# --- run --------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from model.model import LaborModel

    scenario = load_scenario(args.scenario)
    overrides = dict(parse_assignment(a) for a in args.overrides)
    if overrides:
        scenario = scenario.with_overrides(overrides, origin="command line --set")
    out = args.out or Path("out") / f"{scenario.name}-seed{args.seed}"
    _check_writable(out)
    model = LaborModel(rng=args.seed, scenario=scenario)
    model.run_model()
    summary = model.summary()
    write_run(out, model.timeseries(), summary, model.shutdowns())
    print(format_summary(summary))
    print(f"wrote {out}/timeseries.parquet, timeseries.csv, shutdowns.csv, summary.json")
    return 0


def _check_writable(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder; allowed: a folder path")


def write_run(out: Path, timeseries, summary: dict[str, Any], shutdowns) -> None:
    """Write a run's files; each appears whole or not at all."""
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "timeseries.parquet", lambda p: timeseries.to_parquet(p, index=False))
    write_atomic(out / "timeseries.csv", lambda p: timeseries.to_csv(p, index=False))
    write_atomic(out / "shutdowns.csv", lambda p: shutdowns.to_csv(p, index=False))
    write_atomic(
        out / "summary.json", lambda p: Path(p).write_text(json.dumps(summary, indent=2) + "\n")
    )


def format_summary(s: dict[str, Any]) -> str:
    """The few numbers a person reads first, aligned."""
    prov = s["provenance"]

    def money(x: float) -> str:
        return f"{x / 1e6:,.1f} M yuan"

    def maybe(x: Any) -> str:
        return "n/a (outside horizon)" if x is None else f"{x:,}"

    rows = [
        ("factories shut", f"{s['factories_shut']:,} of {s['factories']:,}"),
        ("first shutdown", s["first_shutdown"] or "none"),
        ("peak labour gap", f"{s['peak_labor_gap']:,} positions on {s['peak_labor_gap_date']}"),
        ("Chinese jobs lost", f"{s['cn_jobs_lost']:,} (in factories that shut)"),
        ("output lost", money(s["output_lost"])),
        ("extra wage cost", money(s["extra_wage_cost"])),
        ("NK workers in China at deadline", maybe(s["nk_in_china_at_deadline"])),
        ("NK overstaying at deadline", maybe(s["nk_overstaying_at_deadline"])),
        ("NK deported", f"{s['nk_deported_total']:,}"),
    ]
    width = max(len(k) for k, _ in rows)
    head = (
        f"{s['scenario']} (seed {prov['seed']}, scenario {prov['scenario_hash']}): "
        f"{s['start_date']} to {s['end_date']}, {s['initial_nk_workers']:,} NK workers, "
        f"{s['factories']:,} factories"
    )
    return "\n".join([head] + [f"  {k:<{width}}  {v}" for k, v in rows])


# --- compare ----------------------------------------------------------------------------


def cmd_compare(args: argparse.Namespace) -> int:
    from model.experiments import replicate_seeds

    scenarios = scenarios_with_overrides(args.scenarios, args.overrides)
    replicate_seeds(args.seed, args.replicates)  # checks the count before any work
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs: {args.jobs}; allowed: an integer >= 1")
    out = args.out or Path("out") / f"compare-{scenarios[0].name}"
    _check_writable(out)
    result = compare_with_progress(scenarios, args.replicates, args.seed, args.jobs)
    result.save(out)
    print(format_comparison(result))
    print(f"wrote {out}/comparison.csv, runs.csv, bands.parquet (and Parquet copies)")
    return 0


def add_set_option(parser: Any, help_text: str) -> None:
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"{help_text} (repeatable)",
    )


def scenarios_with_overrides(paths: Sequence[Path], assignments: Sequence[str]) -> list:
    """Scenario files loaded, each with the same ``--set key=value`` overrides applied."""
    from model.experiments import as_scenarios

    overrides = dict(parse_assignment(a) for a in assignments)
    return [
        s.with_overrides(overrides, origin="command line --set") if overrides else s
        for s in as_scenarios(paths)
    ]


def compare_with_progress(scenarios: list, replicates: int, seed: int, jobs: int | None):
    """Run a comparison on local processes with a progress bar (compare and brief)."""
    from model.experiments import compare, local_executor

    executor = local_executor(jobs)  # before the progress bar's thread starts
    try:
        with _progress(len(scenarios) * replicates, "runs") as bar:
            return compare(
                scenarios,
                replicates=replicates,
                master_seed=seed,
                executor=executor,
                on_result=lambda r, done, n: bar.update(1),
            )
    finally:
        executor.shutdown(cancel_futures=True)


def _progress(total: int, unit: str):
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, file=sys.stderr, dynamic_ncols=True, mininterval=0.5)


def format_comparison(result) -> str:
    """Means with 95% intervals, then paired differences from the base, as text tables."""
    from model.experiments import MILLION_YUAN, metric_label

    names = [s.name for s in result.scenarios]

    def cell(metric: str, mean: float, lo: float, hi: float, signed: bool = False) -> str:
        k = 1e-6 if metric in MILLION_YUAN else 1.0
        sign = "+" if signed else ""
        if lo != lo:  # one replicate: no interval
            return f"{mean * k:{sign},.0f}"
        return f"{mean * k:{sign},.0f} [{lo * k:{sign},.0f}, {hi * k:{sign},.0f}]"

    def block(title: str, columns: list[str], value: Callable[[dict, str], str]) -> list[str]:
        grid = [["", *columns]]
        for metric in dict.fromkeys(result.table.metric):
            grid.append([metric_label(metric)])
            for name in columns:
                try:
                    grid[-1].append(value(result.metric(metric, name), metric))
                except KeyError:
                    grid[-1].append("n/a")
        widths = [max(len(row[i]) for row in grid) for i in range(len(grid[0]))]
        lines = [title]
        for row in grid:
            lines.append(
                "  ".join(
                    c.ljust(w) if i == 0 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(row, widths, strict=True))
                )
            )
        return lines

    seeds = result.seeds
    lines = [
        f"{len(seeds)} replicates per scenario (seeds {seeds[0]}-{seeds[-1]}, the same for every "
        "scenario); 95% intervals in brackets",
        "",
    ]
    lines += block("Mean per scenario", names, lambda r, m: cell(m, r["mean"], r["lo"], r["hi"]))
    if len(names) > 1:
        lines += [""]
        lines += block(
            f"Paired difference from {names[0]}",
            names[1:],
            lambda r, m: cell(m, r["diff_mean"], r["diff_lo"], r["diff_hi"], signed=True),
        )
    return "\n".join(lines)


# --- sweep ------------------------------------------------------------------------------


def _add_sweep_parser(sub: Any) -> None:
    sweep = sub.add_parser(
        "sweep",
        help="run a parameter sweep (grid, LHS or Sobol') into a Parquet result store",
        description="Runs every point of a sweep spec's design with each replicate seed and "
        "stores the results as they finish. Exit status: 0 all runs ok, 1 some runs failed, "
        "2 bad input (nothing written), 130 or 143 interrupted (finish with --resume).",
    )
    sweep.add_argument(
        "spec", type=Path, help="sweep spec (TOML), e.g. scenarios/sweeps/quick_demo.toml"
    )
    add_executor_options(sweep)
    sweep.set_defaults(handler=cmd_sweep)


def add_executor_options(parser: Any, resume: bool = True) -> None:
    """--jobs, --scheduler, --out and --resume: how and where a sweep's runs go."""
    parser.add_argument(
        "--jobs", type=int, help="local processes (default: all cores; 1: in this process)"
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask cluster: its scheduler's address (tcp://host:8786), "
        "or 'local' to start one here with --jobs workers",
    )
    parser.add_argument("--out", type=Path, help="result folder (default out/sweep-NAME)")
    if resume:
        parser.add_argument(
            "--resume",
            action="store_true",
            help="finish the sweep stored in --out: stored runs are kept, failed ones run again",
        )


def cmd_sweep(args: argparse.Namespace) -> int:
    from model.design import load_sweep

    code, _ = execute_sweep(load_sweep(args.spec), args, args.resume)
    return code


def execute_sweep(spec: Any, args: argparse.Namespace, resume: bool) -> tuple[int, Any]:
    """Run a sweep with a progress bar; return (exit status, SweepResult)."""
    from model.sweep import default_out, run_sweep

    out = args.out or default_out(spec)
    _check_writable(out)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs: {args.jobs}; allowed: an integer >= 1")
    bar = None

    def say(text: str) -> None:
        (bar.write if bar is not None else print)(f"laborflow: {text}", file=sys.stderr)

    def start(total: int, stored: int) -> None:
        nonlocal bar
        points = total // spec.replicates
        say(
            f"sweep {spec.name}: {points} points x {spec.replicates} replicates = {total} runs "
            f"({spec.design}, spec {spec.hash}), {stored} already stored, writing to {out}"
        )
        bar = _progress(total, "runs")
        bar.initial = bar.n = bar.last_print_n = stored
        bar.set_postfix(failures=0)

    def finished(record) -> None:
        failures[0] += record.status != "ok"
        bar.set_postfix(failures=failures[0], refresh=False)
        bar.update(1)

    failures = [0]
    try:
        result = run_sweep(
            spec,
            out,
            jobs=args.jobs,
            scheduler=args.scheduler,
            resume=resume,
            on_start=start,
            on_result=finished,
            notify=say,
        )
    finally:
        if bar is not None:
            bar.close()
    again = f"laborflow {args.command} {args.spec} --out {out}" + (
        " --resume" if args.command == "sweep" else ""
    )
    stored = f"{result.stored} of {result.total} runs stored in {out}"
    if result.interrupted:
        print(f"laborflow: {result.interrupted}: {stored}; finish with: {again}", file=sys.stderr)
        return (128 + result.stopped_by if result.stopped_by else 1), result
    failed = result.failed  # failed runs stored earlier ran again in this session
    print(f"{stored}: {result.total - failed} ok, {failed} failed")
    print(f"wrote {out}/runs (one row per run) and {out}/series (every {spec.series_every_days} d)")
    if failed:
        for run_id, error in result.failures[:3]:
            print(f"  failed {run_id}: {error}", file=sys.stderr)
        print(
            f"laborflow: {failed} runs failed (status 'failed' in {out}/runs, with their "
            f"errors); run them again with: {again}",
            file=sys.stderr,
        )
        return 1, result
    return 0, result


# --- validate ---------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    """Print the pass/fail table and write it as CSV; exit 1 if a fact fails."""
    from model.validation import validate

    if args.seeds < 1:
        raise UsageError(f"--seeds: {args.seeds}; allowed: an integer >= 1")
    _check_writable(args.out)
    table = validate(seeds=range(1, args.seeds + 1))
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "validation.csv", lambda p: table.to_csv(p, index=False))
    width = max(len(c) for c in table.claim)
    for r in table.itertuples():
        mark = "PASS" if r.result == "pass" else "FAIL"
        print(f"{mark}  {r.claim:<{width}}  model {r.model_value:.4g} {r.unit}")
        print(f"      {'':<{width}}  needs {r.tolerance}; source: {r.source}")
    failed = int((table.result == "fail").sum())
    print(f"{len(table) - failed} of {len(table)} facts pass; wrote {args.out}/validation.csv")
    return 1 if failed else 0


# --- listings ---------------------------------------------------------------------------


def cmd_scenarios(args: argparse.Namespace) -> int:
    folder: Path = args.folder
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder of scenarios")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise UsageError(f"{folder}: holds no scenario files (*.toml)")
    width = max(len(str(f)) for f in files)
    for f in files:
        sc = load_scenario(f)
        print(f"{str(f):<{width}}  {sc.title}")
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    width = max(len(p.name) for p in PARAMETERS)
    for p in PARAMETERS:
        default = "none" if p.default is None else p.default
        unit = f" {p.unit}" if p.unit and p.unit not in ("date", "MM-DD", "share") else ""
        print(f"{p.name:<{width}}  {default}{unit}  ({p.allowed()})  {p.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
