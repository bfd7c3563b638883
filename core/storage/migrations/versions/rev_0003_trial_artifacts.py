"""A table for what a trial keeps beyond Optuna's attributes: its fitted model (skops bytes), so
Export reads the model the search fitted instead of fitting it again. Existing databases gain an
empty table; their trials are re-fitted on export as before.

Revision ID: 0003_trial_artifacts
Revises: 0002_room_identities
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003_trial_artifacts"
down_revision = "0002_room_identities"
branch_labels = None
depends_on = None

STUDY_NAME_MAX = 512


def upgrade() -> None:
    op.create_table(
        "tradeoff_trial_artifacts",
        sa.Column("study_name", sa.String(STUDY_NAME_MAX), primary_key=True),
        sa.Column("trial_number", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("data", sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("tradeoff_trial_artifacts")
