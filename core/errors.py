"""One exception type for mistakes a user can fix.

Why a single type: the CLI turns it into a one-line message and exit code 2, the app shows it next to
the widget that caused it, and everything else (a real bug) still surfaces as a traceback in logs.
"""

from __future__ import annotations


class UserInputError(ValueError):
    """A problem with what the user gave us; the message says what is wrong and how to fix it.

    ``field`` names the input that caused it (a column role, a spec field), so a UI can show the
    message beside the right widget.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @property
    def message(self) -> str:
        return str(self)
