"""Every file anyone sent kaoping, accepted or not (收到的文件).
"""

from __future__ import annotations

from datetime import datetime

from kaoping.models.types import UTCDateTime, utcnow
from sqlalchemy import JSON, String, Text
from sqlmodel import Field, SQLModel


class ReceivedFile(SQLModel, table=True):
    """Every file anyone sent kaoping, accepted or not (the bytes are kept on disk by hash)."""

    __tablename__ = "received_file"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(sa_type=String(64), index=True)
    filename: str = Field(sa_type=String(255))
    size: int
    purpose: str = Field(sa_type=String(32))  # catalog, units, responsibilities, intake …
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sender: str = Field(default="", sa_type=String(254))
    status: str = Field(default="accepted", sa_type=String(16))  # accepted | refused | unchanged
    reason: str = Field(default="", sa_type=Text)
    details: dict = Field(default_factory=dict, sa_type=JSON)
