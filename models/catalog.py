"""The indicator catalog (考评指标), versioned by year: areas, groups, indicators, their leads.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from kaoping.models.types import ExactDecimal, UTCDateTime, utcnow
from sqlalchemy import String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from kaoping.domain.vocabulary import MilestoneKind  # noqa: F401  (re-exported: models.MilestoneKind)


class Catalog(SQLModel, table=True):
    """One imported version of a year's catalog. A changed import adds a version; the
    newest is current; cycles keep pointing at the version they were opened with."""

    __tablename__ = "catalog"
    __table_args__ = (UniqueConstraint("year", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    version: int = 1
    title: str = Field(default="", sa_type=String(200))
    content_sha256: str = Field(sa_type=String(64))  # hash of the canonical catalog
    source_name: str = Field(default="", sa_type=String(255))
    source_sha256: str = Field(default="", sa_type=String(64))  # hash of the file imported
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    imported_by: str = Field(default="", sa_type=String(64))


class Area(SQLModel, table=True):
    """大项, e.g. 一、政务服务“一网通办”(25分)."""

    __tablename__ = "area"
    __table_args__ = (UniqueConstraint("catalog_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    catalog_id: int = Field(foreign_key="catalog.id", index=True)
    code: str = Field(sa_type=String(8))  # "1" … "7"
    numeral: str = Field(sa_type=String(8))  # "一" … "七"
    name: str = Field(sa_type=String(200))
    points: Decimal = Field(sa_type=ExactDecimal)
    position: int = 0


class IndicatorGroup(SQLModel, table=True):
    """A group within an area, e.g. (一)一体化政务服务平台建设(3分); points may be open."""

    __tablename__ = "indicator_group"
    __table_args__ = (UniqueConstraint("catalog_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    catalog_id: int = Field(foreign_key="catalog.id", index=True)
    area_id: int = Field(foreign_key="area.id", index=True)
    code: str = Field(sa_type=String(8))  # "1.1"
    numeral: str = Field(sa_type=String(8))  # "一"
    name: str = Field(sa_type=String(200))
    points: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    position: int = 0


class Indicator(SQLModel, table=True):
    """One of the numbered indicators (小项)."""

    __tablename__ = "indicator"
    __table_args__ = (UniqueConstraint("catalog_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    catalog_id: int = Field(foreign_key="catalog.id", index=True)
    area_id: int = Field(foreign_key="area.id", index=True)
    group_id: int = Field(foreign_key="indicator_group.id", index=True)
    number: int
    text: str = Field(sa_type=Text)
    points: Decimal | None = Field(default=None, sa_type=ExactDecimal)  # None: open (rule 三(四))
    milestone_raw: str = Field(default="", sa_type=String(200))
    milestone_month: int | None = None
    milestone_kind: MilestoneKind | None = Field(default=None, sa_type=String(20))
    milestone_continuing: bool = False  # "…并持续推进"


class IndicatorLead(SQLModel, table=True):
    """A lead assessor (牵头考核单位) of an indicator, in the catalog's order."""

    __tablename__ = "indicator_lead"
    __table_args__ = (UniqueConstraint("indicator_id", "unit_id"),)

    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    position: int = 0
    written_as: str = Field(default="", sa_type=String(128))  # the name as the catalog wrote it
