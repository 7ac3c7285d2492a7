"""What the third-party and public-opinion results sheets share: one sheet for all units, a
0–100 score per unit, returned by an outside body to the address in the settings."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from kaoping.adapters.spreadsheets import parse_score
from kaoping.adapters.word import form_page, layout
from kaoping.domain.errors import InvalidInput
from kaoping.domain.text import fold
from kaoping.models import Component, Cycle, CyclePlan, IssuedForm
from kaoping.services.forms.kind import (
    FormKindSpec,
    FormSpec,
    ReturnedForm,
    TableLayout,
    form_unit_codes,
)
from kaoping.services.forms.view import CycleView
from kaoping.services.scoring.entry import (
    ComponentScoreEntry,
    CycleContext,
    record_component_scores,
    validate_component_entries,
)
from kaoping.settings import Settings


class ResultsSheet(FormKindSpec):
    """Subclasses set ``kind``, ``component``, ``filled_by`` and ``recipient_setting``."""

    tables = {"main": TableLayout(("序号", "单位", "得分", "说明"), (0, 1))}
    component: Component
    filled_by: str  # who fills it in, as printed on the form
    recipient_setting: str  # the settings field with the address it goes to

    def specs(self, view: CycleView) -> list[FormSpec]:
        rows = [[str(n), u.short_name] for n, u in enumerate(view.units.values(), start=1)]
        codes = [u.code for u in view.units.values()]
        return [FormSpec(self.kind, "all", None, "全部考评对象", {"main": rows}, {"unit_codes": codes})]

    def render(self, document, spec: FormSpec, *, form_no: str, deadline_text: str, office: str) -> None:
        form_page.form_line(document, f"填报：{self.filled_by}　　报送截止：{deadline_text}　　表单编号：{form_no}")
        form_page.form_line(document, "填写说明：请为每个单位填写 0–100 的得分（可保留两位小数），必要时在“说明”栏注明；请勿增删行或修改序号、单位名称。",
                         size=layout.SIZE_5)
        rows = [r + ["", ""] for r in spec.tables["main"]]
        layout.table(document, list(self.tables["main"].header), rows, widths_mm=[16, 70, 40, 135], shaded_columns=(0, 1))

    def record_return(self, session: Session, returned: ReturnedForm) -> tuple[str, dict]:
        cycle, form, upload, component = returned.cycle, returned.form, returned.upload, self.component
        ctx = CycleContext(session, cycle)
        codes = {u.code: u.unit_id for u in ctx.units.values()}
        problems, entries, blank = [], [], []
        for index, (row, code) in enumerate(zip(returned.tables["main"], form_unit_codes(form), strict=True), start=2):
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
        summary = record_component_scores(session, cycle, component, entries, source=component.label, actor=returned.actor,
                                          file_name=upload.name, received_file_id=returned.received_file_id, context=ctx)
        text = f"{self.label}已收到：录入 {len(entries)} 个单位的得分（新增 {summary.created}，更新 {summary.replaced}）"
        if blank:
            text += f"；未填写得分的单位：{'、'.join(blank)}"
        return text, {"scores": len(entries), "blank": blank}

    def deadline(self, session: Session, plan: CyclePlan, *, today: date) -> date:
        return plan.results_deadline

    def recipients(self, session: Session, settings: Settings, cycle: Cycle, form: IssuedForm) -> list[str]:
        return [getattr(settings, self.recipient_setting)]

    def greeting(self, session: Session, settings: Settings, cycle: Cycle, form: IssuedForm, address: str) -> str:
        """The agency by its name (``KAOPING_THIRD_PARTY_NAME``, ``KAOPING_OPINION_NAME``)."""
        return getattr(settings, self.recipient_setting.removesuffix("_email") + "_name")
