"""All decision-room operations on one database URL (the Optuna storage URL).

Why in the database and not in the Streamlit session: several people in different browsers (and
the CLI) must see the same shortlist and the same votes, and the decision must survive restarts.
The room tables live in the *same* database as the Optuna storage, so one backup holds the search
and the decision, and a team that moved to PostgreSQL has nothing else to configure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from core import objectives as obj
from core.decide import mcdm
from core.decide.room._passcode import hash_passcode, verify_passcode
from core.decide.room._sql import insert_ignore, upsert
from core.decide.room._values import (
    Comment,
    Event,
    LockInfo,
    Participant,
    RoomInfo,
    clean_name,
    clean_passcode,
    clean_study_name,
    clean_text,
    clean_trial,
    now,
)
from core.decide.room._votes import Voting
from core.errors import UserInputError
from core.storage.tables import (
    candidates_table,
    comments_table,
    events_table,
    participants_table,
    rooms_table,
    stakeholders_table,
)


def _stakeholder(
    name: str,
    objectives: Sequence[str] | str,
    weights: Mapping[str, float] | None,
    aspirations: Mapping[str, float] | None,
    method: str | None,
) -> mcdm.Stakeholder:
    """A profile checked the way :mod:`core.decide.mcdm` uses it, plus: objectives must be known
    metrics, and aspirations within the metric's bounds (a ROC AUC aspiration of 95 is a unit mistake)."""
    label = clean_name(name, "stakeholder")
    names = [objectives] if isinstance(objectives, str) else list(objectives or [])
    for o in names:
        obj.get(o)
    w = {k: float(v) for k, v in (weights or {}).items()}
    a = {k: float(v) for k, v in (aspirations or {}).items()}
    stakeholder = mcdm.Stakeholder(label, tuple(names), w, a, method)
    mcdm.check_weights(stakeholder.objectives, stakeholder.weights)
    for key, value in stakeholder.aspirations.items():
        m = obj.REGISTRY[key]
        lo, hi = m.bounds
        if not lo <= value <= hi:
            raise UserInputError(
                f"Aspiration for {m.label} is {value:g}, outside {lo:g}…{hi:g} {m.unit}; check the unit.",
                field="aspirations",
            )
    return stakeholder


def _profile(s: mcdm.Stakeholder) -> dict[str, Any]:
    return dict(
        objectives=list(s.objectives), weights=dict(s.weights), aspirations=dict(s.aspirations), method=s.method
    )


def _room_info(row: Any) -> RoomInfo:
    lock = None
    if row.locked_trial is not None:
        lock = LockInfo(int(row.locked_trial), row.locked_by, row.locked_at, row.rationale)
    has_passcode = row.passcode_hash is not None
    return RoomInfo(
        int(row.id), row.study_name, row.facilitator, has_passcode, int(row.current_round), row.created_at, lock
    )


class RoomStore(Voting):
    """Shortlist, votes, comments and the final lock of each study's room, on one database URL.

    Create one per process and share it between threads: it holds a connection pool. Tables are
    created on first use; a schema written by another version of the code is refused
    (:func:`core.storage.ensure_schema` says how to upgrade).
    """

    def __enter__(self) -> RoomStore:
        return self

    # -- rooms and people ----------------------------------------------------------------------

    def open_room(self, study_name: str, facilitator: str, passcode: str | None = None) -> int:
        """Open the room of a study, or return the existing one (one room per study name).

        The first opener becomes the facilitator and sets the passcode; later calls return the
        same room id and change neither (anyone can call this to find the room, and must then
        :meth:`join` it). The passcode is stored only as a salted hash.
        """
        study = clean_study_name(study_name)
        boss = clean_name(facilitator, "facilitator")
        code = clean_passcode(passcode)
        existing = self.room_id(study)
        if existing is not None:
            return int(existing)
        hashed = hash_passcode(code) if code else None

        def attempt() -> int:
            with self.engine.begin() as conn:
                at = now()
                values = dict(study_name=study, facilitator=boss, passcode_hash=hashed, current_round=1, created_at=at)
                created = insert_ignore(conn, rooms_table, values, ["study_name"])
                room_id = int(
                    conn.execute(select(rooms_table.c.id).where(rooms_table.c.study_name == study)).scalar_one()
                )
                if created:
                    conn.execute(insert(participants_table).values(room_id=room_id, name=boss, joined_at=at))
                    self._event(conn, room_id, boss, "open", study_name=study, passcode=hashed is not None)
                return room_id

        return self._retry(attempt)

    def room_id(self, study_name: str) -> int | None:
        """The room of a study, or None when nobody has opened it yet."""
        return self._read(
            lambda conn: conn.execute(select(rooms_table.c.id).where(rooms_table.c.study_name == study_name)).scalar()
        )

    def room(self, room_id: int) -> RoomInfo:
        """The room's state: facilitator, current vote round, and the lock if decided."""
        return _room_info(self._read(lambda conn: self._room_row(conn, room_id)))

    def join(self, room_id: int, name: str, passcode: str | None = None) -> Participant:
        """Join a room under a name (trimmed, 1–60 characters); re-joining is harmless.

        A room with a passcode refuses a wrong or missing one. Joining stays possible after the
        lock, so latecomers can read the decision.
        """
        person = clean_name(name, "name")
        row = self._read(lambda conn: self._room_row(conn, room_id))
        if row.passcode_hash is not None and not (
            isinstance(passcode, str) and verify_passcode(passcode, row.passcode_hash)
        ):
            raise UserInputError(
                f"Wrong passcode for this room; ask the facilitator ({row.facilitator}) for it.",
                field="passcode",
            )
        p = participants_table

        def work(conn: Connection, room: Any) -> Participant:
            key = dict(room_id=room_id, name=person)
            if insert_ignore(conn, p, key | {"joined_at": now()}, list(key)):
                self._event(conn, room_id, person, "join")
            joined_at = conn.execute(
                select(p.c.joined_at).where(and_(p.c.room_id == room_id, p.c.name == person))
            ).scalar_one()
            return Participant(room_id, person, person == room.facilitator, joined_at)

        return self._write(room_id, work, unlocked=False)

    def participants(self, room_id: int) -> list[Participant]:
        p = participants_table

        def work(conn: Connection) -> list[Participant]:
            room = self._room_row(conn, room_id)
            rows = conn.execute(select(p).where(p.c.room_id == room_id).order_by(p.c.id))
            return [Participant(room_id, r.name, r.name == room.facilitator, r.joined_at) for r in rows]

        return self._read(work)

    # -- stakeholders ---------------------------------------------------------------------------

    def save_stakeholder(
        self,
        room_id: int,
        name: str,
        objectives: Sequence[str],
        weights: Mapping[str, float] | None = None,
        aspirations: Mapping[str, float] | None = None,
        method: str | None = None,
        *,
        by: str | None = None,
    ) -> mcdm.Stakeholder:
        """Create or replace a stakeholder profile (upsert by name), logged.

        ``by`` (who edited it) defaults to the stakeholder's name, for the log.
        """
        stakeholder = _stakeholder(name, objectives, weights, aspirations, method)
        label = stakeholder.name
        editor = clean_name(by, "by") if by is not None else label

        def work(conn: Connection, room: Any) -> mcdm.Stakeholder:
            values = dict(room_id=room_id, name=label, **_profile(stakeholder), updated_at=now())
            upsert(conn, stakeholders_table, values, ["room_id", "name"])
            self._event(conn, room_id, editor, "stakeholder", stakeholder=label, **_profile(stakeholder))
            return stakeholder

        return self._write(room_id, work)

    def stakeholders(self, room_id: int) -> list[mcdm.Stakeholder]:
        """Saved profiles, oldest first, ready for :func:`core.decide.mcdm.stakeholder_pick`."""
        s = stakeholders_table

        def work(conn: Connection) -> list[mcdm.Stakeholder]:
            self._room_row(conn, room_id)
            rows = conn.execute(select(s).where(s.c.room_id == room_id).order_by(s.c.id))
            return [
                mcdm.Stakeholder(r.name, tuple(r.objectives), dict(r.weights), dict(r.aspirations), r.method)
                for r in rows
            ]

        return self._read(work)

    def remove_stakeholder(self, room_id: int, name: str, *, by: str) -> None:
        """Delete a profile (facilitator only), logged."""
        label = clean_name(name, "stakeholder")
        editor = clean_name(by, "by")
        s = stakeholders_table

        def work(conn: Connection, room: Any) -> None:
            self._require_facilitator(room, editor, "remove a stakeholder")
            conn.execute(delete(s).where(and_(s.c.room_id == room_id, s.c.name == label)))
            self._event(conn, room_id, editor, "remove_stakeholder", stakeholder=label)

        self._write(room_id, work)

    # -- shortlist ---------------------------------------------------------------------------

    def propose(self, room_id: int, trial_number: int, by: str) -> bool:
        """Put a trial on the shortlist; returns False when it was already there (no duplicate)."""
        trial = clean_trial(trial_number)
        person = clean_name(by, "by")

        def work(conn: Connection, room: Any) -> bool:
            self._require_member(conn, room, person)
            key = dict(room_id=room_id, trial_number=trial)
            created = insert_ignore(
                conn, candidates_table, key | {"proposed_by": person, "proposed_at": now()}, list(key)
            )
            self._event(conn, room_id, person, "propose", trial, already_listed=not created)
            return created

        return self._write(room_id, work)

    def candidates(self, room_id: int) -> list[int]:
        """Shortlisted trial numbers, in the order they were proposed."""

        def work(conn: Connection) -> list[int]:
            self._room_row(conn, room_id)
            return self._candidates(conn, room_id)

        return self._read(work)

    # -- comments --------------------------------------------------------------------------------

    def comment(self, room_id: int, author: str, trial_number: int | None, text: str) -> int:
        """Store a comment verbatim (up to 2,000 characters), optionally about one trial."""
        person = clean_name(author, "author")
        trial = None if trial_number is None else clean_trial(trial_number)
        body = clean_text(text, "text", "comment")

        def work(conn: Connection, room: Any) -> int:
            self._require_member(conn, room, person)
            result = conn.execute(
                insert(comments_table).values(
                    room_id=room_id, author=person, trial_number=trial, text=body, created_at=now()
                )
            )
            key = result.inserted_primary_key
            assert key is not None  # a plain INSERT of one row always has one
            comment_id = int(key[0])
            self._event(conn, room_id, person, "comment", trial, comment_id=comment_id)
            return comment_id

        return self._write(room_id, work)

    def comments(self, room_id: int) -> list[Comment]:
        """All comments, oldest first, text exactly as typed."""
        c = comments_table

        def work(conn: Connection) -> list[Comment]:
            self._room_row(conn, room_id)
            rows = conn.execute(select(c).where(c.c.room_id == room_id).order_by(c.c.id))
            return [Comment(int(r.id), r.author, r.trial_number, r.text, r.created_at) for r in rows]

        return self._read(work)

    # -- the decision ------------------------------------------------------------------------------

    def lock(self, room_id: int, by: str, trial_number: int, rationale: str) -> LockInfo:
        """Record the final decision. Only the facilitator may; a rationale is required.

        After this, proposals, votes, comments, stakeholder edits and new rounds are refused, so
        the log shows exactly what the decision was based on.
        """
        person = clean_name(by, "by")
        trial = clean_trial(trial_number)
        why = clean_text(rationale, "rationale", "rationale")

        def work(conn: Connection, room: Any) -> LockInfo:
            self._require_facilitator(room, person, "lock the decision")
            self._require_candidate(conn, room_id, trial, "trial_number")
            at = now()
            conn.execute(
                update(rooms_table)
                .where(rooms_table.c.id == room_id)
                .values(locked_trial=trial, locked_by=person, locked_at=at, rationale=why)
            )
            self._event(conn, room_id, person, "lock", trial, rationale=why)
            return LockInfo(trial, person, at, why)

        return self._write(room_id, work)

    def log(self, room_id: int) -> list[Event]:
        """The decision log, oldest first: every open/join/stakeholder/propose/vote/comment/
        new_round/lock with who, what and when (UTC ISO 8601)."""
        e = events_table

        def work(conn: Connection) -> list[Event]:
            self._room_row(conn, room_id)
            rows = conn.execute(select(e).where(e.c.room_id == room_id).order_by(e.c.id))
            return [Event(int(r.id), r.at, r.who, r.kind, r.trial_number, dict(r.detail or {})) for r in rows]

        return self._read(work)
