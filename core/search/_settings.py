"""How often workers beat, how long before a silent one counts as dead, how long to ride out a lost
database: read from the environment so tests and demos can see a retry in seconds."""

from __future__ import annotations

import os

from core.errors import UserInputError

HEARTBEAT_S = 5
GRACE_S = 20
DB_RETRY_S = 60.0
MAX_RETRY = 1
ENV_HEARTBEAT = "TRADEOFF_HEARTBEAT_S"
ENV_GRACE = "TRADEOFF_GRACE_S"
ENV_DB_RETRY = "TRADEOFF_DB_RETRY_S"


def _env_number(name: str, default: float, *, integer: bool = True) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise UserInputError(
            f"${name} must be a {'whole ' if integer else ''}number of seconds, got {raw!r}.", field="storage"
        ) from None
    if value <= 0:
        raise UserInputError(f"${name} must be positive, got {raw!r}.", field="storage")
    return value


def heartbeat_settings() -> tuple[int, int]:
    """(heartbeat interval, grace period) in seconds, from the environment or the defaults.

    Why configurable: the defaults suit real searches (a dead worker's trial is retried ~20 s
    later); tests and demos lower them to see a retry in seconds.
    """
    hb = int(_env_number(ENV_HEARTBEAT, HEARTBEAT_S))
    grace = int(_env_number(ENV_GRACE, GRACE_S))
    if grace <= hb:
        raise UserInputError(
            f"${ENV_GRACE} ({grace}) must be longer than ${ENV_HEARTBEAT} ({hb}), or a "
            "live worker's trial could be taken for a dead one.",
            field="storage",
        )
    return hb, grace


def db_retry_s() -> float:
    """How long a worker keeps retrying while the database does not answer."""
    return float(_env_number(ENV_DB_RETRY, DB_RETRY_S, integer=False))
