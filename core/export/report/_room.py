"""What the decision room did, for the report: the lock, votes, comments, shortlist and regret.

A study whose room was never opened (or whose room data cannot be read, e.g. written by another
version) still gets a report that says so instead of failing; the room is opened read-only
(never creating tables) by :mod:`core.decide.room_lock`.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    locked_option: str | None = None  # "12" (the trial's own rule) or "12@3"
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
    #: every option the report names, in plain words (the room view's labels: "#12 Logistic
    #: regression at threshold 0.41"); an option not in it prints as its key
    labels: dict[str, str] = field(default_factory=dict)
    off_front: list[str] = field(default_factory=list)  # proposals no longer on the front

    def label(self, key: Any) -> str:
        """An option in words, with its key when it is not a trial's own rule (``… (option 12@3)``),
        so a reader can name it to ``tradeoff export --trial``."""
        k = str(key)
        words = self.labels.get(k) or f"#{k}"
        return f"{words} (option {k})" if "@" in k else words


def _read_room(out: RoomSummary, store: RoomStore, rid: int, room: Any) -> list[Any]:
    """Fill ``out`` from the room's tables; the saved stakeholder profiles are returned."""
    people: list[Any] = []
    try:
        out.available = True
        if room.lock is not None:
            out.locked_trial = int(room.lock.trial_number)
            out.locked_option = str(room.lock.option)
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


def room_summary(
    url: str, study_name: str, spec: Spec, frame: pd.DataFrame, curves: Mapping[int, Any] | None = None
) -> RoomSummary:
    """The room's lock, votes and comments, and the shortlist + regret table of :mod:`core.decide.view`.

    With the study's ``curves`` (``core.search.reader.read_curves``) the view is over options, as on
    the Decide page, so a shortlisted ``"12@3"`` is judged as that rule (not reported off the front).

    Stakeholders are the room's saved profiles, or the spec's objective owners when the room saved
    none (as the Decide page does), so a study decided without a room still gets a regret table.
    """
    out = RoomSummary()
    info = open_existing_room(url, study_name)
    people = [] if isinstance(info, str) else _read_room(out, *info)
    if isinstance(info, str):
        out.note = info
    try:
        view = decide_view.build(
            spec, frame, study_name=study_name, stakeholders=people, proposed=out.shortlist, curves=curves
        )
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
    out.off_front = list(view.off_front)
    out.regret = view.regret
    keys = [*out.shortlist, *out.off_front, *([out.locked_option] if out.locked_option else [])]
    if out.tally is not None:
        keys += [str(k) for k in out.tally.index]
    if out.votes is not None and "option" in out.votes:
        keys += [str(k) for k in out.votes["option"]]
    out.labels = {k: view.label(k) for k in dict.fromkeys(keys)}
    if not people:
        out.regret_note = (
            "Stakeholders: the spec's objective owners with equal weights (no profiles were saved in a room)."
        )
    return out
