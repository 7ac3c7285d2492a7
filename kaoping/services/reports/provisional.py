"""The provisional 反馈函 (征求意见稿): what each unit receives when the objection window opens
(异议期), before the approval — every item's score, its lead assessor, the reason for each
deduction, and how to object. No 文号: the published 反馈函 takes its number at publication."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlmodel import Session, select

from kaoping.adapters.fanout import Fanout, serial
from kaoping.adapters.files import write_bytes_atomically
from kaoping.adapters.word import layout, writer
from kaoping.domain.clock import chinese_date
from kaoping.domain.errors import Conflict
from kaoping.domain.labels import GROUP_LABELS
from kaoping.domain.scoring import fmt, points_text, score_text
from kaoping.models import Cycle, CycleStatus, CycleUnit, ObjectionWindow
from kaoping.models.types import utcnow
from kaoping.notifications.outbox import Attachment, queue, refuse_development_secret
from kaoping.notifications.render import due, render
from kaoping.records import audit
from kaoping.services.cycles.cycle import cycle_label
from kaoping.services.objections import form as objection_form
from kaoping.services.objections.window import (
    ACTOR,
    closing_day,
    current_ranks,
    letter_key,
    objection_policy,
    results_digest,
    signed_again,
    window_of,
)
from kaoping.services.reference.contacts import unit_contacts
from kaoping.services.reference.workdays import WorkCalendar
from kaoping.services.reports.placeholders import refuse_placeholders
from kaoping.services.reports.documents import (
    _contact,
    _render_text,
    _template,
    indicator_titles,
)
from kaoping.services.scoring.results import compute_cycle, result_rows
from kaoping.settings import Settings

DRAFT_MARK = "征求意见稿"


def deduction_reason(item, names: dict) -> str:
    """Why an item scored below its points: the lead assessors' notes and the team's adjustment."""
    if not item.points or item.value >= item.points:
        return ""
    notes = [f"{names.get(lead, lead)}：{v.note}" if len(item.lead_scores) > 1 else v.note
             for lead, v in item.lead_scores.items() if v.note]
    if item.verification is not None and item.verification.kind == "adjust":
        notes.append(f"经专班核实调整为{fmt(item.verification.value)}分")
    return "；".join(notes) or "牵头考核单位未说明扣分原因"


@dataclass(frozen=True)
class ProvisionalJob:
    """Everything one 征求意见稿 反馈函 is made of, as plain picklable values (issue 29)."""

    issuer_name: str
    result: object  # the unit's ``UnitResult``
    row: dict
    places: int
    titles: dict[int, str]
    leads: dict
    names: dict
    period: str
    group_count: int
    closes_on: date
    signed: date
    contact: str
    grades: bool = True  # 等次 printed only when the policy names the issued 实施细则

    @property
    def file_name(self) -> str:
        return f"{self.result.unit.code}-{self.result.unit.short_name}-反馈函（征求意见稿）.docx"


def render_provisional(job: ProvisionalJob) -> bytes:
    """The Word file of one 征求意见稿 反馈函: a pure function of its job."""
    result, row, places, titles, names, leads = job.result, job.row, job.places, job.titles, job.names, job.leads
    facts = {"period": job.period, "unit": {"name": result.unit.name}, "total": row["total"], "rank": row["rank"],
             "grade": row["grade"], "group_label": GROUP_LABELS[result.unit.group],
             "group_count": job.group_count, "monitoring": row["monitoring"], "field": row["field"],
             "opinion": row["opinion"], "third_party": row["third_party"], "adjustments": row["adjustments"],
             "flags": row["flags"], "closes": chinese_date(job.closes_on), "listed": result.listed,
             "base": row["base"], "own_points": row["own_points"], "grades": job.grades}
    document = layout.official_document()
    layout.draft_mark(document, DRAFT_MARK)
    layout.letter_head(document, job.issuer_name, "")

    def items(doc):
        body = [[str(item.number), titles.get(item.number, ""), points_text(item.points), score_text(item.value, item.points, places),
                 "、".join(names.get(lead, str(lead)) for lead in leads.get(item.number, ())),
                 deduction_reason(item, names)]
                for item in result.items]
        header = ["指标序号", "内容", "分值", "得分", "牵头考核单位", "扣分原因"]
        layout.table(doc, header, body, widths_mm=layout.fitted_widths(header, body, wrap=(1, 4, 5)))

    _render_text(document, _template("fankui_draft.txt.j2").render(**facts), {"items": items})
    layout.signature_and_date(document, job.issuer_name, chinese_date(job.signed))
    layout.note(document, job.contact)
    return writer.docx_bytes(document)


def build_provisional_letters(session: Session, settings: Settings, cycle: Cycle, out_dir: Path, *, signed: date,
                              closes_on: date, fanout: Fanout = serial) -> dict[str, Path]:
    """One 征求意见稿 反馈函 per unit, by unit code (rendered by ``fanout``, written here)."""
    inputs, results = compute_cycle(session, cycle, detailed=True)
    titles = indicator_titles(session, inputs)
    rows = {r["unit_code"]: r for r in result_rows(inputs, results)}
    counts = Counter(r.unit.group for r in results if r.ranked)  # "共 N 个单位" of a rank: the ranked ones
    leads = {spec.number: spec.leads for spec in inputs.items.values()}
    period = cycle_label(cycle)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [ProvisionalJob(settings.issuer_name, result, rows[result.unit.code], inputs.policy.rounding.places, titles,
                           leads, inputs.unit_names, period, counts[result.unit.group], closes_on, signed, _contact(settings),
                           bool(inputs.policy.rules.adopted_by.strip()))
            for result in sorted(results, key=lambda r: r.unit.position)]
    letters = {}
    for job, data in zip(jobs, fanout(render_provisional, jobs), strict=True):
        path = out_dir / job.file_name
        write_bytes_atomically(path, data)  # whole or not at all (a full disk)
        letters[job.result.unit.code] = path
    return letters


@dataclass
class Opened:
    closes_on: date
    letters: int
    queued: int
    skipped: bool
    round: int = 1


#: what a provisional 反馈函 prints (its 附注 and signature)
LETTER_SETTINGS = ("office_name", "issuer_name", "contact_office", "contact_name", "contact_phone")


def open_window(session: Session, settings: Settings, cycle: Cycle, *, today: date, actor: str = ACTOR,
                fanout: Fanout = serial) -> Opened:
    """Build every unit's provisional 反馈函 and queue its email, in the caller's transaction (so
    the window, the letters' record and the emails exist together or not at all)."""
    existing = window_of(session, cycle)
    if existing is not None and not signed_again(session, cycle, existing):
        return Opened(existing.closes_on, existing.letters, 0, True, existing.round)
    round_ = existing.round + 1 if existing is not None else 1
    policy = objection_policy(session, cycle)
    if not policy.enabled:
        raise Conflict(f"{cycle.code} 的计分规则未设异议期（objections.enabled: false）。")
    if cycle.status != CycleStatus.verified:
        raise Conflict(f"{cycle.code} 当前为“{CycleStatus(cycle.status).label}”：专班核实签字后才能发送征求意见稿、开始异议期。")
    # The objection form is signed: never with the built-in development secret unless explicitly in development mode.
    refuse_development_secret(settings, objection_form.LABEL)
    refuse_placeholders(settings, "发出初步结果反馈函（征求意见稿）", LETTER_SETTINGS)
    calendar = WorkCalendar.load(session)
    closes_on = closing_day(calendar, today, policy.workdays)
    out_dir = settings.var_dir / "objections" / cycle.code
    if round_ > 1:  # the earlier round's letters and forms stay as they were sent
        out_dir = out_dir / f"第{round_}轮"
    letters = build_provisional_letters(session, settings, cycle, out_dir, signed=today, closes_on=closes_on, fanout=fanout)
    window = existing or ObjectionWindow(cycle_id=cycle.id, opened_on=today, closes_on=closes_on,
                                         workdays=policy.workdays)
    window.opened_on, window.closes_on, window.workdays, window.letters = today, closes_on, policy.workdays, len(letters)
    window.opened_at, window.opened_by, window.round = utcnow(), actor, round_
    window.results_digest = results_digest(session, cycle)
    session.add(window)
    session.flush()
    queued = 0
    for unit in session.exec(select(CycleUnit).where(CycleUnit.cycle_id == cycle.id).order_by(CycleUnit.position)):
        recipients = unit_contacts(session, unit.unit_id)
        if not recipients or unit.code not in letters:
            continue
        rendered = render("objection_letter", settings, greeting=unit.short_name, period=cycle_label(cycle),
                          closes=due(closes_on, settings), closes_day=due(closes_on, settings, weekday=False), workdays=policy.workdays, again=round_ > 1)
        path = letters[unit.code]
        form = out_dir / objection_form.file_name(unit)
        write_bytes_atomically(form, objection_form.build(settings, cycle, unit, closes_on=closes_on, version=round_))
        _, created = queue(session, settings, key=letter_key(cycle, unit.code, round_), kind="objection_letter", to=recipients,
                           subject=rendered.subject, text=rendered.text, html=rendered.html,
                           attachments=[Attachment(path.name, path.read_bytes()), Attachment(form.name, form.read_bytes())],
                           cycle_code=cycle.code)
        queued += created
    audit.append(session, actor=actor, action="objections.window.open", entity=f"cycle:{cycle.code}", cycle_code=cycle.code,
                 after={"opened_on": today, "closes_on": closes_on, "workdays": policy.workdays, "letters": len(letters),
                        "out": str(out_dir), "ranks": current_ranks(session, cycle), "round": round_},
                 reason=(f"发送初步结果反馈函（征求意见稿），异议期 {policy.workdays} 个工作日" if round_ == 1 else
                         f"退回修改后结果有变化，重新发送初步结果反馈函（征求意见稿，第 {round_} 轮），"
                         f"异议期 {policy.workdays} 个工作日"))
    return Opened(closes_on, len(letters), queued, False, round_)
