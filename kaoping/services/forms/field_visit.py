"""实地调研记录表: one per unit visited, returned by the visiting team with the 0–100 field score."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from kaoping.adapters.spreadsheets import parse_score
from kaoping.adapters.word import layout
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
    tables = {"main": TableLayout(("项目", "内容"), (0,))}
    landscape = False
    remind_subject = False  # the field team, not the unit, returns it

    def specs(self, view: CycleView) -> list[FormSpec]:
        return [FormSpec(self.kind, unit.code, unit.unit_id, unit.short_name, {"main": [[label] for label in FIELD_VISIT_ROWS]},
                         {"unit_name": unit.name})
                for unit in view.units.values()]

    def render(self, document, spec: FormSpec, *, form_no: str, deadline_text: str, office: str) -> None:
        layout.form_line(document, f"表单编号：{form_no}　　报送截止：{deadline_text}")
        layout.form_line(document, "填写说明：实地调研结束后由调研组填写，“实地调研得分”为 0–100 的分数；请勿修改左栏项目名称。", size=layout.SIZE_5)
        rows = [[label, spec.extra["unit_name"] if label == "被调研单位" else ""] for (label,) in spec.tables["main"]]
        layout.table(document, list(self.tables["main"].header), rows, widths_mm=[40, 134], size=layout.SIZE_SMALL_4,
                     shaded_columns=(0,))

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
        note = "；".join(f"{k}：{values[k]}" for k in ("发现的问题", "评分说明", "调研组成员", "调研日期") if values.get(k))
        ctx = CycleContext(session, cycle)
        entries = [ComponentScoreEntry(form.subject_unit_id, score, note,
                                       f"第 {FIELD_VISIT_ROWS.index('实地调研得分') + 2} 行“内容”列")]
        problems = validate_component_entries(Component.field, ctx, entries)[0]
        if problems:
            raise InvalidInput(f"{upload.name}（{form.form_no}）需要更正：", problems)
        record_component_scores(session, cycle, Component.field, entries, source=Component.field.label, actor=returned.actor,
                                file_name=upload.name, received_file_id=returned.received_file_id, context=ctx)
        return f"实地调研记录已收到：得分 {score}" + ("（逾期）" if returned.late else ""), {"score": str(score)}

    def deadline(self, session: Session, plan: CyclePlan, *, today: date) -> date:
        return plan.results_deadline

    def recipients(self, session: Session, settings: Settings, cycle: Cycle, form: IssuedForm) -> list[str]:
        """The team visiting the unit; the specialist team while no visit is confirmed."""
        visit = session.exec(select(Visit).where(Visit.cycle_id == cycle.id, Visit.unit_id == form.subject_unit_id)).first()
        return [m["email"] for m in visit.members] if visit else [settings.office_email]
