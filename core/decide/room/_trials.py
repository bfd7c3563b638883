"""Which trial numbers the room may talk about: the finished trials of its own study.

Read straight from Optuna's tables inside the room's transaction, so a shortlist, vote or lock
can never name a trial that does not exist, failed, or belongs to another study.
"""

from __future__ import annotations

import sqlalchemy as sa

from core.errors import UserInputError
from core.search.reader import studies_table as _studies
from core.search.reader import trials_table as _trials

_INT32_MAX = 2**31 - 1  # Optuna's column; a larger number cannot be one of its trials


def require_finished(conn: sa.Connection, study_name: str, trial: int, field: str, *, has_trials: bool) -> None:
    """Refuse ``trial`` unless it is a COMPLETE trial of ``study_name``, saying what it is instead."""
    state = None
    if has_trials and trial <= _INT32_MAX:
        state = conn.execute(
            sa.select(_trials.c.state)
            .join(_studies, _studies.c.study_id == _trials.c.study_id)
            .where(sa.and_(_studies.c.study_name == study_name, _trials.c.number == trial))
        ).scalar()
    if state is None:
        raise UserInputError(
            f"{field}: study {study_name!r} has no trial {trial}; pick one of its finished trials (`tradeoff front`).",
            field=field,
        )
    if str(state) != "COMPLETE":
        raise UserInputError(
            f"{field}: trial {trial} of study {study_name!r} is {str(state).lower()}, not finished; "
            "only finished trials can be shortlisted, voted on or chosen.",
            field=field,
        )


def has_trial_tables(conn: sa.Connection) -> bool:
    """Whether Optuna's tables exist in this database (a room with no study has no trials).

    Asked on the transaction's own connection: a second one from the pool, while this one holds
    the room's lock, would let 20 writers at once starve the pool."""
    inspector = sa.inspect(conn)
    return inspector.has_table("trials") and inspector.has_table("studies")
