"""Writing files so that a full disk (or a crash) leaves nothing half-written.

Every file kaoping writes for people — a document, a workbook, a kept copy of a received file, a
backup — is written under a temporary name in the folder it belongs to and renamed into place
once complete: a reader sees the whole file or none. When the disk is full the temporary file is
removed and the error says so in one line (``disk_problem``).
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: errno values that mean "the disk cannot take this now": full, over quota, read-only, failing
DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG}


def is_disk_problem(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_ERRNOS


def disk_problem(exc: OSError, where: Path | str | None = None) -> str:
    """One line saying what happened to the disk and what to do (Chinese, English after it)."""
    place = str(where or exc.filename or "")
    shown = f"（{place}）" if place else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return (f"磁盘空间不足{shown}：未写入任何文件，已有的数据未改动。请清理磁盘或扩容（df -h 查看剩余空间）后重试。"
                " / The disk is full; nothing was written.")
    if exc.errno == errno.EROFS:
        return f"磁盘为只读{shown}：未写入任何文件。请检查磁盘挂载后重试。 / The disk is read-only; nothing was written."
    return (f"写入磁盘时出错{shown}：{exc.strerror or exc.__class__.__name__}，未写入任何文件。请检查磁盘后重试。"
            " / Disk error; nothing was written.")


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")


def write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """``write(temporary_path)`` then rename it to ``path``; on any error the temporary file is removed."""
    path = Path(path)
    tmp = _temporary(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not exc.filename:
            exc.filename = str(path.parent)  # where it happened, for the one line that reports it
        raise
    return path


def write_bytes_atomically(path: Path, data: bytes, *, durable: bool = False) -> Path:
    """``data`` written whole at ``path`` or not at all; ``durable``: flushed to the disk before the
    rename (survives a power cut too — for backups)."""
    def write(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())

    return write_atomically(path, write)


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Build the files of ``target`` in a hidden sibling folder; when the block ends normally they are
    moved into ``target`` one rename each (same file system: nothing is copied, so a full disk cannot
    cut one in half). If the block fails, the staging folder is removed and ``target`` is as it was."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        yield staging
        for source in sorted(staging.rglob("*")):
            if source.is_dir():
                continue
            destination = target / source.relative_to(staging)
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def free_bytes(folder: Path) -> int:
    """Bytes free for kaoping's user under ``folder`` (its nearest existing parent)."""
    folder = Path(folder).resolve()
    while not folder.exists():
        folder = folder.parent
    return shutil.disk_usage(folder).free
