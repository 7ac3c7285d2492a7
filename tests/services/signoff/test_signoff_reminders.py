"""Signers who have not answered are reminded on working days, once a day, and an expired code is
renewed (kaoping/services/signoff/signatures.py: remind_signers), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

from kaoping.models import OutboxMessage, SignoffRequest
from kaoping.models.types import utcnow
from sqlmodel import select

from kaoping import db
from kaoping.services.reference.workdays import WorkCalendar
from kaoping.services.signoff.signatures import remind_signers
from tests.factories import emailed_code, request_signoff, scored_cycle
from tests.factories import give_signoff as give_signoff_with_code


def test_signers_are_reminded_on_working_days_and_expired_codes_renewed(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    request_signoff(settings, "verification")

    def remind(day):
        with db.session_scope(settings) as session:
            return remind_signers(session, settings, today=day, calendar=WorkCalendar.load(session))

    def reminders_sent():
        with db.session_scope(settings) as session:
            return session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_reminder")).all()

    assert remind(date(2022, 7, 16)).reminded == []  # a Saturday
    assert remind(date(2022, 7, 18)).reminded == ["专班负责人（2022H1 专班核实）"]
    assert remind(date(2022, 7, 18)).reminded == []  # once a day, however often the job runs
    [sent] = reminders_sent()
    assert sent.to == [settings.verifier_email] and "尚未签字" in sent.subject
    with db.session_scope(settings) as session:  # three days later the code has expired
        request = session.exec(select(SignoffRequest)).one()
        request.expires_at = utcnow() - timedelta(minutes=1)
        session.add(request)
    assert remind(date(2022, 7, 19)).renewed == ["专班负责人（2022H1 专班核实）"]
    with db.session_scope(settings) as session:
        statuses = [r.status for r in session.exec(select(SignoffRequest).order_by(SignoffRequest.id))]
    assert statuses == ["superseded", "pending"]
    new_code = emailed_code(settings, "verification")
    assert give_signoff_with_code(settings, "verification", code=new_code).ok  # the renewed code signs
