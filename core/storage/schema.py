"""Our own tables beside Optuna's (``tradeoff_budget``, ``tradeoff_workers``) and their schema version.

Why a version table: when several machines share one database, a newer Tradeoff Room may need a
column an older one does not know (or the reverse). Rather than fail later with a confusing SQL
error half-way through a search, every process checks ``tradeoff_schema_version`` when it first
touches the database and stops with a message that says what to do:

* stored version *older* than :data:`SCHEMA_VERSION`: back up the database, then run
  ``python -m core.storage.schema upgrade URL`` once (from any machine). It applies the steps in
  :data:`MIGRATIONS` one version at a time in one transaction, so a failure leaves the old schema.
  To change the schema: bump :data:`SCHEMA_VERSION`, change the tables below, and add the step
  ``MIGRATIONS[old] = fn(connection)`` that brings a database from ``old`` to ``old + 1``;
* stored version *newer*: another machine runs a newer Tradeoff Room against this database;
  upgrade this installation too.

The decision-room tables have their own version (``room_schema_version``, :mod:`core.decide.room`), and
Optuna's tables have Optuna's (``optuna storage upgrade --storage URL``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime, timezone

import sqlalchemy as sa

from core import storage as st
from core.errors import UserInputError

SCHEMA_VERSION = 1
_ADVISORY_LOCK_KEY = 7_305_008  # serialises first-use table creation across processes on PostgreSQL

metadata = sa.MetaData()

version_table = sa.Table(
    "tradeoff_schema_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)
budget_table = sa.Table(
    "tradeoff_budget",
    metadata,
    sa.Column("study_name", sa.String(512), primary_key=True),
    sa.Column("n_trials", sa.Integer, nullable=True),
    sa.Column("claimed", sa.Integer, nullable=False, default=0),
)
workers_table = sa.Table(
    "tradeoff_workers",
    metadata,
    sa.Column("worker_id", sa.String(64), primary_key=True),
    sa.Column("study_name", sa.String(512), index=True, nullable=False),
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Column("state", sa.String(32)),
    sa.Column("current_trial", sa.Integer, nullable=True),
    sa.Column("trials_done", sa.Integer, default=0),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("last_seen", sa.DateTime(timezone=True)),
    sa.Column("message", sa.Text, nullable=True),
)

# version -> the step that brings a database from that version to version + 1
MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def stored_version(con: sa.Connection) -> int | None:
    """The version recorded in the database; 0 for our tables made before versioning; None if new."""
    inspector = sa.inspect(con)
    if inspector.has_table(version_table.name):
        value = con.execute(sa.select(version_table.c.version).where(version_table.c.id == 1)).scalar()
        if value is not None:
            return int(value)
    if inspector.has_table(budget_table.name):
        # the tables of the first release carried no version row; their layout is version 1
        return 1
    return None


def mismatch_error(url: str, stored: int) -> UserInputError:
    """The message for tables written by another version of Tradeoff Room, with the way out."""
    where = st.mask(url)
    if stored > SCHEMA_VERSION:
        return UserInputError(
            f"The Tradeoff Room tables in {where} are at schema version {stored}, newer than this "
            f"installation understands (version {SCHEMA_VERSION}): another machine runs a newer "
            "Tradeoff Room against this database. Upgrade this installation too "
            "(pip install -U tradeoff-room), or point it at another database.",
            field="storage",
        )
    return UserInputError(
        f"The Tradeoff Room tables in {where} are at schema version {stored}, older than this "
        f"installation (version {SCHEMA_VERSION}). Stop the workers, back up the database, then run "
        f"`python -m core.storage.schema upgrade '{where}'` (with the real password) once.",
        field="storage",
    )


def _lock(con: sa.Connection) -> None:
    if con.dialect.name == "postgresql":
        con.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})


def ensure(engine: sa.Engine, url: str) -> None:
    """Create our tables on first use, or refuse tables of another schema version (clear message)."""
    with engine.begin() as con:
        _lock(con)
        stored = stored_version(con)
        if stored is not None and stored != SCHEMA_VERSION:
            raise mismatch_error(url, stored)
        metadata.create_all(con, checkfirst=True)
        if con.execute(sa.select(version_table.c.version).where(version_table.c.id == 1)).first() is None:
            con.execute(sa.insert(version_table).values(id=1, version=SCHEMA_VERSION, updated_at=_now()))


def upgrade(url: str) -> int:
    """Bring our tables at ``url`` to :data:`SCHEMA_VERSION`; returns the version found before."""
    url = st.resolve(url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as con:
            _lock(con)
            stored = stored_version(con)
            if stored is None:
                metadata.create_all(con)
                con.execute(sa.insert(version_table).values(id=1, version=SCHEMA_VERSION, updated_at=_now()))
                return SCHEMA_VERSION
            if stored > SCHEMA_VERSION:
                raise mismatch_error(url, stored)
            for version in range(stored, SCHEMA_VERSION):
                step = MIGRATIONS.get(version)
                if step is None:
                    raise UserInputError(
                        f"No upgrade step from Tradeoff Room schema version {version} to {version + 1} "
                        "in this installation; install the release that introduced it first.",
                        field="storage",
                    )
                step(con)
            metadata.create_all(con, checkfirst=True)
            if con.execute(sa.select(version_table.c.id).where(version_table.c.id == 1)).first() is None:
                con.execute(sa.insert(version_table).values(id=1, version=SCHEMA_VERSION, updated_at=_now()))
            else:
                con.execute(
                    sa.update(version_table)
                    .where(version_table.c.id == 1)
                    .values(version=SCHEMA_VERSION, updated_at=_now())
                )
            return stored
    except sa.exc.OperationalError as exc:
        raise UserInputError(
            f"Cannot open storage {st.mask(url)}: {str(exc.orig).splitlines()[0]}", field="storage"
        ) from None
    finally:
        engine.dispose()


def version_at(url: str) -> int | None:
    """The schema version stored at ``url`` (None when our tables do not exist yet)."""
    engine = sa.create_engine(st.resolve(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as con:
            return stored_version(con)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m core.storage.schema", description="Check or upgrade the Tradeoff Room tables in a database."
    )
    p.add_argument("action", choices=["status", "upgrade"])
    p.add_argument("url", nargs="?", help="SQLAlchemy URL (default: $TRADEOFF_STORAGE, secrets, SQLite)")
    args = p.parse_args(argv)
    try:
        url = st.resolve(args.url)
        if args.action == "status":
            v = version_at(url)
            print(
                f"{st.mask(url)}: Tradeoff Room tables at schema version "
                f"{'(none yet)' if v is None else v}; this installation writes {SCHEMA_VERSION}"
            )
            return 0
        before = upgrade(url)
        print(f"{st.mask(url)}: schema version {before} -> {SCHEMA_VERSION}")
        return 0
    except UserInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
