"""Throwaway PostgreSQL (and MariaDB/MySQL) databases for tests.

Every test that needs a database server gets a database of its own (``tr_<random hex>``), created
through the admin connection and dropped afterwards (PostgreSQL: ``WITH (FORCE)``), so tests can
run in parallel (pytest-xdist) and a crashed test cannot leave rows that make the next one pass or
fail.

Only an unreachable server (or, for MariaDB, a missing driver) is a reason to skip; any other
failure (no permission to create a database, a bug) is a real error and must show up as one.

Reuse from any test module::

    from tests.core.pg import pg_url  # noqa: F401  (a fixture: pytest finds it by name)

    @pytest.mark.postgres
    def test_something(pg_url): ...
"""

from __future__ import annotations

import importlib.util
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool


@dataclass(frozen=True)
class Server:
    """A database server that tests may create throwaway databases on."""

    admin_url: str
    start_hint: str
    drop_sql: str
    quote: str
    driver: str | None = None  # a module that must be importable, else skip

    def admin_engine(self):
        # AUTOCOMMIT: CREATE/DROP DATABASE cannot run inside a transaction block
        return create_engine(
            self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 3}
        )

    def database_url(self, name: str) -> str:
        """The URL of database ``name`` on this server, as the app would be given it."""
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)


POSTGRES = Server(
    admin_url=os.environ.get("TRADEOFF_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    start_hint="Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
    "(or set TRADEOFF_TEST_PG_ADMIN_URL to a server where this user may CREATE DATABASE).",
    drop_sql='DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
    quote='"',
)
MARIADB = Server(
    admin_url=os.environ.get("TRADEOFF_TEST_MYSQL_ADMIN_URL", "mysql+pymysql://root@127.0.0.1:3306/"),
    start_hint="Start it with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` "
    "(or set TRADEOFF_TEST_MYSQL_ADMIN_URL to a server where this user may CREATE DATABASE).",
    drop_sql="DROP DATABASE IF EXISTS `{name}`",
    quote="`",
    driver="pymysql",
)
ADMIN_URL = POSTGRES.admin_url


@cache
def unreachable_reason(server: Server = POSTGRES) -> str | None:
    """None when the server answers; otherwise the skip reason, with how to start one."""
    where = make_url(server.admin_url).render_as_string(hide_password=True)
    if server.driver and importlib.util.find_spec(server.driver) is None:
        return f"The driver {server.driver!r} for {where} is not installed (`pip install -e '.[test]'` installs it)."
    engine = server.admin_engine()
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        error = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return f"The database server is not reachable at {where} ({error}). {server.start_hint}"
    finally:
        engine.dispose()
    return None


@contextmanager
def throwaway_database(prefix: str = "tr_", server: Server = POSTGRES) -> Iterator[str]:
    """Create an empty database, yield its SQLAlchemy URL, drop it (even if connections remain)."""
    reason = unreachable_reason(server)
    if reason:
        pytest.skip(reason)
    name = f"{prefix}{secrets.token_hex(6)}"
    q = server.quote
    engine = server.admin_engine()
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {q}{name}{q}")
        try:
            yield server.database_url(name)
        finally:
            with engine.connect() as conn:
                conn.exec_driver_sql(server.drop_sql.format(name=name))
    finally:
        engine.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database URL for this test only (skips if no server)."""
    with throwaway_database() as url:
        yield url


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh, empty MariaDB/MySQL database URL for this test only (skips if no server/driver)."""
    with throwaway_database(server=MARIADB) as url:
        yield url
