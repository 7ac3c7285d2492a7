"""Reminders before deadlines and escalation after them, in working days (催报与督办).

Policy (settings): remind at 3 and 1 working days before a deadline and on the day; after
it, every ``escalate_every`` working days an overdue notice to the unit's 联络员 and an
escalation to its 负责人 with the specialist team in copy. Nothing goes to a unit that has
returned the form; at most one reminder per unit per day (several open forms make one
digest), which the idempotency key ``reminder:<unit>:<day>`` enforces even if the job
runs twice. On days that are not working days nothing is sent.

Every day (working day or not) the latest audit anchor is mailed to the 专班 mailbox
(``mail_audit_anchor``): a copy of the log's head that has left the machine, so a cut or a
re-sealed log is bounded by a day. Nothing is sent on a day the log did not grow.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from kaoping.models import (
    ContactRole,
    Cycle,
    CycleStatus,
    IssuedForm,
    ReceivedFile,
    Unit,
)
from kaoping.notifications.outbox import queue
from kaoping.notifications.render import render
from sqlmodel import Session, select

from kaoping.domain.clock import chinese_time, letter_day
from kaoping.models.types import utcnow
from kaoping.records import audit
from kaoping.services.cycles.cycle import cycle_label
from kaoping.services.forms import kind_spec
from kaoping.services.reference.contacts import unit_contacts
from kaoping.services.reference.workdays import WorkCalendar
from kaoping.settings import Settings


@dataclass
class ReminderRun:
    today: date
    workday: bool
    reminders: list[str] = field(default_factory=list)  # unit names
    overdue: list[str] = field(default_factory=list)
    escalations: list[str] = field(default_factory=list)
    queued: int = 0
    anchor: str = ""  # the audit anchor mailed to the 专班 today ("" when the log did not grow)


def _returned_form_numbers(session: Session) -> set[str]:
    rows = session.exec(select(ReceivedFile.details).where(ReceivedFile.status == "accepted",
                                                           ReceivedFile.purpose.like("intake.%"))).all()
    return {d.get("form_no") for d in rows if d}


def mail_audit_anchor(session: Session, settings: Settings, *, today: date) -> str:
    """Mail the audit head (an anchor) to the 专班 mailbox, once a day and only when the log grew since
    the last such mail; the message carries it in X-Kaoping-Audit-Anchor and its body. Returns the anchor."""
    from kaoping.models import OutboxMessage

    seq, seal = audit.head(session)
    last = session.exec(select(OutboxMessage.audit_anchor).where(OutboxMessage.kind == "audit_anchor")
                        .order_by(OutboxMessage.id.desc())).first()
    if seq == 0 or (last or "").startswith(f"{seq}:"):
        return ""
    rendered = render("audit_anchor", settings, greeting="数字政府专班", seq=seq, seal=seal,
                      when=chinese_time(utcnow(), settings.tz))
    message, _ = queue(session, settings, key=f"audit-anchor:{today.isoformat()}", kind="audit_anchor",
                       to=[settings.office_email], subject=rendered.subject, text=rendered.text, html=rendered.html)
    return message.audit_anchor


def run_reminders(session: Session, settings: Settings, *, today: date) -> ReminderRun:
    calendar = WorkCalendar.load(session)
    run = ReminderRun(today, calendar.is_workday(today))
    run.anchor = mail_audit_anchor(session, settings, today=today)
    run.queued += bool(run.anchor)
    if not run.workday:
        return run
    returned = _returned_form_numbers(session)
    open_cycles = {c.id: c for c in session.exec(select(Cycle).where(Cycle.status == CycleStatus.open))}
    # The columns read here only, not each form's issued rows (thousands in a lead's sheet at province scale).
    forms = session.exec(select(IssuedForm.cycle_id, IssuedForm.form_no, IssuedForm.subject_unit_id, IssuedForm.kind,
                                IssuedForm.deadline).where(IssuedForm.current, IssuedForm.deadline.is_not(None))).all()
    before: dict[int, list[dict]] = defaultdict(list)
    after: dict[int, list[dict]] = defaultdict(list)
    cycles_of: dict[int, Cycle] = {}
    for form in forms:
        if form.cycle_id not in open_cycles or form.form_no in returned or form.subject_unit_id is None:
            continue
        kind = kind_spec(form.kind)
        if not kind.remind_subject:
            continue  # someone else returns it (the field team for a visit record)
        item = {"form_label": kind.label, "form_no": form.form_no, "deadline": letter_day(form.deadline, today=today)}
        cycles_of[form.subject_unit_id] = open_cycles[form.cycle_id]
        if today <= form.deadline:
            left = calendar.workdays_between(today, form.deadline)
            if left in settings.remind_before:
                before[form.subject_unit_id].append({**item, "days_left": left})
        else:
            over = calendar.workdays_between(form.deadline, today)
            if over >= 1 and (over - 1) % settings.escalate_every == 0:
                after[form.subject_unit_id].append({**item, "days_over": over})
    units = {u.id: u for u in session.exec(select(Unit))}
    for unit_id in sorted(set(before) | set(after)):
        unit, cycle = units[unit_id], cycles_of[unit_id]
        liaison = unit_contacts(session, unit_id, ContactRole.liaison)
        if not liaison:
            continue
        period = cycle_label(cycle)
        # One message per unit per day: overdue items and coming deadlines together.
        kind = "overdue" if after.get(unit_id) else "reminder"
        items = after.get(unit_id) or before[unit_id]
        rendered = render(kind, settings, greeting=unit.short_name, period=period, items=items)
        _, created = queue(session, settings, key=f"reminder:{unit.code}:{today.isoformat()}", kind=kind, to=liaison,
                           subject=rendered.subject, text=rendered.text, html=rendered.html, cycle_code=cycle.code)
        run.queued += created
        (run.overdue if kind == "overdue" else run.reminders).append(unit.short_name)
        if after.get(unit_id):
            heads = unit_contacts(session, unit_id, ContactRole.head)
            if heads:
                rendered = render("escalation", settings, greeting=f"{unit.short_name}负责同志", unit=unit.short_name,
                                  period=period, items=after[unit_id])
                _, created = queue(session, settings, key=f"escalation:{unit.code}:{today.isoformat()}", kind="escalation",
                                   to=heads, cc=[settings.office_email], subject=rendered.subject, text=rendered.text,
                                   html=rendered.html, cycle_code=cycle.code)
                run.queued += created
                run.escalations.append(unit.short_name)
    return run
