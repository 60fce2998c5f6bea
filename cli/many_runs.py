"""Commands that run many simulations: compare, sweep, sensitivity, discovery, validate."""

from __future__ import annotations

import sys

from cli.common import (
    DEFAULT_SEED,
    add_executor_options,
    add_set_option,
    check_jobs,
    check_output_folder,
    path,
    progress_bar,
    require,
    scenarios_with_overrides,
)
from model.errors import ArgumentError, OutputError

TYPE_CHECKING = False  # typing and pathlib load when a command runs, not for --help
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any


def add_commands(sub: Any) -> None:
    comp = sub.add_parser(
        "compare", help="run scenarios with the same seeds and compare each with the first"
    )
    comp.add_argument("scenarios", type=path, nargs="+", help="base scenario first, then others")
    comp.add_argument("--replicates", type=int, default=8, help="seeds per scenario (default 8)")
    comp.add_argument("--seed", type=int, default=DEFAULT_SEED, help="first seed (default 1)")
    comp.add_argument("--jobs", type=int, default=None, help="processes (default: all cores)")
    comp.add_argument("--out", type=path, help="output folder (default out/compare-BASE)")
    add_set_option(comp, "override a parameter in every scenario, e.g. --set n_workers=5000")
    comp.set_defaults(handler=cmd_compare)

    sweep = sub.add_parser(
        "sweep",
        help="run a parameter sweep (grid, LHS or Sobol') into a Parquet result store",
        description="Runs every point of a sweep spec's design with each replicate seed and "
        "stores the results as they finish. Exit status: 0 all runs ok, 1 some runs failed, "
        "2 bad input (nothing written), 130 or 143 interrupted (finish with --resume).",
    )
    sweep.add_argument(
        "spec", type=path, help="sweep spec (TOML), e.g. scenarios/sweeps/quick_demo.toml"
    )
    add_executor_options(sweep)
    sweep.set_defaults(handler=cmd_sweep)

    sens = sub.add_parser(
        "sensitivity",
        help="Sobol' indices of the summary metrics over a sweep spec's parameters",
        description='Runs the spec (design = "saltelli") through the sweep machinery, or '
        "reuses the runs already stored in --out, then writes sensitivity.csv and .png.",
    )
    sens.add_argument("spec", type=path, help="e.g. scenarios/sweeps/sensitivity_status_quo.toml")
    add_executor_options(sens, resume=False)
    sens.set_defaults(handler=cmd_sensitivity)

    disc = sub.add_parser(
        "discover",
        help="scenario discovery (PRIM): where in parameter space a metric exceeds a threshold",
        description="Runs the spec through the sweep machinery (or reuses the runs stored in "
        "--out), then finds the box of parameter values in which METRIC > THRESHOLD.",
    )
    disc.add_argument("spec", type=path, help="sweep spec (TOML)")
    disc.add_argument("--metric", default="factories_shut", help="summary metric to explain")
    disc.add_argument(
        "--threshold", type=float, required=True, help="runs above it are of interest"
    )
    disc.add_argument(
        "--min-density", type=float, default=0.8, help="share of runs in the box above it (0.8)"
    )
    add_executor_options(disc, resume=False)
    disc.set_defaults(handler=cmd_discover)

    val = sub.add_parser("validate", help="check the model at its defaults against observed facts")
    val.add_argument("--seeds", type=int, default=3, help="replicates per scenario (default 3)")
    val.add_argument("--jobs", type=int, default=None, help="processes (default: all cores)")
    val.add_argument("--out", type=path, default="out/validation", help="output folder")
    val.set_defaults(handler=cmd_validate)


def cmd_compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from experiments.comparison import replicate_seeds

    scenarios = scenarios_with_overrides(args.scenarios, args.overrides)
    replicate_seeds(args.seed, args.replicates)  # checks seed and count before any work
    check_jobs(args.jobs)
    out = args.out or Path("out") / f"compare-{scenarios[0].name}"
    check_output_folder(out)
    result = compare_with_progress(scenarios, args.replicates, args.seed, args.jobs)
    result.save(out)
    print(format_comparison(result))
    print(f"wrote {out}/comparison.csv, runs.csv, bands.parquet (and Parquet copies)")
    return 0


def with_progress(total: int, jobs: int | None, work: Callable[..., Any]) -> Any:
    """``work(executor=..., on_result=...)`` on local processes, with a progress bar.

    An error or an interruption ends the workers at once (their runs would be thrown away).
    """
    from experiments.executors import abandon, local_executor

    executor = local_executor(jobs)  # before the progress bar's thread starts
    try:
        with progress_bar(total, "runs") as bar:
            return work(executor=executor, on_result=lambda record: bar.update(1))
    except BaseException:
        abandon(executor)
        raise
    finally:
        executor.shutdown(cancel_futures=True)


def compare_with_progress(scenarios: list, replicates: int, seed: int, jobs: int | None):
    """Run a comparison on local processes with a progress bar (compare and brief)."""
    from experiments.comparison import compare

    def work(**how: Any) -> Any:
        return compare(scenarios, replicates=replicates, master_seed=seed, **how)

    return with_progress(len(scenarios) * replicates, jobs, work)


def format_comparison(result) -> str:
    """Means with 95% intervals, then paired differences from the base, as text tables."""
    from model import metrics

    names = [s.name for s in result.scenarios]

    def block(title: str, columns: list[str], value: Callable[[dict, str], str]) -> list[str]:
        grid = [["", *columns]]
        for metric in dict.fromkeys(result.table.metric):
            grid.append([metrics.measure(metric).label_with_unit])
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
    lines += block(
        "Mean per scenario",
        names,
        lambda r, m: metrics.fmt_estimate(m, r["mean"], r["lo"], r["hi"]),
    )
    if len(names) > 1:
        lines += [""]
        lines += block(
            f"Paired difference from {names[0]}",
            names[1:],
            lambda r, m: metrics.fmt_estimate(
                m, r["diff_mean"], r["diff_lo"], r["diff_hi"], signed=True
            ),
        )
    return "\n".join(lines)


def cmd_sweep(args: argparse.Namespace) -> int:
    from experiments.design import load_sweep

    code, _ = execute_sweep(load_sweep(args.spec), args, args.resume)
    return code


def execute_sweep(spec: Any, args: argparse.Namespace, resume: bool) -> tuple[int, Any]:
    """Run a sweep with a progress bar; return (exit status, SweepResult)."""
    from experiments.errors import StoreUnwritable
    from experiments.sweep import default_out, run_sweep

    if args.scheduler:
        require(f"{args.command} --scheduler", "cluster")
    out = args.out or default_out(spec)
    check_output_folder(out)
    check_jobs(args.jobs)
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
        bar = progress_bar(total, "runs")
        bar.initial = bar.n = bar.last_print_n = stored
        bar.set_postfix(failures=0)

    def finished(record) -> None:
        failures[0] += record.status != "ok"
        bar.set_postfix(failures=failures[0], refresh=False)
        bar.update(1)

    failures = [0]
    again = f"laborflow {args.command} {args.spec} --out {out}" + (
        " --resume" if args.command == "sweep" else ""
    )
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
    except StoreUnwritable as err:
        raise OutputError(f"{err}; make room, then finish with: {again}") from err
    finally:
        if bar is not None:
            bar.close()
    stored = f"{result.stored} of {result.total} runs stored in {out}"
    if result.interrupted:
        print(f"laborflow: {result.interrupted}: {stored}; finish with: {again}", file=sys.stderr)
        return (128 + result.stopped_by if result.stopped_by else 1), result
    failed = result.failed  # failed runs stored earlier ran again in this session
    complete = " (complete)" if result.complete and result.stopped_by else ""
    print(f"{stored}{complete}: {result.total - failed} ok, {failed} failed")
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
    if result.stopped_by and args.command != "sweep":  # the sweep is whole; the analysis waits
        import signal

        name = signal.Signals(result.stopped_by).name
        print(
            f"laborflow: stopped by {name} once every run was stored; analyse them with: "
            f"laborflow {args.command} {args.spec} --out {out}",
            file=sys.stderr,
        )
        return 128 + result.stopped_by, result
    return 0, result


def cmd_sensitivity(args: argparse.Namespace) -> int:
    require("sensitivity", "analysis")  # SALib, and matplotlib for the plot
    from pathlib import Path

    from experiments.design import load_sweep
    from experiments.sensitivity import check_spec, sobol_indices
    from model.files import write_atomic
    from viz.charts import sensitivity_chart, to_png

    spec = load_sweep(args.spec)
    check_spec(spec)
    code, result = execute_sweep(spec, args, resume=True)
    if code:
        return code
    indices = sobol_indices(spec, result.runs)
    write_atomic(result.folder / "sensitivity.csv", lambda p: indices.to_csv(p, index=False))
    png = to_png(sensitivity_chart(indices))
    write_atomic(result.folder / "sensitivity.png", lambda p: Path(p).write_bytes(png))
    print(f"Sobol' indices ({spec.samples} base samples, 95% intervals in brackets):")
    for metric, rows in indices.groupby("metric", sort=False):
        print(f"  {metric}")
        for r in rows.sort_values("ST", ascending=False).itertuples():
            print(
                f"    {r.parameter:<36} S1 {r.S1:6.2f} [{r.S1_lo:5.2f}, {r.S1_hi:5.2f}]"
                f"  ST {r.ST:6.2f} [{r.ST_lo:5.2f}, {r.ST_hi:5.2f}] {r.note}"
            )
    print(f"wrote {result.folder}/sensitivity.csv and sensitivity.png")
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    require("discover", "analysis")  # the EMA Workbench's PRIM, and matplotlib for the plot
    from pathlib import Path

    from experiments.design import load_sweep
    from experiments.discovery import check_question, discover
    from model.files import write_atomic
    from viz.charts import discovery_chart, to_png

    if not 0 < args.min_density <= 1:
        raise ArgumentError(
            f"--min-density: {args.min_density}; allowed: a number above 0, at most 1"
        )
    spec = load_sweep(args.spec)
    check_question(spec, args.metric, args.threshold)  # before the sweep, not after it
    code, result = execute_sweep(spec, args, resume=True)
    if code:
        return code
    box, x, interesting = discover(
        result.runs, spec.parameters, args.metric, args.threshold, args.min_density
    )
    title = f"Where {args.metric.replace('_', ' ')} > {args.threshold:g}"
    png = to_png(discovery_chart(x, interesting, box, title))
    write_atomic(result.folder / "discovery.png", lambda p: Path(p).write_bytes(png))
    write_atomic(result.folder / "discovery.csv", lambda p: box.limits.to_csv(p))
    print(f"{int(interesting.sum())} of {len(x)} runs have {args.metric} > {args.threshold:g}.")
    print(f"Box: {box.describe()}")
    print(
        f"  coverage {box.coverage:.0%} (of those runs, the share inside the box), "
        f"density {box.density:.0%} (of the runs inside, the share above the threshold), "
        f"mass {box.mass:.0%} (of all runs inside)"
    )
    print(f"wrote {result.folder}/discovery.csv and discovery.png")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Print the pass/fail table and write it as CSV; exit 1 if a fact fails."""
    from experiments.validation import VALIDATION_SCENARIOS, validate
    from model.files import make_folders, write_atomic

    if args.seeds < 1:
        raise ArgumentError(f"--seeds: {args.seeds}; allowed: a whole number of at least 1")
    check_output_folder(args.out)
    check_jobs(args.jobs)
    total = len(VALIDATION_SCENARIOS) * args.seeds
    table = with_progress(total, args.jobs, lambda **how: validate(replicates=args.seeds, **how))
    make_folders(args.out)
    write_atomic(args.out / "validation.csv", lambda p: table.to_csv(p, index=False))
    width = max(len(c) for c in table.claim)
    for r in table.itertuples():
        mark = "PASS" if r.result == "pass" else "FAIL"
        print(f"{mark}  {r.claim:<{width}}  model {r.model_value:.4g} {r.unit}")
        print(f"      {'':<{width}}  needs {r.tolerance}; source: {r.source}")
    failed = int((table.result == "fail").sum())
    print(f"{len(table) - failed} of {len(table)} facts pass; wrote {args.out}/validation.csv")
    return 1 if failed else 0
