"""Commands about one scenario: run it, list the scenario files, list the parameters."""

from __future__ import annotations

from cli.common import DEFAULT_SEED, add_set_option, check_output_folder, check_seed, path
from model.errors import ArgumentError

TYPE_CHECKING = False  # typing and pathlib load when a command runs, not for --help
if TYPE_CHECKING:
    import argparse
    from pathlib import Path
    from typing import Any


def add_commands(sub: Any) -> None:
    run = sub.add_parser("run", help="run one scenario and write its results")
    run.add_argument(
        "scenario", type=path, help="scenario file (TOML), e.g. scenarios/status_quo.toml"
    )
    run.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    add_set_option(run, "override a parameter, e.g. --set n_workers=5000")
    run.add_argument("--out", type=path, help="output folder (default out/SCENARIO-seedN)")
    run.set_defaults(handler=cmd_run)

    scen = sub.add_parser("scenarios", help="list the scenario files, one line each")
    scen.add_argument(
        "folder", type=path, nargs="?", help="folder of scenario files (default: laborflow's own)"
    )
    scen.set_defaults(handler=cmd_scenarios)

    params = sub.add_parser("params", help="list every parameter with default, unit and range")
    params.set_defaults(handler=cmd_params)


def cmd_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from model.model import LaborModel
    from model.scenario import load_scenario, parse_assignment

    check_seed(args.seed)
    scenario = load_scenario(args.scenario)
    overrides = dict(parse_assignment(a) for a in args.overrides)
    if overrides:
        scenario = scenario.with_overrides(overrides, origin="command line --set")
    out = args.out or Path("out") / f"{scenario.name}-seed{args.seed}"
    check_output_folder(out)
    model = LaborModel(rng=args.seed, scenario=scenario)
    model.run_model()
    summary = model.summary()
    write_run(out, model.timeseries(), summary, model.shutdowns())
    print(format_summary(summary))
    print(f"wrote {out}/timeseries.parquet, timeseries.csv, shutdowns.csv, summary.json")
    return 0


def write_run(out: Path, timeseries, summary: dict[str, Any], shutdowns) -> None:
    """Write a run's files; each appears whole or not at all."""
    import json
    from pathlib import Path

    from model.files import make_folders, write_atomic

    make_folders(out)
    write_atomic(out / "timeseries.parquet", lambda p: timeseries.to_parquet(p, index=False))
    write_atomic(out / "timeseries.csv", lambda p: timeseries.to_csv(p, index=False))
    write_atomic(out / "shutdowns.csv", lambda p: shutdowns.to_csv(p, index=False))
    write_atomic(
        out / "summary.json", lambda p: Path(p).write_text(json.dumps(summary, indent=2) + "\n")
    )


def format_summary(s: dict[str, Any]) -> str:
    """The few numbers a person reads first, aligned; labels and units from model.metrics."""
    from model import metrics

    def value(name: str, suffix: str = "") -> str:
        if s[name] is None:
            return "n/a (outside horizon)"
        m = metrics.measure(name)
        unit = f" {m.unit}" if m.scale != 1 else ""
        return metrics.fmt(name, s[name]) + unit + suffix

    rows = [
        (metrics.label("factories_shut"), value("factories_shut", f" of {s['factories']:,}")),
        ("First shutdown", s["first_shutdown"] or "none"),
        (
            metrics.label("peak_labor_gap"),
            value("peak_labor_gap", f" on {s['peak_labor_gap_date']}"),
        ),
    ]
    rows += [
        (metrics.label(name), value(name))
        for name in (
            "cn_jobs_lost",
            "output_lost",
            "extra_wage_cost",
            "nk_in_china_at_deadline",
            "nk_overstaying_at_deadline",
            "nk_deported_total",
        )
    ]
    width = max(len(k) for k, _ in rows)
    prov = s["provenance"]
    head = (
        f"{s['scenario']} (seed {prov['seed']}, scenario {prov['scenario_hash']}): "
        f"{s['start_date']} to {s['end_date']}, {s['initial_nk_workers']:,} North Korean "
        f"workers, {s['factories']:,} factories"
    )
    return "\n".join([head] + [f"  {k:<{width}}  {v}" for k, v in rows])


def cmd_scenarios(args: argparse.Namespace) -> int:
    from model.scenario import SCENARIO_DIR, load_scenario

    folder: Path = args.folder or SCENARIO_DIR
    if not folder.is_dir():
        raise ArgumentError(f"{folder}: no such folder of scenarios")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise ArgumentError(f"{folder}: holds no scenario files (*.toml)")
    width = max(len(str(f)) for f in files)
    for f in files:
        sc = load_scenario(f)
        print(f"{str(f):<{width}}  {sc.title}")
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    """Every parameter: its default (the status quo) with unit, what is allowed, what it means."""
    from model.parameters import PARAMETERS
    from model.scenario import default_scenario

    status_quo = default_scenario()
    width = max(len(p.name) for p in PARAMETERS)
    for p in PARAMETERS:
        value = status_quo.params[p.name]
        default = "none" if value is None else value
        unit = f" {p.unit}" if p.unit and p.unit not in ("date", "MM-DD", "share") else ""
        record = status_quo.records[p.name]
        kind = "sourced" if record.sourced else "assumption"
        plausible = f"; plausible: {record.plausible.text()}" if record.plausible else ""
        print(f"{p.name:<{width}}  {default}{unit}  ({p.allowed()})  {p.doc} [{kind}{plausible}]")
    return 0
