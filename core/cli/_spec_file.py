"""Reading a spec file the way a person saved it: the encoding, the nesting and the shape checked
before :class:`core.spec.Spec` sees it, so every mistake is one line that says how to fix it.

Why here: ``search`` and ``import`` both read spec files typed by hand or saved by an editor, and
must accept (a UTF-8 BOM) and refuse (Latin-1, UTF-16, a file nested 100,000 deep) the same way.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

from core.errors import UserInputError
from core.spec import Spec

_SECTIONS = ("data", "budget", "validation")


def spec_text(raw: bytes, name: str) -> str:
    """The spec's text: UTF-8 with or without a BOM; UTF-16 and other encodings are refused."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (len(raw) > 1 and b"\x00" in raw[:4]):
        raise UserInputError(f"{name} is UTF-16 text; save it as UTF-8 (a spec is UTF-8 JSON).", field="spec")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserInputError(
            f"{name} is not UTF-8 (byte {exc.start + 1} is not valid UTF-8, e.g. Latin-1 text); "
            "save it as UTF-8 (a spec is UTF-8 JSON).",
            field="spec",
        ) from None


def spec_document(text: str, name: str) -> Any:
    """The parsed JSON, refused in one line when it is not JSON or nested too deeply to be a spec."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"The spec is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.", field="spec"
        ) from None
    except RecursionError:
        raise UserInputError(
            f"{name} is nested too deeply to be a spec (a spec is a few levels of JSON objects).", field="spec"
        ) from None


def check_shape(doc: Any) -> None:
    """The sections a spec's constructor would trip over with a type error, named in one line."""
    if not isinstance(doc, dict):
        return  # Spec.from_dict names this one
    for key in _SECTIONS:
        if key in doc and not isinstance(doc[key], dict):
            raise UserInputError(f"{key}: expected a JSON object, got {type(doc[key]).__name__}.", field=key)
    if doc.get("objectives") == []:
        raise UserInputError(
            "objectives: the list is empty; name 1 to 5 objectives, or leave the key out for the defaults.",
            field="objectives",
        )


def read_spec_document(path: str | Path) -> Any:
    """The checked JSON document of a spec file (``Spec.from_dict`` still validates its values)."""
    p = Path(path)
    if not p.is_file():
        raise UserInputError(f"Spec file {str(p)!r} does not exist.", field="spec")
    doc = spec_document(spec_text(p.read_bytes(), p.name), p.name)
    check_shape(doc)
    return doc


def load_spec(path: str | Path) -> Spec:
    """:meth:`Spec.load` with the checks above."""
    return Spec.from_dict(read_spec_document(path))


def is_json_file(path: str | Path) -> bool:
    """A file that is not a zip archive: what ``import`` reads as a spec or a bundle's config."""
    p = Path(path)
    if not p.is_file():
        return False
    with p.open("rb") as fh:
        return fh.read(4) != b"PK\x03\x04"


__all__ = ["check_shape", "is_json_file", "load_spec", "read_spec_document", "spec_document", "spec_text"]
