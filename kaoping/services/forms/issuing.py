"""Issuing forms by hand (`kaoping forms build|send`, `kaoping thirdparty request`): the units
as people write them, and building one kind of form with its emails queued, one per recipient.

The cycle flow issues forms through ``stages.issue`` (deadlines from the cycle's plan, once per
kind); this is the operator's way, with a chosen deadline and units, repeatable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlmodel import Session

from kaoping.models import Cycle, FormKind, Unit
from kaoping.notifications.outbox import Attachment, queue
from kaoping.notifications.render import due, render
from kaoping.services.cycles.cycle import cycle_label
from kaoping.services.forms import BuiltForm, build_forms, kind_spec
from kaoping.services.reference.registry import UnitDirectory
from kaoping.settings import Settings


def unit_codes(session: Session, written: list[str] | None) -> list[str] | None:
    """The codes of the units written (code, name or alias); None (all units) when none are written."""
    if not written:
        return None
    directory = UnitDirectory.load(session)
    return [directory.resolve(u).code for u in written]


@dataclass
class SentForms:
    built: list[BuiltForm]
    queued: int  # new messages (those queued before are not queued again)
    missing: list[str] = field(default_factory=list)  # forms nobody could be sent (no address)


def send_forms(session: Session, settings: Settings, cycle: Cycle, kind: FormKind, *, deadline: date | None,
               units: list[str] | None, actor: str) -> SentForms:
    """Build the forms of one kind and queue one message per recipient, in the caller's transaction."""
    built = build_forms(session, settings, cycle, kind, deadline=deadline, units=unit_codes(session, units),
                        actor=actor)
    sent = SentForms(built, 0)
    for b in built:
        recipients = form_recipients(session, settings, cycle, b)
        if not recipients:
            sent.missing.append(b.subject_label)
            continue
        sent.queued += queue_form(session, settings, cycle, b, recipients=recipients)
    return sent


def form_recipients(session: Session, settings: Settings, cycle: Cycle, built) -> list[str]:
    """Who gets a form: its kind decides (``FormKindSpec.recipients``): the unit's 联络员, the
    team visiting the unit, the evaluator or survey office, …"""
    return kind_spec(built.form.kind).recipients(session, settings, cycle, built.form)


def queue_form(session: Session, settings: Settings, cycle: Cycle, built, *, recipients: list[str]) -> int:
    """One message per recipient with the form attached (idempotent per form version)."""
    form = built.form
    kind = kind_spec(form.kind)
    unit = session.get(Unit, form.subject_unit_id) if form.subject_unit_id else None
    attachment = Attachment(f"{form.form_no}-{built.subject_label}-{kind.label}.docx", Path(form.path).read_bytes())
    created = 0
    for address in recipients:
        greeting = kind.greeting(session, settings, cycle, form, address)
        rendered = render(  # one per recipient: each is addressed by name (a unit, an agency, a team member)
            kind.email_template, settings,
            greeting=greeting, period=cycle_label(cycle), form_label=kind.label, form_no=form.form_no,
            form_kind=str(kind.kind), about=unit.short_name if unit and greeting != unit.short_name else "",
            deadline=due(form.deadline, settings) if form.deadline else "通知规定的时间",
            deadline_day=due(form.deadline, settings, weekday=False) if form.deadline else "通知规定的时间",
            units=sum(1 for row in form.rows if row[0] == "main"),
        )
        _, new = queue(session, settings, key=f"form:{form.form_no}:v{form.version}:{address}", kind="form_issued",
                       to=[address], subject=rendered.subject, text=rendered.text, html=rendered.html,
                       attachments=[attachment], cycle_code=cycle.code)
        created += new
    return created
