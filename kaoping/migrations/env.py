"""Alembic environment: kaoping runs it with a connection (``kaoping db upgrade``);
``alembic -c kaoping/migrations/alembic.ini`` works too, with KAOPING_DATABASE_URL."""

from __future__ import annotations

import kaoping.models  # noqa: F401  (registers every table on the metadata)
from alembic import context
from kaoping.models import metadata
from sqlalchemy import engine_from_config, pool

config = context.config
target_metadata = metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from kaoping.settings import get_settings

        config.set_main_option("sqlalchemy.url", get_settings().effective_database_url)
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
