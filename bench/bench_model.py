"""Speed and memory of laborflow against the design's targets and a plain Mesa baseline.

Run: ``.venv/bin/python bench/bench_model.py [--quick]``. Prints a table and writes the
figures to ``bench/results/bench_model.json``. This is a benchmark, not a test: the
targets are printed next to the figures, never asserted, because the machine may be
busy with other work.

- Time: the Dandong (status quo) and China-wide scenarios, best of 3 runs each, with
  model construction timed apart from the run; worker-days per second is initial
  workers x days / run seconds. Each run is timed by the clock and by the CPU time of this
  process: on a shared machine other work stretches the clock, not the CPU time, so the
  speed ratio against the baseline is taken from CPU time (both models run on one thread,
  where CPU time is the run time on an idle core).
- Memory: each scenario in a fresh interpreter (this script with a hidden flag), so the
  peak resident set (``ru_maxrss``) belongs to that one run; the same child reports the
  peak after imports alone, so the model's own share shows, and the tracemalloc peak of
  a second, traced run (not timed: tracing slows the run down).
- Baseline: ``bench/plain_mesa.py``, the same model written plainly in Mesa (a Mesa agent
  per North Korean worker, Chinese worker in the city and factory, every one stepped every
  day), timed in this same run at a reduced size; its rate gives the speed ratio and an
  extrapolated time for the China-wide run. ``--also-plain FILE`` times another baseline
  file the same way (an earlier version, say, from ``git show``), so a change of baseline
  can be read off one run.

BLAS and OpenMP are held to one thread (set before NumPy is first imported; the heavy
imports are therefore inside functions) so the figures are for one core.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
):
    os.environ[_var] = "1"

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "status_quo": ROOT / "scenarios" / "status_quo.toml",
    "china_wide": ROOT / "scenarios" / "china_wide.toml",
}
RESULTS = ROOT / "bench" / "results" / "bench_model.json"
SEED = 1
MB = 1024 * 1024

# The plain Mesa baseline is timed at a reduced size: at full size it takes minutes.
PLAIN_FULL = {"n_workers": 10_000, "n_factories": 100, "n_days": 365}
PLAIN_QUICK = {"n_workers": 2_000, "n_factories": 20, "n_days": 120}
CHINA_WIDE_WORKER_DAYS = 100_000 * 1_096

TARGETS = {  # for the China-wide run: figure -> (comparison, bound, as printed)
    "run_seconds": ("<=", 2.0, "<= 2 s"),
    "worker_days_per_second": (">=", 50e6, ">= 50 M"),
    "speedup_vs_plain_mesa": (">=", 50.0, ">= 50x"),
    "peak_rss_mb": ("<=", 300.0, "<= 300 MB"),
}

for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


# --- timing ---------------------------------------------------------------------------


def best_of(repeats: int, build: Callable[[], Any], run: Callable[[Any], None]) -> dict[str, Any]:
    """Fastest construction and fastest run over ``repeats`` fresh models."""
    builds, runs, cpu = [], [], []
    model = None
    for _ in range(repeats):
        del model
        gc.collect()
        t0 = time.perf_counter()
        model = build()
        t1 = time.perf_counter()
        c1 = time.process_time()
        run(model)
        c2 = time.process_time()
        t2 = time.perf_counter()
        builds.append(t1 - t0)
        runs.append(t2 - t1)
        cpu.append(c2 - c1)
    return {
        "build_seconds": min(builds),
        "run_seconds": min(runs),
        "run_cpu_seconds": min(cpu),
        "runs": runs,
        "model": model,
    }


def time_laborflow(name: str, repeats: int) -> dict[str, Any]:
    """Best-of timing of one scenario, as ``LaborModel.from_scenario(...).run_model()``."""
    from model.model import LaborModel

    path = SCENARIOS[name]
    # Warm-up, timed apart: lazy imports, and the compiled loops loaded from Numba's cache
    # (or compiled, on a new install: a few seconds, once).
    t0 = time.perf_counter()
    LaborModel.from_scenario(path, rng=SEED).run_model()
    first = time.perf_counter() - t0
    t = best_of(repeats, lambda: LaborModel.from_scenario(path, rng=SEED), _run_model)
    m = t.pop("model")
    rates = _rates(t, workers=m.initial_workers, factories=m.factories.n, days=m.day)
    return {**rates, "first_run_seconds": first}


def time_plain_mesa(size: dict[str, int], repeats: int, path: Path | None = None) -> dict[str, Any]:
    """Best-of timing of the plain Mesa baseline (or another baseline file) at a reduced
    size."""
    if path is None:
        from plain_mesa import PlainMesaModel
    else:
        PlainMesaModel = _load_module(path).PlainMesaModel  # noqa: N806

    t = best_of(repeats, lambda: PlainMesaModel(**size, rng=SEED), _run_model)
    m = t.pop("model")
    return _rates(t, workers=m.initial_workers, factories=size["n_factories"], days=m.day)


def _load_module(path: Path) -> Any:
    """A Python file as a module (a baseline kept outside the tree)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"baseline_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"--also-plain {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_model(model: Any) -> None:
    model.run_model()


def _rates(timing: dict[str, Any], workers: int, factories: int, days: int) -> dict[str, Any]:
    worker_days = workers * days
    return {
        "workers": workers,
        "factories": factories,
        "days": days,
        "worker_days": worker_days,
        **timing,
        "worker_days_per_second": worker_days / timing["run_seconds"],
        "worker_days_per_cpu_second": worker_days / timing["run_cpu_seconds"],
    }


# --- memory (in a fresh interpreter per scenario) -------------------------------------


def measure_memory(name: str) -> dict[str, float]:
    """Peak memory of one scenario, measured by this script in a child process."""
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", name],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory_child(name: str) -> None:
    """Child side: RSS after imports, peak RSS after build and run, then a traced run."""
    import scipy.special  # noqa: F401  (imported lazily by the model; count it as an import)

    from model.model import LaborModel

    gc.collect()
    baseline_kb = _maxrss_kb()
    model = LaborModel.from_scenario(SCENARIOS[name], rng=SEED)
    model.run_model()
    peak_kb = _maxrss_kb()
    del model
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    LaborModel.from_scenario(SCENARIOS[name], rng=SEED).run_model()
    traced_seconds = time.perf_counter() - t0
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    figures = {
        "baseline_rss_mb": baseline_kb / 1024,
        "peak_rss_mb": peak_kb / 1024,
        "model_rss_mb": (peak_kb - baseline_kb) / 1024,
        "tracemalloc_peak_mb": traced_peak / MB,
        "tracemalloc_run_seconds": traced_seconds,
    }
    print(json.dumps(figures))


def _maxrss_kb() -> int:
    """Peak resident set of this process so far (kilobytes on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# --- figures, targets, report ---------------------------------------------------------


def compare(flow: dict[str, dict[str, Any]], plain: dict[str, Any]) -> dict[str, float]:
    """laborflow's rates over plain Mesa's (CPU time; the clock's too), and plain Mesa's
    China-wide time."""
    rate = plain["worker_days_per_cpu_second"]
    wall = plain["worker_days_per_second"]
    return {
        "speedup_vs_plain_mesa": flow["china_wide"]["worker_days_per_cpu_second"] / rate,
        "speedup_vs_plain_mesa_status_quo": flow["status_quo"]["worker_days_per_cpu_second"] / rate,
        "speedup_vs_plain_mesa_wall": flow["china_wide"]["worker_days_per_second"] / wall,
        "speedup_vs_plain_mesa_status_quo_wall": flow["status_quo"]["worker_days_per_second"]
        / wall,
        "plain_mesa_china_wide_seconds_extrapolated": CHINA_WIDE_WORKER_DAYS / rate,
    }


def check_targets(china_wide: dict[str, Any], comparison: dict[str, float]) -> list[dict]:
    """Each target with the measured value and whether it is met (reported, not asserted)."""
    measured = {**china_wide, **china_wide["memory"], **comparison}
    rows = []
    for key, (op, bound, shown) in TARGETS.items():
        value = measured[key]
        met = value <= bound if op == "<=" else value >= bound
        rows.append({"figure": key, "value": value, "target": shown, "met": met})
    return rows


def environment(quick: bool) -> dict[str, Any]:
    """What the figures were measured on: they mean little without it."""
    import mesa
    import numpy as np

    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "python": platform.python_version(),
        "mesa": mesa.__version__,
        "numpy": np.__version__,
        "machine": f"{platform.machine()} {_cpu_name()}",
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
        "blas_threads": os.environ["OMP_NUM_THREADS"],
        "seed": SEED,
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def report(results: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    env, flow, plain = results["environment"], results["laborflow"], results["plain_mesa"]
    cmp = results["comparison"]
    lines = [
        f"laborflow benchmark ({env['mode']}): Python {env['python']}, Mesa {env['mesa']}, "
        f"NumPy {env['numpy']}, {env['blas_threads']} BLAS thread, {env['machine']}, "
        f"load {env['load_average_at_start']:.2f} at start",
        "",
        f"{'model':<22}{'workers':>9}{'factories':>10}{'days':>6}{'build s':>9}"
        f"{'run s':>8}{'cpu s':>8}{'M wd/s':>8}{'cpu M/s':>8}{'peak MB':>9}{'model MB':>9}"
        f"{'traced MB':>10}",
    ]
    for name, r in flow.items():
        lines.append(_row(f"laborflow {name}", r, r["memory"]))
    lines.append(_row("plain Mesa (reduced)", plain, None))
    other = results.get("other_plain")
    if other:
        lines.append(_row("other plain (reduced)", other, None))
    base = flow["china_wide"]["memory"]["baseline_rss_mb"]
    plain_rate = plain["worker_days_per_cpu_second"]
    lines += [
        "",
        "runs (s): "
        + "; ".join(f"{n} {_secs(r['runs'])}" for n, r in flow.items())
        + f"; plain Mesa {_secs(plain['runs'])}",
        f"interpreter + imports (numpy, pandas, scipy, mesa, numba, model): {base:.0f} MB RSS",
        "first run in this interpreter (Numba's compiled loops loaded, or compiled when "
        "not cached): " + ", ".join(f"{n} {r['first_run_seconds']:.3f} s" for n, r in flow.items()),
        f"laborflow / plain Mesa, worker-days per CPU second: China-wide "
        f"{cmp['speedup_vs_plain_mesa']:.1f}x, status quo "
        f"{cmp['speedup_vs_plain_mesa_status_quo']:.1f}x (by the clock: "
        f"{cmp['speedup_vs_plain_mesa_wall']:.1f}x, "
        f"{cmp['speedup_vs_plain_mesa_status_quo_wall']:.1f}x)",
        f"plain Mesa extrapolated to the China-wide run (100,000 x 1,096 worker-days): "
        f"{cmp['plain_mesa_china_wide_seconds_extrapolated']:.0f} s",
    ]
    if other:
        other_rate = other["worker_days_per_cpu_second"]
        lines.append(
            f"other plain ({other['path']}): laborflow China-wide "
            f"{cmp['speedup_vs_other_plain']:.1f}x of it; plain Mesa runs "
            f"{plain_rate / other_rate:.2f}x its rate"
        )
    lines += ["", f"{'target (China-wide run)':<32}{'measured':>14}{'target':>14}  status"]
    for t in results["targets"]:
        lines.append(
            f"{t['figure']:<32}{_fmt(t['figure'], t['value']):>14}{t['target']:>14}  "
            + ("met" if t["met"] else "MISSED")
        )
    return "\n".join(lines)


def _row(label: str, r: dict[str, Any], mem: dict[str, float] | None) -> str:
    mem_cols = (
        f"{mem['peak_rss_mb']:>9.0f}{mem['model_rss_mb']:>9.0f}{mem['tracemalloc_peak_mb']:>10.0f}"
        if mem
        else f"{'-':>9}{'-':>9}{'-':>10}"
    )
    return (
        f"{label:<22}{r['workers']:>9,}{r['factories']:>10,}{r['days']:>6,}"
        f"{r['build_seconds']:>9.3f}{r['run_seconds']:>8.3f}{r['run_cpu_seconds']:>8.3f}"
        f"{r['worker_days_per_second'] / 1e6:>8.2f}"
        f"{r['worker_days_per_cpu_second'] / 1e6:>8.2f}" + mem_cols
    )


def _secs(runs: list[float]) -> str:
    return ", ".join(f"{s:.3f}" for s in runs)


def _fmt(figure: str, value: float) -> str:
    if figure == "worker_days_per_second":
        return f"{value / 1e6:.1f} M"
    if figure == "run_seconds":
        return f"{value:.3f} s"
    if figure == "peak_rss_mb":
        return f"{value:.0f} MB"
    return f"{value:.1f}x"


# --- main -----------------------------------------------------------------------------


def run_benchmark(quick: bool, also_plain: Path | None = None) -> dict[str, Any]:
    repeats = 1 if quick else 3
    # Memory first, while this process has imported nothing heavy: on Linux a child's
    # ru_maxrss starts from the RSS of the process it was forked from.
    memory = {name: measure_memory(name) for name in SCENARIOS}
    env = environment(quick)
    flow = {name: {**time_laborflow(name, repeats), "memory": memory[name]} for name in SCENARIOS}
    size = PLAIN_QUICK if quick else PLAIN_FULL
    plain = time_plain_mesa(size, repeats)
    comparison = compare(flow, plain)
    results = {
        "environment": env,
        "laborflow": flow,
        "plain_mesa": plain,
        "comparison": comparison,
        "targets": check_targets(flow["china_wide"], comparison),
    }
    if also_plain is not None:
        other = time_plain_mesa(size, repeats, also_plain)
        results["other_plain"] = {**other, "path": str(also_plain)}
        results["comparison"]["speedup_vs_other_plain"] = (
            flow["china_wide"]["worker_days_per_cpu_second"] / other["worker_days_per_cpu_second"]
        )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run each, smaller baseline")
    parser.add_argument(
        "--also-plain",
        type=Path,
        metavar="FILE",
        help="also time another baseline file (a PlainMesaModel) the same way",
    )
    parser.add_argument("--memory-child", choices=list(SCENARIOS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child)
        return
    results = run_benchmark(args.quick, args.also_plain)
    print(report(results))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
