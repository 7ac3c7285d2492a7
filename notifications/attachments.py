"""Where the outbox keeps the bytes of attachments: by content hash, in the database
(``outbox_blob``), written once — so every worker, whatever its ``var/``, sends the same files.

Attachments queued before migration 0011 were files under ``var/outbox``; they are still read
from there when the database has no copy.
"""

from __future__ import annotations

from pathlib import Path

from kaoping.models import OutboxBlob
from sqlalchemy import insert
from sqlmodel import Session

from kaoping.settings import Settings


class AttachmentMissing(Exception):
    """An attachment's bytes are nowhere to be found: the message cannot be sent as queued."""


def attachment_path(settings: Settings, sha256: str) -> Path:
    """Where attachments were kept before 0011 (read only as a fallback)."""
    return settings.var_dir / "outbox" / sha256[:2] / sha256


def store_attachment(session: Session, sha256: str, data: bytes) -> None:
    """Keep the bytes once per content hash (a concurrent writer of the same bytes is no conflict)."""
    table = OutboxBlob.__table__
    dialect = session.get_bind().dialect.name
    values = {"sha256": sha256, "size": len(data), "data": data}
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = pg_insert(table).values(**values).on_conflict_do_nothing(index_elements=["sha256"])
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table).values(**values).on_conflict_do_nothing(index_elements=["sha256"])
    else:  # another PostgreSQL-compatible database without ON CONFLICT: check first
        if session.get(OutboxBlob, sha256) is not None:
            return
        statement = insert(table).values(**values)
    from kaoping.models.types import utcnow

    session.execute(statement.values(created_at=utcnow()))


def load_attachment(session: Session, settings: Settings, sha256: str) -> bytes:
    blob = session.get(OutboxBlob, sha256)
    if blob is not None:
        return blob.data
    legacy = attachment_path(settings, sha256)
    try:
        return legacy.read_bytes()
    except OSError as exc:
        raise AttachmentMissing(f"附件内容（sha256 {sha256[:12]}…）在数据库和 {legacy} 中都找不到：{exc.__class__.__name__}") from None
