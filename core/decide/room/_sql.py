"""Insert-if-absent and insert-or-replace keyed on a UNIQUE constraint, per dialect, so two people
clicking at once can never duplicate a participant, a candidate or a vote."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, and_, delete, insert
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import IntegrityError


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any], keys: list[str]) -> bool:
    """Insert unless a row with the same unique ``keys`` exists; True when a row was inserted."""
    name = conn.dialect.name
    if name in ("postgresql", "sqlite"):
        mod = pg_dialect if name == "postgresql" else sqlite_dialect
        stmt = (
            mod.insert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[table.c[k] for k in keys])
            .returning(table.c.id)
        )
        # RETURNING, not rowcount: with implicit RETURNING some drivers report rowcount -1
        return conn.execute(stmt).first() is not None
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(**values))
        return True
    except IntegrityError:
        return False


def upsert(conn: Connection, table: Table, values: dict[str, Any], keys: list[str]) -> None:
    """Insert, or update every non-key column of the row with the same unique ``keys``."""
    name = conn.dialect.name
    if name in ("postgresql", "sqlite"):
        mod = pg_dialect if name == "postgresql" else sqlite_dialect
        stmt = mod.insert(table).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys], set_={c: stmt.excluded[c] for c in values if c not in keys}
        )
        conn.execute(stmt)
        return
    conn.execute(delete(table).where(and_(*(table.c[k] == values[k] for k in keys))))
    conn.execute(insert(table).values(**values))
