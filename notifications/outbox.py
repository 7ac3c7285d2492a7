"""Queue messages in the same transaction as the change that causes them (transactional outbox).

``queue`` renders nothing and sends nothing: it stores a message value (recipients, subject,
bodies, attachments by content hash, a stable Message-ID) under an idempotency key. Queuing
the same key again returns the stored message, so a re-run step never queues twice.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from email_validator import EmailNotValidError
from kaoping.models import SECRET_MASK, MessageStatus, OutboxMessage
from kaoping.notifications.attachments import (
    attachment_path,
    load_attachment,
    store_attachment,
)
from sqlmodel import Session, select

from kaoping.adapters.sealing import seal
from kaoping.domain.errors import Conflict, InvalidInput
from kaoping.domain.text import normalize_email
from kaoping.records import audit
from kaoping.settings import Environment, Settings, is_example_address

#: The emails that carry the audit head (X-Kaoping-Audit-Anchor), one for every stage of a cycle: the
#: forms issued, returns received, field visits, the objections (letters, receipts, routing, opinions,
#: decisions), the sign-offs, the distribution, and the daily anchor mail to the 专班. Queuing one
#: records an anchor (the anchor file) too: a cut or re-sealed audit log differs from the copies.
ANCHORED_KINDS = frozenset({"form_issued", "third_party_request", "return_received", "visit_invitation",
                            "objection_letter", "objection_received", "objection_routed", "objection_opinion_received",
                            "objection_decided", "signoff_request", "signoff_reply_accepted", "report_distribution",
                            "audit_anchor"})


#: The answers kaoping sends to an email it received (receipts, refusals, confirmations): queued while
#: ``replying_to`` names that email, to its sender, they carry In-Reply-To and References, so the
#: sender's mail client shows them in the thread of what they sent. Subjects stay kaoping's (【回执】 …).
REPLY_KINDS = frozenset({"return_received", "return_refused", "mail_no_form", "objection_received", "objection_refused",
                         "objection_opinion_received", "signoff_reply_accepted", "signoff_reply_refused"})


@dataclass(frozen=True)
class Replying:
    message_id: str  # the incoming Message-ID, angle brackets kept
    sender: str  # normalised address: only a message to it is a reply
    references: tuple[str, ...] = ()  # the incoming References, oldest first


_replying: ContextVar[Replying | None] = ContextVar("kaoping_replying_to", default=None)


@contextmanager
def replying_to(message_id: str, sender: str, references: tuple[str, ...] = ()) -> Iterator[None]:
    """Within the block, an answer (``REPLY_KINDS``) queued to ``sender`` is threaded with the email
    ``message_id``: the mailbox wraps the handling of each message it takes in, whatever service answers."""
    try:
        address = normalize_email(sender)
    except EmailNotValidError:
        address = sender.strip().lower()
    token = _replying.set(Replying(message_id.strip(), address, tuple(references)) if message_id.strip() else None)
    try:
        yield
    finally:
        _replying.reset(token)


def _thread_of(kind: str, recipients: list[str], in_reply_to: str, references: tuple[str, ...]) -> tuple[str, str]:
    """(In-Reply-To, References) of a message to queue: given, or the email being answered (``replying_to``)."""
    replying = _replying.get()
    if not in_reply_to and replying is not None and kind in REPLY_KINDS and replying.sender in recipients:
        in_reply_to, references = replying.message_id, replying.references
    if not in_reply_to:
        return "", ""
    return in_reply_to, " ".join(dict.fromkeys([r for r in references if r and r != in_reply_to][-19:] + [in_reply_to]))


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    content_type: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @classmethod
    def from_path(cls, path: Path, filename: str | None = None) -> "Attachment":
        return cls(filename or path.name, Path(path).read_bytes())


__all__ = ["Attachment", "attachment_path", "load_attachment", "queue", "recent", "refuse_development_secret", "MASK",
           "message_id_for", "replying_to", "REPLY_KINDS"]
MASK = SECRET_MASK


def message_id_for(settings: Settings) -> str:
    """A Message-ID no one can compute: 128 random bits, kept in the outbox row. A reply is matched by
    the Message-ID it names (In-Reply-To/References), so naming one must prove the email was seen."""
    domain = settings.mail_from.rpartition("@")[2] or "kaoping.local"
    return f"<kaoping.{secrets.token_hex(16)}@{domain}>"


def _sealed_bodies(settings: Settings, key: str, secret: str, text: str, html: str) -> tuple[str, str, str]:
    """The bodies with ``secret`` shown as ●●●●●●, and the secret sealed for the moment of sending."""
    pattern = re.compile(r"(?<![0-9])" + re.escape(secret) + r"(?![0-9])")
    if not pattern.search(text):
        raise ValueError("the secret must appear in the text body")
    return pattern.sub(MASK, text), pattern.sub(MASK, html), seal(
        settings.secret_key.get_secret_value().encode("utf-8"), secret, bound_to=key)


def refuse_development_secret(settings: Settings, what: str) -> None:
    """Nothing that leaves the machine is signed with the built-in development secret unless
    ``KAOPING_ENVIRONMENT=development`` was set explicitly."""
    if settings.development_secret_refused:
        raise Conflict(
            f"{what}不能发出：当前使用的是内置开发密钥，任何人都能用它伪造表单和签名。请设置 KAOPING_SECRET_KEY"
            "（例如 `python -c 'import secrets; print(secrets.token_urlsafe(48))'` 的输出）；仅在本机试用时可设置"
            " KAOPING_ENVIRONMENT=development。 / Refusing to send with the built-in development secret:"
            " set KAOPING_SECRET_KEY (or KAOPING_ENVIRONMENT=development for a local trial)."
        )


def refuse_example_addresses(settings: Settings, addresses: list[str], subject: str) -> None:
    """Production sends nothing to an address on a domain reserved for examples (baotou.example,
    *.test …): such an address is a placeholder nobody reads — the settings or the unit registry
    were never filled in (`kaoping doctor` lists both)."""
    if settings.environment is not Environment.production:
        return
    examples = [a for a in addresses if is_example_address(a)]
    if examples:
        raise Conflict(f"邮件“{subject}”不能发出：收件人 {'、'.join(examples)} 是示例地址（保留域名，没有人收得到）。"
                       "请在设置（KAOPING_…_EMAIL）或考评对象名录（kaoping units import）中填写真实邮箱后重试；"
                       "`kaoping doctor` 列出所有仍为示例的地址。 / Refusing to send to a placeholder address.")


def _addresses(addresses: list[str], label: str) -> list[str]:
    out = []
    for address in addresses:
        try:
            out.append(normalize_email(address))
        except EmailNotValidError as exc:
            raise InvalidInput(f"{label}邮箱地址“{address}”无效（{exc}）：请在名录中更正。") from exc
    return list(dict.fromkeys(out))


def queue(
    session: Session, settings: Settings, *, key: str, kind: str, to: list[str], subject: str, text: str,
    html: str = "", cc: list[str] | None = None, attachments: list[Attachment] | None = None,
    cycle_code: str | None = None, in_reply_to: str = "", references: tuple[str, ...] = (), secret: str = "",
) -> tuple[OutboxMessage, bool]:
    """Store a message to send (or return the one already stored under ``key``).
    ``in_reply_to``/``references``: the message this one answers (a reply kaoping sends to an
    email it received), so it is threaded with it. ``secret``: a one-time code in the bodies,
    stored only sealed (the bodies show ●●●●●●) and put back at the moment of sending.
    Returns (message, created)."""
    existing = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).first()
    if existing is not None:
        return existing, False
    refuse_development_secret(settings, f"邮件“{subject}”")
    refuse_example_addresses(settings, [*to, *(cc or [])], subject)
    recipients = _addresses(to, "收件人")
    if not recipients:
        raise InvalidInput(f"邮件“{subject}”没有收件人：请在名录中为该单位填写联络员邮箱。")
    copies = [a for a in _addresses(cc or [], "抄送") if a not in recipients]
    stored = []
    kept = session.info.setdefault("kaoping.outbox_blobs", set())  # stored in this transaction already
    for attachment in attachments or []:
        if attachment.sha256 not in kept:  # the 通报 to 600 units: its bytes go to the database once
            store_attachment(session, attachment.sha256, attachment.data)
            kept.add(attachment.sha256)
        content_type = attachment.content_type or mimetypes.guess_type(attachment.filename)[0] or "application/octet-stream"
        stored.append({"filename": attachment.filename, "sha256": attachment.sha256, "size": len(attachment.data),
                       "content_type": content_type})
    in_reply_to, reference_ids = _thread_of(kind, recipients, in_reply_to, tuple(references))
    sealed = ""
    if secret:
        text, html, sealed = _sealed_bodies(settings, key, secret, text, html)
    message = OutboxMessage(
        idempotency_key=key, message_id=message_id_for(settings), kind=kind, cycle_code=cycle_code, to=recipients,
        cc=copies, subject=subject, text_body=text, html_body=html, attachments=stored, status=MessageStatus.pending,
        sealed_secret=sealed,
        audit_anchor=audit.record_anchor(session, settings, f"mail:{kind}") if kind in ANCHORED_KINDS else "",
        in_reply_to=in_reply_to, reference_ids=reference_ids,
    )
    session.add(message)
    session.flush()
    return message, True


def recent(session: Session, *, failed: bool = False, limit: int = 50) -> list[OutboxMessage]:
    """The newest ``limit`` messages (only failed ones with ``failed``), oldest first."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if failed:
        query = query.where(OutboxMessage.status == MessageStatus.failed)
    return list(reversed(session.exec(query).all()))
