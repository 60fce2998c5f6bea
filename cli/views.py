"""Commands whose result is something to look at: the brief, the app, and the sensitivity
and discovery analyses (which draw their plots)."""

from __future__ import annotations

import sys

from cli.common import (
    ARTICLE_SCENARIOS,
    DEFAULT_SEED,
    add_set_option,
    check_jobs,
    check_output_folder,
    check_seed,
    path,
    require,
    scenarios_with_overrides,
)
from cli.many_runs import compare_with_progress, with_progress
from cli.robustness import (
    ROBUSTNESS_FOLDER,
    add_robustness_options,
    brief_ensemble,
    robustness_arguments,
    robustness_with_progress,
    saved_robustness,
)
from model.errors import ArgumentError

TYPE_CHECKING = False  # typing and pathlib load when a command runs, not for --help
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Any

ARTICLE_TITLE = "North Korean workers in Chinese factories: a gradual or an abrupt return?"
BRIEF_REPLICATES = 20
VALIDATION_REPLICATES = 3


def add_commands(sub: Any) -> None:
    """Commands that draw or serve what people look at; handlers import what they need."""
    add_app_command(sub)
    brief = sub.add_parser(
        "brief",
        help="write a policy brief (HTML and PDF) from a comparison of scenarios",
        description="With no scenarios, briefs the article's question: status quo, gradual "
        "return, abrupt return.",
    )
    brief.add_argument("scenarios", type=path, nargs="*", help="base scenario first, then others")
    brief.add_argument(
        "--replicates",
        type=int,
        default=BRIEF_REPLICATES,
        help=f"seeds per scenario (default {BRIEF_REPLICATES})",
    )
    brief.add_argument("--seed", type=int, default=DEFAULT_SEED, help="first seed")
    brief.add_argument("--jobs", type=int, default=None, help="processes (default: all cores)")
    add_set_option(brief, "override a parameter in every scenario")
    brief.add_argument(
        "--from", dest="source", type=path, help="use a comparison saved by `laborflow compare`"
    )
    brief.add_argument("--out", type=path, default="out/brief", help="output folder")
    brief.add_argument("--title", help="title of the brief")
    brief.add_argument(
        "--no-validation",
        dest="validation",
        action="store_false",
        help="leave out the appendix that checks the model against observed facts",
    )
    add_robustness_options(brief)
    brief.set_defaults(handler=cmd_brief)


def cmd_brief(args: argparse.Namespace) -> int:
    # the brief leads with a robustness ensemble, whose flip boxes are PRIM's (analysis)
    robust_saved = args.source is not None and (args.source / ROBUSTNESS_FOLDER).exists()
    needs_analysis = robust_saved if args.source else args.robustness
    require("brief", "brief", *(["analysis"] if needs_analysis else []))
    from experiments.comparison import Comparison
    from model.scenario import SCENARIO_DIR
    from viz.brief import findings_text, write_brief

    if args.source and (args.scenarios or args.overrides):
        raise ArgumentError(
            "--from: a saved comparison already fixes its scenarios; "
            "allowed: --from DIR alone, or scenario files without --from"
        )
    if not args.source and args.replicates < 2:
        raise ArgumentError(
            f"--replicates: {args.replicates}; "
            "allowed: a whole number of at least 2 (a brief reports intervals)"
        )
    check_seed(args.seed)
    check_jobs(args.jobs)
    check_output_folder(args.out)
    robust = None
    if args.source:
        comparison = Comparison.load(args.source)
        robust = saved_robustness(args.source)
        command = _regenerate_from(comparison, args)
    else:
        paths = args.scenarios or [SCENARIO_DIR / f for f in ARTICLE_SCENARIOS]
        scenarios = scenarios_with_overrides(paths, args.overrides)
        ensemble = brief_ensemble(scenarios, args)  # bad input is refused before any run
        comparison = compare_with_progress(scenarios, args.replicates, args.seed, args.jobs)
        command = _regenerate(paths, args)
        comparison.save(args.out / "data")  # so the brief can be checked or re-rendered (--from)
        if ensemble is not None:
            robust = robustness_with_progress(ensemble, args.jobs)
            robust.save(args.out / "data" / ROBUSTNESS_FOLDER)
    title = args.title or (ARTICLE_TITLE if not args.scenarios and not args.source else None)
    title = title or "Policy brief: " + ", ".join(s.title for s in comparison.scenarios)
    sections = [_validation(comparison, args)] if args.validation else []
    html, pdf = write_brief(comparison, args.out, title, command, sections, robust)
    print(f"wrote {html} and {pdf}" + ("" if args.source else f" (data in {args.out / 'data'})"))
    print("Key findings:")
    print(findings_text(comparison, robust))
    return 0


def _validation(comparison: Any, args: argparse.Namespace) -> dict[str, str]:
    """Check the briefed parameters against the facts; write validation.csv beside the brief."""
    from experiments.validation import VALIDATION_SCENARIOS, validate
    from model.files import make_folders, write_atomic
    from model.parameters import POLICY_PARAMETERS
    from model.scenario import defaults
    from viz.brief import validation_section

    base = comparison.scenarios[0].params
    world = {k: v for k, v in base.items() if k not in POLICY_PARAMETERS}
    default = defaults()
    overrides = {k: v for k, v in world.items() if default[k] != v}
    table = with_progress(
        len(VALIDATION_SCENARIOS) * VALIDATION_REPLICATES,
        args.jobs,
        lambda **how: validate(replicates=VALIDATION_REPLICATES, **how, **overrides),
    )
    make_folders(args.out)
    write_atomic(args.out / "validation.csv", lambda p: table.to_csv(p, index=False))
    return validation_section(table)


def _quote_path(path: Path) -> str:
    import contextlib
    import shlex
    from pathlib import Path

    with contextlib.suppress(ValueError):  # outside the working folder: keep it absolute
        path = path.resolve().relative_to(Path.cwd())
    return shlex.quote(str(path))


def _regenerate(paths: Sequence[Path], args: argparse.Namespace) -> str:
    import shlex
    from pathlib import Path

    parts = ["laborflow", "brief", *(_quote_path(Path(p)) for p in paths)]
    parts += ["--replicates", str(args.replicates), "--seed", str(args.seed)]
    parts += robustness_arguments(args)
    parts += [f"--set {shlex.quote(o)}" for o in args.overrides]
    if args.title:
        parts += ["--title", shlex.quote(args.title)]
    parts += ["--out", _quote_path(args.out)]
    return " ".join(parts)


def _regenerate_from(comparison: Any, args: argparse.Namespace) -> str:
    import shlex
    from pathlib import Path

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

APP_MODULE = "viz.app"
"""The app's page, served by ``solara run`` from the file that holds it."""
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


def app_file() -> str:
    """The file of the app's page (``viz/app.py``), found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec(APP_MODULE)
    assert spec is not None and spec.origin is not None, APP_MODULE
    return spec.origin


def cmd_app(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    if not 1 <= args.port <= 65535:  # checked here: the server would call it unreachable
        raise ArgumentError(f"--port: {args.port}; allowed: a whole number from 1 to 65535")
    # live run, comparison (with the brief to download) and robustness views
    require("app", "app", "brief", "analysis")
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
    command = [sys.executable, "-m", "solara", "run", app_file(), "--production"]
    command += ["--host", args.host, "--port", str(args.port), "--no-open"]
    print(f"laborflow app: serving on http://{args.host}:{args.port}/ (Ctrl-C stops it)")
    sys.stdout.flush()
    # become the server (no parent left behind): Ctrl-C and kill reach it directly
    os.execve(sys.executable, command, env)
    return 0  # not reached
