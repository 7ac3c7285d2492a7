"""The command as a whole: every group and command of the Typer app is listed by `kaoping --help`, every
command of a group by the group's help, and each is named in the README. The lists are read from the app
itself, so a group or command added later is checked without anyone remembering to add it here."""

from __future__ import annotations

from pathlib import Path

import typer.core
import typer.main

from kaoping.cli import app

COMMAND = typer.main.get_command(app)
GROUPS = [name for name, command in COMMAND.commands.items() if isinstance(command, typer.core.TyperGroup)]
COMMANDS = [name for name, command in COMMAND.commands.items() if not isinstance(command, typer.core.TyperGroup)]
README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_group_and_command_is_listed(cli):
    # Read from the app, not written out: these are the lists the loops below check (never empty).
    assert {"mail", "outbox", "cycle", "signoff"} <= set(GROUPS) and {"init", "intake", "demo"} <= set(COMMANDS)
    result = cli("--help")
    assert result.exit_code == 0
    for name in GROUPS + COMMANDS:
        assert f" {name} " in result.output, name
        assert f"kaoping {name}" in README, f"README.md never names `kaoping {name}`"
    for group in GROUPS:
        shown = cli(group, "--help")
        assert shown.exit_code == 0, (group, shown.output)
        for name in COMMAND.commands[group].commands:
            assert f" {name} " in shown.output, (group, name)
    assert app.info.name == "kaoping"


def test_heavy_and_long_running_commands_show_their_help(cli):
    demo = cli("demo", "--help")
    assert demo.exit_code == 0 and "演示输出目录" in demo.output
    sink = cli("mailsink", "--help")
    assert sink.exit_code == 0 and "监听端口" in sink.output


def test_a_group_without_a_command_shows_its_help(cli):
    result = cli("verify")
    assert "专班核实" in result.output and "adjust" in result.output
