"""Passcode attempts: every try is logged (who typed which name, from where, never the guess),
and wrong ones slow the next try down, per client and per room.

The policy: a client's first ``FREE_TRIES`` wrong passcodes in ``WINDOW_S`` cost nothing; each
further one doubles the wait before the next try (1 s, 2 s, 4 s … up to 15 minutes). A room that
collects ``ROOM_TRIES`` wrong passcodes in the window from any clients waits ``ROOM_WAIT_S`` after
each further one, so spreading a guess over many clients does not help either.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from core.errors import UserInputError
from core.storage.tables import NAME_MAX, attempts_table

FREE_TRIES = 5
ROOM_TRIES = 30
WINDOW_S = 15 * 60
MAX_WAIT_S = 15 * 60
ROOM_WAIT_S = 60
WRONG, OK, THROTTLED = "wrong", "ok", "throttled"


def _wait_s(failures: int, free: int) -> float:
    return 0.0 if failures < free else float(min(2 ** (failures - free), MAX_WAIT_S))


def check(conn: sa.Connection, room_id: int, client: str) -> None:
    """Refuse a try while this client, or the whole room, is waiting out wrong passcodes."""
    a = attempts_table
    since = (datetime.now(timezone.utc) - timedelta(seconds=WINDOW_S)).isoformat(timespec="microseconds")
    recent = sa.and_(a.c.room_id == room_id, a.c.outcome == WRONG, a.c.at >= since)
    rows = conn.execute(sa.select(a.c.client, a.c.at).where(recent).order_by(a.c.id)).all()
    mine = [r.at for r in rows if r.client == client]
    waits = []
    if mine:
        waits.append(_wait_s(len(mine), FREE_TRIES) - _age_s(mine[-1]))
    if len(rows) >= ROOM_TRIES:
        waits.append(ROOM_WAIT_S - _age_s(rows[-1].at))
    left = max(waits, default=0.0)
    if left > 0:
        raise UserInputError(
            f"passcode: too many wrong passcodes for this room; wait {left:.0f} s before trying again.",
            field="passcode",
        )


def _age_s(at: str) -> float:
    return (datetime.now(timezone.utc) - datetime.fromisoformat(at)).total_seconds()


def record(conn: sa.Connection, room_id: int, client: str, name: object, outcome: str, at: str) -> None:
    """Log one try: the name as typed (cut to fit) and the client; the passcode is never stored."""
    typed = name if isinstance(name, str) else repr(name)
    conn.execute(
        sa.insert(attempts_table).values(
            room_id=room_id, client=client[:200], name=typed[:NAME_MAX], outcome=outcome, at=at
        )
    )
