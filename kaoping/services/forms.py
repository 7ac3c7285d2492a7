"""Outgoing Word forms (python-docx): self-assessment forms to units, scoring sheets to lead
assessors, field visit records, and the third-party and public-opinion results sheets.

Each form is a table whose identity cells (indicator, unit, points) are filled in by
kaoping and whose other cells are filled in by people. ``FORM_LAYOUTS`` says, per kind,
which table is read back and which columns are identity: the intake reads the same
description, so what is written and what is read cannot drift apart.
"""

from __future__ import annotations

import hashlib
import io
import shutil
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from kaoping.adapters.word import layout
from kaoping.adapters.word.identity import FormIdentity, rows_digest, write_identity
from kaoping.domain.clock import local_date
from kaoping.domain.errors import InvalidInput
from kaoping.domain.scoring import fmt_exact
from kaoping.models import (
    Area,
    Cycle,
    FormKind,
    IndicatorGroup,
    IssuedForm,
    Submission,
)
from kaoping.models.types import utcnow
from kaoping.services import audit
from kaoping.services.cycles import cycle_label
from kaoping.services.score_entry import CycleContext
from kaoping.settings import Settings

PROGRESS_CHOICES = ["完成", "取得明显成效", "取得阶段性成效", "推进中", "未启动"]


@dataclass(frozen=True)
class TableLayout:
    header: tuple[str, ...]
    identity_columns: tuple[int, ...]


FORM_LAYOUTS: dict[FormKind, dict[str, TableLayout]] = {
    FormKind.self_assessment: {
        "main": TableLayout(("指标编号", "指标内容", "牵头考核单位", "时间节点", "完成情况", "完成进度", "佐证材料"), (0, 1, 2, 3)),
    },
    FormKind.lead_scoring: {
        "allocation": TableLayout(("指标编号", "所在分组/大项", "应合计分值", "默认分值", "明确分值"), (0, 1, 2, 3)),
        "main": TableLayout(("指标编号", "指标分值", "被考评单位", "自评完成情况", "自评完成进度", "得分", "扣分说明"), (0, 1, 2)),
    },
    FormKind.field_visit: {
        "main": TableLayout(("项目", "内容"), (0,)),
    },
    FormKind.third_party: {
        "main": TableLayout(("序号", "单位", "得分", "说明"), (0, 1)),
    },
    FormKind.opinion: {
        "main": TableLayout(("序号", "单位", "得分", "说明"), (0, 1)),
    },
}

FIELD_VISIT_ROWS = ["被调研单位", "调研日期", "调研组成员", "调研内容", "发现的问题", "实地调研得分", "评分说明"]


@dataclass
class FormSpec:
    """What one form will contain: its subject, its tables' identity rows, and the extras."""

    kind: FormKind
    subject: str  # unit code or "all"
    subject_unit_id: int | None
    subject_label: str
    tables: dict[str, list[list[str]]]  # table name → identity rows
    extra: dict  # per kind: texts copied in, unit codes per row, …

    @property
    def identity_rows(self) -> list[list[str]]:
        """Every identity cell, table by table, plus the unit code behind each row that
        shows a unit's short name (so a returned row maps back to its unit exactly)."""
        rows: list[list[str]] = []
        for name in sorted(self.tables):
            rows += [[name, *r] for r in self.tables[name]]
        rows += [["codes", code] for code in self.extra.get("unit_codes", [])]
        return rows


@dataclass
class BuiltForm:
    form: IssuedForm
    path: Path
    created: bool  # False: same identity as before, file refreshed only
    subject_label: str


# --------------------------------------------------------------------------- what each form holds


class CycleView(CycleContext):
    """What the forms need of a cycle, read once: the score-entry context (units, indicators,
    leads, responsibilities, points in force) plus groups, areas and the self-assessments."""

    def __init__(self, session: Session, cycle: Cycle):
        super().__init__(session, cycle)
        self.indicators = self.indicator_by_id
        self.undertaken: dict[int, list[int]] = defaultdict(list)
        self.responsible: dict[int, list[int]] = defaultdict(list)
        for unit_id, indicator_id in sorted(self.pairs):
            self.undertaken[unit_id].append(indicator_id)
            self.responsible[indicator_id].append(unit_id)
        self.groups = {g.code: g for g in session.exec(select(IndicatorGroup).where(IndicatorGroup.catalog_id == cycle.catalog_id))}
        self.areas = {a.code: a for a in session.exec(select(Area).where(Area.catalog_id == cycle.catalog_id))}
        self.names = {unit_id: u.short_name for unit_id, u in self.directory.units.items()}
        self.names.update({u.unit_id: u.short_name for u in self.units.values()})
        self.submissions = {
            s.unit_id: s for s in session.exec(select(Submission).where(Submission.cycle_id == cycle.id, Submission.current))
        }

    def container_label(self, container: str) -> str:
        if "." in container:
            g = self.groups[container]
            area = next(a for a in self.areas.values() if a.id == g.area_id)
            return f"{area.numeral}({g.numeral}){g.name}"
        a = self.areas[container]
        return f"{a.numeral}、{a.name}"

    def container_points(self, container: str) -> str:
        members = [p for p in self.points.values() if p.container == container]
        return fmt_exact(sum(p.points for p in members), 4)

    def points_text(self, indicator_id: int) -> str:
        p = self.points[indicator_id]
        suffix = {"given": "", "allocated": "（已明确）", "default": "（默认）"}[p.basis]
        return f"{fmt_exact(p.points, 4)}{suffix}"

    def self_assessment_of(self, unit_id: int, number: int) -> tuple[str, str]:
        submission = self.submissions.get(unit_id)
        if submission is None:
            return "（未报送自评）", ""
        for row in submission.rows:
            if row["number"] == number:
                return row.get("situation", ""), row.get("progress", "")
        return "", ""


def specs_for(view: CycleView, kind: FormKind, units: list[str] | None = None) -> list[FormSpec]:
    """The forms of one kind for a cycle (``units``: only these subjects, by code)."""
    specs: list[FormSpec] = []
    if kind is FormKind.self_assessment:
        for unit in view.units.values():
            items = sorted(view.undertaken.get(unit.unit_id, []), key=lambda i: view.indicators[i].number)
            if not items:
                continue
            rows = [
                [str(view.indicators[i].number), view.indicators[i].text, "、".join(view.names[u] for u in view.leads[i]),
                 view.indicators[i].milestone_raw]
                for i in items
            ]
            specs.append(FormSpec(kind, unit.code, unit.unit_id, unit.short_name, {"main": rows}, {}))
    elif kind is FormKind.lead_scoring:
        led: dict[int, list[int]] = defaultdict(list)
        for indicator_id, leads in view.leads.items():
            for lead in leads:
                led[lead].append(indicator_id)
        for lead_id in sorted(led, key=lambda u: (view.units[u].position if u in view.units else 10**6, u)):
            lead_code = view.units[lead_id].code if lead_id in view.units else str(lead_id)
            indicators = sorted(led[lead_id], key=lambda i: view.indicators[i].number)
            main, unit_codes, copied = [], [], []
            for indicator_id in indicators:
                number = view.indicators[indicator_id].number
                for unit_id in sorted(view.responsible.get(indicator_id, []), key=lambda u: view.units[u].position):
                    label = view.names[unit_id] + ("（自评项）" if unit_id == lead_id else "")
                    main.append([str(number), view.points_text(indicator_id), label])
                    unit_codes.append(view.units[unit_id].code)
                    copied.append(view.self_assessment_of(unit_id, number))
            if not main:
                continue
            # Open items whose whole container this lead leads: it may allocate their points.
            allocation = []
            containers = sorted({view.points[i].container for i in indicators if view.points[i].basis != "given"})
            for container in containers:
                members = sorted((p for p in view.points.values() if p.container == container), key=lambda p: p.number)
                if all(lead_id in view.leads[p.indicator_id] for p in members):
                    for p in members:
                        allocation.append([str(p.number), view.container_label(container), view.container_points(container),
                                           fmt_exact(p.points, 4) if p.basis == "default" else f"{fmt_exact(p.points, 4)}（已明确）"])
            tables = {"main": main}
            if allocation:
                tables["allocation"] = allocation
            subject_label = view.names[lead_id]
            specs.append(FormSpec(kind, lead_code, lead_id, subject_label, tables, {"unit_codes": unit_codes, "copied": copied}))
    elif kind is FormKind.field_visit:
        for unit in view.units.values():
            specs.append(FormSpec(kind, unit.code, unit.unit_id, unit.short_name,
                                  {"main": [[label] for label in FIELD_VISIT_ROWS]}, {"unit_name": unit.name}))
    else:
        rows = [[str(n), u.short_name] for n, u in enumerate(view.units.values(), start=1)]
        codes = [u.code for u in view.units.values()]
        specs.append(FormSpec(kind, "all", None, "全部考评对象", {"main": rows}, {"unit_codes": codes}))
    if units:
        wanted = set(units)
        specs = [s for s in specs if s.subject in wanted]
    return specs


# --------------------------------------------------------------------------- rendering


def render(spec: FormSpec, view: CycleView, identity: FormIdentity, key: bytes, *, deadline: date | None,
           office: str) -> bytes:
    cycle = view.cycle
    landscape = spec.kind is not FormKind.field_visit
    document = layout.form_document(landscape=landscape)
    header = document.sections[0].header.paragraphs[0]
    layout.set_font(header.add_run(f"表单编号：{identity.form_no}（第 {identity.version} 版） 请勿删改本表的编号、单位、指标等灰色栏目"),
                    layout.BODY_FONT, size=layout.SIZE_5)
    deadline_text = f"{deadline.year}年{deadline.month}月{deadline.day}日" if deadline else "见通知"
    title = f"{cycle_label(cycle)}数字政府建设考评{spec.kind.label}"
    layout.form_title(document, title)
    if spec.kind is FormKind.self_assessment:
        layout.form_line(document, f"填报单位：{view.units[spec.subject_unit_id].name}　　报送截止：{deadline_text}　　表单编号：{identity.form_no}")
        layout.form_line(document, "填写说明：", bold=True)
        for line in (
            "1. 请在“完成情况”栏如实填写每项指标的推进情况（可分段）；“完成进度”栏填写以下之一："
            + "、".join(PROGRESS_CHOICES) + "；“佐证材料”栏列出材料名称，每行一项。",
            "2. 请勿增删表格行、调整顺序，或修改指标编号、指标内容、牵头考核单位、时间节点；否则系统无法识别，表格将被退回。",
            f"3. 填好后保存为 Word (.docx) 文件，按原邮件回复发送，或交{office}。逾期报送的将被标注为逾期。",
        ):
            layout.form_line(document, line, size=layout.SIZE_5)
        rows = [r + ["", "", ""] for r in spec.tables["main"]]
        layout.table(document, list(FORM_LAYOUTS[spec.kind]["main"].header), rows, widths_mm=[14, 82, 28, 28, 58, 22, 29],
                     shaded_columns=FORM_LAYOUTS[spec.kind]["main"].identity_columns)
    elif spec.kind is FormKind.lead_scoring:
        layout.form_line(document, f"牵头考核单位：{spec.subject_label}　　报送截止：{deadline_text}　　表单编号：{identity.form_no}")
        layout.form_line(document, "填写说明：", bold=True)
        for line in (
            "1. 请对每个被考评单位承担的本单位牵头指标逐项评分，“得分”在 0 至“指标分值”之间，可保留两位小数；扣分的请在“扣分说明”中写明原因。",
            "2. 标注“（自评项）”的是本单位自身的得分，将由市政府办公室数字政府专班核实（办法三(二)）。",
            "3. 未标分值的指标（办法三(四)）：可在第一张表“明确分值”栏中明确各指标分值，同一分组/大项须全部填写且合计等于“应合计分值”；不填则按默认分值（平均分配）计分。",
            "4. 请勿增删表格行、调整顺序，或修改指标编号、分值、单位等栏目。",
        ):
            layout.form_line(document, line, size=layout.SIZE_5)
        if "allocation" in spec.tables:
            layout.form_line(document, "一、明确未标分值指标的分值（可选）", bold=True)
            rows = [r + [""] for r in spec.tables["allocation"]]
            layout.table(document, list(FORM_LAYOUTS[spec.kind]["allocation"].header), rows, widths_mm=[20, 110, 30, 40, 61],
                         shaded_columns=FORM_LAYOUTS[spec.kind]["allocation"].identity_columns)
            layout.form_line(document, "二、评分", bold=True)
        rows = [r + [copied[0], copied[1], "", ""] for r, copied in zip(spec.tables["main"], spec.extra["copied"], strict=True)]
        layout.table(document, list(FORM_LAYOUTS[spec.kind]["main"].header), rows, widths_mm=[14, 22, 30, 100, 25, 20, 50],
                     shaded_columns=(0, 1, 2, 3, 4))
    elif spec.kind is FormKind.field_visit:
        layout.form_line(document, f"表单编号：{identity.form_no}　　报送截止：{deadline_text}")
        layout.form_line(document, "填写说明：实地调研结束后由调研组填写，“实地调研得分”为 0–100 的分数；请勿修改左栏项目名称。", size=layout.SIZE_5)
        rows = [[label, spec.extra["unit_name"] if label == "被调研单位" else ""] for (label,) in spec.tables["main"]]
        layout.table(document, list(FORM_LAYOUTS[spec.kind]["main"].header), rows, widths_mm=[40, 134], size=layout.SIZE_SMALL_4,
                     shaded_columns=(0,))
    else:
        what = "第三方评估机构" if spec.kind is FormKind.third_party else "民意调查承办单位"
        layout.form_line(document, f"填报：{what}　　报送截止：{deadline_text}　　表单编号：{identity.form_no}")
        layout.form_line(document, "填写说明：请为每个单位填写 0–100 的得分（可保留两位小数），必要时在“说明”栏注明；请勿增删行或修改序号、单位名称。",
                         size=layout.SIZE_5)
        rows = [r + ["", ""] for r in spec.tables["main"]]
        layout.table(document, list(FORM_LAYOUTS[spec.kind]["main"].header), rows, widths_mm=[16, 70, 40, 135],
                     shaded_columns=(0, 1))
    write_identity(document, identity, key)
    document.core_properties.title = title
    document.core_properties.author = office
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- issuing


def _next_form_no(session: Session, cycle: Cycle, kind: FormKind) -> str:
    count = session.exec(select(func.count(func.distinct(IssuedForm.form_no))).where(IssuedForm.cycle_id == cycle.id,
                                                                                      IssuedForm.kind == kind)).one()
    return f"{cycle.code}-{kind.code}{count + 1:03d}"


def build_forms(
    session: Session, settings: Settings, cycle: Cycle, kind: FormKind, *, out_dir: Path | None = None,
    deadline: date | None = None, units: list[str] | None = None, actor: str, today: date | None = None,
) -> list[BuiltForm]:
    """Build (or rebuild) the forms of one kind. A form whose identity rows are unchanged keeps
    its number and version (only the file is refreshed); a changed one gets a new version,
    and a return of the old version is then refused."""
    view = CycleView(session, cycle)
    specs = specs_for(view, kind, units)
    if not specs:
        raise InvalidInput(f"{cycle.code} 没有需要发出的{kind.label}（没有承担指标的单位或牵头考核单位）。")
    deadline = deadline or (today or local_date(utcnow(), settings.tz)) + timedelta(days=settings.form_deadline_days)
    key = settings.secret_key.get_secret_value().encode("utf-8")
    built = []
    for spec in specs:
        digest = rows_digest(spec.identity_rows)
        current = session.exec(select(IssuedForm).where(IssuedForm.cycle_id == cycle.id, IssuedForm.kind == kind,
                                                        IssuedForm.subject == spec.subject, IssuedForm.current)).first()
        created = current is None or current.rows_digest != digest or current.deadline != deadline
        if not created:
            form = current
        else:
            if current is not None:
                current.current = False
                session.add(current)
                session.flush()
            form = IssuedForm(
                cycle_id=cycle.id, kind=kind, subject=spec.subject, subject_unit_id=spec.subject_unit_id,
                version=(current.version + 1) if current else 1,
                form_no=current.form_no if current else _next_form_no(session, cycle, kind),
                rows=spec.identity_rows, rows_digest=digest, deadline=deadline, issued_by=actor,
            )
            session.add(form)
            session.flush()
        identity = FormIdentity(cycle.code, kind.value, spec.subject, form.version, form.form_no, digest)
        data = render(spec, view, identity, key, deadline=deadline, office=settings.office_name)
        stored = settings.forms_dir / cycle.code / f"{form.form_no}-v{form.version}.docx"
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_bytes(data)
        form.path, form.sha256 = str(stored), hashlib.sha256(data).hexdigest()
        session.add(form)
        target = stored
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            target = out_dir / f"{form.form_no}-{spec.subject_label}-{kind.label}.docx"
            shutil.copyfile(stored, target)
        built.append(BuiltForm(form, target, created, spec.subject_label))
    session.flush()
    new = [b for b in built if b.created]
    if new:
        audit.append(
            session, actor=actor, action=f"forms.issue.{kind.value}", entity=f"cycle:{cycle.code}", cycle_code=cycle.code,
            after={"forms": [f"{b.form.form_no} v{b.form.version} {b.subject_label}" for b in new],
                   "deadline": deadline.isoformat()},
            reason=f"生成{kind.label}",
        )
    return built
