"""Every message taken from the office mailbox (收到的邮件), recorded before anything is done with it.
"""

from __future__ import annotations

from datetime import datetime

from kaoping.models.types import UTCDateTime, utcnow
from sqlalchemy import JSON, String, Text
from sqlmodel import Field, SQLModel


class MailboxMessage(SQLModel, table=True):
    """One email from the office mailbox, by Message-ID: recorded (its raw bytes kept, see
    ``raw_file_id``) before its attachments are taken in, so that it is never handled twice
    and a crash loses nothing. ``status``: recorded → handled (what it gave: ``outcome``) →
    moved (out of the intake folder)."""

    __tablename__ = "mailbox_message"

    id: int | None = Field(default=None, primary_key=True)
    message_key: str = Field(sa_type=String(64), unique=True, index=True)  # sha256 of the Message-ID
    message_id: str = Field(sa_type=Text)  # the header as sent (or a digest id when it had none)
    sender: str = Field(default="", sa_type=String(254))
    subject: str = Field(default="", sa_type=Text)
    received_at: datetime = Field(sa_type=UTCDateTime)  # the server's INTERNALDATE
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    raw_file_id: int | None = Field(default=None, foreign_key="received_file.id")  # the .eml, kept like every file
    raw_sha256: str = Field(default="", sa_type=String(64))
    status: str = Field(default="recorded", sa_type=String(16), index=True)  # recorded | handled | moved
    outcome: str = Field(default="", sa_type=String(24))  # accepted | refused | held | no_form | automatic | reply | duplicate
    folder: str = Field(default="", sa_type=String(200))  # where it was moved to
    summary: str = Field(default="", sa_type=Text)  # what happened, in Chinese (the artifact and `mail fetch` show it)
    details: dict = Field(default_factory=dict, sa_type=JSON)  # per attachment: name, sha256, outcome, reason
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    moved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
