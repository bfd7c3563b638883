"""The room's locked decision, read only: which option (trial and decision rule) the room chose,
and who locked it when.

Export, the report and Compare follow that decision; reading it must never create the room's
tables, and a room written by another version must not stop them, so every failure becomes a reason.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from core import search
from core.decide.room import RoomStore

NO_ROOM = "No decision room was opened for this study."
NOT_LOCKED = "The room has not locked a decision yet."


def open_existing_room(url: str, study_name: str) -> tuple[RoomStore, int, Any] | str:
    """(store, room id, RoomInfo) of the study's room, or a string saying why there is none.

    The caller closes the store.
    """
    try:
        if not sa.inspect(search.engine(url)).has_table("room_rooms"):
            return NO_ROOM
        store = RoomStore(url)
        rid = store.room_id(study_name)
        if rid is None:
            store.close()
            return NO_ROOM
        return store, rid, store.room(rid)
    except Exception as exc:  # a room written by another version must not stop an export
        return f"The decision room could not be read ({type(exc).__name__}: {exc})."


def locked_option(url: str, study_name: str) -> tuple[str | None, str]:
    """(locked option key — ``"12"`` for a trial's own rule, ``"12@3"`` for another of its operating
    points —, who/why) of the study's room, or (None, reason) — without creating tables."""
    info = open_existing_room(url, study_name)
    if isinstance(info, str):
        return None, info
    store, _rid, room = info
    store.close()
    if room.lock is None:
        return None, NOT_LOCKED
    return room.lock.option, f"locked by {room.lock.by} at {room.lock.at}"


def room_lock(url: str, study_name: str) -> tuple[int | None, str]:
    """(locked trial number, who/why) of the study's room, or (None, reason): the trial alone, for
    readers that follow the model the room chose (:func:`locked_option` has its rule too)."""
    key, why = locked_option(url, study_name)
    return (None, why) if key is None else (int(key.split("@")[0]), why)


__all__ = ["NOT_LOCKED", "NO_ROOM", "locked_option", "open_existing_room", "room_lock"]
