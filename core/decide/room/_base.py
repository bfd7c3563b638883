"""The room store's plumbing: one engine per database, transactions that hold the room's row lock,
retries that never store a write twice, and the token check every write starts with.

Concurrency, in one paragraph: every write runs in one transaction that first takes the room's row
lock (``SELECT … FOR UPDATE`` on PostgreSQL and MariaDB; on SQLite the engine turns that locking
read into ``BEGIN IMMEDIATE``, the single database write lock, so a read-then-write transaction
cannot fail half-way). A write that meets a dropped connection, "database is locked" or a
PostgreSQL serialization failure is retried (:func:`core.storage.retrying`). Each write carries an
idempotency key recorded in ``room_writes`` in the same transaction: when the commit went through
but the answer was lost, the retry finds its key and returns the first result instead of storing
the write again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from sqlalchemy import Connection, and_, func, insert, select

from core._json import jsonable
from core.decide.room import _tokens
from core.decide.room._trials import has_trial_tables, require_finished
from core.decide.room._values import Credential, Member, key_of, locked_error, now
from core.errors import UserInputError
from core.storage import ensure_schema, get_engine, reader, retrying
from core.storage.tables import (
    candidates_table,
    events_table,
    participants_table,
    rooms_table,
    tokens_table,
    writes_table,
)

T = TypeVar("T")
Option = tuple[int, "int | None"]  # (trial number, point on its curve or None for its own rule)


class StoreBase:
    """Connection handling and identity checks shared by every room operation (see :class:`RoomStore`)."""

    def __init__(self, url: str, *, retries: int = 8, check_schema: bool = True) -> None:
        self.url = url
        self._retries = max(1, retries)
        self.engine = get_engine(url)
        self._reader = reader(self.engine)
        self._has_trials = False
        if check_schema:
            self._retry(lambda: ensure_schema(self.engine))

    def close(self) -> None:
        """Release the pooled connections (tests, short-lived CLI calls)."""
        self.engine.dispose()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _retry(self, work: Callable[[], T]) -> T:
        """Run ``work`` again on transient errors, with jittered exponential backoff."""
        return retrying(work, what="a decision-room change", attempts=self._retries)

    def _write(
        self,
        room_id: int,
        token: str | None,
        work: Callable[[Connection, Any, Member], T],
        *,
        unlocked: bool = True,
        key: str | None = None,
        decode: Callable[[Any], T] | None = None,
    ) -> T:
        """One transaction holding the room's row lock, run as the token's owner, stored once per key.

        ``key`` names the write (a fresh one per call when None); ``decode`` turns the stored JSON
        result back into what ``work`` returned, for a write that already happened.
        """
        write_key = key or uuid.uuid4().hex

        def attempt() -> T:
            with self.engine.begin() as conn:
                room = self._room_row(conn, room_id, for_update=True)
                member = self._member(conn, room, token)
                w = writes_table
                done = conn.execute(
                    select(w.c.result).where(and_(w.c.room_id == room_id, w.c.key == write_key))
                ).first()
                if done is not None:
                    return decode(done.result) if decode is not None else done.result
                if unlocked and room.locked_trial is not None:
                    raise locked_error(room)
                result = work(conn, room, member)
                conn.execute(insert(w).values(room_id=room_id, key=write_key, result=jsonable(result), at=now()))
                return result

        return self._retry(attempt)

    def _read(self, work: Callable[[Connection], T]) -> T:
        def attempt() -> T:
            with self._reader.connect() as conn:
                return work(conn)

        return self._retry(attempt)

    def _read_as(self, room_id: int, token: str | None, work: Callable[[Connection, Any], T]) -> T:
        """A read for members only; a room made before tokens existed (none issued) stays readable."""

        def run(conn: Connection) -> T:
            room = self._room_row(conn, room_id)
            if token is not None or self._issued(conn, room_id):
                self._member(conn, room, token)
            return work(conn, room)

        return self._read(run)

    @staticmethod
    def _room_row(conn: Connection, room_id: int, *, for_update: bool = False) -> Any:
        if isinstance(room_id, bool) or not isinstance(room_id, int):
            raise UserInputError(f"room_id: expected a room number, got {room_id!r}.", field="room_id")
        stmt = select(rooms_table).where(rooms_table.c.id == room_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        if row is None:
            raise UserInputError(
                f"There is no decision room number {room_id}; open the room from its study first.",
                field="room_id",
            )
        return row

    @staticmethod
    def _issued(conn: Connection, room_id: int) -> bool:
        count = conn.execute(select(func.count()).where(tokens_table.c.room_id == room_id)).scalar_one()
        return int(count) > 0

    @staticmethod
    def _member(conn: Connection, room: Any, token: str | None) -> Member:
        """Who ``token`` names in ``room``; refused when missing, forged, revoked or expired."""
        if token is None or token == "":
            raise _tokens.missing()
        token_id, secret = _tokens.parse(token)
        row = conn.execute(select(tokens_table).where(tokens_table.c.id == token_id)).first()
        if row is None or row.room_id != room.id or not _tokens.matches(secret, row.secret_hash):
            raise _tokens.forged()
        if row.revoked_at is not None or row.expires_at <= now():
            raise UserInputError(
                f"token: this room token {'was revoked' if row.revoked_at else 'has expired'}; "
                "join the room again (or ask the facilitator) for a new one.",
                field="token",
            )
        return Member(int(room.id), row.name, row.name == room.facilitator)

    @staticmethod
    def _issue(conn: Connection, room: Any, name: str, ttl_s: float) -> Credential:
        """A new token for ``name`` (who must already be a participant); only its hash is kept."""
        secret, hashed = _tokens.new_secret()
        at = datetime.now(timezone.utc)
        expires = (at + timedelta(seconds=ttl_s)).isoformat(timespec="microseconds")
        values = dict(room_id=room.id, name=name, secret_hash=hashed, issued_at=now(), expires_at=expires)
        key = conn.execute(insert(tokens_table).values(**values)).inserted_primary_key
        assert key is not None
        return Credential(int(room.id), name, _tokens.compose(int(key[0]), secret), expires, name == room.facilitator)

    @staticmethod
    def _event(
        conn: Connection,
        room_id: int,
        who: str,
        kind: str,
        trial_number: int | None = None,
        point: int | None = None,
        **detail: Any,
    ) -> None:
        values = dict(room_id=room_id, at=now(), who=who, kind=kind, trial_number=trial_number, detail=detail)
        conn.execute(insert(events_table).values(**values, point=point))

    def _require_trial(self, conn: Connection, room: Any, option: Option, field: str) -> Option:
        """The option as stored (its tuned point becomes None), refused unless the study has it."""
        if not self._has_trials:
            self._has_trials = has_trial_tables(conn)
        trial, point = option
        point = require_finished(conn, room.study_name, trial, field, has_trials=self._has_trials, point=point)
        return trial, point

    def _require_candidate(self, conn: Connection, room: Any, option: Option, field: str) -> Option:
        trial, point = self._require_trial(conn, room, option, field)
        if not self._listed(conn, int(room.id), trial, point):
            key = key_of(trial, point)
            raise UserInputError(f"Trial {key} is not on this room's shortlist; propose it first.", field=field)
        return trial, point

    @staticmethod
    def _listed(conn: Connection, room_id: int, trial: int, point: int | None) -> bool:
        c = candidates_table
        found = conn.execute(
            select(c.c.id).where(and_(c.c.room_id == room_id, c.c.trial_number == trial, same_point(c, point)))
        ).first()
        return found is not None

    @staticmethod
    def _require_participant(conn: Connection, room_id: int, name: str) -> None:
        p = participants_table
        found = conn.execute(select(p.c.id).where(and_(p.c.room_id == room_id, p.c.name == name))).first()
        if found is None:
            raise UserInputError(f"{name!r} has not joined this room; they join it first.", field="name")

    @staticmethod
    def _require_facilitator(room: Any, who: Member, what: str) -> None:
        if not who.is_facilitator:
            raise UserInputError(
                f"Only the facilitator ({room.facilitator}) can {what}; your token is {who.name}'s.", field="token"
            )

    @staticmethod
    def _candidates(conn: Connection, room_id: int) -> list[str]:
        """The shortlist's option keys, in the order they were proposed."""
        c = candidates_table
        rows = conn.execute(select(c.c.trial_number, c.c.point).where(c.c.room_id == room_id).order_by(c.c.id))
        return [key_of(t, p) for t, p in rows]


def same_point(table: Any, point: int | None) -> Any:
    """``point`` column equals ``point``, where None (the trial's own rule) matches NULL."""
    return table.c.point.is_(None) if point is None else table.c.point == point
