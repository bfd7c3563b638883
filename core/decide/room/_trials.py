"""Which options the room may talk about: the finished trials of its own study, and the operating
points stored on their curves.

Read straight from Optuna's tables inside the room's transaction, so a shortlist, vote or lock
can never name a trial that does not exist, failed, or belongs to another study, nor a point its
curve does not have. The tuned point of a curve *is* the trial's own rule, so it is stored as one
(NULL point): "12@4" and "12" name one option when 4 is trial 12's tuned point.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from core.errors import UserInputError
from core.search import ATTR_CURVE
from core.search.reader import studies_table as _studies
from core.search.reader import trial_user_attrs_table as _attrs
from core.search.reader import trials_table as _trials

_INT32_MAX = 2**31 - 1  # Optuna's column; a larger number cannot be one of its trials
_CURVE = ATTR_CURVE  # the trial attribute holding its curve


def require_finished(
    conn: sa.Connection, study_name: str, trial: int, field: str, *, has_trials: bool, point: int | None = None
) -> int | None:
    """Refuse ``trial`` unless it is a COMPLETE trial of ``study_name`` (and ``point`` one of its
    curve's points), saying what it is instead; returns the point as stored (None = its own rule)."""
    row = None
    if has_trials and trial <= _INT32_MAX:
        row = conn.execute(
            sa.select(_trials.c.state, _trials.c.trial_id)
            .join(_studies, _studies.c.study_id == _trials.c.study_id)
            .where(sa.and_(_studies.c.study_name == study_name, _trials.c.number == trial))
        ).first()
    state = None if row is None else row.state
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
    assert row is not None  # a state was read from it
    return None if point is None else _point_on_curve(conn, int(row.trial_id), trial, point, field)


def _point_on_curve(conn: sa.Connection, trial_id: int, trial: int, point: int, field: str) -> int | None:
    """``point`` when trial ``trial``'s curve has it, None when it is the tuned one; else refused."""
    raw = conn.execute(
        sa.select(_attrs.c.value_json).where(sa.and_(_attrs.c.trial_id == trial_id, _attrs.c.key == _CURVE))
    ).scalar()
    curve = json.loads(raw) if raw else None
    thresholds = curve.get("threshold") if isinstance(curve, dict) else None
    if not isinstance(curve, dict) or not thresholds:
        raise UserInputError(
            f"{field}: trial {trial} has one decision rule only (it was searched before operating points "
            f"were kept); name it as {trial}.",
            field=field,
        )
    if point >= len(thresholds):
        raise UserInputError(
            f"{field}: trial {trial} has no operating point {point}; its points are 0 to {len(thresholds) - 1} "
            "(`tradeoff front --operating-points` lists them).",
            field=field,
        )
    return None if point == int(curve.get("tuned", -1)) else point


def has_trial_tables(conn: sa.Connection) -> bool:
    """Whether Optuna's tables exist in this database (a room with no study has no trials).

    Asked on the transaction's own connection: a second one from the pool, while this one holds
    the room's lock, would let 20 writers at once starve the pool."""
    inspector = sa.inspect(conn)
    return inspector.has_table("trials") and inspector.has_table("studies")
