"""`kaoping signoff …` and `kaoping status` (kaoping/cli/signoff.py)."""

from __future__ import annotations

from tests.cli.conftest import refused


def test_status_of_an_open_cycle(cycle_cli):
    result = cycle_cli("status", "--cycle", "2022H1")
    assert result.exit_code == 0 and "2022H1" in result.output


def test_signoffs_out_of_turn_are_refused(cycle_cli):
    assert refused(cycle_cli("signoff", "request", "--cycle", "2022H1", "--stage", "approval"), "须先完成专班核实签字")
    assert refused(cycle_cli("signoff", "request", "--cycle", "2022H1", "--stage", "verification"), "不能提请核实签字")
    assert refused(cycle_cli("signoff", "request", "--cycle", "2022H1", "--stage", "lunch"), "环节“lunch”无效")
