"""The intake (回收): a returned Word file, recognised once by its signed identity
(``adapters.word.returned.recognise``) and handed to what takes its kind — a form kaoping issued
(checked against what was issued, then ``KINDS[kind].record_return``: self-assessments as
submissions, sheets as scores and point allocations) or the objection form 异议表
(``services.objections.by_form``).

Every refusal is an ``InvalidInput`` whose message is what the sender gets back: it says
what is wrong, where (row and column), and what to do. The caller keeps the file either
way (``kaoping.records.received.keep_received``) and records nothing else when it is refused.

Each file stands on its own (``receive``): a structural defect (a short row, merged cells, a
missing table) is a refusal, and anything unforeseen while handling one file is a refusal of
that file, kept with the reason — never an exception that stops the files after it. The one
exception is a condition of the moment — the database restarting or unreachable, the disk full:
that is no fault of the file and says nothing true to its sender, so nothing is recorded or sent
and ``Unavailable`` is raised: the message stays in the mailbox (the file in the inbox) and the
next run takes it again.

Who may send a form: an address registered for the unit the form is about, or one the form was
issued to (``recipients`` of its kind: lead assessor, visiting team, evaluator), or the
specialist team. A file from any other address — or from the inbox folder with no sender at
all — is **held** for the team (kept, status ``held``, no reply to the stranger) until
``release_held`` records it as if from the right sender or ``reject_held`` refuses it. The
operator's CLI without ``--sender`` is trusted. A re-send of the form last accepted — the same
bytes, or the same table content saved anew (Word writes new bytes on every save) — changes
nothing: an on-time return stays on time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import false, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from kaoping import db
from kaoping.adapters.fanout import Fanout, serial
from kaoping.adapters.files import disk_problem, is_disk_problem
from kaoping.adapters.uploads import Upload, read_upload
from kaoping.adapters.word.identity import FormIdentity, verify
from kaoping.adapters.word.returned import FileRead, ReturnedFile, read_returned, recognise, with_read
from kaoping.domain.clock import chinese_time
from kaoping.domain.errors import Conflict, InvalidInput, KaopingError, NotFound, Unavailable
from kaoping.models import (
    Contact,
    Cycle,
    CycleStatus,
    FormKind,
    IssuedForm,
    ReceivedFile,
    Unit,
)
from kaoping.models.types import utcnow
from kaoping.records.received import keep_received, keep_unreadable
from kaoping.services.forms import FormKindSpec, ReturnedForm, kind_spec
from kaoping.services.returns.tables import content_digest, read_form_tables
from kaoping.settings import Settings

log = logging.getLogger(__name__)

#: how a file reached the intake: the operator's CLI (trusted without a sender), the inbox folder,
#: the office mailbox (IMAP), or the team releasing a held file (trusted: the team decided)
CHANNELS = ("cli", "inbox", "mail", "release")
#: how many times a file is tried when the database reports a collision or a moment's outage
ATTEMPTS = 3
#: the kind the objection form (异议表) claims: the objections' to take (``services.objections.by_form``)
OBJECTION_KIND = "objection"


class Held(KaopingError):
    """Not refused, not recorded: kept for the team to release or reject (no reply to the sender)."""

    def __init__(self, message: str, form_no: str):
        super().__init__(message)
        self.form_no = form_no


@dataclass
class IntakeResult:
    form_no: str
    kind: FormKind
    cycle_code: str
    subject_label: str
    late: bool
    summary: str
    details: dict = field(default_factory=dict)


def unavailable(exc: BaseException) -> Unavailable | None:
    """The database or the disk could not be used (see ``db.unavailable``; a full disk, a read-only
    one): an ``Unavailable`` saying so, or None when ``exc`` is anything else."""
    if is_disk_problem(exc):
        return Unavailable(disk_problem(exc))
    return db.unavailable(exc)


def _sender_unit(session: Session, sender: str) -> Unit | None:
    if not sender:
        return None
    contact = session.exec(select(Contact).where(Contact.email == sender.strip().lower())).first()
    return session.get(Unit, contact.unit_id) if contact else None


def allowed_senders(session: Session, settings: Settings, cycle: Cycle, form: IssuedForm) -> set[str]:
    """Who may return ``form``: the registered contacts of the unit it is about, whoever it was
    issued to (its kind's ``recipients``), and the specialist team."""
    addresses = set(kind_spec(form.kind).recipients(session, settings, cycle, form))
    if form.subject_unit_id is not None:
        addresses |= set(session.exec(select(Contact.email).where(Contact.unit_id == form.subject_unit_id)))
    addresses.add(settings.office_email)
    return {a.strip().lower() for a in addresses if a}


def _last_accepted(session: Session, form: IssuedForm) -> ReceivedFile | None:
    """The file last accepted for this form (its number, any version)."""
    # The form's number is picked out of the JSON by the database (SQLite's json_extract, PostgreSQL's ->>):
    # decoding every accepted file's details in Python made each intake slower than the one before.
    return session.exec(select(ReceivedFile).where(ReceivedFile.purpose == f"intake.{form.kind}",
                                                   ReceivedFile.status == "accepted",
                                                   ReceivedFile.details["form_no"].as_string() == form.form_no)
                        .order_by(ReceivedFile.id.desc())).first()


# --------------------------------------------------------------------------- one returned form


@dataclass
class _Taking:
    """One returned form while it is checked: the file, its issued form and cycle, its kind, who sent it."""

    returned: ReturnedFile
    form: IssuedForm
    cycle: Cycle
    spec: FormKindSpec
    subject_label: str
    sender: str

    @property
    def upload(self) -> Upload:
        return self.returned.upload

    def result(self, summary: str, late: bool, details: dict) -> IntakeResult:
        return IntakeResult(self.form.form_no, self.spec.kind, self.cycle.code, self.subject_label, late, summary, details)


def _verified_identity(session: Session, settings: Settings, returned: ReturnedFile) -> FormIdentity:
    """The identity the file carries, its signature checked against every key kaoping knows."""
    upload, identity = returned.upload, returned.identity
    if returned.unreadable:
        raise InvalidInput(returned.unreadable)
    if identity is None:
        raise InvalidInput(
            f"文件 {upload.name} 没有考评系统的表单标识，不是系统发出的表格（或内容被复制到了新文件中）："
            "请在收到的原表格上填写后发送。 / No kaoping form identity."
        )
    if any(verify(identity, returned.signature, key) for key in settings.form_keys):
        return identity
    issued = session.exec(select(IssuedForm).where(IssuedForm.form_no == identity.form_no,
                                                   IssuedForm.version == identity.version,
                                                   IssuedForm.rows_digest == identity.rows_digest,
                                                   IssuedForm.subject == identity.subject,
                                                   IssuedForm.kind == identity.kind)).first()
    issued_cycle = session.get(Cycle, issued.cycle_id) if issued is not None else None
    if issued_cycle is not None and issued_cycle.code == identity.cycle:
        # Exactly a form kaoping issued, but no key it knows signed it: most likely the secret was
        # changed without listing the old one — a matter for the team, not the sender.
        raise Held(
            f"{upload.name}（{identity.form_no}）是本系统发出的表格，但其签名与当前密钥不符：系统可能更换过"
            " KAOPING_SECRET_KEY 而未把旧密钥列入 KAOPING_PREVIOUS_SECRET_KEYS（也可能表单标识被改动）。"
            "请运维人员核对密钥设置后放行或退回。 / Signature does not match the current key (key rotated?).",
            identity.form_no,
        )
    raise InvalidInput(
        f"文件 {upload.name} 的表单标识签名无效（标识被改动或伪造，表单编号 {identity.form_no}）："
        "请使用收到的原表格填写，不要修改文件属性。 / Invalid form signature."
    )


def _issued(session: Session, returned: ReturnedFile, identity: FormIdentity, sender: str) -> _Taking:
    """The issued form the file is a copy of, its row locked for the rest of the transaction
    (PostgreSQL; on SQLite the write lock is taken before the first read): intakes of one form run
    one after the other, so parallel re-sends see each other instead of colliding."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(IssuedForm).where(false()).values(current=IssuedForm.current))
    form = session.exec(select(IssuedForm).where(IssuedForm.form_no == identity.form_no,
                                                 IssuedForm.version == identity.version).with_for_update()).first()
    cycle = session.get(Cycle, form.cycle_id) if form else None
    if form is None or cycle is None or cycle.code != identity.cycle or form.kind != identity.kind:
        raise InvalidInput(f"表单编号 {identity.form_no} 不在本系统的发出记录中：请使用收到的原表格填写。")
    subject_label = session.get(Unit, form.subject_unit_id).short_name if form.subject_unit_id else "全部考评对象"
    return _Taking(returned, form, cycle, kind_spec(form.kind), subject_label, sender.strip().lower())


def _check_sender(session: Session, settings: Settings, taking: _Taking, channel: str) -> None:
    """Held: no sender where one is needed, or an address that may not return this form; refused:
    another registered unit's address returning a unit's form."""
    form, spec, sender, label = taking.form, taking.spec, taking.sender, taking.subject_label
    if channel in ("inbox", "mail") and not sender:
        raise Held(f"{taking.upload.name}（{form.form_no}，{label}的{spec.label}）没有发件人信息，无法核对是否由该单位报送："
                   "已暂存，待专班核实后放行或退回。", form.form_no)
    if not sender or channel == "release" or sender in allowed_senders(session, settings, taking.cycle, form):
        return
    sender_unit = _sender_unit(session, sender)
    if sender_unit is not None and form.subject_unit_id is not None and sender_unit.id != form.subject_unit_id:
        raise InvalidInput(f"{form.form_no} 是{label}的{spec.label}，不能由{sender_unit.short_name}（{sender}）报送："
                           f"请报送本单位的表格，或由{label}报送。")
    raise Held(f"{taking.upload.name}（{form.form_no}，{label}的{spec.label}）的发件人 {sender} 不是该表格的登记联系人："
               "已暂存，待专班核实后放行或退回，未回复发件人。", form.form_no)


def _check_current(session: Session, settings: Settings, taking: _Taking, identity: FormIdentity,
                   expected_cycle: str | None) -> None:
    """The form is of the cycle being collected, its newest version, its cycle still open, its
    identity cells as issued."""
    form, cycle, label = taking.form, taking.cycle, taking.spec.label
    if expected_cycle and cycle.code != expected_cycle:
        raise InvalidInput(f"这是 {cycle.code} 考评周期的{label}（{form.form_no}），当前收集的是 {expected_cycle}：请使用本期下发的表格。")
    if not form.current:
        newer = session.exec(select(IssuedForm).where(IssuedForm.cycle_id == form.cycle_id, IssuedForm.kind == form.kind,
                                                      IssuedForm.subject == form.subject, IssuedForm.current)).first()
        hint = f"（最新为第 {newer.version} 版）" if newer else ""
        raise InvalidInput(f"{label} {form.form_no} 第 {identity.version} 版已被新版本取代{hint}：请使用最新下发的表格填写。")
    if cycle.status != CycleStatus.open:
        raise InvalidInput(f"{cycle.code} 考评的数据收集已经结束（{CycleStatus(cycle.status).label}），{form.form_no} 不再接收："
                           f"如需更正，请与{settings.office_name}联系。")
    if form.rows_digest != identity.rows_digest:
        raise InvalidInput(f"{form.form_no} 的标识与发出记录不一致：请使用收到的原表格填写。")


def _content_of(settings: Settings, record: ReceivedFile, taking: _Taking) -> str | None:
    """The content digest of a file accepted earlier (kept with it; a file accepted before digests
    were kept is read again from the store)."""
    stored = (record.details or {}).get("content")
    if stored:
        return stored
    try:
        data = (settings.received_dir / record.sha256[:2] / record.sha256).read_bytes()
        return content_digest(taking.form, read_form_tables(Upload(record.filename, data), taking.form, taking.spec))
    except (OSError, KaopingError):
        return None


def _resent(session: Session, settings: Settings, taking: _Taking, *, content: str | None) -> IntakeResult | None:
    """The file last accepted for this form again — byte for byte, or (``content``) the same table
    content saved anew: nothing changes, kept as ``unchanged``; the receipt says so."""
    last = _last_accepted(session, taking.form)
    if last is None:
        return None
    if content is None and last.sha256 != taking.upload.sha256:
        return None
    if content is not None and _content_of(settings, last, taking) != content:
        return None
    same = "完全相同" if last.sha256 == taking.upload.sha256 else "内容相同（表格各栏与之一致）"
    keep_received(session, settings, taking.upload, purpose=f"intake.{taking.spec.kind}", status="unchanged",
                  sender=taking.sender, details={"form_no": taking.form.form_no, "same_as": last.id,
                                                 **({"content": content} if content else {})})
    when = chinese_time(last.received_at, settings.tz)
    late = bool((last.details or {}).get("late"))
    return taking.result(f"与{when}收到的文件{same}，按重复报送处理，未作任何改动（报送状态不变：{'逾期' if late else '按时'}）",
                         late, {"unchanged": True, "same_as": last.id})


def intake(
    session: Session, settings: Settings, file: Upload | ReturnedFile, *, sender: str = "",
    received_at: datetime | None = None, expected_cycle: str | None = None, actor: str = "intake", channel: str = "cli",
) -> IntakeResult:
    """Check and record one returned form (all or nothing). Raises ``Held`` when the sender may not
    return this form (see the module's docstring), ``InvalidInput`` to refuse."""
    returned = file if isinstance(file, ReturnedFile) else recognise(file)
    identity = _verified_identity(session, settings, returned)
    taking = _issued(session, returned, identity, sender)
    _check_sender(session, settings, taking, channel)
    same_bytes = _resent(session, settings, taking, content=None)
    if same_bytes is not None:
        return same_bytes
    _check_current(session, settings, taking, identity, expected_cycle)
    tables = read_form_tables(taking.upload, taking.form, taking.spec, returned.tables)
    content = content_digest(taking.form, tables)
    same_content = _resent(session, settings, taking, content=content)
    if same_content is not None:
        return same_content
    received_at = received_at or utcnow()
    form = taking.form
    late = bool(form.deadline and received_at.astimezone(settings.tz).date() > form.deadline)
    received = keep_received(session, settings, taking.upload, purpose=f"intake.{taking.spec.kind}", status="accepted",
                             sender=taking.sender, details={"form_no": form.form_no, "late": late, "content": content})
    summary, details = taking.spec.record_return(session, ReturnedForm(taking.cycle, form, tables, taking.upload, actor,
                                                                       received_at, late, received.id))
    received.details = {**received.details, **details, "summary": summary}
    session.add(received)
    return taking.result(summary, late, details)


# --------------------------------------------------------------------------- every channel


@dataclass
class Received:
    accepted: bool
    result: IntakeResult | None = None
    reason: str = ""
    held: bool = False
    received_file_id: int | None = None
    #: where a held file is released: ``intake`` (kaoping intake release) or ``objections`` (an objection form)
    held_in: str = "intake"


def _receive_objection_form(settings: Settings, returned: ReturnedFile, *, sender: str, received_at: datetime | None,
                            actor: str, channel: str) -> Received:
    """An objection form (异议表) is the objections' to take (recorded as objections, never as a
    self-assessment), with their rules, receipt and refusals."""
    from kaoping.services.objections import by_form as objection_intake

    with db.session_scope(settings) as session:
        got = objection_intake.take_form(session, settings, returned, sender=sender, received_at=received_at,
                                         channel=channel, actor=actor if channel == "cli" else objection_intake.ACTOR)
    result = IntakeResult(got.form_no, objection_intake.objection_form.KIND, got.cycle_code, got.unit, False,
                          got.summary, {"objections": got.objection_ids}) if got.accepted else None
    return Received(got.accepted, result=result, reason=got.reason, held=got.held, received_file_id=got.received_file_id,
                    held_in="objections")


@contextmanager
def _unavailable_as_such() -> Iterator[None]:
    """An error of the database or the disk inside the block becomes ``Unavailable`` (nothing
    recorded, nobody told); anything else passes as it is."""
    try:
        yield
    except Unavailable:
        raise
    except Exception as exc:
        outage = unavailable(exc)
        if outage is None:
            raise
        raise outage from exc


def _unforeseen(upload: Upload, exc: BaseException) -> str:
    return (f"系统处理文件 {upload.name} 时出错（{exc.__class__.__name__}），未录入任何内容：文件已保存，"
            "数字政府专班将核查处理；如急需，请与专班联系或稍后重新发送。")


def _refuse(settings: Settings, upload: Upload, *, sender: str, reason: str, received_at: datetime | None,
            reply: bool = True) -> Received:
    """Keep the file as refused, and queue the reason for its sender (one transaction)."""
    from kaoping.services.returns.receipts import queue_intake_reply

    with _unavailable_as_such(), db.session_scope(settings) as session:
        kept = keep_received(session, settings, upload, purpose="intake", status="refused", reason=reason, sender=sender)
        if sender and reply:
            queue_intake_reply(session, settings, upload, sender=sender, accepted=False, reason=reason, received_at=received_at)
    return Received(False, reason=reason, received_file_id=kept.id)


def _hold(settings: Settings, upload: Upload, held: Held, *, sender: str, channel: str, received_at: datetime | None,
          expected_cycle: str | None) -> Received:
    with _unavailable_as_such(), db.session_scope(settings) as session:
        kept = keep_received(session, settings, upload, purpose="intake", status="held", reason=held.message,
                             sender=sender, details={"form_no": held.form_no, "channel": channel,
                                                     "received_at": received_at.isoformat() if received_at else None,
                                                     "expected_cycle": expected_cycle})
    return Received(False, reason=held.message, held=True, received_file_id=kept.id)


def _take_once(settings: Settings, returned: ReturnedFile, *, sender: str, received_at: datetime | None,
               expected_cycle: str | None, actor: str, channel: str) -> Received:
    """One attempt: the file recorded with its receipt queued (one transaction), or held."""
    from kaoping.services.returns.receipts import queue_intake_reply

    if returned.kind == OBJECTION_KIND:
        return _receive_objection_form(settings, returned, sender=sender, received_at=received_at, actor=actor,
                                       channel=channel)
    try:
        with db.session_scope(settings) as session:
            result = intake(session, settings, returned, sender=sender, received_at=received_at,
                            expected_cycle=expected_cycle, actor=actor, channel=channel)
            if sender:
                queue_intake_reply(session, settings, returned.upload, sender=sender, accepted=True, result=result,
                                   received_at=received_at)
        return Received(True, result=result)
    except Held as held:
        return _hold(settings, returned.upload, held, sender=sender, channel=channel, received_at=received_at,
                     expected_cycle=expected_cycle)


def receive(settings: Settings, file: Upload | ReturnedFile, *, sender: str = "", received_at: datetime | None = None,
            expected_cycle: str | None = None, actor: str = "intake", channel: str = "cli") -> Received:
    """One returned file, as every channel receives it (CLI, inbox flow, mailbox, demo): recognised
    once and taken by its kind — recorded if it passes, with the receipt to the sender queued in the
    same transaction; kept as refused if it does not, with the reason queued for the sender; kept as
    held (no reply) if the sender may not return it. Never raises for what is in the file: anything
    unforeseen is a refusal of this file alone. A concurrent intake of the same form is waited for
    (row lock) or, if the database still reports a collision, tried again. The database or the disk
    unavailable (after the tries) raises ``Unavailable``: nothing recorded, nobody told."""
    returned = file if isinstance(file, ReturnedFile) else recognise(file)
    upload, sender = returned.upload, sender.strip()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _take_once(settings, returned, sender=sender, received_at=received_at, expected_cycle=expected_cycle,
                              actor=actor, channel=channel)
        except KaopingError as exc:
            return _refuse(settings, upload, sender=sender, reason=str(exc), received_at=received_at)
        except Exception as exc:  # noqa: BLE001 - one file must never stop the intake of the others
            outage = unavailable(exc)
            if (outage is not None or isinstance(exc, IntegrityError)) and attempt < ATTEMPTS:
                log.warning("intake of %s met %s (attempt %d): trying again", upload.name, exc.__class__.__name__, attempt)
                time.sleep(0.2 * attempt)
                continue
            if outage is not None:
                log.warning("intake of %s: %s", upload.name, outage.message)
                raise outage from exc
            log.exception("intake of %s failed unexpectedly", upload.name)
            return _refuse(settings, upload, sender=sender, reason=_unforeseen(upload, exc), received_at=received_at,
                           reply=returned.kind != OBJECTION_KIND)
    raise AssertionError("unreachable")  # pragma: no cover


def receive_path(settings: Settings, path: Path, *, sender: str = "", received_at: datetime | None = None,
                 expected_cycle: str | None = None, actor: str = "intake", channel: str = "cli",
                 read: FileRead | None = None) -> Received:
    """``receive`` for a file on disk. A file that cannot even be read (empty, too large, a
    symbolic link or anything but a regular file in the inbox) is kept as refused, with the
    reason queued for the sender. The inbox (``channel="inbox"``) never follows links. ``read``: what
    ``read_files`` found in it (used only if the file's bytes are still those it read)."""
    from kaoping.services.returns.receipts import queue_intake_reply

    try:
        with _unavailable_as_such():  # a disk that cannot be read is no fault of the file
            upload = read_upload(Path(path), follow_symlinks=channel != "inbox")
    except (KaopingError, OSError) as exc:
        reason = str(exc) if isinstance(exc, KaopingError) else (
            f"无法读取文件 {Path(path).name}（{exc.__class__.__name__}）：请检查文件后重新发送。")
        with _unavailable_as_such(), db.session_scope(settings) as session:
            kept, name = keep_unreadable(session, settings, Path(path), purpose="intake", reason=reason,
                                         sender=sender.strip())
            if sender.strip() and channel == "inbox":
                queue_intake_reply(session, settings, name, sender=sender.strip(), accepted=False, reason=reason,
                                   received_at=received_at)
        return Received(False, reason=reason, received_file_id=kept.id)
    return receive(settings, with_read(upload, read), sender=sender, received_at=received_at,
                   expected_cycle=expected_cycle, actor=actor, channel=channel)


def read_files(paths: list[Path], *, fanout: Fanout = serial, channel: str = "inbox") -> dict[Path, FileRead]:
    """The pure part of taking in files on disk, for many at once (issue 29): each one recognised and its
    tables read by ``fanout`` (in this process, or on the flow's task runner). A file that cannot be read
    is left out: ``receive_path`` says why when it comes to it."""
    uploads = {}
    for path in paths:
        try:
            uploads[Path(path)] = read_upload(Path(path), follow_symlinks=channel != "inbox")
        except (KaopingError, OSError):
            continue
    return dict(zip(uploads, fanout(read_returned, list(uploads.values())), strict=True))


# --------------------------------------------------------------------------- held files


#: held objection replies and forms are the objections' (``kaoping objections held|release|reject``)
OBJECTIONS_PURPOSE = "objection"


def held_files(session: Session) -> list[ReceivedFile]:
    """The forms held for the team, oldest first (held objections are listed by ``kaoping objections held``)."""
    return list(session.exec(select(ReceivedFile).where(ReceivedFile.status == "held",
                                                        ReceivedFile.purpose != OBJECTIONS_PURPOSE).order_by(ReceivedFile.id)))


def held_objections(session: Session) -> int:
    """How many held things are the objections' to release (named in ``kaoping intake held``)."""
    from kaoping.services.objections.by_form import held

    return len(held(session))


def _held(session: Session, file_id: int) -> ReceivedFile:
    record = session.get(ReceivedFile, file_id)
    if record is not None and record.status == "held" and record.purpose == OBJECTIONS_PURPOSE:
        raise Conflict(f"暂存编号 {file_id} 是一份暂存的异议回复或异议表，不是考评表格：请用 `kaoping objections held` 查看，"
                       f"核实属实的用 `kaoping objections release {file_id}` 受理，不予受理的用 "
                       f"`kaoping objections reject {file_id} --reason …`。")
    if record is None or record.status != "held":
        raise NotFound(f"没有编号为 {file_id} 的暂存文件：请用 kaoping intake held 查看暂存的文件及其编号。")
    return record


def release_held(settings: Settings, file_id: int, *, actor: str) -> Received:
    """Record a held file as if it came from the right sender (the team vouches for it), audited.
    If the intake then refuses it, it stays held and the reason is returned."""
    from kaoping import db
    from kaoping.records import audit

    with db.session_scope(settings) as session:
        record = _held(session, file_id)
        path = settings.received_dir / record.sha256[:2] / record.sha256
        upload = Upload(name=record.filename, data=path.read_bytes())
        details = dict(record.details or {})
        received_at = datetime.fromisoformat(details["received_at"]) if details.get("received_at") else record.received_at
    try:
        with db.session_scope(settings) as session:
            record = _held(session, file_id)
            result = intake(session, settings, upload, sender=record.sender, received_at=received_at,
                            expected_cycle=details.get("expected_cycle"), actor=actor, channel="release")
            record.status = "released"
            record.details = {**details, "released_by": actor, "form_no": result.form_no}
            session.add(record)
            audit.append(session, actor=actor, action="intake.release", entity=f"received:{record.id}",
                         cycle_code=result.cycle_code, before={"status": "held", "sender": record.sender},
                         after={"status": "released", "form_no": result.form_no, "sha256": record.sha256},
                         reason=f"专班核实后放行暂存文件 {record.filename}（原发件人：{record.sender or '未知'}）")
        return Received(True, result=result, received_file_id=file_id)
    except KaopingError as exc:
        if isinstance(exc, NotFound):
            raise
        return Received(False, reason=str(exc), held=True, received_file_id=file_id)


def reject_held(settings: Settings, file_id: int, *, reason: str, actor: str) -> ReceivedFile:
    """Refuse a held file (kept, status ``rejected``, audited); nothing is sent to its sender."""
    from kaoping import db
    from kaoping.records import audit

    if not reason.strip():
        raise InvalidInput("请用 --reason 说明退回的原因（记入审计日志）。")
    with db.session_scope(settings) as session:
        record = _held(session, file_id)
        record.status = "rejected"
        record.reason = f"{record.reason}\n专班退回：{reason.strip()}"
        record.details = {**(record.details or {}), "rejected_by": actor}
        session.add(record)
        audit.append(session, actor=actor, action="intake.reject", entity=f"received:{record.id}",
                     before={"status": "held", "sender": record.sender}, after={"status": "rejected"},
                     reason=reason.strip())
        return record
