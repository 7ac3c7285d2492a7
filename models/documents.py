"""The 发文字号 register (发文登记): every number the office has given a document."""

from __future__ import annotations

from datetime import datetime

from kaoping.models.types import UTCDateTime, utcnow
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel


class DocNumber(SQLModel, table=True):
    """One issued 发文字号 (代字〔年份〕序号号), given to one document and never to another.

    ``document`` names what was numbered (``tongbao:2022H1``, ``baogao:2022H1``,
    ``fankui:2022H1:150202``, ``tongbao:2022``…): publishing the same document again keeps its number.
    """

    __tablename__ = "doc_number"
    __table_args__ = (UniqueConstraint("prefix", "year", "serial"), UniqueConstraint("document"))

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(sa_type=String(32))  # 代字, e.g. 包政办 / 包政办函
    year: int
    serial: int
    document: str = Field(sa_type=String(96))
    title: str = Field(default="", sa_type=String(255))
    cycle_code: str = Field(default="", sa_type=String(16), index=True)
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    issued_by: str = Field(default="", sa_type=String(64))

    @property
    def text(self) -> str:
        return f"{self.prefix}〔{self.year}〕{self.serial}号"
