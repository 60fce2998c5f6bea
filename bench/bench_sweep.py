"""Sweep throughput, Dask overhead and the parent's memory, against the issue's targets.

Run: ``.venv/bin/python bench/bench_sweep.py [--quick]``. Prints a table and writes the
figures to ``bench/results/bench_sweep.json``. A benchmark, not a test: targets are
printed next to the figures, never asserted, because the machine may be busy.

- Throughput: the same sweep at Dandong scale (status quo, 20,000 workers, 200
  factories, three years) with ``--jobs 1`` and ``--jobs 2``; runs per second is runs
  over the wall time of ``run_sweep`` (pool start, runs, store writes included).
- Dask: that sweep again on a loopback cluster (``dask scheduler`` and ``dask worker
  --nworkers 2 --nthreads 1`` on 127.0.0.1, started before timing and warmed by a
  first small sweep, like an existing cluster whose workers have imported the model)
  against the local pool with 2 processes; also for short runs (a small town, a
  year), where the per-task cost of the cluster shows more. The cold first sweep is
  reported too.
- Settings are measured in interleaved rounds and the fastest of each is kept, so a
  busy spell on a shared machine does not land on one setting only.
- Memory: a 1,000-run sweep of tiny runs (500 workers, 5 factories, 90 days, daily
  series kept) on 2 processes; the parent's peak resident set (``ru_maxrss``) is
  sampled every 100 runs, so a leak shows as growth.

Each measurement runs in a fresh interpreter (this script with a hidden flag), as the
command would. BLAS and OpenMP are held to one thread per process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import socket
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
RESULTS = ROOT / "bench" / "results" / "bench_sweep.json"
MB = 1024 * 1024

DANDONG = """
[sweep]
name = "bench_dandong"
base = "{base}"
design = "grid"
replicates = {replicates}
seed = 1
series_every_days = 7
[parameters]
renewal_trip_days = {{ values = [2, 3, 4, 5], assumption = "bench: four points" }}
"""

SMALL_TOWN = """
[sweep]
name = "bench_small"
base = "{base}"
design = "lhs"
samples = {samples}
replicates = 1
seed = 1
series_every_days = 7
[fixed]
n_workers = {{ value = 2000, assumption = "bench: a small town" }}
n_factories = {{ value = 20, assumption = "bench: a small town" }}
end_date = {{ value = 2018-12-31, assumption = "bench: one year" }}
[parameters]
cn_jobseekers_per_nk_worker = {{ range = [0.1, 0.5], assumption = "bench" }}
"""

TINY = """
[sweep]
name = "bench_memory"
base = "{base}"
design = "lhs"
samples = {samples}
replicates = 1
seed = 1
series_every_days = 1
[fixed]
n_workers = {{ value = 500, assumption = "bench: tiny runs" }}
n_factories = {{ value = 5, assumption = "bench: tiny runs" }}
end_date = {{ value = 2018-03-31, assumption = "bench: 90 days" }}
[parameters]
cn_jobseekers_per_nk_worker = {{ range = [0.1, 0.5], assumption = "bench" }}
"""


def write_spec(folder: Path, template: str, **kw: Any) -> Path:
    path = folder / f"spec-{len(list(folder.glob('spec-*')))}.toml"
    base = ROOT / "scenarios" / "status_quo.toml"
    path.write_text(template.format(base=base, **kw))
    return path


# --- children: one measurement each, in a fresh interpreter --------------------------------


def child_sweep(spec: str, out: str, jobs: int | None, scheduler: str | None) -> dict[str, Any]:
    from experiments.sweep import run_sweep

    samples: list[tuple[int, float]] = []
    done = [0]

    def sample(record: Any) -> None:
        done[0] += 1
        if done[0] % 100 == 0:
            samples.append((done[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))

    start = time.perf_counter()
    result = run_sweep(spec, out, jobs=jobs, scheduler=scheduler, on_result=sample)
    wall = time.perf_counter() - start
    assert result.complete and result.failed == 0, result
    return {
        "runs": result.ok,
        "wall_s": wall,
        "runs_per_s": result.ok / wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_mb_every_100_runs": samples,
    }


def measure(spec: Path, out: Path, jobs: int | None = None, scheduler: str | None = None):
    cmd = [sys.executable, __file__, "--child", str(spec), str(out)]
    cmd += ["--jobs", str(jobs)] if jobs else []
    cmd += ["--scheduler", scheduler] if scheduler else []
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- a loopback Dask cluster ---------------------------------------------------------------


class LoopbackCluster:
    """``dask scheduler`` and ``dask worker --nworkers 2 --nthreads 1`` on 127.0.0.1."""

    def __enter__(self) -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.address = f"tcp://127.0.0.1:{port}"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.procs = [
            subprocess.Popen(
                [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                 "--no-dashboard"], **quiet,
            )
        ]  # fmt: skip
        self.procs.append(
            subprocess.Popen(
                [BIN / "dask", "worker", self.address, "--nworkers", "2", "--nthreads", "1",
                 "--host", "127.0.0.1", "--no-dashboard"], **quiet,
            )
        )  # fmt: skip
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        return self.address

    def __exit__(self, *exc: Any) -> None:
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


# --- the benchmark -------------------------------------------------------------------------


def best(trials: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of repeated trials (the one least disturbed by other work), with all walls."""
    fastest = min(trials, key=lambda m: m["wall_s"])
    return {**fastest, "wall_s_trials": [m["wall_s"] for m in trials]}


def run_benchmark(quick: bool) -> dict[str, Any]:
    rounds = 1 if quick else 3
    replicates = 2 if quick else 6  # 4 points each
    small_samples = 40 if quick else 100
    memory_samples = 200 if quick else 1000
    trials: dict[str, list[dict[str, Any]]] = {}

    def trial(name: str, spec: Path, **how: Any) -> None:
        print(f"  {name} ...", file=sys.stderr)
        out = tmp / f"{name}-{len(trials.get(name, []))}"
        trials.setdefault(name, []).append(measure(spec, out, **how))

    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp_name:
        tmp = Path(tmp_name)
        dandong = write_spec(tmp, DANDONG, replicates=replicates)
        small = write_spec(tmp, SMALL_TOWN, samples=small_samples)
        tiny = write_spec(tmp, TINY, samples=memory_samples)
        warm = write_spec(tmp, SMALL_TOWN, samples=4)
        with LoopbackCluster() as address:
            print(
                f"Dask cluster at {address}; first sweep on it (cold workers) ...", file=sys.stderr
            )
            cold = measure(warm, tmp / "cold", scheduler=address)
            for r in range(rounds):  # interleaved, so that a busy spell hits every setting
                print(f"round {r + 1} of {rounds}", file=sys.stderr)
                trial("dandong_jobs_1", dandong, jobs=1)
                trial("dandong_jobs_2", dandong, jobs=2)
                trial("dask_dandong", dandong, scheduler=address)
                trial("small_town_pool_jobs_2", small, jobs=2)
                trial("dask_small_town", small, scheduler=address)
        print(f"memory: {memory_samples} tiny runs, --jobs 2 ...", file=sys.stderr)
        memory = measure(tiny, tmp / "mem", jobs=2)

    fig = {name: best(ms) for name, ms in trials.items()}

    def overhead(dask: dict, pool: dict) -> float:
        return 100.0 * (dask["wall_s"] / pool["wall_s"] - 1.0)

    speedup = fig["dandong_jobs_2"]["runs_per_s"] / fig["dandong_jobs_1"]["runs_per_s"]
    dask_over = overhead(fig["dask_dandong"], fig["dandong_jobs_2"])
    return {
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "rounds": rounds,
        "environment": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
        },
        **fig,
        "speedup_2_over_1": speedup,
        "dask_overhead_pct_dandong": dask_over,
        "dask_overhead_pct_small_town": overhead(
            fig["dask_small_town"], fig["small_town_pool_jobs_2"]
        ),
        "dask_first_sweep_cold_workers": cold,
        "memory_sweep": memory,
        "targets": [
            {"what": "2 processes / 1 process, Dandong", "target": ">= 1.8", "value": speedup},
            {"what": "Dask loopback overhead, Dandong", "target": "< 15%", "value": dask_over},
            {
                "what": f"parent peak RSS, {memory['runs']}-run sweep",
                "target": "flat, < 300 MB",
                "value": memory["peak_rss_mb"],
            },
        ],
    }


def report(r: dict[str, Any]) -> str:
    def line(label: str, m: dict[str, Any]) -> str:
        rate = f"{m['runs_per_s']:6.2f} runs/s"
        return f"  {label:<34} {m['runs']:>5} runs  {m['wall_s']:7.1f} s  {rate}"

    mem = r["memory_sweep"]
    lines = [
        f"Sweep benchmark ({r['environment']['cpus']} CPUs, load at end "
        f"{r['environment']['load_average_at_end'][0]:.1f})",
        line("Dandong scale, --jobs 1", r["dandong_jobs_1"]),
        line("Dandong scale, --jobs 2", r["dandong_jobs_2"]),
        line("Dandong scale, Dask 2x1 loopback", r["dask_dandong"]),
        line("small town, --jobs 2", r["small_town_pool_jobs_2"]),
        line("small town, Dask 2x1 loopback", r["dask_small_town"]),
        line("tiny runs (memory), --jobs 2", mem),
        f"  (fastest of {r['rounds']} interleaved rounds; Dask workers warmed by a first sweep "
        f"of 4 runs that took {r['dask_first_sweep_cold_workers']['wall_s']:.1f} s)",
        f"  Dask overhead: {r['dask_overhead_pct_dandong']:+.1f}% at Dandong scale, "
        f"{r['dask_overhead_pct_small_town']:+.1f}% for small-town runs",
        "  parent peak RSS (MB) after N runs: "
        + ", ".join(f"{n}: {mb:.0f}" for n, mb in mem["peak_rss_mb_every_100_runs"]),
        "",
        "Targets",
    ]
    for t in r["targets"]:
        lines.append(f"  {t['what']:<40} {t['value']:8.2f}   target {t['target']}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke check)")
    parser.add_argument("--child", nargs=2, metavar=("SPEC", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--scheduler", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_sweep(*args.child, args.jobs, args.scheduler)))
        return 0
    results = run_benchmark(args.quick)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
