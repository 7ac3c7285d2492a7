"""Sign-offs (签字确认) proven by a one-time code emailed only to the designated signer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlmodel import Field, SQLModel

from kaoping.models.types import UTCDateTime, utcnow


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
