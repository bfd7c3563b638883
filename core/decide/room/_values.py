"""What the room hands out (frozen value objects) and the checks on what people type into it.

Everything a person types (names, comments, rationales) is stored verbatim and never interpreted:
escaping for HTML is the UI's job, at the moment it renders.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from core._text import fmt_time
from core.decide.options import parse_option
from core.errors import UserInputError
from core.storage.tables import STUDY_NAME_MAX

TEXT_MAX = 2000
# A passcode of 8+ characters, not only digits and not one short pattern repeated: with the
# back-off on wrong attempts (see _guard) that is centuries of guessing, where a 4-digit PIN fell in minutes.
PASSCODE_MIN = 8
PASSCODE_DISTINCT = 5
PASSCODE_MAX = 200
TRIAL_MAX = 2**63 - 1  # Optuna numbers trials from 0; anything past a 64-bit integer is a typo


def key_of(trial_number: int, point: int | None) -> str:
    """The option key of a stored (trial, point): ``"12"`` (its own rule, NULL point) or ``"12@3"``."""
    return str(int(trial_number)) if point is None else f"{int(trial_number)}@{int(point)}"


@dataclass(frozen=True)
class LockInfo:
    """The final decision: which option (trial and point; None = its own rule), who locked it,
    when (UTC ISO) and why."""

    trial_number: int
    by: str
    at: str
    rationale: str
    point: int | None = None

    @property
    def option(self) -> str:
        return key_of(self.trial_number, self.point)


@dataclass(frozen=True)
class RoomInfo:
    id: int
    study_name: str
    facilitator: str
    has_passcode: bool
    current_round: int
    created_at: str
    lock: LockInfo | None

    @property
    def locked(self) -> bool:
        return self.lock is not None


@dataclass(frozen=True)
class Member:
    """Who a checked token belongs to, in which room, and whether they facilitate it now."""

    room_id: int
    name: str
    is_facilitator: bool


@dataclass(frozen=True)
class Credential:
    """A token just issued (shown once: only its hash is stored) and whom it names."""

    room_id: int
    name: str
    token: str
    expires_at: str
    is_facilitator: bool


@dataclass(frozen=True)
class Participant:
    room_id: int
    name: str
    is_facilitator: bool
    joined_at: str


@dataclass(frozen=True)
class Comment:
    id: int
    author: str
    trial_number: int | None
    text: str
    at: str
    point: int | None = None

    @property
    def option(self) -> str | None:
        return None if self.trial_number is None else key_of(self.trial_number, self.point)


@dataclass(frozen=True)
class Event:
    """One line of the decision log: who did what, when (UTC ISO 8601), on which option."""

    id: int
    at: str
    who: str
    kind: str
    trial_number: int | None
    detail: dict[str, Any]
    point: int | None = None

    @property
    def option(self) -> str | None:
        return None if self.trial_number is None else key_of(self.trial_number, self.point)


def now() -> str:
    """UTC, ISO 8601 with offset: sortable as text and unambiguous across time zones."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def clean_study_name(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise UserInputError("study_name: name the study whose room to open.", field="study_name")
    if len(raw) > STUDY_NAME_MAX:
        raise UserInputError(f"study_name: at most {STUDY_NAME_MAX} characters.", field="study_name")
    return raw


def clean_text(raw: object, field: str, what: str) -> str:
    """Check free text (comment, rationale) without changing it: it is stored verbatim."""
    if not isinstance(raw, str) or not raw.strip():
        raise UserInputError(f"{field}: the {what} is empty; write something.", field=field)
    if len(raw) > TEXT_MAX:
        raise UserInputError(
            f"{field}: the {what} is {len(raw):,} characters long; the limit is {TEXT_MAX:,}. "
            "Shorten it or split it into several.",
            field=field,
        )
    if "\x00" in raw:
        raise UserInputError(f"{field}: the {what} contains a NUL character; remove it.", field=field)
    return raw


def clean_trial(raw: object, field: str = "trial_number") -> int:
    """A trial number: a whole number ≥ 0 (Python or NumPy integer; not a bool or a float)."""
    try:
        if isinstance(raw, bool):
            raise TypeError
        value = operator.index(raw)  # type: ignore[arg-type]
    except TypeError:
        raise UserInputError(f"{field}: expected a trial number (a whole number), got {raw!r}.", field=field) from None
    if not 0 <= value <= TRIAL_MAX:
        raise UserInputError(
            f"{field}: trial numbers run from 0 to {TRIAL_MAX} (a 64-bit integer), got {value}.", field=field
        )
    return value


def clean_option(raw: object, field: str = "trial_number") -> tuple[int, int | None]:
    """(trial, point or None) of what a person named: a trial number (``12``) or an option key
    (``"12"``, ``"#12"``, ``"12@3"``); whether the point exists is checked against the study."""
    if isinstance(raw, str):
        try:
            trial, point = parse_option(raw)
        except UserInputError as exc:
            raise UserInputError(f"{field}: {exc}", field=field) from None
        return clean_trial(trial, field), None if point is None else clean_trial(point, field)
    return clean_trial(raw, field), None


def clean_passcode(raw: object) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise UserInputError("passcode: type the passcode as text.", field="passcode")
    if not PASSCODE_MIN <= len(raw) <= PASSCODE_MAX:
        raise UserInputError(
            f"passcode: use {PASSCODE_MIN}–{PASSCODE_MAX} characters (got {len(raw)}).",
            field="passcode",
        )
    if raw.isdigit() or len(set(raw)) < PASSCODE_DISTINCT:
        raise UserInputError(
            f"passcode: too easy to guess; use at least {PASSCODE_DISTINCT} different characters, not only digits.",
            field="passcode",
        )
    return raw


def locked_error(room: Any) -> UserInputError:
    return UserInputError(
        f"Cannot do that: the decision is locked — trial {key_of(room.locked_trial, room.locked_point)} was chosen by "
        f"{room.locked_by} at {fmt_time(room.locked_at)}. Proposals, votes and comments are closed; "
        "open a room for a new study to revisit it.",
        field="room",
    )
