"""The unit registry (考评对象名录): units, their names and their contacts.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from kaoping.domain.vocabulary import UnitGroup  # noqa: F401  (re-exported: models.UnitGroup)


class ContactRole(StrEnum):
    liaison = "liaison"  # 联络员: receives forms and reminders
    head = "head"  # 负责人: receives escalations

    @property
    def label(self) -> str:
        return {"liaison": "联络员", "head": "负责人"}[self.value]


class Unit(SQLModel, table=True):
    """An assessed unit, and possibly a lead assessor (牵头考核单位)."""

    __tablename__ = "unit"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(32), unique=True, index=True)
    name: str = Field(sa_type=String(128), unique=True)  # full name, e.g. 包头市工业和信息化局
    short_name: str = Field(sa_type=String(64), unique=True)  # e.g. 市工信局
    group: UnitGroup = Field(sa_type=String(16))
    position: int = 0  # order in lists and documents
    active: bool = True
    # ranked | listed (scores shown, no rank or grade) | not_assessed (not in a cycle): issue 27
    standing: str = Field(default="ranked", sa_type=String(16))


class UnitAlias(SQLModel, table=True):
    """Other ways documents write a unit's name (审批服务局, 市文旅局 …)."""

    __tablename__ = "unit_alias"

    id: int | None = Field(default=None, primary_key=True)
    alias: str = Field(sa_type=String(128), unique=True, index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)


class Contact(SQLModel, table=True):
    __tablename__ = "contact"
    __table_args__ = (UniqueConstraint("unit_id", "role", "email"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    role: ContactRole = Field(sa_type=String(16))
    name: str = Field(sa_type=String(64))
    email: str = Field(sa_type=String(254))  # normalised by email-validator
    phone: str = Field(default="", sa_type=String(32))
