"""The objection stage (异议期): a window per cycle after the verification sign-off, and the
objections units send in it (异议), each decided by the specialist team."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from kaoping.models.types import ExactDecimal, UTCDateTime, utcnow
from sqlalchemy import JSON, String, Text
from sqlmodel import Field, SQLModel


class ObjectionWindow(SQLModel, table=True):
    """Opened when the provisional 反馈函 (征求意见稿) go out; open through ``closes_on`` (the N-th
    Chinese working day after ``opened_on``), Beijing time. One row per cycle: a later round (the
    results changed after a send-back) moves its dates on and counts ``round``; the audit log keeps
    every round's dates."""

    __tablename__ = "objection_window"

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", unique=True)
    opened_on: date
    closes_on: date
    workdays: int
    letters: int = 0
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    opened_by: str = Field(default="", sa_type=String(64))
    #: 1, then 2 … when the letters went out again (results changed after a send-back and re-verification)
    round: int = 1
    #: the results as the units know them (the letters, then each upheld objection they were told of)
    results_digest: str = Field(default="", sa_type=String(64))


class ObjectionStatus(StrEnum):
    open = "open"  # recorded, waiting for the team's decision
    upheld = "upheld"  # 采纳: the score was changed by a verification adjustment
    rejected = "rejected"  # 不予采纳, with the reason

    @property
    def label(self) -> str:
        return {"open": "待处理", "upheld": "已采纳", "rejected": "不予采纳"}[self.value]


class ObjectionSource(StrEnum):
    reply = "reply"  # a reply to the provisional 反馈函 email
    form = "form"  # a returned objection form
    cli = "cli"  # recorded by the team (phone, paper): ``kaoping objections add``


class Objection(SQLModel, table=True):
    """One disputed item of one unit (a reply naming three indicators is three objections
    sharing ``message_id``); ``indicator_number`` is None when the unit named none the team
    could read: the team classifies it when deciding."""

    __tablename__ = "objection"

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    indicator_number: int | None = None
    disputed: str = Field(default="", sa_type=Text)  # 异议内容
    evidence: str = Field(default="", sa_type=Text)  # 依据
    attachments: list = Field(default_factory=list, sa_type=JSON)  # [{received_file_id, filename, sha256}]
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    source: ObjectionSource = Field(sa_type=String(8))
    sender: str = Field(default="", sa_type=String(254))
    message_id: str = Field(default="", sa_type=String(300), index=True)  # the reply's Message-ID, if by reply
    status: ObjectionStatus = Field(default=ObjectionStatus.open, sa_type=String(16), index=True)
    previous_score: Decimal | None = Field(default=None, sa_type=ExactDecimal)  # the item score when decided
    new_score: Decimal | None = Field(default=None, sa_type=ExactDecimal)  # upheld: the adjusted score
    decision_reason: str = Field(default="", sa_type=Text)
    decided_by: str = Field(default="", sa_type=String(64))
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    verification_id: int | None = Field(default=None, foreign_key="item_verification.id")  # the resulting adjustment
    recorded_by: str = Field(default="", sa_type=String(64))


class OpinionStance(StrEnum):
    maintain = "maintain"  # 维持原分
    correct = "correct"  # 同意更正 (with the score it should be, if given)
    unclear = "unclear"  # neither word found: the text is kept for the team to read

    @property
    def label(self) -> str:
        return {"maintain": "维持原分", "correct": "同意更正", "unclear": "意见未明确"}[self.value]


class ObjectionOpinion(SQLModel, table=True):
    """The lead assessor's opinion on an objection routed to it (牵头考核单位意见), received as a
    reply to the routing email from one of its registered addresses. Advice for the team, which
    still decides (``kaoping objections decide``); a later reply is another row (the newest counts)."""

    __tablename__ = "objection_opinion"

    id: int | None = Field(default=None, primary_key=True)
    objection_id: int = Field(foreign_key="objection.id", index=True)
    lead_unit_id: int = Field(foreign_key="unit.id")
    stance: OpinionStance = Field(sa_type=String(16))
    score: Decimal | None = Field(default=None, sa_type=ExactDecimal)  # 同意更正为 X 分
    text: str = Field(default="", sa_type=Text)  # the lead assessor's own words (quoted history removed)
    sender: str = Field(default="", sa_type=String(254))
    message_id: str = Field(default="", sa_type=String(300), index=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    received_file_id: int | None = Field(default=None, foreign_key="received_file.id")
