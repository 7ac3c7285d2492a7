"""Deliver the outbox over SMTP: one connection for a batch, retries with tenacity.

For each message: mark it ``sending`` and commit, hand it to the server, mark it ``sent``
and commit. A crash between the server's "250 OK" and the second commit leaves it
``sending``; the next run sends it again with the same Message-ID (mail clients and most
servers fold such duplicates) — that is the only way a message can go out twice.
Transient trouble (connection refused or dropped, timeouts, 4xx replies) is retried with
exponential backoff and jitter, reconnecting each time, every retry logged; a 5xx reply
marks that message ``failed`` with the server's words and the batch goes on. A message
whose retries run out stays pending for the next run: nothing is lost.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate

from email_validator import EmailNotValidError
from sqlmodel import select
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from kaoping import db
from kaoping.adapters.mail.attachments import attachment_path
from kaoping.domain.text import normalize_email
from kaoping.models import MessageStatus, OutboxMessage
from kaoping.models.types import utcnow
from kaoping.settings import Settings, SmtpSecurity

log = logging.getLogger("kaoping.mail")

#: Lines end in CRLF on the wire (smtplib does not convert bytes).
WIRE = compat32.clone(linesep="\r\n")


class PermanentFailure(Exception):
    """The server refused this message for good (5xx); its words are the message."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ssl.SSLError):  # a certificate or TLS setting problem: retrying will not help
        return False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, socket.timeout,
                            TimeoutError, OSError))


def server_words(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "；".join(f"{rcpt}: {code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg}"
                        for rcpt, (code, msg) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {error}"
    return f"{exc.__class__.__name__}: {exc}"


class SmtpTransport:
    """One SMTP connection, opened lazily and reopened after trouble."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.connection: smtplib.SMTP | None = None
        self.connects = 0

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.settings.smtp_ca_file) if self.settings.smtp_ca_file else None)
        if not self.settings.smtp_verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def open(self) -> smtplib.SMTP:
        if self.connection is not None:
            return self.connection
        s = self.settings
        if s.smtp_security is SmtpSecurity.ssl:
            connection = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=self._tls_context())
        else:
            connection = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
            if s.smtp_security is SmtpSecurity.starttls:
                connection.starttls(context=self._tls_context())
        if s.smtp_user:
            connection.login(s.smtp_user, s.smtp_password.get_secret_value())
        self.connection = connection
        self.connects += 1
        return connection

    def drop(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except Exception:  # already broken: closing is all we can do
                try:
                    self.connection.close()
                except Exception:
                    pass
            self.connection = None

    def send(self, message: bytes, sender: str, recipients: list[str]) -> dict:
        return self.open().sendmail(sender, recipients, message)


def build_email(settings: Settings, row: OutboxMessage) -> bytes:
    """The message as sent: multipart/mixed (text + HTML alternatives, attachments), every
    non-ASCII header RFC 2047/2231-encoded and bodies in base64, so it is 7-bit clean for any
    relay (not every 政务邮箱 server speaks 8BITMIME or SMTPUTF8). Built with the classic
    ``email.mime`` API: the modern one re-parses every header and costs ~3× as much."""
    message = MIMEMultipart("mixed")
    message["Subject"] = Header(row.subject, "utf-8")
    message["From"] = formataddr((str(Header(settings.office_name, "utf-8")), settings.mail_from))
    message["To"] = ", ".join(row.to)
    if row.cc:
        message["Cc"] = ", ".join(row.cc)
    message["Message-ID"] = row.message_id
    message["Date"] = formatdate(localtime=True)
    message["X-Kaoping-Kind"] = row.kind
    bodies = MIMEMultipart("alternative")
    bodies.attach(MIMEText(row.text_body, "plain", "utf-8"))
    if row.html_body:
        bodies.attach(MIMEText(row.html_body, "html", "utf-8"))
    message.attach(bodies)
    for item in row.attachments:
        data = attachment_path(settings, item["sha256"]).read_bytes()
        maintype, _, subtype = item["content_type"].partition("/")
        part = MIMEApplication(data, _subtype=subtype or "octet-stream")
        if maintype != "application":
            part.replace_header("Content-Type", item["content_type"])
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", item["filename"]))
        message.attach(part)
    return message.as_bytes(policy=WIRE)


@dataclass
class SendReport:
    sent: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    deferred: list[tuple[int, str]] = field(default_factory=list)  # transient trouble outlasted the retries
    connections: int = 0


def _retrying(settings: Settings, transport: SmtpTransport, message_id: int) -> Retrying:
    def before_sleep(state) -> None:
        log.warning("邮件 #%s 第 %s 次发送失败（%s），%.1f 秒后重试", message_id, state.attempt_number,
                    server_words(state.outcome.exception()), state.next_action.sleep)
        transport.drop()

    return Retrying(
        stop=stop_after_attempt(settings.smtp_attempts),
        wait=wait_exponential_jitter(multiplier=settings.smtp_retry_initial, max=settings.smtp_retry_max,
                                     jitter=settings.smtp_retry_initial),
        retry=retry_if_exception(is_transient),
        before_sleep=before_sleep,
        reraise=False,
    )


def send_pending(settings: Settings, *, limit: int | None = None, transport: SmtpTransport | None = None,
                 reuse_connection: bool = True) -> SendReport:
    """Deliver what is pending now (and what a crash left ``sending``), one connection per batch
    (``reuse_connection=False`` opens one per message: only for comparison in the benchmark)."""
    with db.session_scope(settings) as session:
        query = select(OutboxMessage.id).where(
            OutboxMessage.status.in_([MessageStatus.pending, MessageStatus.sending])).order_by(OutboxMessage.id)
        ids = list(session.exec(query.limit(limit) if limit else query))
    report = SendReport()
    transport = transport or SmtpTransport(settings)
    try:
        for message_id in ids:
            with db.session_scope(settings) as session:
                row = session.get(OutboxMessage, message_id)
                if row.status not in (MessageStatus.pending, MessageStatus.sending):
                    continue
                try:
                    for address in row.to + row.cc:  # checked when stored, and again now
                        normalize_email(address)
                except EmailNotValidError as exc:
                    row.status, row.last_error = MessageStatus.failed, f"地址无效：{exc}"
                    report.failed.append((message_id, row.last_error))
                    continue
                row.status = MessageStatus.sending
                row.attempts += 1
                email = build_email(settings, row)
                recipients = row.to + row.cc
            outcome, words = _deliver(settings, transport, message_id, email, recipients)
            _record(settings, message_id, outcome, words, report)
            if not reuse_connection:
                transport.drop()
    finally:
        report.connections = transport.connects
        transport.drop()
    return report


def _deliver(settings, transport, message_id, email, recipients) -> tuple[str, str]:
    try:
        for attempt in _retrying(settings, transport, message_id):
            with attempt:
                refused = transport.send(email, settings.mail_from, recipients)
        if refused:
            return "partial", server_words(smtplib.SMTPRecipientsRefused(refused))
        return "sent", ""
    except RetryError as exc:
        return "deferred", server_words(exc.last_attempt.exception())
    except (smtplib.SMTPException, OSError) as exc:  # not transient: 5xx, TLS trouble
        return "failed", server_words(exc)
    except UnicodeEncodeError as exc:  # smtplib sends AUTH in ASCII only
        return "failed", f"SMTP 用户名或密码含非 ASCII 字符，smtplib 无法登录：{exc}"


def _record(settings, message_id, outcome, words, report) -> None:
    with db.session_scope(settings) as session:
        row = session.get(OutboxMessage, message_id)
        if outcome == "sent":
            row.status, row.sent_at, row.last_error = MessageStatus.sent, utcnow(), ""
            report.sent.append(message_id)
        elif outcome == "partial":
            row.status, row.sent_at = MessageStatus.failed, utcnow()
            row.last_error = f"部分收件人被拒收（其余已送达）：{words}"
            report.failed.append((message_id, row.last_error))
        elif outcome == "failed":
            row.status, row.last_error = MessageStatus.failed, words
            report.failed.append((message_id, words))
        else:
            row.status, row.last_error = MessageStatus.pending, f"暂时无法送达，下次再试：{words}"
            report.deferred.append((message_id, words))
        session.add(row)


def retry_failed(settings: Settings, ids: list[int] | None = None) -> int:
    """Put failed messages back in the queue (``kaoping outbox retry``)."""
    with db.session_scope(settings) as session:
        query = select(OutboxMessage).where(OutboxMessage.status == MessageStatus.failed)
        if ids:
            query = query.where(OutboxMessage.id.in_(ids))
        rows = session.exec(query).all()
        for row in rows:
            row.status = MessageStatus.pending
            session.add(row)
    return len(rows)
