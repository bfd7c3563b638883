"""One retry loop for "the database did not answer" and "the database was busy", so a restart of
PostgreSQL or a burst of writers on SQLite costs a pause, not a failed search or a lost vote."""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa

from core.storage.url import mask

T = TypeVar("T")
_log = logging.getLogger("core.storage")
_PSYCOPG_TRANSIENT = ("OperationalError", "InterfaceError", "AdminShutdown", "ConnectionTimeout")
_TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError, sqlite3.OperationalError, ConnectionError)


def is_transient(exc: BaseException) -> bool:
    """True for errors worth trying again: a dropped or refused connection, SQLite's "database is
    locked", PostgreSQL's serialization failure or deadlock; false for bugs and bad data.

    Optuna wraps driver errors in ``StorageInternalError``; look through the cause chain.
    """
    seen = 0
    e: BaseException | None = exc
    while e is not None and seen < 8:
        if isinstance(e, _TRANSIENT):
            return True
        if isinstance(e, sa.exc.DBAPIError) and e.connection_invalidated:
            return True
        if type(e).__module__.startswith("psycopg") and type(e).__name__ in _PSYCOPG_TRANSIENT:
            return True
        e = e.__cause__ or e.__context__
        seen += 1
    return False


def first_line(exc: BaseException) -> str:
    """A short, password-free description of a database error: the driver's own first line."""
    inner = exc
    for _ in range(8):
        if getattr(inner, "orig", None) is not None:
            inner = inner.orig  # type: ignore[attr-defined]
            break
        if inner.__cause__ is None:
            break
        inner = inner.__cause__
    text = str(inner).strip()
    text = text.splitlines()[0] if text else ""
    return mask(f"{type(inner).__name__}: {text}" if text else type(inner).__name__)[:300]


def retrying(
    fn: Callable[[], T],
    *,
    what: str,
    attempts: int | None = 8,
    within_s: float | None = None,
    first_delay_s: float = 0.02,
    max_delay_s: float = 1.0,
    on_retry: Callable[[BaseException, int, float], None] | None = None,
) -> T:
    """Call ``fn`` until it succeeds, waiting (jittered, doubling) after each transient error.

    Gives up after ``attempts`` calls (None: no limit) or when the next wait would end past
    ``within_s`` seconds from the start (None: no limit), re-raising the last error; any error that
    is not transient is raised at once. ``on_retry(error, attempt, delay)`` runs before each wait.
    """
    deadline = None if within_s is None else time.monotonic() + within_s
    delay, attempt = first_delay_s, 0
    while True:
        attempt += 1
        try:
            return fn()
        except Exception as exc:
            wait = delay * (0.5 + random.random())
            out_of_tries = attempts is not None and attempt >= attempts
            out_of_time = deadline is not None and time.monotonic() + wait > deadline
            if not is_transient(exc) or out_of_tries or out_of_time:
                raise
            _log.debug("retrying %s in %.2f s after %s", what, wait, first_line(exc))
            if on_retry is not None:
                on_retry(exc, attempt, wait)
            time.sleep(wait)
            delay = min(delay * 2, max_delay_s)
