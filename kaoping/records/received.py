"""Every file anyone sends kaoping is kept (收到的文件), accepted or not.

``keep_received`` stores the bytes by content hash and records the receipt; ``import_file``
runs an import service on a file and keeps the file, accepted, unchanged or refused.
"""

from __future__ import annotations

import hashlib
import os
import stat
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from kaoping import db
from kaoping.adapters.files import is_disk_problem, write_bytes_atomically
from kaoping.adapters.uploads import Upload, read_upload
from kaoping.domain.errors import KaopingError
from kaoping.models import ReceivedFile
from kaoping.settings import Settings


def keep_received(
    session: Session,
    settings: Settings,
    upload: Upload,
    *,
    purpose: str,
    status: str,
    reason: str = "",
    sender: str = "",
    details: dict | None = None,
) -> ReceivedFile:
    """Store the bytes under ``received/<sha256>`` and record that we got them."""
    digest = upload.sha256
    target = settings.received_dir / digest[:2] / digest
    if not target.exists():  # written under a temporary name and renamed: a full disk leaves no half file
        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(target, upload.data)
    record = ReceivedFile(
        sha256=digest,
        filename=upload.name[:255],
        size=len(upload.data),
        purpose=purpose,
        sender=sender,
        status=status,
        reason=reason,
        details=details or {},
    )
    session.add(record)
    session.flush()
    return record


@dataclass(frozen=True)
class KeptName:
    """What a reply about a file needs (its name and hash) when its bytes were not read into memory."""

    name: str
    sha256: str


def keep_unreadable(session: Session, settings: Settings, path: Path, *, purpose: str, reason: str,
                    sender: str = "") -> tuple[ReceivedFile, KeptName]:
    """Keep a file that was refused before it could be read (empty, over the size limit, not a
    regular file): a regular file is copied into the store as a stream (any size, constant
    memory); a symbolic link, FIFO or device is recorded without being opened."""
    path = Path(path)
    details: dict = {}
    empty = hashlib.sha256(b"").hexdigest()
    digest, size = empty, 0
    try:
        info = path.lstat()
    except OSError:
        info = None
    if info is None or not stat.S_ISREG(info.st_mode):
        details["not_stored"] = "不是普通文件（符号链接、文件夹、设备或管道），内容未读取"
        if info is not None and stat.S_ISLNK(info.st_mode):
            details["link_target"] = os.readlink(path)[:500]
    else:
        settings.received_dir.mkdir(parents=True, exist_ok=True)
        tmp = settings.received_dir / f".incoming-{uuid.uuid4().hex}"
        hasher = hashlib.sha256()
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(fd, "rb") as source, tmp.open("wb") as target:
                while chunk := source.read(1 << 20):
                    hasher.update(chunk)
                    target.write(chunk)
                    size += len(chunk)
            digest = hasher.hexdigest()
            final = settings.received_dir / digest[:2] / digest
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp.replace(final)
        except OSError as exc:
            if is_disk_problem(exc):
                raise  # our disk, not the file: the caller leaves the file where it is for the next run
            details["not_stored"] = f"无法读取（{exc.strerror}）"
            digest, size = empty, 0
        finally:
            tmp.unlink(missing_ok=True)
    record = ReceivedFile(sha256=digest, filename=path.name[:255], size=size, purpose=purpose, sender=sender,
                          status="refused", reason=reason, details=details)
    session.add(record)
    session.flush()
    return record, KeptName(path.name, digest)


def import_file(settings: Settings, path: Path, purpose: str,
                service: Callable[[Session, Upload], object], *, details: dict | None = None) -> tuple[Upload, object]:
    """Run an import service on a file in one transaction and keep the file either way
    (``details``: e.g. the cycle it was for, so that the cycle's archive finds it)."""
    upload = read_upload(path)
    try:
        with db.session_scope(settings) as session:
            result = service(session, upload)
            changed = getattr(result, "created", None)
            if changed is None:
                changed = getattr(result, "changed", True)
            keep_received(session, settings, upload, purpose=purpose, status="accepted" if changed else "unchanged",
                          details=details)
        return upload, result
    except KaopingError as exc:
        with db.session_scope(settings) as session:
            keep_received(session, settings, upload, purpose=purpose, status="refused", reason=str(exc), details=details)
        raise
