"""One SQLAlchemy engine per database URL per process, tuned for many short writers.

Every part of Tradeoff Room that touches our tables (the search's budget and worker registry, the
decision room) shares it, so a process holds one connection pool per database. On SQLite the
engine runs in WAL mode (browsers read while a worker writes) with a busy timeout, and takes the
database write lock (``BEGIN IMMEDIATE``) before the first write or locking read of a transaction:
SQLite ignores ``SELECT … FOR UPDATE``, and a transaction that reads and then writes without the
lock fails with "database is locked" instead of waiting when another writer got in between.
Connections marked ``tr_read_only`` (:func:`reader`) read in one deferred transaction, a
consistent snapshot that never takes the write lock.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.errors import UserInputError
from core.storage.url import make_sqlite_folder

SQLITE_TIMEOUT_S = 60
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
_engines: dict[str, tuple[int, sa.Engine]] = {}  # url -> (the process that made it, engine)
_lock = threading.RLock()


def _parse(url: str) -> sa.URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise UserInputError(
            f"storage: {url!r} is not a database URL; use e.g. sqlite:///var/tradeoff.db or "
            "postgresql+psycopg://user@host:5432/dbname.",
            field="storage",
        ) from None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Per connection: the driver's own transaction handling off (we begin ourselves), WAL, timeout."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA foreign_keys = ON")
    if cursor.execute("PRAGMA database_list").fetchone()[2]:  # a file, not an in-memory database
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def sqlite_begin(
    conn: sa.Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    """``before_cursor_execute`` hook: open the transaction the statement needs, if none is open.

    A locking read or a write begins ``BEGIN IMMEDIATE``; a read on a ``tr_read_only`` connection
    begins a deferred snapshot; any other read runs on its own and never waits for a writer.
    """
    raw = conn.connection.driver_connection
    if raw is None or raw.in_transaction:
        return
    compiled = getattr(context, "compiled", None)
    locking = getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None
    if locking or statement.lstrip()[:7].upper().startswith(_WRITES):
        cursor.execute("BEGIN IMMEDIATE")
    elif conn.get_execution_options().get("tr_read_only"):
        cursor.execute("BEGIN")


def tune_sqlite(engine: sa.Engine) -> None:
    """Install the SQLite pragmas and transaction hook on an engine made elsewhere (Optuna's)."""
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    sa.event.listen(engine, "before_cursor_execute", sqlite_begin)


def _create(url: str) -> sa.Engine:
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, pool_pre_ping=True)
    make_sqlite_folder(url)
    engine = sa.create_engine(
        parsed,
        pool_pre_ping=True,
        connect_args={"timeout": SQLITE_TIMEOUT_S, "check_same_thread": False, "isolation_level": None},
    )
    tune_sqlite(engine)
    return engine


def get_engine(url: str) -> sa.Engine:
    """The process's engine for ``url``: created on first use, then shared by every caller.

    A forked child gets an engine of its own: connections must never be shared across processes.
    """
    with _lock:
        pid, engine = _engines.get(url, (None, None))
        if engine is not None and pid != os.getpid():
            engine.dispose(close=False)  # leave the parent's connections to the parent
            engine = None
        if engine is None:
            engine = _create(url)
            _engines[url] = (os.getpid(), engine)
        return engine


def reader(engine: sa.Engine) -> sa.Engine:
    """The same pool, for reads that need one consistent snapshot and must never take a lock."""
    return engine.execution_options(tr_read_only=True)


def close_connections() -> None:
    """Close every engine's idle pooled connections, keeping the engines (they reconnect on use).

    Why: a process about to fork must hold no open connection, or the child would inherit the
    socket or SQLite handle; a driver that closes it when the child's copy is collected (psycopg2
    sends the server its goodbye) ends the parent's session too.
    """
    with _lock:
        for _pid, engine in _engines.values():
            engine.dispose()


def dispose_engine(url: str | None = None) -> None:
    """Close the pooled connections to ``url`` (to every database when None) and forget the engine."""
    with _lock:
        for key in [k for k in _engines if url is None or k == url]:
            _engines.pop(key)[1].dispose()
