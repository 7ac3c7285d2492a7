"""Forms issued (下发的表单) and what came back (交回的表单).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from kaoping.models.types import UTCDateTime, utcnow
from sqlalchemy import JSON, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel


class FormKind(StrEnum):
    self_assessment = "self_assessment"  # 自评表, one per unit
    lead_scoring = "lead_scoring"  # 评分表, one per lead assessor
    field_visit = "field_visit"  # 实地调研记录表, one per unit visited
    third_party = "third_party"  # 第三方评估结果表
    opinion = "opinion"  # 民意调查结果表

    @property
    def label(self) -> str:
        return {
            "self_assessment": "自评表", "lead_scoring": "评分表", "field_visit": "实地调研记录表",
            "third_party": "第三方评估结果表", "opinion": "民意调查结果表",
        }[self.value]

    @property
    def code(self) -> str:
        """The letters of the visible form number (2022H1-ZP007)."""
        return {"self_assessment": "ZP", "lead_scoring": "PF", "field_visit": "DY", "third_party": "DS", "opinion": "MY"}[
            self.value
        ]


class IssuedForm(SQLModel, table=True):
    """One outgoing Word file, with the identity it is signed with and the rows it carries
    (so that a returned copy can be checked row by row)."""

    __tablename__ = "issued_form"
    __table_args__ = (
        Index("uq_issued_form_current", "cycle_id", "kind", "subject", unique=True,
              sqlite_where=text("current"), postgresql_where=text("current")),
        UniqueConstraint("form_no", "version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    kind: FormKind = Field(sa_type=String(20))
    subject: str = Field(sa_type=String(32))  # unit code, or "all" for the results sheets
    subject_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    version: int = 1
    form_no: str = Field(sa_type=String(32), index=True)  # stable across versions
    rows: list = Field(default_factory=list, sa_type=JSON)  # identity cells, row by row
    rows_digest: str = Field(sa_type=String(64))
    deadline: date | None = None
    path: str = Field(default="", sa_type=String(500))
    sha256: str = Field(default="", sa_type=String(64))
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    issued_by: str = Field(default="", sa_type=String(64))
    current: bool = True


class Submission(SQLModel, table=True):
    """A unit's returned self-assessment (自评): what it says it did, per indicator."""

    __tablename__ = "submission"
    __table_args__ = (
        Index("uq_submission_current", "cycle_id", "unit_id", unique=True,
              sqlite_where=text("current"), postgresql_where=text("current")),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    form_id: int = Field(foreign_key="issued_form.id")
    received_file_id: int = Field(foreign_key="received_file.id")
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    late: bool = False
    current: bool = True
    rows: list = Field(default_factory=list, sa_type=JSON)  # [{number, situation, progress, evidence}]
