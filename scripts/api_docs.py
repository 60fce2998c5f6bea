"""Build the API reference with pdoc, and refuse one with an undocumented public function.

Run: ``make docs`` (or ``.venv/bin/python scripts/api_docs.py [--out docs/api] [--check]``).
Writes a static HTML site into ``docs/api/`` (git-ignored; open ``docs/api/index.html``).

pdoc documents what each module exports (``__all__``): the public API a researcher uses,
not the plumbing the command line and the app share. pdoc itself builds a page for a
function without a docstring; this script does not: every public function, method, property
and class of the modules below must have a docstring, and every argument of a function must
be named in it (what it is, with its unit). Each gap is printed as a warning naming it, and
the exit status is then 1 (``tests/test_docs.py`` runs the check).
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = (
    "model.model",
    "model.scenario",
    "experiments.comparison",
    "experiments.sweep",
    "experiments.robustness",
    "viz.charts",
    "viz.brief",
)
"""The public API, in the order the reference lists it."""
IGNORED_ARGUMENTS = {"self", "cls"}


def _members(namespace, module: str) -> Iterator:
    """Public functions, classes, methods and properties defined in ``module`` (not those a
    class inherits from a library, such as Mesa's ``Model``)."""
    import pdoc.doc

    for doc in namespace.members.values():
        if doc.name.startswith("_") or doc.taken_from[0] != module:
            continue
        if isinstance(doc, pdoc.doc.Class):
            yield doc
            yield from _members(doc, module)
        elif isinstance(doc, pdoc.doc.Function):
            yield doc


def _arguments(function) -> list[str]:
    try:
        signature = function.signature
    except (TypeError, ValueError):
        return []
    return [
        name
        for name, p in signature.parameters.items()
        if name not in IGNORED_ARGUMENTS
        and not name.startswith("_")
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]


def gaps(modules: tuple[str, ...] = MODULES) -> list[str]:
    """One line per public function or class without a docstring, or per argument its
    function's docstring does not name."""
    import pdoc.doc

    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # type annotations pdoc cannot resolve (Mesa's)
        members = [
            doc for module in modules for doc in _members(pdoc.doc.Module.from_name(module), module)
        ]
        for doc in members:
            own = inspect.getdoc(doc.obj) if not isinstance(doc.obj, property) else None
            text = (doc.docstring or own or "").strip()
            if not text:
                found.append(f"{doc.fullname}: no docstring")
                continue
            if isinstance(doc, pdoc.doc.Function):
                for name in _arguments(doc):
                    if not re.search(rf"\b{re.escape(name)}\b", text):
                        found.append(f"{doc.fullname}: argument {name!r} is not described")
    return found


def build(out: Path, modules: tuple[str, ...] = MODULES) -> None:
    """Write the HTML reference into ``out`` (emptied first)."""
    import shutil

    import pdoc
    import pdoc.render

    pdoc.render.configure(
        docformat="restructuredtext",
        footer_text="laborflow: the public Python API (make docs)",
        search=True,
    )
    if out.exists():
        shutil.rmtree(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # see gaps(): Mesa's annotations, not ours
        pdoc.pdoc(*modules, output_directory=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "api", help="output folder")
    parser.add_argument("--check", action="store_true", help="check the docstrings, build nothing")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    found = gaps()
    for line in found:
        print(f"docs: warning: {line}", file=sys.stderr)
    if not args.check:
        build(args.out)
        print(f"docs: wrote {args.out / 'index.html'} ({len(MODULES)} modules)")
    if found:
        print(
            f"docs: {len(found)} undocumented (a public function says what each argument is)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
