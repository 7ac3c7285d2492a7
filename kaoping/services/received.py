"""Every file anyone sends kaoping is kept (收到的文件), accepted or not.

``keep_received`` stores the bytes by content hash and records the receipt.
"""

from __future__ import annotations

from sqlmodel import Session

from kaoping.adapters.uploads import Upload
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
