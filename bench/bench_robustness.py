"""Robustness ensembles: runs per second at Dandong scale, the cost of reading an ensemble,
and the time of `make run` (the brief, which now leads with an ensemble).

Run: ``.venv/bin/python bench/bench_robustness.py [--quick] [--no-brief]``. Prints a table and
writes ``bench/results/bench_robustness.json``. A benchmark, not a test: it prints, it
asserts nothing, because the machine may be busy. Each measurement runs in a fresh
interpreter, as the command would, and reports the CPU seconds the runs used beside the wall
time, with the load average before and after: on a shared machine the wall time says how
long a person waited, the CPU time per run what the model costs.

- Ensemble: the article's three scenarios in W plausible worlds x 2 seeds at Dandong scale
  (20,000 workers, 200 factories, three years) on 2 local processes, in memory
  (``experiments.robustness.robustness``); runs per second over the runs' wall time, then
  the time to read the ensemble (contrasts, regret, drivers with their bootstrap, every
  flip box with PRIM, the EMA Workbench's import included) and write its files.
- One run: the same ensemble's first world on 1 process, seconds per run.
- `make run`: ``laborflow brief --out DIR`` with the defaults (the comparison of 20 seeds,
  the ensemble, the validation appendix, HTML and PDF), set-up excluded.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results" / "bench_robustness.json"
ARTICLE = [ROOT / "scenarios" / f for f in
           ("status_quo.toml", "gradual_return.toml", "abrupt_return.toml")]  # fmt: skip


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- children: one measurement each, in a fresh interpreter --------------------------------


def child_ensemble(worlds: int, replicates: int, jobs: int, out: str) -> dict[str, Any]:
    from experiments.robustness import build_ensemble, run_ensemble

    ensemble = build_ensemble(ARTICLE, worlds, replicates, 1)
    start, cpu0 = time.perf_counter(), _cpu_children() + _cpu_self()
    result = run_ensemble(ensemble, jobs=jobs)
    wall = time.perf_counter() - start
    cpu = _cpu_children() + _cpu_self() - cpu0
    read = time.perf_counter()
    result.save(out)
    reading = time.perf_counter() - read
    runs = len(result.runs)
    return {
        "worlds": worlds,
        "replicates": replicates,
        "jobs": jobs,
        "runs": runs,
        "wall_s": wall,
        "runs_per_s": runs / wall,
        "cpu_s_per_run": cpu / runs,
        "read_and_write_s": reading,
    }


def measure(*args: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def time_brief(out: Path) -> dict[str, Any]:
    """`make run` without its set-up: the brief with its defaults, as a person runs it.

    CPU seconds are summed over the whole process tree (the pools' workers, a fork
    server's children), polled twice a second with psutil: rusage would miss processes
    that are not reaped by their parent."""
    import psutil

    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen([BIN / "laborflow", "brief", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    seen: dict[int, float] = {}
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    times = p.cpu_times()
                    seen[p.pid] = times.user + times.system
        except psutil.Error:
            pass
        time.sleep(0.5)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"laborflow brief failed:\n{stderr[-3000:]}")
    findings = stdout.split("Key findings:", 1)[-1].strip()
    return {
        "wall_s": wall,
        "cpu_s": sum(seen.values()),
        "load_before": load,
        "load_after": os.getloadavg()[0],
        "findings": findings,
    }


# --- the benchmark -------------------------------------------------------------------------


def run_benchmark(quick: bool, brief: bool, ensemble: bool = True) -> dict[str, Any]:
    worlds = 10 if quick else 40
    two = one = timed = None
    with tempfile.TemporaryDirectory(prefix="bench-robustness-") as tmp:
        load_before = os.getloadavg()
        if ensemble:
            print(f"  ensemble: {worlds} worlds x 3 scenarios x 2 seeds, 2 processes ...",
                  file=sys.stderr)  # fmt: skip
            two = measure(str(worlds), "2", "2", str(Path(tmp) / "two"))
            print("  one world on 1 process ...", file=sys.stderr)
            one = measure("1", "2", "1", str(Path(tmp) / "one"))
        if brief:
            print("  laborflow brief (make run without set-up) ...", file=sys.stderr)
            timed = time_brief(Path(tmp) / "brief")
    return {
        "ensemble_2_processes": two,
        "one_process": one,
        "make_run": timed,
        "environment": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_at_end": os.getloadavg(),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
    }


def report(r: dict[str, Any]) -> str:
    two, one, brief = r["ensemble_2_processes"], r["one_process"], r["make_run"]
    env = r["environment"]
    before, after = env["load_average_before"][0], env["load_average_at_end"][0]
    lines = [
        f"Robustness benchmark ({env['cpus']} CPUs, load average {before:.1f} before, "
        f"{after:.1f} at the end)"
    ]
    if two and one:
        lines += [
            f"  ensemble, {two['worlds']} worlds x 3 scenarios x {two['replicates']} seeds = "
            f"{two['runs']} Dandong-scale runs on 2 processes: {two['wall_s']:.1f} s, "
            f"{two['runs_per_s']:.2f} runs/s ({two['cpu_s_per_run']:.2f} CPU s per run)",
            f"  reading it (contrasts, regret, drivers, flip boxes) and writing its files: "
            f"{two['read_and_write_s']:.1f} s",
            f"  on 1 process: {one['wall_s'] / one['runs']:.2f} s per run "
            f"({one['cpu_s_per_run']:.2f} CPU s per run)",
        ]
    if brief:
        lines.append(
            f"  make run (laborflow brief, set-up excluded): {brief['wall_s']:.0f} s wall, "
            f"{brief['cpu_s']:.0f} CPU s, so at least {brief['cpu_s'] / 2:.0f} s on 2 idle cores "
            f"(load {brief['load_before']:.1f} before, {brief['load_after']:.1f} after); "
            "target: within 180 s on 2 cores"
        )
        lines += ["", "The brief's key findings as printed:", brief["findings"]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 worlds instead of 40")
    parser.add_argument("--no-brief", dest="brief", action="store_false",
                        help="skip timing `laborflow brief`")  # fmt: skip
    parser.add_argument("--only-brief", dest="ensemble", action="store_false",
                        help="time `laborflow brief` only")  # fmt: skip
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        worlds, replicates, jobs, out = args.child
        print(json.dumps(child_ensemble(int(worlds), int(replicates), int(jobs), out)))
        return 0
    result = run_benchmark(args.quick, args.brief, args.ensemble)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(report(result))
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
