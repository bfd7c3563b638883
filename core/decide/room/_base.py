"""The room store's plumbing: one engine per database, transactions that hold the room's row lock,
retries on a busy database, and the membership checks every write starts with.

Concurrency, in one paragraph: every write runs in one transaction that first takes the room's row
lock (``SELECT … FOR UPDATE`` on PostgreSQL and MariaDB; on SQLite the engine turns that locking
read into ``BEGIN IMMEDIATE``, the single database write lock, so a read-then-write transaction
cannot fail half-way). Votes also carry UNIQUE constraints, written with an upsert, so even a bug
elsewhere cannot duplicate a vote. A write that still meets "database is locked" (or a
PostgreSQL serialization failure / deadlock) is retried a few times with backoff.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, and_, insert, select

from core.decide.room._values import locked_error, now
from core.errors import UserInputError
from core.storage import ensure_schema, get_engine, reader, retrying
from core.storage.tables import candidates_table, events_table, participants_table, rooms_table

T = TypeVar("T")


class StoreBase:
    """Connection handling shared by every room operation (see :class:`RoomStore`)."""

    def __init__(self, url: str, *, retries: int = 8, check_schema: bool = True) -> None:
        self.url = url
        self._retries = max(1, retries)
        self.engine = get_engine(url)
        self._reader = reader(self.engine)
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
        """Run ``work`` again on transient lock errors, with jittered exponential backoff."""
        return retrying(work, what="a decision-room change", attempts=self._retries)

    def _write(self, room_id: int, work: Callable[[Connection, Any], T], *, unlocked: bool = True) -> T:
        """One transaction holding the room's row lock; refuses changes after the lock if asked."""

        def attempt() -> T:
            with self.engine.begin() as conn:
                room = self._room_row(conn, room_id, for_update=True)
                if unlocked and room.locked_trial is not None:
                    raise locked_error(room)
                return work(conn, room)

        return self._retry(attempt)

    def _read(self, work: Callable[[Connection], T]) -> T:
        def attempt() -> T:
            with self._reader.connect() as conn:
                return work(conn)

        return self._retry(attempt)

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
    def _event(
        conn: Connection, room_id: int, who: str, kind: str, trial_number: int | None = None, **detail: Any
    ) -> None:
        conn.execute(
            insert(events_table).values(
                room_id=room_id, at=now(), who=who, kind=kind, trial_number=trial_number, detail=detail
            )
        )

    @staticmethod
    def _require_member(conn: Connection, room: Any, name: str) -> None:
        if name == room.facilitator:
            return
        found = conn.execute(
            select(participants_table.c.id).where(
                and_(participants_table.c.room_id == room.id, participants_table.c.name == name)
            )
        ).first()
        if found is None:
            raise UserInputError(
                f"{name!r} has not joined this room; join it first (with the room's passcode if it has one).",
                field="name",
            )

    @staticmethod
    def _require_candidate(conn: Connection, room_id: int, trial: int, field: str) -> None:
        found = conn.execute(
            select(candidates_table.c.id).where(
                and_(candidates_table.c.room_id == room_id, candidates_table.c.trial_number == trial)
            )
        ).first()
        if found is None:
            raise UserInputError(f"Trial {trial} is not on this room's shortlist; propose it first.", field=field)

    @staticmethod
    def _require_facilitator(room: Any, by: str, what: str) -> None:
        if by != room.facilitator:
            raise UserInputError(f"Only the facilitator ({room.facilitator}) can {what}; {by} cannot.", field="by")

    @staticmethod
    def _candidates(conn: Connection, room_id: int) -> list[int]:
        return [
            int(t)
            for t in conn.execute(
                select(candidates_table.c.trial_number)
                .where(candidates_table.c.room_id == room_id)
                .order_by(candidates_table.c.id)
            ).scalars()
        ]
