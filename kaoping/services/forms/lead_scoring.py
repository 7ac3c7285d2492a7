"""评分表: one per lead assessor, a row per (indicator it leads, responsible unit) with the unit's
self-assessment copied in; and, where it leads a whole container of open items, a first table
in which it may set their points (rule 三(四))."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlmodel import Session

from kaoping.adapters.spreadsheets import parse_score
from kaoping.adapters.word import form_page, layout
from kaoping.domain.errors import InvalidInput
from kaoping.domain.scoring import points_text
from kaoping.domain.text import fold
from kaoping.models import Cycle, CyclePlan, FormKind, IssuedForm, Unit
from kaoping.services.cycles.cycle import require_open
from kaoping.services.forms.kind import (
    FormKindSpec,
    FormSpec,
    ReturnedForm,
    TableLayout,
    form_unit_codes,
    register,
)
from kaoping.services.forms.view import CycleView
from kaoping.services.reference.contacts import unit_contacts
from kaoping.services.reference.workdays import WorkCalendar
from kaoping.services.scoring.entry import (
    CycleContext,
    LeadScoreEntry,
    allocate_points,
    parse_item_score,
    record_lead_scores,
    validate_lead_entries,
)
from kaoping.settings import Settings


@register
class LeadScoring(FormKindSpec):
    kind = FormKind.lead_scoring
    tables = {
        "allocation": TableLayout(("指标编号", "所在分组/大项", "应合计分值", "默认分值", "明确分值"), (0, 1, 2, 3),
                                  label="评分表的分值明确表"),
        "main": TableLayout(("指标编号", "指标分值", "被考评单位", "自评完成情况", "自评完成进度", "得分", "扣分说明"), (0, 1, 2)),
    }

    def specs(self, view: CycleView) -> list[FormSpec]:
        specs = []
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
            # Open items of a container whose items all have the same leads, this one among them:
            # it may allocate their points (with its co-leads; rule 三(四)). A container whose items
            # have different leads is allocated by the specialist team, not on a sheet.
            allocation = []
            containers = sorted({view.points[i].container for i in indicators if view.points[i].basis != "given"})
            for container in containers:
                members = sorted((p for p in view.points.values() if p.container == container), key=lambda p: p.number)
                lead_sets = {frozenset(view.leads[p.indicator_id]) for p in members}
                if len(lead_sets) == 1 and lead_id in next(iter(lead_sets)):
                    for p in members:
                        allocation.append([str(p.number), view.container_label(container), view.container_points(container),
                                           points_text(p.points) if p.basis == "default" else f"{points_text(p.points)}（已明确）"])
            tables = {"main": main}
            if allocation:
                tables["allocation"] = allocation
            subject_label = view.names[lead_id]
            specs.append(FormSpec(self.kind, lead_code, lead_id, subject_label, tables,
                                  {"unit_codes": unit_codes, "copied": copied}))
        return specs

    def render(self, document, spec: FormSpec, *, form_no: str, deadline_text: str, office: str) -> None:
        form_page.form_line(document, f"牵头考核单位：{spec.subject_label}　　报送截止：{deadline_text}　　表单编号：{form_no}")
        form_page.form_line(document, "填写说明：", bold=True)
        for line in (
            "1. 请对每个被考评单位承担的本单位牵头指标逐项评分，“得分”在 0 至“指标分值”之间，可保留两位小数；扣分的请在“扣分说明”中写明原因。"
            "满分可填“满分”；指标分值为约数的（如 0.6667，即 2/3 分），填 0.6667 或“满分”即为满分。",
            "2. 标注“（自评项）”的是本单位自身的得分，将由市政府办公室数字政府专班核实（办法三(二)）。",
            "3. 未标分值的指标（办法三(四)）：请在评分前于第一张表“明确分值”栏中明确各指标分值，同一分组/大项须全部填写且合计等于“应合计分值”；"
            "多个单位共同牵头的，各牵头单位明确的分值一致后生效；不填则按默认分值（平均分配）计分，并在结果中注明。已有评分的指标分值不再更改。",
            "4. 请勿增删表格行、调整顺序，或修改指标编号、分值、单位等栏目。",
        ):
            form_page.form_line(document, line, size=layout.SIZE_5)
        if "allocation" in spec.tables:
            form_page.form_line(document, "一、明确未标分值指标的分值（可选）", bold=True)
            rows = [r + [""] for r in spec.tables["allocation"]]
            allocation = self.tables["allocation"]
            layout.table(document, list(allocation.header), rows, widths_mm=[20, 110, 30, 40, 61],
                         shaded_columns=allocation.identity_columns)
            form_page.form_line(document, "二、评分", bold=True)
        rows = [r + [copied[0], copied[1], "", ""] for r, copied in zip(spec.tables["main"], spec.extra["copied"], strict=True)]
        layout.table(document, list(self.tables["main"].header), rows, widths_mm=[14, 22, 30, 100, 25, 20, 50],
                     shaded_columns=(0, 1, 2, 3, 4))

    def record_return(self, session: Session, returned: ReturnedForm) -> tuple[str, dict]:
        cycle, form, upload, tables, actor = returned.cycle, returned.form, returned.upload, returned.tables, returned.actor
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
                    raise InvalidInput(f"{upload.name}（{form.form_no}）分值明确表“{container}”：{exc.message}",
                                       exc.problems) from None
                allocated.append(container)
        # 2. Scores, through the one score-entry service.
        ctx = CycleContext(session, cycle)
        codes = {u.code: u.unit_id for u in ctx.units.values()}
        entries = []
        for index, (row, code) in enumerate(zip(tables["main"], form_unit_codes(form), strict=True), start=2):
            number, score_text, note = fold(row[0]), fold(row[5]), row[6].strip()
            if not score_text:
                continue  # not scored yet: `kaoping check` lists what is missing
            indicator = ctx.indicator_by_number[int(number)]
            try:
                score = parse_item_score(score_text, ctx.points[indicator.id].points)
            except ValueError:
                problems.append(f"第 {index} 行（指标 {number}，{row[2]}）“得分”列：“{row[5]}”不是数字，"
                                "请填写 0 至指标分值之间的数（满分也可填“满分”）。")
                continue
            unit_id = codes[code]
            entries.append(LeadScoreEntry(unit_id, indicator.id, lead.id, score, note, f"第 {index} 行"))
        problems += validate_lead_entries(ctx, entries)[0]
        if problems:
            raise InvalidInput(f"{upload.name}（{form.form_no}）有 {len(problems)} 处需要更正，未录入任何分数：", problems)
        summary = record_lead_scores(session, cycle, entries, source=f"{form.form_no} {upload.name}", actor=actor,
                                     received_file_id=returned.received_file_id, context=ctx)
        blank = len(tables["main"]) - len(entries)
        text = f"评分表已收到：录入 {len(entries)} 项得分（新增 {summary.created}，更新 {summary.replaced}，未变 {summary.unchanged}）"
        if blank:
            text += f"；{blank} 项未评分"
        if allocated:
            text += f"；已明确 {'、'.join(allocated)} 的指标分值"
        if returned.late:
            text += "；已逾期，标注为逾期报送"
        return text, {"scores": len(entries), "blank": blank, "allocated": allocated}

    def deadline(self, session: Session, plan: CyclePlan, *, today: date) -> date:
        """Fixed when the sheets first go out: ``scoring_workdays`` working days from that day."""
        if plan.scoring_deadline is None:
            plan.scoring_deadline = WorkCalendar.load(session).add_workdays(today, plan.scoring_workdays)
            session.add(plan)
        return plan.scoring_deadline

    def recipients(self, session: Session, settings: Settings, cycle: Cycle, form: IssuedForm) -> list[str]:
        return unit_contacts(session, form.subject_unit_id)
