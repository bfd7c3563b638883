"""Credentials of the room: a random bearer token per person, stored only as its SHA-256.

A token is ``rt_<id>_<secret>``: the id finds the row, the 256-bit secret proves it. Why a plain
SHA-256 and not the slow hash passcodes get: the secret is random, not chosen by a person, so
nothing is gained by slowing down a guess of 2**256 possibilities, and every write checks one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from core.errors import UserInputError

PREFIX = "rt"
TOKEN_TTL_S = 30 * 24 * 3600  # a room's work takes days, not months; re-join after that


def new_secret() -> tuple[str, str]:
    """(secret, its hash) for a new token; only the hash is stored."""
    secret = secrets.token_urlsafe(32)
    return secret, digest(secret)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def compose(token_id: int, secret: str) -> str:
    return f"{PREFIX}_{token_id}_{secret}"


def parse(token: object) -> tuple[int, str]:
    """(row id, secret) of a token, or a refusal that does not say which part was wrong."""
    parts = token.strip().split("_", 2) if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1].isdigit() or not parts[2]:
        raise forged()
    return int(parts[1]), parts[2]


def matches(secret: str, stored: str) -> bool:
    return hmac.compare_digest(digest(secret), stored)


def forged() -> UserInputError:
    return UserInputError(
        "token: this room token is not valid (mistyped, forged, or for another room); join the room to get yours.",
        field="token",
    )


def missing() -> UserInputError:
    return UserInputError(
        "token: this needs your room token (shown once when you opened or joined the room); "
        "pass --token or set $TRADEOFF_ROOM_TOKEN.",
        field="token",
    )
