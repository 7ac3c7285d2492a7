"""`kaoping forms build|send`, `kaoping intake`, `kaoping report` (kaoping/cli/forms.py)."""

from __future__ import annotations

from kaoping.models import OutboxMessage
from kaoping.notifications import delivery
from sqlmodel import select

from kaoping import db
from tests.cli.conftest import refused
from tests.conftest import write
from tests.smtp_server import mail_settings

#: What goes out by mail is checked on PostgreSQL too (tests/conftest.py: SQLITE_ONLY_FOLDERS).
BOTH_BACKENDS = {"test_forms_send_queues_one_message_per_recipient_once"}


def test_build_one_unit_s_form(cycle_cli, tmp_path):
    result = cycle_cli("forms", "build", "--cycle", "2022H1", "--kind", "self_assessment", "--out", tmp_path / "forms",
                    "--unit", "东河区", "--deadline", "2022-07-10")
    assert result.exit_code == 0, result.output
    assert "已生成 1 份" in result.output and "东河区" in result.output
    assert len(list((tmp_path / "forms").glob("*.docx"))) == 1


def test_send_queues_one_message_per_recipient_once(cycle_cli, settings):
    first = cycle_cli("forms", "send", "--cycle", "2022H1", "--kind", "self_assessment", "--unit", "东河区")
    assert first.exit_code == 0 and "新邮件 1 封" in first.output
    again = cycle_cli("forms", "send", "--cycle", "2022H1", "--kind", "self_assessment", "--unit", "东河区")
    assert again.exit_code == 0 and "新邮件 0 封" in again.output
    with db.session_scope(settings) as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 1


def test_bad_kind_bad_date_and_an_unreadable_return_are_refused(cycle_cli, tmp_path):
    assert refused(cycle_cli("forms", "build", "--cycle", "2022H1", "--kind", "survey", "--out", tmp_path),
                   "未知的表单类型 'survey'")
    assert refused(cycle_cli("forms", "send", "--cycle", "2022H1", "--kind", "opinion", "--deadline", "7/10"),
                   "截止日期“7/10”格式不对")
    returned = cycle_cli("intake", write(tmp_path / "东河区.docx", b"not a word file"))
    assert returned.exit_code == 2 and "已拒收" in returned.output


def test_report_of_an_unverified_cycle_is_refused(cycle_cli, tmp_path):
    result = cycle_cli("report", "--cycle", "2022H1", "--out", tmp_path / "reports", "--date", "2022-07-15")
    assert result.exit_code != 0 and "错误" in result.output and "Traceback" not in result.output
    assert refused(cycle_cli("report", "--cycle", "2022H1", "--out", tmp_path / "x", "--number", "9"), "须同时加 --publish")


def test_forms_send_queues_one_message_per_recipient_once(initialized, settings, smtp):
    cli = initialized
    assert cli("cycle", "open", "2022H1", "--accept-default-responsibilities", "测试：沿用默认承担规则").exit_code == 0
    first = cli("forms", "send", "--cycle", "2022H1", "--kind", "self_assessment", "--deadline", "2022-07-08",
                "--unit", "东河区", "--unit", "市卫健委")
    assert first.exit_code == 0 and "新邮件 2 封" in first.output
    again = cli("forms", "send", "--cycle", "2022H1", "--kind", "self_assessment", "--deadline", "2022-07-08",
                "--unit", "东河区", "--unit", "市卫健委")
    assert "新邮件 0 封" in again.output
    report = delivery.send_pending(mail_settings(settings, smtp.port))
    assert len(report.sent) == 2
    subjects = sorted(r.message["Subject"] for r in smtp.received)
    assert all("自评表" in subject and "2022年7月8日" in subject for subject in subjects)
    attachments = [a.get_filename() for r in smtp.received for a in r.message.iter_attachments()]
    assert sorted(attachments) == ["2022H1-ZP001-东河区-自评表.docx", "2022H1-ZP002-市卫健委-自评表.docx"]
