"""The result store of a sweep: a folder of Parquet part-files, written as runs finish.

Layout of a store folder::

    sweep.json          the spec, its hash, provenance; written first, never rewritten
    points.parquet      the design: one row per point with its parameter values
    runs/part-*.parquet     one row per finished run (summary metrics, status, error)
    series/part-*.parquet   the (sampled) daily series of the runs in the same-named runs part

The one process writing a store holds an exclusive lock (flock) on the folder itself, and
checks what the folder holds only once it has the lock: two sweeps started at once on one
folder never both write to it.

Resuming reads every part whole before trusting it (footer, schema, and the data, whose
pages carry checksums): a damaged part is set aside, with its pair, into ``damaged/`` (never
deleted) and its runs run again; a damaged ``points.parquet`` is rebuilt from the spec only
when the rebuilt design provably matches the one the runs were run with.

Finished runs are buffered and written as a batch: the series part first, then the runs
part of the same name. Each file is written under a temporary name starting with "." and
renamed into place, so a reader never sees half a file and a crash (even SIGKILL) loses
at most the runs finished since the last batch. A runs part is the commit record of its
batch: a series part without its runs part is left-over from a crash and is deleted when
the store is next opened. Memory stays flat: the writer holds one batch, never the sweep.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from experiments.design import SweepSpec
from experiments.errors import StoreError
from model.files import make_folders, remove_if_empty, write_atomic, write_text_atomic

KIND = "laborflow sweep"
FORMAT = 1
MANIFEST = "sweep.json"
POINTS = "points.parquet"
HEAD_COLUMNS = ("run_id", "point", "replicate", "seed", "status", "error")
TAIL_COLUMNS = ("scenario_hash", "version", "git_commit", "elapsed_s", "finished_utc", "traceback")
VOLATILE_COLUMNS = ("elapsed_s", "finished_utc", "git_commit", "traceback")
"""Columns that differ between two sweeps of one spec: wall clock, and a working tree that
others may edit between sessions. Compare stores without them."""
DAMAGED = "damaged"
OWN_NAMES = frozenset({MANIFEST, POINTS, "runs", "series", DAMAGED, ".lock"})  # .lock: older


@dataclass
class RunRecord:
    """One finished run as stored: identity, status, summary row and daily series."""

    run_id: str
    point: int
    replicate: int
    seed: int
    status: str  # "ok" | "failed"
    params: dict[str, Any]
    summary: dict[str, Any] = field(default_factory=dict)
    series: pd.DataFrame | None = None
    error: str | None = None
    traceback: str | None = None
    elapsed_s: float = 0.0
    finished_utc: str = ""

    def row(self) -> dict[str, Any]:
        """The run's row in the runs table."""
        tail = {k: self.summary.get(k) for k in ("scenario_hash", "version", "git_commit")}
        metrics = {k: v for k, v in self.summary.items() if k not in tail}
        return {
            "run_id": self.run_id,
            "point": self.point,
            "replicate": self.replicate,
            "seed": self.seed,
            "status": self.status,
            "error": self.error,
            **self.params,
            **metrics,
            **tail,
            "elapsed_s": self.elapsed_s,
            "finished_utc": self.finished_utc,
            "traceback": self.traceback,
        }


# --- opening a folder ---------------------------------------------------------------------


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's sweep.json, or None when there is none; damaged files are an error."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    unknown = (
        "the store cannot be identified; allowed: another --out folder "
        f"(what {folder} holds is left as it is)"
    )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise StoreError(f"{path}: damaged ({reason}); {unknown}") from err
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
        raise StoreError(f"{path}: is not a laborflow sweep manifest; {unknown}")
    return manifest


def check_folder(folder: Path, spec: SweepSpec, resume: bool) -> dict[str, Any] | None:
    """Refuse a folder that holds another sweep or other files; read-only, writes nothing.

    Returns the manifest of the same sweep when resuming it, else None (a fresh start).
    Called before any work (to refuse early) and again by ``SweepStore.open`` under the
    folder's lock (what counts: the folder may have changed in between).
    """
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"--out {folder}: exists and is not a folder; allowed: a folder path")
    if not folder.exists():
        return None
    manifest = read_manifest(folder)
    if manifest is None:
        others = sorted(p.name for p in folder.iterdir() if not _own(p.name))
        if others:
            raise StoreError(
                f"--out {folder}: holds other files ({others[0]}, ...) and no sweep; "
                "allowed: a new or empty folder, or one written by `laborflow sweep`"
            )
        return None
    if manifest.get("spec_hash") != spec.hash:
        raise StoreError(
            f"--out {folder}: holds another sweep ({manifest.get('spec', {}).get('name')!r}, "
            f"spec {manifest.get('spec_hash')}; this spec is {spec.hash}); nothing was "
            "overwritten; allowed: another --out folder, or the spec that sweep was run with"
        )
    if not resume:
        raise StoreError(
            f"--out {folder}: already holds this sweep (spec {spec.hash}); "
            "allowed: --resume to finish it, or another --out folder"
        )
    return manifest


def _own(name: str) -> bool:
    """A store's own name, or what an interrupted atomic write or write check leaves."""
    return name in OWN_NAMES or (name.startswith(".") and name.endswith(".tmp"))


class MemoryStore:
    """Runs kept in memory: comparisons, validation and the app, where nothing is written."""

    pending = 0  # nothing waits to be written

    def __init__(self) -> None:
        self.records: list[RunRecord] = []

    def add(self, record: RunRecord) -> None:
        self.records.append(record)

    def flush_if_due(self, every_runs: int, every_seconds: float) -> bool:
        return False

    def flush(self) -> None:
        """Nothing to write."""


class SweepStore:
    """Writes finished runs into a store folder in atomic part-files; one writer at a time."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.runs_dir = self.folder / "runs"
        self.series_dir = self.folder / "series"
        self.manifest: dict[str, Any] = {}  # sweep.json, once opened
        self.points: list[dict[str, Any]] = []  # the design of record, once opened
        self.reopened = False  # True when the folder already held this sweep (resume)
        self._lock_fd: int | None = None
        self._buffer: list[RunRecord] = []
        self._oldest = time.monotonic()  # when the oldest buffered run started
        self._session = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self._parts = 0

    # opening and closing

    @classmethod
    def open(
        cls,
        folder: Path,
        spec: SweepSpec,
        points: list[dict[str, Any]],
        resume: bool,
        provenance: dict[str, Any],
        notify: Callable[[str], None] | None = None,
    ) -> SweepStore:
        """Lock the folder, check it under the lock, then create the store (sweep.json first,
        then points) or reopen it to resume (checking every part: see the module doc).

        ``points`` is the design built from the spec; ``store.points`` is the design of
        record (the stored one when resuming). A refused folder is left as it was found;
        ``notify(text)`` gets a line for each damaged file set aside.
        """
        say = notify or (lambda text: None)
        store = cls(folder)
        created = make_folders(store.folder)
        try:
            store._lock()
            found = check_folder(store.folder, spec, resume)
            store.reopened = found is not None
            if found is None:
                make_folders(store.runs_dir)
                make_folders(store.series_dir)
                text = _manifest(spec, points, provenance)
                write_text_atomic(store.folder / MANIFEST, text)
                store.manifest = json.loads(text)
                _write_table(store.folder / POINTS, points_table(points, spec.parameters))
                store.points = points
            else:
                store.manifest = found
                store.points, damage = store._design_of_record(spec, points)  # may refuse
                make_folders(store.runs_dir)
                make_folders(store.series_dir)
                store._clean()
                store._set_aside_damaged_parts(say)
                if damage:
                    aside = store._set_aside(store.folder / POINTS)
                    _write_table(store.folder / POINTS, points_table(points, spec.parameters))
                    where = f"; the damaged file is in {aside}" if aside else ""
                    say(f"warning: {store.folder / POINTS}: {damage}{where}")
        except BaseException:
            store._unlock()
            remove_if_empty(created)
            raise
        return store

    def _design_of_record(
        self, spec: SweepSpec, built: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """(the stored design, None), or (the rebuilt design, what was wrong) when the stored
        one is damaged and the rebuilt one provably equals the one the runs were run with;
        else a one-line StoreError (and nothing changed)."""
        path = self.folder / POINTS
        recorded = self.manifest.get("points_hash")
        try:
            stored = read_points(self.folder)
        except FileNotFoundError:
            problem = "missing"
        except (OSError, pa.ArrowException, ValueError) as err:
            problem = f"damaged ({_first_line(err)})"
        else:
            if recorded is None or design_hash(stored) == recorded:
                return stored, None
            problem = "damaged (it does not match the design recorded in sweep.json)"
        if recorded is not None:
            why_not = None if design_hash(built) == recorded else "the design sweep.json records"
            proof = "the design recorded in sweep.json"
        else:
            why_not = self._differs_from_stored_runs(built, spec.parameters)
            proof = "every stored run"
        if why_not:
            raise StoreError(
                f"{path}: {problem} and cannot be rebuilt: the spec's design now differs "
                f"from {why_not} (a different scipy?); allowed: the versions the sweep was "
                "started with, or another --out folder"
            )
        return built, f"{problem}; rebuilt from the spec (it matches {proof})"

    def _differs_from_stored_runs(
        self, points: list[dict[str, Any]], parameters: Sequence[str]
    ) -> str | None:
        """How the design differs from what the stored runs were run with, or None."""
        for part in _parts(self.runs_dir):
            try:
                rows = pq.read_table(part, columns=["run_id", "point", *parameters]).to_pylist()
            except (OSError, pa.ArrowException, ValueError):
                continue  # a damaged part: set aside next, its runs run again
            for row in rows:
                point = row["point"]
                if point >= len(points) or any(points[point][p] != row[p] for p in parameters):
                    return f"the parameters run {row['run_id']} was run with"
        return None

    def _set_aside_damaged_parts(self, say: Callable[[str], None]) -> None:
        """Read every part whole; set aside each that does not read, with its pair."""
        series = {p.name: p for p in _parts(self.series_dir)}
        for runs in _parts(self.runs_dir):
            problem, table = _runs_part_problem(runs)
            damaged = runs
            pair = series.get(runs.name)
            if problem is None and pair is None and "ok" in table["status"].to_pylist():
                damaged, problem = self.series_dir / runs.name, "missing"
            elif problem is None and pair is not None:
                problem = _series_part_problem(pair)
                damaged = pair
            if problem is None:
                continue
            aside = [self._set_aside(p) for p in (runs, pair) if p is not None]
            say(
                f"warning: {damaged}: {problem}; set aside in {aside[0].parent.parent} "
                f"({', '.join(str(a.relative_to(self.folder)) for a in aside)}); "
                "its runs run again"
            )

    def _set_aside(self, path: Path) -> Path | None:
        """Move a damaged file into damaged/ (never delete it); None if it is not there."""
        if not path.exists():
            return None
        inner = path.parent.relative_to(self.folder)
        folder = self.folder / DAMAGED / inner
        make_folders(folder)
        target, n = folder / path.name, 1
        while target.exists():
            target, n = folder / f"{path.stem}.{n}{path.suffix}", n + 1
        os.replace(path, target)
        return target

    def _lock(self) -> None:
        """Hold an exclusive lock on the folder itself (no lock file left in a folder that
        turns out to hold something else)."""
        fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            raise StoreError(
                f"--out {self.folder}: another laborflow sweep is writing to this folder; "
                "allowed: wait for it to end, or another --out folder"
            ) from err
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the lock
            self._lock_fd = None

    def _clean(self) -> None:
        """Drop what a crash can leave: temporary files and series parts never committed."""
        for d in (self.folder, self.runs_dir, self.series_dir):
            for tmp in d.glob(".*.tmp"):
                tmp.unlink()
        committed = {p.name for p in self.runs_dir.glob("part-*.parquet")}
        for part in self.series_dir.glob("part-*.parquet"):
            if part.name not in committed:
                part.unlink()

    def close(self) -> None:
        """Write what is buffered and release the folder."""
        try:
            self.flush()
        finally:
            self._unlock()

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # what is stored

    def stored(self) -> tuple[set[str], set[str]]:
        """Run ids stored as ok, and as failed."""
        ok: set[str] = set()
        failed: set[str] = set()
        for part in _parts(self.runs_dir):
            t = pq.read_table(part, columns=["run_id", "status"])
            for rid, status in zip(t["run_id"].to_pylist(), t["status"].to_pylist(), strict=True):
                (ok if status == "ok" else failed).add(rid)
        return ok, failed

    def drop_failed(self) -> int:
        """Remove stored failed runs so that they run again; each part is replaced atomically."""
        dropped = 0
        for part in _parts(self.runs_dir):
            status = pq.read_table(part, columns=["status"])["status"]
            keep = pc.equal(status, "ok")
            n_keep = pc.sum(keep).as_py() or 0
            if n_keep == len(status):
                continue
            dropped += len(status) - n_keep
            if n_keep:
                _write_table(part, pq.read_table(part).filter(keep))
            else:
                series = self.series_dir / part.name
                if series.exists():
                    series.unlink()
                part.unlink()
        return dropped

    # writing

    @property
    def pending(self) -> int:
        """Runs added and not yet written."""
        return len(self._buffer)

    def add(self, record: RunRecord) -> None:
        elapsed = record.elapsed_s if record.elapsed_s == record.elapsed_s else 0.0  # NaN
        started = time.monotonic() - max(0.0, elapsed)
        self._oldest = min(self._oldest, started) if self._buffer else started
        self._buffer.append(record)

    def flush_if_due(self, every_runs: int, every_seconds: float) -> bool:
        """Write the buffer when it holds ``every_runs`` runs or the oldest of them started
        ``every_seconds`` ago (a run longer than that is written as soon as it is added):
        a kill loses at most about that much finished work per worker."""
        if not self._buffer:
            return False
        due = len(self._buffer) >= every_runs
        due = due or time.monotonic() - self._oldest >= every_seconds
        if due:
            self.flush()
        return due

    def flush(self) -> None:
        """Write buffered runs as one part (series, then runs: the runs part commits).

        A write that fails raises ``OutputError``; the batch is dropped, not retried (its
        runs are not stored, so --resume runs them again) and what is stored stays whole.
        """
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        name = f"part-{self._session}-{self._parts:05d}.parquet"
        self._parts += 1
        series = [
            r.series.assign(run_id=r.run_id, point=r.point, replicate=r.replicate)
            for r in batch
            if r.series is not None and len(r.series)
        ]
        if series:
            frame = pd.concat(series, ignore_index=True)
            front = ["run_id", "point", "replicate"]
            frame = frame[front + [c for c in frame.columns if c not in front]]
            _write_table(self.series_dir / name, pa.Table.from_pandas(frame, preserve_index=False))
        _write_table(self.runs_dir / name, rows_table([r.row() for r in batch]))


def _manifest(spec: SweepSpec, points: list[dict[str, Any]], provenance: dict[str, Any]) -> str:
    manifest = {
        "kind": KIND,
        "format": FORMAT,
        "spec_hash": spec.hash,
        "spec": spec.describe(),
        "spec_text": spec.text,
        "points": len(points),
        "points_hash": design_hash(points),
        "replicates": spec.replicates,
        "seeds": spec.seeds(),
        "runs_total": len(points) * spec.replicates,
        "base_scenario": spec.base.describe(),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "provenance": provenance,
    }
    return json.dumps(manifest, indent=2, default=str) + "\n"


# --- tables -------------------------------------------------------------------------------


FIXED_TYPES = {
    **dict.fromkeys(("point", "replicate", "seed"), pa.int64()),
    **dict.fromkeys(("run_id", "status", "error", "scenario_hash", "version"), pa.string()),
    **dict.fromkeys(("git_commit", "finished_utc", "traceback"), pa.string()),
    "elapsed_s": pa.float64(),
}
"""Types of the columns every row has, so that a batch without errors still types them."""


def rows_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """A table from row dicts whose keys may differ (failed runs have no metrics)."""
    names = list(dict.fromkeys(k for row in rows for k in row))
    return pa.table({k: pa.array([row.get(k) for row in rows], FIXED_TYPES.get(k)) for k in names})


def points_table(points: Sequence[dict[str, Any]], parameters: Sequence[str]) -> pa.Table:
    columns = {"point": pa.array(range(len(points)), pa.int64())}
    for name in parameters:
        columns[name] = pa.array([p[name] for p in points])
    return pa.table(columns)


def read_points(folder: str | Path) -> list[dict[str, Any]]:
    """The stored design, as parameter dicts in point order."""
    rows = pq.read_table(Path(folder) / POINTS, page_checksum_verification=True).to_pylist()
    return [{k: v for k, v in row.items() if k != "point"} for row in rows]


def design_hash(points: Sequence[dict[str, Any]]) -> str:
    """Content hash of a design (sweep.json records it: a damaged design can be proved
    rebuilt right)."""
    canon = [{k: _jsonable(v) for k, v in sorted(p.items())} for p in points]
    return hashlib.sha256(json.dumps(canon, sort_keys=True).encode()).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _write_table(path: Path, table: pa.Table) -> None:
    """Write a Parquet file atomically, with page checksums (garbled data is then found)."""
    write_atomic(path, lambda tmp: pq.write_table(table, tmp, write_page_checksum=True))


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _runs_part_problem(part: Path) -> tuple[str | None, pa.Table | None]:
    """(what is wrong, None) with a runs part, or (None, its run ids and statuses)."""
    try:
        table = pq.read_table(part, page_checksum_verification=True)
    except (OSError, pa.ArrowException, ValueError) as err:
        return f"damaged ({_first_line(err)})", None
    missing = [c for c in ("run_id", "status") if c not in table.column_names]
    if missing:
        return f"damaged (no {missing[0]} column)", None
    return None, table.select(["run_id", "status"])


def _series_part_problem(part: Path) -> str | None:
    """What is wrong with a series part, or None: every page is read and checked."""
    try:
        with pq.ParquetFile(part, page_checksum_verification=True) as parquet:
            missing = [c for c in ("run_id", "date") if c not in parquet.schema_arrow.names]
            if missing:
                return f"damaged (no {missing[0]} column)"
            for _ in parquet.iter_batches(batch_size=65_536):
                pass
    except (OSError, pa.ArrowException, ValueError) as err:
        return f"damaged ({_first_line(err)})"
    return None


def _parts(directory: Path) -> list[Path]:
    return sorted(directory.glob("part-*.parquet"))


def _read_parts(paths: Iterable[Path], **kwargs: Any) -> pa.Table | None:
    tables = [pq.read_table(p, **kwargs) for p in paths]
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="permissive")


def read_runs(folder: str | Path) -> pd.DataFrame:
    """Every stored run, one row each, sorted by run id; columns in a fixed order."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        raise StoreError(f"{folder}: holds no sweep (no {MANIFEST})")
    params = [p["name"] for p in manifest["spec"]["parameters"]]
    parts = _parts(folder / "runs")
    table = _read_parts(parts)
    if table is None:
        return pd.DataFrame(columns=[*HEAD_COLUMNS, *params, *TAIL_COLUMNS])
    widest = max((pq.read_schema(p).names for p in parts), key=len)
    known = {*HEAD_COLUMNS, *params, *TAIL_COLUMNS}
    metrics = [c for c in widest if c not in known]
    order = [
        c for c in (*HEAD_COLUMNS, *params, *metrics, *TAIL_COLUMNS) if c in table.column_names
    ]
    frame = table.select(order).to_pandas()
    return frame.sort_values("run_id", ignore_index=True)


def read_series(
    folder: str | Path,
    run_ids: Iterable[str] | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Stored daily series (all, or of some runs; all columns or some), sorted by run and date."""
    import pyarrow.dataset as ds

    folder = Path(folder)
    parts = [str(p) for p in _parts(folder / "series")]
    if not parts:
        return pd.DataFrame(columns=["run_id", "point", "replicate", "date"])
    dataset = ds.dataset(parts, format="parquet")
    wanted = None
    if columns is not None:
        wanted = list(dict.fromkeys(["run_id", "point", "replicate", "date", *columns]))
    filt = None if run_ids is None else ds.field("run_id").isin(list(run_ids))
    frame = dataset.to_table(columns=wanted, filter=filt).to_pandas()
    return frame.sort_values(["run_id", "date"], ignore_index=True)
