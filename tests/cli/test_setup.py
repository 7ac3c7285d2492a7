"""`kaoping init` and `kaoping db …` (kaoping/cli/setup.py), and the schema check every command makes."""

from __future__ import annotations

from tests.cli.conftest import refused


def test_init_is_safe_to_rerun(initialized):
    result = initialized("init")
    assert result.exit_code == 0, result.output
    assert "数据库结构已是最新" in result.output
    assert "考评对象名录已存在，未改动" in result.output and "2022 年考评指标已存在，未改动。" in result.output


def test_db_status_and_upgrade(cli):
    before = cli("db", "status")
    assert before.exit_code == 1 and "当前 未初始化" in before.output
    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0 and "数据库结构已升级到" in upgraded.output
    assert cli("db", "status").exit_code == 0


def test_commands_refuse_an_uninitialized_database(cli):
    result = cli("catalog", "show", "--year", "2022")
    assert refused(result, "数据库结构不是最新", "kaoping init")


def test_init_empty_loads_nothing(cli):
    result = cli("init", "--empty")
    assert result.exit_code == 0 and "包头" not in result.output
    assert "还没有考评周期" in cli("cycle", "list").output
