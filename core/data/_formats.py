"""What kind of file an upload or a path really is, judged by its first bytes rather than its name.

Why by content: a table arrives as a pickle renamed to ``.csv``, a Parquet file called ``.csv``, a
gzip or zip archive, an Excel workbook or a JSON export; each gets a message that says what to do
(or, for a table under the wrong name, a note), instead of a parser's traceback or "binary".
"""

from __future__ import annotations

import zipfile
from typing import BinaryIO

from core.errors import UserInputError

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".npy", ".npz", ".sav", ".dill")
PARQUET_SUFFIXES = (".parquet", ".pq")
_COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"7z\xbc\xaf\x27\x1c": "7-Zip",
}
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old Excel (.xls) and other Office files
_SAVE_AS_CSV = "save the sheet as CSV (File › Save As › CSV UTF-8) and load that"


def _refuse(message: str) -> UserInputError:
    return UserInputError(message, field="data.path")


def file_kind(head: bytes, f: BinaryIO, label: str, suffix: str, notes: list[str]) -> str:
    """``"parquet"`` or ``"csv"`` for the file whose first bytes are ``head``; anything that is not
    a table is refused with what to do, and a table under the other format's name is noted."""
    if suffix in PICKLE_SUFFIXES or _looks_pickled(head):
        raise _refuse(
            f"{label}: pickled files are never opened (they can run code). Export the table as CSV or Parquet."
        )
    if head[:4] == b"PAR1":
        if suffix not in PARQUET_SUFFIXES:
            notes.append(f"{label} is Parquet, not CSV text; read it as Parquet.")
        return "parquet"
    _refuse_containers(head, f, label)
    if suffix in PARQUET_SUFFIXES:
        if b"\x00" in head[:4096] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return "parquet"  # binary under a Parquet name: let the Parquet reader say what is wrong
        notes.append(f"{label} is CSV text, not Parquet; read it as CSV.")
    return "csv"


def _looks_pickled(raw: bytes) -> bool:
    """Pickle protocol 2+ starts with 0x80 and the protocol number; NumPy files with their magic."""
    return (len(raw) >= 2 and raw[0] == 0x80 and 2 <= raw[1] <= 5) or raw[:6] == b"\x93NUMPY"


def _refuse_containers(head: bytes, f: BinaryIO, label: str) -> None:
    """Refuse compressed files, archives, workbooks and JSON, each with how to get the table out."""
    for magic, kind in _COMPRESSED.items():
        if head.startswith(magic):
            raise _refuse(f"{label} is compressed ({kind}): decompress it and load the CSV or Parquet file inside.")
    if head.startswith(_OLE2):
        raise _refuse(f"{label} is an Excel workbook (or another Office file), not CSV: {_SAVE_AS_CSV}.")
    if head.startswith(b"PK\x03\x04"):
        if _zip_names_start(f, ("xl/",)):
            raise _refuse(f"{label} is an Excel workbook, not CSV: {_SAVE_AS_CSV}.")
        if _zip_names_start(f, ("content.xml",)):
            raise _refuse(f"{label} is an OpenDocument spreadsheet, not CSV: {_SAVE_AS_CSV}.")
        raise _refuse(f"{label} is a zip archive: extract the CSV or Parquet file inside and load that.")
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:2]
    if start[:1] == b"{" or start in (b"[{", b"[[", b'["'):
        raise _refuse(
            f"{label} is JSON, not a table. Convert it to CSV (one row per case, a header row) or "
            "Parquet, e.g. pandas.read_json(...).to_csv(...), and load that."
        )


def _zip_names_start(f: BinaryIO, prefixes: tuple[str, ...]) -> bool:
    try:
        with zipfile.ZipFile(f) as z:
            return any(n.startswith(prefixes) for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    finally:
        f.seek(0)
