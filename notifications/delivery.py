"""Delivering the outbox: each stored message goes pending → sending → sent (or failed, deferred,
uncertain), one transaction per message, so a crash never loses or doubles one. The wire is
``mail.smtp`` (tenacity retries around each message there and nowhere else); this module owns
the states.

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
import ssl
from dataclasses import dataclass, field
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate

from email_validator import EmailNotValidError
from kaoping.models import SECRET_KINDS, SECRET_MASK, MessageStatus, OutboxMessage
from kaoping.models.types import utcnow
from kaoping.notifications.attachments import AttachmentMissing, load_attachment
from kaoping.notifications.mail.smtp import (
    WIRE,
    ConnectionRefusedForGood,
    SmtpTransport,
    UncertainDelivery,
    is_transient,
    server_words,
)
from sqlmodel import select
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from kaoping import db
from kaoping.adapters.sealing import SealBroken, unseal
from kaoping.domain.errors import Conflict
from kaoping.domain.text import normalize_email
from kaoping.settings import Settings

log = logging.getLogger("kaoping.mail")


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
    text, html = _opened(settings, row)
    bodies = MIMEMultipart("alternative")
    bodies.attach(MIMEText(text, "plain", "utf-8"))
    if html:
        bodies.attach(MIMEText(html, "html", "utf-8"))
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


def _opened(settings: Settings, row: OutboxMessage) -> tuple[str, str]:
    """The bodies as sent: a sealed one-time secret put back in place of ●●●●●● (in memory only)."""
    if not row.sealed_secret:
        return row.text_body, row.html_body
    secret = unseal(settings.form_keys, row.sealed_secret, bound_to=row.idempotency_key)
    return row.text_body.replace(SECRET_MASK, secret), row.html_body.replace(SECRET_MASK, secret)


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
                except SealBroken:
                    row.status, row.sealed_secret = MessageStatus.failed, ""
                    row.last_error = ("验证码无法解密，未发送（KAOPING_SECRET_KEY 在提请签字后被更换，或记录被改动）："
                                      "请重新提请签字（kaoping signoff request），新的验证码会另发一封邮件。")
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


#: A one-time code left in the clear by a release before the codes were sealed (issue 24), blanked too.
_CODE = re.compile(r"(验证码：(?:<strong[^>]*>)?)[0-9]{6}")


def _blank_secrets(row: OutboxMessage) -> None:
    """After an attempt that ends the message's life (sent, refused for good, or the batch stopped on
    it): no copy of its one-time code is kept, sealed or not — a failed one is asked for anew."""
    row.sealed_secret = ""
    if row.kind in SECRET_KINDS:
        row.text_body = _CODE.sub(r"\1" + SECRET_MASK, row.text_body)
        row.html_body = _CODE.sub(r"\1" + SECRET_MASK, row.html_body)


def _record(settings, message_id, outcome, words, report) -> None:
    with db.session_scope(settings) as session:
        row = session.get(OutboxMessage, message_id)
        if outcome in ("sent", "partial", "failed", "stop"):
            _blank_secrets(row)  # handed over, or refused for good: the code is not kept, not even sealed
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
        if row.kind in SECRET_KINDS and row.status == MessageStatus.failed and outcome != "partial":
            row.last_error += " 其中的验证码已作废，重发也无效：请重新提请签字（kaoping signoff request），新的验证码另发一封邮件。"
        session.add(row)


def retry_failed(settings: Settings, ids: list[int] | None = None) -> int:
    """Put failed messages back in the queue (``kaoping outbox retry``) — not a sign-off email whose code
    was dropped after the failed attempt (it would carry no code): a new request sends a new one."""
    with db.session_scope(settings) as session:
        query = select(OutboxMessage).where(OutboxMessage.status == MessageStatus.failed)
        if ids:
            query = query.where(OutboxMessage.id.in_(ids))
        rows = [r for r in session.exec(query).all() if r.kind not in SECRET_KINDS or r.sealed_secret]
        for row in rows:
            row.status = MessageStatus.pending
            session.add(row)
    return len(rows)
