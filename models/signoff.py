"""Sign-offs (签字确认) proven by a one-time code emailed only to the designated signer."""

from __future__ import annotations

from datetime import datetime

from kaoping.models.types import UTCDateTime, utcnow
from sqlalchemy import String, Text
from sqlmodel import Field, SQLModel


class SignoffRequest(SQLModel, table=True):
    __tablename__ = "signoff_request"

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    stage: str = Field(sa_type=String(16))  # verification (专班核实) | approval (分管领导审定)
    signer_name: str = Field(sa_type=String(64))
    signer_email: str = Field(sa_type=String(254))
    code_hmac: str = Field(sa_type=String(64))  # the code itself is only in the email
    expires_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status: str = Field(default="pending", sa_type=String(16))  # pending | used | superseded | locked
    wrong_attempts: int = 0
    decision: str = Field(default="", sa_type=String(16))  # approve | reject
    comments: str = Field(default="", sa_type=Text)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Answers received for this request (right or wrong): a flow asks again under a new key.
    answers: int = 0
    last_message: str = Field(default="", sa_type=Text)  # what the last answer was told
    flow_run_id: str = Field(default="", sa_type=String(36))  # the Prefect run waiting for it


class SignoffReply(SQLModel, table=True):
    """An email reply to a sign-off email (签字邮件的回复), kept once per Message-ID: what it
    was taken as, or why it was refused — the same reply is never counted twice."""

    __tablename__ = "signoff_reply"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(sa_type=String(998), unique=True)  # the reply's Message-ID header
    sender: str = Field(sa_type=String(254))
    subject: str = Field(default="", sa_type=Text)
    received_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    cycle_code: str = Field(default="", sa_type=String(8))
    stage: str = Field(default="", sa_type=String(16))
    request_id: int | None = Field(default=None, foreign_key="signoff_request.id")
    matched_by: str = Field(default="", sa_type=String(16))  # header (In-Reply-To/References) | subject
    fate: str = Field(default="", sa_type=String(16))  # accepted | refused | ignored
    decision: str = Field(default="", sa_type=String(16))  # approve | reject (accepted replies)
    reason: str = Field(default="", sa_type=Text)  # what the sender was told (refused) or the outcome
    own_text: str = Field(default="", sa_type=Text)  # what the sender wrote, quoted history left out, codes masked
    answer_message_id: str = Field(default="", sa_type=String(200))  # kaoping's reply (outbox Message-ID), if any
