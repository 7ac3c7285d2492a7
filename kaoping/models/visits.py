"""Field visits (实地调研) as scheduled and confirmed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, String
from sqlmodel import Field, SQLModel

from kaoping.models.types import UTCDateTime, utcnow


class Visit(SQLModel, table=True):
    __tablename__ = "visit"

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    team: str = Field(sa_type=String(64))
    members: list = Field(default_factory=list, sa_type=JSON)  # [{name, email}]
    day: date
    part: str = Field(sa_type=String(8))  # 上午 / 下午 / 全天
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    uid: str = Field(sa_type=String(128), unique=True)  # calendar UID, stable across moves
    sequence: int = 0  # raised on every move (iCalendar SEQUENCE)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
