"""A person's name in a room: one spelling per person, so the vote table and the log cannot show
two people who look the same.

Names are compared after Unicode NFKC and case folding, and through a "skeleton" that maps the
Cyrillic and Greek letters that look like Latin ones to those Latin letters. A name that mixes
scripts (a Latin name with one Cyrillic twin inside) is refused outright: nobody types that by
accident, and it is the usual way to impersonate someone in a list of names.
"""

from __future__ import annotations

import unicodedata

from core.errors import UserInputError
from core.storage.tables import NAME_MAX, name_key

__all__ = ["clean_name", "name_key"]


def _script(ch: str) -> str | None:
    """The script of a letter (LATIN, CYRILLIC, GREEK, …) from its Unicode name; None for the rest."""
    if not ch.isalpha():
        return None
    return unicodedata.name(ch, "UNKNOWN").split(" ")[0]


def clean_name(raw: object, field: str = "name") -> str:
    """A person's name as stored: NFKC-normalised, trimmed, 1–60 printable characters of one script.

    Why refuse control characters: a name with a newline or a zero-width joiner looks like someone
    else's name in the vote table. Why one script: see the module docstring.
    """
    if not isinstance(raw, str):
        raise UserInputError(f"{field}: type a name (1–{NAME_MAX} characters).", field=field)
    name = unicodedata.normalize("NFKC", raw).strip()
    if not name:
        raise UserInputError(f"{field}: the name is empty; type 1–{NAME_MAX} characters.", field=field)
    if len(name) > NAME_MAX:
        raise UserInputError(f"{field}: the name is {len(name)} characters long; use at most {NAME_MAX}.", field=field)
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise UserInputError(
            f"{field}: the name contains a control or invisible character; use letters, digits, "
            "spaces and punctuation.",
            field=field,
        )
    scripts = sorted({s for s in map(_script, name) if s is not None})
    if len(scripts) > 1:
        raise UserInputError(
            f"{field}: the name mixes {' and '.join(s.title() for s in scripts)} letters, which makes it look "
            "like another name; type it in one alphabet.",
            field=field,
        )
    return name
