"""Snapshots of a common starting state, built once per test worker and backend and copied after that.

Many tests begin the same way: the shipped registry and catalog (`kaoping init`) and then a cycle opened and
scored (``factories.scored_cycle``: ~0.7 s on SQLite, seconds on PostgreSQL). When a factory is asked to build
such a state on a database that is still exactly as `kaoping init` left it (every row of every table, and on
PostgreSQL every sequence, as in the initialized database: ``fingerprint``), the first
build's result is kept and the later ones copy it: on SQLite the database file, on PostgreSQL the statements
the first build wrote, replayed into the test's schema in one round trip (as ``pg_initialized_script`` does
for `kaoping init`). What the build wrote into its folder (the CSV files of scores) is written again into the
test's folder. A database that has been changed since `kaoping init` is built on as before.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event, inspect, text

from kaoping import db
from kaoping.settings import Settings

_initialized: dict[str, str] = {}  # backend → the fingerprint of a database fresh from `kaoping init`
_snapshots: dict[tuple, Snapshot] = {}
_folder: Path | None = None
_recording = False


@dataclass
class Snapshot:
    fingerprint: str
    files: dict[str, tuple[str, bytes]]  # the build's result (key → file name) and what each file held
    database: Path | None = None  # SQLite: a copy of the file
    script: str = ""  # PostgreSQL: the build's writes, rendered


def backend(settings: Settings) -> str:
    return "sqlite" if settings.database_url.startswith("sqlite") else "postgresql"


def fingerprint(settings: Settings) -> str:
    """What the database holds: every row of every table (and, on PostgreSQL, where each sequence stands), hashed.
    ~20 ms on a database fresh from `kaoping init` (~420 rows)."""
    with db.engine_for(settings.database_url).connect() as conn:
        if backend(settings) == "sqlite":
            names = conn.execute(text("select name from sqlite_master where type = 'table' order by name")).scalars().all()
            values = [repr(conn.execute(text(f'select * from "{name}"')).all()) for name in names]
        else:
            names = sorted(inspect(conn).get_table_names())
            values = list(conn.execute(text("select " + ", ".join(
                [f"(select md5(coalesce(string_agg(x::text, '|' order by x::text), '')) from \"{name}\" x)" for name in names]
                + ["(select string_agg(sequencename || ':' || coalesce(last_value, 0), ',' order by sequencename) "
                   "from pg_sequences where schemaname = current_schema())"]))).one())
    return hashlib.sha256(repr(list(zip(names, values))).encode()).hexdigest()


def note_initialized(settings: Settings) -> None:
    """Called by the ``initialized_db`` fixture on a database it has just made: the reference fingerprint."""
    if backend(settings) not in _initialized:
        _initialized[backend(settings)] = fingerprint(settings)


def reuse(settings: Settings, key: tuple | None, folder: Path, build: Callable[[], dict[str, Path]]) -> dict[str, Path]:
    """``build()``'s result on ``settings``' database, copied from an earlier build of the same ``key`` when the
    database is as `kaoping init` left it; ``key`` None: always built."""
    kind = backend(settings)
    reference = _initialized.get(kind)
    if key is None or _recording or reference is None or fingerprint(settings) != reference:
        return build()  # (a build being recorded builds what it calls too: a copy would not be recorded)
    clock = _clock()
    if clock is None:
        return build()
    # What else the build depends on: the clock, the settings (the secret that seals the audit chain, the
    # environment, a second place for the anchors …), all but where this test's database and files are.
    key = (kind, key, clock, _depends_on(settings))
    snapshot = _snapshots.get(key)
    if snapshot is None:
        _snapshots[key] = snapshot = _record(settings, build)
    else:
        _restore(settings, snapshot)
    for name, data in snapshot.files.values():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return {key_: folder / name for key_, (name, _) in snapshot.files.items()}


def _clock() -> str | None:
    """What the build's times depend on: the fixed instant of ``fixed_clock``, else today's date in Beijing (a build
    copied the next day would say it was opened the day before); None under the demo's simulated clock."""
    import os
    from zoneinfo import ZoneInfo

    from kaoping.models import types

    if types._fixed_now is not None:
        return types._fixed_now.isoformat()
    if os.environ.get(types.CLOCK_FILE):
        return None
    return types.utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def _depends_on(settings: Settings) -> str:
    from pydantic import SecretStr

    def plain(value):
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        return [plain(v) for v in value] if isinstance(value, list | tuple) else value

    values = settings.model_dump(exclude={"database_url", "var_dir"})
    return repr(sorted((name, plain(value)) for name, value in values.items()))


def _record(settings: Settings, build: Callable[[], dict[str, Path]]) -> Snapshot:
    global _recording
    _recording = True
    try:
        return _build_and_keep(settings, build)
    finally:
        _recording = False


def _build_and_keep(settings: Settings, build: Callable[[], dict[str, Path]]) -> Snapshot:
    global _folder
    _folder = _folder or Path(tempfile.mkdtemp(prefix="kaoping-snapshots-"))
    if backend(settings) == "sqlite":
        result = build()
        copy = _folder / f"{len(_snapshots)}.sqlite3"
        shutil.copyfile(settle_sqlite(settings.database_url), copy)
        return Snapshot(fingerprint(settings), _files(result), database=copy)
    with recorded_writes(settings.database_url) as writes:
        result = build()
    return Snapshot(fingerprint(settings), _files(result), script=render_script(settings.database_url, writes))


def _restore(settings: Settings, snapshot: Snapshot) -> None:
    if snapshot.database is not None:
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        db.dispose_engine(settings.database_url)
        for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            extra.unlink(missing_ok=True)
        shutil.copyfile(snapshot.database, path)
    else:
        replay(settings.database_url, snapshot.script)
    found = fingerprint(settings)
    assert found == snapshot.fingerprint, "the copied snapshot differs from the build it was taken of"


def _files(result: dict[str, Path]) -> dict[str, tuple[str, bytes]]:
    return {key: (Path(path).name, Path(path).read_bytes()) for key, path in result.items()}


@contextmanager
def recorded_writes(url: str) -> Iterator[list]:
    """The statements that change something, sent through ``url``'s engine within the block (reads and xact
    locks change nothing): ``render_script`` turns them into a script."""
    writes: list[tuple[str, object, bool]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SELECT", "SHOW")):
            writes.append((statement, parameters, executemany))

    engine = db.engine_for(url)
    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield writes
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def settle_sqlite(url: str) -> Path:
    """Close ``url``'s connections and fold the WAL into the file (ready to be copied); the file's path."""
    path = Path(url.removeprefix("sqlite:///"))
    db.dispose_engine(url)
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def render_script(url: str, writes) -> str:
    """The recorded statements with their values rendered as the server would read them, as one script."""
    import psycopg

    connection = db.engine_for(url).raw_connection()
    try:
        cursor = psycopg.ClientCursor(connection.driver_connection)
        parts = []
        for statement, parameters, many in writes:
            if many and not isinstance(parameters, dict):
                parts += [cursor.mogrify(statement, row) for row in parameters]
            else:
                parts.append(cursor.mogrify(statement, parameters) if parameters else statement)
    finally:
        connection.close()
    return ";\n".join(parts)


def replay(url: str, script: str) -> None:
    """Run a rendered script on ``url``'s database in one round trip, committed."""
    import psycopg

    connection = db.engine_for(url).raw_connection()
    try:
        psycopg.ClientCursor(connection.driver_connection).execute(script)  # no parameters: sent as it is
        connection.commit()
    finally:
        connection.close()
