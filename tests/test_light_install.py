"""A light start and a light install (issue 14).

``laborflow --help`` and ``laborflow scenarios`` load argparse and laborflow's own modules,
never the heavy libraries (checked in a fresh interpreter through the console script, so no
test has loaded them first). A command whose extra is missing says in one line which extra to
install, with exit status 2 and nothing written (checked with the module hidden from a fresh
interpreter). How long the start takes is measured by ``bench/bench_cli_start.py``, not here:
a timing would test the machine's load.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from model.extras import EXTRAS, MissingExtra, extra_of, installed, require

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "laborflow"
HEAVY = (
    "numpy",
    "numba",
    "pandas",
    "pandas.plotting",
    "scipy",
    "pyarrow",
    "mesa",
    "matplotlib",
    "solara",
    "plotly",
    "weasyprint",
    "jinja2",
    "SALib",
    "ema_workbench",
    "dask",
    "distributed",
    "tqdm",
)


def imported_by(*argv: str) -> set[str]:
    """Modules a fresh interpreter imports to run the console script with ``argv``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", str(SCRIPT), *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines[1:]}


@pytest.mark.parametrize("argv", [["--help"], ["scenarios"], ["sweep", "--help"]])
def test_help_and_scenarios_import_no_heavy_module(argv: list[str]) -> None:
    modules = imported_by(*argv)
    assert "cli.main" in modules  # the measurement saw the command itself
    heavy = sorted(m for m in modules if m in HEAVY or m.partition(".")[0] in HEAVY)
    assert heavy == [], f"laborflow {' '.join(argv)} imported {heavy}"


def test_help_loads_neither_the_scenarios_nor_typing() -> None:
    """The parser is built from argparse and cli/ alone (bench/bench_cli_start.py: why)."""
    modules = imported_by("--help")
    assert not modules & {"model.scenario", "model.parameters", "model.files", "typing"}


HIDE = """
import sys

HIDDEN = {hidden!r}


class Hide:
    \"\"\"Imports of the hidden top-level modules fail as for a package not installed.\"\"\"

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, Hide())
for name in list(sys.modules):
    if name.partition(".")[0] in HIDDEN:
        del sys.modules[name]
from cli.main import main

sys.exit(main({argv!r}))
"""


def run_without(hidden: list[str], argv: list[str]) -> subprocess.CompletedProcess:
    """The command in a fresh interpreter in which ``hidden`` modules cannot be imported."""
    code = textwrap.dedent(HIDE).format(hidden=set(hidden), argv=argv)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def one_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    return lines[0]


SWEEPS = ROOT / "scenarios" / "sweeps"


@pytest.mark.parametrize(
    ("hidden", "argv", "extra"),
    [
        (["weasyprint"], ["brief"], "brief"),
        (["jinja2"], ["brief", "--no-robustness"], "brief"),
        (["ema_workbench"], ["brief"], "analysis"),
        (["solara"], ["app"], "app"),
        (["SALib"], ["sensitivity", str(SWEEPS / "sensitivity_status_quo.toml")], "analysis"),
        (["ema_workbench"], ["discover", str(SWEEPS / "quick_demo.toml"), "--threshold", "1"],
         "analysis"),
        (["ema_workbench"], ["robustness", "--worlds", "4"], "analysis"),
        (["distributed"], ["sweep", str(SWEEPS / "quick_demo.toml"), "--scheduler", "local"],
         "cluster"),
        # no check before it: the net in cli.main catches the import of SALib's sampler
        (["SALib"], ["sweep", str(SWEEPS / "sensitivity_status_quo.toml")], "analysis"),
    ],
)  # fmt: skip
def test_a_missing_extra_is_one_line_naming_it(
    hidden: list[str], argv: list[str], extra: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = run_without(hidden, [*argv, "--out", str(out)] if argv[0] != "app" else argv)
    line = one_line(done)
    assert done.returncode == 2, done.stderr
    assert f"laborflow {argv[0]}" in line and f"pip install 'laborflow[{extra}]'" in line, line
    assert not out.exists()


def test_a_module_set_to_none_counts_as_missing() -> None:
    """``sys.modules[name] = None`` (how Python refuses an import) is missing too."""
    code = (
        "import sys; sys.modules['weasyprint'] = None\n"
        "from cli.main import main; sys.exit(main(['brief', '--no-robustness']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    assert "pip install 'laborflow[brief]'" in one_line(done)


def test_extras_name_real_modules_and_the_installed_ones_pass() -> None:
    """make setup installs every extra: each module the map names is there."""
    for extra, modules in EXTRAS.items():
        assert all(installed(m) for m in modules), extra
        require("test", extra)
    assert extra_of("ema_workbench.analysis.prim") == "analysis"
    assert extra_of("numpy") is None
    with pytest.raises(MissingExtra, match=r"pip install 'laborflow\[cluster\]'"):
        EXTRAS["cluster"] += ("no_such_module_here",)
        try:
            require("--scheduler", "cluster")
        finally:
            EXTRAS["cluster"] = EXTRAS["cluster"][:-1]


def test_the_extras_in_pyproject_match_the_map() -> None:
    """Each extra in model/extras.py is one pyproject.toml declares, and [all] has them all."""
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert set(EXTRAS) <= set(extras)
    (everything,) = extras["all"]
    assert set(everything.removeprefix("laborflow[").removesuffix("]").split(",")) == set(EXTRAS)
    assert "laborflow[all]" in extras["dev"]


def test_the_app_command_serves_the_app_file_and_it_imports() -> None:
    """`laborflow app` serves viz/app.py; a page that cannot import is caught here too, not
    only by the browser tests (which need chromium)."""
    from cli.views import app_file

    assert Path(app_file()) == ROOT / "viz" / "app.py"
    done = subprocess.run(
        [sys.executable, "-c", "import viz.app"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
