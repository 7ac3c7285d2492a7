"""What a cycle is scored on: its frozen units and responsibilities, the scores that come in,
the point allocations of rule 三(四), and the specialist team's verification.

Score-like rows are never updated in place: a newer value from the same source is a new row
and the old one is marked ``current = False`` (the history stays), which is what the partial
unique indexes enforce.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from kaoping.models.types import ExactDecimal, UTCDateTime, utcnow


class Component(StrEnum):
    """The four parts of a half-year score (rule 三(一))."""

    monitoring = "monitoring"  # 日常监测 60%
    field = "field"  # 实地调研 20%
    opinion = "opinion"  # 民意调查 10%
    third_party = "third_party"  # 第三方评估 10%

    @property
    def label(self) -> str:
        return {"monitoring": "日常监测", "field": "实地调研", "opinion": "民意调查", "third_party": "第三方评估"}[
            self.value
        ]


class CycleUnit(SQLModel, table=True):
    """A unit as it was when the cycle opened (names and group frozen)."""

    __tablename__ = "cycle_unit"
    __table_args__ = (UniqueConstraint("cycle_id", "unit_id"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    code: str = Field(sa_type=String(32))
    name: str = Field(sa_type=String(128))
    short_name: str = Field(sa_type=String(64))
    group: str = Field(sa_type=String(16))
    position: int = 0


class CycleResponsibility(SQLModel, table=True):
    """(unit, indicator) pairs the cycle assesses, frozen when it opened."""

    __tablename__ = "cycle_responsibility"
    __table_args__ = (UniqueConstraint("cycle_id", "unit_id", "indicator_id"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    indicator_id: int = Field(foreign_key="indicator.id")


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


class PointsAllocation(SQLModel, table=True):
    """Rule 三(四): the points a lead assessor gave an open item of its group or area."""

    __tablename__ = "points_allocation"
    __table_args__ = (
        Index(
            "uq_points_allocation_current", "cycle_id", "indicator_id", unique=True,
            sqlite_where=text("current"), postgresql_where=text("current"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    indicator_id: int = Field(foreign_key="indicator.id")
    container: str = Field(sa_type=String(8))  # group code "1.1" or area code "3"
    points: Decimal = Field(sa_type=ExactDecimal)
    lead_unit_id: int = Field(foreign_key="unit.id")
    source: str = Field(default="", sa_type=String(255))
    set_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    set_by: str = Field(default="", sa_type=String(64))
    current: bool = True


class VerificationKind(StrEnum):
    confirm = "confirm"  # 核实无误
    adjust = "adjust"  # 核实调整


class ItemVerification(SQLModel, table=True):
    """The specialist team's check of one item score (rule 三(二)).

    ``basis`` is the lead-score value the team looked at; if a lead assessor sends a
    different score afterwards, the confirmation no longer covers it.
    """

    __tablename__ = "item_verification"
    __table_args__ = (
        Index(
            "uq_item_verification_current", "cycle_id", "unit_id", "indicator_id", unique=True,
            sqlite_where=text("current"), postgresql_where=text("current"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    indicator_id: int = Field(foreign_key="indicator.id")
    kind: VerificationKind = Field(sa_type=String(16))
    basis: str = Field(default="", sa_type=String(64))  # lead-score value seen (exact text)
    value: Decimal | None = Field(default=None, sa_type=ExactDecimal)  # the adjusted score
    reason: str = Field(default="", sa_type=Text)
    by: str = Field(sa_type=String(64))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    current: bool = True


class AdjustmentKind(StrEnum):
    bonus = "bonus"  # 加分
    deduction = "deduction"  # 扣分
    veto = "veto"  # 一票否决

    @property
    def label(self) -> str:
        return {"bonus": "加分", "deduction": "扣分", "veto": "一票否决"}[self.value]


class Adjustment(SQLModel, table=True):
    """A bonus or deduction line, or a veto, recorded during verification."""

    __tablename__ = "adjustment"

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    kind: AdjustmentKind = Field(sa_type=String(16))
    points: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    reason: str = Field(sa_type=Text)
    evidence: str = Field(default="", sa_type=Text)
    by: str = Field(sa_type=String(64))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_by: str = Field(default="", sa_type=String(64))
    withdraw_reason: str = Field(default="", sa_type=Text)
