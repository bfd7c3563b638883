"""The exact global trial budget of a study shared by many workers: a slot is claimed with one
conditional UPDATE (atomic on SQLite and PostgreSQL) before a trial is asked, so N workers never
overshoot; a trial that does not count gives its slot back."""

from __future__ import annotations

import sqlalchemy as sa

from core.search._engine import engine
from core.storage import tables

budget_table = tables.budget_table


def claim_slot(url: str | None, study_name: str) -> bool:
    """Atomically take one trial of the global budget; False when the budget is spent."""
    t = budget_table
    with engine(url).begin() as con:
        res = con.execute(
            sa.update(t)
            .where(t.c.study_name == study_name)
            .where(sa.or_(t.c.n_trials.is_(None), t.c.claimed < t.c.n_trials))
            .values(claimed=t.c.claimed + 1)
        )
        return res.rowcount == 1


def release_slot(url: str | None, study_name: str) -> None:
    """Give a slot back: its trial was abandoned or is being retried, so it must not count."""
    t = budget_table
    with engine(url).begin() as con:
        con.execute(
            sa.update(t).where(t.c.study_name == study_name).where(t.c.claimed > 0).values(claimed=t.c.claimed - 1)
        )


def set_budget(url: str | None, study_name: str, n_trials: int | None) -> None:
    """The study's total: a larger one tops the study up, a smaller one stops it where it is."""
    t = budget_table
    with engine(url).begin() as con:
        row = con.execute(sa.select(t.c.claimed).where(t.c.study_name == study_name)).first()
        if row is None:
            con.execute(sa.insert(t).values(study_name=study_name, n_trials=n_trials, claimed=0))
        else:
            con.execute(sa.update(t).where(t.c.study_name == study_name).values(n_trials=n_trials))


def budget(url: str | None, study_name: str) -> tuple[int | None, int]:
    """(the study's trial budget or None, slots claimed so far by all workers)."""
    t = budget_table
    with engine(url).connect() as con:
        row = con.execute(sa.select(t.c.n_trials, t.c.claimed).where(t.c.study_name == study_name)).first()
    return (row[0], row[1]) if row else (None, 0)
