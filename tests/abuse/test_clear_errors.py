"""Issue 14, item 7: no traceback for a foreseeable condition — a bad setting names the
variable and how it is written; an unreachable database says what to check; ``--debug`` shows
the traceback for operators."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

UNREACHABLE = "postgresql+psycopg://kaoping@127.0.0.1:1/kaoping?connect_timeout=2"


def test_remind_before_as_written_by_people_is_accepted(initialized):
    initialized.env["KAOPING_REMIND_BEFORE"] = "3,1"
    assert initialized("audit", "verify").exit_code == 0


def test_a_bad_list_setting_names_the_variable_and_the_form(initialized):
    initialized.env["KAOPING_REMIND_BEFORE"] = "3,一"
    result = initialized("audit", "verify")
    assert result.exit_code == 2 and "KAOPING_REMIND_BEFORE" in result.output and "'3,1,0'" in result.output
    assert "Traceback" not in result.output


def test_a_bad_port_names_the_variable_and_the_form(initialized):
    initialized.env["KAOPING_SMTP_PORT"] = "abc"
    result = initialized("outbox", "send")
    assert result.exit_code == 2
    assert "KAOPING_SMTP_PORT='abc'" in result.output and "端口号" in result.output and "Traceback" not in result.output


def test_unreachable_database_is_a_refusal_not_a_traceback(cli):
    cli.env["KAOPING_DATABASE_URL"] = UNREACHABLE
    result = cli("audit", "verify")
    assert result.exit_code == 3
    assert "无法连接或使用数据库" in result.output and "KAOPING_DATABASE_URL" in result.output
    assert "Traceback" not in result.output and len(result.output.splitlines()) <= 4


def test_debug_shows_the_traceback(cli):
    cli.env["KAOPING_DATABASE_URL"] = UNREACHABLE
    with pytest.raises(OperationalError):  # the in-process runner re-raises what would be printed
        cli("--debug", "audit", "verify")
