"""A real Optuna study and a room on it, for the room tests: trial numbers are checked against the
study now, so every test needs finished trials to shortlist, vote on and lock."""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from sqlalchemy import func, select

from core.decide.room import RoomStore

N_TRIALS = 14  # trials 0…13 finished; trial 14 failed


@dataclass(frozen=True)
class Room:
    """A room and the tokens of its three people: Ana facilitates, Bob and Cy joined."""

    id: int
    ana: str
    bob: str
    cy: str


def make_study(url: str, name: str = "study-a", n: int = N_TRIALS) -> None:
    """A study of ``n`` finished trials (numbers 0…n-1) and one failed one (number n), in ``url``."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url)
    try:
        study = optuna.create_study(storage=storage, study_name=name, load_if_exists=True)
        study.add_trials([optuna.trial.create_trial(value=float(i)) for i in range(n)])
        study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    finally:
        storage.engine.dispose()  # no pooled connection survives into a forked child


def make_room(store: RoomStore, *, study: str = "study-a", passcode: str | None = None, candidates=(3, 5, 8)) -> Room:
    """Ana opens the room of a fresh study, Bob and Cy join, Ana proposes ``candidates``."""
    make_study(store.url, study)
    ana = store.open_room(study, "Ana", passcode)
    bob = store.join(ana.room_id, "Bob", passcode)
    cy = store.join(ana.room_id, "Cy", passcode)
    for t in candidates:
        store.propose(ana.room_id, ana.token, t)
    return Room(ana.room_id, ana.token, bob.token, cy.token)


def count(store: RoomStore, table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
