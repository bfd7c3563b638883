"""What every command group shares: the one-line usage errors, list arguments and ``--storage``.

One helper per option keeps the option's name and help identical on every command that takes it.
"""

from __future__ import annotations

import argparse
import math
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


MAX_TRIALS = 1_000_000  # a trial takes seconds at least: more is a typo, and overflows the database


def csv_list(value: str) -> list[str]:
    """``--objectives a,b`` → ``["a", "b"]`` (blanks dropped); naming nothing is refused, because
    it would silently mean "the defaults"."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"names nothing ({value!r}); give comma-separated names, e.g. a,b")
    return names


def trial_count(value: str) -> int:
    """``--trials N``: a whole number from 1 to :data:`MAX_TRIALS`."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {value!r}") from None
    if n < 1 or n > MAX_TRIALS:
        raise argparse.ArgumentTypeError(f"must be at least 1 and at most {MAX_TRIALS:,}, got {value}")
    return n


def seconds(value: str) -> float:
    """``--timeout S``: a finite number of seconds above 0."""
    try:
        s = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {value!r}") from None
    if not math.isfinite(s) or s <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {value}")
    return s


def tolerance(value: str) -> float:
    """A relative tolerance such as ``--latency-tolerance``: a finite number of at least 0."""
    try:
        t = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {value!r}") from None
    if not math.isfinite(t) or t < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return t


def storage_option(sp: argparse.ArgumentParser) -> None:
    """The shared ``--storage URL`` option; ``core.storage.resolve`` fills in the default."""
    sp.add_argument("--storage", help=STORAGE_HELP)


__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_USER",
    "MAX_TRIALS",
    "STORAGE_HELP",
    "Parser",
    "csv_list",
    "seconds",
    "storage_option",
    "tolerance",
    "trial_count",
]
