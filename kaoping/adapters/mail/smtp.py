"""Deliver the outbox over SMTP: one connection for a batch, retries with tenacity.

For each message: mark it ``sending`` and commit, hand it to the server, mark it ``sent``
and commit. Transient trouble before the end of the data (connection refused, dropped before
or during DATA, timeouts, 4xx replies) is retried with exponential backoff and jitter,
reconnecting each time, every retry logged. Permanent trouble marks that message ``failed``
with the reason and the batch goes on: a 5xx reply, a missing attachment, STARTTLS required
but not offered, a TLS or login failure (these last three stop the batch: they would fail
every message; the rest stay pending).

A message can reach a recipient twice in two cases, both with the same Message-ID (most mail
clients and many servers fold such duplicates):

- the connection drops after the end of the data, before the server's reply: the server may
  have stored it. The message is recorded ``uncertain`` and handed over once more (a second
  such drop marks it ``failed``, "可能已送达", for the operator to check);
- the process dies between the server's "250 OK" and the commit that records it (``sending``):
  the next run sends it again.
"""

from __future__ import annotations

import logging
import re
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
from kaoping.adapters.mail.attachments import AttachmentMissing, load_attachment
from kaoping.domain.errors import Conflict
from kaoping.domain.text import normalize_email
from kaoping.models import SECRET_KINDS, MessageStatus, OutboxMessage
from kaoping.models.types import utcnow
from kaoping.settings import Settings, SmtpSecurity

log = logging.getLogger("kaoping.mail")

#: Lines end in CRLF on the wire (smtplib does not convert bytes).
WIRE = compat32.clone(linesep="\r\n")


class PermanentFailure(Exception):
    """The server refused this message for good (5xx); its words are the message."""


class UncertainDelivery(Exception):
    """The connection dropped after the end of the data, before the server's reply."""


class ConnectionRefusedForGood(Exception):
    """The connection itself cannot work as configured (STARTTLS not offered, TLS or login refused):
    every message would fail the same way."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (ssl.SSLError, UncertainDelivery, ConnectionRefusedForGood, smtplib.SMTPNotSupportedError)):
        return False  # a certificate or TLS setting problem, or a drop after the data: retrying now will not help
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
    if isinstance(exc, (UncertainDelivery, ConnectionRefusedForGood)):
        return str(exc)
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
                try:
                    connection.starttls(context=self._tls_context())
                except smtplib.SMTPNotSupportedError:
                    connection.close()
                    raise ConnectionRefusedForGood(
                        f"SMTP 服务器 {s.smtp_host}:{s.smtp_port} 不提供 STARTTLS，而 KAOPING_SMTP_SECURITY=starttls 要求加密："
                        "邮件未以明文发出。请确认服务器地址和端口（如 587），或改用 ssl（465）。"
                        " / STARTTLS required but not offered.") from None
        if s.smtp_user:
            try:
                connection.login(s.smtp_user, s.smtp_password.get_secret_value())
            except smtplib.SMTPAuthenticationError as exc:
                connection.close()
                raise ConnectionRefusedForGood(
                    f"SMTP 登录被拒绝（{server_words(exc)}）：请检查 KAOPING_SMTP_USER 和 KAOPING_SMTP_PASSWORD。"
                    " / SMTP authentication failed.") from None
            except smtplib.SMTPNotSupportedError:
                connection.close()
                raise ConnectionRefusedForGood(
                    "SMTP 服务器不支持登录（AUTH），而设置了 KAOPING_SMTP_USER：请确认是否需要加密（KAOPING_SMTP_SECURITY）"
                    "或清空 KAOPING_SMTP_USER。 / The server offers no AUTH.") from None
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
        """``sendmail``, step by step, so that a drop after the end of the data (the server may
        have stored the message) is told apart from one before it (nothing stored: retry)."""
        connection = self.open()
        connection.ehlo_or_helo_if_needed()
        options = [f"size={len(message)}"] if connection.does_esmtp and connection.has_extn("size") else []
        code, words = connection.mail(sender, options)
        if code != 250:
            connection.rset() if code != 421 else connection.close()
            raise smtplib.SMTPSenderRefused(code, words, sender)
        refused = {}
        for recipient in recipients:
            code, words = connection.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, words)
            if code == 421:
                connection.close()
                raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(recipients):
            connection.rset()
            raise smtplib.SMTPRecipientsRefused(refused)
        connection.putcmd("data")
        code, words = connection.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, words)
        data = smtplib._quote_periods(message)
        if data[-2:] != smtplib.bCRLF:
            data += smtplib.bCRLF
        connection.send(data + b"." + smtplib.bCRLF)
        try:
            code, words = connection.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.connection = None
            raise UncertainDelivery(
                f"数据发送完毕后连接断开，未收到服务器答复（{exc.__class__.__name__}）：服务器可能已收下这封邮件。"
                " / The connection dropped after the end of the data.") from None
        if code != 250:
            raise smtplib.SMTPDataError(code, words)
        return refused


def build_email(settings: Settings, row: OutboxMessage, session=None) -> bytes:
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
    if row.in_reply_to:  # a reply to an email kaoping received: threaded with it
        message["In-Reply-To"] = row.in_reply_to
        message["References"] = row.reference_ids or row.in_reply_to
    if row.audit_anchor:  # the audit head when it was queued: the signer's and units' copies anchor the log
        message["X-Kaoping-Audit-Anchor"] = row.audit_anchor
    bodies = MIMEMultipart("alternative")
    bodies.attach(MIMEText(row.text_body, "plain", "utf-8"))
    if row.html_body:
        bodies.attach(MIMEText(row.html_body, "html", "utf-8"))
    message.attach(bodies)
    for item in row.attachments:
        if session is None:
            with db.session_scope(settings) as own:
                data = load_attachment(own, settings, item["sha256"])
        else:
            data = load_attachment(session, settings, item["sha256"])
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
    uncertain: list[int] = field(default_factory=list)
    stopped: str = ""  # the batch stopped: the connection cannot work as configured (the rest stay pending)
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
    """Deliver what is pending now (and what a crash left ``sending``, and an ``uncertain`` one
    once more), one connection per batch (``reuse_connection=False`` opens one per message:
    only for comparison in the benchmark)."""
    if settings.development_secret_refused:
        raise Conflict(
            "不能发送邮件：当前使用的是内置开发密钥，任何人都能用它伪造表单和签名。请设置 KAOPING_SECRET_KEY；"
            "仅在本机试用时可设置 KAOPING_ENVIRONMENT=development。 / Refusing to send with the built-in development secret.")
    waiting = [MessageStatus.pending, MessageStatus.sending, MessageStatus.uncertain]
    with db.session_scope(settings) as session:
        query = select(OutboxMessage.id).where(OutboxMessage.status.in_(waiting)).order_by(OutboxMessage.id)
        ids = list(session.exec(query.limit(limit) if limit else query))
    report = SendReport()
    transport = transport or SmtpTransport(settings)
    try:
        for message_id in ids:
            with db.session_scope(settings) as session:
                row = session.get(OutboxMessage, message_id)
                if row.status not in waiting:
                    continue
                second_chance = row.status == MessageStatus.uncertain
                try:
                    for address in row.to + row.cc:  # checked when stored, and again now
                        normalize_email(address)
                    email = build_email(settings, row, session)
                except EmailNotValidError as exc:
                    row.status, row.last_error = MessageStatus.failed, f"地址无效：{exc}"
                    report.failed.append((message_id, row.last_error))
                    continue
                except AttachmentMissing as exc:
                    row.status = MessageStatus.failed
                    row.last_error = f"附件缺失，未发送：{exc}。请重新生成该文件后用 kaoping outbox retry 重发。"
                    report.failed.append((message_id, row.last_error))
                    log.error("邮件 #%s 附件缺失，标为发送失败：%s", message_id, exc)
                    continue
                row.status = MessageStatus.sending
                row.attempts += 1
                recipients = row.to + row.cc
            outcome, words = _deliver(settings, transport, message_id, email, recipients)
            if outcome == "uncertain" and not second_chance:
                _record(settings, message_id, outcome, words, report)  # recorded before the one retry
                log.warning("邮件 #%s 送达情况不确定（%s），用同一 Message-ID 重发一次", message_id, words)
                transport.drop()
                outcome, words = _deliver(settings, transport, message_id, email, recipients)
                report.uncertain.remove(message_id)
                if outcome == "sent":
                    words = "第一次发送在数据结束后断开，已用同一 Message-ID 重发一次：收件人可能收到两封相同的邮件。"
                second_chance = True
            if outcome == "uncertain" and second_chance:
                outcome, words = "failed", f"可能已送达（两次在数据结束后断开，不再自动重发）：{words} 请向收件人核实，必要时用 kaoping outbox retry 重发。"
            _record(settings, message_id, outcome, words, report)
            if outcome == "stop":
                break
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
    except UncertainDelivery as exc:
        return "uncertain", str(exc)
    except ConnectionRefusedForGood as exc:
        return "stop", str(exc)
    except ssl.SSLError as exc:
        return "stop", f"TLS 握手失败（{exc}）：请检查 KAOPING_SMTP_SECURITY、KAOPING_SMTP_CA_FILE 和服务器证书。"
    except (smtplib.SMTPException, OSError) as exc:  # not transient: 5xx
        return "failed", server_words(exc)
    except UnicodeEncodeError as exc:  # smtplib sends AUTH in ASCII only
        return "failed", f"SMTP 用户名或密码含非 ASCII 字符，smtplib 无法登录：{exc}"


#: The one-time code in a sign-off email (text and HTML), blanked once the message is handed over.
_CODE = re.compile(r"(验证码：(?:<strong[^>]*>)?)[0-9]{6}")


def _blank_secrets(row: OutboxMessage) -> None:
    if row.kind in SECRET_KINDS:
        row.text_body = _CODE.sub(r"\1●●●●●●", row.text_body)
        row.html_body = _CODE.sub(r"\1●●●●●●", row.html_body)


def _record(settings, message_id, outcome, words, report) -> None:
    with db.session_scope(settings) as session:
        row = session.get(OutboxMessage, message_id)
        if outcome in ("sent", "partial", "failed"):
            _blank_secrets(row)  # handed over (or refused for good): the code is not kept readable
        if outcome == "sent":
            row.status, row.sent_at, row.last_error = MessageStatus.sent, utcnow(), words
            report.sent.append(message_id)
        elif outcome == "uncertain":
            row.status, row.last_error = MessageStatus.uncertain, words
            report.uncertain.append(message_id)
        elif outcome == "stop":
            row.status, row.last_error = MessageStatus.failed, words
            report.failed.append((message_id, words))
            report.stopped = words
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
