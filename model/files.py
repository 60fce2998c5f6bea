"""Writing files so that each appears whole or not at all: the one atomic writer.

Every file laborflow writes goes through ``write_atomic``: the content is written to a
temporary file beside the target, flushed to disk (fsync), then renamed over it. A reader
never sees half a file, and a crash or a kill (even SIGKILL) leaves the old file or the new
one, never a mixture. A disk that fills up or a folder that cannot be written raises
``OutputError`` with one line naming the file, and leaves nothing behind.

``check_writable`` tries an output folder before any work (so hours of computing do not end
in a folder that cannot take the result), and ``make_folders`` creates one with the same
one-line errors.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from model.errors import OutputError

_written: list[Path] = []
"""Every file this process has written, in order (an interrupted command says what it left)."""


def writes_so_far() -> int:
    """A mark for ``written_since``."""
    return len(_written)


def written_since(mark: int) -> list[Path]:
    """The files written (whole) since ``writes_so_far()`` returned ``mark``."""
    return list(_written[mark:])


def write_atomic(path: Path, write: Callable[[str], Any]) -> None:
    """Call ``write(tmp_path)``, flush it to disk, then rename it into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(str(tmp))
        _fsync(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        _written.append(path)
    except OSError as err:
        raise OutputError(f"{path}: cannot be written ({_reason(err)})") from err
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda p: Path(p).write_text(text, encoding="utf-8"))


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reason(err: OSError) -> str:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on the disk"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "no permission to write there, or a read-only file system"
    if err.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a part of the path is a file, not a folder"
    return err.strerror or type(err).__name__


def make_folders(folder: Path) -> list[Path]:
    """Create a folder and its missing parents; the ones created, outermost first.

    A folder that cannot be created (a parent is a file, no permission, a read-only file
    system, no space) raises ``OutputError`` with one line naming it.
    """
    folder = Path(folder)
    missing = [p for p in (folder, *folder.parents) if not p.exists()][::-1]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{folder}: cannot be created ({_reason(err)})") from err
    return missing


def remove_if_empty(folders: list[Path]) -> None:
    """Remove folders created for an output that was then refused, innermost first; a
    folder that is not empty (someone else wrote into it) is left alone."""
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()


PROBE_PREFIX = ".laborflow-probe-"


def check_writable(folder: Path, option: str = "--out") -> None:
    """Refuse an output folder that cannot be written, before any work is done.

    The folder (and any missing parent) is created and a small file written into it,
    flushed and removed; then the folders created here are removed again, so the check
    leaves nothing behind and a refusal found later (a bad scheduler, say) writes nothing.
    """
    folder = Path(folder)
    allowed = "allowed: a folder you can write to, on a disk with space"
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{option} {folder}: exists and is not a folder; allowed: a folder path")
    try:
        created = make_folders(folder)
    except OutputError as err:
        raise OutputError(f"{option} {err}; {allowed}") from err
    probe = folder / f"{PROBE_PREFIX}{uuid.uuid4().hex[:8]}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, b"laborflow checks that this folder can be written\n")
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as err:
        raise OutputError(
            f"{option} {folder}: cannot be written ({_reason(err)}); {allowed}"
        ) from err
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
        remove_if_empty(created)
