"""Our tables beside Optuna's, in one MetaData: the search's shared budget and worker registry
(``tradeoff_*``) and the decision room (``room_*``), so one database backup holds search and decision.

Changing a table here needs an Alembic revision in :mod:`core.storage.migrations` that brings
existing databases to the new layout (see :mod:`core.storage.schema`).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql

NAME_MAX = 60  # a person's name in the room
NAME_KEY_MAX = 4 * NAME_MAX  # the name as compared (NFKC and case folding can lengthen it)
MARKS = ("approve", "reject", "abstain")  # what a ballot can say of one candidate
STUDY_NAME_MAX = 512  # Optuna's own limit on study names

# Cyrillic and Greek letters (after case folding) that render like a Latin letter
_TWINS = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
        "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
        "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "α": "a", "β": "b", "ε": "e", "ζ": "z", "η": "n",
        "ι": "i", "κ": "k", "μ": "m", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
        "ω": "w",
    }
)  # fmt: skip


def name_key(name: str) -> str:
    """What two names in a room (``room_participants.name_key``) are compared by: NFKC, case-folded, look-alike letters mapped to Latin."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return " ".join(folded.translate(_TWINS).split())


metadata = MetaData()

budget_table = Table(
    "tradeoff_budget",
    metadata,
    Column("study_name", String(STUDY_NAME_MAX), primary_key=True),
    Column("n_trials", Integer, nullable=True),
    Column("claimed", Integer, nullable=False, default=0),
)

workers_table = Table(
    "tradeoff_workers",
    metadata,
    Column("worker_id", String(64), primary_key=True),
    Column("study_name", String(STUDY_NAME_MAX), index=True, nullable=False),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("state", String(32)),
    Column("current_trial", Integer, nullable=True),
    Column("trials_done", Integer, default=0),
    Column("started_at", DateTime(timezone=True)),
    Column("last_seen", DateTime(timezone=True)),
    Column("message", Text, nullable=True),
)


#: bytes of any size on every backend (MariaDB's plain BLOB stops at 64 kB)
BLOB = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")

#: what the search keeps of a trial beyond Optuna's attributes: its fitted model (skops bytes) for
#: trials that may reach the front, so Export does not fit again what the search fitted
artifacts_table = Table(
    "tradeoff_trial_artifacts",
    metadata,
    Column("study_name", String(STUDY_NAME_MAX), primary_key=True),
    Column("trial_number", Integer, primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("data", BLOB, nullable=False),
    Column("created_at", DateTime(timezone=True)),
)


# The room talks about options (a trial and one of its operating points, :mod:`core.decide.options`):
# every room table that names a trial has a nullable ``point`` beside ``trial_number``. NULL is the
# trial's own tuned rule, which is what every row written before operating points existed meant, so
# old rooms read as they did. The UNIQUE constraints include ``point``; as SQL treats NULLs as
# distinct there, the store checks "already there" itself inside the room's row lock.


def _room_id() -> Column[int]:
    return Column("room_id", Integer, ForeignKey("room_rooms.id", ondelete="CASCADE"), nullable=False)


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
    Column("locked_point", Integer),  # NULL: the trial's own tuned rule
)

participants_table = Table(
    "room_participants",
    metadata,
    Column("id", Integer, primary_key=True),
    _room_id(),
    Column("name", String(NAME_MAX), nullable=False),
    Column("joined_at", String(40), nullable=False),
    Column("name_key", String(NAME_KEY_MAX), nullable=False),
    UniqueConstraint("room_id", "name", name="uq_room_participants"),
    UniqueConstraint("room_id", "name_key", name="uq_room_participant_keys"),
)

stakeholders_table = Table(
    "room_stakeholders",
    metadata,
    Column("id", Integer, primary_key=True),
    _room_id(),
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
    _room_id(),
    Column("trial_number", Integer, nullable=False),
    Column("proposed_by", String(NAME_MAX), nullable=False),
    Column("proposed_at", String(40), nullable=False),
    Column("point", Integer),
    UniqueConstraint("room_id", "trial_number", "point", name="uq_room_candidate_options"),
)


def _ballot_line(name: str, *choice: Column[Any], constraints: tuple[UniqueConstraint, ...] = ()) -> Table:
    """A vote table: one row per voter, round and option; ``choice`` is what the voter said of it."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True),
        _room_id(),
        Column("round", Integer, nullable=False),
        Column("voter", String(NAME_MAX), nullable=False),
        Column("trial_number", Integer, nullable=False),
        *choice,
        Column("cast_at", String(40), nullable=False),
        Column("point", Integer),
        UniqueConstraint("room_id", "round", "voter", "trial_number", "point", name=f"uq_{name}_options"),
        *constraints,
    )


approval_table = _ballot_line(
    "room_approval_votes", Column("approve", Boolean), Column("mark", String(10), nullable=False)
)
ranked_table = _ballot_line(
    "room_ranked_votes",
    Column("position", Integer, nullable=False),
    constraints=(UniqueConstraint("room_id", "round", "voter", "position", name="uq_room_ranked_positions"),),
)

comments_table = Table(
    "room_comments",
    metadata,
    Column("id", Integer, primary_key=True),
    _room_id(),
    Column("author", String(NAME_MAX), nullable=False),
    Column("trial_number", Integer),
    Column("text", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("point", Integer),
    Index("ix_room_comments_room", "room_id", "id"),
)

events_table = Table(
    "room_events",
    metadata,
    Column("id", Integer, primary_key=True),
    _room_id(),
    Column("at", String(40), nullable=False),
    Column("who", String(NAME_MAX), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("trial_number", Integer),
    Column("detail", JSON, nullable=False),
    Column("point", Integer),
    Index("ix_room_events_room", "room_id", "id"),
)

tokens_table = Table(
    "room_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    _room_id(),
    Column("name", String(NAME_MAX), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("issued_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Column("revoked_at", String(40)),
)

attempts_table = Table(
    "room_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    _room_id(),
    Column("client", String(200), nullable=False),
    Column("name", String(NAME_MAX), nullable=False),
    Column("outcome", String(10), nullable=False),
    Column("at", String(40), nullable=False),
    Index("ix_room_attempts_room", "room_id", "at"),
)

writes_table = Table(
    "room_writes",
    metadata,
    Column("id", Integer, primary_key=True),
    _room_id(),
    Column("key", String(64), nullable=False),
    Column("result", JSON),
    Column("at", String(40), nullable=False),
    UniqueConstraint("room_id", "key", name="uq_room_writes"),
)

ROOM_TABLES = tuple(t for t in metadata.sorted_tables if t.name.startswith("room_"))
