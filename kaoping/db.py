"""Engine, sessions and migrations.

One function makes the engine from settings; services take a ``Session`` explicitly and
each CLI command or flow task runs in one transaction (``session_scope``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, event
from sqlalchemy import exc as sa_exc
from sqlmodel import Session, create_engine

from kaoping.domain.errors import Unavailable
from kaoping.settings import MIGRATIONS_DIR, Settings

if TYPE_CHECKING:
    from alembic.config import Config

# Where a session carries the key that seals its audit entries (kaoping.records.audit).
AUDIT_KEY = "kaoping.audit_key"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit survives the process crashing (what the outbox relies on);
            # only a power cut can lose the newest commits, never corrupt the file.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            # Deleted or overwritten content is zeroed, not left in free pages (a blanked secret, an
            # answered code): what kaoping removes does not stay readable in the file.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


_engines: dict[str, Engine] = {}


def engine_for(url: str) -> Engine:
    """One engine (and pool) per database URL in this process."""
    if url not in _engines:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        _engines[url] = make_engine(url)
    return _engines[url]


def dispose_engine(url: str) -> None:
    engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def get_engine(settings: Settings) -> Engine:
    return engine_for(settings.effective_database_url)


@contextmanager
def session_scope(settings: Settings) -> Iterator[Session]:
    """One transaction: committed if the block ends normally, rolled back otherwise."""
    with Session(get_engine(settings), expire_on_commit=False) as session:
        session.info[AUDIT_KEY] = settings.secret_key.get_secret_value().encode("utf-8")
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def unavailable(exc: BaseException) -> Unavailable | None:
    """The database could not be used (down, restarting, the connection dropped, locked, out of
    space) — a condition of the moment, not of the data: an ``Unavailable`` saying so in one line,
    or None for any other error. On PostgreSQL every ``OperationalError`` is such a condition
    (connection loss, administrator shutdown, deadlock, serialization failure, disk full); on
    SQLite too (database locked, disk I/O error, unable to open the file)."""
    if isinstance(exc, Unavailable):
        return exc
    if isinstance(exc, sa_exc.DBAPIError) and (exc.connection_invalidated or
                                               isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)):
        words = str(getattr(exc, "orig", exc)).strip().splitlines()
        cause = words[0][:160] if words else exc.__class__.__name__
    elif isinstance(exc, sa_exc.DisconnectionError | sa_exc.TimeoutError):
        cause = exc.__class__.__name__
    else:
        return None
    return Unavailable(f"数据库暂时无法使用（{cause}）：本次未作任何处理，也未通知任何人；请确认数据库服务正常后重试"
                       "（定时流程下次运行会自动重试）。 / The database is unavailable; nothing was done.")


# Alembic is imported where the schema is read or changed, not with this module: every flow run imports it (through
# the flows' services) and none migrates; it cost each such process ~0.14 s of CPU.
def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (``kaoping db upgrade``)."""
    from alembic import command

    engine = get_engine(settings)
    cfg = alembic_config(settings.effective_database_url)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def schema_status(settings: Settings) -> tuple[str | None, str]:
    """(current revision of the database, head revision of the code)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    engine = get_engine(settings)
    script = ScriptDirectory.from_config(alembic_config(settings.effective_database_url))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current, script.get_current_head()
