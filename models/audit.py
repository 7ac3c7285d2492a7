"""The append-only, hash-chained audit log (审计日志).

Each entry carries the hash of the one before it, so an entry edited, inserted or deleted
behind kaoping's back breaks the chain at that point (see ``kaoping.records.audit.verify_chain``).
"""

from __future__ import annotations

from datetime import datetime

from kaoping.models.types import UTCDateTime, utcnow
from sqlalchemy import JSON, String, Text
from sqlmodel import Field, SQLModel

GENESIS_HASH = "0" * 64


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True, index=True)  # 1, 2, 3 … without gaps
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(sa_type=String(64))
    action: str = Field(sa_type=String(64), index=True)  # e.g. catalog.import
    entity: str = Field(default="", sa_type=String(128))  # e.g. catalog:2022/v1
    cycle_code: str | None = Field(default=None, sa_type=String(8), index=True)
    before: dict | None = Field(default=None, sa_type=JSON)
    after: dict | None = Field(default=None, sa_type=JSON)
    reason: str = Field(default="", sa_type=Text)
    prev_hash: str = Field(sa_type=String(64))
    hash: str = Field(sa_type=String(64), unique=True)
