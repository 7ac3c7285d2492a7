"""The transactional outbox (发件箱): every email kaoping sends, stored before it is sent.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from kaoping.models.types import UTCDateTime, utcnow
from sqlalchemy import JSON, LargeBinary, String, Text
from sqlmodel import Field, SQLModel


class MessageStatus(StrEnum):
    pending = "pending"  # stored with the change that caused it, not yet tried
    sending = "sending"  # claimed by a sender and being handed to the SMTP server; not yet confirmed (the crash window)
    sent = "sent"
    failed = "failed"  # refused for good (5xx, a missing attachment, STARTTLS not offered …): listed, retried by an operator
    # The connection dropped after the end of the data, before the server's reply: the server may
    # or may not have stored it. Retried once with the same Message-ID; then failed ("可能已送达").
    uncertain = "uncertain"

    @property
    def label(self) -> str:
        return {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败",
                "uncertain": "不确定是否送达"}[self.value]


#: Kinds whose body carries a one-time secret (the sign-off code): the database never holds it in
#: the clear — the body shows ●●●●●● and the code waits sealed (``sealed_secret``) until it is handed
#: to the SMTP server; then the seal is dropped, sent or failed.
SECRET_KINDS = frozenset({"signoff_request"})
#: How a one-time secret shows in a stored body (and in every copy of it kaoping keeps).
SECRET_MASK = "●●●●●●"


class OutboxBlob(SQLModel, table=True):
    """The bytes of an attachment, by content hash, in the database: every worker reads the
    same attachments, whatever its ``var/``."""

    __tablename__ = "outbox_blob"

    sha256: str = Field(sa_type=String(64), primary_key=True)
    size: int = 0
    data: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(sa_type=String(200), unique=True, index=True)
    message_id: str = Field(sa_type=String(200), unique=True)  # the Message-ID header, stable across retries
    kind: str = Field(sa_type=String(40), index=True)  # form_issued, receipt, refusal, reminder, …
    cycle_code: str | None = Field(default=None, sa_type=String(8), index=True)
    to: list = Field(default_factory=list, sa_type=JSON)
    cc: list = Field(default_factory=list, sa_type=JSON)
    subject: str = Field(sa_type=String(300))
    text_body: str = Field(sa_type=Text)
    html_body: str = Field(default="", sa_type=Text)
    attachments: list = Field(default_factory=list, sa_type=JSON)  # [{filename, sha256, size, content_type}]
    status: MessageStatus = Field(default=MessageStatus.pending, sa_type=String(16), index=True)
    attempts: int = 0
    last_error: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The audit head (``seq:seal``) when a sign-off or distribution email was queued: sent in the
    # X-Kaoping-Audit-Anchor header, so a cut or re-sealed audit log is detected (audit verify).
    audit_anchor: str = Field(default="", sa_type=String(100))
    # A reply kaoping sends to an email it received (In-Reply-To and References headers), so mail
    # clients thread it and an answer to it is matched to what it answers.
    in_reply_to: str = Field(default="", sa_type=String(998))
    reference_ids: str = Field(default="", sa_type=Text)  # References: space-separated Message-IDs, oldest first
    # The claim (``notifications.delivery``): the sender delivering this message and until when its lease
    # holds. Another sender skips a claimed message; a sender that died lets go when its lease runs out.
    claimed_by: str = Field(default="", sa_type=String(100))
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A one-time secret the body shows as ●●●●●● (the sign-off code), sealed with KAOPING_SECRET_KEY
    # (kaoping.adapters.sealing) until the message is handed over; emptied after the attempt, sent or failed.
    sealed_secret: str = Field(default="", sa_type=Text)
