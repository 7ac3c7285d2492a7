"""实地调研记录表: one per unit visited, returned by the visiting team with the 0–100 field score.

The visits check on site what the units reported (办法三(一): "对照…报送的重点任务、重点项目进展情况…
实地核实"), so the form goes out once the self-assessments are in (or their deadline has passed) and
lists, for each item the unit undertakes, what it reported — 完成情况, 完成进度 and the item's
时间节点 — with a column 核实情况 where the team writes what it found, item by item."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from kaoping.adapters.spreadsheets import parse_score
from kaoping.adapters.word import form_page, layout
from kaoping.domain.errors import InvalidInput
from kaoping.domain.text import fold
from kaoping.models import Component, Cycle, CyclePlan, FormKind, IssuedForm, Visit
from kaoping.services.forms.kind import (
    FormKindSpec,
    FormSpec,
    ReturnedForm,
    TableLayout,
    register,
)
from kaoping.services.forms.view import CycleView
from kaoping.services.scoring.entry import (
    ComponentScoreEntry,
    CycleContext,
    record_component_scores,
    validate_component_entries,
)
from kaoping.settings import Settings

FIELD_VISIT_ROWS = ["被调研单位", "调研日期", "调研组成员", "调研内容", "发现的问题", "实地调研得分", "评分说明"]


@register
class FieldVisit(FormKindSpec):
    kind = FormKind.field_visit
    tables = {"main": TableLayout(("项目", "内容"), (0,)),
              "items": TableLayout(("指标编号", "指标内容", "时间节点", "自评完成情况", "自评完成进度", "核实情况"), (0,),
                                   label="逐项核实表")}
    landscape = False
    remind_subject = False  # the field team, not the unit, returns it

    def specs(self, view: CycleView) -> list[FormSpec]:
        specs = []
        for unit in view.units.values():
            tables = {"main": [[label] for label in FIELD_VISIT_ROWS]}
            items = sorted(view.undertaken.get(unit.unit_id, []), key=lambda i: view.indicators[i].number)
            reported = []
            if items:
                tables["items"] = [[str(view.indicators[i].number)] for i in items]
                for i in items:
                    situation, progress = view.self_assessment_of(unit.unit_id, view.indicators[i].number)
                    reported.append([view.indicators[i].text, view.indicators[i].milestone_raw, situation, progress])
            submission = view.submissions.get(unit.unit_id)
            specs.append(FormSpec(self.kind, unit.code, unit.unit_id, unit.short_name, tables,
                                  {"unit_name": unit.name, "reported": reported, "returned": submission is not None}))
        return specs

    def render(self, document, spec: FormSpec, *, form_no: str, deadline_text: str, office: str) -> None:
        form_page.form_line(document, f"表单编号：{form_no}　　报送截止：{deadline_text}")
        form_page.form_line(document, "填写说明：实地调研结束后由调研组填写，“实地调研得分”为 0–100 的分数；请勿修改左栏项目名称。", size=layout.SIZE_5)
        rows = [[label, spec.extra["unit_name"] if label == "被调研单位" else ""] for (label,) in spec.tables["main"]]
        layout.table(document, list(self.tables["main"].header), rows, widths_mm=[40, 134], size=layout.SIZE_SMALL_4,
                     shaded_columns=(0,))
        if "items" not in spec.tables:
            return
        form_page.form_line(document, "逐项核实：对照该单位自评表报送的完成情况、完成进度和时间节点实地核实（办法三(一)），"
                         "在“核实情况”栏写明核实结果（如：属实；进度不符，实为推进中；佐证材料不全）；未核实的留空。"
                         + ("" if spec.extra.get("returned") else "该单位在本表下发时尚未报送自评表。"), size=layout.SIZE_5)
        rows = [r + reported + [""] for r, reported in zip(spec.tables["items"], spec.extra["reported"], strict=True)]
        items = self.tables["items"]
        layout.table(document, list(items.header), rows, widths_mm=[12, 40, 22, 50, 18, 32], shaded_columns=(0, 1, 2, 3, 4))

    def record_return(self, session: Session, returned: ReturnedForm) -> tuple[str, dict]:
        cycle, form, upload = returned.cycle, returned.form, returned.upload
        values = {row[0]: row[1].strip() for row in returned.tables["main"]}
        score_text = fold(values.get("实地调研得分", ""))
        if not score_text:
            raise InvalidInput(f"{upload.name}（{form.form_no}）“实地调研得分”一栏未填写：请填写 0–100 的分数后重新发送。")
        try:
            score = parse_score(score_text, percent_ok=True)
        except ValueError:
            raise InvalidInput(f"{upload.name}（{form.form_no}）第 {FIELD_VISIT_ROWS.index('实地调研得分') + 2} 行“内容”列："
                               f"实地调研得分“{values['实地调研得分']}”不是数字。") from None
        # What the team found item by item, where it wrote something (逐项核实).
        findings = {fold(row[0]): row[5].strip() for row in returned.tables.get("items", []) if row[5].strip()}
        note = "；".join(f"{k}：{values[k]}" for k in ("发现的问题", "评分说明", "调研组成员", "调研日期") if values.get(k))
        if findings:
            note = "；".join(filter(None, [note, "逐项核实：" + "，".join(f"指标{n}{text}" for n, text in findings.items())]))
        ctx = CycleContext(session, cycle)
        entries = [ComponentScoreEntry(form.subject_unit_id, score, note,
                                       f"第 {FIELD_VISIT_ROWS.index('实地调研得分') + 2} 行“内容”列")]
        problems = validate_component_entries(Component.field, ctx, entries)[0]
        if problems:
            raise InvalidInput(f"{upload.name}（{form.form_no}）需要更正：", problems)
        record_component_scores(session, cycle, Component.field, entries, source=Component.field.label, actor=returned.actor,
                                file_name=upload.name, received_file_id=returned.received_file_id, context=ctx)
        return (f"实地调研记录已收到：得分 {score}" + (f"，逐项核实 {len(findings)} 项" if findings else "")
                + ("（逾期）" if returned.late else ""), {"score": str(score), "findings": findings})

    def deadline(self, session: Session, plan: CyclePlan, *, today: date) -> date:
        return plan.results_deadline

    def recipients(self, session: Session, settings: Settings, cycle: Cycle, form: IssuedForm) -> list[str]:
        """The team visiting the unit; the specialist team while no visit is confirmed."""
        visit = session.exec(select(Visit).where(Visit.cycle_id == cycle.id, Visit.unit_id == form.subject_unit_id)).first()
        return [m["email"] for m in visit.members] if visit else [settings.office_email]

    def greeting(self, session: Session, settings: Settings, cycle: Cycle, form: IssuedForm, address: str) -> str:
        """The team member it is sent to (王建国同志), never the unit visited; the 专班 while no visit is confirmed."""
        visit = session.exec(select(Visit).where(Visit.cycle_id == cycle.id, Visit.unit_id == form.subject_unit_id)).first()
        names = {m["email"].strip().lower(): m["name"] for m in (visit.members if visit else [])}
        name = names.get(address.strip().lower())
        return f"{name}同志" if name else "数字政府专班" if address == settings.office_email else "您好"
