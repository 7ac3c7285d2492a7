"""The scores that come in: the lead assessors' item scores and the 0–100 component scores.

Score-like rows are never updated in place: a newer value from the same source is a new row
and the old one is marked ``current = False`` (the history stays), which is what the partial
unique indexes enforce.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from kaoping.models.types import ExactDecimal, UTCDateTime, utcnow
from sqlalchemy import Index, String, Text, text
from sqlmodel import Field, SQLModel

from kaoping.domain.vocabulary import Component  # noqa: F401  (re-exported: models.Component)


class LeadScore(SQLModel, table=True):
    """A lead assessor's score s(u, i) for one unit on one indicator it leads."""

    __tablename__ = "lead_score"
    __table_args__ = (
        Index(
            "uq_lead_score_current", "cycle_id", "unit_id", "indicator_id", "lead_unit_id", unique=True,
            sqlite_where=text("current"), postgresql_where=text("current"),
        ),
        Index("ix_lead_score_cycle_current", "cycle_id", "current"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id")
    unit_id: int = Field(foreign_key="unit.id")
    indicator_id: int = Field(foreign_key="indicator.id")
    lead_unit_id: int = Field(foreign_key="unit.id")
    score: Decimal = Field(sa_type=ExactDecimal)
    note: str = Field(default="", sa_type=Text)  # 扣分说明
    source: str = Field(default="", sa_type=String(255))  # file name or form number
    received_file_id: int | None = Field(default=None, foreign_key="received_file.id")
    entered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    entered_by: str = Field(default="", sa_type=String(64))
    current: bool = True
    superseded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ComponentScore(SQLModel, table=True):
    """A 0–100 score of one unit for field, opinion or third-party, from one source."""

    __tablename__ = "component_score"
    __table_args__ = (
        Index(
            "uq_component_score_current", "cycle_id", "unit_id", "component", "source", unique=True,
            sqlite_where=text("current"), postgresql_where=text("current"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    component: Component = Field(sa_type=String(16))
    source: str = Field(sa_type=String(128))  # e.g. 第三方评估机构, a survey platform
    score: Decimal = Field(sa_type=ExactDecimal)
    note: str = Field(default="", sa_type=Text)
    file_name: str = Field(default="", sa_type=String(255))
    received_file_id: int | None = Field(default=None, foreign_key="received_file.id")
    entered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    entered_by: str = Field(default="", sa_type=String(64))
    current: bool = True
    superseded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
