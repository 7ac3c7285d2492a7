"""Set-up: settings, migrations, `kaoping init`, the audit chain, the demo."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from kaoping.models import (
    AuditEntry,
    Catalog,
    Contact,
    Indicator,
    ReceivedFile,
    Unit,
    UnitAlias,
    metadata,
)
from pydantic import ValidationError
from sqlalchemy import text
from sqlmodel import func, select

from kaoping import db
from kaoping.records import audit
from kaoping.settings import DEFAULT_SECRET_KEY, Settings


def table_counts(settings):
    with db.session_scope(settings) as session:
        return {
            m.__name__: session.exec(select(func.count()).select_from(m)).one()
            for m in (Unit, UnitAlias, Contact, Catalog, Indicator, AuditEntry, ReceivedFile)
        }


# --------------------------------------------------------------------------- settings


def test_production_refuses_the_default_secret(tmp_path):
    with pytest.raises(ValidationError, match="KAOPING_SECRET_KEY"):
        Settings(environment="production", _env_file=None)
    ok = Settings(environment="production", secret_key="x" * 40, _env_file=None)
    assert ok.secret_key.get_secret_value() != DEFAULT_SECRET_KEY


def test_settings_from_env_and_dotenv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("KAOPING_TIMEZONE=Asia/Urumqi\nKAOPING_VAR_DIR=/srv/kaoping\n", encoding="utf-8")
    monkeypatch.setenv("KAOPING_VAR_DIR", str(tmp_path / "from-env"))
    s = Settings()
    assert s.timezone == "Asia/Urumqi"  # from .env
    assert s.var_dir == tmp_path / "from-env"  # the environment wins over .env
    assert s.effective_database_url == f"sqlite:///{tmp_path / 'from-env' / 'kaoping.sqlite3'}"
    with pytest.raises(ValidationError, match="时区"):
        Settings(timezone="Mars/Olympus", _env_file=None)


def test_cli_in_production_with_default_secret_exits_with_a_clear_message(cli):
    cli.env["KAOPING_ENVIRONMENT"] = "production"
    result = cli("db", "status")
    assert result.exit_code != 0
    assert "KAOPING_SECRET_KEY" in result.output and "Traceback" not in result.output


# --------------------------------------------------------------------------- schema


def test_migrations_create_exactly_the_models(migrated):
    """The Alembic history and the SQLModel tables never drift apart."""
    engine = db.get_engine(migrated)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    assert diff == []
    assert db.schema_status(migrated)[0] == db.schema_status(migrated)[1]


def test_decimal_points_are_exact_on_every_backend(initialized, settings):
    from decimal import Decimal

    with db.session_scope(settings) as session:
        points = {i.number: i.points for i in session.exec(select(Indicator))}
    assert points[35] == Decimal("0.25") and isinstance(points[35], Decimal)
    assert points[19] + points[20] == Decimal("1.0")


# --------------------------------------------------------------------------- init


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


# --------------------------------------------------------------------------- audit chain


def _tamper(settings, sql: str, **params) -> None:
    engine = db.get_engine(settings)
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def test_audit_chain_detects_edits_deletions_and_insertions(initialized, settings):
    cli = initialized
    ok = cli("audit", "verify")
    assert ok.exit_code == 0 and "完整" in ok.output
    with db.session_scope(settings) as session:
        n = audit.count_entries(session)
    assert n >= 37  # 36 units + the catalog
    _tamper(settings, "UPDATE audit_entry SET reason = 'nothing to see' WHERE seq = 5")
    edited = cli("audit", "verify")
    assert edited.exit_code != 0 and "第 5 条" in edited.output and "改动" in edited.output


def test_audit_chain_detects_a_deleted_entry(initialized, settings):
    _tamper(settings, "DELETE FROM audit_entry WHERE seq = 7")
    result = initialized("audit", "verify")
    assert result.exit_code != 0 and "第 7 条" in result.output and "删除" in result.output


def test_audit_chain_detects_an_inserted_and_renumbered_entry(initialized, settings):
    # Someone shifts entries 10.. up by one and slips a forged entry in as number 10.
    with db.session_scope(settings) as session:
        last = session.exec(select(func.max(AuditEntry.seq))).one()
        row = session.exec(select(AuditEntry).where(AuditEntry.seq == 9)).one()
    for seq in range(last, 9, -1):
        _tamper(settings, "UPDATE audit_entry SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    _tamper(
        settings,
        "INSERT INTO audit_entry (seq, at, actor, action, entity, reason, prev_hash, hash) "
        "VALUES (10, :at, 'x', 'unit.update', 'unit:x', '', :prev, :hash)",
        at=row.at.replace(tzinfo=None), prev=row.hash, hash="f" * 64,
    )
    result = initialized("audit", "verify")
    assert result.exit_code != 0 and "第 10 条" in result.output


def test_audit_entries_cannot_be_rewritten_through_kaoping(initialized, settings):
    with pytest.raises(RuntimeError, match="append-only"):
        with db.session_scope(settings) as session:
            entry = session.exec(select(AuditEntry).where(AuditEntry.seq == 1)).one()
            entry.reason = "rewritten"
    assert initialized("audit", "verify").exit_code == 0
    log = initialized("audit", "log", "--limit", "3")
    assert log.exit_code == 0 and "catalog.import" in log.output


def test_export_roundtrips_through_yaml(initialized, tmp_path):
    path = tmp_path / "c.yaml"
    assert initialized("catalog", "export", "--year", "2022", "--format", "yaml", "--out", path).exit_code == 0
    result = initialized("catalog", "import", path, "--year", "2022")
    assert result.exit_code == 0 and "完全相同" in result.output
    data = json.loads(initialized("catalog", "export", "--year", "2022").stdout)
    assert len(data["indicators"]) == 90
