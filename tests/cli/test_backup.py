"""Issue 25 item 3: backup, restore and archive, round-tripped on SQLite and PostgreSQL.

A published cycle (scores imported from files, the reports built and numbered, their distribution
queued with attachments, audit anchors written) is backed up with `kaoping backup`, restored with
`kaoping restore` into an empty database and an empty var folder; the restored database verifies its
audit log against every anchor and recomputes exactly the same results, every table holds the same
rows, every file the same bytes. `kaoping archive` gives a cycle's files and records with an index."""

from __future__ import annotations

import csv
import hashlib
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from kaoping import db
from kaoping.records import backup as backup_files
from kaoping.settings import Settings
from tests import factories
from tests.cli.conftest import published
from tests.conftest import PG_URL, _pg_schema_url, cli_env

#: What a restore leaves in the database is checked on PostgreSQL too (tests/conftest.py: SQLITE_ONLY_FOLDERS).
BOTH_BACKENDS = {"test_backup_and_restore_give_back_every_row_and_file_and_the_same_results",
                 "test_a_trial_on_sqlite_moves_to_postgresql"}


def table_dumps(settings: Settings, folder: Path) -> dict[str, list[str]]:
    """Every table's rows as the backup reads them (values as the models read them)."""
    folder.mkdir(parents=True, exist_ok=True)
    listed, _ = backup_files._dump_tables(settings, folder)
    return {name: (folder / Path(info["member"]).name).read_text(encoding="utf-8").splitlines()[1:]
            for name, info in listed.items()}


def var_files(settings: Settings) -> dict[str, str]:
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in backup_files.record_files(settings)}


def test_backup_and_restore_give_back_every_row_and_file_and_the_same_results(initialized_db, empty_target, tmp_path, cli):
    published(initialized_db, tmp_path, cli)
    backup = tmp_path / "备份" / "kaoping.tar.gz"
    made = cli("backup", "--out", str(backup))
    assert made.exit_code == 0, made.output
    assert backup.is_file() and not list(backup.parent.glob(".*"))  # written whole, nothing half-written beside it
    assert cli("backup", "--out", str(backup)).exit_code == 4  # never over an existing backup

    cli.env.update(cli_env(empty_target))
    restored = cli("restore", str(backup))
    assert restored.exit_code == 0, restored.output
    assert "✔ 审计日志完整" in restored.output and "✔ 2022H1 重新计算的结果与备份时一致" in restored.output

    assert table_dumps(empty_target, tmp_path / "after") == table_dumps(initialized_db, tmp_path / "before")
    assert var_files(empty_target) == var_files(initialized_db) and var_files(empty_target)
    assert factories.result_rows(empty_target) == factories.result_rows(initialized_db)
    assert cli("audit", "verify").exit_code == 0
    again = cli("restore", str(backup))  # never over data
    assert again.exit_code == 4 and "空数据库" in again.output


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL not configured: set KAOPING_TEST_DATABASE_URL (CI does)")
def test_a_trial_on_sqlite_moves_to_postgresql(sqlite_initialized_template, tmp_path, cli):
    """The office's trial on SQLite, restored into PostgreSQL: the same rows and results."""
    import shutil

    source = Settings(database_url=f"sqlite:///{tmp_path / 'trial.sqlite3'}", var_dir=tmp_path / "var",
                      environment="development", _env_file=None)
    shutil.copyfile(sqlite_initialized_template, tmp_path / "trial.sqlite3")
    published(source, tmp_path)
    backup = tmp_path / "trial.tar.gz"
    cli.env.update(cli_env(source))
    assert cli("backup", "--out", str(backup)).exit_code == 0
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    target = Settings(database_url=_pg_schema_url(schema), var_dir=tmp_path / "pg-var", environment="development",
                      _env_file=None)
    try:
        cli.env.update(cli_env(target))
        restored = cli("restore", str(backup))
        assert restored.exit_code == 0, restored.output
        assert factories.result_rows(target) == factories.result_rows(source)
        assert table_dumps(target, tmp_path / "pg") == table_dumps(source, tmp_path / "sqlite")
        factories.open_cycle(target, "2022H2")  # the sequences continue after the restored rows
    finally:
        db.dispose_engine(target.database_url)
        db.dispose_engine(source.database_url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.layout_only
def test_archive_holds_everything_of_the_cycle_with_an_index(initialized, settings, tmp_path):
    published(settings, tmp_path, initialized)
    out = tmp_path / "归档" / "2022H1"
    result = initialized("archive", "--cycle", "2022H1", "--out", str(out))
    assert result.exit_code == 0, result.output
    with (out / "索引.csv").open(encoding="utf-8-sig") as handle:
        index = list(csv.DictReader(handle))
    assert index and all(hashlib.sha256((out / row["文件"]).read_bytes()).hexdigest() == row["SHA-256"] for row in index)
    names = [row["文件"] for row in index]
    assert any(n.startswith("01-印发的公文/") and "通报" in n for n in names)
    assert len([n for n in names if n.startswith("01-印发的公文/反馈函/")]) == 36
    assert any(n.startswith("04-收到的文件/") for n in names)  # the score files the cycle was computed from
    for record in ("考评结果.csv", "发出的邮件.csv", "发文登记.csv", "签字记录.csv", "审计日志.csv"):
        assert f"05-数据和记录/{record}" in names
    readme = (out / "说明.txt").read_text(encoding="utf-8")
    assert "2022年上半年" in readme and "审计日志锚点" in readme
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no staging folder left
