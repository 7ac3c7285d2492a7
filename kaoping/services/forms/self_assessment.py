"""自评表: one per unit that undertakes indicators; the unit states, per indicator, how far it got."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from kaoping.adapters.word import form_page, layout
from kaoping.domain.errors import InvalidInput
from kaoping.domain.scoring import ranges
from kaoping.domain.text import fold
from kaoping.models import Cycle, CyclePlan, FormKind, IssuedForm, Submission
from kaoping.records import audit
from kaoping.services.cycles.cycle import require_open
from kaoping.services.forms.kind import (
    FormKindSpec,
    FormSpec,
    ReturnedForm,
    TableLayout,
    register,
)
from kaoping.services.forms.view import CycleView
from kaoping.services.reference.contacts import unit_contacts
from kaoping.settings import Settings

PROGRESS_CHOICES = ["完成", "取得明显成效", "取得阶段性成效", "推进中", "未启动"]


@register
class SelfAssessment(FormKindSpec):
    kind = FormKind.self_assessment
    tables = {
        "main": TableLayout(("指标编号", "指标内容", "牵头考核单位", "时间节点", "完成情况", "完成进度", "佐证材料"), (0, 1, 2, 3)),
    }

    def specs(self, view: CycleView) -> list[FormSpec]:
        specs = []
        for unit in view.units.values():
            items = sorted(view.undertaken.get(unit.unit_id, []), key=lambda i: view.indicators[i].number)
            if not items:
                continue
            rows = [
                [str(view.indicators[i].number), view.indicators[i].text, "、".join(view.names[u] for u in view.leads[i]),
                 view.indicators[i].milestone_raw]
                for i in items
            ]
            specs.append(FormSpec(self.kind, unit.code, unit.unit_id, unit.short_name, {"main": rows}, {"unit_name": unit.name}))
        return specs

    def render(self, document, spec: FormSpec, *, form_no: str, deadline_text: str, office: str) -> None:
        form_page.form_line(document, f"填报单位：{spec.extra['unit_name']}　　报送截止：{deadline_text}　　表单编号：{form_no}")
        form_page.form_line(document, "填写说明：", bold=True)
        for line in (
            "1. 请在“完成情况”栏如实填写每项指标的推进情况（可分段）；“完成进度”栏填写以下之一："
            + "、".join(PROGRESS_CHOICES) + "；“佐证材料”栏列出材料名称，每行一项。",
            "2. 请勿增删表格行、调整顺序，或修改指标编号、指标内容、牵头考核单位、时间节点；否则系统无法识别，表格将被退回。",
            f"3. 填好后保存为 Word (.docx) 文件，按原邮件回复发送，或交{office}。逾期报送的将被标注为逾期。",
        ):
            form_page.form_line(document, line, size=layout.SIZE_5)
        rows = [r + ["", "", ""] for r in spec.tables["main"]]
        main = self.tables["main"]
        layout.table(document, list(main.header), rows, widths_mm=[14, 82, 28, 28, 58, 22, 29],
                     shaded_columns=main.identity_columns)

    def record_return(self, session: Session, returned: ReturnedForm) -> tuple[str, dict]:
        cycle, form, upload, late = returned.cycle, returned.form, returned.upload, returned.late
        require_open(cycle)
        problems, rows, unfilled = [], [], []
        for index, row in enumerate(returned.tables["main"], start=2):
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
        session.add(Submission(cycle_id=cycle.id, unit_id=form.subject_unit_id, form_id=form.id,
                               received_file_id=returned.received_file_id, received_at=returned.received_at, late=late,
                               rows=rows))
        session.flush()
        audit.append(session, actor=returned.actor, action="intake.self_assessment",
                     entity=f"cycle:{cycle.code}/form:{form.form_no}", cycle_code=cycle.code,
                     before={"submission": previous.id} if previous else None,
                     after={"rows": len(rows), "late": late, "file": upload.name, "sha256": upload.sha256},
                     reason="收到自评表" + ("（逾期）" if late else ""))
        done = sum(1 for r in rows if r["progress"] == "完成")
        return (f"自评表已收到：{len(rows)} 项指标，其中“完成” {done} 项" + ("；已逾期，标注为逾期报送" if late else "")
                + ("；已替代此前报送的版本" if previous else "")), {"rows": len(rows), "replaced": previous is not None}

    def deadline(self, session: Session, plan: CyclePlan, *, today: date) -> date:
        return plan.self_assessment_deadline

    def recipients(self, session: Session, settings: Settings, cycle: Cycle, form: IssuedForm) -> list[str]:
        return unit_contacts(session, form.subject_unit_id)
