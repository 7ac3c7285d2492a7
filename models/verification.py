"""The specialist team's verification (专班核实): item confirmations and adjustments, bonus,
deduction and veto lines.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from kaoping.models.types import ExactDecimal, UTCDateTime, utcnow
from sqlalchemy import Index, String, Text, text
from sqlmodel import Field, SQLModel


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
