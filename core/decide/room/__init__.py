"""The decision room of a study: shortlist, stakeholders, votes, comments and the final lock, kept
in the study's database (tables in :mod:`core.storage.tables`) so every browser and the CLI agree."""

from core.decide.room._passcode import PBKDF2_ITERATIONS, hash_passcode, verify_passcode
from core.decide.room._render import printable, room_data, show_text
from core.decide.room._store import RoomStore
from core.decide.room._values import (
    NAME_MAX,
    PASSCODE_MAX,
    PASSCODE_MIN,
    STUDY_NAME_MAX,
    TEXT_MAX,
    Comment,
    Event,
    LockInfo,
    Participant,
    RoomInfo,
    clean_name,
)
from core.decide.room._votes import borda_table

__all__ = [
    "NAME_MAX",
    "PASSCODE_MAX",
    "PASSCODE_MIN",
    "PBKDF2_ITERATIONS",
    "STUDY_NAME_MAX",
    "TEXT_MAX",
    "Comment",
    "Event",
    "LockInfo",
    "Participant",
    "RoomInfo",
    "RoomStore",
    "borda_table",
    "clean_name",
    "hash_passcode",
    "printable",
    "room_data",
    "show_text",
    "verify_passcode",
]
