"""Where a cycle stands (`kaoping status`, and the Prefect artifacts of the cycle flow): the
stages and what each waits for, returns received vs expected per kind of form (per unit, per
lead assessor), late units, the outbox, the sign-offs, and the step the cycle flow takes next."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session, func, select

from kaoping.domain.clock import local_date
from kaoping.models import (
    Cycle,
    CyclePlan,
    CycleStatus,
    FormKind,
    IssuedForm,
    MessageStatus,
    OutboxMessage,
    ReceivedFile,
    SignoffRequest,
    Submission,
    Unit,
    Visit,
)
from kaoping.services.cycles.cycle import cycle_label
from kaoping.settings import OFFICE_TIMEZONE

STATE_LABELS = {"done": "已完成", "waiting": "等待中", "ready": "可进行", "todo": "未开始", "blocked": "需处理"}

#: What the cycle flow does next: ``wait`` (returns or people outstanding), or a step it can take now.
NextStep = Literal["plan", "issue", "lead_sheets", "wait", "verification", "objections", "approval", "publish", "done"]


@dataclass
class Stage:
    key: str
    label: str
    state: str  # one of STATE_LABELS
    detail: str = ""

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass
class KindStatus:
    kind: FormKind
    expected: int
    received: int
    late: list[str] = field(default_factory=list)  # returned after the deadline
    overdue: list[str] = field(default_factory=list)  # not returned, deadline passed
    waiting: list[str] = field(default_factory=list)  # not returned, deadline not passed


    @property
    def complete(self) -> bool:
        return self.received >= self.expected


@dataclass
class CycleStatusReport:
    cycle: Cycle
    kinds: list[KindStatus]
    outbox: dict[str, int]
    signoffs: list[str]
    stages: list[Stage] = field(default_factory=list)
    next_step: NextStep = "plan"
    waiting_for: str = ""
    numbers: list[str] = field(default_factory=list)  # 发文字号 given to this cycle's documents

    def kind(self, kind: FormKind) -> KindStatus | None:
        return next((k for k in self.kinds if k.kind is kind), None)

    @property
    def actionable(self) -> bool:
        """The cycle flow would do something if it ran now."""
        return self.next_step not in ("plan", "wait", "done")  # a person starts a cycle; then it moves by itself

    def lines(self) -> list[str]:
        c = self.cycle
        out = [f"{cycle_label(c)}考评 {c.code}：{CycleStatus(c.status).label}"]
        for stage in self.stages:
            out.append(f"  [{stage.state_label}] {stage.label}" + (f"：{stage.detail}" if stage.detail else ""))
        if self.waiting_for:
            out.append(f"  下一步：{self.waiting_for}")
        if not self.kinds:
            out.append("  尚未下发任何表格（kaoping forms send）。")
        for k in self.kinds:
            out.append(f"  {k.kind.label}：应收 {k.expected}，已收 {k.received}" + (f"（其中逾期 {len(k.late)}）" if k.late else ""))
            if k.overdue:
                out.append(f"    逾期未交：{'、'.join(k.overdue)}")
            if k.waiting and len(k.waiting) <= 12:
                out.append(f"    待交：{'、'.join(k.waiting)}")
            elif k.waiting:
                out.append(f"    待交：{len(k.waiting)} 个单位")
            if k.late:
                out.append(f"    逾期报送：{'、'.join(k.late)}")
        box = "，".join(f"{MessageStatus(s).label} {n}" for s, n in sorted(self.outbox.items()))
        out.append(f"  发件箱：{box or '无'}")
        out += [f"  {line}" for line in self.signoffs] or ["  签字：尚未提请"]
        out.append(f"  发文字号：{'；'.join(self.numbers)}" if self.numbers else "  发文字号：尚未印发（未编号）")
        return out

    def markdown(self, *, links: dict[str, str] | None = None, updated: str = "") -> str:
        """The 进展 artifact of the Prefect UI (``kaoping-<cycle>-jinzhan``): stages with their dates
        (office time), the returns, the late units, the sign-offs, and links to the rest
        (``links``: artifact key suffix → URL)."""
        c, links = self.cycle, links or {}
        rows = [f"# {cycle_label(c)}考评进展（{c.code}）", "",
                f"**状态**：{CycleStatus(c.status).label}" + (f"　·　更新于 {updated}（北京时间）" if updated else "")]
        if self.waiting_for:
            rows += ["", f"**下一步**：{self.waiting_for}"]
        rows += ["", "## 各环节", "", "| 环节 | 状态 | 日期与说明 |", "|---|---|---|"]
        rows += [f"| {s.label} | {s.state_label} | {s.detail} |" for s in self.stages]
        if self.kinds:
            rows += ["", "## 回收情况", "", "| 表格 | 应收 | 已收 | 逾期报送 | 逾期未交 |", "|---|--:|--:|--:|--:|"]
            rows += [f"| {k.kind.label} | {k.expected} | {k.received} | {len(k.late)} | {len(k.overdue)} |" for k in self.kinds]
        late = self.late_units()
        rows += ["", f"## 逾期单位（{len(late)} 个）", "", "、".join(late) if late else "暂无"]
        if self.signoffs:
            rows += ["", "## 签字", ""] + [f"- {line.removeprefix('签字：')}" for line in self.signoffs]
        if self.numbers:
            rows += ["", f"**发文字号**：{'；'.join(self.numbers)}"]
        more = [f"[{label}]({links[key]})" for key, label in (
            ("returns", "应收与已收明细"), ("results", "考评结果"), ("daihexiao", "待核实清单"),
            ("audit-anchor", "审计锚点")) if links.get(key)]
        if more:
            rows += ["", "**相关内容**：" + "　·　".join(more)]
        return "\n".join(rows)

    def returns_table(self) -> list[dict]:
        """Returns received vs expected, one row per unit or lead assessor and kind of form."""
        table = []
        for k in self.kinds:
            for state, names in (("逾期未交", k.overdue), ("待交", k.waiting), ("已交（逾期）", k.late)):
                table += [{"表格": k.kind.label, "单位": n, "状态": state} for n in names]
            table.append({"表格": k.kind.label, "单位": f"合计：应收 {k.expected}", "状态": f"已收 {k.received}"})
        return table

    def late_units(self) -> list[str]:
        return sorted({n for k in self.kinds for n in k.overdue + k.late})


def cycle_status(session: Session, cycle: Cycle, *, today: date, tz: tzinfo | None = None) -> CycleStatusReport:
    """``tz``: the office's zone (``settings.tz``) the dates are shown in."""
    names = dict(session.exec(select(Unit.id, Unit.short_name)).all())
    accepted = {}
    for details, received_at in session.exec(select(ReceivedFile.details, ReceivedFile.received_at).where(
            ReceivedFile.status == "accepted", ReceivedFile.purpose.like("intake.%"))):
        if details and details.get("form_no"):
            accepted.setdefault(details["form_no"], details.get("late", False))
    late_submissions = {s.unit_id for s in session.exec(select(Submission).where(Submission.cycle_id == cycle.id,
                                                                                   Submission.current, Submission.late))}
    kinds = []
    # The columns read here only: a form's issued rows (a lead's sheet at province scale: thousands) are not.
    forms = session.exec(select(IssuedForm.kind, IssuedForm.subject_unit_id, IssuedForm.form_no, IssuedForm.deadline)
                         .where(IssuedForm.cycle_id == cycle.id, IssuedForm.current)).all()
    for kind in FormKind:
        of_kind = [f for f in forms if f.kind == kind]
        if not of_kind:
            continue
        status = KindStatus(kind, len(of_kind), 0)
        for f in of_kind:
            label = names.get(f.subject_unit_id, "全部考评对象")
            if f.form_no in accepted:
                status.received += 1
                if accepted[f.form_no] or f.subject_unit_id in late_submissions and kind is FormKind.self_assessment:
                    status.late.append(label)
            elif f.deadline and today > f.deadline:
                status.overdue.append(label)
            else:
                status.waiting.append(label)
        kinds.append(status)
    outbox = dict(Counter(dict(session.exec(select(OutboxMessage.status, func.count()).where(
        OutboxMessage.cycle_code == cycle.code).group_by(OutboxMessage.status)).all())))
    signoffs = []
    for r in session.exec(select(SignoffRequest).where(SignoffRequest.cycle_id == cycle.id).order_by(SignoffRequest.id)):
        stage = {"verification": "专班核实", "approval": "分管领导审定"}.get(r.stage, r.stage)
        state = {"pending": "待签字", "used": {"approve": "已签字同意", "reject": "已退回"}.get(r.decision, "已签"),
                 "superseded": "已作废（重新提请）", "locked": "验证码错误次数过多，已作废",
                 "spent": "验证码已提交但签字未生效，已作废"}.get(r.status, r.status)
        signoffs.append(f"签字：{stage}（{r.signer_name}）{state}" + (f"，意见：{r.comments}" if r.comments else ""))
    report = CycleStatusReport(cycle, kinds, outbox, signoffs, numbers=issued_numbers(session, cycle.code))
    _stages(session, cycle, report, today, tz or ZoneInfo(OFFICE_TIMEZONE))
    return report


def issued_numbers(session: Session, cycle_code: str) -> list[str]:
    """The register's entries for a cycle, readable: the 通报's and 报告's numbers, the 反馈函 as a range."""
    from kaoping.services.reports.doc_numbers import register

    entries = register(session, cycle_code=cycle_code)
    lines = [f"{'通报' if e.document.startswith('tongbao') else '报告'} {e.text}" for e in entries
             if e.document.startswith(("tongbao:", "baogao:"))]
    letters = [e for e in entries if e.document.startswith("fankui:")]
    if letters:
        first, last = letters[0], letters[-1]
        span = first.text if len(letters) == 1 else f"{first.prefix}〔{first.year}〕{first.serial}—{last.serial}号"
        contiguous = last.serial - first.serial + 1 == len(letters) and first.year == last.year
        lines.append(f"反馈函 {len(letters)} 份 " + (span if contiguous else "、".join(e.text for e in letters)))
    return lines


def _returns(k: KindStatus | None, deadline: date | None, today: date) -> tuple[str, str]:
    if k is None:
        return "todo", ""
    text = f"已收 {k.received}/{k.expected}" + (f"，{deadline:%Y-%m-%d} 截止" if deadline else "")
    if k.overdue:
        text += f"，逾期未交 {len(k.overdue)}（{'、'.join(k.overdue[:6])}{'等' if len(k.overdue) > 6 else ''}）"
    return ("done" if k.complete else "waiting"), text


def _stages(session: Session, cycle: Cycle, report: CycleStatusReport, today: date, tz: tzinfo) -> None:
    """The stages of the cycle (docs/cycle.md) and the step the cycle flow takes next, all read from the database."""
    from kaoping.services.signoff.signatures import STAGES, pending_request

    plan = session.exec(select(CyclePlan).where(CyclePlan.cycle_id == cycle.id)).first()
    status = CycleStatus(cycle.status)
    stages = [Stage("open", "开启周期", "done", f"{local_date(cycle.opened_at, tz)} 由 {cycle.opened_by} 开启")]
    if plan is None:
        stages.append(Stage("plan", "确定日程", "ready", "由周期流程在首次运行时确定"))
        report.stages, report.next_step = stages, "plan"
        report.waiting_for = "在 Prefect 界面开启半年考评（部署“半年考评”）：确定日程并下发表格。"
        return
    stages.append(Stage("plan", "确定日程", "done", f"自评截止 {plan.self_assessment_deadline}，调研 {plan.visit_start}—"
                        f"{plan.visit_end}，结果截止 {plan.results_deadline}"))
    sa = report.kind(FormKind.self_assessment)
    state, text = _returns(sa, plan.self_assessment_deadline, today)
    stages.append(Stage("self_assessment", "自评表下发与回收", state, text))
    lead = report.kind(FormKind.lead_scoring)
    lead_ready = sa is not None and (sa.complete or today > plan.self_assessment_deadline)
    if lead is None:
        stages.append(Stage("lead_scoring", "评分表下发与回收", "ready" if lead_ready else "todo",
                            "自评表已收齐或已过截止日期，可下发" if lead_ready else "自评表收齐或截止后下发（附各单位自评内容）"))
    else:
        state, text = _returns(lead, plan.scoring_deadline, today)
        stages.append(Stage("lead_scoring", "评分表下发与回收", state, text))
    visits = session.exec(select(func.count()).select_from(Visit).where(Visit.cycle_id == cycle.id)).one()
    visit_forms = report.kind(FormKind.field_visit)
    state, text = _returns(visit_forms, plan.results_deadline, today)
    if visit_forms is None:
        text = "调研记录表在自评表收齐或截止后下发（附各单位自评内容）"
    stages.append(Stage("field_visit", "实地调研（排期、邀请、调研记录）", state if visits else "todo",
                        (f"已排 {visits} 次，调研记录" + text) if visits else ""))
    for kind, label in ((FormKind.third_party, "第三方评估结果"), (FormKind.opinion, "民意调查结果")):
        state, text = _returns(report.kind(kind), plan.results_deadline, today)
        stages.append(Stage(kind.value, label, state, text))

    # The visit record forms show what each unit reported (办法三(一)): they go out with the scoring sheets.
    issued_first = all(report.kind(k) is not None for k in (FormKind.self_assessment, FormKind.third_party,
                                                                FormKind.opinion)) and visits > 0
    after_returns_issued = lead is not None and visit_forms is not None
    returned = issued_first and after_returns_issued and all(k.complete for k in report.kinds)
    objections = None
    for stage_key, done_states in (("verification", (CycleStatus.verified, CycleStatus.approved, CycleStatus.closed)),
                                   ("approval", (CycleStatus.approved, CycleStatus.closed))):
        request = pending_request(session, cycle, stage_key)
        if status in done_states:
            stages.append(Stage(stage_key, STAGES[stage_key] + "签字", "done"))
        elif request is not None:
            stages.append(Stage(stage_key, STAGES[stage_key] + "签字", "waiting",
                                f"已向 {request.signer_name} 发送验证码，等待签字"
                                + (f"（上次：{request.last_message}）" if request.last_message else "")))
        else:
            stages.append(Stage(stage_key, STAGES[stage_key] + "签字", "todo"))
        if stage_key == "verification":  # the objection stage (异议期, issue 17) between the two sign-offs
            objections = _objection_stage(session, cycle, status, today)
            if objections is not None:
                stages.append(objections[0])
    stages.append(Stage("publish", "印发报告并分发", "done" if status is CycleStatus.closed else "todo",
                        f"已结束（{local_date(cycle.closed_at, tz)}）" if status is CycleStatus.closed and cycle.closed_at else ""))
    report.stages = stages

    if status is CycleStatus.closed:
        report.next_step, report.waiting_for = "done", "本周期已结束：报告已印发并分发。"
    elif status is CycleStatus.approved:
        report.next_step, report.waiting_for = "publish", "生成通报、报告、反馈函和结果表并分发。"
    elif status is CycleStatus.verified and objections is not None and objections[1].step != "done":
        state = objections[1]
        report.next_step, report.waiting_for = ("objections" if state.step == "open" else "wait"), state.waiting_for()
    elif status is CycleStatus.verified:
        report.next_step, report.waiting_for = "approval", "分管领导审定签字。"
    elif not issued_first:
        report.next_step, report.waiting_for = "issue", "下发自评表、第三方评估和民意调查委托，安排实地调研。"
    elif not after_returns_issued and lead_ready:
        report.next_step, report.waiting_for = "lead_sheets", "下发评分表和实地调研记录表（附各单位自评内容）。"
    elif not returned:
        missing = [f"{k.kind.label} {k.expected - k.received} 份" for k in report.kinds if not k.complete]
        report.next_step = "wait"
        report.waiting_for = ("等待回收：" + "，".join(missing)) if missing else "等待自评表收齐或截止后下发评分表。"
    else:
        report.next_step, report.waiting_for = "verification", "专班核实签字（验证码发给专班负责人）。"


def _objection_stage(session: Session, cycle: Cycle, status: CycleStatus, today: date):
    """(the stage row, the window's state), or None when the cycle's policy has no objection window."""
    from kaoping.services.objections.window import window_state

    state = window_state(session, cycle, today=today)
    if not state.enabled:
        return None
    if state.step == "done":
        row = Stage("objections", "征求意见与异议处理", "done", state.detail())
    elif status is CycleStatus.verified:
        row = Stage("objections", "征求意见与异议处理", "ready" if state.step == "open" else "waiting", state.detail())
    else:
        row = Stage("objections", "征求意见与异议处理", "todo" if state.window is None else "waiting", state.detail())
    return row, state


def results_table(session: Session, cycle: Cycle) -> tuple[list[dict], list[str]]:
    """The ranking as it stands (for the artifact and the sign-off summary), or the problems
    that keep it from being computed yet."""
    from kaoping.domain.errors import KaopingError
    from kaoping.services.scoring.results import compute_cycle, result_rows

    try:
        inputs, results = compute_cycle(session, cycle)
    except KaopingError as exc:
        return [], exc.problems or [exc.message]
    groups = {"district": "旗县区、稀土高新区", "department": "市直部门、单位"}
    return [{"分组": groups.get(r["group"], r["group"]), "名次": r["rank"], "单位": r["unit_name"], "总分": r["total"],
             "等次": r["grade"], "监测": r["monitoring"] or "", "实地调研": r["field"] or "", "民意调查": r["opinion"] or "",
             "第三方评估": r["third_party"] or "", "加减分": r["adjustments"], "说明": "；".join(r["flags"])}
            for r in result_rows(inputs, results)], []
