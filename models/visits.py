"""Field visits (实地调研) as scheduled and confirmed."""

from __future__ import annotations

from datetime import date, datetime

from kaoping.models.types import UTCDateTime, utcnow
from sqlalchemy import JSON, String
from sqlmodel import Field, SQLModel


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


class VisitTeamList(SQLModel, table=True):
    """The field-visit teams (实地调研组) as imported (`kaoping visits teams import`): the whole
    document (teams with their members, 回避, blackout dates; visits per day; unit blackouts),
    one version per import. The newest is the list in force; a cycle's plan keeps a copy of
    the teams it used, so a later import never changes a cycle in progress."""

    __tablename__ = "visit_team_list"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    content: dict = Field(default_factory=dict, sa_type=JSON)
    content_sha256: str = Field(sa_type=String(64))
    source_name: str = Field(default="", sa_type=String(255))
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    imported_by: str = Field(default="", sa_type=String(64))
