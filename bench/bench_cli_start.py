"""How fast the command answers: ``laborflow --help`` and ``laborflow scenarios``, wall time
and CPU time per call, beside a bare ``python -c pass`` (the interpreter's own start-up).

Run: ``.venv/bin/python bench/bench_cli_start.py [--repeat 20]``. Prints a table and writes
``bench/results/bench_cli_start.json``. A benchmark, not a test: it prints and asserts
nothing, because the machine may be busy (issue 14 asks for under 0.2 s; the minimum and the
median over the repeats say what a person waits on an idle and on a busy machine, the CPU
time what the start-up itself costs). Each call is a fresh process through the console
script, as a person would type it; the modules it imported are counted with
``-X importtime`` once per command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results" / "bench_cli_start.json"
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "laborflow --help": [str(BIN / "laborflow"), "--help"],
    "laborflow scenarios": [str(BIN / "laborflow"), "scenarios"],
}


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(command: list[str], repeat: int) -> dict[str, float]:
    """Wall and CPU seconds of ``repeat`` calls (one warm-up call first, not counted)."""
    subprocess.run(command, capture_output=True, check=True, cwd=ROOT)
    walls, cpus = [], []
    for _ in range(repeat):
        cpu = _cpu_children()
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, cwd=ROOT)
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu_children() - cpu)
    return {
        "wall_min_s": min(walls),
        "wall_median_s": statistics.median(walls),
        "cpu_min_s": min(cpus),
        "cpu_median_s": statistics.median(cpus),
    }


def modules_imported(command: list[str]) -> int:
    """How many modules the command imports, by ``-X importtime`` (one line per module)."""
    if command[0] == sys.executable:
        argv = [sys.executable, "-X", "importtime", *command[1:]]
    else:
        argv = [sys.executable, "-X", "importtime", "-m", "cli.main", *command[1:]]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=ROOT)
    return sum(line.startswith("import time:") for line in done.stderr.splitlines()) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="calls per command (20)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = {}
    for name, command in COMMANDS.items():
        rows[name] = measure(command, args.repeat) | {"modules": modules_imported(command)}
    load_after = os.getloadavg()[0]
    load = f"load average {load_before:.2f} before, {load_after:.2f} after"
    print(f"{args.repeat} calls each; {load}")
    print(f"{'':<22}{'wall min':>10}{'median':>10}{'CPU min':>10}{'median':>10}{'modules':>9}")
    for name, r in rows.items():
        print(
            f"{name:<22}{r['wall_min_s']:>9.3f}s{r['wall_median_s']:>9.3f}s"
            f"{r['cpu_min_s']:>9.3f}s{r['cpu_median_s']:>9.3f}s{r['modules']:>9}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "repeat": args.repeat,
                "load_before": load_before,
                "load_after": load_after,
                "python": platform.python_version(),
                "cores": os.cpu_count(),
                "commands": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
