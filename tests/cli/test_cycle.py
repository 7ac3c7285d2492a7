"""`kaoping cycle …` and `kaoping points …` (kaoping/cli/cycle.py)."""

from __future__ import annotations

from kaoping.models import CycleAcceptance
from sqlmodel import select

from kaoping import db
from tests.cli.conftest import refused

#: Whether the cycle opened, and the acceptance it recorded, is checked on PostgreSQL too (tests/conftest.py).
BOTH_BACKENDS = {"test_a_cycle_opens_on_the_default_rule_only_when_the_team_accepts_it"}


def test_open_list_and_points(cycle_cli):
    listed = cycle_cli("cycle", "list")
    assert listed.exit_code == 0 and "2022H1" in listed.output
    shown = cycle_cli("points", "show", "--cycle", "2022H1")
    assert shown.exit_code == 0 and "默认（平均分配）" in shown.output


def test_open_twice_reopen_without_reason_and_an_unknown_cycle_are_refused(cycle_cli):
    assert refused(cycle_cli("cycle", "open", "2022H1", "--accept-default-responsibilities", "测试：沿用默认承担规则"), "不能重复开启")
    assert refused(cycle_cli("cycle", "reopen", "2022H1"), "必须说明原因")
    assert refused(cycle_cli("points", "show", "--cycle", "2023H2"), "考评周期 2023H2 尚未开启")


def test_a_cycle_opens_on_the_default_rule_only_when_the_team_accepts_it(initialized, settings, tmp_path):
    without = initialized("cycle", "open", "2022H1")
    assert without.exit_code != 0 and "尚未导入承担关系" in without.output and "--accept-default-responsibilities" in without.output
    assert "responsibilities suggest" in without.output
    assert "还没有考评周期" in initialized("cycle", "list").output
    opened = initialized("cycle", "open", "2022H1", "--accept-default-responsibilities", "承担清单尚未印发")
    assert opened.exit_code == 0, opened.output
    with db.session_scope(settings) as session:
        accepted = session.exec(select(CycleAcceptance)).one()
    assert (accepted.subject, accepted.reason) == ("default_responsibilities", "承担清单尚未印发")
