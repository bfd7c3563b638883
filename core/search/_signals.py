"""Where Ctrl-C / SIGTERM may land in a worker: inside the model fit or between trials, never
half-way through claiming a budget slot or writing a trial, so an interrupt never corrupts a study."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

from core.search._errors import StorageUnavailable
from core.storage.retry import is_transient


class Gate:
    """Where Ctrl-C / SIGTERM may land: inside the model fit or between trials, nowhere else.

    A KeyboardInterrupt in the middle of claiming a budget slot or writing a trial would leave the
    budget off by one or a trial half-written; instead the signal is noted and acted on at the next
    safe point. A second signal while one is pending acts at once (the user insists). Python runs
    signal handlers in the main thread only, so this is installed only there.
    """

    def __init__(self) -> None:
        self.pending: str | None = None
        self._open = False
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handler)
            except (ValueError, OSError):
                pass

    def uninstall(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    def _handler(self, signum: int, frame: Any) -> None:  # noqa: ARG002
        name = signal.Signals(signum).name
        if self._open or self.pending is not None:
            self.pending = self.pending or name
            raise KeyboardInterrupt(name)
        self.pending = name

    def checkpoint(self) -> None:
        if self.pending is not None:
            raise KeyboardInterrupt(self.pending)

    @contextlib.contextmanager
    def opened(self) -> Iterator[None]:
        self.checkpoint()
        self._open = True
        try:
            yield
        finally:
            self._open = False

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> None:
        with self.opened():
            if stop is not None:
                stop.wait(seconds)
            else:
                time.sleep(seconds)


class QuietInterrupts(logging.Filter):
    """Optuna logs a failed trial with its traceback; for an interrupt or a lost database that is
    noise (the worker says what happened in one line), so keep the message and drop the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and (isinstance(exc, (KeyboardInterrupt, StorageUnavailable)) or is_transient(exc)):
            record.exc_info, record.exc_text = None, None
        return True
