"""Who undertakes which indicator (承担), imported per year.
"""

from __future__ import annotations

from datetime import datetime

from kaoping.models.types import UTCDateTime, utcnow
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel


class ResponsibilitySet(SQLModel, table=True):
    """An imported list of who undertakes which indicator for a year (承担). Without one,
    the default rule applies: districts undertake all, departments what they lead."""

    __tablename__ = "responsibility_set"
    __table_args__ = (UniqueConstraint("year", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    version: int = 1
    content_sha256: str = Field(sa_type=String(64))
    source_name: str = Field(default="", sa_type=String(255))
    source_sha256: str = Field(default="", sa_type=String(64))
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    imported_by: str = Field(default="", sa_type=String(64))


class Responsibility(SQLModel, table=True):
    __tablename__ = "responsibility"
    __table_args__ = (UniqueConstraint("set_id", "unit_id", "indicator_number"),)

    id: int | None = Field(default=None, primary_key=True)
    set_id: int = Field(foreign_key="responsibility_set.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    indicator_number: int  # by number, so a new catalog version keeps the list valid
