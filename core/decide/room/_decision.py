"""The facilitator's half of the room: lock and unlock the decision, hand the role over, start a
new round. Each needs the facilitator's token and each is logged with who did it and why."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, update

from core.decide.room._names import clean_name
from core.decide.room._values import LockInfo, Member, clean_option, clean_text, now
from core.decide.room._votes import Voting
from core.errors import UserInputError
from core.storage.tables import rooms_table


class Deciding(Voting):
    """Lock, unlock, hand-over and rounds of :class:`RoomStore`."""

    def lock(
        self, room_id: int, token: str | None, trial_number: int | str, rationale: str, *, key: str | None = None
    ) -> LockInfo:
        """Record the final decision on a shortlisted option — a finished trial with its own rule, or
        ``"12@3"``: one of its operating points — (facilitator only, with a rationale).

        After this, proposals, ballots, comments, stakeholder edits and new rounds are refused, so
        the log shows exactly what the decision was based on; :meth:`unlock` reopens it.
        """
        option = clean_option(trial_number)
        why = clean_text(rationale, "rationale", "rationale")

        def work(conn: Connection, room: Any, who: Member) -> LockInfo:
            self._require_facilitator(room, who, "lock the decision")
            trial, point = self._require_candidate(conn, room, option, "trial_number")
            at = now()
            values = dict(locked_trial=trial, locked_point=point, locked_by=who.name, locked_at=at, rationale=why)
            conn.execute(update(rooms_table).where(rooms_table.c.id == room_id).values(**values))
            self._event(conn, room_id, who.name, "lock", trial, point, rationale=why)
            return LockInfo(trial, who.name, at, why, point)

        return self._write(room_id, token, work, key=key, decode=lambda d: LockInfo(**d))

    def unlock(self, room_id: int, token: str | None, reason: str, *, key: str | None = None) -> None:
        """Reopen a locked decision (facilitator only); the reason and the old lock go in the log."""
        why = clean_text(reason, "reason", "reason")

        def work(conn: Connection, room: Any, who: Member) -> None:
            self._require_facilitator(room, who, "unlock the decision")
            if room.locked_trial is None:
                raise UserInputError("The decision is not locked; there is nothing to unlock.", field="room")
            values = dict(locked_trial=None, locked_point=None, locked_by=None, locked_at=None, rationale=None)
            conn.execute(update(rooms_table).where(rooms_table.c.id == room_id).values(**values))
            trial, point = int(room.locked_trial), room.locked_point
            self._event(conn, room_id, who.name, "unlock", trial, point, reason=why, locked_by=room.locked_by)

        self._write(room_id, token, work, unlocked=False, key=key)

    def hand_over(self, room_id: int, token: str | None, to: str, *, key: str | None = None) -> None:
        """Make another participant the facilitator (facilitator only), logged.

        The role follows the person: their own token gains the facilitator's rights and the old
        facilitator's token becomes a participant's.
        """
        person = clean_name(to, "to")

        def work(conn: Connection, room: Any, who: Member) -> None:
            self._require_facilitator(room, who, "hand the role over")
            self._require_participant(conn, room_id, person)
            if person == who.name:
                raise UserInputError(f"to: {person} facilitates already; name another participant.", field="to")
            conn.execute(update(rooms_table).where(rooms_table.c.id == room_id).values(facilitator=person))
            self._event(conn, room_id, who.name, "hand_over", None, to=person)

        self._write(room_id, token, work, unlocked=False, key=key)

    def new_round(self, room_id: int, token: str | None, *, key: str | None = None) -> int:
        """Start a fresh vote round (facilitator only); earlier rounds stay stored. Returns it."""

        def work(conn: Connection, room: Any, who: Member) -> int:
            self._require_facilitator(room, who, "start a new round")
            new = int(room.current_round) + 1
            conn.execute(update(rooms_table).where(rooms_table.c.id == room_id).values(current_round=new))
            self._event(conn, room_id, who.name, "new_round", None, round=new)
            return new

        return self._write(room_id, token, work, key=key, decode=int)
