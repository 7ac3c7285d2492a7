"""The intake (回收): recognise a returned Word file by its signed identity, check it, and
record it — self-assessments as submissions, sheets as scores and point allocations
through the rules' one score-entry service.

Every refusal is an ``InvalidInput`` whose message is what the sender gets back: it says
what is wrong, where (row and column), and what to do. The caller keeps the file either
way (``kaoping.services.received.keep_received``) and records nothing else when it is refused.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime

import docx
from docx.oxml.ns import qn
from sqlmodel import Session, select

from kaoping.adapters.spreadsheets import parse_score
from kaoping.adapters.uploads import Upload, check_office_zip
from kaoping.adapters.word.identity import read_identity, verify
from kaoping.domain.errors import InvalidInput
from kaoping.domain.scoring import ranges
from kaoping.domain.text import fold
from kaoping.models import (
    Component,
    Contact,
    Cycle,
    CycleStatus,
    FormKind,
    IssuedForm,
    Submission,
    Unit,
)
from kaoping.models.types import utcnow
from kaoping.services import audit
from kaoping.services.cycles import require_open
from kaoping.services.forms import (
    FIELD_VISIT_ROWS,
    FORM_LAYOUTS,
    PROGRESS_CHOICES,
    TableLayout,
)
from kaoping.services.received import keep_received
from kaoping.services.score_entry import (
    ComponentScoreEntry,
    CycleContext,
    LeadScoreEntry,
    allocate_points,
    record_component_scores,
    record_lead_scores,
    validate_component_entries,
    validate_lead_entries,
)
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


def _cell(cell) -> str:
    """A cell's text as typed: paragraphs joined by line breaks, outer blanks trimmed."""
    return "\n".join(p.text for p in cell.paragraphs).strip()


_P, _R, _HYPERLINK, _TC, _TR = (qn(t) for t in ("w:p", "w:r", "w:hyperlink", "w:tc", "w:tr"))
_RUN_TEXT = {qn(t) for t in ("w:br", "w:cr", "w:noBreakHyphen", "w:ptab", "w:t", "w:tab")}
_MERGES = ".//w:gridSpan | .//w:vMerge"


def _run_text(r) -> str:
    return "".join(str(e) for e in r if e.tag in _RUN_TEXT)


def _tc_text(tc) -> str:
    """What ``_cell`` gives for an unmerged cell, walking the XML once instead of one XPath
    per paragraph and run (most of the intake time of a 16,000-row scoring sheet)."""
    paragraphs = []
    for p in tc:
        if p.tag != _P:
            continue
        parts = []
        for child in p:
            if child.tag == _R:
                parts.append(_run_text(child))
            elif child.tag == _HYPERLINK:
                parts.extend(_run_text(r) for r in child if r.tag == _R)
        paragraphs.append("".join(parts))
    return "\n".join(paragraphs).strip()


def table_rows(table) -> list[list[str]]:
    """Every row's cell texts. Tables with merged cells go through python-docx, which repeats
    a merged cell in each grid column it covers; the forms kaoping sends have none."""
    tbl = table._tbl
    if tbl.xpath(_MERGES):
        return [[_cell(c) for c in row.cells] for row in table.rows]
    return [[_tc_text(tc) for tc in tr if tc.tag == _TC] for tr in tbl if tr.tag == _TR]


def _find_table(document, table_layout: TableLayout):
    header = [fold(h) for h in table_layout.header]
    for t in document.tables:
        if not t.rows:
            continue
        first = [fold(_cell(c)) for c in t.rows[0].cells]
        if first[: len(header)] == header:
            return t
    return None


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


def _read_table(document, kind: FormKind, name: str, expected: list[list[str]], problems: list[str]):
    table_layout = FORM_LAYOUTS[kind][name]
    table = _find_table(document, table_layout)
    label = "评分表的分值明确表" if name == "allocation" else "表格"
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
    kind = FormKind(form.kind)
    if expected_cycle and cycle.code != expected_cycle:
        raise InvalidInput(
            f"这是 {cycle.code} 考评周期的{kind.label}（{form.form_no}），当前收集的是 {expected_cycle}：请使用本期下发的表格。"
        )
    if form.version != identity.version or not form.current:
        newer = session.exec(select(IssuedForm).where(IssuedForm.cycle_id == form.cycle_id, IssuedForm.kind == form.kind,
                                                      IssuedForm.subject == form.subject, IssuedForm.current)).first()
        hint = f"（最新为第 {newer.version} 版）" if newer else ""
        raise InvalidInput(f"{kind.label} {form.form_no} 第 {identity.version} 版已被新版本取代{hint}：请使用最新下发的表格填写。")
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
            f"{form.form_no} 是{owner.short_name}的{kind.label}，不能由{sender_unit.short_name}（{sender}）报送："
            f"请报送本单位的表格，或由{owner.short_name}报送。"
        )

    received_at = received_at or utcnow()
    late = bool(form.deadline and received_at.astimezone(settings.tz).date() > form.deadline)
    expected: dict[str, list[list[str]]] = {}
    for row in form.rows:
        if row[0] in FORM_LAYOUTS[kind]:
            expected.setdefault(row[0], []).append(row[1:])
    problems: list[str] = []
    tables = {name: _read_table(document, kind, name, rows, problems) for name, rows in expected.items()}
    if problems:
        raise InvalidInput(f"{upload.name}（{form.form_no}）的表格结构被改动，未录入任何内容：", problems)

    handler = {
        FormKind.self_assessment: _record_self_assessment,
        FormKind.lead_scoring: _record_lead_sheet,
        FormKind.field_visit: _record_field_visit,
        FormKind.third_party: _record_results_sheet,
        FormKind.opinion: _record_results_sheet,
    }[kind]
    received = keep_received(session, settings, upload, purpose=f"intake.{kind.value}", status="accepted", sender=sender,
                             details={"form_no": form.form_no, "late": late})
    summary, details = handler(session, cycle, form, tables, upload=upload, actor=actor, received_at=received_at, late=late,
                               received_file_id=received.id)
    received.details = {**received.details, **details, "summary": summary}
    session.add(received)
    subject = session.get(Unit, form.subject_unit_id).short_name if form.subject_unit_id else "全部考评对象"
    return IntakeResult(form.form_no, kind, cycle.code, subject, late, summary, details)


# --------------------------------------------------------------------------- per kind


def _record_self_assessment(session, cycle, form, tables, *, upload, actor, received_at, late, received_file_id):
    require_open(cycle)
    problems, rows, unfilled = [], [], []
    for index, row in enumerate(tables["main"], start=2):
        number, situation, progress, evidence = fold(row[0]), row[4], fold(row[5]), row[6]
        if progress and progress not in PROGRESS_CHOICES:
            problems.append(f"第 {index} 行（指标 {number}）“完成进度”列：“{progress}”不是可选项，应为{'、'.join(PROGRESS_CHOICES)}之一。")
        if not progress:
            unfilled.append(index)
        rows.append({"number": int(number), "situation": situation, "progress": progress,
                     "evidence": [line.strip() for line in evidence.splitlines() if line.strip()]})
    if unfilled:
        problems.append(f"第 {ranges(unfilled)} 行“完成进度”列未填写（共 {len(unfilled)} 行）：每项指标都须填写"
                        f"{'、'.join(PROGRESS_CHOICES)}之一。")
    if problems:
        raise InvalidInput(f"{upload.name}（{form.form_no}）有 {len(problems)} 处需要更正，未录入：", problems)
    previous = session.exec(select(Submission).where(Submission.cycle_id == cycle.id, Submission.unit_id == form.subject_unit_id,
                                                     Submission.current)).first()
    if previous is not None:
        previous.current = False
        session.add(previous)
        session.flush()
    session.add(Submission(cycle_id=cycle.id, unit_id=form.subject_unit_id, form_id=form.id, received_file_id=received_file_id,
                           received_at=received_at, late=late, rows=rows))
    session.flush()
    audit.append(session, actor=actor, action="intake.self_assessment", entity=f"cycle:{cycle.code}/form:{form.form_no}",
                 cycle_code=cycle.code, before={"submission": previous.id} if previous else None,
                 after={"rows": len(rows), "late": late, "file": upload.name, "sha256": upload.sha256},
                 reason="收到自评表" + ("（逾期）" if late else ""))
    done = sum(1 for r in rows if r["progress"] == "完成")
    return (f"自评表已收到：{len(rows)} 项指标，其中“完成” {done} 项" + ("；已逾期，标注为逾期报送" if late else "")
            + ("；已替代此前报送的版本" if previous else "")), {"rows": len(rows), "replaced": previous is not None}


def _record_lead_sheet(session, cycle, form, tables, *, upload, actor, received_at, late, received_file_id):
    require_open(cycle)
    lead = session.get(Unit, form.subject_unit_id)
    problems: list[str] = []
    # 1. Allocations (rule 三(四)), by container; a container is all filled or all empty.
    allocations: dict[str, dict[int, object]] = {}
    for index, row in enumerate(tables.get("allocation", []), start=2):
        number, container, value = fold(row[0]), row[1], fold(row[4]).removesuffix("（已明确）")
        if not value:
            allocations.setdefault(container, {})
            continue
        try:
            allocations.setdefault(container, {})[int(number)] = parse_score(value)
        except ValueError:
            problems.append(f"分值明确表第 {index} 行（指标 {number}）“明确分值”列：“{row[4]}”不是数字。")
    rows_per_container: dict[str, int] = {}
    for row in tables.get("allocation", []):
        rows_per_container[row[1]] = rows_per_container.get(row[1], 0) + 1
    for container, values in allocations.items():
        if values and len(values) != rows_per_container[container]:
            problems.append(f"分值明确表“{container}”：只填写了部分指标的明确分值，须全部填写（或全部留空按默认分值）。")
    if problems:
        raise InvalidInput(f"{upload.name}（{form.form_no}）有 {len(problems)} 处需要更正，未录入任何分数：", problems)
    allocated = []
    for container, values in allocations.items():
        if values:
            try:
                allocate_points(session, cycle, lead_written=lead.code, points=values, actor=actor, source=form.form_no)
            except InvalidInput as exc:
                raise InvalidInput(f"{upload.name}（{form.form_no}）分值明确表“{container}”：{exc.message}", exc.problems) from None
            allocated.append(container)
    # 2. Scores, through the one score-entry service.
    ctx = CycleContext(session, cycle)
    codes = {u.code: u.unit_id for u in ctx.units.values()}
    entries = []
    for index, (row, code) in enumerate(zip(tables["main"], form_unit_codes(form), strict=True), start=2):
        number, score_text, note = fold(row[0]), fold(row[5]), row[6].strip()
        if not score_text:
            continue  # not scored yet: `kaoping check` lists what is missing
        try:
            score = parse_score(score_text)
        except ValueError:
            problems.append(f"第 {index} 行（指标 {number}，{row[2]}）“得分”列：“{row[5]}”不是数字，请填写 0 至指标分值之间的数。")
            continue
        unit_id = codes[code]
        indicator = ctx.indicator_by_number[int(number)]
        entries.append(LeadScoreEntry(unit_id, indicator.id, lead.id, score, note, f"第 {index} 行"))
    problems += validate_lead_entries(ctx, entries)[0]
    if problems:
        raise InvalidInput(f"{upload.name}（{form.form_no}）有 {len(problems)} 处需要更正，未录入任何分数：", problems)
    summary = record_lead_scores(session, cycle, entries, source=f"{form.form_no} {upload.name}", actor=actor,
                                 received_file_id=received_file_id, context=ctx)
    blank = len(tables["main"]) - len(entries)
    text = f"评分表已收到：录入 {len(entries)} 项得分（新增 {summary.created}，更新 {summary.replaced}，未变 {summary.unchanged}）"
    if blank:
        text += f"；{blank} 项未评分"
    if allocated:
        text += f"；已明确 {'、'.join(allocated)} 的指标分值"
    if late:
        text += "；已逾期，标注为逾期报送"
    return text, {"scores": len(entries), "blank": blank, "allocated": allocated}


def form_unit_codes(form: IssuedForm) -> list[str]:
    """The unit code of each row of a scoring or results sheet (the cell shows the short name)."""
    return [row[1] for row in form.rows if row[0] == "codes"]


def _record_field_visit(session, cycle, form, tables, *, upload, actor, received_at, late, received_file_id):
    values = {row[0]: row[1].strip() for row in tables["main"]}
    score_text = fold(values.get("实地调研得分", ""))
    if not score_text:
        raise InvalidInput(f"{upload.name}（{form.form_no}）“实地调研得分”一栏未填写：请填写 0–100 的分数后重新发送。")
    try:
        score = parse_score(score_text, percent_ok=True)
    except ValueError:
        raise InvalidInput(f"{upload.name}（{form.form_no}）第 {FIELD_VISIT_ROWS.index('实地调研得分') + 2} 行“内容”列："
                           f"实地调研得分“{values['实地调研得分']}”不是数字。") from None
    note = "；".join(f"{k}：{values[k]}" for k in ("发现的问题", "评分说明", "调研组成员", "调研日期") if values.get(k))
    ctx = CycleContext(session, cycle)
    entries = [ComponentScoreEntry(form.subject_unit_id, score, note, f"第 {FIELD_VISIT_ROWS.index('实地调研得分') + 2} 行“内容”列")]
    problems = validate_component_entries(Component.field, ctx, entries)[0]
    if problems:
        raise InvalidInput(f"{upload.name}（{form.form_no}）需要更正：", problems)
    record_component_scores(session, cycle, Component.field, entries, source=Component.field.label, actor=actor,
                            file_name=upload.name, received_file_id=received_file_id, context=ctx)
    return f"实地调研记录已收到：得分 {score}" + ("（逾期）" if late else ""), {"score": str(score)}


def _record_results_sheet(session, cycle, form, tables, *, upload, actor, received_at, late, received_file_id):
    component = Component.third_party if form.kind == FormKind.third_party else Component.opinion
    ctx = CycleContext(session, cycle)
    codes = {u.code: u.unit_id for u in ctx.units.values()}
    unit_codes = form_unit_codes(form)
    problems, entries, blank = [], [], []
    for index, (row, code) in enumerate(zip(tables["main"], unit_codes, strict=True), start=2):
        score_text = fold(row[2])
        if not score_text:
            blank.append(row[1])
            continue
        try:
            score = parse_score(score_text, percent_ok=True)
        except ValueError:
            problems.append(f"第 {index} 行（{row[1]}）“得分”列：“{row[2]}”不是数字，请填写 0–100 的分数。")
            continue
        entries.append(ComponentScoreEntry(codes[code], score, row[3].strip(), f"第 {index} 行“得分”列"))
    problems += validate_component_entries(component, ctx, entries)[0]
    if problems:
        raise InvalidInput(f"{upload.name}（{form.form_no}）有 {len(problems)} 处需要更正，未录入任何分数：", problems)
    summary = record_component_scores(session, cycle, component, entries, source=component.label, actor=actor,
                                      file_name=upload.name, received_file_id=received_file_id,
                                      context=ctx)
    text = f"{FormKind(form.kind).label}已收到：录入 {len(entries)} 个单位的得分（新增 {summary.created}，更新 {summary.replaced}）"
    if blank:
        text += f"；未填写得分的单位：{'、'.join(blank)}"
    return text, {"scores": len(entries), "blank": blank}


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
