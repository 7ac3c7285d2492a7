"""Reminders, overdue notices and escalation (notifications/reminders.py), day by day around a deadline on
Chinese working days, on SQLite and PostgreSQL: one message per unit per day, none once its form is back.
(`kaoping reminders run`: tests/cli/test_mail.py; the reminders flow: tests/flows/test_flows_daily.py.)"""

from __future__ import annotations

from datetime import date

import pytest
from kaoping.models import FormKind, OutboxMessage
from kaoping.notifications.reminders import ReminderRun, run_reminders
from sqlmodel import select

from kaoping import db
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.forms import build_forms
from tests import factories


@pytest.fixture
def deadline_forms(initialized_db, settings):
    """Self-assessment forms for 东河区 and 青山区, due Wednesday 2022-07-06 (working days around it)."""
    factories.open_cycle(settings)
    with db.session_scope(settings) as session:
        build_forms(session, settings, get_cycle(session, "2022H1"), FormKind.self_assessment, deadline=date(2022, 7, 6),
                    units=["150202", "150204"], actor="test")
        build_forms(session, settings, get_cycle(session, "2022H1"), FormKind.lead_scoring, deadline=date(2022, 7, 6),
                    units=["wjw"], actor="test")
    return settings


def reminders_on(settings, day: str) -> ReminderRun:
    """`kaoping reminders run --today DAY` (the reminders flow every working day): what that day's run queued."""
    with db.session_scope(settings) as session:
        return run_reminders(session, settings, today=date.fromisoformat(day))


def named(run: ReminderRun) -> list[str]:
    """Every unit the run wrote to, as `kaoping reminders run` lists them."""
    return run.reminders + run.overdue + run.escalations


def queued(settings) -> list[OutboxMessage]:
    with db.session_scope(settings) as session:
        return session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_reminder_policy_day_by_day(deadline_forms, settings, tmp_path):
    # 2022-07-06 is a Wednesday: 3 working days before = Friday 07-01; 1 before = Tuesday 07-05.
    early = reminders_on(settings, "2022-06-30")
    assert early.workday and early.reminders == []
    assert len(reminders_on(settings, "2022-07-01").reminders) == 3  # 东河区, 青山区 and 市卫健委 (its scoring sheet)
    assert not reminders_on(settings, "2022-07-02").workday  # Saturday
    two_before = reminders_on(settings, "2022-07-04")  # 2 working days before: no reminder
    assert two_before.workday and two_before.reminders == []
    reminders_on(settings, "2022-07-05")
    # 青山区 returns its form before the deadline: no more messages to it.
    import docx

    from kaoping.adapters.word.layout import fill_cell

    with db.session_scope(settings) as session:
        from kaoping.models import IssuedForm

        path = session.exec(select(IssuedForm.path).where(IssuedForm.subject == "150204")).one()
    document = docx.Document(path)
    table = next(t for t in document.tables if len(t.rows[0].cells) == 7)
    for row in table.rows[1:]:
        fill_cell(row.cells[5], "推进中")
    document.save(tmp_path / "qs.docx")
    assert factories.take_in(settings, tmp_path / "qs.docx").accepted
    on_the_day = named(reminders_on(settings, "2022-07-06"))
    assert "青山区" not in on_the_day and "东河区" in on_the_day
    # After the deadline: overdue + escalation on working days 1, 3, 5 … after it.
    first_over = reminders_on(settings, "2022-07-07")
    assert len(first_over.overdue) == 2 and len(first_over.escalations) == 2
    assert reminders_on(settings, "2022-07-08").overdue == []
    assert len(reminders_on(settings, "2022-07-11").overdue) == 2  # Monday: 3rd working day after
    # Running the same day twice queues nothing new (one message per unit per day).
    again = reminders_on(settings, "2022-07-11")
    assert again.queued == 0
    messages = queued(settings)
    donghe = [m for m in messages if m.to == ["liaison@150202.baotou.example"]]
    assert [m.kind for m in donghe] == ["reminder", "reminder", "reminder", "overdue", "overdue"]
    escalations = [m for m in messages if m.kind == "escalation"]
    assert escalations and all(m.cc == ["zhuanban@baotou.example"] for m in escalations)
    assert all(m.to[0].startswith("head@") for m in escalations)
    qingshan = [m.kind for m in messages if m.to == ["liaison@150204.baotou.example"]]
    assert qingshan == ["reminder", "reminder"]  # 07-01 and 07-05; nothing after it returned its form
