"""Optuna's RDB tables, as far as our readers and the end-of-run pass use them (one declaration).

Why read them directly: building a ``FrozenTrial`` per trial is seconds per page on a 10,000-trial
study (:mod:`core.search.reader`), and Optuna refuses any write to a finished trial, which the
end-of-run precise pass must do (:mod:`core.search._precise`). The layout is not a public API, so
every reader falls back to Optuna's public path when a query fails.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()


def _attributes(name: str, owner: str) -> sa.Table:
    """Optuna's key/JSON-value attribute tables (of a study or of a trial) share one shape."""
    return sa.Table(
        name, metadata, sa.Column(owner, sa.Integer), sa.Column("key", sa.String), sa.Column("value_json", sa.Text)
    )


studies = sa.Table("studies", metadata, sa.Column("study_id", sa.Integer), sa.Column("study_name", sa.String))
study_user_attrs = _attributes("study_user_attributes", "study_id")
trial_user_attrs = _attributes("trial_user_attributes", "trial_id")
trial_system_attrs = _attributes("trial_system_attributes", "trial_id")
trials = sa.Table(
    "trials",
    metadata,
    sa.Column("trial_id", sa.Integer),
    sa.Column("number", sa.Integer),
    sa.Column("study_id", sa.Integer),
    sa.Column("state", sa.String),
    sa.Column("datetime_start", sa.DateTime),
    sa.Column("datetime_complete", sa.DateTime),
)
trial_params = sa.Table(
    "trial_params",
    metadata,
    sa.Column("param_id", sa.Integer),
    sa.Column("trial_id", sa.Integer),
    sa.Column("param_name", sa.String),
    sa.Column("param_value", sa.Float),
    sa.Column("distribution_json", sa.Text),
)
