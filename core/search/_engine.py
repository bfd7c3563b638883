"""The engine for our own tables (budget, workers): the storage layer's shared one per URL, with the
schema checked once per process, so the per-trial budget and heartbeat writes never re-check it."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from core import storage as st
from core.search._errors import open_error
from core.storage.engine import dispose_engine as _dispose_shared
from core.storage.engine import get_engine
from core.storage.schema import ensure_schema

_checked: set[str] = set()
cache_lock = threading.RLock()


def resolved(url: str | None) -> str:
    """Resolve only what needs it: these are called on every trial with an already resolved URL."""
    return url if url and "://" in url else st.resolve(url)


def engine(url: str | None) -> sa.Engine:
    """The shared engine of ``url`` for our own tables (budget, workers), schema checked once."""
    url = resolved(url)
    with cache_lock:
        try:
            eng = get_engine(url)
            if url not in _checked:
                ensure_schema(eng)
                _checked.add(url)
        except Exception as exc:
            raise open_error(url, exc) from None
        return eng


def dispose_engine(url: str | None) -> None:
    """Close the engine of ``url`` (every engine when None); the schema is checked again on reuse."""
    with cache_lock:
        _dispose_shared(url)
        _checked.difference_update([u for u in _checked if url is None or u == url])


def ping(url: str) -> None:
    """One round trip: raises while the database does not answer."""
    with engine(url).connect() as con:
        con.execute(sa.text("SELECT 1"))
