"""Shared fixtures: a fresh database per test on SQLite, and on PostgreSQL when
``KAOPING_TEST_DATABASE_URL`` is set (CI sets it; each test gets its own schema)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from kaoping import db
from kaoping.settings import PROJECT_ROOT, Settings, get_settings

PG_URL = os.environ.get("KAOPING_TEST_DATABASE_URL", "")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # the test server's telemetry only adds noise
SEED = PROJECT_ROOT / "data" / "seed" / "kaoping-measures-2022.txt"
REGISTRY = PROJECT_ROOT / "data" / "registry" / "baotou.yaml"
CATALOG_2022 = PROJECT_ROOT / "data" / "catalogs" / "2022.json"

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A fresh, empty database (no schema yet) on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kaoping.sqlite3'}"
        yield url
        db.dispose_engine(url)
        return
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set KAOPING_TEST_DATABASE_URL (CI does)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _pg_schema_url(schema)
    try:
        yield url
    finally:
        db.dispose_engine(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    # The tests run with the built-in secret, declared as development (else nothing may be sent).
    return Settings(database_url=database_url, var_dir=tmp_path / "var", environment="development", _env_file=None)


@pytest.fixture
def migrated(settings) -> Settings:
    db.upgrade(settings)
    return settings


@dataclass
class Cli:
    runner: CliRunner
    env: dict[str, str]

    def __call__(self, *args: str):
        from kaoping.cli import app

        from kaoping.adapters.console import err, out

        get_settings.cache_clear()
        out.width = err.width = 200  # as wide as COLUMNS says, whatever the worker's terminal was at import
        result = self.runner.invoke(app, [str(a) for a in args], env=self.env, catch_exceptions=False)
        get_settings.cache_clear()
        return result


@pytest.fixture
def cli(settings, monkeypatch, tmp_path) -> Cli:
    """Run ``kaoping ...`` in-process against this test's database."""
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    env = {
        "KAOPING_DATABASE_URL": settings.database_url,
        "KAOPING_VAR_DIR": str(settings.var_dir),
        "KAOPING_ACTOR": "test:专班",
        "KAOPING_ENVIRONMENT": "development",
        "COLUMNS": "200",
    }
    return Cli(CliRunner(), env)


@pytest.fixture(scope="session")
def sqlite_initialized_template(tmp_path_factory) -> Path:
    """`kaoping init` once per session on SQLite; tests get a copy of the file (~0.4 s each saved)."""
    import sqlite3

    from tests.factories import initialize

    folder = tmp_path_factory.mktemp("template")
    path = folder / "initialized.sqlite3"
    url = f"sqlite:///{path}"
    initialize(Settings(database_url=url, var_dir=folder / "var", environment="development", _env_file=None))
    db.dispose_engine(url)
    with sqlite3.connect(path) as connection:  # fold the WAL into the file before copying it
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def initialized_db(settings, request) -> Settings:
    """A database with the shipped Baotou registry and 2022 catalog (what `kaoping init` makes);
    build further state on it with the functions of tests/factories.py."""
    if settings.database_url.startswith("sqlite:///"):
        import shutil

        template = request.getfixturevalue("sqlite_initialized_template")
        shutil.copyfile(template, settings.database_url.removeprefix("sqlite:///"))
        return settings
    from tests.factories import initialize

    initialize(settings)
    return settings


@pytest.fixture
def initialized(initialized_db, cli) -> Cli:
    """The `cli` fixture on an initialized database: for tests of what the CLI prints and exits with."""
    return cli


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def prefect_server():
    """A real Prefect server for the session (prefect_test_harness: ~10 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def imap_server():
    """A private dovecot on a free loopback port for the session (its own config and folder,
    never the system's service). Each test logs in as a user of its own: a mailbox of its own."""
    from kaoping.adapters.mail.imap_server import LocalImapServer, dovecot_path

    if dovecot_path() is None:
        pytest.skip("dovecot is not installed: apt-get install dovecot-imapd (.ci/run does)")
    with LocalImapServer() as server:
        yield server


@pytest.fixture
def imap_settings(initialized_db, imap_server) -> Settings:
    """Settings pointing at a fresh mailbox on the session's IMAP server."""
    from pydantic import SecretStr

    from kaoping.settings import SmtpSecurity

    user = f"office-{uuid.uuid4().hex[:8]}@kaoping.test"
    return initialized_db.model_copy(update={
        "imap_host": "127.0.0.1", "imap_port": imap_server.port, "imap_security": SmtpSecurity.none, "imap_user": user,
        "imap_password": SecretStr(imap_server.password)})
@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """``item.rep_call``: the outcome of the test body, for fixtures that keep evidence of a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
