"""Keep an uploaded table where worker processes can read it: ``home()/uploads/<fingerprint>.parquet``.

Why a file at all: the search runs in separate worker processes (and maybe other machines sharing a
PostgreSQL database through a shared folder), which only get the spec; the spec names the data by
path. An upload lives in the browser session's memory, so it is written once to the data directory.

Why Parquet named by fingerprint: Parquet keeps column types exactly (a CSV re-read could infer
them differently), and naming the file by the fingerprint of the table *as stored* makes saving
idempotent (the same upload twice is one file) and lets ``DataRef.fingerprint`` check it later.

Nothing here unpickles: the bytes go through :func:`core.data.read_table`, which reads CSV text or
Parquet only and refuses pickle-like files.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core import storage
from core.data import fingerprint, read_table
from core.errors import UserInputError

FOLDER = "uploads"
_NAME = re.compile(r"^[0-9a-f]{32}\.parquet$")


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


def _to_parquet_bytes(df: pd.DataFrame) -> tuple[bytes, list[str]]:
    """Parquet bytes of ``df``; a column pyarrow cannot type (mixed values) is stored as text."""
    notes: list[str] = []
    try:
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue(), notes
    except Exception:  # pyarrow raises ArrowInvalid/ArrowTypeError for mixed object columns
        fixed = df.copy()
        for col in fixed.columns:
            if fixed[col].dtype == object:
                kinds = {type(v) for v in fixed[col].dropna()}
                if len(kinds) > 1:
                    fixed[col] = (
                        fixed[col]
                        .astype(object)
                        .where(fixed[col].notna(), None)
                        .map(lambda v: None if v is None else str(v))
                    )
                    notes.append(f"Column {col!r} mixes numbers and text; stored as text.")
        buf = io.BytesIO()
        fixed.to_parquet(buf, index=False)
        return buf.getvalue(), notes


def save(data: bytes, filename: str, *, root: Path | None = None) -> Upload:
    """Validate an uploaded CSV/Parquet file and store it as Parquet named by its fingerprint.

    Raises :class:`UserInputError` (field ``data.path``) for anything that is not a readable table.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise UserInputError("The upload is not a file's bytes.", field="data.path")
    name = Path(filename or "upload.csv").name
    df, notes = read_table(bytes(data), name=name)
    raw, more = _to_parquet_bytes(df)
    notes += more
    stored, _ = read_table(raw, name=name + " (stored)")
    fp = fingerprint(stored)
    digest = fp.split(":", 1)[-1]
    target = folder(root) / f"{digest}.parquet"
    if not target.exists():
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(raw)
        tmp.replace(target)  # atomic: a worker never reads half a file
    return Upload(
        path=target, fingerprint=fp, original_name=name, n_rows=len(stored), n_columns=stored.shape[1], notes=notes
    )


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
