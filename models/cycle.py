"""A half-year cycle (考评周期): its status, its frozen snapshot, its plan of dates, and the units and
responsibilities frozen when it opened.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from kaoping.models.types import UTCDateTime, utcnow
from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class CycleStatus(StrEnum):
    """Where a cycle is. Scores and verification change only while ``open``; the
    verification sign-off freezes them (``verified``); re-opening is explicit and logged."""

    open = "open"  # collecting and verifying scores
    verified = "verified"  # 专班核实签字: scores frozen
    approved = "approved"  # 分管领导审定
    closed = "closed"  # published; kept for the record

    @property
    def label(self) -> str:
        return {"open": "进行中（收集与核实）", "verified": "已核实签字（分数已冻结）", "approved": "已审定", "closed": "已结束"}[
            self.value
        ]


class Cycle(SQLModel, table=True):
    """A half-year cycle, written ``2022H1`` / ``2022H2``."""

    __tablename__ = "cycle"
    __table_args__ = (UniqueConstraint("year", "half"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(8), unique=True, index=True)
    year: int
    half: int  # 1 or 2
    catalog_id: int = Field(foreign_key="catalog.id", index=True)
    status: CycleStatus = Field(default=CycleStatus.open, sa_type=String(16))
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    opened_by: str = Field(default="", sa_type=String(64))
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CycleSnapshot(SQLModel, table=True):
    """A frozen copy of catalog, units, responsibilities or policy as the cycle opened."""

    __tablename__ = "cycle_snapshot"
    __table_args__ = (UniqueConstraint("cycle_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    kind: str = Field(sa_type=String(32))  # catalog | units | responsibilities | policy
    content: dict = Field(default_factory=dict, sa_type=JSON)
    content_sha256: str = Field(sa_type=String(64))
    taken_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CyclePlan(SQLModel, table=True):
    """The dates a cycle runs to, fixed by the first run of the cycle flow: they are printed on
    the forms, so a re-run never moves them (a form with another deadline would be a new
    version). The scoring-sheet deadline is fixed when the sheets go out."""

    __tablename__ = "cycle_plan"

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", unique=True)
    self_assessment_deadline: date
    scoring_workdays: int = 5
    scoring_deadline: date | None = None  # set when the lead scoring sheets are issued
    results_deadline: date  # third-party and opinion results, visit records
    visit_start: date
    visit_end: date
    teams_file: str = Field(default="", sa_type=String(500))  # plans made before teams were imported
    teams: dict | None = Field(default=None, sa_type=JSON)  # the teams this cycle uses (a copy of the imported list)
    # Why the visit window opens before the policy's earliest day after the self-assessment deadline
    # (visits check what the units reported, 办法三(一)); "" when it does not. Stated in the 报告.
    visit_early_reason: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(default="", sa_type=String(64))


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
    standing: str = Field(default="ranked", sa_type=String(16))  # the registry's when the cycle opened


class CycleResponsibility(SQLModel, table=True):
    """(unit, indicator) pairs the cycle assesses, frozen when it opened."""

    __tablename__ = "cycle_responsibility"
    __table_args__ = (UniqueConstraint("cycle_id", "unit_id", "indicator_id"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    indicator_id: int = Field(foreign_key="indicator.id")


class CycleAcceptance(SQLModel, table=True):
    """A default the specialist team accepted explicitly, with a reason, for one cycle:
    ``default_points`` (items still on the equal split of rule 三(四) at the verification
    sign-off) or ``default_responsibilities`` (no 承担 list imported when the cycle opened).
    Documents state them."""

    __tablename__ = "cycle_acceptance"
    __table_args__ = (UniqueConstraint("cycle_id", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    subject: str = Field(sa_type=String(32))
    reason: str = Field(sa_type=Text)
    details: dict = Field(default_factory=dict, sa_type=JSON)
    accepted_by: str = Field(default="", sa_type=String(64))
    accepted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
