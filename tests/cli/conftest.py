"""What the CLI tests share besides the fixtures of tests/conftest.py (`cli`, `initialized`, `cycle_cli`):
how a refusal looks; an empty database to restore into (`empty_target`) and a published cycle (`published`),
for `kaoping backup|restore|archive` and `kaoping db upgrade`. These tests run on SQLite only unless their
module names some in ``BOTH_BACKENDS`` (``SQLITE_ONLY_FOLDERS`` in tests/conftest.py)."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
from kaoping.models import CycleStatus
from sqlalchemy import create_engine, text

from kaoping import db
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.stages import steps
from kaoping.settings import Settings
from tests import factories
from tests.conftest import PG_URL, _pg_schema_url


def refused(result, *words: str) -> bool:
    """A refusal as people see it: non-zero exit, the words given, no traceback."""
    return result.exit_code != 0 and all(w in result.output for w in words) and "Traceback" not in result.output


def published(settings: Settings, folder: Path, cli=None) -> None:
    """A cycle scored from files (with ``cli``: one of them given again to `kaoping scores import`, as
    the team does — kept as a file received for the cycle), approved (the sign-offs are tested
    elsewhere) and published."""
    files = factories.scored_cycle(settings, folder)
    if cli is not None:
        again = cli("scores", "import", str(files["third_party"]), "--cycle", "2022H1", "--component", "third_party")
        assert again.exit_code == 0, again.output
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        cycle.status = CycleStatus.approved
        session.add(cycle)
    with db.session_scope(settings) as session:
        steps.publish(session, settings, get_cycle(session, "2022H1"), signed=date(2022, 7, 20))


@pytest.fixture
def empty_target(database_url, tmp_path):
    """A second, empty database on the same backend (and an empty var folder) to restore into."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        yield Settings(database_url=url, var_dir=tmp_path / "restored-var", environment="development", _env_file=None)
        db.dispose_engine(url)
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _pg_schema_url(schema)
    try:
        yield Settings(database_url=url, var_dir=tmp_path / "restored-var", environment="development", _env_file=None)
    finally:
        db.dispose_engine(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
