"""The command as a whole: every group and top-level command is registered, in the README's names."""

from __future__ import annotations

from kaoping.cli import app

GROUPS = ["db", "catalog", "units", "responsibilities", "audit", "cycle", "points", "scores", "verify", "forms",
          "outbox", "calendar", "reminders", "visits", "opinion", "thirdparty", "signoff", "objections"]
COMMANDS = ["init", "check", "results", "annual", "explain", "intake", "report", "status", "mailsink", "demo"]


def test_every_group_and_command_is_listed(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for name in GROUPS + COMMANDS:
        assert f" {name} " in result.output, name
    assert app.info.name == "kaoping"


def test_heavy_and_long_running_commands_show_their_help(cli):
    demo = cli("demo", "--help")
    assert demo.exit_code == 0 and "演示输出目录" in demo.output
    sink = cli("mailsink", "--help")
    assert sink.exit_code == 0 and "监听端口" in sink.output


def test_a_group_without_a_command_shows_its_help(cli):
    result = cli("verify")
    assert "专班核实" in result.output and "adjust" in result.output
