"""The intake (回收): recognise a returned Word file by its signed identity, check its tables
against what was issued, and hand it to its kind (``KINDS[kind].record_return``) to record —
self-assessments as submissions, sheets as scores and point allocations through the rules'
one score-entry service.

Every refusal is an ``InvalidInput`` whose message is what the sender gets back: it says
what is wrong, where (row and column), and what to do. The caller keeps the file either
way (``kaoping.services.received.keep_received``) and records nothing else when it is refused.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime

import docx
from sqlmodel import Session, select

from kaoping.adapters.uploads import Upload, check_office_zip
from kaoping.adapters.word.identity import read_identity, verify
from kaoping.adapters.word.tables import find_table, table_rows
from kaoping.domain.errors import InvalidInput
from kaoping.domain.text import fold
from kaoping.models import (
    Contact,
    Cycle,
    CycleStatus,
    FormKind,
    IssuedForm,
    Unit,
)
from kaoping.models.types import utcnow
from kaoping.services.forms import ReturnedForm, TableLayout, kind_spec
from kaoping.services.received import keep_received
from kaoping.settings import Settings


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


def _read_table(document, table_layout: TableLayout, expected: list[list[str]], problems: list[str]):
    table = find_table(document, table_layout.header)
    label = table_layout.label
    if table is None:
        problems.append(
            f"找不到{label}（表头应为：{'、'.join(table_layout.header)}）：表头被修改或表格被删除。请使用收到的原表格填写。"
        )
        return []
    rows = table_rows(table)[1:]
    identity = [[fold(r[c]) if c < len(r) else "" for c in table_layout.identity_columns] for r in rows]
    problems += _compare_rows([[fold(v) for v in r] for r in expected], identity, table_layout, label)
    return rows


def _sender_unit(session: Session, sender: str) -> Unit | None:
    if not sender:
        return None
    contact = session.exec(select(Contact).where(Contact.email == sender.strip().lower())).first()
    return session.get(Unit, contact.unit_id) if contact else None


def intake(
    session: Session, settings: Settings, upload: Upload, *, sender: str = "", received_at: datetime | None = None,
    expected_cycle: str | None = None, actor: str = "intake",
) -> IntakeResult:
    """Recognise, check and record one returned file (all or nothing)."""
    check_office_zip(upload, kind="docx")
    try:
        document = docx.Document(io.BytesIO(upload.data))
    except Exception as exc:  # python-docx raises several kinds for broken parts
        raise InvalidInput(f"无法读取 Word 文件 {upload.name}（{exc.__class__.__name__}）：文件可能已损坏，请重新保存后发送。") from exc
    identity, signature = read_identity(document)
    if identity is None:
        raise InvalidInput(
            f"文件 {upload.name} 没有考评系统的表单标识，不是系统发出的表格（或内容被复制到了新文件中）："
            "请在收到的原表格上填写后发送。 / No kaoping form identity."
        )
    key = settings.secret_key.get_secret_value().encode("utf-8")
    if not verify(identity, signature, key):
        raise InvalidInput(
            f"文件 {upload.name} 的表单标识签名无效（标识被改动或伪造，表单编号 {identity.form_no}）："
            "请使用收到的原表格填写，不要修改文件属性。 / Invalid form signature."
        )
    form = session.exec(select(IssuedForm).where(IssuedForm.form_no == identity.form_no,
                                                 IssuedForm.version == identity.version)).first()
    cycle = session.get(Cycle, form.cycle_id) if form else None
    if form is None or cycle is None or cycle.code != identity.cycle or form.kind != identity.kind:
        raise InvalidInput(f"表单编号 {identity.form_no} 不在本系统的发出记录中：请使用收到的原表格填写。")
    spec = kind_spec(form.kind)
    kind = spec.kind
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
    sender_unit = _sender_unit(session, sender)
    if sender_unit is not None and form.subject_unit_id is not None and sender_unit.id != form.subject_unit_id:
        owner = session.get(Unit, form.subject_unit_id)
        raise InvalidInput(
            f"{form.form_no} 是{owner.short_name}的{spec.label}，不能由{sender_unit.short_name}（{sender}）报送："
            f"请报送本单位的表格，或由{owner.short_name}报送。"
        )

    received_at = received_at or utcnow()
    late = bool(form.deadline and received_at.astimezone(settings.tz).date() > form.deadline)
    expected: dict[str, list[list[str]]] = {}
    for row in form.rows:
        if row[0] in spec.tables:
            expected.setdefault(row[0], []).append(row[1:])
    problems: list[str] = []
    tables = {name: _read_table(document, spec.tables[name], rows, problems) for name, rows in expected.items()}
    if problems:
        raise InvalidInput(f"{upload.name}（{form.form_no}）的表格结构被改动，未录入任何内容：", problems)

    received = keep_received(session, settings, upload, purpose=f"intake.{kind}", status="accepted", sender=sender,
                             details={"form_no": form.form_no, "late": late})
    summary, details = spec.record_return(session, ReturnedForm(cycle, form, tables, upload, actor, received_at, late,
                                                                received.id))
    received.details = {**received.details, **details, "summary": summary}
    session.add(received)
    subject = session.get(Unit, form.subject_unit_id).short_name if form.subject_unit_id else "全部考评对象"
    return IntakeResult(form.form_no, kind, cycle.code, subject, late, summary, details)


@dataclass
class Received:
    accepted: bool
    result: IntakeResult | None = None
    reason: str = ""


def receive(settings: Settings, upload: Upload, *, sender: str = "", received_at: datetime | None = None,
            expected_cycle: str | None = None, actor: str = "intake") -> Received:
    """One returned file, as every channel receives it (CLI, inbox flow, demo): recorded if it
    passes, with the receipt to the sender queued in the same transaction; kept as refused if it
    does not, with the reason queued for the sender."""
    from kaoping import db
    from kaoping.domain.errors import KaopingError
    from kaoping.services.messages import queue_intake_reply

    try:
        with db.session_scope(settings) as session:
            result = intake(session, settings, upload, sender=sender, received_at=received_at,
                            expected_cycle=expected_cycle, actor=actor)
            if sender:
                queue_intake_reply(session, settings, upload, sender=sender, accepted=True, result=result, received_at=received_at)
        return Received(True, result=result)
    except KaopingError as exc:
        with db.session_scope(settings) as session:
            keep_received(session, settings, upload, purpose="intake", status="refused", reason=str(exc), sender=sender)
            if sender:
                queue_intake_reply(session, settings, upload, sender=sender, accepted=False, reason=str(exc), received_at=received_at)
        return Received(False, reason=str(exc))
