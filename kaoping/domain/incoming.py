"""An email that reached the office mailbox, as kaoping's services see it.

The IMAP adapter (``kaoping.notifications.mail``) parses a raw message into this shape: the
sender's address, the subject and text decoded (GB18030/GBK included; an HTML-only body as
its text), the reply headers, and every attachment (a .zip's members are listed as
attachments of their own by the intake, not here). Services that take a plain reply — a
signature by reply (签字), an objection (异议) — receive it whole and say whether it was
theirs; nothing here touches the network or the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class IncomingMessage:
    message_id: str  # the Message-ID header, angle brackets kept; what makes a message "seen" once
    sender: str  # the address only, lower-cased (From:, or Sender:/Reply-To: never — see the adapter)
    subject: str  # decoded
    text: str  # the plain-text body, decoded; an HTML-only message's text; quoted history included
    received_at: datetime  # timezone-aware: the server's INTERNALDATE, else the Date header
    in_reply_to: str = ""  # In-Reply-To, angle brackets kept
    references: tuple[str, ...] = ()  # References, oldest first
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)

    @property
    def replied_to(self) -> tuple[str, ...]:
        """Every Message-ID this message answers (In-Reply-To first, then References newest first)."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        ids += [r for r in reversed(self.references) if r and r not in ids]
        return tuple(ids)


#: Local parts of addresses no person reads: never answered (no mail loops).
MACHINE_SENDERS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply")


def machine_sender(address: str) -> bool:
    """An empty address or a mail system's own (mailer-daemon, postmaster, no-reply …)."""
    local = (address or "").strip().lower().partition("@")[0]
    return not local or local in MACHINE_SENDERS or local.startswith("mailer-daemon")
