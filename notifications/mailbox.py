"""The office mailbox as the front door (收件邮箱): every message is recorded first, then taken in.

For each message waiting in the intake folder (``fetch_mail``):

1. **Record** it by Message-ID (a message without one gets a digest of its bytes), with its raw
   bytes kept like every file anyone sends (``received_file``, purpose ``mail``), in one
   transaction. A Message-ID already handled is never handled again: the message is only moved
   (a crash between handling and moving) — or, if its bytes differ, kept as a duplicate.
2. **Take it in**: each form attached (a .zip's members unpacked, bounded) goes through the
   same intake as the inbox folder (``kaoping.services.returns.intake.receive``: sender rules,
   receipts, refusals, held files), with the message's sender and arrival time. Progress is
   saved after each file, so a crash mid-message resumes after the last file taken in. A
   message without a form goes first to ``route_text_reply`` (sign-off by reply, objections);
   if nobody takes it, the sender is told politely that no form was attached — never an
   automatic reply, a bounce, a mailer-daemon or our own address (no mail loops), and at most
   once a day per address.
3. **Move** it to the processed folder (everything recorded) or the refused one (anything
   refused or held — forms, objection forms and objections by reply alike —, no form, automatic
   mail, or a failure nobody foresaw), then note the move.

A crash before step 1 leaves the message unread in the folder (fetched with BODY.PEEK); after
step 1 the record says how far it got. The database or the disk going away mid-run (a restart, a
full disk) is no fault of the message: it is not refused, its sender is told nothing, it stays in
the folder, and the run stops there (``FetchReport.interrupted``) — the next run takes it and the
rest. The mailbox going away does the same. Nothing is lost and nothing is done twice — also when two
fetches start at once (the intake flow and an operator's `kaoping mail fetch`): one run at a time
holds the mailbox (``adapters.locks.exclusive``, released also when a process dies); the other
takes nothing and says so (``FetchReport.busy``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from imaplib import IMAP4

from email_validator import EmailNotValidError
from kaoping.models import MailboxMessage
from kaoping.models.types import utcnow
from kaoping.notifications.mail.imap import ImapMailbox
from kaoping.notifications.mail.parse import ParsedMessage, parse_message
from kaoping.notifications.outbox import replying_to
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from kaoping import db
from kaoping.adapters.archives import is_zip, unpack_zip
from kaoping.adapters.locks import exclusive
from kaoping.adapters.uploads import MAX_UPLOAD_BYTES, Upload
from kaoping.adapters.word.returned import ReturnedFile, recognise_attachments
from kaoping.domain.errors import InvalidInput
from kaoping.domain.incoming import IncomingMessage
from kaoping.domain.text import normalize_email
from kaoping.records.received import keep_received
from kaoping.services.returns.intake import receive, unavailable
from kaoping.settings import Settings

log = logging.getLogger("kaoping.mail")

#: Attachments the intake looks at: Word forms (and what people send instead of them, so that they
#: are told why it is refused), and .zip batches. Photos, PDFs and signatures are kept with the
#: message, not taken in.
FORM_SUFFIXES = (".docx", ".doc", ".docm", ".dotx", ".wps", ".zip")
FORM_TYPES = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/msword",
              "application/zip", "application/x-zip-compressed")
ACCEPTED, REFUSED = "processed", "refused"
#: Crash points (tests inject a crash here): after the fetch, after the record, after handling.
Checkpoint = Callable[[str], None]


@dataclass
class MessageOutcome:
    message_id: str
    sender: str
    subject: str
    outcome: str  # accepted | refused | held | reply | no_form | automatic | duplicate | already
    folder: str
    summary: str
    files: list[dict] = field(default_factory=list)
    moved: bool = False
    received_at: datetime | None = None
    release_run: str = ""  # a Prefect run that waited for this answer (a signature by reply): the caller releases it
    unproven: str = ""  # held: the office's mail server does not vouch for the sender (why)


@dataclass
class FetchReport:
    messages: list[MessageOutcome] = field(default_factory=list)
    waiting: int = 0  # still in the folder after this run (over the batch size)
    busy: bool = False  # another run was fetching from this mailbox: this one took nothing
    interrupted: str = ""  # why this run stopped early (the database, the disk or the mailbox went away): the rest waits

    @property
    def accepted_files(self) -> int:
        return sum(1 for m in self.messages for f in m.files if f.get("accepted"))


@dataclass(frozen=True)
class Routed:
    """A message that was an answer kaoping waited for: what was done, and the Prefect run that
    waited for it (released by the caller after the commit — services do not talk to Prefect)."""

    summary: str
    release_run: str = ""
    refused: bool = False  # held or refused (a stranger's, late, unreadable): filed with the refused mail


def route_text_reply(session: Session, settings: Settings, message: IncomingMessage,
                     files: tuple[ReturnedFile, ...] | None = None) -> Routed | None:
    """Is the message an answer kaoping waits for — a signature by reply (签字), an objection form
    (异议表) attached to any email, an objection to a provisional 反馈函 (异议) or a lead assessor's
    opinion on an objection routed to it (牵头考核单位意见)? Each handler answers ``None`` for a
    message that is not its own (the replies match ``message.replied_to`` against the Message-IDs of
    what kaoping sent; the form is recognised by its signed identity). Asked before the attachments
    are looked at: an objection may carry evidence files. ``files``: the attachments as the mailbox
    read them, once (``recognise_attachments``)."""
    from kaoping.services.objections import by_form as objection_intake
    from kaoping.services.objections import opinions as objection_opinions
    from kaoping.services.objections import record as objections
    from kaoping.services.signoff import reply as signoff_reply

    signed = signoff_reply.take_reply(session, settings, message, actor="mail:intake")
    if signed is not None:
        fate = {"accepted": "签字已生效", "refused": "签字未生效", "ignored": "签字回复，未处理"}.get(signed.fate, signed.fate)
        return Routed(f"签字回复（{signed.cycle_code}）：{fate}" + (f"：{signed.reason}" if signed.reason else ""),
                      signed.flow_run_id)
    files = files if files is not None else recognise_attachments(message)
    by_form = objection_intake.take_message(session, settings, message, files)
    if by_form is not None:
        return Routed(f"{by_form.unit or '（未能识别的单位）'}{by_form.cycle_code}异议表：{_objected(by_form)}",
                      refused=by_form.held or by_form.refused)
    objected = objections.take_reply(session, settings, message, files)
    if objected is not None:
        return Routed(f"{objected.unit}对{objected.cycle_code}征求意见稿的回复：{_objected(objected)}",
                      refused=objected.held or objected.refused)
    opinion = objection_opinions.take_reply(session, settings, message)
    if opinion is not None:
        return Routed(f"{opinion.lead}对第 {opinion.objection_id} 号异议的意见：{opinion.summary}")
    return None


def _objected(outcome) -> str:
    what = ("已暂存待核实（发件人不是该单位登记的邮箱）" if outcome.held and not outcome.accepted else
            f"已登记异议 {len(outcome.objection_ids)} 条" if outcome.accepted and outcome.objection_ids else
            "此前已登记，未重复登记" if outcome.accepted else "未登记")
    return what + (f"：{outcome.reason}" if outcome.reason else "")


def message_key(message_id: str) -> str:
    return hashlib.sha256(message_id.strip().encode("utf-8", "surrogateescape")).hexdigest()


def _is_form(attachment) -> bool:
    name = attachment.filename.lower()
    return name.endswith(FORM_SUFFIXES) or attachment.content_type in FORM_TYPES


def _raw_name(parsed: ParsedMessage) -> str:
    subject = "".join(c for c in parsed.message.subject if c not in '\\/:*?"<>|\r\n\t')[:60].strip()
    return f"{subject or '邮件'}.eml"


def _record(settings: Settings, parsed: ParsedMessage, raw: bytes) -> tuple[int, str, bool]:
    """Record the message and keep its bytes (one transaction): (id, status, created). A message
    already recorded is returned as it is; different bytes under its Message-ID are kept too."""
    message = parsed.message
    key = message_key(message.message_id)
    try:
        with db.session_scope(settings) as session:
            found = session.exec(select(MailboxMessage).where(MailboxMessage.message_key == key)).first()
            if found is not None:
                if found.raw_sha256 != parsed.raw_sha256 and not _kept_already(session, parsed.raw_sha256):
                    keep_received(session, settings, Upload(_raw_name(parsed), raw), purpose="mail", status="duplicate",
                                  sender=message.sender, reason=f"与第 {found.id} 封邮件的 Message-ID 相同，内容不同：未处理。",
                                  details={"message_id": message.message_id[:500], "same_id_as": found.id})
                return found.id, found.status, False
            kept = keep_received(session, settings, Upload(_raw_name(parsed), raw), purpose="mail", status="recorded",
                                 sender=message.sender, details={"message_id": message.message_id[:500]})
            row = MailboxMessage(message_key=key, message_id=message.message_id, sender=message.sender,
                                 subject=message.subject, received_at=message.received_at, raw_file_id=kept.id,
                                 raw_sha256=parsed.raw_sha256)
            session.add(row)
            session.flush()
            return row.id, row.status, True
    except IntegrityError:  # another run recorded it a moment ago
        with db.session_scope(settings) as session:
            found = session.exec(select(MailboxMessage).where(MailboxMessage.message_key == key)).one()
            return found.id, found.status, False


def _kept_already(session: Session, sha256: str) -> bool:
    from kaoping.models import ReceivedFile

    return session.exec(select(ReceivedFile.id).where(ReceivedFile.sha256 == sha256, ReceivedFile.purpose == "mail")).first() is not None


def _uploads(message: IncomingMessage, files: tuple[ReturnedFile, ...]) -> list[tuple[str, Upload | ReturnedFile, str]]:
    """(position, file, refusal) for every form attached — as recognised already (``files``, one per
    attachment): a .zip gives its members (positions ``i.j``); an attachment that cannot be read
    gives its refusal."""
    found = []
    forms = [(a, f) for a, f in zip(message.attachments, files, strict=True) if _is_form(a)]
    for i, (attachment, returned) in enumerate(forms):
        upload = Upload(attachment.filename, attachment.content)
        if len(upload.data) > MAX_UPLOAD_BYTES:
            found.append((str(i), upload, f"附件 {upload.name} 太大（{len(upload.data) / 1048576:.1f} MB，上限 "
                                          f"{MAX_UPLOAD_BYTES / 1048576:.0f} MB）：请压缩图片或删去不必要的内容后重新发送。"))
            continue
        if not is_zip(upload):
            found.append((str(i), replace(returned, upload=upload), ""))
            continue
        try:
            members = unpack_zip(upload)
        except InvalidInput as exc:
            found.append((str(i), upload, str(exc)))
            continue
        found += [(f"{i}.{j}", member, "") for j, member in enumerate(members)]
    return found


def _refuse_unreadable(settings: Settings, upload: Upload, sender: str, reason: str, received_at: datetime) -> dict:
    """An attachment refused before the intake could look at it (a broken or oversized .zip): kept, reason to the sender."""
    from kaoping.services.returns.receipts import queue_intake_reply

    with db.session_scope(settings) as session:
        kept = keep_received(session, settings, upload, purpose="intake", status="refused", reason=reason, sender=sender)
        if sender:
            queue_intake_reply(session, settings, upload, sender=sender, accepted=False, reason=reason, received_at=received_at)
    return {"file": upload.name, "accepted": False, "held": False, "reason": reason, "received_file_id": kept.id}


def _save_progress(settings: Settings, record_id: int, position: str, outcome: dict) -> None:
    with db.session_scope(settings) as session:
        row = session.get(MailboxMessage, record_id)
        files = dict((row.details or {}).get("files", {}))
        files[position] = outcome
        row.details = {**(row.details or {}), "files": files}
        session.add(row)


def _take_forms(settings: Settings, message: IncomingMessage, record_id: int, done: dict,
                files: tuple[ReturnedFile, ...]) -> list[dict]:
    outcomes = []
    for position, file, refusal in _uploads(message, files):
        if position in done:  # taken in before a crash
            outcomes.append(done[position])
            continue
        if refusal:
            outcome = _refuse_unreadable(settings, file, message.sender, refusal, message.received_at)
        else:
            result = receive(settings, file, sender=message.sender, received_at=message.received_at,
                             actor="mail:intake", channel="mail")
            outcome = {"file": file.name, "accepted": result.accepted, "held": result.held, "reason": result.reason}
            if result.accepted:
                outcome.update(form_no=result.result.form_no, summary=result.result.summary, late=result.result.late)
        _save_progress(settings, record_id, position, outcome)
        outcomes.append(outcome)
    return outcomes


def queue_no_form_reply(session: Session, settings: Settings, message: IncomingMessage, others: list[str]) -> bool:
    """The polite answer to a message that carried no form: at most one a day per address."""
    from kaoping.notifications.outbox import queue
    from kaoping.notifications.render import render, when

    received = when(message.received_at, settings)
    subject = (message.subject or "（无主题）")[:80]
    rendered = render("mail_no_form", settings, greeting="您好", their_subject=subject, received=received,
                      others="、".join(others[:5]))
    day = message.received_at.astimezone(settings.tz).date().isoformat()
    _, created = queue(session, settings, key=f"mail:no_form:{message.sender}:{day}", kind="mail_no_form",
                       to=[message.sender], subject=rendered.subject, text=rendered.text, html=rendered.html)
    return created


def _hold_unproven(settings: Settings, parsed: ParsedMessage) -> MessageOutcome:
    """A message whose sender the office's mail server does not vouch for: nothing in it is taken in
    anyone's name, nobody is answered (the From may be forged); a sign-off code it shows is spent. The
    team looks at it (`kaoping mail list`) and releases it (`kaoping mail release ID`) if it is genuine."""
    from kaoping.services.signoff.signatures import spend_exposed

    message = parsed.message
    with db.session_scope(settings) as session:
        spend_exposed(session, settings, f"{message.subject}\n{message.text}", actor="mail:intake",
                      reason=f"验证码出现在一封发件人未通过认证的邮件中：已作废（{parsed.unproven}）",
                      evidence={"message_id": message.message_id[:300], "from": message.sender[:254]})
    return MessageOutcome(message.message_id, message.sender, message.subject, outcome="held",
                          folder=settings.imap_refused_folder, unproven=parsed.unproven,
                          summary=f"已暂存待专班核实：{parsed.unproven}。未录入、未回复（核实后 kaoping mail release 放行）")


def _handle(settings: Settings, parsed: ParsedMessage, record_id: int, *, trusted: bool = False) -> MessageOutcome:
    message = parsed.message
    with db.session_scope(settings) as session:
        done = dict(((session.get(MailboxMessage, record_id).details or {}).get("files") or {}))
    automatic = parsed.automatic and "auto-forwarded" not in parsed.automatic
    base = dict(message_id=message.message_id, sender=message.sender, subject=message.subject)
    if automatic:
        return MessageOutcome(**base, outcome="automatic", folder=settings.imap_refused_folder,
                              summary=f"{parsed.automatic}：未处理，未回复")
    if parsed.unproven and not trusted:  # the office's mail server does not vouch for the sender
        return _hold_unproven(settings, parsed)
    try:
        normalize_email(message.sender)
    except EmailNotValidError as exc:  # nobody to answer: the team looks at it in the refused folder
        return MessageOutcome(**base, outcome="automatic", folder=settings.imap_refused_folder,
                              summary=f"发件人地址无效（{message.sender}：{exc}）：未处理，未回复")
    files = recognise_attachments(message)  # each attachment read once, for every handler below
    with replying_to(message.message_id, message.sender, message.references):  # receipts answer in its thread
        return _answer(settings, parsed, record_id, files, done, base)


def _answer(settings: Settings, parsed: ParsedMessage, record_id: int, files: tuple[ReturnedFile, ...], done: dict,
            base: dict) -> MessageOutcome:
    """A message from a valid, vouched-for sender: a reply (sign-off, objection, opinion), forms, or neither."""
    message = parsed.message
    forms = [a for a in message.attachments if _is_form(a)]
    try:
        with db.session_scope(settings) as session:
            routed = route_text_reply(session, settings, message, files)
    except Exception as exc:  # noqa: BLE001 - one message must not stop the mailbox: kept (step 1), filed for the team
        outage = unavailable(exc)
        if outage is not None:  # the database or the disk went away: the message stays in the folder, taken again next run
            raise outage from exc
        if isinstance(exc, OSError):
            raise  # a kept file could not be read: not the message's fault, it stays in the folder
        log.exception("处理邮件 %s 的回复或异议表时出错：已存档，移入未录入文件夹待专班核查", message.message_id)
        return MessageOutcome(**base, outcome="refused", folder=settings.imap_refused_folder,
                              summary=f"系统处理这封邮件时出错（{exc.__class__.__name__}），未录入任何内容：邮件已存档，待专班核查")
    if routed is not None:
        return MessageOutcome(**base, outcome="reply", summary=routed.summary, release_run=routed.release_run,
                              folder=settings.imap_refused_folder if routed.refused else settings.imap_processed_folder)
    if not forms:
        with db.session_scope(settings) as session:
            others = [a.filename for a in message.attachments]
            replied = False if parsed.automatic else queue_no_form_reply(session, settings, message, others)
        note = "已回复发件人" if replied else "今天已提醒过该发件人，未再回复" if not parsed.automatic else "自动转发的邮件，未回复"
        return MessageOutcome(**base, outcome="no_form", folder=settings.imap_refused_folder,
                              summary=f"邮件中没有考评表格（{note}）" + (f"；附件：{'、'.join(others)}" if others else ""))
    files = _take_forms(settings, message, record_id, done, files)
    accepted = sum(1 for f in files if f["accepted"])
    held = sum(1 for f in files if f.get("held"))
    refused = len(files) - accepted - held
    outcome = "accepted" if accepted == len(files) else "held" if held and not refused else "refused"
    parts = [f"接收 {accepted} 份"] + ([f"暂存待核实 {held} 份"] if held else []) + ([f"退回 {refused} 份"] if refused else [])
    return MessageOutcome(**base, outcome=outcome, files=files, summary="、".join(parts),
                          folder=settings.imap_processed_folder if outcome == "accepted" else settings.imap_refused_folder)


def _mark(settings: Settings, record_id: int, outcome: MessageOutcome) -> None:
    with db.session_scope(settings) as session:
        row = session.get(MailboxMessage, record_id)
        row.status, row.outcome, row.folder, row.summary = "handled", outcome.outcome, outcome.folder, outcome.summary
        row.details = {**(row.details or {}), "unproven": outcome.unproven}
        row.handled_at = utcnow()
        session.add(row)


def _mark_moved(settings: Settings, record_id: int) -> None:
    with db.session_scope(settings) as session:
        row = session.get(MailboxMessage, record_id)
        row.status, row.moved_at = "moved", utcnow()
        session.add(row)


def _stored_outcome(settings: Settings, record_id: int) -> MessageOutcome:
    with db.session_scope(settings) as session:
        row = session.get(MailboxMessage, record_id)
        return MessageOutcome(row.message_id, row.sender, row.subject, "already", row.folder or settings.imap_refused_folder,
                              f"此前已处理（{row.summary or row.outcome}），本次只移动邮件")


def take_message(settings: Settings, box: ImapMailbox, uid: int, *, checkpoint: Checkpoint | None = None) -> MessageOutcome | None:
    """Record, take in and move one message (see the module's docstring)."""
    fetched = box.fetch(uid)
    if fetched is None:
        return None
    if checkpoint:
        checkpoint("fetched")
    parsed = parse_message(fetched.raw, internal_date=fetched.internal_date,
                           own_addresses={settings.mail_from, settings.imap_user}, authserv_id=settings.mail_authserv_id)
    record_id, status, created = _record(settings, parsed, fetched.raw)
    if checkpoint:
        checkpoint("recorded")
    if status in ("handled", "moved"):
        outcome = _stored_outcome(settings, record_id)
        with db.session_scope(settings) as session:
            row = session.get(MailboxMessage, record_id)
            if row.raw_sha256 != parsed.raw_sha256:
                outcome.outcome, outcome.folder = "duplicate", settings.imap_refused_folder
                outcome.summary = f"与第 {row.id} 封邮件的 Message-ID 相同而内容不同：已存档，未处理"
    else:
        outcome = _handle(settings, parsed, record_id)
        _mark(settings, record_id, outcome)
    if checkpoint:
        checkpoint("handled")
    box.move(uid, outcome.folder)
    outcome.moved = True
    outcome.received_at = parsed.message.received_at
    if outcome.outcome not in ("duplicate",):
        _mark_moved(settings, record_id)
    return outcome


def fetch_mail(settings: Settings, *, mailbox: Callable[[Settings], AbstractContextManager[ImapMailbox]] = ImapMailbox,
               limit: int | None = None, checkpoint: Checkpoint | None = None) -> FetchReport:
    """Take in what waits in the office mailbox (at most ``limit`` or ``KAOPING_IMAP_BATCH`` messages)."""
    report = FetchReport()
    name = f"mailbox:{settings.imap_host}:{settings.imap_port}:{settings.imap_user}:{settings.imap_folder}"
    with exclusive(settings, name) as mine:
        if not mine:
            log.info("另一次收取正在处理专用邮箱：本次不收取")
            report.busy = True
            return report
        return _fetch(settings, report, mailbox, limit or settings.imap_batch, checkpoint)


def _fetch(settings: Settings, report: FetchReport, mailbox, batch: int, checkpoint: Checkpoint | None) -> FetchReport:
    with mailbox(settings) as box:
        uids = box.waiting()
        report.waiting = max(0, len(uids) - batch)
        for uid in uids[:batch]:
            try:
                outcome = take_message(settings, box, uid, checkpoint=checkpoint)
            except Exception as exc:  # noqa: BLE001 - one message must never stop the others; it stays in the folder
                outage = unavailable(exc)
                if outage is not None:  # the database or the disk: nothing more this run, nobody told anything
                    log.warning("%s 本封及其余邮件留在邮箱中，下次运行再收取", outage.message)
                    report.interrupted = outage.message
                    break
                if isinstance(exc, OSError | EOFError | IMAP4.abort):  # the connection broke: the rest waits
                    log.warning("收取邮件时连接中断（%s），其余邮件下次运行再收取", exc.__class__.__name__)
                    report.interrupted = (f"与邮箱服务器的连接中断（{exc.__class__.__name__}）：未处理完的邮件留在邮箱中，"
                                          "下次运行再收取。 / The IMAP connection broke; the rest waits for the next run.")
                    break
                log.exception("处理邮件（UID %s）时出错：邮件留在邮箱中，下次运行再试", uid)
                continue
            if outcome is not None:
                report.messages.append(outcome)
    return report


def release_unproven(settings: Settings, record_id: int, *, actor: str) -> MessageOutcome:
    """A message held because the office's mail server did not vouch for its sender, taken in as if it
    had (the team checked with the sender, e.g. by phone), audited. It stays in the folder it was moved to."""
    from kaoping.domain.errors import NotFound
    from kaoping.models import ReceivedFile
    from kaoping.records import audit

    with db.session_scope(settings) as session:
        row = session.get(MailboxMessage, record_id)
        unproven = (row.details or {}).get("unproven", "") if row is not None else ""
        if row is None or row.outcome != "held" or not unproven:
            raise NotFound(f"没有编号为 {record_id} 的、因发件人未通过认证而暂存的邮件：请用 kaoping mail list 查看编号。")
        raw_file = session.get(ReceivedFile, row.raw_file_id)
        raw = (settings.received_dir / raw_file.sha256[:2] / raw_file.sha256).read_bytes()
        audit.append(session, actor=actor, action="mail.release", entity=f"mail:{record_id}",
                     before={"outcome": "held", "unproven": unproven}, after={"sender": row.sender},
                     reason="专班核实发件人后放行")
    parsed = parse_message(raw, internal_date=row.received_at, own_addresses={settings.mail_from, settings.imap_user})
    outcome = _handle(settings, parsed, record_id, trusted=True)
    outcome.folder = row.folder
    _mark(settings, record_id, outcome)
    with db.session_scope(settings) as session:
        session.get(MailboxMessage, record_id).status = "moved"
    return outcome


def recorded_messages(session: Session, *, limit: int = 50) -> list[MailboxMessage]:
    """The newest messages taken from the mailbox, newest first."""
    return list(session.exec(select(MailboxMessage).order_by(MailboxMessage.id.desc()).limit(limit)))

