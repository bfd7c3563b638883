"""Throwaway PostgreSQL databases for tests.

Every test that needs PostgreSQL gets a database of its own (``tr_<random hex>``), created through
the admin connection and dropped with ``WITH (FORCE)`` afterwards, so tests can run in parallel
(pytest-xdist) and a crashed test cannot leave rows that make the next one pass or fail.

Only an unreachable server is a reason to skip; any other failure (no permission to create a
database, a bug) is a real error and must show up as one.

Reuse from any test module::

    from tests.core.pg import pg_url  # noqa: F401  (a fixture: pytest finds it by name)

    @pytest.mark.postgres
    def test_something(pg_url): ...
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

ADMIN_URL = os.environ.get(
    "TRADEOFF_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
START_HINT = (
    "PostgreSQL is not reachable at {where} ({error}). Start it with "
    "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
    "(or set TRADEOFF_TEST_PG_ADMIN_URL to a server where this user may CREATE DATABASE)."
)


def _admin_engine():
    # AUTOCOMMIT: CREATE/DROP DATABASE cannot run inside a transaction block
    return create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool,
                         connect_args={"connect_timeout": 3})


@lru_cache(maxsize=1)
def unreachable_reason() -> str | None:
    """None when the server answers; otherwise the skip reason, with how to start one."""
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        error = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        where = make_url(ADMIN_URL).render_as_string(hide_password=True)
        return START_HINT.format(where=where, error=error)
    finally:
        engine.dispose()
    return None


def database_url(name: str) -> str:
    """The URL of database ``name`` on the admin URL's server, as the app would be given it."""
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


@contextmanager
def throwaway_database(prefix: str = "tr_") -> Iterator[str]:
    """Create an empty database, yield its SQLAlchemy URL, drop it (even if connections remain)."""
    reason = unreachable_reason()
    if reason:
        pytest.skip(reason)
    name = f"{prefix}{secrets.token_hex(6)}"
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield database_url(name)
        finally:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database URL for this test only (skips if no server)."""
    with throwaway_database() as url:
        yield url
