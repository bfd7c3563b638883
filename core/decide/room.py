"""The decision room: shortlist, votes, comments and the final lock, stored beside the Optuna study.

Why in the database and not in the Streamlit session: several people in different browsers (and
the CLI) must see the same shortlist and the same votes, and the decision must survive restarts.
The room tables live in the *same* database URL as the Optuna storage, so one backup holds the
search and the decision, and a team that moved to PostgreSQL has nothing else to configure. Every
table is prefixed ``room_`` so it never clashes with Optuna's own tables.

Concurrency, in one paragraph: every write runs in one transaction that first takes the room's row
lock (``SELECT … FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite, which takes the single
database write lock up front so a read-then-write transaction cannot fail half-way). Votes also
carry UNIQUE constraints, written with an upsert, so even a bug elsewhere cannot duplicate a vote.
SQLite runs in WAL mode with a busy timeout, and a write that still meets "database is locked"
(or a PostgreSQL serialization failure / deadlock) is retried a few times with backoff.

Everything a person types (names, comments, rationales) is stored verbatim and never interpreted:
escaping for HTML is the UI's job, at the moment it renders.

Schema upgrades: the tables carry a version in ``room_schema_version``. :data:`SCHEMA_VERSION` is
the version this code writes. On start, a stored version that differs is refused with a message:

* stored *older* than the code: back up the database, then run
  ``python -m core.decide.room upgrade <URL>``, which applies the steps in :data:`MIGRATIONS` one version
  at a time inside one transaction (each step is a function ``(connection) -> None``; to change the
  schema, bump :data:`SCHEMA_VERSION` and add the step from the previous version);
* stored *newer* than the code: someone upgraded Tradeoff Room against this database; upgrade this
  installation too (``pip install -U tradeoff-room``) or point it at another database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import operator
import os
import random
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError

from core import objectives as obj
from core.decide import mcdm
from core.errors import UserInputError

SCHEMA_VERSION = 1

#: Upgrade steps: ``MIGRATIONS[n]`` turns a version-``n`` schema into version ``n + 1``.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}

NAME_MAX = 60
TEXT_MAX = 2000
STUDY_NAME_MAX = 512  # Optuna's own limit on study names
PASSCODE_MIN = 4
PASSCODE_MAX = 200
PBKDF2_ITERATIONS = 240_000
_ADVISORY_LOCK_KEY = 7_305_001  # any constant: serialises table creation across processes on PG

T = TypeVar("T")

metadata = MetaData()

schema_version_table = Table(
    "room_schema_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", String(40), nullable=False),
)

rooms_table = Table(
    "room_rooms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("study_name", String(STUDY_NAME_MAX), nullable=False, unique=True),
    Column("facilitator", String(NAME_MAX), nullable=False),
    Column("passcode_hash", String(300)),
    Column("current_round", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("locked_trial", Integer),
    Column("locked_by", String(NAME_MAX)),
    Column("locked_at", String(40)),
    Column("rationale", Text),
)

participants_table = Table(
    "room_participants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("room_rooms.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(NAME_MAX), nullable=False),
    Column("joined_at", String(40), nullable=False),
    UniqueConstraint("room_id", "name", name="uq_room_participants"),
)

stakeholders_table = Table(
    "room_stakeholders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("room_rooms.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(NAME_MAX), nullable=False),
    Column("objectives", JSON, nullable=False),
    Column("weights", JSON, nullable=False),
    Column("aspirations", JSON, nullable=False),
    Column("method", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    UniqueConstraint("room_id", "name", name="uq_room_stakeholders"),
)

candidates_table = Table(
    "room_candidates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("room_rooms.id", ondelete="CASCADE"), nullable=False),
    Column("trial_number", Integer, nullable=False),
    Column("proposed_by", String(NAME_MAX), nullable=False),
    Column("proposed_at", String(40), nullable=False),
    UniqueConstraint("room_id", "trial_number", name="uq_room_candidates"),
)

approval_table = Table(
    "room_approval_votes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("room_rooms.id", ondelete="CASCADE"), nullable=False),
    Column("round", Integer, nullable=False),
    Column("voter", String(NAME_MAX), nullable=False),
    Column("trial_number", Integer, nullable=False),
    Column("approve", Boolean, nullable=False),
    Column("cast_at", String(40), nullable=False),
    UniqueConstraint("room_id", "round", "voter", "trial_number", name="uq_room_approval_votes"),
)

ranked_table = Table(
    "room_ranked_votes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("room_rooms.id", ondelete="CASCADE"), nullable=False),
    Column("round", Integer, nullable=False),
    Column("voter", String(NAME_MAX), nullable=False),
    Column("trial_number", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("cast_at", String(40), nullable=False),
    UniqueConstraint("room_id", "round", "voter", "trial_number", name="uq_room_ranked_votes"),
    UniqueConstraint("room_id", "round", "voter", "position", name="uq_room_ranked_positions"),
)

comments_table = Table(
    "room_comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("room_rooms.id", ondelete="CASCADE"), nullable=False),
    Column("author", String(NAME_MAX), nullable=False),
    Column("trial_number", Integer),
    Column("text", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Index("ix_room_comments_room", "room_id", "id"),
)

events_table = Table(
    "room_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("room_rooms.id", ondelete="CASCADE"), nullable=False),
    Column("at", String(40), nullable=False),
    Column("who", String(NAME_MAX), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("trial_number", Integer),
    Column("detail", JSON, nullable=False),
    Index("ix_room_events_room", "room_id", "id"),
)


# ---------------------------------------------------------------------------------------------
# Values handed out
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockInfo:
    """The final decision: which trial, who locked it, when (UTC ISO) and why."""

    trial_number: int
    by: str
    at: str
    rationale: str


@dataclass(frozen=True)
class RoomInfo:
    id: int
    study_name: str
    facilitator: str
    has_passcode: bool
    current_round: int
    created_at: str
    lock: LockInfo | None

    @property
    def locked(self) -> bool:
        return self.lock is not None


@dataclass(frozen=True)
class Participant:
    room_id: int
    name: str
    is_facilitator: bool
    joined_at: str


@dataclass(frozen=True)
class Comment:
    id: int
    author: str
    trial_number: int | None
    text: str
    at: str


@dataclass(frozen=True)
class Event:
    """One line of the decision log: who did what, when (UTC ISO 8601), on which trial."""

    id: int
    at: str
    who: str
    kind: str
    trial_number: int | None
    detail: dict[str, Any]


# ---------------------------------------------------------------------------------------------
# Small validators and helpers
# ---------------------------------------------------------------------------------------------


def _now() -> str:
    """UTC, ISO 8601 with offset: sortable as text and unambiguous across time zones."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def clean_name(raw: object, field: str = "name") -> str:
    """Trim a person's name and check it is 1–60 printable characters.

    Why refuse control characters: a name with a newline or a zero-width joiner looks like someone
    else's name in the vote table.
    """
    if not isinstance(raw, str):
        raise UserInputError(f"{field}: type a name (1–{NAME_MAX} characters).", field=field)
    name = raw.strip()
    if not name:
        raise UserInputError(f"{field}: the name is empty; type 1–{NAME_MAX} characters.", field=field)
    if len(name) > NAME_MAX:
        raise UserInputError(f"{field}: the name is {len(name)} characters long; use at most {NAME_MAX}.", field=field)
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise UserInputError(
            f"{field}: the name contains a control or invisible character; use letters, digits, "
            "spaces and punctuation.",
            field=field,
        )
    return name


def _clean_text(raw: object, field: str, what: str) -> str:
    """Check free text (comment, rationale) without changing it: it is stored verbatim."""
    if not isinstance(raw, str) or not raw.strip():
        raise UserInputError(f"{field}: the {what} is empty; write something.", field=field)
    if len(raw) > TEXT_MAX:
        raise UserInputError(
            f"{field}: the {what} is {len(raw):,} characters long; the limit is {TEXT_MAX:,}. "
            "Shorten it or split it into several.",
            field=field,
        )
    if "\x00" in raw:
        raise UserInputError(f"{field}: the {what} contains a NUL character; remove it.", field=field)
    return raw


def _trial(raw: object, field: str = "trial_number") -> int:
    """A trial number: a whole number ≥ 0 (Python or NumPy integer; not a bool or a float)."""
    try:
        if isinstance(raw, bool):
            raise TypeError
        value = operator.index(raw)  # type: ignore[arg-type]
    except TypeError:
        raise UserInputError(f"{field}: expected a trial number (a whole number), got {raw!r}.", field=field) from None
    if value < 0:
        raise UserInputError(f"{field}: trial numbers start at 0, got {value}.", field=field)
    return value


def hash_passcode(passcode: str, *, iterations: int = PBKDF2_ITERATIONS) -> str:
    """Salted PBKDF2-SHA256, self-describing (``pbkdf2_sha256$iterations$salt$hash``).

    Storing the iteration count lets a later version raise it without breaking existing rooms.
    """
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", passcode.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_passcode(passcode: str, stored: str) -> bool:
    """Constant-time comparison against :func:`hash_passcode` output."""
    try:
        scheme, iterations, salt_hex, digest_hex = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        digest = hashlib.pbkdf2_hmac("sha256", passcode.encode("utf-8"), bytes.fromhex(salt_hex), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, bytes.fromhex(digest_hex))


def _clean_passcode(raw: object) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise UserInputError("passcode: type the passcode as text.", field="passcode")
    if not PASSCODE_MIN <= len(raw) <= PASSCODE_MAX:
        raise UserInputError(
            f"passcode: use {PASSCODE_MIN}–{PASSCODE_MAX} characters (got {len(raw)}).",
            field="passcode",
        )
    return raw


def _retryable(exc: OperationalError) -> bool:
    """SQLite "database is locked/busy" and PostgreSQL serialization failures and deadlocks."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in ("40001", "40P01"):
        return True
    message = str(exc.orig).lower()
    return "locked" in message or "busy" in message


def _masked(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


# ---------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------


class RoomStore:
    """All decision-room operations on one database URL (the Optuna storage URL).

    Create one per process and share it between threads: it holds a connection pool. Tables are
    created on first use; a schema written by another version of the code is refused (see the
    module docstring for the upgrade path).
    """

    def __init__(self, url: str, *, retries: int = 8, check_schema: bool = True) -> None:
        self.url = url
        self._retries = max(1, retries)
        self.engine = _make_engine(url)
        # reads use a deferred BEGIN on SQLite so they never take the write lock
        self._reader = self.engine.execution_options(tr_read_only=True)
        if check_schema:
            self._ensure_schema()

    # -- plumbing -----------------------------------------------------------------------------

    def close(self) -> None:
        """Release the pooled connections (tests, short-lived CLI calls)."""
        self.engine.dispose()

    def __enter__(self) -> RoomStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _retry(self, work: Callable[[], T]) -> T:
        """Run ``work`` again on transient lock errors, with jittered exponential backoff."""
        for attempt in range(self._retries):
            try:
                return work()
            except OperationalError as exc:
                if not _retryable(exc) or attempt == self._retries - 1:
                    raise
                time.sleep(min(1.0, 0.02 * 2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def _write(self, room_id: int, work: Callable[[Connection, Any], T], *, unlocked: bool = True) -> T:
        """One transaction holding the room's row lock; refuses changes after the lock if asked."""

        def attempt() -> T:
            with self.engine.begin() as conn:
                room = self._room_row(conn, room_id, for_update=True)
                if unlocked and room.locked_trial is not None:
                    raise _locked_error(room)
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

    def _ensure_schema(self) -> None:
        """Create the tables once, or refuse a schema written by another version of the code."""

        def attempt() -> None:
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
                stored = _stored_version(conn)
                if stored is not None and stored != SCHEMA_VERSION:
                    raise schema_mismatch_error(self.url, stored)
                metadata.create_all(conn)
                if stored is None:
                    conn.execute(insert(schema_version_table).values(id=1, version=SCHEMA_VERSION, updated_at=_now()))

        self._retry(attempt)

    @staticmethod
    def _event(
        conn: Connection, room_id: int, who: str, kind: str, trial_number: int | None = None, **detail: Any
    ) -> None:
        conn.execute(
            insert(events_table).values(
                room_id=room_id, at=_now(), who=who, kind=kind, trial_number=trial_number, detail=detail
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

    # -- rooms and people ----------------------------------------------------------------------

    def open_room(self, study_name: str, facilitator: str, passcode: str | None = None) -> int:
        """Open the room of a study, or return the existing one (one room per study name).

        The first opener becomes the facilitator and sets the passcode; later calls return the
        same room id and change neither (anyone can call this to find the room, and must then
        :meth:`join` it). The passcode is stored only as a salted hash.
        """
        if not isinstance(study_name, str) or not study_name.strip():
            raise UserInputError("study_name: name the study whose room to open.", field="study_name")
        if len(study_name) > STUDY_NAME_MAX:
            raise UserInputError(f"study_name: at most {STUDY_NAME_MAX} characters.", field="study_name")
        boss = clean_name(facilitator, "facilitator")
        code = _clean_passcode(passcode)

        def find(conn: Connection) -> int | None:
            return conn.execute(select(rooms_table.c.id).where(rooms_table.c.study_name == study_name)).scalar()

        existing = self._read(find)
        if existing is not None:
            return int(existing)
        hashed = hash_passcode(code) if code else None

        def attempt() -> int:
            with self.engine.begin() as conn:
                now = _now()
                values = dict(
                    study_name=study_name, facilitator=boss, passcode_hash=hashed, current_round=1, created_at=now
                )
                created = _insert_ignore(conn, rooms_table, values, ["study_name"])
                room_id = find(conn)
                assert room_id is not None
                if created:
                    conn.execute(insert(participants_table).values(room_id=room_id, name=boss, joined_at=now))
                    self._event(conn, room_id, boss, "open", study_name=study_name, passcode=hashed is not None)
                return int(room_id)

        return self._retry(attempt)

    def room_id(self, study_name: str) -> int | None:
        """The room of a study, or None when nobody has opened it yet."""
        return self._read(
            lambda conn: conn.execute(select(rooms_table.c.id).where(rooms_table.c.study_name == study_name)).scalar()
        )

    def room(self, room_id: int) -> RoomInfo:
        """The room's state: facilitator, current vote round, and the lock if decided."""
        row = self._read(lambda conn: self._room_row(conn, room_id))
        lock = None
        if row.locked_trial is not None:
            lock = LockInfo(int(row.locked_trial), row.locked_by, row.locked_at, row.rationale)
        return RoomInfo(
            int(row.id),
            row.study_name,
            row.facilitator,
            row.passcode_hash is not None,
            int(row.current_round),
            row.created_at,
            lock,
        )

    def join(self, room_id: int, name: str, passcode: str | None = None) -> Participant:
        """Join a room under a name (trimmed, 1–60 characters); re-joining is harmless.

        A room with a passcode refuses a wrong or missing one. Joining stays possible after the
        lock, so latecomers can read the decision.
        """
        person = clean_name(name, "name")
        row = self._read(lambda conn: self._room_row(conn, room_id))
        if row.passcode_hash is not None:
            if not isinstance(passcode, str) or not verify_passcode(passcode, row.passcode_hash):
                raise UserInputError(
                    f"Wrong passcode for this room; ask the facilitator ({row.facilitator}) for it.",
                    field="passcode",
                )

        def work(conn: Connection, room: Any) -> Participant:
            now = _now()
            created = _insert_ignore(
                conn, participants_table, dict(room_id=room_id, name=person, joined_at=now), ["room_id", "name"]
            )
            if created:
                self._event(conn, room_id, person, "join")
            joined_at = conn.execute(
                select(participants_table.c.joined_at).where(
                    and_(participants_table.c.room_id == room_id, participants_table.c.name == person)
                )
            ).scalar()
            return Participant(room_id, person, person == room.facilitator, joined_at)

        return self._write(room_id, work, unlocked=False)

    def participants(self, room_id: int) -> list[Participant]:
        def work(conn: Connection) -> list[Participant]:
            room = self._room_row(conn, room_id)
            rows = conn.execute(
                select(participants_table)
                .where(participants_table.c.room_id == room_id)
                .order_by(participants_table.c.id)
            )
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
        """Create or replace a stakeholder profile (upsert by name).

        Validated the same way :mod:`core.decide.mcdm` will use it, plus: objectives must be known
        metrics, and aspirations must lie within the metric's bounds (a ROC AUC aspiration of 95
        is a unit mistake). ``by`` (who edited it) defaults to the stakeholder's name, for the log.
        """
        label = clean_name(name, "stakeholder")
        objectives = [objectives] if isinstance(objectives, str) else list(objectives or [])
        for o in objectives:
            obj.get(o)
        weights = {k: float(v) for k, v in (weights or {}).items()}
        aspirations = {k: float(v) for k, v in (aspirations or {}).items()}
        stakeholder = mcdm.Stakeholder(label, tuple(objectives), weights, aspirations, method)
        mcdm.check_weights(stakeholder.objectives, stakeholder.weights)
        for key, value in stakeholder.aspirations.items():
            lo, hi = obj.REGISTRY[key].bounds
            if not lo <= value <= hi:
                m = obj.REGISTRY[key]
                raise UserInputError(
                    f"Aspiration for {m.label} is {value:g}, outside {lo:g}…{hi:g} {m.unit}; check the unit.",
                    field="aspirations",
                )
        editor = clean_name(by, "by") if by is not None else label

        def work(conn: Connection, room: Any) -> mcdm.Stakeholder:
            values = dict(
                room_id=room_id,
                name=label,
                objectives=list(stakeholder.objectives),
                weights=dict(stakeholder.weights),
                aspirations=dict(stakeholder.aspirations),
                method=stakeholder.method,
                updated_at=_now(),
            )
            _upsert(conn, stakeholders_table, values, ["room_id", "name"])
            self._event(
                conn,
                room_id,
                editor,
                "stakeholder",
                stakeholder=label,
                objectives=list(stakeholder.objectives),
                weights=dict(stakeholder.weights),
                aspirations=dict(stakeholder.aspirations),
                method=stakeholder.method,
            )
            return stakeholder

        return self._write(room_id, work)

    def stakeholders(self, room_id: int) -> list[mcdm.Stakeholder]:
        """Saved profiles, oldest first, ready for :func:`core.decide.mcdm.stakeholder_pick`."""

        def work(conn: Connection) -> list[mcdm.Stakeholder]:
            self._room_row(conn, room_id)
            rows = conn.execute(
                select(stakeholders_table)
                .where(stakeholders_table.c.room_id == room_id)
                .order_by(stakeholders_table.c.id)
            )
            return [
                mcdm.Stakeholder(r.name, tuple(r.objectives), dict(r.weights), dict(r.aspirations), r.method)
                for r in rows
            ]

        return self._read(work)

    def remove_stakeholder(self, room_id: int, name: str, *, by: str) -> None:
        """Delete a profile (facilitator only), logged."""
        label = clean_name(name, "stakeholder")
        editor = clean_name(by, "by")

        def work(conn: Connection, room: Any) -> None:
            self._require_facilitator(room, editor, "remove a stakeholder")
            conn.execute(
                delete(stakeholders_table).where(
                    and_(stakeholders_table.c.room_id == room_id, stakeholders_table.c.name == label)
                )
            )
            self._event(conn, room_id, editor, "remove_stakeholder", stakeholder=label)

        self._write(room_id, work)

    # -- shortlist ---------------------------------------------------------------------------

    def propose(self, room_id: int, trial_number: int, by: str) -> bool:
        """Put a trial on the shortlist; returns False when it was already there (no duplicate)."""
        trial = _trial(trial_number)
        person = clean_name(by, "by")

        def work(conn: Connection, room: Any) -> bool:
            self._require_member(conn, room, person)
            created = _insert_ignore(
                conn,
                candidates_table,
                dict(room_id=room_id, trial_number=trial, proposed_by=person, proposed_at=_now()),
                ["room_id", "trial_number"],
            )
            self._event(conn, room_id, person, "propose", trial, already_listed=not created)
            return created

        return self._write(room_id, work)

    def candidates(self, room_id: int) -> list[int]:
        """Shortlisted trial numbers, in the order they were proposed."""

        def work(conn: Connection) -> list[int]:
            self._room_row(conn, room_id)
            return [
                int(t)
                for t in conn.execute(
                    select(candidates_table.c.trial_number)
                    .where(candidates_table.c.room_id == room_id)
                    .order_by(candidates_table.c.id)
                ).scalars()
            ]

        return self._read(work)

    # -- votes ---------------------------------------------------------------------------------

    def vote_approval(self, room_id: int, voter: str, trial_number: int, approve: bool) -> None:
        """Approve (or reject) one candidate in the current round; voting again replaces it."""
        trial = _trial(trial_number)
        person = clean_name(voter, "voter")
        if not isinstance(approve, bool):
            raise UserInputError("approve: answer yes (True) or no (False).", field="approve")

        def work(conn: Connection, room: Any) -> None:
            self._require_member(conn, room, person)
            self._require_candidate(conn, room_id, trial, "trial_number")
            _upsert(
                conn,
                approval_table,
                dict(
                    room_id=room_id,
                    round=room.current_round,
                    voter=person,
                    trial_number=trial,
                    approve=approve,
                    cast_at=_now(),
                ),
                ["room_id", "round", "voter", "trial_number"],
            )
            self._event(conn, room_id, person, "vote_approval", trial, round=room.current_round, approve=approve)

        self._write(room_id, work)

    def vote_ranked(self, room_id: int, voter: str, ranking: Sequence[int]) -> None:
        """Rank candidates best-first for the Borda count; a new ballot replaces the old one.

        Partial ballots are allowed: unranked candidates get no points from this voter.
        """
        if isinstance(ranking, (str, bytes)) or not isinstance(ranking, Iterable):
            raise UserInputError("ranking: give a list of trial numbers, best first.", field="ranking")
        trials = [_trial(t, "ranking") for t in ranking]
        if not trials:
            raise UserInputError("ranking: the ballot is empty; rank at least one candidate.", field="ranking")
        if len(set(trials)) != len(trials):
            raise UserInputError("ranking: a trial appears twice; rank each candidate once.", field="ranking")
        person = clean_name(voter, "voter")

        def work(conn: Connection, room: Any) -> None:
            self._require_member(conn, room, person)
            for t in trials:
                self._require_candidate(conn, room_id, t, "ranking")
            conn.execute(
                delete(ranked_table).where(
                    and_(
                        ranked_table.c.room_id == room_id,
                        ranked_table.c.round == room.current_round,
                        ranked_table.c.voter == person,
                    )
                )
            )
            now = _now()
            conn.execute(
                insert(ranked_table),
                [
                    dict(
                        room_id=room_id, round=room.current_round, voter=person, trial_number=t, position=i, cast_at=now
                    )
                    for i, t in enumerate(trials)
                ],
            )
            self._event(conn, room_id, person, "vote_ranked", None, round=room.current_round, ranking=trials)

        self._write(room_id, work)

    def new_round(self, room_id: int, by: str) -> int:
        """Start a fresh vote round (facilitator only); earlier rounds stay stored. Returns it."""
        person = clean_name(by, "by")

        def work(conn: Connection, room: Any) -> int:
            self._require_facilitator(room, person, "start a new round")
            new = int(room.current_round) + 1
            conn.execute(update(rooms_table).where(rooms_table.c.id == room_id).values(current_round=new))
            self._event(conn, room_id, person, "new_round", None, round=new)
            return new

        return self._write(room_id, work)

    def tally(self, room_id: int, round: int | None = None) -> pd.DataFrame:
        """Approval counts and Borda scores per candidate for a round (default: the current one).

        Borda: with ``n`` candidates on the shortlist, a ballot's first place earns ``n - 1``
        points, the next ``n - 2``, and so on; unranked candidates earn 0. Rows are all candidates
        (zeros when nobody voted), sorted by approvals, then Borda, then proposal order. Columns:
        ``approvals``, ``rejections``, ``borda``, ``first_choices``.
        """

        def work(conn: Connection) -> tuple[int, list[int], list[Any], list[Any]]:
            room = self._room_row(conn, room_id)
            rnd = int(room.current_round) if round is None else int(round)
            cands = [
                int(t)
                for t in conn.execute(
                    select(candidates_table.c.trial_number)
                    .where(candidates_table.c.room_id == room_id)
                    .order_by(candidates_table.c.id)
                ).scalars()
            ]
            approvals = conn.execute(
                select(approval_table.c.trial_number, approval_table.c.approve, func.count())
                .where(and_(approval_table.c.room_id == room_id, approval_table.c.round == rnd))
                .group_by(approval_table.c.trial_number, approval_table.c.approve)
            ).all()
            ranked = conn.execute(
                select(ranked_table.c.trial_number, ranked_table.c.position, func.count())
                .where(and_(ranked_table.c.room_id == room_id, ranked_table.c.round == rnd))
                .group_by(ranked_table.c.trial_number, ranked_table.c.position)
            ).all()
            return rnd, cands, approvals, ranked

        _, cands, approvals, ranked = self._read(work)
        n = len(cands)
        table = pd.DataFrame(
            0, index=pd.Index(cands, name="trial_number"), columns=["approvals", "rejections", "borda", "first_choices"]
        )
        for trial, approve, count in approvals:
            table.loc[int(trial), "approvals" if approve else "rejections"] += int(count)
        for trial, position, count in ranked:
            table.loc[int(trial), "borda"] += max(0, n - 1 - int(position)) * int(count)
            if int(position) == 0:
                table.loc[int(trial), "first_choices"] += int(count)
        table["_order"] = range(n)
        table = table.sort_values(["approvals", "borda", "_order"], ascending=[False, False, True], kind="mergesort")
        return table.drop(columns="_order").astype(int)

    def votes(self, room_id: int, round: int | None = None) -> pd.DataFrame:
        """Every ballot line of a round (default current): who voted what, for transparency.

        Columns: ``kind`` ("approval"/"ranked"), ``voter``, ``trial_number``, ``approve``
        (approval only), ``position`` (ranked only, 0 = first), ``cast_at``.
        """

        def work(conn: Connection) -> list[dict[str, Any]]:
            room = self._room_row(conn, room_id)
            rnd = int(room.current_round) if round is None else int(round)
            a = conn.execute(
                select(approval_table)
                .where(and_(approval_table.c.room_id == room_id, approval_table.c.round == rnd))
                .order_by(approval_table.c.id)
            ).all()
            r = conn.execute(
                select(ranked_table)
                .where(and_(ranked_table.c.room_id == room_id, ranked_table.c.round == rnd))
                .order_by(ranked_table.c.voter, ranked_table.c.position)
            ).all()
            return [
                dict(
                    kind="approval",
                    voter=x.voter,
                    trial_number=x.trial_number,
                    approve=bool(x.approve),
                    position=None,
                    cast_at=x.cast_at,
                )
                for x in a
            ] + [
                dict(
                    kind="ranked",
                    voter=x.voter,
                    trial_number=x.trial_number,
                    approve=None,
                    position=x.position,
                    cast_at=x.cast_at,
                )
                for x in r
            ]

        rows = self._read(work)
        return pd.DataFrame(rows, columns=["kind", "voter", "trial_number", "approve", "position", "cast_at"])

    # -- comments --------------------------------------------------------------------------------

    def comment(self, room_id: int, author: str, trial_number: int | None, text: str) -> int:
        """Store a comment verbatim (up to 2,000 characters), optionally about one trial."""
        person = clean_name(author, "author")
        trial = None if trial_number is None else _trial(trial_number)
        body = _clean_text(text, "text", "comment")

        def work(conn: Connection, room: Any) -> int:
            self._require_member(conn, room, person)
            result = conn.execute(
                insert(comments_table).values(
                    room_id=room_id, author=person, trial_number=trial, text=body, created_at=_now()
                )
            )
            comment_id = int(result.inserted_primary_key[0])
            self._event(conn, room_id, person, "comment", trial, comment_id=comment_id)
            return comment_id

        return self._write(room_id, work)

    def comments(self, room_id: int) -> list[Comment]:
        """All comments, oldest first, text exactly as typed."""

        def work(conn: Connection) -> list[Comment]:
            self._room_row(conn, room_id)
            rows = conn.execute(
                select(comments_table).where(comments_table.c.room_id == room_id).order_by(comments_table.c.id)
            )
            return [Comment(int(r.id), r.author, r.trial_number, r.text, r.created_at) for r in rows]

        return self._read(work)

    # -- the decision ------------------------------------------------------------------------------

    def lock(self, room_id: int, by: str, trial_number: int, rationale: str) -> LockInfo:
        """Record the final decision. Only the facilitator may; a rationale is required.

        After this, proposals, votes, comments, stakeholder edits and new rounds are refused, so
        the log shows exactly what the decision was based on.
        """
        person = clean_name(by, "by")
        trial = _trial(trial_number)
        why = _clean_text(rationale, "rationale", "rationale")

        def work(conn: Connection, room: Any) -> LockInfo:
            self._require_facilitator(room, person, "lock the decision")
            self._require_candidate(conn, room_id, trial, "trial_number")
            now = _now()
            conn.execute(
                update(rooms_table)
                .where(rooms_table.c.id == room_id)
                .values(locked_trial=trial, locked_by=person, locked_at=now, rationale=why)
            )
            self._event(conn, room_id, person, "lock", trial, rationale=why)
            return LockInfo(trial, person, now, why)

        return self._write(room_id, work)

    def log(self, room_id: int) -> list[Event]:
        """The decision log, oldest first: every open/join/stakeholder/propose/vote/comment/
        new_round/lock with who, what and when (UTC ISO 8601)."""

        def work(conn: Connection) -> list[Event]:
            self._room_row(conn, room_id)
            rows = conn.execute(
                select(events_table).where(events_table.c.room_id == room_id).order_by(events_table.c.id)
            )
            return [Event(int(r.id), r.at, r.who, r.kind, r.trial_number, dict(r.detail or {})) for r in rows]

        return self._read(work)


# ---------------------------------------------------------------------------------------------
# Engine, dialect helpers, schema version
# ---------------------------------------------------------------------------------------------


def _make_engine(url: str) -> Engine:
    """An engine tuned for many short writers: WAL + busy timeout + BEGIN IMMEDIATE on SQLite."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UserInputError(
            f"storage: {url!r} is not a database URL; use e.g. sqlite:///var/tradeoff.db or "
            "postgresql+psycopg://user@host:5432/dbname.",
            field="storage",
        ) from None
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, pool_pre_ping=True, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # take transaction control away from the sqlite3 module so BEGIN IMMEDIATE is possible
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        if database and database != ":memory:":
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # writers take the write lock up front: a deferred transaction that reads and then writes
        # fails with "database is locked" without waiting when another writer got in between
        if conn.get_execution_options().get("tr_read_only"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _insert_ignore(conn: Connection, table: Table, values: dict[str, Any], keys: list[str]) -> bool:
    """Insert unless a row with the same unique ``keys`` exists; True when a row was inserted."""
    name = conn.dialect.name
    if name in ("postgresql", "sqlite"):
        mod = pg_dialect if name == "postgresql" else sqlite_dialect
        stmt = (
            mod.insert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[table.c[k] for k in keys])
            .returning(table.c.id)
        )
        # RETURNING, not rowcount: with implicit RETURNING some drivers report rowcount -1
        return conn.execute(stmt).first() is not None
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(**values))
        return True
    except IntegrityError:
        return False


def _upsert(conn: Connection, table: Table, values: dict[str, Any], keys: list[str]) -> None:
    """Insert, or update every non-key column of the row with the same unique ``keys``."""
    name = conn.dialect.name
    if name in ("postgresql", "sqlite"):
        mod = pg_dialect if name == "postgresql" else sqlite_dialect
        stmt = mod.insert(table).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys], set_={c: stmt.excluded[c] for c in values if c not in keys}
        )
        conn.execute(stmt)
        return
    conn.execute(delete(table).where(and_(*(table.c[k] == values[k] for k in keys))))
    conn.execute(insert(table).values(**values))


def _stored_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table(schema_version_table.name):
        return None
    value = conn.execute(select(schema_version_table.c.version).where(schema_version_table.c.id == 1)).scalar()
    return None if value is None else int(value)


def schema_mismatch_error(url: str, stored: int) -> UserInputError:
    """The message for a room schema written by another version, saying how to get unstuck."""
    where = _masked(url)
    if stored > SCHEMA_VERSION:
        return UserInputError(
            f"The decision-room tables in {where} are at schema version {stored}, newer than this "
            f"Tradeoff Room understands (version {SCHEMA_VERSION}): someone upgraded Tradeoff Room "
            "against this database. Upgrade this installation too (pip install -U tradeoff-room) "
            "on every machine that shares the database, or point it at another database.",
            field="storage",
        )
    return UserInputError(
        f"The decision-room tables in {where} are at schema version {stored}, older than this "
        f"Tradeoff Room (version {SCHEMA_VERSION}). Back up the database, then run "
        f"`python -m core.decide.room upgrade '{where}'` (with the real password) to migrate them in place.",
        field="storage",
    )


def upgrade_schema(url: str) -> int:
    """Migrate the room tables at ``url`` to :data:`SCHEMA_VERSION`, one step at a time.

    All steps run in one transaction, so a failure leaves the old schema intact. Returns the
    version the database was at before. Refuses to downgrade.
    """
    engine = _make_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
            stored = _stored_version(conn)
            if stored is None:
                metadata.create_all(conn)
                conn.execute(insert(schema_version_table).values(id=1, version=SCHEMA_VERSION, updated_at=_now()))
                return SCHEMA_VERSION
            if stored > SCHEMA_VERSION:
                raise schema_mismatch_error(url, stored)
            for version in range(stored, SCHEMA_VERSION):
                step = MIGRATIONS.get(version)
                if step is None:
                    raise UserInputError(
                        f"No upgrade step from room schema version {version} to {version + 1} "
                        "in this Tradeoff Room; install the release that introduced it first.",
                        field="storage",
                    )
                step(conn)
            conn.execute(
                update(schema_version_table)
                .where(schema_version_table.c.id == 1)
                .values(version=SCHEMA_VERSION, updated_at=_now())
            )
            return stored
    finally:
        engine.dispose()


def _locked_error(room: Any) -> UserInputError:
    return UserInputError(
        f"Cannot do that: the decision is locked — trial {room.locked_trial} was chosen by "
        f"{room.locked_by} at {room.locked_at}. Proposals, votes and comments are closed; "
        "open a room for a new study to revisit it.",
        field="room",
    )


# ---------------------------------------------------------------------------------------------
# The ``tradeoff room`` command group (registered by core.cli through ``register_cli``)
# ---------------------------------------------------------------------------------------------


def _printable(raw: object) -> str:
    """Text as typed, minus terminal control sequences: a comment must not recolour a terminal."""
    return "".join(ch if ch in "\n\t" or unicodedata.category(ch) != "Cc" else "?" for ch in str(raw))


def _cli_store(args: Any) -> tuple[str, RoomStore]:
    from core import storage

    url = storage.resolve(getattr(args, "storage", None))
    return url, RoomStore(url)


def _cli_room(store: RoomStore, study: str) -> int:
    room_id = store.room_id(study)
    if room_id is None:
        raise UserInputError(
            f"No decision room for study {study!r} yet; open one with "
            f"`tradeoff room open --study {study} --facilitator NAME`.",
            field="study",
        )
    return room_id


def _cli_passcode(args: Any) -> str | None:
    """``--passcode``, else ``$TRADEOFF_ROOM_PASSCODE`` (keeps it out of the shell history)."""
    return args.passcode if args.passcode is not None else os.environ.get("TRADEOFF_ROOM_PASSCODE")


def _cli_open(args: Any) -> int:
    from core.decide import view as decide

    url, store = _cli_store(args)
    with store:
        spec, view = decide.load(url, args.study, store)
        existed = store.room_id(args.study) is not None
        room_id = decide.open_room(store, spec, view, args.facilitator, _cli_passcode(args))
        info = store.room(room_id)
        if existed:
            print(
                f"room {room_id} for study {args.study!r} is already open "
                f"(facilitator {_printable(info.facilitator)}); join it with `tradeoff room join`."
            )
        else:
            print(
                f"opened room {room_id} for study {args.study!r}; facilitator "
                f"{_printable(info.facilitator)}"
                f"{', passcode set' if info.has_passcode else ''}; shortlist: "
                + ", ".join(view.label(t) for t in store.candidates(room_id))
            )
    return 0


def _cli_join(args: Any) -> int:
    _, store = _cli_store(args)
    with store:
        who = store.join(_cli_room(store, args.study), args.name, _cli_passcode(args))
        print(
            f"{_printable(who.name)} joined the room of {args.study!r}"
            f"{' as facilitator' if who.is_facilitator else ''}."
        )
    return 0


def _cli_vote(args: Any) -> int:
    _, store = _cli_store(args)
    with store:
        room_id = _cli_room(store, args.study)
        store.vote_approval(room_id, args.name, args.trial, not args.reject)
        print(
            f"{_printable(args.name.strip())} {'rejects' if args.reject else 'approves'} "
            f"trial {args.trial} (round {store.room(room_id).current_round})."
        )
    return 0


def _cli_rank(args: Any) -> int:
    _, store = _cli_store(args)
    with store:
        try:
            ranking = [int(t) for t in args.trials.split(",") if t.strip()]
        except ValueError:
            raise UserInputError(
                f"--trials expects trial numbers separated by commas, best first (e.g. 5,3,8), got {args.trials!r}.",
                field="ranking",
            ) from None
        store.vote_ranked(_cli_room(store, args.study), args.name, ranking)
        print(f"{_printable(args.name.strip())} ranked " + " > ".join(map(str, ranking)) + ".")
    return 0


def _cli_propose(args: Any) -> int:
    _, store = _cli_store(args)
    with store:
        added = store.propose(_cli_room(store, args.study), args.trial, args.name)
        print(f"trial {args.trial} {'added to' if added else 'was already on'} the shortlist.")
    return 0


def _cli_comment(args: Any) -> int:
    _, store = _cli_store(args)
    with store:
        number = store.comment(_cli_room(store, args.study), args.name, args.trial, args.text)
        print(f"comment {number} saved.")
    return 0


def _cli_lock(args: Any) -> int:
    _, store = _cli_store(args)
    with store:
        lock = store.lock(_cli_room(store, args.study), args.name, args.trial, args.rationale)
        print(f"decision locked: trial {lock.trial_number} by {_printable(lock.by)} at {lock.at}.")
    return 0


def _cli_show(args: Any) -> int:
    from core.decide import view as decide

    url, store = _cli_store(args)
    with store:
        _, view = decide.load(url, args.study, store)
        room_id = store.room_id(args.study)
        room = store.room(room_id) if room_id is not None else None
        data: dict[str, Any] = {"view": view.to_dict(), "room": None}
        if room is not None:
            tally = store.tally(room_id)
            data["room"] = {
                "id": room.id,
                "facilitator": room.facilitator,
                "passcode": room.has_passcode,
                "round": room.current_round,
                "lock": None if room.lock is None else vars(room.lock),
                "participants": [p.name for p in store.participants(room_id)],
                "candidates": store.candidates(room_id),
                "tally": [{"trial": int(t), **{k: int(v) for k, v in row.items()}} for t, row in tally.iterrows()],
                "comments": [vars(c) for c in store.comments(room_id)],
                "log": [vars(e) for e in store.log(room_id)],
            }
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    print(_show_text(view, data["room"]))
    return 0


def _show_text(view: Any, room: dict[str, Any] | None) -> str:
    """The room as plain text for a terminal: shortlist, methods, regret, tally, comments, log."""
    from core.decide.view import METHOD_LABELS, describe_event

    out = [
        f"study {view.study_name!r}: Pareto set of {len(view.points)} trials over "
        + ", ".join(obj.get(n).label for n in view.objectives)
    ]
    if room is None:
        out.append("no decision room yet (open one with `tradeoff room open`).")
    else:
        out.append(
            f"room {room['id']}: facilitator {_printable(room['facilitator'])}, round "
            f"{room['round']}, participants: " + ", ".join(_printable(p) for p in room["participants"])
        )
        lock = room["lock"]
        out.append(
            "decision: open"
            if lock is None
            else f"decision: trial {lock['trial_number']} locked by {_printable(lock['by'])} "
            f"at {lock['at']} — {_printable(lock['rationale'])}"
        )
    out.append("\nshortlist:")
    table = view.shortlist_table().drop(columns=["trial"])
    table["compromise"] = table["compromise"].map({True: "★", False: ""})
    out.append(_printable(table.to_string(index=False)))
    out.append("\nmethod winners (equal weights):")
    for m, r in view.methods.items():
        out.append(f"  {METHOD_LABELS[m]}: trial {r.winner} — {r.why}")
    for s in view.stakeholders:
        out.append(f"  {_printable(view.picks[s.name].why)}")
    out.append("\nregret (share of the front's range each stakeholder gives up, 0 = none):")
    regret = view.regret.normalised.copy()
    regret.index = [view.label(t) for t in regret.index]
    out.append(_printable(regret.round(3).to_string()))
    out.append(f"compromise (min-max regret): {view.label(view.regret.compromise)}")
    if room is not None:
        out.append(f"\ntally (round {room['round']}):")
        for row in room["tally"]:
            out.append(
                f"  {view.label(row['trial'])}: {row['approvals']} approve, "
                f"{row['rejections']} reject, Borda {row['borda']}"
            )
        out.append("\ncomments:")
        for c in room["comments"] or [{"author": "", "text": "(none)", "trial_number": None, "at": ""}]:
            about = f" on trial {c['trial_number']}" if c["trial_number"] is not None else ""
            out.append(f"  {c['at']} {_printable(c['author'])}{about}: {_printable(c['text'])}")
        out.append("\nlog:")
        for e in room["log"]:
            what = describe_event(e["kind"], e["trial_number"], e["detail"])
            out.append(f"  {e['at']} {_printable(e['who'])} {_printable(what)}")
    return "\n".join(out)


def register_cli(subparsers: Any) -> None:
    """Add ``tradeoff room …``: open/join/show/vote/rank/propose/comment/lock from a terminal."""
    room = subparsers.add_parser("room", help="the decision room of a study: votes, comments, lock")
    sub = room.add_subparsers(dest="room_command", required=True)

    def common(name: str, help_text: str, func: Callable[[Any], int]) -> Any:
        sp = sub.add_parser(name, help=help_text)
        sp.add_argument(
            "--storage",
            help="SQLAlchemy URL (default: $TRADEOFF_STORAGE, .streamlit/secrets.toml, or SQLite under $TRADEOFF_HOME)",
        )
        sp.add_argument("--study", required=True, help="the study whose room this is")
        sp.set_defaults(func=func)
        return sp

    sp = common("open", "open the room (you become the facilitator) and seed its shortlist", _cli_open)
    sp.add_argument("--facilitator", required=True, help="your name")
    sp.add_argument("--passcode", help="optional room passcode (or $TRADEOFF_ROOM_PASSCODE)")
    sp = common("join", "join the room under your name", _cli_join)
    sp.add_argument("--name", required=True)
    sp.add_argument("--passcode", help="the room's passcode (or $TRADEOFF_ROOM_PASSCODE)")
    sp = common("show", "print the shortlist, regret table, tally, comments and log", _cli_show)
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp = common("vote", "approve (or --reject) one shortlisted trial", _cli_vote)
    sp.add_argument("--name", required=True)
    sp.add_argument("--trial", type=int, required=True)
    sp.add_argument("--reject", action="store_true")
    sp = common("rank", "cast a ranked ballot (Borda), best first", _cli_rank)
    sp.add_argument("--name", required=True)
    sp.add_argument("--trials", required=True, help="comma-separated trial numbers, best first")
    sp = common("propose", "add a trial to the shortlist", _cli_propose)
    sp.add_argument("--name", required=True)
    sp.add_argument("--trial", type=int, required=True)
    sp = common("comment", "comment on the decision or on one trial", _cli_comment)
    sp.add_argument("--name", required=True)
    sp.add_argument("--trial", type=int)
    sp.add_argument("--text", required=True)
    sp = common("lock", "record the final decision (facilitator only)", _cli_lock)
    sp.add_argument("--name", required=True, help="the facilitator's name")
    sp.add_argument("--trial", type=int, required=True)
    sp.add_argument("--rationale", required=True, help="why this trial (stored in the log)")


def _main(argv: list[str]) -> int:
    """``python -m core.decide.room upgrade URL``: the upgrade path named in the mismatch message."""
    if len(argv) != 2 or argv[0] != "upgrade":
        print("usage: python -m core.decide.room upgrade DATABASE_URL", file=sys.stderr)
        return 2
    try:
        before = upgrade_schema(argv[1])
    except UserInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"room schema: version {before} -> {SCHEMA_VERSION} in {_masked(argv[1])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
