"""The room knows who is who: personal tokens, a log of passcode attempts, idempotent writes,
names compared by a key, and ballots that record approve / reject / abstain.

Existing rooms keep every row: a participant's ``name_key`` is computed from the stored name, and
each approval vote becomes the mark it was (approve or reject). A room made before this revision
has no tokens; it stays readable as it was until the database holder issues its facilitator one
(``python -m core.decide.room issue-token``).

Revision ID: 0002_room_identities
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.storage.tables import name_key

revision = "0002_room_identities"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

NAME = 60


def _room_id() -> sa.Column[int]:
    return sa.Column("room_id", sa.Integer, sa.ForeignKey("room_rooms.id", ondelete="CASCADE"), nullable=False)


def _new_tables() -> None:
    op.create_table(
        "room_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        _room_id(),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("issued_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40)),
    )
    op.create_table(
        "room_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        _room_id(),
        sa.Column("client", sa.String(200), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Index("ix_room_attempts_room", "room_id", "at"),
    )
    op.create_table(
        "room_writes",
        sa.Column("id", sa.Integer, primary_key=True),
        _room_id(),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("result", sa.JSON),
        sa.Column("at", sa.String(40), nullable=False),
        sa.UniqueConstraint("room_id", "key", name="uq_room_writes"),
    )


def _name_keys() -> None:
    with op.batch_alter_table("room_participants") as batch:
        batch.add_column(sa.Column("name_key", sa.String(4 * NAME), nullable=True))
    people = sa.table(
        "room_participants", sa.column("id"), sa.column("room_id"), sa.column("name"), sa.column("name_key")
    )
    bind = op.get_bind()
    seen: set[tuple[int, str]] = set()
    for row in bind.execute(sa.select(people.c.id, people.c.room_id, people.c.name).order_by(people.c.id)).all():
        key = name_key(row.name)
        if (row.room_id, key) in seen:  # two look-alike names joined before: keep both, apart
            key = f"{key}#{row.id}"
        seen.add((row.room_id, key))
        bind.execute(sa.update(people).where(people.c.id == row.id).values(name_key=key))
    with op.batch_alter_table("room_participants") as batch:
        batch.alter_column("name_key", existing_type=sa.String(4 * NAME), nullable=False)
        batch.create_unique_constraint("uq_room_participant_keys", ["room_id", "name_key"])


def _marks() -> None:
    with op.batch_alter_table("room_approval_votes") as batch:
        batch.add_column(sa.Column("mark", sa.String(10), nullable=True))
        batch.alter_column("approve", existing_type=sa.Boolean, nullable=True)
    votes = sa.table("room_approval_votes", sa.column("approve", sa.Boolean), sa.column("mark"))
    bind = op.get_bind()
    bind.execute(sa.update(votes).where(votes.c.approve == sa.true()).values(mark="approve"))
    bind.execute(sa.update(votes).where(votes.c.approve == sa.false()).values(mark="reject"))
    with op.batch_alter_table("room_approval_votes") as batch:
        batch.alter_column("mark", existing_type=sa.String(10), nullable=False)


def upgrade() -> None:
    _new_tables()
    _name_keys()
    _marks()


def downgrade() -> None:
    with op.batch_alter_table("room_approval_votes") as batch:
        batch.drop_column("mark")
    with op.batch_alter_table("room_participants") as batch:
        batch.drop_constraint("uq_room_participant_keys", type_="unique")
        batch.drop_column("name_key")
    for name in ("room_writes", "room_attempts", "room_tokens"):
        op.drop_table(name)
