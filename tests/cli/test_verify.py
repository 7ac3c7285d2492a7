"""`kaoping verify …` (kaoping/cli/verify.py)."""

from __future__ import annotations

from tests.cli.conftest import refused


def test_list_and_a_bonus_line(cycle_cli):
    listed = cycle_cli("verify", "list", "--cycle", "2022H1", "--self-scored")
    assert listed.exit_code == 0 and "自评项待核实" in listed.output
    bonus = cycle_cli("verify", "bonus", "--cycle", "2022H1", "--unit", "东河区", "--points", "1", "--reason", "试点")
    assert bonus.exit_code == 0 and "已记录加分 1 分" in bonus.output
    lines = cycle_cli("verify", "list", "--cycle", "2022H1", "--lines")
    assert lines.exit_code == 0 and "东河区" in lines.output and "有效" in lines.output


def test_bad_arguments_are_refused(cycle_cli):
    assert refused(cycle_cli("verify", "confirm", "--cycle", "2022H1"), "请二选一")
    assert refused(cycle_cli("verify", "adjust", "--cycle", "2022H1", "--unit", "东河区", "--indicator", "1",
                          "--score", "abc", "--reason", "x"), "得分“abc”不是数字")
