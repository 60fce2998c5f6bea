"""The ``laborflow`` console script: the model's commands plus the ones that draw.

``model/cli.py`` holds run, compare, sweep, scenarios and params and never imports
``viz``; this module adds the commands that need viz (app, brief) on top of it.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from model import cli as model_cli

ARTICLE_SCENARIOS = ("status_quo.toml", "gradual_return.toml", "abrupt_return.toml")
ARTICLE_TITLE = "North Korean workers in Chinese factories: a gradual or an abrupt return?"
BRIEF_REPLICATES = 20


def add_viz_commands(sub: Any) -> None:
    """Subcommands that need viz; each handler imports what it needs when it runs."""
    add_app_command(sub)
    brief = sub.add_parser(
        "brief",
        help="write a policy brief (HTML and PDF) from a comparison of scenarios",
        description="With no scenarios, briefs the article's question: status quo, gradual "
        "return, abrupt return.",
    )
    brief.add_argument("scenarios", type=Path, nargs="*", help="base scenario first, then others")
    brief.add_argument(
        "--replicates",
        type=int,
        default=BRIEF_REPLICATES,
        help=f"seeds per scenario (default {BRIEF_REPLICATES})",
    )
    brief.add_argument("--seed", type=int, default=model_cli.DEFAULT_SEED, help="first seed")
    brief.add_argument("--jobs", type=int, default=None, help="processes (default: all cores)")
    model_cli.add_set_option(brief, "override a parameter in every scenario")
    brief.add_argument(
        "--from", dest="source", type=Path, help="use a comparison saved by `laborflow compare`"
    )
    brief.add_argument("--out", type=Path, default=Path("out/brief"), help="output folder")
    brief.add_argument("--title", help="title of the brief")
    brief.add_argument(
        "--no-validation",
        dest="validation",
        action="store_false",
        help="leave out the appendix that checks the model against observed facts",
    )
    brief.set_defaults(handler=cmd_brief)

    sens = sub.add_parser(
        "sensitivity",
        help="Sobol' indices of the summary metrics over a sweep spec's parameters",
        description='Runs the spec (design = "saltelli") through the sweep machinery, or '
        "reuses the runs already stored in --out, then writes sensitivity.csv and .png.",
    )
    sens.add_argument("spec", type=Path, help="e.g. scenarios/sweeps/sensitivity_status_quo.toml")
    model_cli.add_executor_options(sens, resume=False)
    sens.set_defaults(handler=cmd_sensitivity)

    disc = sub.add_parser(
        "discover",
        help="scenario discovery (PRIM): where in parameter space a metric exceeds a threshold",
        description="Runs the spec through the sweep machinery (or reuses the runs stored in "
        "--out), then finds the box of parameter values in which METRIC > THRESHOLD.",
    )
    disc.add_argument("spec", type=Path, help="sweep spec (TOML)")
    disc.add_argument("--metric", default="factories_shut", help="summary metric to explain")
    disc.add_argument(
        "--threshold", type=float, required=True, help="runs above it are of interest"
    )
    disc.add_argument(
        "--min-density", type=float, default=0.8, help="share of runs in the box above it (0.8)"
    )
    model_cli.add_executor_options(disc, resume=False)
    disc.set_defaults(handler=cmd_discover)


def cmd_brief(args: argparse.Namespace) -> int:
    from model.experiments import Comparison
    from viz.brief import findings_text, write_brief

    if args.source and (args.scenarios or args.overrides):
        raise model_cli.UsageError(
            "--from: a saved comparison already fixes its scenarios; "
            "allowed: --from DIR alone, or scenario files without --from"
        )
    model_cli._check_writable(args.out)
    if args.source:
        comparison = Comparison.load(args.source)
        command = _regenerate_from(comparison, args)
    else:
        paths = args.scenarios or [model_cli.SCENARIO_DIR / f for f in ARTICLE_SCENARIOS]
        scenarios = model_cli.scenarios_with_overrides(paths, args.overrides)
        if args.replicates < 2:
            raise model_cli.UsageError(
                f"--replicates: {args.replicates}; "
                "allowed: an integer >= 2 (a brief reports intervals)"
            )
        comparison = model_cli.compare_with_progress(
            scenarios, args.replicates, args.seed, args.jobs
        )
        command = _regenerate(paths, args)
        comparison.save(args.out / "data")  # so the brief can be checked or re-rendered (--from)
    title = args.title or (ARTICLE_TITLE if not args.scenarios and not args.source else None)
    title = title or "Policy brief: " + ", ".join(s.title for s in comparison.scenarios)
    sections = [_validation(comparison, args)] if args.validation else []
    html, pdf = write_brief(comparison, args.out, title, command, sections)
    print(f"wrote {html} and {pdf}" + ("" if args.source else f" (data in {args.out / 'data'})"))
    print("Key findings:")
    print(findings_text(comparison))
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from model.design import load_sweep
    from model.files import write_atomic
    from model.sensitivity import check_spec, sobol_indices
    from viz.charts import sensitivity_chart, to_png

    spec = load_sweep(args.spec)
    check_spec(spec)
    code, result = model_cli.execute_sweep(spec, args, resume=True)
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
    from model.design import load_sweep
    from model.discovery import discover
    from model.files import write_atomic
    from viz.charts import discovery_chart, to_png

    if not 0 < args.min_density <= 1:
        raise model_cli.UsageError(
            f"--min-density: {args.min_density}; allowed: a number above 0, at most 1"
        )
    spec = load_sweep(args.spec)
    code, result = model_cli.execute_sweep(spec, args, resume=True)
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


def _validation(comparison: Any, args: argparse.Namespace) -> dict[str, str]:
    """Check the briefed parameters against the facts; write validation.csv beside the brief."""
    from model.scenario import DEFAULTS, POLICY_PARAMETERS
    from model.validation import validate
    from viz.brief import validation_section

    base = comparison.scenarios[0].params
    world = {k: v for k, v in base.items() if k not in POLICY_PARAMETERS}
    overrides = {k: v for k, v in world.items() if DEFAULTS[k] != v}
    table = validate(**overrides)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "validation.csv", index=False)
    return validation_section(table)


def _quote_path(path: Path) -> str:
    with contextlib.suppress(ValueError):  # outside the working folder: keep it absolute
        path = path.resolve().relative_to(Path.cwd())
    return shlex.quote(str(path))


def _regenerate(paths: Sequence[Path], args: argparse.Namespace) -> str:
    parts = ["laborflow", "brief", *(_quote_path(Path(p)) for p in paths)]
    parts += ["--replicates", str(args.replicates), "--seed", str(args.seed)]
    parts += [f"--set {shlex.quote(o)}" for o in args.overrides]
    if args.title:
        parts += ["--title", shlex.quote(args.title)]
    parts += ["--out", _quote_path(args.out)]
    return " ".join(parts)


def _regenerate_from(comparison: Any, args: argparse.Namespace) -> str:
    paths = " ".join(_quote_path(Path(s.path)) for s in comparison.scenarios if s.path)
    seeds = comparison.seeds
    compare = (
        f"laborflow compare {paths} --replicates {len(seeds)} --seed {seeds[0]} "
        f"--out {_quote_path(args.source)}"
    )
    brief = f"laborflow brief --from {_quote_path(args.source)} --out {_quote_path(args.out)}"
    if args.title:
        brief += f" --title {shlex.quote(args.title)}"
    return f"{compare}\n{brief}"


# --- laborflow app ---------------------------------------------------------------------

APP_FILE = Path(__file__).resolve().parent / "app.py"
APP_PORT = 8765


def add_app_command(sub: Any) -> None:
    app = sub.add_parser(
        "app",
        help="serve the interactive app (live run, scenario comparison) in the browser",
        description="Serves viz/app.py with Solara; open the address it prints.",
    )
    app.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 for all)",
    )
    app.add_argument("--port", type=int, default=APP_PORT, help=f"port (default {APP_PORT})")
    app.set_defaults(handler=cmd_app)


def cmd_app(args: argparse.Namespace) -> int:
    import os

    if not 0 <= args.port <= 65535:
        raise model_cli.UsageError(f"--port: {args.port}; allowed: 0 to 65535")
    cache = Path(
        os.environ.get("SOLARA_ASSETS_PROXY_CACHE_DIR", Path(sys.prefix) / "share/solara/cdn")
    )
    if not any(cache.glob("@widgetti/solara-vuetify-app@*")):
        print(
            f"laborflow app: Solara's front-end files are not in {cache}; without internet "
            "access the page will not load (run scripts/setup_browser.sh to fetch them)",
            file=sys.stderr,
        )
    env = {  # no calls home, and no "runs on Solara" banner over the charts
        **os.environ,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_THEME_SHOW_BANNER": "False",
    }
    command = [sys.executable, "-m", "solara", "run", str(APP_FILE), "--production"]
    command += ["--host", args.host, "--port", str(args.port), "--no-open"]
    print(f"laborflow app: serving on http://{args.host}:{args.port}/ (Ctrl-C stops it)")
    sys.stdout.flush()
    # become the server (no parent left behind): Ctrl-C and kill reach it directly
    os.execve(sys.executable, command, env)
    return 0  # not reached


def main(argv: Sequence[str] | None = None) -> int:
    return model_cli.main(argv, extend=add_viz_commands)


if __name__ == "__main__":
    sys.exit(main())
