"""The room decides on options (a trial and one of its operating points), not only on trials:
candidates, both ballot tables, comments, the log and the lock gain a nullable ``point``.

Existing rows keep NULL, which means the trial's own tuned rule: exactly what they meant when they
were written, so an old room reads as before. The UNIQUE constraints of candidates and ballots now
include ``point``; the new ones are made before the old ones are dropped, because MariaDB needs an
index that starts with ``room_id`` for the foreign key at every moment.

Revision ID: 0004_room_options
Revises: 0003_trial_artifacts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_room_options"
down_revision = "0003_trial_artifacts"
branch_labels = None
depends_on = None

#: table → (old unique constraint, its columns without ``point``), for the tables whose rows are unique per option
_UNIQUE = {
    "room_candidates": ("uq_room_candidates", ["room_id", "trial_number"]),
    "room_approval_votes": ("uq_room_approval_votes", ["room_id", "round", "voter", "trial_number"]),
    "room_ranked_votes": ("uq_room_ranked_votes", ["room_id", "round", "voter", "trial_number"]),
}
_PLAIN = ("room_comments", "room_events")


def _new_name(old: str) -> str:
    return "uq_room_candidate_options" if old == "uq_room_candidates" else f"{old}_options"


def upgrade() -> None:
    with op.batch_alter_table("room_rooms") as batch:
        batch.add_column(sa.Column("locked_point", sa.Integer, nullable=True))
    for table in _PLAIN:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("point", sa.Integer, nullable=True))
    for table, (old, cols) in _UNIQUE.items():
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("point", sa.Integer, nullable=True))
        with op.batch_alter_table(table) as batch:
            batch.create_unique_constraint(_new_name(old), [*cols, "point"])
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(old, type_="unique")


def downgrade() -> None:
    """Back to one row per trial: rows about another operating point than the trial's own are
    dropped, and a lock on one is lifted (it cannot be written without its point)."""
    op.execute(
        sa.text(
            "UPDATE room_rooms SET locked_trial = NULL, locked_by = NULL, locked_at = NULL, rationale = NULL "
            "WHERE locked_point IS NOT NULL"
        )
    )
    for table, (old, cols) in _UNIQUE.items():
        op.execute(sa.text(f"DELETE FROM {table} WHERE point IS NOT NULL"))
        with op.batch_alter_table(table) as batch:
            batch.create_unique_constraint(old, cols)
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(_new_name(old), type_="unique")
            batch.drop_column("point")
    for table in _PLAIN:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("point")
    with op.batch_alter_table("room_rooms") as batch:
        batch.drop_column("locked_point")
