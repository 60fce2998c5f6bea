"""The API reference builds (``make docs``), and a public function without a docstring that
says what each argument is fails the build, naming the function."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "api_docs.py"


def _api_docs():
    spec = importlib.util.spec_from_file_location("api_docs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_builds_with_every_public_function_documented(tmp_path: Path) -> None:
    out = tmp_path / "api"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "docs: warning" not in done.stderr, done.stderr
    assert (out / "index.html").is_file()
    pages = {
        "model/model.html": ["LaborModel", "from_scenario", "timeseries", "summary",
                             "factory_table"],
        "experiments/comparison.html": ["compare", "Comparison"],
        "experiments/sweep.html": ["run_sweep", "SweepResult"],
        "experiments/robustness.html": ["robustness", "RobustnessResult"],
        "viz/charts.html": ["labor_gap_chart", "factories_shut_chart", "to_png"],
        "viz/brief.html": ["write_brief"],
    }  # fmt: skip
    for page, names in pages.items():
        html = (out / page).read_text()
        for name in names:
            assert f'id="{name}"' in html or f'id="LaborModel.{name}"' in html, (page, name)


def test_a_missing_docstring_or_argument_is_named(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "half_documented.py").write_text(
        textwrap.dedent(
            '''
            def documented(days: int) -> int:
                """Twice ``days`` (days)."""
                return 2 * days


            def silent(x):
                return x


            def vague(n_workers: int, wage_yuan: float) -> float:
                """The wage bill of ``n_workers``."""
                return n_workers * wage_yuan


            def _private(y):
                return y
            '''
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    gaps = _api_docs().gaps(("half_documented",))
    assert gaps == [
        "half_documented.silent: no docstring",
        "half_documented.vague: argument 'wage_yuan' is not described",
    ]
