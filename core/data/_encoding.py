"""The text encoding and line ending of a CSV file, found without decoding the whole file at once.

Why streamed: an upload can be hundreds of megabytes; checking that it is UTF-8 one chunk at a time
costs a megabyte, where decoding it whole would hold the text (and pandas a second copy) in memory.
Why so many cases: Excel writes UTF-16 ("Unicode text"), old systems Latin-1 and classic Mac OS
bare CR line endings; each is read with a note rather than refused or garbled.
"""

from __future__ import annotations

import codecs
from typing import BinaryIO

from core.errors import UserInputError

_CHUNK = 1 << 20
_BOMS16 = {b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}
_CONTROLS = frozenset(chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32), 127))
MAX_CONTROL_SHARE = 0.01  # text files have (almost) no control characters; binary files ~11 %


def text_encoding(f: BinaryIO, head: bytes, label: str, notes: list[str]) -> str:
    """The encoding to read the file with (UTF-8 with or without BOM, UTF-16, else Latin-1, noted).

    Refuses bytes that are not text in any of them, and a file with nothing but whitespace.
    """
    encoding = _utf16(head)
    if encoding:
        notes.append(f"{label} is UTF-16 text; read it as UTF-16 (save it as UTF-8 to skip this step).")
    elif _is_utf8(f):
        encoding = "utf-8-sig"
    else:
        encoding = "latin-1"
    text = head.decode(encoding, errors="ignore")
    if sum(ch in _CONTROLS for ch in text) > MAX_CONTROL_SHARE * max(len(text), 1):
        raise UserInputError(
            f"{label} looks binary, not CSV text. Upload a CSV (UTF-8) or Parquet file.", field="data.path"
        )
    if encoding == "latin-1":
        notes.append(f"{label} is not UTF-8; read it as Latin-1.")
    if not text.strip():
        raise UserInputError(f"{label} is empty. Choose a file with a header row and data.", field="data.path")
    return encoding


def sample_text(head: bytes, encoding: str) -> str:
    """The decoded start of the file with universal line endings (for the separator and header)."""
    text = head.decode(encoding, errors="ignore")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def line_terminator(head: bytes, encoding: str) -> str | None:
    """``"\\r"`` for a file with bare CR line endings (classic Mac OS), which pandas must be told."""
    text = head.decode(encoding, errors="ignore")
    return "\r" if "\r" in text and "\n" not in text else None


def _utf16(head: bytes) -> str | None:
    """``utf-16`` (with a BOM) or ``utf-16-le``/``-be`` when every other byte is NUL."""
    for bom, encoding in _BOMS16.items():
        if head.startswith(bom):
            return encoding
    sample = head[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nul > 0.9 and even_nul < 0.1:
        return "utf-16-le"
    if even_nul > 0.9 and odd_nul < 0.1:
        return "utf-16-be"
    return None


def _is_utf8(f: BinaryIO) -> bool:
    """Whether the whole file decodes as UTF-8, read a megabyte at a time (then rewound)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := f.read(_CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        f.seek(0)
    return True
