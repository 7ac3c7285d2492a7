"""Delivering the outbox: each stored message goes pending → sending → sent (or failed, deferred,
uncertain), so a crash never loses one and any number of senders deliver each once. The wire is
``mail.smtp`` (tenacity retries around each message there and nowhere else); this module owns
the states and the claim.

**The claim.** A sender (a flow's task, ``kaoping outbox send``, the intake's replies — in one
process or several) takes a few waiting messages at a time in one statement: it writes its name
and a lease (``claimed_by``, ``claimed_until``) on messages no one holds, and marks them ``sending``.
On PostgreSQL the candidates are locked ``FOR UPDATE SKIP LOCKED``, so two senders never wait on
or take the same rows; on SQLite the statement runs under the database's single write lock, and
its condition (no live lease) is read inside it. Every record a sender makes checks the claim is
still its own and renews the lease on the rest of its messages; a sender that died lets go when
its lease runs out (``KAOPING_SMTP_CLAIM_SECONDS``), and the next sender delivers what it held.

**The pool.** One sender keeps up to ``KAOPING_SMTP_CONNECTIONS`` connections open, one thread
each, claiming in turn (the Prefect flows run each sender under the global concurrency limit
``kaoping-smtp``, so an office mailbox's limits hold across senders). Beside each connection a desk
thread builds the next messages while the server takes the current one (the wire waits on the
server's replies with the interpreter free), and records the outcomes behind it, ``RECORD_GROUP``
(4) at a time in one committed transaction; the wire hands over a group only once the one before
it is committed. A crash between the server's "250 OK" and that commit therefore costs at most
``UNRECORDED`` (8) messages, sent again with the same Message-ID by the sender that takes the
claim over; nothing is lost (each stays ``sending`` under the dead sender's lease until then).
When the server offers PIPELINING (RFC 2920), MAIL, RCPT and DATA go in one write (``mail.smtp``).

Transient trouble before the end of the data (connection refused, dropped before or during
DATA, timeouts, 4xx replies) is retried with exponential backoff and jitter, reconnecting each
time, every retry logged. Permanent trouble marks that message ``failed`` with the reason and the
batch goes on: a 5xx reply, a missing attachment, STARTTLS required but not offered, a TLS or
login failure (these last three stop the batch: they would fail every message; the rest stay
pending).

A message can reach a recipient twice in two cases, both with the same Message-ID (most mail
clients and many servers fold such duplicates):

- the connection drops after the end of the data, before the server's reply: the server may
  have stored it. The message is recorded ``uncertain`` and handed over once more (a second
  such drop marks it ``failed``, "可能已送达", for the operator to check);
- the process dies between the server's "250 OK" and the commit that records it (``sending``):
  the sender that takes it over after the lease sends it again — at most ``UNRECORDED`` messages.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import re
import smtplib
import socket
import ssl
import threading
import uuid
from collections import OrderedDict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, timedelta
import email.base64mime
import email.message
from email.header import Header
from email.utils import formataddr, format_datetime

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
from sqlalchemy import bindparam, case, or_, update
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


class EncodedAttachments:
    """Attachments as they go on the wire (base64, CRLF lines), encoded once per content hash for
    a sender's batch: the 通报 sent to every unit is read and encoded once, not once per message."""

    def __init__(self, keep: int = 16):
        self.keep = keep
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, settings: Settings, sha256: str, session) -> bytes:
        with self._lock:
            if sha256 in self._cache:
                self._cache.move_to_end(sha256)
                return self._cache[sha256]
        if session is None:
            with db.session_scope(settings) as own:
                data = load_attachment(own, settings, sha256)
        else:
            data = load_attachment(session, settings, sha256)
        encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
        with self._lock:
            self._cache[sha256] = encoded
            while len(self._cache) > self.keep:
                self._cache.popitem(last=False)
        return encoded


def build_email(settings: Settings, row: OutboxMessage, session=None, attachments: EncodedAttachments | None = None,
                *, token: str | None = None) -> bytes:
    """The message as sent: multipart/mixed (text + HTML alternatives, attachments), every
    non-ASCII header RFC 2047/2231-encoded and bodies in base64, so it is 7-bit clean for any
    relay (not every 政务邮箱 server speaks 8BITMIME or SMTPUTF8).

    Written part by part, as ``email.mime`` and its generator (policy ``WIRE``) write such a message —
    the same bytes (tests/notifications/test_delivery.py compares them) — without building the
    ``Message`` objects and walking them: each header folded once by the policy that folds it there,
    the bodies and attachments base64-encoded straight into their lines (an attachment once per
    batch, ``EncodedAttachments``). ``token``: the boundaries' random part (for that comparison)."""
    attachments = attachments or EncodedAttachments()
    # Boundaries of our own (the generator's own compile a regular expression per part to check them against
    # the text); "-" never occurs in base64 bodies.
    token = token or uuid.uuid4().hex
    mixed, alternative = f"===kaoping-mixed-{token}==", f"===kaoping-alternative-{token}=="
    # When the letter was written (queued: RFC 5322's origination date), not when a retry got it through — the
    # day its 落款 says; in the office's time zone (KAOPING_TIMEZONE), from kaoping's clock.
    written = row.created_at or utcnow()
    headers = [("Content-Type", f'multipart/mixed; boundary="{mixed}"'), ("MIME-Version", "1.0"),
               ("Subject", Header(row.subject, "utf-8")), ("From", _sender(settings)), ("To", ", ".join(row.to))]
    if row.cc:
        headers.append(("Cc", ", ".join(row.cc)))
    headers += [("Message-ID", row.message_id),
                ("Date", format_datetime((written if written.tzinfo else written.replace(tzinfo=UTC)).astimezone(settings.tz))),
                ("X-Kaoping-Kind", row.kind)]
    if row.in_reply_to:  # a reply to an email kaoping received: threaded with it
        headers += [("In-Reply-To", row.in_reply_to), ("References", row.reference_ids or row.in_reply_to)]
    if row.audit_anchor:  # the audit head when it was queued: the signer's and units' copies anchor the log
        headers.append(("X-Kaoping-Audit-Anchor", row.audit_anchor))
    text, html = _opened(settings, row)
    out = [_headers(headers), b"--", mixed.encode(), CRLF,
           _headers([("Content-Type", f'multipart/alternative; boundary="{alternative}"'), ("MIME-Version", "1.0")]),
           b"--", alternative.encode(), CRLF, _TEXT_PART["plain"], _base64_lines(text.encode("utf-8"))]
    if html:
        out += [CRLF, b"--", alternative.encode(), CRLF, _TEXT_PART["html"], _base64_lines(html.encode("utf-8"))]
    out += [CRLF, b"--", alternative.encode(), b"--", CRLF]
    for item in row.attachments:
        encoded = attachments.get(settings, item["sha256"], session)
        maintype, _, subtype = item["content_type"].partition("/")
        content_type = f"application/{subtype or 'octet-stream'}" if maintype == "application" else item["content_type"]
        out += [CRLF, b"--", mixed.encode(), CRLF,
                _headers([("Content-Type", content_type), ("MIME-Version", "1.0"), ("Content-Transfer-Encoding", "base64"),
                          ("Content-Disposition",
                           "attachment; " + email.message._formatparam("filename", ("utf-8", "", item["filename"])))]),
                encoded]
    out += [CRLF, b"--", mixed.encode(), b"--", CRLF]
    return b"".join(out)


CRLF = b"\r\n"
#: The headers of a text part (``MIMEText(…, "utf-8")``), and the blank line after them.
_TEXT_PART = {sub: f'Content-Type: text/{sub}; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
                   f"Content-Transfer-Encoding: base64\r\n\r\n".encode("ascii") for sub in ("plain", "html")}


def _headers(pairs: list[tuple[str, object]]) -> bytes:
    """Headers as the generator writes them (folded by ``WIRE``), and the blank line that ends them."""
    return b"".join(WIRE.fold_binary(name, value) for name, value in pairs) + CRLF


def _base64_lines(data: bytes) -> bytes:
    """A body in base64, 76 characters a line, CRLF after each (``email.base64mime.body_encode``)."""
    return email.base64mime.body_encode(data, eol="\r\n").encode("ascii")


_SENDERS: dict[tuple[str, str], str] = {}


def _sender(settings: Settings) -> str:
    """The From header's value: the office's name (RFC 2047) and address; made once per pair."""
    key = (settings.office_name, settings.mail_from)
    if key not in _SENDERS:
        _SENDERS[key] = formataddr((str(Header(settings.office_name, "utf-8")), settings.mail_from))
    return _SENDERS[key]


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
    lost: list[int] = field(default_factory=list)  # claims another sender took over (this sender was too slow)


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


WAITING = (MessageStatus.pending, MessageStatus.sending, MessageStatus.uncertain)
_TABLE = OutboxMessage.__table__  # the records are plain statements: no ORM bookkeeping per message
#: An outcome recorded on a message this sender holds (the columns set are the parameters given).
_RECORD_OWN = _TABLE.update().where(_TABLE.c.id == bindparam("_id"), _TABLE.c.claimed_by == bindparam("_by"))
#: The same, the claim kept (the one retry after an uncertain drop follows at once).
_RECORD_KEPT = _TABLE.update().where(_TABLE.c.id == bindparam("_id"))

#: Messages a sender claims at a time (one statement, one commit), per connection.
CLAIM_CHUNK = 10


class Claim:
    """One sender's name and lease; what it has claimed and not yet recorded is its own to send.
    ``writes``: held around each of its transactions (one lock for the connections of a sender on SQLite,
    which takes one writer at a time: they queue on it instead of in SQLite's sleeping busy handler)."""

    def __init__(self, settings: Settings, writes=None):
        self.settings = settings
        self.by = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.lease = timedelta(seconds=settings.smtp_claim_seconds)
        self.writes = writes or contextlib.nullcontext()
        self.renewed = utcnow()

    def take(self, after_id: int, n: int) -> list[OutboxMessage]:
        """Claim up to ``n`` waiting messages no one holds (ids above ``after_id``: a message this
        sender gave back is left for the next run) and mark them ``sending``; returns them by id."""
        with self.writes, db.session_scope(self.settings) as session:
            now = utcnow()
            free = (select(OutboxMessage.id)
                    .where(OutboxMessage.status.in_(WAITING), OutboxMessage.id > after_id,
                           or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
                    .order_by(OutboxMessage.id).limit(n))
            if session.get_bind().dialect.name == "postgresql":
                free = free.with_for_update(skip_locked=True)
            self.renewed = now
            claimed = session.execute(
                _TABLE.update().where(_TABLE.c.id.in_(free.scalar_subquery()))
                .values(claimed_by=self.by, claimed_until=now + self.lease, attempts=_TABLE.c.attempts + 1,
                        status=case((_TABLE.c.status == MessageStatus.uncertain, _TABLE.c.status),
                                    else_=MessageStatus.sending))
                .returning(_TABLE.c.id)).scalars().all()
            if not claimed:
                return []
            return list(session.exec(select(OutboxMessage).where(OutboxMessage.id.in_(claimed))
                                     .order_by(OutboxMessage.id)).all())

    def record(self, connection, message_id: int, values: dict) -> bool:
        """Record what became of a message this sender holds and let it go. False: the claim had run
        out and another sender holds the message."""
        return bool(connection.execute(_RECORD_OWN, {**values, "claimed_by": "", "claimed_until": None,
                                                     "_id": message_id, "_by": self.by}).rowcount)

    def renew(self, connection) -> None:
        """Renew the lease on the rest of this sender's messages once a third of it has passed since the
        claim or the last renewal, so a live sender's messages always hold two thirds of a lease."""
        now = utcnow()
        if now - self.renewed < self.lease / 3:
            return
        connection.execute(_TABLE.update().where(_TABLE.c.claimed_by == self.by, _TABLE.c.status.in_(WAITING))
                           .values(claimed_until=now + self.lease))
        self.renewed = now

    def release(self) -> None:
        """Let go of what this sender still holds (the batch stopped, or it reached its limit)."""
        with self.writes, db.session_scope(self.settings) as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.claimed_by == self.by)
                            .values(claimed_by="", claimed_until=None,
                                    status=case((OutboxMessage.status == MessageStatus.sending, MessageStatus.pending),
                                                else_=OutboxMessage.status))
                            .execution_options(synchronize_session=False))


class _Batch:
    """What the connections of one sender share: the report, the budget, the stop. Each connection
    claims under a name of its own (two holders of one name would renew each other's rows)."""

    def __init__(self, settings: Settings, limit: int | None):
        self.settings = settings
        self.claims: list[Claim] = []
        self.writes = threading.Lock() if settings.effective_database_url.startswith("sqlite") else None
        self.report = SendReport()
        self.attachments = EncodedAttachments()
        self.stop = threading.Event()
        self.died = False
        self._budget = limit
        self._lock = threading.Lock()

    def allowance(self, n: int) -> int:
        with self._lock:
            if self._budget is None:
                return n
            n = min(n, self._budget)
            self._budget -= n
            return n


def send_pending(settings: Settings, *, limit: int | None = None, transport: SmtpTransport | None = None,
                 reuse_connection: bool = True, connections: int | None = None) -> SendReport:
    """Deliver what is waiting now (pending; ``sending`` whose sender's lease ran out; an ``uncertain``
    one once more), over up to ``connections`` connections (``KAOPING_SMTP_CONNECTIONS``) each kept
    for the batch (``reuse_connection=False`` opens one per message: only for comparison in the
    benchmark; a given ``transport`` is the one connection)."""
    if settings.development_secret_refused:
        raise Conflict(
            "不能发送邮件：当前使用的是内置开发密钥，任何人都能用它伪造表单和签名。请设置 KAOPING_SECRET_KEY；"
            "仅在本机试用时可设置 KAOPING_ENVIRONMENT=development。 / Refusing to send with the built-in development secret.")
    batch = _Batch(settings, limit)
    count = 1 if transport is not None else max(1, connections or settings.smtp_connections)
    transports = [transport] if transport is not None else [SmtpTransport(settings) for _ in range(count)]
    try:
        if count == 1:
            _connection_loop(batch, transports[0], reuse_connection)
        else:
            errors: list[BaseException] = []

            def run(t: SmtpTransport) -> None:
                try:
                    _connection_loop(batch, t, reuse_connection)
                except Exception as exc:  # noqa: BLE001 - handed to the caller below
                    errors.append(exc)
                    batch.stop.set()
                except BaseException as exc:  # the process is going down: the others stop, nothing is let go
                    errors.append(exc)
                    batch.died = True
                    batch.stop.set()

            threads = [threading.Thread(target=run, args=(t,), name=f"kaoping-smtp-{i}") for i, t in enumerate(transports)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if errors:
                raise errors[0]
    except Exception:
        batch.stop.set()  # an error, not a dead process: what this sender holds goes back at once
        raise
    except BaseException:
        batch.died = True  # as if the process died: its claims run out with their lease
        raise
    finally:
        batch.report.connections = sum(t.connects for t in transports)
        for t in transports:
            t.drop()
        if (batch.stop.is_set() or limit is not None) and not batch.died:
            for claim in batch.claims:
                claim.release()
    return batch.report


#: Messages built ahead of the one on the wire (the desk builds them while the server takes the current one).
BUILT_AHEAD = 2
#: Outcomes committed together, in one transaction (and what is left at the end of the batch, or before the
#: one retry of an uncertain message).
RECORD_GROUP = 4
#: Messages the server has taken whose outcome may not be committed yet, at most: the wire hands the desk a
#: group only once the one before it is committed. What a sender that dies can send twice (same Message-ID).
UNRECORDED = 2 * RECORD_GROUP


class _Desk:
    """A connection's clerk, one thread beside the wire: it builds the next messages while the server
    takes the current one, and records outcomes behind it, ``RECORD_GROUP`` at a time in one transaction.
    The wire never runs more than ``UNRECORDED`` outcomes ahead of what is committed."""

    def __init__(self, batch: _Batch, claim: Claim):
        self.batch, self.claim = batch, claim
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="kaoping-smtp-desk")
        self._outcomes: list[tuple[OutboxMessage, str, str]] = []
        self._lock = threading.Lock()
        self._flushes: deque[Future] = deque()
        self._dead = False

    def build(self, row: OutboxMessage) -> Future:
        return self.pool.submit(_prepare, self.batch, row)

    def record(self, row: OutboxMessage, outcome: str, words: str) -> None:
        with self._lock:
            self._outcomes.append((row, outcome, words))
            due = len(self._outcomes) >= RECORD_GROUP
        if due:
            self._wait()  # the group before is committed first (a failed record stops the wire here)
            self._flushes.append(self.pool.submit(self._flush))

    def sync(self) -> None:
        """Commit every outcome handed over, and wait until it is."""
        with self._lock:
            due = bool(self._outcomes)
        if due:
            self._flushes.append(self.pool.submit(self._flush))
        self._wait()

    def _wait(self) -> None:
        while self._flushes:
            self._flushes.popleft().result()

    def close(self, *, dying: bool) -> None:
        if dying:  # as if the process died: nothing more is written; the claims run out with their lease
            self.pool.shutdown(wait=True, cancel_futures=True)
            return
        try:
            self.sync()
        finally:
            self.pool.shutdown(wait=True)

    def _flush(self) -> None:
        if self._dead:
            return  # the process is going down: nothing more is written, as if it had died
        with self._lock:
            items, self._outcomes = self._outcomes, []
        if items:
            try:
                _record(self.batch, self.claim, items)
            except Exception:
                raise
            except BaseException:
                self._dead = True
                raise


def _connection_loop(batch: _Batch, transport: SmtpTransport, reuse_connection: bool) -> None:
    """One connection's share of the batch: claim a few messages, deliver them, record each. The desk
    builds ``BUILT_AHEAD`` messages ahead of the wire, the next claim's too: the claim is taken while
    the last messages of the one before are on the wire."""
    claim = Claim(batch.settings, batch.writes)
    batch.claims.append(claim)
    desk = _Desk(batch, claim)
    unbuilt: deque[OutboxMessage] = deque()
    ready: deque[tuple[OutboxMessage, Future]] = deque()
    last_claimed, exhausted, dying = 0, False, False

    def refill() -> None:
        nonlocal last_claimed, exhausted
        while len(ready) < BUILT_AHEAD and not exhausted:
            if not unbuilt:
                n = batch.allowance(CLAIM_CHUNK)
                # Ids above the last claimed: a message this sender gave back is left for the next run.
                rows = claim.take(last_claimed, n) if n else []
                if not rows:
                    exhausted = True
                    return
                last_claimed = rows[-1].id
                unbuilt.extend(rows)
            row = unbuilt.popleft()
            ready.append((row, desk.build(row)))

    try:
        refill()
        while ready and not batch.stop.is_set():  # stopped: what is left is let go (send_pending releases it)
            row, built = ready.popleft()
            refill()  # the next ones are built (and claimed) while this one is on the wire
            _send_one(batch, desk, transport, row, built.result())
            if not reuse_connection:
                transport.drop()
    except Exception:
        raise
    except BaseException:
        dying = True
        raise
    finally:
        desk.close(dying=dying or batch.died)


def _prepare(batch: _Batch, row: OutboxMessage) -> bytes | str:
    """The message's bytes as sent, or why it cannot be sent (a string: it fails)."""
    try:
        for address in row.to + row.cc:  # checked when stored, and again now
            normalize_email(address)
        return build_email(batch.settings, row, attachments=batch.attachments)
    except EmailNotValidError as exc:
        return f"地址无效：{exc}"
    except SealBroken:
        return "验证码无法解密，未发送（KAOPING_SECRET_KEY 在提请签字后被更换，或记录被改动）。"
    except AttachmentMissing as exc:
        log.error("邮件 #%s 附件缺失，标为发送失败：%s", row.id, exc)
        return f"附件缺失，未发送：{exc}。请重新生成该文件后用 kaoping outbox retry 重发。"


def _send_one(batch: _Batch, desk: _Desk, transport: SmtpTransport, row: OutboxMessage, email: bytes | str) -> None:
    settings, message_id = batch.settings, row.id
    if isinstance(email, str):
        desk.record(row, "failed", email)
        return
    second_chance = row.status == MessageStatus.uncertain
    recipients = row.to + row.cc
    outcome, words = _deliver(settings, transport, message_id, email, recipients)
    if outcome == "uncertain" and not second_chance:
        desk.sync()
        _record(batch, desk.claim, [(row, outcome, words)], keep_claim=True)  # committed before the one retry
        log.warning("邮件 #%s 送达情况不确定（%s），用同一 Message-ID 重发一次", message_id, words)
        transport.drop()
        outcome, words = _deliver(settings, transport, message_id, email, recipients)
        batch.report.uncertain.remove(message_id)
        if outcome == "sent":
            words = "第一次发送在数据结束后断开，已用同一 Message-ID 重发一次：收件人可能收到两封相同的邮件。"
        second_chance = True
    if outcome == "uncertain" and second_chance:
        outcome, words = "failed", f"可能已送达（两次在数据结束后断开，不再自动重发）：{words} 请向收件人核实，必要时用 kaoping outbox retry 重发。"
    if outcome == "stop":
        batch.stop.set()
    desk.record(row, outcome, words)


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


def _blanked(row: OutboxMessage) -> dict:
    """After an attempt that ends a message's life (sent, refused for good, the batch stopped on it): no
    copy of its one-time code is kept, sealed or not — a sign-off email that failed is asked for anew."""
    if row.kind not in SECRET_KINDS and not row.sealed_secret:
        return {}
    return {"sealed_secret": "", "text_body": _CODE.sub(r"\1" + SECRET_MASK, row.text_body),
            "html_body": _CODE.sub(r"\1" + SECRET_MASK, row.html_body)}


def _void_note(row: OutboxMessage) -> str:
    return (" 其中的验证码已作废，重发也无效：请重新提请签字（kaoping signoff request），新的验证码另发一封邮件。"
            if row.kind in SECRET_KINDS else "")


def _outcome_values(row: OutboxMessage, outcome: str, words: str) -> tuple[dict, str]:
    """The columns an outcome writes, and the words the report lists."""
    if outcome == "sent":
        return {"status": MessageStatus.sent, "sent_at": utcnow(), "last_error": words, **_blanked(row)}, words
    if outcome == "uncertain":
        return {"status": MessageStatus.uncertain, "last_error": words}, words
    if outcome == "partial":
        words = f"部分收件人被拒收（其余已送达）：{words}"
        return {"status": MessageStatus.failed, "sent_at": utcnow(), "last_error": words, **_blanked(row)}, words
    if outcome in ("failed", "stop"):
        return {"status": MessageStatus.failed, "last_error": words + _void_note(row), **_blanked(row)}, words
    return {"status": MessageStatus.pending, "last_error": f"暂时无法送达，下次再试：{words}"}, words


def _record(batch: _Batch, claim: Claim, items: list[tuple[OutboxMessage, str, str]], *, keep_claim: bool = False) -> None:
    """Record what became of these messages, in one transaction, and let them go (``keep_claim``: the
    one retry after an uncertain drop follows at once, so the claim stays)."""
    report = batch.report
    written = [(row, outcome, *_outcome_values(row, outcome, words)) for row, outcome, words in items]
    with claim.writes, db.get_engine(batch.settings).begin() as connection:  # one transaction
        held = []
        for row, _, values, _ in written:
            if keep_claim:
                connection.execute(_RECORD_KEPT, {**values, "_id": row.id})
                held.append(True)
            else:
                held.append(claim.record(connection, row.id, values))
        claim.renew(connection)
    for (row, outcome, values, words), kept in zip(written, held):
        if not kept:
            log.warning("邮件 #%s 的认领已过期，由另一发送进程接手；本次结果（%s）未记录", row.id, outcome)
            report.lost.append(row.id)
        elif outcome == "sent":
            report.sent.append(row.id)
        elif outcome == "uncertain":
            report.uncertain.append(row.id)
        elif outcome == "deferred":
            report.deferred.append((row.id, words))
        else:
            report.failed.append((row.id, values["last_error"]))
            if outcome == "stop":
                report.stopped = words


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
