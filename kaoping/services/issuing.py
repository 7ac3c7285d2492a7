"""Issuing forms by hand (`kaoping forms build|send`, `kaoping thirdparty request`): the units
as people write them, and building one kind of form with its emails queued, one per recipient.

The cycle flow issues forms through ``stages.issue`` (deadlines from the cycle's plan, once per
kind); this is the operator's way, with a chosen deadline and units, repeatable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session

from kaoping.models import Cycle, FormKind
from kaoping.services.forms import BuiltForm, build_forms
from kaoping.services.messages import form_recipients, queue_form
from kaoping.services.registry import UnitDirectory
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
