"""Issue 25 item 5: a database made by the previous release upgrades with `kaoping db upgrade` and
keeps every result.

The previous release's database is built here from the migrations themselves: an empty database
migrated to the revision before the newest (whatever the newest is when this runs), then filled
with a published cycle's rows — each table and column that revision has — as that release stored
them. Before the upgrade kaoping refuses to work on it and says what to run; after it the audit log
verifies, and the results, the documents' numbers and the files' records are those of before."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from kaoping import db
from kaoping.records import backup as backup_files
from kaoping.settings import Settings
from tests import factories
from tests.cli.conftest import published
from tests.conftest import cli_env

#: The upgraded database is checked on PostgreSQL too (tests/conftest.py: SQLITE_ONLY_FOLDERS).
BOTH_BACKENDS = {"test_a_database_of_the_previous_release_upgrades_and_keeps_every_result"}


def previous_revision(settings: Settings) -> tuple[str, str]:
    script = ScriptDirectory.from_config(db.alembic_config(settings.effective_database_url))
    head = script.get_current_head()
    return script.get_revision(head).down_revision, head


def as_previous_release(source: Settings, target: Settings, revision: str, folder: Path) -> dict[str, int]:
    """``target`` (empty) migrated to ``revision`` and given ``source``'s rows, each table and column
    that revision has; returns the rows per table written."""
    db.upgrade(target, revision)
    present = {name: {c["name"] for c in inspect(db.get_engine(target)).get_columns(name)}
               for name in inspect(db.get_engine(target)).get_table_names()}
    folder.mkdir(parents=True, exist_ok=True)
    listed, _ = backup_files._dump_tables(source, folder)
    by_name = {t.name: t for t in backup_files.tables()}
    written = {}
    with db.get_engine(target).begin() as connection:
        for name, info in listed.items():
            if name not in present:
                continue  # a table the newest migration adds: the previous release had none
            lines = (folder / Path(info["member"]).name).read_text(encoding="utf-8").splitlines()
            header = json.loads(lines[0])["columns"]
            table = by_name[name]
            rows = []
            for line in lines[1:]:
                values = dict(zip(header, json.loads(line), strict=True))
                rows.append({c: backup_files._load(table.columns[c], v) for c, v in values.items() if c in present[name]})
            if rows:  # into the columns that revision has (a newer column's Python default would name itself)
                columns = [sqlalchemy.column(c, table.columns[c].type) for c in header if c in present[name]]
                connection.execute(sqlalchemy.table(name, *columns).insert(), rows)
            written[name] = len(rows)
        if connection.dialect.name == "postgresql":
            for name in written:
                if list(by_name[name].primary_key.columns.keys()) == ["id"]:
                    connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                               f"COALESCE((SELECT MAX(id) FROM \"{name}\"), 1))")
    return written


def test_a_database_of_the_previous_release_upgrades_and_keeps_every_result(initialized_db, empty_target, tmp_path, cli):
    source = initialized_db
    with db.session_scope(source) as session:  # the previous release knew no standing: every unit was ranked
        session.execute(sqlalchemy.text("UPDATE unit SET standing = 'ranked'"))
    published(source, tmp_path, cli)
    before = factories.result_rows(source)
    previous, head = previous_revision(source)
    assert previous is not None

    target = empty_target
    written = as_previous_release(source, target, previous, tmp_path / "dump")
    assert written["component_score"] > 0 and written["audit_entry"] > 0
    cli.env.update(cli_env(target))
    cli.env["KAOPING_VAR_DIR"] = str(source.var_dir)  # the same files: only the database is of the previous release

    status = cli("db", "status")
    assert status.exit_code == 1 and f"当前 {previous}" in status.output and f"最新 {head}" in status.output
    refused = cli("results", "--cycle", "2022H1", "--format", "json")
    assert refused.exit_code == 2 and "kaoping db upgrade" in refused.output

    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0 and head in upgraded.output
    assert cli("db", "status").exit_code == 0
    assert cli("audit", "verify").exit_code == 0
    assert factories.result_rows(target) == before
    shown = cli("results", "--cycle", "2022H1", "--format", "json")
    assert shown.exit_code == 0 and json.loads(shown.output[shown.output.index("["):]) == before
    assert cli("status", "--cycle", "2022H1").exit_code == 0
