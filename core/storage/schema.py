"""``python -m core.storage.schema status|upgrade [URL]``: check our tables, or bring them to the
newest revision after a backup (what the "older schema" message asks for). The rules: :mod:`core.storage._schema`."""

from __future__ import annotations

import argparse
import sys

from core.errors import UserInputError
from core.storage._schema import (
    BASELINE,
    VERSION_TABLE,
    Found,
    ensure_schema,
    head,
    mismatch_error,
    state_at,
    upgrade,
)
from core.storage.url import mask, resolve

__all__ = [
    "BASELINE",
    "VERSION_TABLE",
    "Found",
    "ensure_schema",
    "head",
    "main",
    "mismatch_error",
    "state_at",
    "upgrade",
]


def main(argv: list[str] | None = None) -> int:
    """``python -m core.storage.schema status|upgrade [URL]``."""
    p = argparse.ArgumentParser(
        prog="python -m core.storage.schema", description="Check or upgrade the Tradeoff Room tables in a database."
    )
    p.add_argument("action", choices=["status", "upgrade"])
    p.add_argument("url", nargs="?", help="SQLAlchemy URL (default: $TRADEOFF_STORAGE, secrets, SQLite)")
    args = p.parse_args(argv)
    try:
        url = resolve(args.url)
        if args.action == "status":
            state = state_at(url)
            print(f"{mask(url)}: Tradeoff Room tables at schema {state.label}; this installation writes {head()}")
            return 0
        before = upgrade(url)
        print(f"{mask(url)}: schema {before} -> {head()}")
        return 0
    except UserInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
