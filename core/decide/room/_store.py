"""All decision-room operations on one database URL (the Optuna storage URL).

Why in the database and not in the Streamlit session: several people in different browsers (and
the CLI) must see the same shortlist and the same votes, and the decision must survive restarts.
The room tables live in the *same* database as the Optuna storage, so one backup holds the search
and the decision, and a team that moved to PostgreSQL has nothing else to configure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select

from core import objectives as obj
from core.decide import mcdm
from core.decide.room import _guard
from core.decide.room._decision import Deciding
from core.decide.room._names import clean_name, name_key
from core.decide.room._passcode import hash_passcode, verify_passcode
from core.decide.room._sql import insert_ignore, upsert
from core.decide.room._tokens import TOKEN_TTL_S
from core.decide.room._values import (
    Comment,
    Credential,
    Event,
    LockInfo,
    Member,
    Participant,
    RoomInfo,
    clean_option,
    clean_passcode,
    clean_study_name,
    clean_text,
    now,
)
from core.errors import UserInputError
from core.storage.tables import (
    candidates_table,
    comments_table,
    events_table,
    participants_table,
    rooms_table,
    stakeholders_table,
)

LOCAL_CLIENT = "local"


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
        lock = LockInfo(int(row.locked_trial), row.locked_by, row.locked_at, row.rationale, row.locked_point)
    has_passcode = row.passcode_hash is not None
    return RoomInfo(
        int(row.id), row.study_name, row.facilitator, has_passcode, int(row.current_round), row.created_at, lock
    )


class RoomStore(Deciding):
    """Shortlist, ballots, comments and the final lock of each study's room, on one database URL.

    Every write takes the token of the person acting (from :meth:`open_room` or :meth:`join`) and
    checks it here, not in the page: a name typed anywhere proves nothing. Create one per process
    and share it between threads: it holds a connection pool. Tables are created on first use; a
    schema written by another version of the code is refused (:func:`core.storage.ensure_schema`).
    """

    def __enter__(self) -> RoomStore:
        return self

    # -- rooms and people ----------------------------------------------------------------------

    def open_room(
        self, study_name: str, facilitator: str, passcode: str | None = None, *, ttl_s: float = TOKEN_TTL_S
    ) -> Credential:
        """Open the room of a study (one per study name) and return the facilitator's credential.

        The token is shown once: only its hash is stored. A room that exists already is refused
        (join it instead), so nobody can become its facilitator by opening it again.
        """
        study = clean_study_name(study_name)
        boss = clean_name(facilitator, "facilitator")
        code = clean_passcode(passcode)
        hashed = hash_passcode(code) if code else None

        def attempt() -> Credential | None:
            with self.engine.begin() as conn:
                at = now()
                values = dict(study_name=study, facilitator=boss, passcode_hash=hashed, current_round=1, created_at=at)
                if not insert_ignore(conn, rooms_table, values, ["study_name"]):
                    return None
                room = conn.execute(select(rooms_table).where(rooms_table.c.study_name == study)).one()
                person = dict(room_id=room.id, name=boss, name_key=name_key(boss), joined_at=at)
                conn.execute(insert(participants_table).values(**person))
                self._event(conn, room.id, boss, "open", study_name=study, passcode=hashed is not None)
                return self._issue(conn, room, boss, ttl_s)

        made = self._retry(attempt)
        if made is None:
            raise UserInputError(
                f"The room of study {study!r} is open already; join it (`tradeoff room join`) instead.",
                field="study_name",
            )
        return made

    def room_id(self, study_name: str) -> int | None:
        """The room of a study, or None when nobody has opened it yet."""
        return self._read(
            lambda conn: conn.execute(select(rooms_table.c.id).where(rooms_table.c.study_name == study_name)).scalar()
        )

    def room(self, room_id: int) -> RoomInfo:
        """The room's state: facilitator, current vote round, and the lock if decided."""
        return _room_info(self._read(lambda conn: self._room_row(conn, room_id)))

    def whoami(self, room_id: int, token: str | None) -> Member:
        """Who ``token`` names in this room (refused when it is not a valid token of it)."""
        return self._read(lambda conn: self._member(conn, self._room_row(conn, room_id), token))

    def join(
        self,
        room_id: int,
        name: str,
        passcode: str | None = None,
        *,
        client: str = LOCAL_CLIENT,
        ttl_s: float = TOKEN_TTL_S,
    ) -> Credential:
        """Join a room under a name nobody in it has yet, and get a personal token for it.

        A room with a passcode refuses a wrong or missing one; each try is logged and wrong ones
        slow this ``client`` (and, past a point, the room) down (:mod:`._guard`). Joining stays
        possible after the lock, so latecomers can read the decision.
        """
        person = clean_name(name, "name")
        row = self._read(lambda conn: self._room_row(conn, room_id))
        self._read(lambda conn: _guard.check(conn, room_id, client))
        if row.passcode_hash is not None and not (
            isinstance(passcode, str) and verify_passcode(passcode, row.passcode_hash)
        ):
            self._retry(lambda: self._log_attempt(room_id, client, name, _guard.WRONG))
            raise UserInputError(
                f"Wrong passcode for this room; ask the facilitator ({row.facilitator}) for it.",
                field="passcode",
            )

        def work(conn: Connection, room: Any) -> Credential:
            p = participants_table
            taken = conn.execute(
                select(p.c.name).where(and_(p.c.room_id == room_id, p.c.name_key == name_key(person)))
            ).scalar()
            if taken is not None:
                raise UserInputError(
                    f"name: {taken!r} is already in this room{' (looks the same)' if taken != person else ''}; "
                    "if that is you, use your token; otherwise pick another name.",
                    field="name",
                )
            at = now()
            conn.execute(insert(p).values(room_id=room_id, name=person, name_key=name_key(person), joined_at=at))
            _guard.record(conn, room_id, client, person, _guard.OK, at)
            self._event(conn, room_id, person, "join")
            return self._issue(conn, room, person, ttl_s)

        return self._retry(lambda: self._locked_room(room_id, work))

    def _locked_room(self, room_id: int, work: Any) -> Any:
        with self.engine.begin() as conn:
            return work(conn, self._room_row(conn, room_id, for_update=True))

    def _log_attempt(self, room_id: int, client: str, name: object, outcome: str) -> None:
        with self.engine.begin() as conn:
            _guard.record(conn, room_id, client, name, outcome, now())

    def reissue(self, room_id: int, token: str | None, name: str, *, ttl_s: float = TOKEN_TTL_S) -> Credential:
        """A new token for a participant who lost theirs (facilitator only), logged.

        Also how a room made before tokens existed gets its first one (see ``grant``).
        """
        person = clean_name(name, "name")

        def work(conn: Connection, room: Any, who: Member) -> dict[str, Any]:
            self._require_facilitator(room, who, "issue a new token")
            self._require_participant(conn, room_id, person)
            self._event(conn, room_id, who.name, "reissue", None, to=person)
            return vars(self._issue(conn, room, person, ttl_s))

        return Credential(**self._write(room_id, token, work, unlocked=False, decode=lambda d: d))

    def grant(self, room_id: int, name: str, *, ttl_s: float = TOKEN_TTL_S) -> Credential:
        """A token for a participant, issued by whoever holds the database (``python -m
        core.decide.room issue-token``): the way into a room opened before tokens existed."""
        person = clean_name(name, "name")

        def work(conn: Connection, room: Any) -> Credential:
            self._require_participant(conn, room_id, person)
            self._event(conn, room_id, person, "reissue", None, to=person, by_database_holder=True)
            return self._issue(conn, room, person, ttl_s)

        return self._retry(lambda: self._locked_room(room_id, work))

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
        token: str | None,
        name: str,
        objectives: Sequence[str],
        weights: Mapping[str, float] | None = None,
        aspirations: Mapping[str, float] | None = None,
        method: str | None = None,
        *,
        key: str | None = None,
    ) -> mcdm.Stakeholder:
        """Create or replace a stakeholder profile (upsert by name), logged under the token's owner.

        A card is edited by the stakeholder of that name or by the facilitator.
        """
        stakeholder = _stakeholder(name, objectives, weights, aspirations, method)
        label = stakeholder.name

        def work(conn: Connection, room: Any, who: Member) -> None:
            if not who.is_facilitator and name_key(who.name) != name_key(label):
                raise UserInputError(
                    f"Only {label} or the facilitator can edit {label}'s card; your token is {who.name}'s.",
                    field="token",
                )
            values = dict(room_id=room_id, name=label, **_profile(stakeholder), updated_at=now())
            upsert(conn, stakeholders_table, values, ["room_id", "name"])
            self._event(conn, room_id, who.name, "stakeholder", stakeholder=label, **_profile(stakeholder))

        self._write(room_id, token, work, key=key)
        return stakeholder

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

    def remove_stakeholder(self, room_id: int, token: str | None, name: str) -> None:
        """Delete a profile (facilitator only), logged."""
        label = clean_name(name, "stakeholder")
        s = stakeholders_table

        def work(conn: Connection, room: Any, who: Member) -> None:
            self._require_facilitator(room, who, "remove a stakeholder")
            conn.execute(delete(s).where(and_(s.c.room_id == room_id, s.c.name == label)))
            self._event(conn, room_id, who.name, "remove_stakeholder", stakeholder=label)

        self._write(room_id, token, work)

    # -- shortlist ---------------------------------------------------------------------------

    def propose(self, room_id: int, token: str | None, trial_number: int | str, *, key: str | None = None) -> bool:
        """Put an option (a finished trial, or ``"12@3"``: one of its operating points) on the
        shortlist; False when it was already there.

        "Already there" is checked here, under the room's row lock that every write holds: the
        UNIQUE constraint cannot see it for the trial's own rule (a NULL point)."""
        option = clean_option(trial_number)

        def work(conn: Connection, room: Any, who: Member) -> bool:
            trial, point = self._require_trial(conn, room, option, "trial_number")
            created = not self._listed(conn, room_id, trial, point)
            if created:
                values = dict(room_id=room_id, trial_number=trial, point=point, proposed_by=who.name)
                conn.execute(insert(candidates_table).values(**values, proposed_at=now()))
            self._event(conn, room_id, who.name, "propose", trial, point, already_listed=not created)
            return created

        return self._write(room_id, token, work, key=key)

    def candidates(self, room_id: int) -> list[str]:
        """The shortlist's option keys (``"12"``, ``"12@3"``), in the order they were proposed."""

        def work(conn: Connection) -> list[str]:
            self._room_row(conn, room_id)
            return self._candidates(conn, room_id)

        return self._read(work)

    # -- comments --------------------------------------------------------------------------------

    def comment(
        self, room_id: int, token: str | None, trial_number: int | str | None, text: str, *, key: str | None = None
    ) -> int:
        """Store a comment verbatim (up to 2,000 characters) by the token's owner, optionally about
        an option (a trial or ``"12@3"``)."""
        option = None if trial_number is None else clean_option(trial_number)
        body = clean_text(text, "text", "comment")

        def work(conn: Connection, room: Any, who: Member) -> int:
            trial, point = (None, None) if option is None else option
            if option is not None and point is not None:
                trial, point = self._require_trial(conn, room, option, "trial_number")
            values = dict(room_id=room_id, author=who.name, trial_number=trial, point=point, text=body)
            inserted = conn.execute(insert(comments_table).values(**values, created_at=now())).inserted_primary_key
            assert inserted is not None  # a plain INSERT of one row always has one
            comment_id = int(inserted[0])
            self._event(conn, room_id, who.name, "comment", trial, point, comment_id=comment_id)
            return comment_id

        return self._write(room_id, token, work, key=key, decode=int)

    def comments(self, room_id: int, *, token: str | None) -> list[Comment]:
        """All comments, oldest first, text exactly as typed (members only)."""
        c = comments_table

        def work(conn: Connection, room: Any) -> list[Comment]:
            rows = conn.execute(select(c).where(c.c.room_id == room_id).order_by(c.c.id))
            return [Comment(int(r.id), r.author, r.trial_number, r.text, r.created_at, r.point) for r in rows]

        return self._read_as(room_id, token, work)

    def log(self, room_id: int, *, token: str | None) -> list[Event]:
        """The decision log, oldest first (members only): every open/join/stakeholder/propose/
        ballot/comment/new_round/hand_over/lock/unlock with who, what and when (UTC ISO 8601)."""
        e = events_table

        def work(conn: Connection, room: Any) -> list[Event]:
            rows = conn.execute(select(e).where(e.c.room_id == room_id).order_by(e.c.id))
            return [Event(int(r.id), r.at, r.who, r.kind, r.trial_number, dict(r.detail or {}), r.point) for r in rows]

        return self._read_as(room_id, token, work)
