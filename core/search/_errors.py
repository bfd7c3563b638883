"""Which database errors mean "not answering, try again" (``core.storage.retry``'s rule) and the
worker's patience with them: every storage call of a worker rides out a database restart for up to
``TRADEOFF_DB_RETRY_S`` and then stops with a one-line message, not a traceback."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from core import storage as st
from core.errors import UserInputError
from core.search._settings import db_retry_s
from core.storage.retry import first_line, is_transient, retrying

_log = logging.getLogger("core.search")
T = TypeVar("T")


class StorageUnavailable(UserInputError):
    """The database stopped answering and did not come back in time (a one-line CLI message)."""


def db_retry(fn: Callable[[], T], url: str, what: str) -> T:
    """Run a storage call, retrying while the database does not answer (restart, network blip)."""
    patience = db_retry_s()
    warned = False

    def warn_once(exc: BaseException, attempt: int, delay: float) -> None:
        nonlocal warned
        if not warned:
            _log.warning(
                "database %s not answering while %s (%s); retrying for up to %.0f s",
                st.mask(url),
                what,
                first_line(exc),
                patience,
            )
            warned = True

    try:
        return retrying(
            fn, what=what, attempts=None, within_s=patience, first_delay_s=0.5, max_delay_s=5.0, on_retry=warn_once
        )
    except Exception as exc:
        if not is_transient(exc):
            raise
        raise StorageUnavailable(
            f"Lost the connection to the database {st.mask(url)} while {what}, and it did not "
            f"come back within {patience:.0f} s ({first_line(exc)}). Finished trials are "
            "safe in the database; a trial that was running is retried by the next worker. "
            "Start the worker again when the database is back.",
            field="storage",
        ) from None


def open_error(url: str, exc: Exception) -> UserInputError:
    """A driver/URL/connection problem when opening storage, as a message the user can act on."""
    if isinstance(exc, UserInputError):
        return exc
    return UserInputError(f"Cannot open storage {st.mask(url)}: {first_line(exc)}", field="storage")
