"""What the decision room did, for the report: the lock, votes, comments, shortlist and regret.

A study whose room was never opened (or whose room data cannot be read, e.g. written by another
version) still gets a report that says so instead of failing; the room is opened read-only
(never creating tables) by :mod:`core.decide.room_lock`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.decide import view as decide_view
from core.decide.room import RoomStore
from core.decide.room_lock import NOT_LOCKED, open_existing_room
from core.spec import Spec


@dataclass
class RoomSummary:
    """What the room did, or why there is nothing to show (``note``)."""

    available: bool = False
    note: str = ""
    locked_trial: int | None = None
    locked_by: str = ""
    locked_at: str = ""
    rationale: str = ""
    stakeholders: list[Any] = field(default_factory=list)
    shortlist: list[str] = field(default_factory=list)  # option keys ("12", "12@3")
    shortlist_source: str = ""
    tally: pd.DataFrame | None = None
    votes: pd.DataFrame | None = None
    comments: list[Any] = field(default_factory=list)
    regret: Any = None
    regret_note: str = ""


def _read_room(out: RoomSummary, store: RoomStore, rid: int, room: Any) -> list[Any]:
    """Fill ``out`` from the room's tables; the saved stakeholder profiles are returned."""
    people: list[Any] = []
    try:
        out.available = True
        if room.lock is not None:
            out.locked_trial = int(room.lock.trial_number)
            out.locked_by, out.locked_at = room.lock.by, room.lock.at
            out.rationale = room.lock.rationale
        people = list(store.stakeholders(rid))
        out.shortlist = list(store.candidates(rid))
        record = store.archive(rid)
        out.tally, out.votes, out.comments = record["tally"], record["votes"], list(record["comments"])
    except Exception as exc:
        out.note = f"Part of the decision room could not be read ({type(exc).__name__}: {exc})."
    finally:
        store.close()
    if out.locked_trial is None and not out.note:
        out.note = NOT_LOCKED
    return people


def room_summary(url: str, study_name: str, spec: Spec, frame: pd.DataFrame) -> RoomSummary:
    """The room's lock, votes and comments, and the shortlist + regret table of :mod:`core.decide.view`.

    Stakeholders are the room's saved profiles, or the spec's objective owners when the room saved
    none (as the Decide page does), so a study decided without a room still gets a regret table.
    """
    out = RoomSummary()
    info = open_existing_room(url, study_name)
    people = [] if isinstance(info, str) else _read_room(out, *info)
    if isinstance(info, str):
        out.note = info
    try:
        view = decide_view.build(spec, frame, study_name=study_name, stakeholders=people, proposed=out.shortlist)
    except Exception as exc:  # e.g. no feasible trial: say so in the report
        out.regret_note = f"No shortlist or regret table: {exc}"
        return out
    out.stakeholders = list(view.stakeholders)
    out.shortlist_source = (
        "proposed in the room, plus the decision methods' picks"
        if out.shortlist
        else "the decision methods' and stakeholders' picks (nothing proposed in a room)"
    )
    out.shortlist = list(view.shortlist)
    out.regret = view.regret
    if not people:
        out.regret_note = (
            "Stakeholders: the spec's objective owners with equal weights (no profiles were saved in a room)."
        )
    return out
