"""Issue 26 item 8 (Deliver 4): the demo's simulated days. `make demo` sets kaoping's one clock (``utcnow``)
through the file ``KAOPING_CLOCK_FILE`` names, read by every process of the demo; everything a person reads
is then dated on the simulated day — the letter's date, the Date: header (office time, +0800), "还剩N个工作日" —
never on the real one. Production (``KAOPING_ENVIRONMENT=production``) ignores the file."""

from __future__ import annotations

import email
import time
from datetime import UTC, date, datetime, timedelta
from email import policy
from zoneinfo import ZoneInfo

from kaoping.models import FormKind, OutboxMessage
from kaoping.models.types import CLOCK_FILE, set_simulated_clock, utcnow
from kaoping.notifications.delivery import build_email
from kaoping.notifications.reminders import run_reminders
from sqlmodel import select

from kaoping import db
from kaoping.domain.clock import chinese_time, letter_day, letter_time
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.forms import build_forms
from tests import factories

TZ = ZoneInfo("Asia/Shanghai")


def test_letters_write_days_and_times_as_an_office_does():
    friday = date(2022, 7, 8)
    assert letter_day(friday, today=date(2022, 7, 5)) == "7月8日（星期五）"
    assert letter_day(friday, today=date(2026, 12, 7)) == "2022年7月8日（星期五）"  # another year: said
    at = datetime(2022, 7, 6, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
    assert letter_time(at, TZ, today=date(2022, 7, 6)) == "7月6日10:00"
    assert letter_time(at, TZ, today=date(2023, 1, 3)) == chinese_time(at, TZ) == "2022年7月6日10:00"


def test_the_clock_file_sets_the_day_and_runs_on(tmp_path, monkeypatch):
    path = tmp_path / "clock.txt"
    monkeypatch.setenv(CLOCK_FILE, str(path))
    monkeypatch.setenv("KAOPING_ENVIRONMENT", "development")
    set_simulated_clock(path, datetime(2022, 7, 5, 9, 0, tzinfo=TZ))
    first = utcnow()
    assert first.astimezone(TZ).date() == date(2022, 7, 5) and first.tzinfo is not None
    time.sleep(0.01)
    assert timedelta(0) < utcnow() - first < timedelta(minutes=1)  # time runs on from the simulated instant
    set_simulated_clock(path, datetime(2022, 7, 29, 10, 30, tzinfo=TZ))  # the next simulated day
    assert utcnow().astimezone(TZ).date() == date(2022, 7, 29)
    monkeypatch.setenv("KAOPING_ENVIRONMENT", "production")  # never in production
    assert utcnow().year == datetime.now(UTC).year


def test_a_reminder_on_a_simulated_day_is_dated_that_day(initialized_db, settings, tmp_path, monkeypatch):
    factories.open_cycle(settings)
    with db.session_scope(settings) as session:
        build_forms(session, settings, get_cycle(session, "2022H1"), FormKind.self_assessment, deadline=date(2022, 7, 8),
                    units=["150202"], actor="test")
    path = tmp_path / "clock.txt"
    monkeypatch.setenv(CLOCK_FILE, str(path))
    monkeypatch.setenv("KAOPING_ENVIRONMENT", "development")
    set_simulated_clock(path, datetime(2022, 7, 5, 9, 0, tzinfo=TZ))  # the demo's daily run, Tuesday 09:00
    with db.session_scope(settings) as session:
        run_reminders(session, settings, today=utcnow().astimezone(TZ).date())
        message = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "reminder")).one()
        sent = email.message_from_bytes(build_email(settings, message, session), policy=policy.default)
    assert "7月8日（星期五）截止，还剩 3 个工作日" in message.text_body
    assert message.text_body.rstrip().endswith("2022年7月5日") and "2026年" not in message.text_body
    assert message.created_at.astimezone(TZ).date() == date(2022, 7, 5)
    stamped = sent["Date"].datetime
    assert stamped.utcoffset() == timedelta(hours=8) and stamped.date() == date(2022, 7, 5)
    assert sent["Date"].endswith("+0800")
