"""`kaoping outbox …`, `kaoping calendar …`, `kaoping reminders run` (kaoping/cli/mail.py)."""

from __future__ import annotations

from tests.cli.conftest import refused


def test_calendar_check_and_set_with_its_audit_entry(initialized):
    checked = initialized("calendar", "check", "2026")
    assert checked.exit_code == 0 and "调休上班" in checked.output
    set_day = initialized("calendar", "set", "2027-02-06", "--workday", "--note", "春节调休")
    assert set_day.exit_code == 0 and "已设定 2027-02-06：上班（春节调休）。" in set_day.output
    log = initialized("audit", "log", "--limit", "1")
    assert "calendar.set" in log.output and "day:2027-02-06" in log.output
    assert initialized("audit", "verify").exit_code == 0


def test_a_bad_day_is_refused(initialized):
    assert refused(initialized("calendar", "set", "2027/02/06", "--workday"), "日期“2027/02/06”格式不对")
    assert refused(initialized("reminders", "run", "--today", "tomorrow"), "格式不对")


def test_reminders_outbox_list_and_retry(opened):
    weekend = opened("reminders", "run", "--today", "2022-07-02")
    assert weekend.exit_code == 0 and "2022-07-02 不是工作日，不发提醒。" in weekend.output
    assert opened("forms", "send", "--cycle", "2022H1", "--kind", "opinion").exit_code == 0
    listed = opened("outbox", "list")
    assert listed.exit_code == 0 and "待发送" in listed.output
    retried = opened("outbox", "retry")
    assert retried.exit_code == 0 and "已将 0 封失败的邮件放回待发送。" in retried.output
