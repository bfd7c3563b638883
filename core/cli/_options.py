"""What every command group shares: the one-line usage errors, list arguments and ``--storage``.

One helper per option keeps the option's name and help identical on every command that takes it.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

EXIT_USER = 2
EXIT_INTERRUPTED = 130

STORAGE_HELP = (
    "SQLAlchemy URL (default: $TRADEOFF_STORAGE, .streamlit/secrets.toml, or SQLite under $TRADEOFF_HOME=./var)"
)


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line (exit code 2), like every other mistake."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see '{self.prog} -h')", file=sys.stderr)
        raise SystemExit(EXIT_USER)


def csv_list(value: str) -> list[str]:
    """``--objectives a,b`` → ``["a", "b"]`` (blanks dropped)."""
    return [v.strip() for v in value.split(",") if v.strip()]


def storage_option(sp: argparse.ArgumentParser) -> None:
    """The shared ``--storage URL`` option; ``core.storage.resolve`` fills in the default."""
    sp.add_argument("--storage", help=STORAGE_HELP)


__all__ = ["EXIT_INTERRUPTED", "EXIT_USER", "STORAGE_HELP", "Parser", "csv_list", "storage_option"]
