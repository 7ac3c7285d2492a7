"""The stages of a half-year cycle (docs/cycle.md) as services the cycle flow calls, one per task.

Each stage is idempotent and decides from the database whether it has work to do, so a
retried, resumed or crashed-and-restarted run repeats nothing: a kind of form is issued
and its emails queued in one transaction (so either all of them exist or none), visits are
confirmed once, the reports are built and their distribution queued in the transaction that
closes the cycle. The outbox sends each message once.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sqlmodel import Session, func, select

from kaoping.adapters.fanout import Fanout, serial
from kaoping.domain.errors import Conflict, InvalidInput, NotFound
from kaoping.domain.policy import load_policy
from kaoping.models import (
    AuditEntry,
    Cycle,
    CyclePlan,
    CycleStatus,
    FormKind,
    IssuedForm,
    Visit,
)
from kaoping.models.types import utcnow
from kaoping.records import audit
from kaoping.services.cycles.cycle import (
    get_cycle,
    open_cycle,
    parse_cycle_code,
    policy_of,
    set_status,
)
from kaoping.services.reference.workdays import WorkCalendar, package_covers
from kaoping.settings import Settings

ACTOR = "flow:half_year_cycle"

#: The forms of a cycle in the order they go out; lead scoring sheets wait for the
#: self-assessments they copy (all returned, or the deadline passed).
FIRST_FORMS = (FormKind.self_assessment, FormKind.third_party, FormKind.opinion)


@dataclass
class PlanChoice:
    """What the team chose when triggering the cycle (the run form in the Prefect UI)."""

    self_assessment_deadline: date | None = None
    self_assessment_workdays: int = 10
    scoring_workdays: int = 5
    results_workdays: int = 20
    visit_start: date | None = None
    visit_end: date | None = None
    # Why the visits start before the policy's earliest day after the self-assessment deadline (recorded,
    # stated in the 报告); without it such a window is refused.
    visit_early_reason: str | None = None
    teams: list[str] = field(default_factory=list)  # names of imported teams to send; empty: all of them
    policy_file: str | None = None
    default_responsibilities_reason: str | None = None  # without an imported 承担 list: why the default rule


@dataclass
class Prepared:
    cycle: Cycle
    plan: CyclePlan
    created: bool
    notes: list[str] = field(default_factory=list)


def prepare(session: Session, settings: Settings, code: str, choice: PlanChoice, *, today: date,
            actor: str = ACTOR) -> Prepared:
    """Open the cycle (if not yet) and fix its dates (if not yet). Later runs keep the dates
    of the first: they are printed on forms already sent."""
    parse_cycle_code(code)
    notes: list[str] = []
    try:
        cycle = get_cycle(session, code)
    except NotFound:
        cycle = None
    plan = session.exec(select(CyclePlan).where(CyclePlan.cycle_id == cycle.id)).first() if cycle else None
    if plan is not None:
        asked = [choice.self_assessment_deadline, choice.visit_start, choice.visit_end]
        fixed = [plan.self_assessment_deadline, plan.visit_start, plan.visit_end]
        if any(a is not None and a != f for a, f in zip(asked, fixed, strict=True)):
            notes.append(f"日期已在首次运行时确定（自评截止 {plan.self_assessment_deadline}，调研 {plan.visit_start}"
                         f"—{plan.visit_end}），本次填写的日期未采用：已下发的表格上印有这些日期。")
        return Prepared(cycle, plan, False, notes)

    # Everything the team chose is checked before anything is stored: a refusal leaves no half-opened cycle.
    from kaoping.services.visits.schedule import teams_for_cycle

    calendar = WorkCalendar.load(session)
    for y in sorted({today.year, today.year + (today.month == 12)}):
        if not package_covers(y) and not any(d.year == y for d in calendar.overrides):
            notes.append(f"注意：chinese-calendar 尚无 {y} 年节假日安排，工作日暂按周末规则计算；"
                         f"公布后请系统管理员录入（kaoping calendar set）或升级 chinese-calendar。")
    sa_deadline = choice.self_assessment_deadline or calendar.add_workdays(today, choice.self_assessment_workdays)
    if sa_deadline < today:
        raise InvalidInput(f"自评表截止日期 {sa_deadline} 早于今天 {today}：请填写今后的日期，或留空按工作日数计算。")
    if not calendar.is_workday(sa_deadline):
        raise InvalidInput(f"自评表截止日期 {sa_deadline} 不是工作日：请改为工作日（法定节假日和调休按国务院安排）。")
    policy_path = Path(choice.policy_file) if choice.policy_file else settings.data_dir / "policies" / "default.yaml"
    policy = policy_of(session, cycle) if cycle is not None else load_policy(policy_path)
    # The visits check on site what the units reported (办法三(一)): by default they start after the returns.
    earliest_visit = calendar.add_workdays(sa_deadline, policy.visits.after_returns_workdays)
    visit_start = choice.visit_start or earliest_visit
    visit_end = choice.visit_end or calendar.add_workdays(visit_start, policy.visits.workdays - 1)
    early_reason = (choice.visit_early_reason or "").strip()
    if visit_start >= earliest_visit:
        early_reason = ""
    elif not early_reason:
        raise InvalidInput(
            f"实地调研开始日期 {visit_start} 早于自评表截止（{sa_deadline}）后第 {policy.visits.after_returns_workdays} 个工作日"
            f"（{earliest_visit}）：调研组应对照各单位报送的自评内容实地核实（办法三(一)）。请把开始日期改为 {earliest_visit} 或以后"
            f"（或留空），确需提前的请在“调研提前的理由”中写明理由（记入审计日志并在报告中说明）。")
    if visit_end < visit_start:
        raise InvalidInput(f"实地调研结束日期 {visit_end} 早于开始日期 {visit_start}：请重新填写调研时间窗口。")
    if not any(calendar.is_workday(visit_start + timedelta(days=i)) for i in range((visit_end - visit_start).days + 1)):
        raise InvalidInput(f"实地调研时间 {visit_start}—{visit_end} 内没有工作日：请重新填写调研时间窗口。")
    results_deadline = max(calendar.add_workdays(today, choice.results_workdays), calendar.add_workdays(visit_end, 2))
    teams = teams_for_cycle(session, choice.teams)
    if cycle is None:
        cycle = open_cycle(session, code=code, policy=policy, policy_source=policy_path.name, actor=actor,
                           tz=settings.tz, default_responsibilities_reason=choice.default_responsibilities_reason or "")
        notes.append(f"已开启考评周期 {cycle.code}（计分规则 {policy_path.name}）。")
    team_names = [str(t.get("name")) for t in teams.get("teams") or []]
    plan = CyclePlan(cycle_id=cycle.id, self_assessment_deadline=sa_deadline, scoring_workdays=choice.scoring_workdays,
                     results_deadline=results_deadline, visit_start=visit_start, visit_end=visit_end,
                     visit_early_reason=early_reason, teams=teams, created_by=actor)
    session.add(plan)
    session.flush()
    audit.append(session, actor=actor, action="cycle.plan", entity=f"cycle:{cycle.code}", cycle_code=cycle.code,
                 after={"self_assessment_deadline": sa_deadline, "results_deadline": results_deadline,
                        "visit_window": [visit_start, visit_end],
                        **({"visit_early_reason": early_reason} if early_reason else {}), "scoring_workdays": choice.scoring_workdays,
                        "teams": team_names},
                 reason="确定考评周期日程")
    audit.record_anchor(session, settings, f"cycle.plan:{cycle.code}")
    if early_reason:
        notes.append(f"实地调研 {visit_start} 开始，早于自评表截止后第 {policy.visits.after_returns_workdays} 个工作日"
                     f"（{earliest_visit}）；理由：{early_reason}（记入审计日志，报告中说明）。")
    notes.append(f"日程：自评表 {sa_deadline} 截止；实地调研 {visit_start}—{visit_end}；"
                 f"第三方评估、民意调查结果和调研记录 {results_deadline} 截止；评分表下发后 {choice.scoring_workdays} 个工作日截止；调研组：{'、'.join(team_names)}。")
    return Prepared(cycle, plan, True, notes)


def plan_of(session: Session, cycle: Cycle) -> CyclePlan:
    plan = session.exec(select(CyclePlan).where(CyclePlan.cycle_id == cycle.id)).first()
    if plan is None:
        raise NotFound(f"{cycle.code} 还没有日程：请在 Prefect 界面开启：Deployments → 半年考评 → 右上角 Run → Custom run，填写年度和半年后点击 Submit。")
    return plan


def issued_count(session: Session, cycle: Cycle, kind: FormKind) -> int:
    return session.exec(select(func.count()).select_from(IssuedForm).where(
        IssuedForm.cycle_id == cycle.id, IssuedForm.kind == kind, IssuedForm.current)).one()


@dataclass
class Issued:
    kind: FormKind
    forms: int
    queued: int
    skipped: bool  # already issued by an earlier run


def issue(session: Session, settings: Settings, cycle: Cycle, kind: FormKind, *, today: date,
          actor: str = ACTOR, fanout: Fanout = serial) -> Issued:
    """Build the forms of one kind and queue their emails, in the caller's transaction (the Word files
    rendered by ``fanout``: in this process, or on the flow's task runner)."""
    from kaoping.services.forms import build_forms, kind_spec
    from kaoping.services.forms.issuing import form_recipients, queue_form

    existing = issued_count(session, cycle, kind)
    if existing:
        return Issued(kind, existing, 0, True)
    if cycle.status != CycleStatus.open:
        raise Conflict(f"{cycle.code} 已“{CycleStatus(cycle.status).label}”，不再下发{kind_spec(kind).label}。")
    plan = plan_of(session, cycle)
    deadline = kind_spec(kind).deadline(session, plan, today=today)
    built = build_forms(session, settings, cycle, kind, deadline=deadline, actor=actor, today=today, fanout=fanout)
    queued = sum(queue_form(session, settings, cycle, b, recipients=form_recipients(session, settings, cycle, b))
                 for b in built)
    return Issued(kind, len(built), queued, False)


@dataclass
class Arranged:
    visits: int
    queued: int
    skipped: bool


def arrange_visits(session: Session, settings: Settings, cycle: Cycle, *, actor: str = ACTOR) -> Arranged:
    """Plan the field visits in the cycle's window on working days and send the invitations."""
    from kaoping.services.visits.schedule import confirm_visits, plan_visits, read_teams

    existing = session.exec(select(func.count()).select_from(Visit).where(Visit.cycle_id == cycle.id)).one()
    if existing:
        return Arranged(existing, 0, True)
    plan = plan_of(session, cycle)
    teams = plan.teams or read_teams(Path(plan.teams_file))  # plans before teams were imported named a file
    visit_plan = plan_visits(session, cycle, start=plan.visit_start, end=plan.visit_end, teams_data=teams)
    queued = confirm_visits(session, settings, cycle, visit_plan, actor=actor)
    return Arranged(len(visit_plan.plan.visits), queued, False)


@dataclass
class Published:
    number: str
    out_dir: str
    queued: int
    skipped: bool


def publish(session: Session, settings: Settings, cycle: Cycle, *, signed: date, actor: str = ACTOR,
            fanout: Fanout = serial) -> Published:
    """Reports, their distribution and the cycle's closing, in one transaction: a crash leaves
    either all of it or none (files written before a crash are rewritten by the next run)."""
    from kaoping.services.reports.distribution import queue_report_distribution
    from kaoping.services.reports.documents import build_reports
    from kaoping.services.reports.placeholders import refuse_placeholders
    from kaoping.services.scoring.results import compute_cycle

    out_dir = settings.var_dir / "reports" / cycle.code
    previous = session.exec(select(AuditEntry).where(AuditEntry.action == "reports.publish",
                                                     AuditEntry.cycle_code == cycle.code).order_by(AuditEntry.id.desc())).first()
    if cycle.status == CycleStatus.closed:
        after = previous.after if previous else {}
        return Published(after.get("number", ""), after.get("out", str(out_dir)), 0, True)
    if cycle.status != CycleStatus.approved:
        raise Conflict(f"{cycle.code} 当前为“{CycleStatus(cycle.status).label}”：须分管领导审定后才能印发报告。")
    refuse_placeholders(settings, "印发通报、报告和反馈函")
    # Written in a staging folder and moved into place at the end of the transaction: a crash before
    # leaves no unrecorded letters where the published ones go (the staging folder is kept aside).
    staging = out_dir.parent / f".{out_dir.name}.staging-{uuid.uuid4().hex[:8]}"
    try:
        # One computation of the cycle for everything the publication says; the audit head goes into each
        # document's properties as it is saved (not by opening 600 files again afterwards).
        reports = build_reports(session, settings, cycle, staging, publish=True, signed=signed, actor=actor,
                                final_dir=out_dir, computed=compute_cycle(session, cycle, detailed=True),
                                anchor=audit.record_anchor(session, settings, f"reports.build:{cycle.code}"), fanout=fanout)
    except BaseException:  # a full disk, a refusal: nothing half-written stays behind (the transaction rolls back)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    queued = queue_report_distribution(session, settings, cycle, reports)
    set_status(session, cycle, CycleStatus.closed, actor=actor, reason=f"印发 {reports.number}，分发 {queued} 封邮件",
               action="cycle.closed")
    audit.record_anchor(session, settings, f"cycle.closed:{cycle.code}")
    cycle.closed_at = utcnow()
    session.add(cycle)
    session.flush()
    if out_dir.exists():  # files of a run that died before its commit: kept aside, never mixed in
        out_dir.rename(out_dir.parent / f".{out_dir.name}.unrecorded-{uuid.uuid4().hex[:8]}")
    staging.rename(out_dir)
    return Published(reports.number, str(out_dir), queued, False)
