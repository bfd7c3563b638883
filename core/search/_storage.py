"""Optuna's RDB storage as the workers need it: one per URL per process, heartbeats that survive a
database blip, a dead worker's trial retried once, and on SQLite WAL plus the storage layer's
atomic locking reads, so several workers on one machine never run one queued trial twice."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import sqlalchemy as sa
from optuna.storages import RDBStorage

from core import storage as st
from core.search._engine import cache_lock, dispose_engine, engine, resolved
from core.search._errors import open_error
from core.search._recovery import retry_stale
from core.search._settings import heartbeat_settings
from core.storage.engine import close_connections as _close_engines
from core.storage.engine import sqlite_begin
from core.storage.retry import first_line, is_transient

_log = logging.getLogger("core.search")
_storages: dict[str, RDBStorage] = {}


class _Storage(RDBStorage):
    """Optuna's RDB storage whose heartbeat survives a database blip.

    Optuna records heartbeats in a thread; one failed write would end that thread with a traceback
    and the trial, still running fine, would later be taken for dead. Here a failed heartbeat is
    logged once and tried again at the next beat.
    """

    _beat_failing = False

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            super().record_heartbeat(trial_id)
        except Exception as exc:
            if not is_transient(exc):
                raise
            if not self._beat_failing:
                _log.warning(
                    "heartbeat for trial id %s not recorded (%s); retrying at the next beat", trial_id, first_line(exc)
                )
            self._beat_failing = True
        else:
            self._beat_failing = False


def _open(url: str) -> RDBStorage:
    hb, grace = heartbeat_settings()
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if st.is_sqlite(url):
        # the driver's own transaction handling off: we begin every transaction ourselves
        engine_kwargs["connect_args"] = {"timeout": 60, "isolation_level": None}
    if st.is_sqlite(url):
        # our engine's first connection puts the file in WAL mode before Optuna's connects
        engine(url).connect().close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # heartbeat options are marked experimental
        storage = _Storage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=hb,
            grace_period=grace,
            heartbeat_stale_trial_callback=retry_stale(url),
        )
    if st.is_sqlite(url):
        # Optuna pops a queued trial with SELECT … FOR UPDATE, which SQLite ignores: without the
        # storage layer's BEGIN IMMEDIATE two workers could both run the same queued trial
        sa.event.listen(storage.engine, "before_cursor_execute", sqlite_begin)
    return storage


def optuna_storage(url: str | None) -> RDBStorage:
    """Optuna RDB storage with heartbeats, stale-trial retry and budget give-back (one per URL)."""
    url = resolved(url)
    with cache_lock:
        cached = _storages.get(url)
        if cached is not None:
            return cached
        try:
            storage = _open(url)
        except Exception as exc:  # driver/URL/connection problems are user-fixable
            raise open_error(url, exc) from None
        _storages[url] = storage
        return storage


def close_connections() -> None:
    """Close every idle connection this process holds (Optuna's storages and our engines), keeping
    the objects: the step before forking (:func:`core.storage.engine.close_connections` says why)."""
    with cache_lock:
        for storage in _storages.values():
            storage.engine.dispose()
        _close_engines()


def dispose(url: str | None = None) -> None:
    """Close this process's connections to ``url`` (all URLs when None): tests, benchmarks."""
    with cache_lock:
        dispose_engine(url)
        for u in [u for u in _storages if url is None or u == url]:
            _storages.pop(u).engine.dispose()
