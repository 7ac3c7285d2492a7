"""Every file anyone sends kaoping is kept (收到的文件), accepted or not.

``keep_received`` stores the bytes by content hash and records the receipt; ``import_file``
runs an import service on a file and keeps the file, accepted, unchanged or refused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session

from kaoping import db
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
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        tmp.write_bytes(upload.data)
        tmp.replace(target)
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


def import_file(settings: Settings, path: Path, purpose: str,
                service: Callable[[Session, Upload], object]) -> tuple[Upload, object]:
    """Run an import service on a file in one transaction and keep the file either way."""
    upload = read_upload(path)
    try:
        with db.session_scope(settings) as session:
            result = service(session, upload)
            changed = getattr(result, "created", None)
            if changed is None:
                changed = getattr(result, "changed", True)
            keep_received(session, settings, upload, purpose=purpose, status="accepted" if changed else "unchanged")
        return upload, result
    except KaopingError as exc:
        with db.session_scope(settings) as session:
            keep_received(session, settings, upload, purpose=purpose, status="refused", reason=str(exc))
        raise
