"""The tutorial notebook (docs/tutorial.ipynb) runs top to bottom, so it cannot go stale.

nbclient executes it cell by cell in a real kernel, as Jupyter would, with the notebook's
folder as the working folder and its output folder in a temporary one. A cell that raises
fails the test with the cell's number, its first lines and the error, not a kernel dump.
About a minute on 2 idle cores (marked slow: `make test-quick` leaves it out).
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"
CELL_TIMEOUT_S = 600  # a cell that hangs fails the test rather than holding CI


def _code_cells(nb) -> list[tuple[int, object]]:
    """(number as Jupyter shows it among all cells, from 1; cell) for each code cell."""
    return [(i + 1, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def test_the_notebook_is_stored_without_outputs() -> None:
    """Outputs (images, tables) would make every run a diff; the test makes them fresh."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    kept = [n for n, c in _code_cells(nb) if c.outputs or c.execution_count is not None]
    assert kept == [], f"cells {kept} keep outputs: clear them before committing"


def run_notebook(nb, folder: Path, name: str) -> None:
    """Execute ``nb`` in a kernel whose working folder is ``folder``; a cell that raises
    fails the test naming ``name``, the cell's number and first lines, and the error."""
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    try:
        client.execute()
    except CellExecutionError as err:
        failed = next(
            ((n, o) for n, c in _code_cells(nb) for o in c.outputs if o.output_type == "error"),
            None,
        )
        if failed is None:  # a timeout or a dead kernel: no cell holds the error
            pytest.fail(f"{name}: {str(err).strip().splitlines()[-1:]}", pytrace=False)
        number, error = failed
        lines = nb.cells[number - 1].source.splitlines()[:4]
        pytest.fail(
            f"{name}: cell {number} failed:\n    "
            + "\n    ".join(lines)
            + f"\n{error.ename}: {error.evalue}",
            pytrace=False,
        )


@pytest.mark.slow
def test_the_tutorial_runs_top_to_bottom(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LABORFLOW_TUTORIAL_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # the kernel imports laborflow from this checkout, whatever the kernel's own path
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    run_notebook(nbformat.read(NOTEBOOK, as_version=4), NOTEBOOK.parent, "docs/tutorial.ipynb")
    assert (tmp_path / "out" / "brief" / "brief.pdf").is_file()
    assert (tmp_path / "out" / "sweep").is_dir()


def test_a_failing_cell_is_named_with_its_error(tmp_path: Path) -> None:
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook(
        cells=[
            new_code_cell("x = 1"),
            new_markdown_cell("Then:"),
            new_code_cell("y = x + 1\nraise ValueError('the sweep folder is not writable')"),
            new_code_cell("z = 3"),
        ]
    )
    with pytest.raises(pytest.fail.Exception) as failure:
        run_notebook(nb, tmp_path, "broken.ipynb")
    message = str(failure.value)
    assert message.startswith("broken.ipynb: cell 3 failed:\n    y = x + 1"), message
    assert "ValueError: the sweep folder is not writable" in message, message
