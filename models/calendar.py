"""The office's own working-day overrides (工作日调整).
"""

from __future__ import annotations

from datetime import date, datetime

from kaoping.models.types import UTCDateTime, utcnow
from sqlalchemy import String
from sqlmodel import Field, SQLModel


class CalendarOverride(SQLModel, table=True):
    """A day the office declares a working day or a holiday, whatever the calendar package says
    (e.g. a year the package does not cover yet, or a local arrangement)."""

    __tablename__ = "calendar_override"

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(unique=True, index=True)
    workday: bool
    note: str = Field(default="", sa_type=String(200))
    set_by: str = Field(default="", sa_type=String(64))
    set_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
