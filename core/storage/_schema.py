"""Keep our tables (:mod:`core.storage.tables`) at the layout this installation expects.

Why check at all: when several machines share one database, a newer Tradeoff Room may need a
column an older one does not know (or the reverse). Rather than fail later with a confusing SQL
error half-way through a search or a vote, every process checks the Alembic revision recorded in
``tradeoff_alembic_version`` when it first touches the database (:func:`ensure_schema`):

* no tables of ours yet: they are created at the newest revision;
* tables made before Alembic managed them (``tradeoff_schema_version`` / ``room_schema_version``
  at 1, or no version row at all): recognised as the first revision and stamped, nothing changed;
* an *older* revision: the pending revisions are applied there and then, under a lock that
  serialises schema changes across processes (one transaction where the database allows DDL in
  one). Why automatically: our revisions only add tables and columns, so an older Tradeoff Room
  still sharing the database keeps working, and a study or room made before opens as it was.
  ``python -m core.storage.schema upgrade URL`` does the same for whoever wants to do it explicitly;
* a *newer* or unknown revision: another machine runs a newer Tradeoff Room; upgrade this one too.

To change a table: edit :mod:`core.storage.tables` and add a revision under ``migrations/versions``
(``alembic revision`` with ``script_location`` pointing there). Optuna's tables have Optuna's own
migrations (``optuna storage upgrade --storage URL``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from core.errors import UserInputError
from core.storage.engine import get_engine
from core.storage.retry import first_line
from core.storage.url import mask, resolve

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_LOCATIONS: tuple[str, ...] = (str(MIGRATIONS / "versions"),)
VERSION_TABLE = "tradeoff_alembic_version"
BASELINE = "0001_baseline"
LEGACY_VERSION = 1  # what the version tables of the releases before Alembic hold
_LEGACY = {"tradeoff_schema_version": "tradeoff_budget", "room_schema_version": "room_rooms"}
_ADVISORY_LOCK_KEY = 7_305_008  # serialises schema changes across processes on PostgreSQL
_MYSQL_LOCK = "tradeoff_schema"


@dataclass(frozen=True)
class Found:
    """What a database holds: our Alembic revision, else the pre-Alembic version, else nothing."""

    revision: str | None
    legacy: int | None

    @property
    def label(self) -> str:
        if self.revision is not None:
            return self.revision
        return "(none yet)" if self.legacy is None else f"pre-Alembic version {self.legacy}"


def config(connection: sa.Connection | None = None) -> Config:
    """An Alembic config for our environment, migrating ``connection`` when one is given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("version_locations", " ".join(VERSION_LOCATIONS))
    cfg.set_main_option("path_separator", "space")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@cache
def _script(locations: tuple[str, ...]) -> ScriptDirectory:
    del locations  # the cache key: a test may add a folder of revisions
    return ScriptDirectory.from_config(config())


def head() -> str:
    """The newest revision this installation knows."""
    revision = _script(VERSION_LOCATIONS).get_current_head()
    assert revision is not None
    return revision


def _known(revision: str) -> bool:
    script = _script(VERSION_LOCATIONS)
    return any(s.revision == revision for s in script.walk_revisions())


def _legacy_version(con: sa.Connection, inspector: sa.Inspector) -> int | None:
    """The lowest pre-Alembic version recorded; tables without a version row count as version 1."""
    found: list[int] = []
    for version_table, data_table in _LEGACY.items():
        value = None
        if inspector.has_table(version_table):
            value = con.execute(sa.text(f"SELECT version FROM {version_table} WHERE id = 1")).scalar()
        if value is not None:
            found.append(int(value))
        elif inspector.has_table(data_table):
            found.append(LEGACY_VERSION)
    if not found:
        return None
    newer = [v for v in found if v > LEGACY_VERSION]
    return max(newer) if newer else min(found)


def found(con: sa.Connection) -> Found:
    """Read what ``con``'s database holds (no changes)."""
    inspector = sa.inspect(con)
    if inspector.has_table(VERSION_TABLE):
        revision = MigrationContext.configure(con, opts={"version_table": VERSION_TABLE}).get_current_revision()
        if revision is not None:
            return Found(revision, None)
    return Found(None, _legacy_version(con, inspector))


def _is_newer(state: Found) -> bool:
    if state.revision is not None:
        return not _known(state.revision)
    return state.legacy is not None and state.legacy > LEGACY_VERSION


def mismatch_error(url: str, state: Found) -> UserInputError:
    """The message for tables written by another version of Tradeoff Room, with the way out."""
    where = mask(url)
    if _is_newer(state):
        return UserInputError(
            f"The Tradeoff Room tables in {where} are at schema {state.label}, newer than this "
            f"installation understands ({head()}): another machine runs a newer Tradeoff Room against "
            "this database. Upgrade this installation too (pip install -U tradeoff-room) on every "
            "machine that shares the database, or point it at another database.",
            field="storage",
        )
    if state.revision is None and state.legacy is not None and state.legacy < LEGACY_VERSION:
        return UserInputError(
            f"No upgrade step from Tradeoff Room schema version {state.legacy} in this installation; "
            "install the release that introduced version 1 first and upgrade with it.",
            field="storage",
        )
    return UserInputError(
        f"The Tradeoff Room tables in {where} are at schema {state.label}, older than this "
        f"installation ({head()}). Stop the workers, back up the database, then run "
        f"`python -m core.storage.schema upgrade '{where}'` (with the real password) once.",
        field="storage",
    )


@contextmanager
def _locked(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One transaction that no other process changing the schema can interleave with."""
    with engine.begin() as con:
        name = con.dialect.name
        if name == "postgresql":
            con.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
        elif name == "sqlite":
            con.exec_driver_sql("BEGIN IMMEDIATE")
        elif name in ("mysql", "mariadb"):
            con.execute(sa.text("SELECT GET_LOCK(:k, 60)"), {"k": _MYSQL_LOCK})
        try:
            yield con
        finally:
            if name in ("mysql", "mariadb"):
                con.execute(sa.text("SELECT RELEASE_LOCK(:k)"), {"k": _MYSQL_LOCK})


def _adopt(con: sa.Connection, state: Found) -> Found:
    """Create a new database at the newest revision; stamp a pre-Alembic one as the first."""
    if state.revision is None and state.legacy is None:
        command.upgrade(config(con), "head")
        return Found(head(), None)
    if state.revision is None and state.legacy == LEGACY_VERSION:
        command.upgrade(config(con), BASELINE)  # creates only the baseline tables it lacks
        return Found(BASELINE, None)
    return state


def _upgradable(state: Found) -> bool:
    """Whether this installation can bring ``state`` to :func:`head` itself (not newer, not pre-1)."""
    if state.revision is not None:
        return _known(state.revision)
    return state.legacy in (None, LEGACY_VERSION)


def ensure_schema(engine: sa.Engine) -> None:
    """Make sure our tables exist at :func:`head`, applying pending revisions; refuse a newer layout."""
    url = engine.url.render_as_string(hide_password=False)
    with engine.connect() as con:
        state = found(con)
    if state.revision == head():
        return
    if _upgradable(state):
        with _locked(engine) as con:
            state = found(con)  # again under the lock: another process may have done it
            if _upgradable(state) and state.revision != head():
                state = _adopt(con, state)
                command.upgrade(config(con), "head")
                state = Found(head(), None)
    if state.revision != head():
        raise mismatch_error(url, state)


def upgrade(url: str) -> str:
    """Bring our tables at ``url`` to :func:`head`; returns what the database was at before."""
    url = resolve(url)
    try:
        with _locked(get_engine(url)) as con:
            before = found(con)
            if not _upgradable(before):
                raise mismatch_error(url, before)
            _adopt(con, before)
            command.upgrade(config(con), "head")
            return before.label
    except sa.exc.OperationalError as exc:
        raise UserInputError(f"Cannot open storage {mask(url)}: {first_line(exc)}", field="storage") from None


def state_at(url: str) -> Found:
    """What the database at ``url`` holds, without changing it."""
    with get_engine(resolve(url)).connect() as con:
        return found(con)
