"""The tables (models/) as the migrations make them, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from kaoping.models import Indicator, metadata
from sqlmodel import select

from kaoping import db


def test_migrations_create_exactly_the_models(migrated):
    """The Alembic history and the SQLModel tables never drift apart."""
    engine = db.get_engine(migrated)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    assert diff == []
    assert db.schema_status(migrated)[0] == db.schema_status(migrated)[1]


def test_decimal_points_are_exact_on_every_backend(initialized_db, settings):
    with db.session_scope(settings) as session:
        points = {i.number: i.points for i in session.exec(select(Indicator))}
    assert points[35] == Decimal("0.25") and isinstance(points[35], Decimal)
    assert points[19] + points[20] == Decimal("1.0")
