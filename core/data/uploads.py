"""Keep an uploaded table where worker processes can read it: ``home()/uploads/<fingerprint>.parquet``.

Why a file at all: the search runs in separate worker processes (and maybe other machines sharing a
PostgreSQL database through a shared folder), which only get the spec; the spec names the data by
path. An upload lives in the browser session's memory, so it is written once to the data directory.

Why Parquet named by fingerprint: Parquet keeps column types exactly (a CSV re-read could infer
them differently), and naming the file by the fingerprint of the table *as stored* makes saving
idempotent (the same upload twice is one file) and lets ``DataRef.fingerprint`` check it later.

Why through temporary files: the upload is streamed to disk and read back from there, and the
table is dropped before the stored file is read again, so storing holds one table at a time, not
the bytes, their text, two parses and a Parquet buffer at once (see :func:`memory_needed`).

Nothing here unpickles: the bytes go through :func:`core.data.read_table`, which reads CSV text or
Parquet only and refuses pickle-like files.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from core import storage
from core._text import fmt_bytes
from core.data._fingerprint import fingerprint
from core.data._read import read_table
from core.errors import UserInputError

FOLDER = "uploads"
_NAME = re.compile(r"^[0-9a-f]{32}\.parquet$")
_CHUNK = 1 << 20
# Peak memory of storing an upload, measured by bench/upload_memory.py: about MEMORY_FACTOR times
# the file's size over what the process used before, plus MEMORY_BASE for the readers themselves.
MEMORY_FACTOR = 6.0
MEMORY_BASE = 64 * 2**20


@dataclass(frozen=True)
class Upload:
    """A stored upload: where it is, what it was called, and what reading it changed."""

    path: Path
    fingerprint: str
    original_name: str
    n_rows: int
    n_columns: int
    notes: list[str] = field(default_factory=list)


def folder(root: Path | None = None) -> Path:
    """The uploads folder under the data directory (created on demand)."""
    d = (root or storage.home()) / FOLDER
    d.mkdir(parents=True, exist_ok=True)
    return d


def memory_needed(n_bytes: int) -> int:
    """The memory (bytes) storing an upload of ``n_bytes`` needs at its peak, beyond the upload itself.

    A text-heavy CSV needs more than a numeric one; the factor is the one measured on a mixed
    table (numbers, categories, missing cells), rounded up.
    """
    return int(MEMORY_FACTOR * max(n_bytes, 0)) + MEMORY_BASE


def memory_note(n_bytes: int) -> str:
    """What the Data page says about storing a file of ``n_bytes``."""
    return f"Storing a {fmt_bytes(n_bytes)} file needs about {fmt_bytes(memory_needed(n_bytes))} of memory."


def save(data: bytes | bytearray | BinaryIO, filename: str, *, root: Path | None = None) -> Upload:
    """Validate an uploaded CSV/Parquet file (its bytes, or a binary file object) and store it as
    Parquet named by its fingerprint.

    Raises :class:`UserInputError` (field ``data.path``) for anything that is not a readable table;
    nothing is left in the uploads folder then.
    """
    if not isinstance(data, (bytes, bytearray)) and not hasattr(data, "read"):
        raise UserInputError("The upload is not a file's bytes.", field="data.path")
    name = Path(filename or "upload.csv").name
    d = folder(root)
    token = f"{os.getpid()}.{uuid.uuid4().hex}"
    received, written = d / f".{token}.upload", d / f".{token}.parquet.tmp"
    try:
        _stream_to(data, received)
        df, notes = read_table(received, name=name)
        received.unlink()
        notes += _write_parquet(df, written)
        del df  # only one table in memory at a time: the stored one is read back next
        stored, _ = read_table(written, name=name + " (stored)")
        fp, n_rows, n_columns = fingerprint(stored), len(stored), stored.shape[1]
        del stored
        target = d / f"{fp.split(':', 1)[-1]}.parquet"
        if not target.exists():
            written.replace(target)  # atomic: a worker never reads half a file
    finally:
        received.unlink(missing_ok=True)
        written.unlink(missing_ok=True)
    return Upload(path=target, fingerprint=fp, original_name=name, n_rows=n_rows, n_columns=n_columns, notes=notes)


def _stream_to(data: bytes | bytearray | BinaryIO, path: Path) -> None:
    """Write the upload to ``path`` a megabyte at a time (bytes are written without a copy)."""
    with path.open("wb") as out:
        if isinstance(data, (bytes, bytearray)):
            view = memoryview(data)
            for start in range(0, len(view), _CHUNK):
                out.write(view[start : start + _CHUNK])
            return
        while chunk := data.read(_CHUNK):
            out.write(chunk)


def _write_parquet(df: pd.DataFrame, path: Path) -> list[str]:
    """Write ``df`` as Parquet; a column pyarrow cannot type (mixed values) is stored as text."""
    try:
        df.to_parquet(path, index=False)
        return []
    except Exception:  # pyarrow raises ArrowInvalid/ArrowTypeError for mixed object columns
        pass
    notes = []
    for col in df.columns:
        if df[col].dtype == object and len({type(v) for v in df[col].dropna()}) > 1:
            s = df[col]
            df[col] = s.astype(object).where(s.notna(), None).map(lambda v: None if v is None else str(v))
            notes.append(f"Column {col!r} mixes numbers and text; stored as text.")
    df.to_parquet(path, index=False)
    return notes


def path_for(fp: str, *, root: Path | None = None) -> Path:
    """Where the upload with fingerprint ``fp`` is (or would be) stored."""
    digest = fp.split(":", 1)[-1]
    if not re.fullmatch(r"[0-9a-f]{32}", digest):
        raise UserInputError(f"{fp!r} is not a table fingerprint (sha256:<32 hex digits>).", field="data.path")
    return folder(root) / f"{digest}.parquet"


def list_uploads(root: Path | None = None) -> list[Path]:
    """Stored uploads, newest first (what the Data page offers to reuse)."""
    files = [p for p in folder(root).iterdir() if _NAME.match(p.name)]
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)
