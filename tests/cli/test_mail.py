"""`kaoping outbox …`, `kaoping calendar …`, `kaoping reminders run` (kaoping/cli/mail.py)."""

from __future__ import annotations

from kaoping.notifications import delivery

from tests.cli.conftest import refused
from tests.factories import outbox_statuses, queue_mail
from tests.smtp_server import mail_settings

#: The office's calendar overrides and the outbox are checked on PostgreSQL too (tests/conftest.py: SQLITE_ONLY_FOLDERS).
BOTH_BACKENDS = {"test_calendar_cli", "test_outbox_cli_list_failed_and_retry"}


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


def test_reminders_outbox_list_and_retry(cycle_cli):
    weekend = cycle_cli("reminders", "run", "--today", "2022-07-02")
    assert weekend.exit_code == 0 and "2022-07-02 不是工作日，不发提醒。" in weekend.output
    assert cycle_cli("forms", "send", "--cycle", "2022H1", "--kind", "opinion").exit_code == 0
    listed = cycle_cli("outbox", "list")
    assert listed.exit_code == 0 and "待发送" in listed.output
    retried = cycle_cli("outbox", "retry")
    assert retried.exit_code == 0 and "已将 0 封失败的邮件放回待发送。" in retried.output


def test_calendar_cli(initialized):
    ok = initialized("calendar", "check", "2026")
    assert ok.exit_code == 0 and "02-14" in ok.output and "chinese-calendar" in ok.output
    missing = initialized("calendar", "check", "2027")
    assert missing.exit_code != 0 and "尚无 2027 年" in missing.output
    assert initialized("calendar", "set", "2027-02-06", "--workday", "--note", "春节调休").exit_code == 0
    again = initialized("calendar", "check", "2027")
    assert "覆盖表（1 条）" in again.output and "02-06" in again.output


def test_outbox_cli_list_failed_and_retry(cli, migrated, smtp):
    s = mail_settings(migrated, smtp.port)
    smtp.handler.refuse = {"liaison@150202.baotou.example"}
    queue_mail(s)
    delivery.send_pending(s)
    env = {"KAOPING_SMTP_HOST": "127.0.0.1", "KAOPING_SMTP_PORT": str(smtp.port), "KAOPING_SMTP_RETRY_INITIAL": "0.01"}
    cli.env.update(env)
    listed = cli("outbox", "list", "--failed")
    assert listed.exit_code == 0 and "发送失败" in listed.output and "550" in listed.output
    smtp.handler.refuse = set()
    assert cli("outbox", "retry").exit_code == 0
    sent = cli("outbox", "send")
    assert sent.exit_code == 0 and "已发送 1 封" in sent.output
    assert outbox_statuses(s) == {"m-0": "sent"}
