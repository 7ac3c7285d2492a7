"""`kaoping cycle …` and `kaoping points …` (kaoping/cli/cycle.py)."""

from __future__ import annotations

from tests.cli.conftest import refused


def test_open_list_and_points(opened):
    listed = opened("cycle", "list")
    assert listed.exit_code == 0 and "2022H1" in listed.output
    shown = opened("points", "show", "--cycle", "2022H1")
    assert shown.exit_code == 0 and "默认（平均分配）" in shown.output


def test_open_twice_reopen_without_reason_and_an_unknown_cycle_are_refused(opened):
    assert refused(opened("cycle", "open", "2022H1", "--accept-default-responsibilities", "测试：沿用默认承担规则"), "不能重复开启")
    assert refused(opened("cycle", "reopen", "2022H1"), "必须说明原因")
    assert refused(opened("points", "show", "--cycle", "2023H2"), "考评周期 2023H2 尚未开启")
