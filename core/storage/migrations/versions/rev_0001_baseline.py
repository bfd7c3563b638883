"""The tables of the first release: search budget and worker registry, and the decision room.

A database made before Alembic managed these tables may hold some of them already (the search
created its tables on first use, the room its own); only the missing ones are created, the rest
are left exactly as they are.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

NAME = 60
STUDY = 512


def _create(name: str, *items: sa.schema.SchemaItem) -> None:
    if not sa.inspect(op.get_bind()).has_table(name):
        op.create_table(name, *items)


def _room_id() -> sa.Column[int]:
    return sa.Column("room_id", sa.Integer, sa.ForeignKey("room_rooms.id", ondelete="CASCADE"), nullable=False)


def _search_tables() -> None:
    _create(
        "tradeoff_budget",
        sa.Column("study_name", sa.String(STUDY), primary_key=True),
        sa.Column("n_trials", sa.Integer, nullable=True),
        sa.Column("claimed", sa.Integer, nullable=False),
    )
    _create(
        "tradeoff_workers",
        sa.Column("worker_id", sa.String(64), primary_key=True),
        sa.Column("study_name", sa.String(STUDY), index=True, nullable=False),
        sa.Column("host", sa.String(255)),
        sa.Column("pid", sa.Integer),
        sa.Column("state", sa.String(32)),
        sa.Column("current_trial", sa.Integer, nullable=True),
        sa.Column("trials_done", sa.Integer),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("last_seen", sa.DateTime(timezone=True)),
        sa.Column("message", sa.Text, nullable=True),
    )


def _room_and_people() -> None:
    _create(
        "room_rooms",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("study_name", sa.String(STUDY), nullable=False, unique=True),
        sa.Column("facilitator", sa.String(NAME), nullable=False),
        sa.Column("passcode_hash", sa.String(300)),
        sa.Column("current_round", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("locked_trial", sa.Integer),
        sa.Column("locked_by", sa.String(NAME)),
        sa.Column("locked_at", sa.String(40)),
        sa.Column("rationale", sa.Text),
    )
    _create(
        "room_participants",
        sa.Column("id", sa.Integer, primary_key=True),
        _room_id(),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("joined_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("room_id", "name", name="uq_room_participants"),
    )
    _create(
        "room_stakeholders",
        sa.Column("id", sa.Integer, primary_key=True),
        _room_id(),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("objectives", sa.JSON, nullable=False),
        sa.Column("weights", sa.JSON, nullable=False),
        sa.Column("aspirations", sa.JSON, nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("room_id", "name", name="uq_room_stakeholders"),
    )
    _create(
        "room_candidates",
        sa.Column("id", sa.Integer, primary_key=True),
        _room_id(),
        sa.Column("trial_number", sa.Integer, nullable=False),
        sa.Column("proposed_by", sa.String(NAME), nullable=False),
        sa.Column("proposed_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("room_id", "trial_number", name="uq_room_candidates"),
    )


def _ballot_line(name: str, choice: sa.Column[int] | sa.Column[bool], *constraints: sa.UniqueConstraint) -> None:
    _create(
        name,
        sa.Column("id", sa.Integer, primary_key=True),
        _room_id(),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("voter", sa.String(NAME), nullable=False),
        sa.Column("trial_number", sa.Integer, nullable=False),
        choice,
        sa.Column("cast_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("room_id", "round", "voter", "trial_number", name=f"uq_{name}"),
        *constraints,
    )


def _votes() -> None:
    _ballot_line("room_approval_votes", sa.Column("approve", sa.Boolean, nullable=False))
    _ballot_line(
        "room_ranked_votes",
        sa.Column("position", sa.Integer, nullable=False),
        sa.UniqueConstraint("room_id", "round", "voter", "position", name="uq_room_ranked_positions"),
    )


def _log() -> None:
    _create(
        "room_comments",
        sa.Column("id", sa.Integer, primary_key=True),
        _room_id(),
        sa.Column("author", sa.String(NAME), nullable=False),
        sa.Column("trial_number", sa.Integer),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Index("ix_room_comments_room", "room_id", "id"),
    )
    _create(
        "room_events",
        sa.Column("id", sa.Integer, primary_key=True),
        _room_id(),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("who", sa.String(NAME), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("trial_number", sa.Integer),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Index("ix_room_events_room", "room_id", "id"),
    )


def upgrade() -> None:
    _search_tables()
    _room_and_people()
    _votes()
    _log()


def downgrade() -> None:
    for name in (
        "room_events",
        "room_comments",
        "room_ranked_votes",
        "room_approval_votes",
        "room_candidates",
        "room_stakeholders",
        "room_participants",
        "room_rooms",
        "tradeoff_workers",
        "tradeoff_budget",
    ):
        op.drop_table(name)
