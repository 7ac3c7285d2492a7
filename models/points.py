"""Item points set by the lead assessors under rule 三(四) (明确指标分值).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from kaoping.models.types import ExactDecimal, UTCDateTime, utcnow
from sqlalchemy import Index, String, text
from sqlmodel import Field, SQLModel


class PointsAllocation(SQLModel, table=True):
    """Rule 三(四): the points a lead assessor (or, where a container's items have different
    leads, the specialist team: ``lead_unit_id`` empty) gave the open items of a group or area.
    Co-leads each record their allocation; it is in force once every co-lead gave the same."""

    __tablename__ = "points_allocation"
    __table_args__ = (
        Index(
            "uq_points_allocation_current", "cycle_id", "indicator_id", "lead_unit_id", unique=True,
            sqlite_where=text("current"), postgresql_where=text("current"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    indicator_id: int = Field(foreign_key="indicator.id")
    container: str = Field(sa_type=String(8))  # group code "1.1" or area code "3"
    points: Decimal = Field(sa_type=ExactDecimal)
    lead_unit_id: int | None = Field(default=None, foreign_key="unit.id")  # None: the specialist team
    source: str = Field(default="", sa_type=String(255))
    set_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    set_by: str = Field(default="", sa_type=String(64))
    current: bool = True
