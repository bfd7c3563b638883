"""A room passcode is stored only as a salted, slow hash, so a copy of the database does not give
away the passcode people may reuse elsewhere."""

from __future__ import annotations

import hashlib
import hmac
import os

PBKDF2_ITERATIONS = 240_000


def hash_passcode(passcode: str, *, iterations: int = PBKDF2_ITERATIONS) -> str:
    """Salted PBKDF2-SHA256, self-describing (``pbkdf2_sha256$iterations$salt$hash``).

    Storing the iteration count lets a later version raise it without breaking existing rooms.
    """
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", passcode.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_passcode(passcode: str, stored: str) -> bool:
    """Constant-time comparison against :func:`hash_passcode` output."""
    try:
        scheme, iterations, salt_hex, digest_hex = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        digest = hashlib.pbkdf2_hmac("sha256", passcode.encode("utf-8"), bytes.fromhex(salt_hex), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, bytes.fromhex(digest_hex))
