"""The intake (回收): recognise a returned Word file by its signed identity, check its tables
against what was issued, and hand it to its kind (``KINDS[kind].record_return``) to record —
self-assessments as submissions, sheets as scores and point allocations through the rules'
one score-entry service.

Every refusal is an ``InvalidInput`` whose message is what the sender gets back: it says
what is wrong, where (row and column), and what to do. The caller keeps the file either
way (``kaoping.records.received.keep_received``) and records nothing else when it is refused.

Each file stands on its own (``receive``): a structural defect (a short row, merged cells, a
missing table) is a refusal, and anything unforeseen while handling one file is a refusal of
that file, kept with the reason — never an exception that stops the files after it.

Who may send a form: an address registered for the unit the form is about, or one the form was
issued to (``recipients`` of its kind: lead assessor, visiting team, evaluator), or the
specialist team. A file from any other address — or from the inbox folder with no sender at
all — is **held** for the team (kept, status ``held``, no reply to the stranger) until
``release_held`` records it as if from the right sender or ``reject_held`` refuses it. The
operator's CLI without ``--sender`` is trusted. A byte-identical re-send of the file last
accepted for a form is a no-op.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import false, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from kaoping.adapters.uploads import Upload, check_office_zip, read_upload
from kaoping.adapters.word.identity import identity_from_properties, verify
from kaoping.adapters.word.package import ReadTable, read_custom_properties, read_tables
from kaoping.domain.errors import Conflict, InvalidInput, KaopingError, NotFound
from kaoping.domain.text import fold
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
from kaoping.services.forms import ReturnedForm, TableLayout, kind_spec
from kaoping.settings import Settings

log = logging.getLogger(__name__)

#: how a file reached the intake: the operator's CLI (trusted without a sender), the inbox folder,
#: the office mailbox (IMAP), or the team releasing a held file (trusted: the team decided)
CHANNELS = ("cli", "inbox", "mail", "release")
#: how many times a file is tried again when a concurrent intake of the same form got there first
ATTEMPTS = 3


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


def _compare_rows(expected: list[list[str]], got: list[list[str]], table_layout: TableLayout, label: str) -> list[str]:
    """Name each row added, removed, reordered or whose identity cells were edited."""
    problems = []
    names = [table_layout.header[c] for c in table_layout.identity_columns]
    if len(got) != len(expected):
        change = "增加" if len(got) > len(expected) else "删除"
        problems.append(f"{label}应有 {len(expected)} 行，现有 {len(got)} 行：表格的行被{change}了。请在原表上填写，不要增删行。")
    expected_keys = [tuple(r) for r in expected]
    for index, (want, have) in enumerate(zip(expected, got, strict=False), start=2):
        if list(want) == list(have):
            continue
        if tuple(have) in expected_keys:
            problems.append(f"{label}第 {index} 行：行的顺序被调整了（这一行原在第 {expected_keys.index(tuple(have)) + 2} 行）。请恢复原顺序。")
            continue
        for name, w, h in zip(names, want, have, strict=True):
            if w != h:
                shown = h if len(h) <= 20 else h[:20] + "…"
                original = w if len(w) <= 20 else w[:20] + "…"
                problems.append(f"{label}第 {index} 行“{name}”列被改动（原为“{original}”，现为“{shown}”）。该栏由系统填写，请勿修改。")
    return problems


def _find_table(tables: list[ReadTable], header) -> ReadTable | None:
    """The first table whose header row starts with ``header`` (compared folded), or None."""
    wanted = [fold(h) for h in header]
    for table in tables:
        if table.rows and [fold(c) for c in table.rows[0][: len(wanted)]] == wanted:
            return table
    return None


def _read_table(tables: list[ReadTable], table_layout: TableLayout, expected: list[list[str]], problems: list[str]):
    table = _find_table(tables, table_layout.header)
    label = table_layout.label
    if table is None:
        problems.append(
            f"找不到{label}（表头应为：{'、'.join(table_layout.header)}）：表头被修改或表格被删除。请使用收到的原表格填写。"
        )
        return []
    if table.merged:
        problems.append(f"{label}中有合并的单元格：系统发出的表格没有合并单元格。请在收到的原表格上填写，不要合并或拆分单元格。")
        return []
    rows = table.rows[1:]
    width = len(table_layout.header)
    short = [(index, len(r)) for index, r in enumerate(rows, start=2) if len(r) < width]
    for index, count in short[:10]:
        problems.append(f"{label}第 {index} 行只有 {count} 列，应有 {width} 列：这一行的单元格被删除了。"
                        "请在收到的原表格上填写，不要删除单元格。")
    if len(short) > 10:
        problems.append(f"{label}共有 {len(short)} 行缺少单元格（以上只列出前 10 行）。")
    if short:
        return []
    identity = [[fold(r[c]) if c < len(r) else "" for c in table_layout.identity_columns] for r in rows]
    problems += _compare_rows([[fold(v) for v in r] for r in expected], identity, table_layout, label)
    return rows


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
    candidates = session.exec(select(ReceivedFile).where(ReceivedFile.purpose == f"intake.{form.kind}",
                                                         ReceivedFile.status == "accepted")
                              .order_by(ReceivedFile.id.desc())).all()
    return next((r for r in candidates if (r.details or {}).get("form_no") == form.form_no), None)


def intake(
    session: Session, settings: Settings, upload: Upload, *, sender: str = "", received_at: datetime | None = None,
    expected_cycle: str | None = None, actor: str = "intake", channel: str = "cli",
) -> IntakeResult:
    """Recognise, check and record one returned file (all or nothing). Raises ``Held`` when the
    sender may not return this form (see the module's docstring), ``InvalidInput`` to refuse."""
    check_office_zip(upload, kind="docx")  # bounded: sizes and XML elements counted as a stream
    try:
        properties = read_custom_properties(upload.data)
    except Exception as exc:  # a broken custom.xml part
        raise InvalidInput(f"无法读取 Word 文件 {upload.name}（{exc.__class__.__name__}）：文件可能已损坏，请重新保存后发送。") from exc
    identity, signature = identity_from_properties(properties)
    if identity is None:
        raise InvalidInput(
            f"文件 {upload.name} 没有考评系统的表单标识，不是系统发出的表格（或内容被复制到了新文件中）："
            "请在收到的原表格上填写后发送。 / No kaoping form identity."
        )
    if not any(verify(identity, signature, key) for key in settings.form_keys):
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
    # The form's row is locked for the rest of the transaction (PostgreSQL; on SQLite the write
    # lock is taken before the first read): intakes of one form run one after the other, so
    # parallel re-sends see each other instead of colliding.
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(IssuedForm).where(false()).values(current=IssuedForm.current))
    form = session.exec(select(IssuedForm).where(IssuedForm.form_no == identity.form_no,
                                                 IssuedForm.version == identity.version).with_for_update()).first()
    cycle = session.get(Cycle, form.cycle_id) if form else None
    if form is None or cycle is None or cycle.code != identity.cycle or form.kind != identity.kind:
        raise InvalidInput(f"表单编号 {identity.form_no} 不在本系统的发出记录中：请使用收到的原表格填写。")
    spec = kind_spec(form.kind)
    kind = spec.kind
    sender = sender.strip().lower()
    subject_label = session.get(Unit, form.subject_unit_id).short_name if form.subject_unit_id else "全部考评对象"
    if channel in ("inbox", "mail") and not sender:
        raise Held(f"{upload.name}（{form.form_no}，{subject_label}的{spec.label}）没有发件人信息，无法核对是否由该单位报送："
                   "已暂存，待专班核实后放行或退回。", form.form_no)
    if sender and channel != "release" and sender not in allowed_senders(session, settings, cycle, form):
        sender_unit = _sender_unit(session, sender)
        if sender_unit is not None and form.subject_unit_id is not None and sender_unit.id != form.subject_unit_id:
            raise InvalidInput(
                f"{form.form_no} 是{subject_label}的{spec.label}，不能由{sender_unit.short_name}（{sender}）报送："
                f"请报送本单位的表格，或由{subject_label}报送。"
            )
        raise Held(f"{upload.name}（{form.form_no}，{subject_label}的{spec.label}）的发件人 {sender} 不是该表格的登记联系人："
                   "已暂存，待专班核实后放行或退回，未回复发件人。", form.form_no)
    same_bytes = session.exec(select(ReceivedFile.id).where(ReceivedFile.sha256 == upload.sha256,
                                                            ReceivedFile.status == "accepted")).first()
    last = _last_accepted(session, form) if same_bytes is not None else None
    if last is not None and last.sha256 == upload.sha256:
        keep_received(session, settings, upload, purpose=f"intake.{kind}", status="unchanged", sender=sender,
                      details={"form_no": form.form_no, "same_as": last.id})
        when = last.received_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        return IntakeResult(form.form_no, kind, cycle.code, subject_label, bool((last.details or {}).get("late")),
                            f"与 {when} 收到的文件完全相同，未作任何改动（报送状态不变）", {"unchanged": True, "same_as": last.id})
    if expected_cycle and cycle.code != expected_cycle:
        raise InvalidInput(
            f"这是 {cycle.code} 考评周期的{spec.label}（{form.form_no}），当前收集的是 {expected_cycle}：请使用本期下发的表格。"
        )
    if form.version != identity.version or not form.current:
        newer = session.exec(select(IssuedForm).where(IssuedForm.cycle_id == form.cycle_id, IssuedForm.kind == form.kind,
                                                      IssuedForm.subject == form.subject, IssuedForm.current)).first()
        hint = f"（最新为第 {newer.version} 版）" if newer else ""
        raise InvalidInput(f"{spec.label} {form.form_no} 第 {identity.version} 版已被新版本取代{hint}：请使用最新下发的表格填写。")
    if cycle.status != CycleStatus.open:
        raise InvalidInput(
            f"{cycle.code} 考评的数据收集已经结束（{CycleStatus(cycle.status).label}），{form.form_no} 不再接收："
            f"如需更正，请与{settings.office_name}联系。"
        )
    if form.rows_digest != identity.rows_digest:
        raise InvalidInput(f"{form.form_no} 的标识与发出记录不一致：请使用收到的原表格填写。")

    received_at = received_at or utcnow()
    late = bool(form.deadline and received_at.astimezone(settings.tz).date() > form.deadline)
    expected: dict[str, list[list[str]]] = {}
    for row in form.rows:
        if row[0] in spec.tables:
            expected.setdefault(row[0], []).append(row[1:])
    try:
        read = read_tables(upload.data)
    except Exception as exc:  # a broken document.xml
        raise InvalidInput(f"无法读取 Word 文件 {upload.name}（{exc.__class__.__name__}）：文件可能已损坏，请重新保存后发送。") from exc
    problems: list[str] = []
    tables = {name: _read_table(read, spec.tables[name], rows, problems) for name, rows in expected.items()}
    if problems:
        raise InvalidInput(f"{upload.name}（{form.form_no}）的表格结构被改动，未录入任何内容：", problems)

    received = keep_received(session, settings, upload, purpose=f"intake.{kind}", status="accepted", sender=sender,
                             details={"form_no": form.form_no, "late": late})
    summary, details = spec.record_return(session, ReturnedForm(cycle, form, tables, upload, actor, received_at, late,
                                                                received.id))
    received.details = {**received.details, **details, "summary": summary}
    session.add(received)
    return IntakeResult(form.form_no, kind, cycle.code, subject_label, late, summary, details)


@dataclass
class Received:
    accepted: bool
    result: IntakeResult | None = None
    reason: str = ""
    held: bool = False
    received_file_id: int | None = None
    #: where a held file is released: ``intake`` (kaoping intake release) or ``objections`` (an objection form)
    held_in: str = "intake"


def _receive_objection_form(settings: Settings, upload: Upload, *, sender: str, received_at: datetime | None,
                            actor: str, channel: str) -> Received:
    """An objection form (异议表) is the objections' to take (recorded as objections, never as a
    self-assessment), with their rules, receipt and refusals."""
    from kaoping import db
    from kaoping.services.objections import by_form as objection_intake

    with db.session_scope(settings) as session:
        got = objection_intake.take_form(session, settings, upload, sender=sender, received_at=received_at,
                                         channel=channel, actor=actor if channel == "cli" else objection_intake.ACTOR)
    result = IntakeResult(got.form_no, objection_intake.objection_form.KIND, got.cycle_code, got.unit, False,
                          got.summary, {"objections": got.objection_ids}) if got.accepted else None
    return Received(got.accepted, result=result, reason=got.reason, held=got.held, received_file_id=got.received_file_id,
                    held_in="objections")


def _unforeseen(upload: Upload, exc: BaseException) -> str:
    return (f"系统处理文件 {upload.name} 时出错（{exc.__class__.__name__}），未录入任何内容：文件已保存，"
            "数字政府专班将核查处理；如急需，请与专班联系或稍后重新发送。")


def receive(settings: Settings, upload: Upload, *, sender: str = "", received_at: datetime | None = None,
            expected_cycle: str | None = None, actor: str = "intake", channel: str = "cli") -> Received:
    """One returned file, as every channel receives it (CLI, inbox flow, demo): recorded if it
    passes, with the receipt to the sender queued in the same transaction; kept as refused if it
    does not, with the reason queued for the sender; kept as held (no reply) if the sender may
    not return it. Never raises for what is in the file: anything unforeseen is a refusal of
    this file alone. A concurrent intake of the same form is waited for (row lock) or, if the
    database still reports a collision, tried again."""
    from kaoping import db
    from kaoping.services.objections.by_form import is_objection_form
    from kaoping.services.returns.receipts import queue_intake_reply

    sender = sender.strip()
    if is_objection_form(upload):
        try:
            return _receive_objection_form(settings, upload, sender=sender, received_at=received_at, actor=actor,
                                           channel=channel)
        except Exception as exc:  # noqa: BLE001 - as for any file: a refusal of this file alone
            log.exception("intake of objection form %s failed unexpectedly", upload.name)
            reason = _unforeseen(upload, exc)
            with db.session_scope(settings) as session:
                kept = keep_received(session, settings, upload, purpose="intake", status="refused", reason=reason,
                                     sender=sender)
            return Received(False, reason=reason, received_file_id=kept.id)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with db.session_scope(settings) as session:
                result = intake(session, settings, upload, sender=sender, received_at=received_at,
                                expected_cycle=expected_cycle, actor=actor, channel=channel)
                if sender:
                    queue_intake_reply(session, settings, upload, sender=sender, accepted=True, result=result,
                                       received_at=received_at)
            return Received(True, result=result)
        except Held as held:
            with db.session_scope(settings) as session:
                kept = keep_received(session, settings, upload, purpose="intake", status="held", reason=held.message,
                                     sender=sender, details={"form_no": held.form_no, "channel": channel,
                                                             "received_at": received_at.isoformat() if received_at else None,
                                                             "expected_cycle": expected_cycle})
            return Received(False, reason=held.message, held=True, received_file_id=kept.id)
        except KaopingError as exc:
            reason = str(exc)
            break
        except (IntegrityError, OperationalError) as exc:
            log.warning("intake of %s collided with another (attempt %d): %s", upload.name, attempt, exc.__class__.__name__)
            reason = (f"同一时间收到了同一表格的多份文件，{upload.name} 未能录入：请稍后重新发送一次"
                      "（如已收到回执，则无需重发）。")
            time.sleep(0.05 * attempt)
            continue
        except Exception as exc:  # one file must never stop the intake of the others
            log.exception("intake of %s failed unexpectedly", upload.name)
            reason = _unforeseen(upload, exc)
            break
    with db.session_scope(settings) as session:
        kept = keep_received(session, settings, upload, purpose="intake", status="refused", reason=reason, sender=sender)
        if sender:
            queue_intake_reply(session, settings, upload, sender=sender, accepted=False, reason=reason, received_at=received_at)
    return Received(False, reason=reason, received_file_id=kept.id)


def receive_path(settings: Settings, path: Path, *, sender: str = "", received_at: datetime | None = None,
                 expected_cycle: str | None = None, actor: str = "intake", channel: str = "cli") -> Received:
    """``receive`` for a file on disk. A file that cannot even be read (empty, too large, a
    symbolic link or anything but a regular file in the inbox) is kept as refused, with the
    reason queued for the sender. The inbox (``channel="inbox"``) never follows links."""
    from kaoping import db
    from kaoping.services.returns.receipts import queue_intake_reply

    try:
        upload = read_upload(Path(path), follow_symlinks=channel != "inbox")
    except (KaopingError, OSError) as exc:
        reason = str(exc) if isinstance(exc, KaopingError) else (
            f"无法读取文件 {Path(path).name}（{exc.__class__.__name__}）：请检查文件后重新发送。")
        with db.session_scope(settings) as session:
            kept, name = keep_unreadable(session, settings, Path(path), purpose="intake", reason=reason, sender=sender.strip())
            if sender.strip() and channel == "inbox":
                queue_intake_reply(session, settings, name, sender=sender.strip(), accepted=False, reason=reason,
                                   received_at=received_at)
        return Received(False, reason=reason, received_file_id=kept.id)
    return receive(settings, upload, sender=sender, received_at=received_at, expected_cycle=expected_cycle, actor=actor,
                   channel=channel)


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
