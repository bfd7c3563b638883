"""Alembic's entry point for our tables: migrates the connection :mod:`core.storage.schema` hands in
(inside its transaction and lock), or the ``sqlalchemy.url`` of the config when run by ``alembic``."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from core.storage.engine import get_engine
from core.storage.tables import metadata

VERSION_TABLE = "tradeoff_alembic_version"


def _migrate(connection: sa.Connection) -> None:
    # render_as_batch: SQLite alters a table by copying it, which batch mode does for us
    context.configure(
        connection=connection, target_metadata=metadata, version_table=VERSION_TABLE, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url, or run `python -m core.storage.schema upgrade URL`")
    with get_engine(url).begin() as conn:
        _migrate(conn)


_run()
