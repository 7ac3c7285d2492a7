"""The demo's office mailbox: a private dovecot on loopback (as the demo starts its SMTP sink),
and simulated people replying to kaoping's emails — a form email answered with the filled form
attached, delivered into the office mailbox with IMAP APPEND at the simulated time.

Without dovecot (``apt-get install dovecot-imapd``) the demo says so and falls back to the
inbox folder, the embedded default: ``make demo`` must run on any machine with Python.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid
from pathlib import Path

from sqlmodel import Session, select

from kaoping.models import OutboxMessage
from kaoping.notifications.mail.imap_server import (
    ImapServerUnavailable,
    LocalImapServer,
)

OFFICE_MAILBOX = "zhuanban-shoujian@baotou.example"  # the dedicated mailbox the units reply to
DOCX = "vnd.openxmlformats-officedocument.wordprocessingml.document"


@contextmanager
def office_mailbox(folder: Path, say):
    """The demo's IMAP server (or None, said clearly, when dovecot is not installed)."""
    try:
        server = LocalImapServer(user=OFFICE_MAILBOX, mail_dir=folder).start()
    except ImapServerUnavailable as exc:
        say(f"[yellow]注意[/yellow]：{str(exc).splitlines()[0]} 本次演示改用收件文件夹回收（嵌入式默认方式）。")
        yield None
        return
    try:
        yield server
    finally:
        server.stop()


def form_email(session: Session, form_no: str, address: str) -> tuple[str, str] | None:
    """(subject, Message-ID) of the email that carried a form to ``address`` (what the person replies to)."""
    row = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "form_issued",
                                                   OutboxMessage.idempotency_key.like(f"form:{form_no}:%:{address}"))
                       .order_by(OutboxMessage.id.desc())).first()
    return (row.subject, row.message_id) if row else None


def reply_email(sender: str, original: tuple[str, str] | None, when: datetime, *, text: str,
                attachments: list[tuple[str, bytes]] = ()) -> bytes:
    """A person's reply as their mail client writes it: Re: subject, In-Reply-To, the files attached."""
    message = MIMEMultipart("mixed")
    message["From"] = sender
    message["To"] = OFFICE_MAILBOX
    message["Subject"] = Header(f"回复：{original[0]}" if original else "报送表格", "utf-8")
    message["Date"] = format_datetime(when)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "unit.example")
    if original is not None:
        message["In-Reply-To"] = message["References"] = original[1]
    message.attach(MIMEText(text, "plain", "utf-8"))
    for name, data in attachments:
        part = MIMEApplication(data, _subtype=DOCX)
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
        message.attach(part)
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def deliver(server: LocalImapServer, replies: list[tuple[bytes, datetime]]) -> None:
    """What the mail server does with the units' replies: store them in the office mailbox."""
    with server.client() as client:
        for raw, when in replies:
            server.append(raw, when=when, client=client)


def sign_by_reply(server: LocalImapServer, signer: str, request: tuple[str, str], when: datetime, *, code: str,
                  decision: str = "同意", comments: str = "") -> None:
    """A signer answers the sign-off email (``request``: its subject and Message-ID) by replying
    "同意。验证码：…" from their own address; the intake takes the reply as the signature
    (``kaoping.notifications.mailbox.route_text_reply``) and releases the waiting run."""
    body = f"{decision}。验证码：{code}" + (f"\n意见：{comments}" if comments else "")
    deliver(server, [(reply_email(signer, request, when, text=body), when)])
