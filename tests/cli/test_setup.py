"""`kaoping init` and `kaoping db …` (kaoping/cli/setup.py), and the schema check every command makes."""

from __future__ import annotations

from kaoping.models import AuditEntry, Catalog, Contact, Indicator, ReceivedFile, Unit, UnitAlias
from sqlmodel import func, select

from kaoping import db
from tests.cli.conftest import refused

#: What `kaoping init` leaves in the database is checked on PostgreSQL too (tests/conftest.py: SQLITE_ONLY_FOLDERS).
BOTH_BACKENDS = {"test_cli_in_production_with_default_secret_exits_with_a_clear_message",
                 "test_init_loads_the_registry_and_catalog_and_is_idempotent", "test_init_empty_runs_migrations_only"}


def table_counts(settings):
    with db.session_scope(settings) as session:
        return {
            m.__name__: session.exec(select(func.count()).select_from(m)).one()
            for m in (Unit, UnitAlias, Contact, Catalog, Indicator, AuditEntry, ReceivedFile)
        }


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


def test_cli_in_production_with_default_secret_exits_with_a_clear_message(cli):
    cli.env["KAOPING_ENVIRONMENT"] = "production"
    result = cli("db", "status")
    assert result.exit_code != 0
    assert "KAOPING_SECRET_KEY" in result.output and "Traceback" not in result.output


def test_init_loads_the_registry_and_catalog_and_is_idempotent(cli, settings):
    first = cli("init")
    assert first.exit_code == 0, first.output
    assert "36 个单位" in first.output and "90 项" in first.output
    after_first = table_counts(settings)
    assert after_first["Unit"] == 36 and after_first["Indicator"] == 90
    second = cli("init")
    assert second.exit_code == 0 and "未改动" in second.output
    assert table_counts(settings) == after_first


def test_init_empty_runs_migrations_only(cli, settings):
    assert cli("init", "--empty").exit_code == 0
    counts = table_counts(settings)
    assert counts["Unit"] == 0 and counts["Catalog"] == 0
    assert cli("db", "status").exit_code == 0
