"""Where our state lives and how we reach it: the storage URL (resolve, mask), one engine per URL,
one retry loop, our tables and their Alembic migrations. Never imports the layers that use it."""

from core.storage._schema import ensure_schema, head, mismatch_error, state_at, upgrade
from core.storage.engine import dispose_engine, get_engine, reader, sqlite_begin, tune_sqlite
from core.storage.retry import first_line, is_transient, retrying
from core.storage.url import (
    ENV_HOME,
    ENV_STORAGE,
    SECRETS_PATH,
    default_url,
    home,
    is_sqlite,
    make_sqlite_folder,
    mask,
    resolve,
    resolve_existing,
    source,
    sqlite_path,
)

__all__ = [
    "ENV_HOME",
    "ENV_STORAGE",
    "SECRETS_PATH",
    "default_url",
    "dispose_engine",
    "ensure_schema",
    "first_line",
    "get_engine",
    "head",
    "home",
    "is_sqlite",
    "is_transient",
    "make_sqlite_folder",
    "mask",
    "mismatch_error",
    "reader",
    "resolve",
    "resolve_existing",
    "retrying",
    "source",
    "state_at",
    "sqlite_begin",
    "sqlite_path",
    "tune_sqlite",
    "upgrade",
]
