"""The ``tradeoff`` entry point: the parser made of the command groups, error handling, exit codes.

A user mistake ends with one line on stderr and exit code 2, never a traceback; Ctrl-C or SIGTERM
stops a search cleanly (finished trials are kept, the running one is marked failed and its budget
slot given back) with exit code 130.
"""

from __future__ import annotations

import argparse
import signal
import sys
import warnings
from collections.abc import Sequence

from core.cli import app, compare, data, export, front, limits, room, search
from core.cli._options import EXIT_INTERRUPTED, EXIT_USER, Parser
from core.errors import UserInputError

DESCRIPTION = "The ``tradeoff`` command: everything the app does, without a browser."

# One module per command group, each adding its sub-commands with ``register_cli(subparsers)``, in
# the order ``tradeoff -h`` lists them.
_GROUPS = (data, search, front, limits, compare, app, export, room)


def parser() -> argparse.ArgumentParser:
    """The whole ``tradeoff`` parser; each sub-command sets ``func`` to the function that runs it."""
    p = Parser(prog="tradeoff", description=DESCRIPTION)
    sub = p.add_subparsers(dest="command", required=True)
    for group in _GROUPS:
        group.register_cli(sub)
    return p


def _sigterm_to_interrupt() -> None:
    """SIGTERM (a container stop, ``kill``) ends a search like Ctrl-C does."""

    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread (tests)
        pass


def _quiet_libraries() -> None:
    """The bar and the summary say what happened; Optuna's INFO lines would repeat it, per trial."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        import optuna
        from optuna.exceptions import ExperimentalWarning
    except ImportError:
        return
    warnings.filterwarnings("ignore", category=ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``tradeoff`` command; returns its exit code (0, 2 for a user mistake, 130 interrupted)."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # -h, or a usage mistake already reported in one line
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USER
    _sigterm_to_interrupt()
    _quiet_libraries()
    try:
        return int(args.func(args) or 0)
    except UserInputError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USER
    except OSError as exc:  # a file the user named cannot be read or written
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        print(f"error: {exc.strerror or exc}{where}.", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print(
            "\ninterrupted: finished trials are kept; a trial that was running was abandoned "
            "(marked failed, not counted, its budget slot given back).",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED


__all__ = ["DESCRIPTION", "EXIT_INTERRUPTED", "EXIT_USER", "main", "parser"]
