"""The decision room of a study: who is in it (by token), shortlist, stakeholders, ballots, comments
and the lock, kept in the study's database (:mod:`core.storage.tables`) so every browser and the CLI agree."""

from core.decide.room._names import clean_name, name_key
from core.decide.room._passcode import PBKDF2_ITERATIONS, hash_passcode, verify_passcode
from core.decide.room._render import printable, room_data, show_text
from core.decide.room._store import RoomStore
from core.decide.room._tokens import TOKEN_TTL_S
from core.decide.room._values import (
    PASSCODE_MAX,
    PASSCODE_MIN,
    STUDY_NAME_MAX,
    TEXT_MAX,
    Comment,
    Credential,
    Event,
    LockInfo,
    Member,
    Participant,
    RoomInfo,
)
from core.decide.room._votes import borda_table
from core.storage.tables import NAME_MAX

__all__ = [
    "NAME_MAX",
    "PASSCODE_MAX",
    "PASSCODE_MIN",
    "PBKDF2_ITERATIONS",
    "STUDY_NAME_MAX",
    "TEXT_MAX",
    "TOKEN_TTL_S",
    "Comment",
    "Credential",
    "Event",
    "LockInfo",
    "Member",
    "Participant",
    "RoomInfo",
    "RoomStore",
    "borda_table",
    "clean_name",
    "hash_passcode",
    "name_key",
    "printable",
    "room_data",
    "show_text",
    "verify_passcode",
]
