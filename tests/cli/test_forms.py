"""`kaoping forms build|send`, `kaoping intake`, `kaoping report` (kaoping/cli/forms.py)."""

from __future__ import annotations

from kaoping.models import OutboxMessage
from sqlmodel import select

from kaoping import db
from tests.cli.conftest import refused
from tests.conftest import write


def test_build_one_unit_s_form(opened, tmp_path):
    result = opened("forms", "build", "--cycle", "2022H1", "--kind", "self_assessment", "--out", tmp_path / "forms",
                    "--unit", "东河区", "--deadline", "2022-07-10")
    assert result.exit_code == 0, result.output
    assert "已生成 1 份" in result.output and "东河区" in result.output
    assert len(list((tmp_path / "forms").glob("*.docx"))) == 1


def test_send_queues_one_message_per_recipient_once(opened, settings):
    first = opened("forms", "send", "--cycle", "2022H1", "--kind", "self_assessment", "--unit", "东河区")
    assert first.exit_code == 0 and "新邮件 1 封" in first.output
    again = opened("forms", "send", "--cycle", "2022H1", "--kind", "self_assessment", "--unit", "东河区")
    assert again.exit_code == 0 and "新邮件 0 封" in again.output
    with db.session_scope(settings) as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 1


def test_bad_kind_bad_date_and_an_unreadable_return_are_refused(opened, tmp_path):
    assert refused(opened("forms", "build", "--cycle", "2022H1", "--kind", "survey", "--out", tmp_path),
                   "未知的表单类型 'survey'")
    assert refused(opened("forms", "send", "--cycle", "2022H1", "--kind", "opinion", "--deadline", "7/10"),
                   "截止日期“7/10”格式不对")
    returned = opened("intake", write(tmp_path / "东河区.docx", b"not a word file"))
    assert returned.exit_code == 2 and "已拒收" in returned.output


def test_report_of_an_unverified_cycle_is_refused(opened, tmp_path):
    result = opened("report", "--cycle", "2022H1", "--out", tmp_path / "reports", "--date", "2022-07-15")
    assert result.exit_code != 0 and "错误" in result.output and "Traceback" not in result.output
