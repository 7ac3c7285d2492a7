"""Shared fixtures: a fresh database per test on SQLite, and on PostgreSQL when
``KAOPING_TEST_DATABASE_URL`` is set (CI sets it; each test gets its own schema).

`kaoping init` runs once per worker and backend; a test that wants an initialized database gets
a copy of it: on SQLite the file, on PostgreSQL the writes of that one run replayed into its
schema (``pg_initialized_script``)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from kaoping import db
from kaoping.settings import DATA_DIR, Settings, get_settings
from tests import snapshots
from tests.snapshots import render_script, replay

# The PostgreSQL server of the suite, as given (for what makes databases of its own: the Prefect server's).
PG_SERVER_URL = os.environ.get("KAOPING_TEST_DATABASE_URL", "")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # the test server's telemetry only adds noise
SEED = DATA_DIR / "seed" / "kaoping-measures-2022.txt"
REGISTRY = DATA_DIR / "registry" / "baotou.yaml"
CATALOG_2022 = DATA_DIR / "catalogs" / "2022.json"

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _with_options(url: str, *options: str) -> str:
    """``url`` with libpq ``options`` (``-c name=value`` each) added to those it has."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    given = parsed.query.get("options", ())
    merged = [given] if isinstance(given, str) else list(given)
    return parsed.update_query_dict({"options": " ".join([*merged, *options])}).render_as_string(hide_password=False)


# kaoping's connections in the tests: commits are not flushed to disk before the server answers
# (``synchronous_commit=off``: a crash of the server could lose the last commits, which a test database does
# not mind). Each commit waited ~10 ms for the disk on this machine; a test makes hundreds.
PG_URL = _with_options(PG_SERVER_URL, "-csynchronous_commit=off") if PG_SERVER_URL else ""


def _pg_schema_url(schema: str) -> str:
    return _with_options(PG_URL, f"-csearch_path={schema}")


# The longest tests start first (`make test`: `-n 2 --maxschedchunk 2`: each worker takes two tests at a
# time, the first worker tests 1-2, the second 3-4, then whoever is free the next two). Two of them
# take minutes each: one on each worker (places 1 and 3), so the suite does not end waiting for one.
SLOW_FIRST = (
    "tests/e2e/test_demo.py::test_demo_runs_a_cycle_from_forms_to_reports[sqlite]",
    "tests/e2e/test_cycle_flow.py::test_an_approver_who_never_answers",
    "tests/e2e/test_cycle_flow.py::test_a_whole_cycle_from_the_ui_to_the_reports",
    "tests/e2e/test_cycle_flow.py::test_a_run_killed_while_issuing_forms",
    "tests/e2e/test_dask.py::test_the_pure_work_runs_on_two_dask_workers_and_changes_nothing",
)
SLOW_FILES = ("tests/services/reports/test_documents.py", "tests/abuse/test_audit_anchoring.py", "tests/flows/",
              "tests/cli/test_doctor.py", "tests/deploy/test_serve.py",
              "tests/cli/test_signoff_codes.py", "tests/cli/test_rules.py", "tests/services/reports/test_tongbao_layout.py",
              "tests/abuse/test_signature_dialog.py", "tests/abuse/test_prefect_api.py", "tests/abuse/test_audit_reseal.py")
# The CLI's tests are about the commands (arguments, output, exit codes), the flows' about their wiring to Prefect
# (runs, suspends, forms, artifacts, the task runner) over services whose own tests run on both backends (the half-year
# cycle's flow also runs end to end on PostgreSQL: tests/e2e/test_cycle_flow.py; the annual flow and the sign-off by
# reply do not, their services do): SQLite only, unless their module names in
# BOTH_BACKENDS the tests that also check what they leave in the database (those run on PostgreSQL too).
SQLITE_ONLY_FOLDERS = ("tests/cli/", "tests/flows/")


def pytest_collection_modifyitems(config, items):
    def rank(item) -> tuple[int, int]:
        for place, prefix in enumerate(SLOW_FIRST):
            if item.nodeid.startswith(prefix):
                return 0, place
        if item.nodeid.startswith(SLOW_FILES):
            return 1, 0
        return 2, 0

    items.sort(key=rank)  # stable: otherwise in collection order


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc):
    """SQLite only — no PostgreSQL variant is set up just to be skipped — for a test marked ``layout_only``
    (what it checks does not depend on the database: documents, their rendering, reading a file) and, in a
    module that names the tests needing both backends in ``BOTH_BACKENDS`` (or a module of
    ``SQLITE_ONLY_FOLDERS``, where that is an empty set unless the module names some), for the others. (A mark,
    not ``metafunc.parametrize``: the mark is what tells pytest not to use the fixture's own params.)"""
    both = getattr(metafunc.module, "BOTH_BACKENDS", None)
    if both is None and metafunc.definition.nodeid.startswith(SQLITE_ONLY_FOLDERS):
        both = frozenset()
    one = metafunc.definition.get_closest_marker("layout_only") or (both is not None and
                                                                    metafunc.function.__name__ not in both)
    chosen = any("database_url" in _argnames(mark) for mark in metafunc.definition.iter_markers("parametrize"))
    if one and "database_url" in metafunc.fixturenames and not chosen:
        metafunc.definition.add_marker(pytest.mark.parametrize("database_url", ["sqlite"], indirect=True))


def _argnames(mark) -> list[str]:
    """The names a ``parametrize`` mark gives values to (``"a, b"``, ``["a", "b"]`` or ``argnames=…``)."""
    names = mark.args[0] if mark.args else mark.kwargs["argnames"]
    return [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)


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
        from kaoping.adapters.console import err, out
        from kaoping.cli import app

        get_settings.cache_clear()
        out.width = err.width = 200  # as wide as COLUMNS says, whatever the worker's terminal was at import
        result = self.runner.invoke(app, [str(a) for a in args], env=self.env, catch_exceptions=False)
        get_settings.cache_clear()
        return result


@pytest.fixture
def cli(settings, monkeypatch, tmp_path) -> Cli:
    """Run ``kaoping ...`` in-process against this test's database."""
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    return Cli(CliRunner(), cli_env(settings))


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment of ``kaoping ...`` run by the `cli` fixture against ``settings``' database."""
    return {
        "KAOPING_DATABASE_URL": settings.database_url,
        "KAOPING_VAR_DIR": str(settings.var_dir),
        "KAOPING_ACTOR": "test:专班",
        "KAOPING_ENVIRONMENT": "development",
        "COLUMNS": "200",
    }


@pytest.fixture(scope="session")
def sqlite_initialized_template(tmp_path_factory) -> Path:
    """`kaoping init` once per session on SQLite; tests get a copy of the file (~0.4 s each saved)."""
    from tests.factories import initialize

    folder = tmp_path_factory.mktemp("template")
    path = folder / "initialized.sqlite3"
    url = f"sqlite:///{path}"
    initialize(Settings(database_url=url, var_dir=folder / "var", environment="development", _env_file=None))
    return snapshots.settle_sqlite(url)


@pytest.fixture(scope="session")
def pg_initialized_script(tmp_path_factory) -> str:
    """`kaoping init` once per worker on PostgreSQL, in a schema of its own, with every statement it
    sends recorded: the writes (DDL of the migrations, inserts and updates of the registry and the
    catalog), rendered with their values into one script. Replaying it into an empty schema takes
    one round trip (~0.3 s) instead of running the migrations and the imports (~1–2.5 s a test).
    Checked once here: the replayed copy equals the original, table by table."""
    from tests.factories import initialize

    schemas = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for schema in schemas:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        original = Settings(database_url=_pg_schema_url(schemas[0]), var_dir=tmp_path_factory.mktemp("pg-init") / "var",
                            environment="development", _env_file=None)
        with snapshots.recorded_writes(original.database_url) as writes:
            initialize(original)
        script = render_script(original.database_url, writes)
        db.dispose_engine(original.database_url)
        copy = _pg_schema_url(schemas[1])
        replay(copy, script)
        db.dispose_engine(copy)
        with admin.connect() as conn:
            assert _pg_fingerprint(conn, schemas[1]) == _pg_fingerprint(conn, schemas[0]), \
                "replaying the recorded `kaoping init` did not give the same database"
    finally:
        with admin.connect() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    return script


def _pg_schema_is_empty(url: str) -> bool:
    with db.engine_for(url).connect() as conn:
        return not conn.execute(text("select count(*) from information_schema.tables "
                                     "where table_schema = current_schema()")).scalar()


def _pg_fingerprint(conn, schema: str) -> dict[str, object]:
    """Each table of ``schema`` with its columns and an md5 of its rows; its sequences' last values."""
    tables = conn.execute(text("select table_name from information_schema.tables where table_schema = :s"),
                          {"s": schema}).scalars().all()
    found: dict[str, object] = {}
    for table in tables:
        columns = conn.execute(text("select column_name, data_type, is_nullable, column_default from "
                                    "information_schema.columns where table_schema = :s and table_name = :t "
                                    "order by ordinal_position"), {"s": schema, "t": table}).all()
        rows = conn.execute(text(f'select md5(coalesce(string_agg(x::text, \'|\' order by x::text), \'\')) '
                                 f'from "{schema}"."{table}" x')).scalar()
        found[table] = ([tuple(c[:3]) + (str(c[3]).replace(schema, "<schema>"),) for c in columns], rows)
    for sequence in conn.execute(text("select sequencename, last_value from pg_sequences where schemaname = :s"),
                                 {"s": schema}).all():
        found["sequence " + sequence[0]] = sequence[1]
    constraints = conn.execute(text("select conrelid::regclass::text, conname, pg_get_constraintdef(oid) from "
                                    "pg_constraint where connamespace = cast(:s as regnamespace)"), {"s": schema}).all()
    found["constraints"] = sorted((r[0].replace(schema, "<schema>"), r[1], r[2].replace(schema, "<schema>"))
                                  for r in constraints)
    found["indexes"] = sorted(conn.execute(text("select indexname, replace(indexdef, :s, '<schema>') from pg_indexes "
                                                "where schemaname = :s"), {"s": schema}).all())
    return found


@pytest.fixture
def initialized_db(settings, request) -> Settings:
    """A database with the shipped Baotou registry and 2022 catalog (what `kaoping init` makes);
    build further state on it with the functions of tests/factories.py."""
    if settings.database_url.startswith("sqlite:///"):
        import shutil

        template = request.getfixturevalue("sqlite_initialized_template")
        shutil.copyfile(template, settings.database_url.removeprefix("sqlite:///"))
        snapshots.note_initialized(settings)
        return settings
    if PG_URL and settings.database_url.startswith("postgresql") and _pg_schema_is_empty(settings.database_url):
        replay(settings.database_url, request.getfixturevalue("pg_initialized_script"))
        snapshots.note_initialized(settings)
        return settings
    # Not empty (the test also asked for `migrated`): `kaoping init` on what is there, as before.
    from tests.factories import initialize

    initialize(settings)
    return settings


@pytest.fixture
def initialized(initialized_db, cli) -> Cli:
    """The `cli` fixture on an initialized database: for tests of what the CLI prints and exits with."""
    return cli


@pytest.fixture
def cycle_cli(initialized, settings, tmp_path) -> Cli:
    """The `initialized` CLI with 2022H1 open (`kaoping cycle open 2022H1 --accept-default-responsibilities …`;
    run once per worker and backend, then copied: tests/snapshots.py)."""
    def build() -> dict:
        result = initialized("cycle", "open", "2022H1", "--accept-default-responsibilities", "测试：沿用默认承担规则")
        assert result.exit_code == 0, result.output
        return {}

    snapshots.reuse(settings, ("kaoping cycle open 2022H1",), tmp_path, build)
    return initialized


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


@pytest.fixture
def smtp():
    """A real SMTP server on loopback for this test (tests/smtp_server.py: scripted trouble through
    ``smtp.handler``); what it received is in ``smtp.received``. Point settings at it with
    ``tests.smtp_server.mail_settings(settings, smtp.port)``."""
    from tests.smtp_server import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def flow_env(initialized, settings, smtp, monkeypatch, prefect_server) -> Settings:
    """What a Prefect worker has: kaoping's settings in its environment (this test's initialized database,
    mail to the loopback `smtp` server) and the session's Prefect server. The flows read their settings
    from the environment, as a worker would; returns the same settings for the test's own checks."""
    for key, value in {**initialized.env, "KAOPING_SMTP_HOST": "127.0.0.1", "KAOPING_SMTP_PORT": str(smtp.port),
                       "KAOPING_SMTP_RETRY_INITIAL": "0.01"}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def imap_server():
    """A private dovecot on a free loopback port for the session (its own config and folder,
    never the system's service). Each test logs in as a user of its own: a mailbox of its own."""
    from kaoping.notifications.mail.imap_server import LocalImapServer, dovecot_path

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
