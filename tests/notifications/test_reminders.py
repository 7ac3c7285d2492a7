"""Working days across Spring Festival 2026 and for a year without data; the reminder
policy day by day; calendar invitations."""

from __future__ import annotations

from datetime import date

import pytest
from kaoping.models import FormKind, OutboxMessage
from sqlmodel import select

from kaoping import db
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.forms import build_forms
from kaoping.services.reference.workdays import WorkCalendar
from tests import factories


def test_spring_festival_2026_and_the_make_up_saturday():
    cal = WorkCalendar()
    assert cal.is_workday(date(2026, 2, 13))  # Friday before the holiday
    assert cal.is_workday(date(2026, 2, 14))  # Saturday: make-up working day (调休)
    assert not cal.is_workday(date(2026, 2, 16)) and not cal.is_workday(date(2026, 2, 23))  # 春节 holiday
    assert cal.is_workday(date(2026, 2, 24))
    # Three working days after Friday 2026-02-13: 02-14 (Sat, make-up), 02-24, 02-25.
    assert cal.add_workdays(date(2026, 2, 13), 3) == date(2026, 2, 25)
    assert cal.workdays_between(date(2026, 2, 13), date(2026, 2, 24)) == 2
    assert cal.workdays_between(date(2026, 2, 24), date(2026, 2, 13)) == -2


def test_a_year_without_published_data_uses_overrides_then_weekends(caplog):
    cal = WorkCalendar({date(2027, 2, 8): False, date(2027, 2, 20): True})
    with caplog.at_level("WARNING", logger="kaoping.calendar"):
        assert cal.is_workday(date(2027, 3, 1))  # a Monday: weekend rule
    assert "2027" in caplog.text and "周末规则" in caplog.text
    assert not cal.is_workday(date(2027, 3, 6))  # Saturday
    assert not cal.is_workday(date(2027, 2, 8)) and cal.is_workday(date(2027, 2, 20))  # the office's overrides


def test_calendar_cli(initialized):
    ok = initialized("calendar", "check", "2026")
    assert ok.exit_code == 0 and "02-14" in ok.output and "chinese-calendar" in ok.output
    missing = initialized("calendar", "check", "2027")
    assert missing.exit_code != 0 and "尚无 2027 年" in missing.output
    assert initialized("calendar", "set", "2027-02-06", "--workday", "--note", "春节调休").exit_code == 0
    again = initialized("calendar", "check", "2027")
    assert "覆盖表（1 条）" in again.output and "02-06" in again.output


@pytest.fixture
def deadline_forms(initialized, settings):
    """Self-assessment forms for 东河区 and 青山区, due Wednesday 2022-07-06 (working days around it)."""
    factories.open_cycle(settings)
    with db.session_scope(settings) as session:
        build_forms(session, settings, get_cycle(session, "2022H1"), FormKind.self_assessment, deadline=date(2022, 7, 6),
                    units=["150202", "150204"], actor="test")
        build_forms(session, settings, get_cycle(session, "2022H1"), FormKind.lead_scoring, deadline=date(2022, 7, 6),
                    units=["wjw"], actor="test")
    return initialized


def reminders_on(cli, day: str):
    result = cli("reminders", "run", "--today", day)
    assert result.exit_code == 0, result.output
    return result.output


def queued(settings) -> list[OutboxMessage]:
    with db.session_scope(settings) as session:
        return session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_reminder_policy_day_by_day(deadline_forms, settings, tmp_path):
    cli = deadline_forms
    # 2022-07-06 is a Wednesday: 3 working days before = Friday 07-01; 1 before = Tuesday 07-05.
    assert "提醒 0 个单位" in reminders_on(cli, "2022-06-30")
    out = reminders_on(cli, "2022-07-01")
    assert "提醒 3 个单位" in out  # 东河区, 青山区 and 市卫健委 (its scoring sheet)
    assert "不是工作日" in reminders_on(cli, "2022-07-02")  # Saturday
    assert "提醒 0 个单位" in reminders_on(cli, "2022-07-04")  # 2 working days before: no reminder
    reminders_on(cli, "2022-07-05")
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
    assert cli("intake", tmp_path / "qs.docx").exit_code == 0
    on_the_day = reminders_on(cli, "2022-07-06")
    assert "青山区" not in on_the_day and "东河区" in on_the_day
    # After the deadline: overdue + escalation on working days 1, 3, 5 … after it.
    first_over = reminders_on(cli, "2022-07-07")
    assert "逾期通知 2 个" in first_over and "督办 2 个" in first_over
    assert "逾期通知 0 个" in reminders_on(cli, "2022-07-08")
    assert "逾期通知 2 个" in reminders_on(cli, "2022-07-11")  # Monday: 3rd working day after
    # Running the same day twice queues nothing new (one message per unit per day).
    again = reminders_on(cli, "2022-07-11")
    assert "新放入发件箱 0 封" in again
    messages = queued(settings)
    donghe = [m for m in messages if m.to == ["liaison@150202.baotou.example"]]
    assert [m.kind for m in donghe] == ["reminder", "reminder", "reminder", "overdue", "overdue"]
    escalations = [m for m in messages if m.kind == "escalation"]
    assert escalations and all(m.cc == ["zhuanban@baotou.example"] for m in escalations)
    assert all(m.to[0].startswith("head@") for m in escalations)
    qingshan = [m.kind for m in messages if m.to == ["liaison@150204.baotou.example"]]
    assert qingshan == ["reminder", "reminder"]  # 07-01 and 07-05; nothing after it returned its form
