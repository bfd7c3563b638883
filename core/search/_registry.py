"""Who works on a study: each worker's row in ``tradeoff_workers`` (host, pid, state, current
trial, last seen by the database's clock), so the app can show who is doing what and spot the lost."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from core import storage as st
from core.search._engine import engine
from core.search._errors import db_retry
from core.search._settings import heartbeat_settings
from core.storage import tables
from core.storage.retry import first_line

workers_table = tables.workers_table
_ENDED = ("finished", "interrupted", "failed")
_log = logging.getLogger("core.search")


def now() -> datetime:
    return datetime.now(timezone.utc)


def db_time(con: sa.Connection) -> datetime:
    """The database's clock (UTC), so "last seen" compares across machines whose clocks differ."""
    if con.dialect.name == "sqlite":
        return now()
    value = con.execute(sa.select(sa.func.now())).scalar()
    return as_utc(value) if isinstance(value, datetime) else now()


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Registry:
    """This worker's row in ``tradeoff_workers`` so the app can show who is doing what.

    A background thread refreshes ``last_seen`` every heartbeat, also during a long fit, so a row
    whose ``last_seen`` is older than the grace period means the worker is gone ("lost").
    """

    def __init__(self, url: str, study_name: str) -> None:
        self.url, self.id = url, uuid.uuid4().hex[:12]
        self._stop = threading.Event()
        self._warned = False
        self._lock = threading.Lock()
        db_retry(lambda: self._insert(study_name), url, "registering the worker")
        self.ordinal = db_retry(lambda: self._ordinal(study_name), url, "registering the worker")
        self._thread = threading.Thread(target=self._beat, name="tradeoff-worker-heartbeat", daemon=True)
        self._thread.start()

    def _insert(self, study_name: str) -> None:
        with engine(self.url).begin() as con:
            at = db_time(con)
            con.execute(
                sa.insert(workers_table).values(
                    worker_id=self.id,
                    study_name=study_name,
                    host=socket.gethostname()[:255],
                    pid=os.getpid(),
                    state="starting",
                    trials_done=0,
                    started_at=at,
                    last_seen=at,
                )
            )

    def _ordinal(self, study_name: str) -> int:
        """How many other workers this one sees registered on the study, counted after its own
        registration was committed.

        Not by start time: MySQL/MariaDB store it to the second, and two workers started together
        both counted 0 and drew the same seed. Counting every other committed row makes 0 unique:
        of two workers, the one that committed later always sees the other (both may see each
        other and both count 1, which only means neither keeps the spec's seed).
        """
        t = workers_table
        with engine(self.url).connect() as con:
            return int(
                con.execute(
                    sa.select(sa.func.count())
                    .select_from(t)
                    .where(t.c.study_name == study_name, t.c.worker_id != self.id)
                ).scalar_one()
            )

    def _beat(self) -> None:
        interval = heartbeat_settings()[0]
        while not self._stop.wait(interval):
            self.update()

    def update(self, **values: Any) -> None:
        if "state" in values and values["state"] is not None:
            values["state"] = str(values["state"])[:32]
        try:
            with self._lock, engine(self.url).begin() as con:
                con.execute(
                    sa.update(workers_table)
                    .where(workers_table.c.worker_id == self.id)
                    .values(last_seen=db_time(con), **values)
                )
            self._warned = False
        except Exception as exc:  # the registry is informational; never fail a search over it
            if not self._warned:
                _log.warning("worker registry not updated (%s)", first_line(exc))
            self._warned = True

    def close(self, **values: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.update(**values)


def workers(url: str | None, study_name: str) -> list[dict[str, Any]]:
    """Every worker that joined the study, oldest first, with what the app shows.

    Keys: worker_id, study_name, host, pid, state (starting|running|idle|waiting|reconnecting|
    finished|interrupted|failed), current_trial, trials_done, started_at, last_seen, message, plus
    ``age_s`` (seconds since last seen, by the database's clock), ``lost`` (an unfinished worker
    silent for longer than the grace period: killed, crashed or cut off) and ``status`` (``state``,
    or "lost").
    """
    url = st.resolve(url)
    t = workers_table
    grace = heartbeat_settings()[1]
    with engine(url).connect() as con:
        at = db_time(con)
        rows = (
            con.execute(sa.select(t).where(t.c.study_name == study_name).order_by(t.c.started_at, t.c.worker_id))
            .mappings()
            .all()
        )
    out = []
    for r in rows:
        d = dict(r)
        seen = d.get("last_seen")
        age = max(0.0, (at - as_utc(seen)).total_seconds()) if isinstance(seen, datetime) else None
        state = str(d.get("state") or "")
        ended = state in _ENDED or state.startswith("finished")
        d["age_s"] = age
        d["lost"] = bool(not ended and age is not None and age > grace)
        d["status"] = "lost" if d["lost"] else d.get("state")
        out.append(d)
    return out


def stalled_trials(url: str | None, study_name: str, running: Iterable[int]) -> list[int]:
    """The RUNNING trials (numbers) whose worker stopped responding: they stay RUNNING until another
    worker's recovery fails them, so ``front`` and ``studies`` must say why they do not move."""
    lost = {
        int(w["current_trial"]) for w in workers(url, study_name) if w["lost"] and w.get("current_trial") is not None
    }
    return sorted(n for n in running if n in lost)


def stalled_note(n: int) -> str:
    """'1 trial of a worker that stopped responding' (empty when none)."""
    if not n:
        return ""
    return f"{n} trial{'s' if n != 1 else ''} of a worker that stopped responding"
