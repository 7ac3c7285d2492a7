"""Moving cycles on without anyone watching: the intake flow (after it accepted returns) and the
reminders flow (daily) start a run of the cycle deployment for every cycle that can take a
step now (issue the scoring sheets, ask for a sign-off, publish) and has no run already
scheduled, running or waiting for a signature. Deciding is a read of the database; starting
is one API call; the cycle flow itself does the work."""

from __future__ import annotations

from datetime import date
from kaoping.models.types import utcnow

from kaoping.models import Cycle, CycleStatus
from sqlmodel import select

from kaoping import db
from kaoping.adapters.prefect_runs import start_cycle_runs
from kaoping.services.stages.status import cycle_status
from kaoping.settings import Settings


def cycles_ready(settings: Settings, today: date) -> list[tuple[int, int, str]]:
    """(year, half, what next) of every cycle the cycle flow would move on if it ran now."""
    ready = []
    with db.session_scope(settings) as session:
        for cycle in session.exec(select(Cycle).where(Cycle.status != CycleStatus.closed).order_by(Cycle.year, Cycle.half)):
            report = cycle_status(session, cycle, today=today, tz=settings.tz)
            if report.actionable:
                ready.append((cycle.year, cycle.half, report.waiting_for))
    return ready


def advance_cycles(settings: Settings, *, today: date | None, reason: str) -> list[str]:
    """Start the cycle flow where it has something to do; returns the cycle codes started."""
    day = today or utcnow().astimezone(settings.tz).date()
    ready = cycles_ready(settings, day)
    if not ready:
        return []
    return start_cycle_runs(settings.prefect_deployment, ready, today=today, reason=reason)
